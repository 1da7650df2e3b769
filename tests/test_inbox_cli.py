"""`bevakning inbox` on the embedded default: reminders written to files, replies read from the
Maildir beside them; the settings follow the environment like every key; `run` schedules it."""

from __future__ import annotations

import email
import email.policy
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from service.app import App
from service.config import load_config
from service.mail.message import Address, OutgoingMail
from service.scheduler import build_scheduler
from tests.cli_support import Cli
from tests.fakes import replies


def as_sent(path: Path) -> OutgoingMail:
    """A mail the files transport wrote, as the reply fakes take it."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return OutgoingMail(
        message_id=str(message["Message-ID"]).strip("<>"),
        sender=Address(email.utils.parseaddr(str(message["From"]))[1]),
        to=(Address(email.utils.parseaddr(str(message["To"]))[1]),),
        subject=str(message["Subject"]),
        text=text.get_content(),
        html=html.get_content(),
    )


def reminders(folder: Path) -> list[Path]:
    return [
        p
        for p in sorted((folder / "new").iterdir())
        if b"X-Bevakning-Kind: reminder" in p.read_bytes()
    ]


def test_bevakning_inbox_records_a_reply_and_sends_the_answer(cli_ready: Cli) -> None:
    var = cli_ready.config.parent / "var"
    assert cli_ready("tick", "--now", "2024-11-25T07:30")[0] == 0
    sent = as_sent(reminders(var / "outbox")[0])
    mailbox.Maildir(var / "inbox", create=True).add(
        replies.gmail(sent, "klar alla", sent.to[0].email)
    )

    result = cli_ready.json("inbox", "--now", "2024-11-25T10:00")

    (handled,) = result["handled"]
    assert handled["outcome"] == "applied" and handled["changes"]
    assert {c["what"] for c in handled["changes"]} == {"done"}
    assert [m["kind"] for m in result["mails"]] == ["answer"]
    assert result["mails"][0]["to"] == [sent.to[0].email]
    assert len(list(mailbox.Maildir(var / "inbox").get_folder("Behandlade").iterkeys())) == 1
    code, out, _ = cli_ready("occurrences", "--person", sent.to[0].email, "--json")
    assert code == 0 and '"done"' in out


def test_the_source_follows_the_environment_and_a_wrong_one_is_named(
    cli_ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVAKNING_MAIL_INBOX_SOURCE", "imap")

    code, _, err = cli_ready("inbox")

    assert code == 2 and "imap_host" in err


def test_with_no_inbox_address_replies_are_not_read(
    cli_ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVAKNING_MAIL_INBOX_ADDRESS", "")

    code, _, err = cli_ready("inbox")

    assert code == 2 and "address" in err


def test_the_service_reads_the_inbox_every_few_minutes(cli: Cli) -> None:
    app = App(load_config(cli.config, environ={"BEVAKNING_MAIL_INBOX_EVERY_MINUTES": "2"}))
    scheduler = build_scheduler(app)

    job = scheduler.get_job("inbox")

    assert job is not None and job.trigger.interval.total_seconds() == 120
    app.engine.dispose()
