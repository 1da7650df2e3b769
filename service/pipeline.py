"""One tick: expand the schedule, plan today's mails, dispatch the outbox. Idempotent: a tick
repeated at the same moment sends nothing new, and a tick after downtime catches up from state."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from service.app import App
from service.db import transaction
from service.digest import DIGEST_KIND, digest_due, digest_recipients
from service.mail.compose import ComposedBatch
from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, make_transport
from service.models import Item, Occurrence, OutboxMessage, Person, State
from service.models import Notice as NoticeRow
from service.occurrences import OPEN
from service.outbox import (
    Addressed,
    Composed,
    RetryPolicy,
    claim,
    deliver,
    keys_for_day,
    store_planned,
)
from service.reminders import Candidate, PlannedMail, Policy, is_send_moment, plan

log = logging.getLogger(__name__)
LAST_TICK = "last_tick"


@dataclass
class TickResult:
    planned: list[int] = field(default_factory=list)  # outbox ids
    mails: list[dict[str, Any]] = field(default_factory=list)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def policy_of(app: App) -> Policy:
    return Policy.from_settings(app.config.section("schedule"))


def retry_policy_of(app: App) -> RetryPolicy:
    m = app.config.section("mail")
    return RetryPolicy(
        lease=timedelta(seconds=int(m.get("lease_seconds", 300))),
        first_retry=timedelta(seconds=int(m.get("retry_seconds", 60))),
        max_retry=timedelta(seconds=int(m.get("max_retry_seconds", 21600))),
        max_attempts=int(m.get("max_attempts", 12)),
    )


def preview_mode(app: App) -> bool:
    """Mail only written to files for someone trying Bevakning: no send window to wait for."""
    return app.config.get("mail", "transport") == "files" and bool(
        app.config.get("mail.files", "preview", False)
    )


def transport_of(app: App) -> Transport:
    name = str(app.config.get("mail", "transport", "files"))
    settings = app.config.section(f"mail.{name}")
    if name == "files":
        settings["folder"] = str(app.config.path("mail.files", "folder"))
    return make_transport(name, settings)


def tick(
    app: App,
    now: datetime,
    *,
    transport: Transport | None = None,
    dispatch: bool = True,
    worker: str | None = None,
) -> TickResult:
    result = TickResult()
    with transaction(app.sessions) as session:
        app.sync(session, now)
    result.planned += plan_reminders(app, now)
    result.planned += plan_digests(app, now)
    if dispatch:
        result.mails = dispatch_outbox(app, now, transport=transport, worker=worker)
    with transaction(app.sessions) as session:
        state = session.get(State, LAST_TICK)
        if state is None:
            session.add(State(key=LAST_TICK, value=now.isoformat()))
        else:
            state.value = now.isoformat()
    return result


def candidates(session: Session, today: date, policy: Policy) -> list[Candidate]:
    """Open occurrences that could need a notice today; the SQL filter keeps this small on a
    large store (far-future deadlines and ended check-in windows are left out)."""
    horizon = today + timedelta(days=max(policy.days_before, default=0) + 10)
    # Three narrow queries instead of one OR, so each can use an index on a large store.
    wanted = (
        and_(
            Occurrence.status == OPEN, Occurrence.due <= horizon, Occurrence.postponed_to.is_(None)
        ),
        and_(Occurrence.status == OPEN, Occurrence.postponed_to <= horizon),
        and_(
            Occurrence.status == OPEN,
            Occurrence.due.is_(None),
            Occurrence.window_start <= today,
            Occurrence.window_end >= today,
        ),
    )
    # Keyed by occurrence: the queries may overlap (a postponed check-in matches two), and a
    # candidate twice would plan one notice twice and lose the whole mail on its unique key.
    found = {
        row[0].id: row
        for condition in wanted
        for row in session.execute(
            select(Occurrence, Person.reports_to_id)
            .join(Person, Occurrence.person_id == Person.id)
            .join(Item, Occurrence.item_id == Item.id)
            .where(condition, Person.active.is_(True), Item.active.is_(True))
        ).all()
    }
    rows = list(found.values())
    ids = [occ.id for occ, _ in rows]
    stages: dict[int, set[str]] = defaultdict(set)
    last: dict[int, date] = {}
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for occ_id, stage, planned_on in session.execute(
            select(NoticeRow.occurrence_id, NoticeRow.stage, NoticeRow.planned_on).where(
                NoticeRow.occurrence_id.in_(chunk)
            )
        ):
            stages[occ_id].add(stage)
            if not stage.startswith("escalation@"):
                last[occ_id] = max(planned_on, last.get(occ_id, planned_on))
    return [
        Candidate(
            id=occ.id,
            person_id=occ.person_id,
            due=occ.effective_due,
            window_start=occ.window_start,
            window_end=occ.window_end,
            manager_id=manager_id,
            stages=frozenset(stages.get(occ.id, ())),
            last_notice=last.get(occ.id),
        )
        for occ, manager_id in rows
    ]


def plan_reminders(app: App, now: datetime) -> list[int]:
    local = now.astimezone(app.tz)
    today = local.date()
    policy = policy_of(app)
    domain = str(app.config.get("mail", "message_id_domain", "bevakning.local"))
    with transaction(app.sessions) as session:
        calendars = app.calendars(session)
        if not is_send_moment(calendars, today, local.time(), policy) and not preview_mode(app):
            return []
        mails = plan(
            candidates(session, today, policy),
            policy,
            calendars,
            today,
            taken=keys_for_day(session, today),
        )
        return _store(session, mails, now, domain)


def _store(session: Session, mails: list[PlannedMail], now: datetime, domain: str) -> list[int]:
    wanted = {m.person_id for m in mails}
    emails = {
        person_id: email
        for person_id, email in session.execute(
            select(Person.id, Person.email).where(Person.id.in_(wanted))
        )
    }
    planned = [Addressed(m, [emails[m.person_id]]) for m in mails if m.person_id in emails]
    return store_planned(session, planned, now=now, domain=domain)


def plan_digests(app: App, now: datetime, *, force: bool = False) -> list[int]:
    """The week's digest, once per recipient and digest week, from the configured moment on
    (the next working day when that day is a holiday)."""
    local = now.astimezone(app.tz)
    today = local.date()
    domain = str(app.config.get("mail", "message_id_domain", "bevakning.local"))
    with transaction(app.sessions) as session:
        week_of = digest_due(app, app.calendars(session), local)
        if force:
            week_of = week_of or today
        elif week_of is None:
            return []
        iso = week_of.isocalendar()
        week = f"{iso.year}-W{iso.week:02d}"
        planned = [
            Addressed(
                PlannedMail(DIGEST_KIND, person.id if person else None, today),
                [address],
                key=f"{DIGEST_KIND}:{address.lower()}:{week}",
                payload={"week": week},
            )
            for person, address in digest_recipients(app, session)
        ]
        taken = set(
            session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.key.in_([p.row_key for p in planned]))
            )
        )
        return store_planned(
            session, [p for p in planned if p.row_key not in taken], now=now, domain=domain
        )


def dispatch_outbox(
    app: App,
    now: datetime,
    *,
    transport: Transport | None = None,
    worker: str | None = None,
    max_batches: int = 50,
) -> list[dict[str, Any]]:
    """Send what is due in batches over one connection each; returns the mails as JSON dicts."""
    policy = retry_policy_of(app)
    batch_size = int(app.config.get("mail", "batch_size", 200))
    chosen = transport or transport_of(app)
    worker = worker or worker_name()
    # `now` is the tick's moment (a test or simulation passes its own); the real time spent
    # sending is added to it, so leases and timestamps stay true on a long backlog.
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    def composer(session: Session, rows: Sequence[OutboxMessage]) -> Mapping[int, Composed]:
        return ComposedBatch(app, session, rows, clock())

    out: list[dict[str, Any]] = []
    for _ in range(max_batches):
        claimed = claim(app.sessions, clock(), policy, batch_size, worker)
        if not claimed.ids:
            break
        for d in deliver(app.sessions, claimed, chosen, composer, clock, policy):
            out.append(mail_json(app, d.row, d.status, d.mail, now))
        if len(claimed.ids) < batch_size:
            break
    return out


def mail_json(
    app: App, row: OutboxMessage, status: str, mail: OutgoingMail | None, now: datetime
) -> dict[str, Any]:
    moment = now.astimezone(app.tz)
    items = sorted({i for ids in row.payload.get("sections", {}).values() for i in ids})
    return {
        "at": moment.replace(tzinfo=None).isoformat(timespec="seconds"),
        "to": list(row.to_addrs),
        "cc": list(row.cc_addrs),
        "kind": row.kind,
        "subject": mail.subject if mail else row.subject,
        "items": items,
        "message_id": row.message_id,
        "status": status,
    }
