from __future__ import annotations

import email
import email.policy
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from service.mail.transports.base import TransportError, make_transport
from tests.fakes.mails import make_mail, parts


def read_maildir(folder: Path) -> list[EmailMessage]:
    messages = []
    for path in sorted((folder / "new").iterdir()):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def test_each_mail_lands_in_the_maildir_as_a_parseable_file(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"

    with make_transport("files", {"folder": str(folder)}) as transport:
        transport.send(make_mail(1))
        transport.send(make_mail(2))

    received = read_maildir(folder)
    assert sorted(m["Message-ID"] for m in received) == [
        "<reminder.1.2024-12-02@bevakning.example.se>",
        "<reminder.2.2024-12-02@bevakning.example.se>",
    ]
    for message in received:
        bodies = parts(message)
        assert "ska vara klar" in bodies["text/plain"]
        assert "<b>" in bodies["text/html"]
        assert message["To"] == "Åsa Enhetschef <enhetschef@example.se>"


def test_the_file_holds_the_mail_byte_for_byte(tmp_path: Path) -> None:
    mail = make_mail()

    with make_transport("files", {"folder": str(tmp_path)}) as transport:
        transport.send(mail)

    (path,) = (tmp_path / "new").iterdir()
    # The very bytes a wire transport sends (built once per mail), in a file a desktop opens.
    assert path.read_bytes() == mail.to_wire_bytes()
    assert path.name.endswith(".eml")
    assert not list((tmp_path / "tmp").iterdir())


def test_a_mail_client_reads_the_folder_as_a_maildir(tmp_path: Path) -> None:
    with make_transport("files", {"folder": str(tmp_path / "md")}) as transport:
        transport.send(make_mail())

    box = mailbox.Maildir(tmp_path / "md", create=False)
    (key,) = box.keys()
    message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
    assert message["Subject"] == "Påminnelse 1: åtgärd förfaller"


def test_an_existing_empty_folder_becomes_a_maildir(tmp_path: Path) -> None:
    (tmp_path / "outbox").mkdir()

    with make_transport("files", {"folder": str(tmp_path / "outbox")}) as transport:
        transport.send(make_mail())

    assert len(read_maildir(tmp_path / "outbox")) == 1


def test_a_folder_that_cannot_be_created_is_a_temporary_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    with pytest.raises(TransportError) as caught:
        make_transport("files", {"folder": str(blocker / "outbox")}).send(make_mail())

    assert caught.value.permanent is False
    assert str(blocker / "outbox") in str(caught.value)


def test_an_empty_folder_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="folder"):
        make_transport("files", {"folder": ""})


def test_work_of_the_batch_is_done_before_the_mail_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    transport = make_transport("files", {"folder": str(folder)})
    seen: list[int] = []

    def files() -> int:
        return sum(1 for p in folder.rglob("*") if p.is_file())

    transport.send_overlapping(make_mail(1), [lambda: seen.append(files())])

    assert seen == [0]  # the work ran before the mail was written
    assert files() == 1
