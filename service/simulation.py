"""`bevakning simulate`: the real planning run day by day over simulated time, on a throwaway
copy of the store's plans, directory and calendars."""

from __future__ import annotations

import random
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from service.app import App
from service.completion import mark_done
from service.db import Base, create_schema, transaction
from service.directory import VOCABULARY_STATE
from service.mail.transports.memory import MemoryTransport
from service.models import Notice, Occurrence, Person, Plan, State
from service.occurrences import OPEN
from service.pipeline import policy_of, tick

# What a simulation starts from: the plans and the people, not anyone's progress.
REFERENCE_TABLES = ("plans", "areas", "items", "divisions", "units", "people", "terms", "meetings")


def simulate(
    app: App,
    start: date,
    end: date,
    *,
    done_rate: float,
    seed: int,
    on_day: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """`on_day` is called after each simulated day (the command's progress bar)."""
    app.init(datetime.now().astimezone())
    with tempfile.TemporaryDirectory(prefix="bevakning-sim-") as folder:
        sim = App(
            app.config.with_overrides(
                {
                    "database": {"url": f"sqlite:///{Path(folder) / 'sim.db'}", "echo": False},
                    "mail": {"transport": "memory"},
                }
            )
        )
        try:
            return _run(app, sim, start, end, done_rate, seed, on_day)
        finally:
            sim.engine.dispose()


def _run(
    app: App,
    sim: App,
    start: date,
    end: date,
    done_rate: float,
    seed: int,
    on_day: Callable[[], None],
) -> dict[str, Any]:
    create_schema(sim.engine)
    with app.engine.connect() as source, sim.engine.begin() as target:
        for table in Base.metadata.sorted_tables:
            if table.name in REFERENCE_TABLES:
                rows = [dict(r) for r in source.execute(select(table)).mappings()]
                if rows:
                    target.execute(insert(table), rows)
        # The roles and administrations the directory declares, without which a plan of one
        # administration would reach nobody.
        declared = [
            dict(r)
            for r in source.execute(
                select(State.key, State.value).where(State.key == VOCABULARY_STATE)
            ).mappings()
        ]
        if declared:
            target.execute(insert(State), declared)
        # Series start where the simulation starts.
        target.execute(update(Plan).values(follow_from=start))
    done_count = 0

    def in_time(occurrence_id: int) -> bool:
        return random.Random(f"{seed}:{occurrence_id}").random() < done_rate

    def act(day: date) -> None:
        nonlocal done_count
        done_count += _people_act(sim, day, in_time)
        on_day()

    mails = run_days(sim, start, end, after_day=act)
    return {"mails": mails, "summary": _summary(sim, mails, start, end, done_count)}


def run_days(
    sim: App, start: date, end: date, *, after_day: Callable[[date], None] = lambda day: None
) -> list[dict[str, Any]]:
    """The simulated days: each day the ticks at the digest's and the send time, then
    `after_day` (people acting). Returns the mails sent, as `tick` reports them."""
    transport = MemoryTransport()
    send_time = policy_of(sim).send_time
    digest_time = time.fromisoformat(str(sim.config.get("digest", "time", "07:00")))
    mails: list[dict[str, Any]] = []
    day = start
    while day <= end:
        for clock in sorted({min(send_time, digest_time), send_time}):
            now = datetime.combine(day, clock, tzinfo=sim.tz)
            result = tick(sim, now, transport=transport, worker="simulation")
            mails += [m for m in result.mails if m["status"] == "sent"]
        after_day(day)
        day += timedelta(days=1)
    return mails


def _people_act(sim: App, day: date, in_time: Callable[[int], bool]) -> int:
    """Each person marks their chosen share done in time: on the day a reminder reaches them,
    or at the latest the day before the deadline."""
    now = datetime.combine(day, time(16, 0), tzinfo=sim.tz)
    done = 0
    with transaction(sim.sessions) as session:
        reminded_today = set(
            session.scalars(
                select(Occurrence.id).where(
                    Occurrence.id.in_(select(Notice.occurrence_id).where(Notice.planned_on == day)),
                    Occurrence.status == OPEN,
                )
            )
        )
        due_tomorrow = set(
            session.scalars(
                select(Occurrence.id).where(
                    Occurrence.status == OPEN, Occurrence.due == day + timedelta(days=1)
                )
            )
        )
        for occ_id in sorted(reminded_today | due_tomorrow):
            if not in_time(occ_id):
                continue
            occ = session.get(Occurrence, occ_id)
            assert occ is not None
            person = session.get(Person, occ.person_id)
            assert person is not None
            if mark_done(session, occ_id, by=person, on=day, via="simulation", now=now).changed:
                done += 1
        sim.sync(session, now)
    return done


def _summary(
    sim: App, mails: list[dict[str, Any]], start: date, end: date, done: int
) -> dict[str, Any]:
    by_kind: Counter[str] = Counter()
    off_days: list[str] = []
    with sim.sessions() as session:
        calendars = sim.calendars(session)
        open_left = len(
            session.scalars(select(Occurrence.id).where(Occurrence.status == OPEN)).all()
        )
        role_of = {p.email.lower(): p.role for p in session.scalars(select(Person))}
        dated = session.execute(
            select(Occurrence.id, Occurrence.due, Person.email)
            .join(Person, Occurrence.person_id == Person.id)
            .where(Occurrence.due.is_not(None), Occurrence.created_at.is_not(None))
        ).all()
        arrived = dict(session.execute(select(Occurrence.id, Occurrence.created_at)).tuples().all())
    for mail in mails:
        by_kind[mail["kind"]] += 1
        day = mail["at"][:10]
        if not calendars.is_working_day(date.fromisoformat(day)):
            off_days.append(day)
    load = mail_load(mails, start, end, role_of)
    reminded = reminded_before(mails, dated, arrived, sim, start, end)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "mails": len(mails),
        "by_kind": dict(sorted(by_kind.items())),
        "people_reached": len(load["per_person"]),
        "max_reminder_mails_per_person_per_day": load["max_reminder_per_person_day"],
        "max_mails_per_person_per_day": load["max_per_person_day"],
        "person_days_with_two_or_more_mails": load["person_days_with_two_or_more"],
        "mails_per_person": load["per_person"],
        "mails_per_person_per_week": load["per_person_per_week"],
        "mails_per_person_per_year": load["per_person_per_year"],
        "mails_per_role_per_year": load["per_role_per_year"],
        "dated_deadlines": reminded["dated"],
        "dated_deadlines_not_reminded_before": reminded["missed"],
        "every_dated_deadline_reminded_before": not reminded["missed"],
        "mails_on_weekends_or_holidays": len(off_days),
        "digests": by_kind.get("digest", 0),
        "marked_done": done,
        "open_at_end": open_left,
    }


