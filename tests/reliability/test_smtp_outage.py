"""An SMTP server that cannot be reached at all for hours or days (issue 15).

Every row of a batch follows one rule: each claim counts as an attempt, the backoff is the
same, and at `max_attempts` the row fails and shows in the digest. Time passes by `now`.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.digest import digest_context
from service.directory import load_directory
from service.models import OutboxMessage, Person
from service.pipeline import retry_policy_of, tick
from tests.fakes.smtp_server import FakeSMTPServer
from tests.reliability.plans import PlanItem, import_plan, write_plan
from tests.support import at, make_config

HEAD = "eva.ekstrom@example.se"
START = at("2024-11-25", "06:00")
SEND = at("2024-11-29", "07:30")  # a Friday: reminders for the plan below go out


def closed_port() -> int:
    """A local port nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def down_and_up(
    sqlite_url: str, tmp_path: Path, smtp_server: FakeSMTPServer
) -> Iterator[tuple[App, App]]:
    """The same store seen through a dead server's address and, later, the live one's."""
    # Batches of two: several rows per batch meet the dead server after the first one.
    mail = {"transport": "smtp", "batch_size": 2}
    down = App(
        make_config(
            sqlite_url, tmp_path, mail=mail, mail__smtp=smtp_server.settings(port=closed_port())
        )
    )
    up = App(make_config(sqlite_url, tmp_path, mail=mail, mail__smtp=smtp_server.settings()))
    down.init(START)
    # Items for every enhetschef, due a week after SEND: one reminder each on SEND.
    plan = write_plan(
        tmp_path,
        "avbrott",
        [PlanItem("1", "Rapportera läget", "2024-12-06", responsible="Enhetschef")],
    )
    import_plan(down, plan, START)
    yield down, up
    down.engine.dispose()
    up.engine.dispose()


def reminders(app: App) -> list[OutboxMessage]:
    """Every planned mail (reminders, escalations, the digest), in the order planned."""
    with app.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def tick_through_outage(app: App, start: datetime, end: datetime) -> int:
    """Ticks whenever a row is due to be retried, from `start` until `end`; how many ticks."""
    now, ticks = start, 0
    while now < end:
        tick(app, now)
        ticks += 1
        waiting = [r.next_attempt_at for r in reminders(app) if r.status == "pending"]
        if not waiting:
            break
        now = max(min(waiting), now + timedelta(minutes=1))
    return ticks


def test_a_few_hours_outage_sends_every_mail_once_when_the_server_is_back(
    down_and_up: tuple[App, App], smtp_server: FakeSMTPServer
) -> None:
    down, up = down_and_up
    tick_through_outage(down, SEND, SEND + timedelta(hours=5))
    rows = reminders(down)
    assert len(rows) >= 4  # more than one batch, more than one row per batch
    assert {r.status for r in rows} == {"pending"}
    assert len({r.attempts for r in rows}) == 1  # all alike

    back = max(r.next_attempt_at for r in rows)
    tick(up, back)
    assert {r.status for r in reminders(up)} == {"sent"}
    received = Counter(str(m.message["Message-ID"]).strip("<> ") for m in smtp_server.messages)
    assert [received[r.message_id] for r in rows] == [1] * len(rows)  # each once


def test_a_two_day_outage_fails_every_mail_alike_and_lists_them_in_the_digest(
    down_and_up: tuple[App, App], smtp_server: FakeSMTPServer
) -> None:
    down, up = down_and_up
    policy = retry_policy_of(down)
    tick_through_outage(down, SEND, SEND + timedelta(days=2))
    rows = reminders(down)
    assert len(rows) >= 4
    # Of several kinds (escalations ride in their manager's reminder, one mail a day).
    assert {r.kind for r in rows} >= {"reminder", "checkin"}
    # Every row, not only the first of each batch, failed at the limit; none waits for ever.
    assert {(r.status, r.attempts) for r in rows} == {("failed", policy.max_attempts)}
    assert all("cannot talk to SMTP server" in r.last_error for r in rows)
    # The documented limit: with the defaults about 20 hours of retries.
    assert policy.delay(1) == timedelta(minutes=1)
    limit = sum((policy.delay(n) for n in range(1, policy.max_attempts)), timedelta())
    assert timedelta(hours=20) < limit < timedelta(hours=21)

    monday = at("2024-12-02", "07:00")
    with up.sessions() as session:
        head = session.scalar(select(Person).where(Person.email == HEAD))
        context = digest_context(up, session, head, now=monday, today=up.local_date(monday))
        directory = load_directory(session)
    # Her digest lists the failed mails to her own administration's people (the bundled BUF
    # plan's mails failed too, and belong in Barn- och utbildningsförvaltningen's digest).
    own = {p.email for p in directory.people if directory.administration_of(p) == "SOC"}
    assert own and {a for r in rows for a in r.to_addrs} - own
    assert sorted(f.to for f in context.failed) == sorted(
        ", ".join(r.to_addrs) for r in rows if set(r.to_addrs) <= own
    )

    # The server is back: the failed mails are not sent late, the digest goes out.
    tick(up, monday)
    sent = [str(m.message["Message-ID"]) for m in smtp_server.messages]
    assert not any(r.message_id in s for r in rows for s in sent)
    assert any(m.message["X-Bevakning-Kind"] == "digest" for m in smtp_server.messages)
