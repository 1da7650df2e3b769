"""The whole tick against a real SMTP server (aiosmtpd) that misbehaves on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from service.app import App
from service.digest import digest_context
from service.mail.render import render
from service.models import OutboxMessage, Person
from service.outbox import UNWRITABLE
from service.pipeline import retry_policy_of, tick
from tests.fakes.mails import parts
from tests.fakes.smtp_server import FakeSMTPServer
from tests.reliability.plans import PlanItem, import_plan, write_plan
from tests.support import at, make_config

HR = "maria.sjoberg@example.se"  # the HR-chef of the fictional directory
HEAD = "eva.ekstrom@example.se"
START = at("2024-11-25", "06:00")
SEND = at("2024-11-29", "07:30")  # a Friday with reminders for the HR-chef


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def smtp_app(sqlite_url: str, tmp_path: Path, smtp_server: FakeSMTPServer) -> Iterator[App]:
    app = App(
        make_config(
            sqlite_url,
            tmp_path,
            mail={"transport": "smtp", "retry_seconds": 60, "max_retry_seconds": 21600},
            mail__smtp=smtp_server.settings(),
        )
    )
    app.init(START)
    yield app
    app.engine.dispose()


def row_to(app: App, address: str, kind: str = "reminder") -> OutboxMessage:
    with app.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
    (row,) = [r for r in rows if r.to_addrs == [address]]
    return row


def received_by(server: FakeSMTPServer, address: str) -> list[str]:
    return [str(m.message["Message-ID"]).strip() for m in server.messages if address in m.rcpt_tos]


def test_a_mail_refused_with_451_for_a_while_is_delivered_once_with_growing_backoff(
    smtp_app: App, smtp_server: FakeSMTPServer
) -> None:
    smtp_server.reply("RCPT", "451 4.3.0 Mailbox busy, try later", times=3, address=HR)
    policy = retry_policy_of(smtp_app)
    now = SEND
    tick(smtp_app, now)
    delays = []
    for attempt in (1, 2, 3):
        row = row_to(smtp_app, HR)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert "451" in row.last_error
        delays.append(row.next_attempt_at - now)
        # Not before the backoff has passed: a tick just before it leaves the row alone.
        tick(smtp_app, row.next_attempt_at - timedelta(seconds=1))
        assert row_to(smtp_app, HR).attempts == attempt
        now = row.next_attempt_at + timedelta(seconds=1)
        tick(smtp_app, now)

    row = row_to(smtp_app, HR)
    assert (row.status, row.attempts) == ("sent", 4)
    # The real time a send takes (milliseconds, seconds on a loaded machine) is added to the
    # tick's moment, so each delay is its backoff plus that.
    expected = [policy.first_retry * 2**n for n in range(3)]
    assert expected == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    for delay, backoff in zip(delays, expected, strict=True):
        assert backoff <= delay < backoff + timedelta(seconds=10)
    assert received_by(smtp_server, HR) == [f"<{row.message_id}>"]
    # Later ticks send nothing more.
    tick(smtp_app, now + timedelta(hours=1))
    assert received_by(smtp_server, HR) == [f"<{row.message_id}>"]


def test_the_backoff_is_capped(smtp_app: App) -> None:
    policy = retry_policy_of(smtp_app)
    assert policy.delay(1) == timedelta(seconds=60)
    assert policy.delay(30) == timedelta(seconds=21600)


def test_a_mail_refused_with_550_fails_and_the_next_digest_lists_it(
    smtp_app: App, smtp_server: FakeSMTPServer
) -> None:
    smtp_server.reply("RCPT", "550 5.1.1 User unknown", address=HR)
    tick(smtp_app, SEND)

    row = row_to(smtp_app, HR)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error
    tick(smtp_app, SEND + timedelta(hours=2))
    assert row_to(smtp_app, HR).attempts == 1  # a permanent error is not retried
    assert received_by(smtp_server, HR) == []

    monday = at("2024-12-02", "07:00")
    with smtp_app.sessions() as session:
        head = session.scalar(select(Person).where(Person.email == HEAD))
        context = digest_context(
            smtp_app, session, head, now=monday, today=smtp_app.local_date(monday)
        )
    assert [f.to for f in context.failed] == [HR]
    rendered = render("digest", context)
    for body in (rendered.text, rendered.html):
        assert HR in body and "550 5.1.1 User unknown" in body

    # And the digest that goes out that Monday says so too.
    tick(smtp_app, monday)
    (digest,) = [
        m
        for m in smtp_server.messages
        if m.message["X-Bevakning-Kind"] == "digest"
        and "2024-12-02" in m.message["Message-ID"]
        and HEAD in m.message["To"]
    ]
    text = parts(digest.message)["text/plain"]
    assert HR in text.partition("MISSLYCKADE UTSKICK")[2]


def test_a_title_cannot_add_a_header_or_a_recipient_or_markup(
    smtp_app: App, smtp_server: FakeSMTPServer, tmp_path: Path
) -> None:
    plan = write_plan(
        tmp_path / "plans",
        "test-injektion",
        [
            PlanItem("1", "Rutiner\r\nBcc: x@evil.example", "December 2024"),
            PlanItem("2", "Granska <script>alert('x')</script> i mallen", "December 2024"),
        ],
    )
    import_plan(smtp_app, plan, START)

    tick(smtp_app, SEND)

    (mail,) = [m for m in smtp_server.messages if HR in m.rcpt_tos]
    assert mail.rcpt_tos == (HR,)
    rcpts = [arg for _, command, arg in smtp_server.commands if command == "RCPT"]
    assert not [a for a in rcpts if "evil" in a]
    for part in mail.message.walk():
        assert part["Bcc"] is None
    header_block = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"Bcc" not in header_block and b"evil" not in header_block
    bodies = parts(mail.message)
    assert "&lt;script&gt;" in bodies["text/html"]
    assert "<script>" not in bodies["text/html"]
    assert "Rutiner" in bodies["text/plain"] and "Rutiner" in bodies["text/html"]
    assert "<script>" not in mail.message["Subject"]


def test_each_sent_mail_is_recorded_before_the_next_one_reaches_the_server(
    smtp_app: App, smtp_server: FakeSMTPServer
) -> None:
    # The result of a mail is committed while the server answers the next envelope: a crash
    # can then repeat at most the one mail in flight, as before that was overlapped.
    recorded_when_next_arrived: list[tuple[int, int]] = []

    def check() -> None:
        with smtp_app.engine.connect() as conn:
            sent = conn.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "sent")
            )
        recorded_when_next_arrived.append((len(smtp_server.messages), int(sent or 0)))

    smtp_server.state.on_data = check
    mails = tick(smtp_app, SEND).mails

    assert len(mails) >= 3
    assert recorded_when_next_arrived == [(n, n) for n in range(len(mails))]


def test_a_mail_that_cannot_be_written_fails_alone_and_the_rest_go_out(
    smtp_app: App, smtp_server: FakeSMTPServer
) -> None:
    # An address with an "å" that reached the store by an older release: the message could
    # not be encoded, and that error had stopped every mail behind it, run after run.
    odd = "åsa.sjoberg@example.se"
    with smtp_app.engine.begin() as connection:
        connection.execute(update(Person).where(Person.email == HR).values(email=odd))

    tick(smtp_app, SEND)
    tick(smtp_app, SEND + timedelta(hours=2))

    row = row_to(smtp_app, odd)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, UNWRITABLE)
    with smtp_app.sessions() as session:
        others = session.scalars(select(OutboxMessage).where(OutboxMessage.id != row.id)).all()
    assert others and {o.status for o in others} == {"sent"}
    assert len(smtp_server.messages) == len(others)
