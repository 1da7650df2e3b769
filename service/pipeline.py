"""One tick: expand the schedule, plan today's mails, dispatch the outbox. Idempotent: a tick
repeated at the same moment sends nothing new, and a tick after downtime catches up from state."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as time_of_day
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from service import preferences
from service.app import App
from service.config import Config
from service.db import dialect_insert, transaction
from service.digest import (
    WEEKDAYS,
    calm_scopes,
    digest_administration,
    digest_day,
    digest_recipients,
    digest_week,
)
from service.directory import load_directory, people_by_id
from service.mail.compose import ComposedBatch
from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, make_transport
from service.models import Absence, Item, Occurrence, OutboxMessage, Person, Preference, State
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
from service.reminders import (
    DIGEST_KIND,
    ESCALATION,
    Candidate,
    Notice,
    PlannedMail,
    Policy,
    Rhythm,
    is_send_moment,
    plan,
)

log = logging.getLogger(__name__)
LAST_TICK = "last_tick"
FIRST_TICK = "first_tick"


@dataclass
class TickResult:
    planned: list[int] = field(default_factory=list)  # outbox ids
    mails: list[dict[str, Any]] = field(default_factory=list)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def policy_of(app: App) -> Policy:
    return Policy.from_settings(app.config.section("schedule"), app.config.section("quiet"))


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
    if dispatch:
        result.mails = dispatch_outbox(app, now, transport=transport, worker=worker)
    with transaction(app.sessions) as session:
        state = session.get(State, LAST_TICK)
        if state is None:
            session.add(State(key=LAST_TICK, value=now.isoformat()))
        else:
            state.value = now.isoformat()
    return result


def candidates(
    session: Session,
    today: date,
    policy: Policy,
    tz: tzinfo = UTC,
    *,
    until: date | None = None,
    concerning: Collection[int] | None = None,
) -> list[Candidate]:
    """Open occurrences that could need a notice today (or on a day up to `until`, for a
    preview); the SQL filter keeps this small on a large store (far-future deadlines and
    ended check-in windows are left out). `concerning` keeps only those of these people and
    of the people reporting to them (whose escalations reach them)."""
    mine = (
        or_(Occurrence.person_id.in_(concerning), Person.reports_to_id.in_(concerning))
        if concerning is not None
        else true()
    )
    end_day = until or today
    horizon = end_day + timedelta(days=max(policy.days_before, default=0) + 10)
    # Three narrow queries instead of one OR, so each can use an index on a large store.
    wanted = (
        and_(
            Occurrence.status == OPEN, Occurrence.due <= horizon, Occurrence.postponed_to.is_(None)
        ),
        and_(Occurrence.status == OPEN, Occurrence.postponed_to <= horizon),
        and_(
            Occurrence.status == OPEN,
            Occurrence.due.is_(None),
            Occurrence.window_start <= end_day,
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
            .where(condition, mine, Person.active.is_(True), Item.active.is_(True))
        ).all()
    }
    rows = list(found.values())
    ids = [occ.id for occ, _ in rows]
    stages: dict[int, set[str]] = defaultdict(set)
    last: dict[int, date] = {}
    first: dict[int, date] = {}
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for occ_id, stage, planned_on in session.execute(
            select(NoticeRow.occurrence_id, NoticeRow.stage, NoticeRow.planned_on).where(
                NoticeRow.occurrence_id.in_(chunk)
            )
        ):
            stages[occ_id].add(stage)
            if not stage.startswith("escalation@"):
                last[occ_id] = max(planned_on, last.get(occ_id, planned_on))
                first[occ_id] = min(planned_on, first.get(occ_id, planned_on))
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
            first_notice=first.get(occ.id),
            arrived=occ.created_at.astimezone(tz).date() if occ.created_at else None,
        )
        for occ, manager_id in rows
    ]


def plan_reminders(app: App, now: datetime) -> list[int]:
    """Today's mails, one per person at most: reminders, check-ins and escalations from the
    send time, and at the digest's moment each digest with that person's own notices in it."""
    local = now.astimezone(app.tz)
    today = local.date()
    policy = policy_of(app)
    domain = str(app.config.get("mail", "message_id_domain", "bevakning.local"))
    with transaction(app.sessions) as session:
        calendars = app.calendars(session)
        started = started_on(session, app, now)
        last_tick = _last_tick(session)
        send_now = is_send_moment(calendars, today, local.time(), policy) or preview_mode(app)
        week_of = digest_week(app, calendars, local, policy, started=started, last_tick=last_tick)
        recipients = digest_recipients(app, session) if week_of or send_now else []
        people = {person.id: address for person, address in recipients if person is not None}
        sent_this_week = _digested(session, people.values(), week_of) if week_of else set()
        skip_calm = bool(app.config.get("digest", "skip_calm_weeks", True))
        calm: frozenset[int] = frozenset()
        if week_of is not None and skip_calm:
            day = digest_day(calendars, policy, week_of, today)
            waiting = [pid for pid, a in people.items() if a.lower() not in sent_this_week]
            calm = _calm_recipients(session, waiting, day, now - (today - day))
            # After the digest's day, a week left out as calm stays without a digest: the
            # head's own reminders go out as reminders, not as a late digest.
            sent_this_week |= {people[pid].lower() for pid in calm if today > day}
        digest_people = frozenset(
            pid
            for pid, address in people.items()
            if week_of is not None and address.lower() not in sent_this_week
        )
        if not digest_people and not send_now:
            return []
        # A digest recipient's day: their digest carries their own notices; before its moment
        # (a digest later than the send time) they wait for it.
        later = (
            frozenset(people)
            if digest_week(app, calendars, local, policy, started=started, at_time=False)
            and not week_of
            else frozenset()
        )
        mails = plan(
            candidates(session, today, policy, app.tz),
            policy,
            calendars,
            today,
            taken=keys_for_day(session, today),
            rhythms=rhythms(app, session, people, digest_people, today),
            digest_people=digest_people,
            only=None if send_now else digest_people,
        )
        mails = [m for m in mails if m.person_id not in later]
        mails = [m for m in mails if m.kind != DIGEST_KIND or m.notices or m.person_id not in calm]
        ids = _store(session, mails, now, domain, week_of)
        if week_of is not None:
            ids += _store_extra_digests(
                session, [a for p, a in recipients if p is None], today, week_of, now, domain
            )
        return ids


def _calm_recipients(
    session: Session, people: Sequence[int], day: date, moment: datetime
) -> frozenset[int]:
    """The digest recipients whose week is calm (see calm_scopes) in their own
    administration's plans, as things stood on the digest's day."""
    if not people:
        return frozenset()
    places = load_directory(session, with_people=False)
    stored = people_by_id(session, people)
    scope = {pid: digest_administration(session, stored.get(pid), places) for pid in people}
    calm = calm_scopes(session, day, moment, scope.values(), places)
    return frozenset(pid for pid in people if scope[pid] in calm)


def rhythms(
    app: App,
    session: Session,
    people: Mapping[int, str],
    digest_people: frozenset[int],
    today: date,
) -> dict[int, Rhythm]:
    """People's own rhythm: their settings ("Mina inställningar") and absences. A digest
    recipient's reminders wait for the digest (their bundle day) when `[digest]
    bundle_reminders` says so, unless they chose a weekday; the digest's day is that day."""
    out = own_rhythms(session, today)
    bundle = bool(app.config.get("digest", "bundle_reminders", True))
    weekday = WEEKDAYS.index(str(app.config.get("digest", "day", "mon"))[:3].lower())
    for pid in people:
        mine = out.get(pid, Rhythm())
        if pid in digest_people:
            out[pid] = replace(mine, bundle_weekday=today.weekday())
        elif bundle and mine.bundle_weekday is None:
            out[pid] = replace(mine, bundle_weekday=weekday)
    return out


PREVIEW_DAYS = 56  # "Mina inställningar" shows at least the next eight weeks
PREVIEW_MAX_DAYS = 366


def coming_mails(
    app: App, session: Session, person_id: int, today: date, days: int | None = None
) -> list[PlannedMail]:
    """The person's mails from `today` on as things stand (nobody marks anything done
    meanwhile): the tick's own planning run ahead day by day, for "Mina inställningar".

    Over `days` days, or by default until the person's next dated deadline and at least
    PREVIEW_DAYS. Absences (their own, and colleagues' they stand in for), bundle weekdays,
    quiet periods, escalations to them as a manager and the digest (left out in a calm week)
    all come from the same rules as the tick's."""
    policy = policy_of(app)
    calendars = app.calendars(session)
    people = {p.id: a for p, a in digest_recipients(app, session) if p is not None}
    covered = _covered(session, person_id, today)
    last = preview_until(session, person_id, today) if days is None else today + timedelta(days)
    days = (last - today).days
    # Their own items, those of colleagues they stand in for, and their people's (whose
    # escalations reach them): planned together, as the tick plans everyone.
    concerning = {person_id} | covered
    state = {
        c.id: c
        for c in candidates(session, today, policy, app.tz, until=last, concerning=concerning)
    }
    skip_calm = bool(app.config.get("digest", "skip_calm_weeks", True))
    digested: set[date] = set()
    out: list[PlannedMail] = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        if not calendars.is_working_day(day):
            continue
        local = datetime.combine(day, time_of_day(23, 59), tzinfo=app.tz)
        week_of = digest_week(app, calendars, local, policy, started=None)
        wants_digest = week_of is not None and week_of not in digested and person_id in people
        digest = frozenset({person_id}) if wants_digest else frozenset()
        mails = plan(
            state.values(),
            policy,
            calendars,
            day,
            rhythms=rhythms(app, session, people, digest, day),
            digest_people=digest,
        )
        for mail in mails:
            calm = mail.kind == DIGEST_KIND and not mail.notices and skip_calm
            if calm and _calm_recipients(session, [person_id], day, local.astimezone(UTC)):
                # As the tick: a week found calm on its digest day gets no digest at all; the
                # rest of the week's own reminders go out as reminders.
                if week_of is not None:
                    digested.add(week_of)
                continue
            if mail.kind == DIGEST_KIND and week_of is not None:
                digested.add(week_of)
            if mail.person_id == person_id:
                out.append(mail)
            for n in mail.notices:
                state[n.occurrence_id] = _noticed(state[n.occurrence_id], n, day)
    return out


def _noticed(c: Candidate, notice: Notice, day: date) -> Candidate:
    """The candidate after `notice` was planned on `day`, as candidates() would read it back:
    escalations (to the manager) do not count as notices to the person."""
    if notice.section == ESCALATION:
        return replace(c, stages=c.stages | {notice.stage})
    return replace(
        c,
        stages=c.stages | {notice.stage},
        last_notice=day,
        first_notice=c.first_notice or day,
    )


def preview_until(session: Session, person_id: int, today: date) -> date:
    """The last day of the preview: the person's next dated deadline (of their own items or
    those they stand in for), and at least PREVIEW_DAYS ahead."""
    people = {person_id} | _covered(session, person_id, today)
    due = func.coalesce(Occurrence.postponed_to, Occurrence.due)
    next_due = session.scalar(
        select(func.min(due)).where(
            Occurrence.person_id.in_(people), Occurrence.status == OPEN, due >= today
        )
    )
    wanted = (next_due - today).days if next_due is not None else 0
    return today + timedelta(days=min(max(PREVIEW_DAYS, wanted), PREVIEW_MAX_DAYS))


def _covered(session: Session, stand_in_id: int, today: date) -> set[int]:
    """The people whose absences, not over yet, name `stand_in_id` as their stand-in."""
    return {c.owner_id for c in preferences.standing_in_for_from(session, stand_in_id, today)}


def own_rhythms(session: Session, today: date) -> dict[int, Rhythm]:
    """Everyone's stored preferences and the absences not yet over."""
    weekdays = dict(
        session.execute(select(Preference.person_id, Preference.bundle_weekday)).tuples().all()
    )
    away: dict[int, list[Absence]] = defaultdict(list)
    for absence in session.scalars(select(Absence).where(Absence.ends >= today)):
        away[absence.person_id].append(absence)
    return {
        pid: Rhythm(
            bundle_weekday=weekdays.get(pid),
            absences=tuple((a.starts, a.ends) for a in away[pid] if a.stand_in_id is None),
            stand_ins=tuple(
                (a.starts, a.ends, a.stand_in_id) for a in away[pid] if a.stand_in_id is not None
            ),
        )
        for pid in set(weekdays) | set(away)
    }


def _last_tick(session: Session) -> datetime | None:
    state = session.get(State, LAST_TICK)
    return datetime.fromisoformat(state.value) if state is not None else None


def started_on(session: Session, app: App, now: datetime) -> date:
    """The local day the store's first tick ran (an older store: its last tick before this)."""
    state = session.get(State, FIRST_TICK)
    if state is None:
        last = session.get(State, LAST_TICK)
        value = last.value if last is not None else now.isoformat()
        session.execute(
            dialect_insert(session, State)
            .values(key=FIRST_TICK, value=value)
            .on_conflict_do_nothing()
        )
        return datetime.fromisoformat(value).astimezone(app.tz).date()
    return datetime.fromisoformat(state.value).astimezone(app.tz).date()


def _digested(session: Session, addresses: Iterable[str], week_of: date) -> set[str]:
    """Addresses that already have this week's digest (planned on any day of the week)."""
    wanted = [a for a in addresses]
    if not wanted:
        return set()
    rows = session.execute(
        select(OutboxMessage.to_addrs).where(
            OutboxMessage.kind == DIGEST_KIND,
            OutboxMessage.local_date >= week_of,
            OutboxMessage.local_date < week_of + timedelta(days=7),
        )
    )
    return {a.lower() for (to,) in rows for a in to}


def _store(
    session: Session,
    mails: list[PlannedMail],
    now: datetime,
    domain: str,
    week_of: date | None = None,
) -> list[int]:
    wanted = {m.person_id for m in mails}
    emails = {
        person_id: email
        for person_id, email in session.execute(
            select(Person.id, Person.email).where(Person.id.in_(wanted))
        )
    }
    planned = [
        Addressed(
            m,
            [emails[m.person_id]],
            payload={"week": _week_name(week_of)} if m.kind == DIGEST_KIND and week_of else None,
        )
        for m in mails
        if m.person_id in emails
    ]
    return store_planned(session, planned, now=now, domain=domain)


def _week_name(week_of: date) -> str:
    iso = week_of.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _store_extra_digests(
    session: Session,
    addresses: Sequence[str],
    today: date,
    week_of: date,
    now: datetime,
    domain: str,
) -> list[int]:
    """Digests to addresses outside the directory: one per address and digest week."""
    week = _week_name(week_of)
    planned = [
        Addressed(
            PlannedMail(DIGEST_KIND, None, today),
            [address],
            key=f"{DIGEST_KIND}:{address.lower()}:{week}",
            payload={"week": week},
        )
        for address in addresses
    ]
    return store_planned(session, planned, now=now, domain=domain)


def plan_digests(app: App, now: datetime, *, force: bool = False) -> list[int]:
    """`bevakning digest`: this week's digest now, whatever the day (to a directory person it
    is their one mail of the day, so it is not planned again if they already have one)."""
    local = now.astimezone(app.tz)
    today = local.date()
    domain = str(app.config.get("mail", "message_id_domain", "bevakning.local"))
    with transaction(app.sessions) as session:
        calendars = app.calendars(session)
        policy = policy_of(app)
        week_of = digest_week(app, calendars, local, policy, started=None)
        if week_of is None:
            if not force:
                return []
            week_of = today - timedelta(days=today.weekday())
        recipients = digest_recipients(app, session)
        done = _digested(session, [a for _, a in recipients], week_of)
        mails = [
            PlannedMail(DIGEST_KIND, p.id, today)
            for p, a in recipients
            if p is not None and a.lower() not in done
        ]
        taken = keys_for_day(session, today)
        ids = _store(session, [m for m in mails if m.key not in taken], now, domain, week_of)
        extra = [a for p, a in recipients if p is None and a.lower() not in done]
        return ids + _store_extra_digests(session, extra, today, week_of, now, domain)


def dispatch_outbox(
    app: App,
    now: datetime,
    *,
    transport: Transport | None = None,
    worker: str | None = None,
    max_batches: int = 50,
    processes: int | None = None,
) -> list[dict[str, Any]]:
    """Send what is due in batches over one connection each; returns the mails as JSON dicts.

    With `processes` (default `[mail] dispatch_processes`) above one, a backlog of more than a
    batch is shared with helper processes, each claiming batches of its own as another
    instance would: composing a national store's 1,740 weekly digests is Python work, one
    core's worth per process."""
    policy = retry_policy_of(app)
    batch_size = int(app.config.get("mail", "batch_size", 200))
    chosen = transport or transport_of(app)
    worker = worker or worker_name()
    processes = processes or int(app.config.get("mail", "dispatch_processes", 1))
    # `now` is the tick's moment (a test or simulation passes its own); the real time spent
    # sending is added to it, so leases and timestamps stay true on a long backlog.
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    def composer(session: Session, rows: Sequence[OutboxMessage]) -> Mapping[int, Composed]:
        return ComposedBatch(app, session, rows, clock())

    out: list[dict[str, Any]] = []
    helpers: _Helpers | None = None
    try:
        for n in range(max_batches):
            claimed = claim(app.sessions, clock(), policy, batch_size, worker)
            if not claimed.ids:
                break
            full = len(claimed.ids) == batch_size
            if n == 0 and full and processes > 1 and chosen.shareable:
                helpers = _Helpers.start(app, clock(), chosen, worker, max_batches, processes - 1)
            for d in deliver(app.sessions, claimed, chosen, composer, clock, policy):
                out.append(mail_json(app, d.row, d.status, d.mail, now))
            if not full:
                break
    finally:
        if helpers is not None:
            out += helpers.finish()
    return out


@dataclass
class _Helpers:
    """Helper processes of one dispatch (see dispatch_outbox)."""

    pool: ProcessPoolExecutor
    running: list[Future[list[dict[str, Any]]]]

    @classmethod
    def start(
        cls,
        app: App,
        now: datetime,
        transport: Transport,
        worker: str,
        max_batches: int,
        count: int,
    ) -> _Helpers:
        # Spawned, not forked: the parent holds open connections and scheduler threads.
        pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
        made = (transport.name, dict(transport.settings))
        running = [
            pool.submit(_dispatch_helper, app.config, now, made, f"{worker}-{n}", max_batches)
            for n in range(1, count + 1)
        ]
        log.info("dispatching with %d helper processes", count)
        return cls(pool, running)

    def finish(self) -> list[dict[str, Any]]:
        """What the helpers sent. A helper that failed is logged: the rows it had claimed go
        out again once their lease ends, as after any crash."""
        out: list[dict[str, Any]] = []
        for future in self.running:
            try:
                out += future.result()
            except Exception:
                log.exception("a dispatch helper process failed")
        self.pool.shutdown()
        return out


def _dispatch_helper(
    config: Config,
    now: datetime,
    transport: tuple[str, dict[str, Any]],
    worker: str,
    max_batches: int,
) -> list[dict[str, Any]]:
    """A helper process's dispatch: an app and a transport of its own, one process."""
    app = App(config)
    try:
        return dispatch_outbox(
            app,
            now,
            transport=make_transport(*transport),
            worker=worker,
            max_batches=max_batches,
            processes=1,
        )
    finally:
        app.engine.dispose()


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