def mail_load(
    mails: list[dict[str, Any]], start: date, end: date, role_of: dict[str, str]
) -> dict[str, Any]:
    """How much mail each person got, of any kind: per day, week and year, and per role."""
    per_day: Counter[tuple[str, str]] = Counter()
    reminder_per_day: Counter[tuple[str, str]] = Counter()
    for mail in mails:
        for address in mail["to"]:
            per_day[(address.lower(), mail["at"][:10])] += 1
            if mail["kind"] in ("reminder", "checkin"):
                reminder_per_day[(address.lower(), mail["at"][:10])] += 1
    per_person: Counter[str] = Counter()
    for (address, _day), n in per_day.items():
        per_person[address] += n
    years = ((end - start).days + 1) / 365
    weeks = ((end - start).days + 1) / 7
    per_role: defaultdict[str, list[int]] = defaultdict(list)
    for address, n in per_person.items():
        per_role[role_of.get(address, "extern")].append(n)
    return {
        "max_per_person_day": max(per_day.values(), default=0),
        "max_reminder_per_person_day": max(reminder_per_day.values(), default=0),
        "person_days_with_two_or_more": sum(1 for n in per_day.values() if n >= 2),
        "per_person": dict(sorted(per_person.items())),
        "per_person_per_week": {a: round(n / weeks, 2) for a, n in sorted(per_person.items())},
        "per_person_per_year": {a: round(n / years, 1) for a, n in sorted(per_person.items())},
        # The most any one holder of the role got, and the mean over its holders.
        "per_role_per_year": {
            role: {"max": round(max(ns) / years, 1), "mean": round(sum(ns) / len(ns) / years, 1)}
            for role, ns in sorted(per_role.items())
        },
    }


def reminded_before(
    mails: list[dict[str, Any]],
    dated: Sequence[Any],
    arrived: dict[int, datetime],
    sim: App,
    start: date,
    end: date,
) -> dict[str, Any]:
    """Every dated deadline inside the period that was still ahead when its occurrence came
    into the store, and due after the first reminder day could reach it: was its person
    mailed about it before (or on) the day it fell?"""
    first_mail: dict[tuple[int, str], date] = {}
    for mail in mails:
        day = date.fromisoformat(mail["at"][:10])
        for address in mail["to"]:
            for occurrence_id in mail["items"]:
                key = (occurrence_id, address.lower())
                first_mail[key] = min(day, first_mail.get(key, day))
    missed = []
    count = 0
    for occurrence_id, due, email in dated:
        came = arrived.get(occurrence_id)
        came_on = came.astimezone(sim.tz).date() if came else start
        if due is None or due > end or due <= max(start, came_on):
            continue
        count += 1
        reminded = first_mail.get((occurrence_id, email.lower()))
        if reminded is None or reminded > due:
            missed.append({"occurrence": occurrence_id, "due": due.isoformat(), "to": email})
    return {"dated": count, "missed": missed}
