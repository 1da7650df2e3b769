"""A long batch keeps its lease: another dispatcher never takes a row that is still being sent,
and a row whose lease was really lost is left to whoever took it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.app import App
from service.db import create_schema
from service.mail.message import Address, OutgoingMail
from service.mail.transports.base import Transport
from service.models import OutboxMessage
from service.outbox import Addressed, Composed, RetryPolicy, claim, deliver, store_planned
from service.reminders import PlannedMail
from tests.support import make_config

START = datetime(2024, 12, 2, 6, 30, tzinfo=UTC)
POLICY = RetryPolicy(lease=timedelta(minutes=5))


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class SlowTransport(Transport):
    """Each send takes three (simulated) minutes; between sends another dispatcher tries."""

    def __init__(self, clock: Clock, rival: object) -> None:
        super().__init__({})
        self.clock, self.rival, self.sent = clock, rival, list[str]()

    def send(self, mail: OutgoingMail) -> None:
        self.clock.now += timedelta(minutes=3)
        self.sent.append(mail.to[0].email)
        self.rival()  # type: ignore[operator]


def compose_all(session: Session, rows: Sequence[OutboxMessage]) -> dict[int, Composed]:
    return {
        r.id: OutgoingMail(
            r.message_id, Address("b@example.se"), (Address(r.to_addrs[0]),), "x", "t", "h"
        )
        for r in rows
    }


def planned_app(tmp_path: Path, count: int) -> App:
    app = App(make_config(f"sqlite:///{tmp_path / 'lease.db'}", tmp_path))
    create_schema(app.engine)
    with app.sessions.begin() as session:
        store_planned(
            session,
            [
                Addressed(
                    PlannedMail("reminder", None, date(2024, 12, 2)),
                    [f"p{i}@example.se"],
                    key=f"reminder:p{i}:2024-12-02",
                )
                for i in range(count)
            ],
            now=START,
            domain="example.se",
        )
    return app


def test_a_batch_longer_than_the_lease_is_never_taken_over(tmp_path: Path) -> None:
    app = planned_app(tmp_path, 4)
    clock = Clock()
    taken: list[int] = []

    def rival() -> None:
        taken.extend(claim(app.sessions, clock(), POLICY, 10, "rival").ids)

    ours = claim(app.sessions, clock(), POLICY, 10, "us")
    transport = SlowTransport(clock, rival)
    results = deliver(app.sessions, ours, transport, compose_all, clock, POLICY)

    assert taken == []  # twelve minutes of sending on a five-minute lease, renewed in time
    assert [r.status for r in results] == ["sent"] * 4
    assert len(transport.sent) == len(set(transport.sent)) == 4


def test_a_row_whose_lease_was_lost_is_left_to_the_new_owner(tmp_path: Path) -> None:
    app = planned_app(tmp_path, 2)
    clock = Clock()
    ours = claim(app.sessions, clock(), POLICY, 10, "us")
    # The process stalls past its lease; a rival takes both rows meanwhile.
    clock.now += timedelta(minutes=6)
    assert claim(app.sessions, clock(), POLICY, 10, "rival").ids == ours.ids
    transport = SlowTransport(clock, lambda: None)

    results = deliver(app.sessions, ours, transport, compose_all, clock, POLICY)

    assert results == [] and transport.sent == []
    with app.sessions() as session:
        owners = set(session.scalars(select(OutboxMessage.claimed_by)))
    assert all(o.startswith("rival:") for o in owners)
