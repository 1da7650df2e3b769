"""`bevakning simulate`: the real planning run day by day over simulated time, on a throwaway
copy of the store's plans, directory and calendars."""

from __future__ import annotations

import random
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from service.app import App
from service.completion import mark_done
from service.db import Base, create_schema, transaction
from service.mail.transports.memory import MemoryTransport
from service.models import Notice, Occurrence, Person, Plan
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
        # Series start where the simulation starts.
        target.execute(update(Plan).values(follow_from=start))
    transport = MemoryTransport()
    send_time = policy_of(sim).send_time
    digest_time = time.fromisoformat(str(sim.config.get("digest", "time", "07:00")))
    mails: list[dict[str, Any]] = []
    done_count = 0

    def in_time(occurrence_id: int) -> bool:
        return random.Random(f"{seed}:{occurrence_id}").random() < done_rate

    day = start
    while day <= end:
        for clock in sorted({min(send_time, digest_time), send_time}):
            now = datetime.combine(day, clock, tzinfo=sim.tz)
            result = tick(sim, now, transport=transport, worker="simulation")
            mails += [m for m in result.mails if m["status"] == "sent"]
        done_count += _people_act(sim, day, in_time)
        on_day()
        day += timedelta(days=1)
    return {"mails": mails, "summary": _summary(sim, mails, start, end, done_count)}


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
    per_person_day: Counter[tuple[str, str]] = Counter()
    by_kind: Counter[str] = Counter()
    off_days: list[str] = []
    with sim.sessions() as session:
        calendars = sim.calendars(session)
        open_left = len(
            session.scalars(select(Occurrence.id).where(Occurrence.status == OPEN)).all()
        )
    for mail in mails:
        by_kind[mail["kind"]] += 1
        day = mail["at"][:10]
        if not calendars.is_working_day(date.fromisoformat(day)):
            off_days.append(day)
        if mail["kind"] in ("reminder", "checkin"):
            for address in mail["to"]:
                per_person_day[(address, day)] += 1
    people: defaultdict[str, int] = defaultdict(int)
    for (address, _day), n in per_person_day.items():
        people[address] += n
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "mails": len(mails),
        "by_kind": dict(sorted(by_kind.items())),
        "people_reached": len(people),
        "max_reminder_mails_per_person_per_day": max(per_person_day.values(), default=0),
        "mails_on_weekends_or_holidays": len(off_days),
        "digests": by_kind.get("digest", 0),
        "marked_done": done,
        "open_at_end": open_left,
    }
