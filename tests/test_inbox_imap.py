"""Replies read over IMAPS with imapclient from a real (small, in-test) IMAP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import App
from service.config import Config
from service.inbox.imap import ImapSource
from service.inbox.reader import read_inbox
from service.inbox.sources import SourceError
from service.occurrences import DONE, OPEN
from tests.fakes import replies
from tests.fakes.imap_server import ImapServer
from tests.fakes.tls import Certificates, make_certificates
from tests.support import make_config
from tests.test_inbox_replies import LATER, Sent, occurrences_of, sender_of

USER, PASSWORD = "bevakning-svar@example.se", "hemligt lösen"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("imap-tls"))


@pytest.fixture
def imap(certificates: Certificates) -> Iterator[ImapServer]:
    server = ImapServer(certificates, USER, PASSWORD).start()
    yield server
    server.stop()


def imap_config(
    base: Config, server: ImapServer, certificates: Certificates, **changes: object
) -> Config:
    settings: dict[str, object] = {
        "source": "imap",
        "imap_host": "localhost",
        "imap_port": server.port,
        "imap_username": USER,
        "imap_password": PASSWORD,
        "imap_ca_file": str(certificates.ca_file),
        "timeout": 5,
    }
    settings.update(changes)
    return base.with_overrides({"mail.inbox": settings})


@pytest.fixture
def imap_app(
    sqlite_url: str, tmp_path: Path, imap: ImapServer, certificates: Certificates
) -> Iterator[App]:
    app = App(imap_config(make_config(sqlite_url, tmp_path), imap, certificates))
    yield app
    app.engine.dispose()


def test_replies_are_read_over_imaps_and_moved_after_they_are_recorded(
    imap_app: App, imap: ImapServer
) -> None:
    sent = Sent(imap_app)
    mail = sent.with_items(lambda n: n >= 2)
    imap.deliver(replies.outlook(mail, "klar 2", sender_of(mail)))
    imap.deliver(replies.out_of_office(mail, sender_of(mail)))

    run = read_inbox(imap_app, LATER)

    assert [h.outcome for h in run.handled] == ["applied", "automatic"] and run.errors == []
    occ = occurrences_of(imap_app, mail)
    assert occ[2].status == DONE and occ[1].status == OPEN
    assert imap.folders["INBOX"] == [] and len(imap.folders["Behandlade"]) == 2
    # Read with BODY.PEEK[], moved with MOVE: the shared mailbox's unread marks are left alone.
    assert "UID MOVE" in imap.commands and "UID FETCH" in imap.commands
    assert all("\\Seen" not in m.flags for m in imap.folders["Behandlade"])


def test_a_server_without_move_gets_copy_delete_and_expunge(
    sqlite_url: str, tmp_path: Path, certificates: Certificates
) -> None:
    # An older server: no MOVE, and an ASCII password that goes by plain LOGIN.
    basic = ("IMAP4rev1", "AUTH=PLAIN")
    server = ImapServer(certificates, USER, "hemligt", capabilities=basic).start()
    config = make_config(sqlite_url, tmp_path)
    app = App(imap_config(config, server, certificates, imap_password="hemligt"))
    try:
        sent = Sent(app)
        mail = sent.with_items(lambda n: n >= 1)
        server.deliver(replies.gmail(mail, "klar 1", sender_of(mail)))

        run = read_inbox(app, LATER)

        assert [h.outcome for h in run.handled] == ["applied"]
        assert server.folders["INBOX"] == [] and len(server.folders["Behandlade"]) == 1
        assert "UID COPY" in server.commands and "UID MOVE" not in server.commands
        assert "LOGIN" in server.commands
    finally:
        server.stop()
        app.engine.dispose()


def test_without_a_processed_folder_a_handled_mail_is_flagged_and_not_read_again(
    imap_app: App, imap: ImapServer
) -> None:
    app = App(imap_app.config.with_overrides({"mail.inbox": {"processed_folder": ""}}))
    sent = Sent(app)
    mail = sent.with_items(lambda n: n >= 1)
    imap.deliver(replies.gmail(mail, "klar 1", sender_of(mail)))

    assert len(read_inbox(app, LATER).handled) == 1
    assert read_inbox(app, LATER).handled == []
    (kept,) = imap.folders["INBOX"]
    assert {"$Bevakning", "\\Seen"} <= kept.flags
    app.engine.dispose()


def test_a_wrong_password_is_reported_and_changes_nothing(
    imap_app: App, imap: ImapServer, certificates: Certificates
) -> None:
    sent = Sent(imap_app)
    mail = sent.with_items(lambda n: n >= 1)
    imap.deliver(replies.gmail(mail, "klar 1", sender_of(mail)))
    wrong = App(imap_config(imap_app.config, imap, certificates, imap_password="fel"))

    run = read_inbox(wrong, LATER)

    assert run.handled == [] and "imap_username" in run.errors[0]
    assert len(imap.folders["INBOX"]) == 1
    wrong.engine.dispose()


def test_a_certificate_from_an_unknown_ca_is_refused(
    imap: ImapServer, certificates: Certificates
) -> None:
    source = ImapSource(
        {"imap_host": "localhost", "imap_port": imap.port, "imap_username": USER, "timeout": 5}
    )
    with pytest.raises(SourceError, match="CERTIFICATE_VERIFY_FAILED"):
        source.open()
