"""Tick time over a generated store (default 1,000,000 occurrences, about 1,000 due now).

Target: a tick (expand + plan) under 1 s on SQLite. Run: scripts/bench (or python -m bench.tick).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bench.generate import generate
from service.db import transaction
from service.models import Occurrence, OutboxMessage
from service.occurrences import mark_expanded
from service.pipeline import plan_reminders, tick

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--occurrences", type=int, default=1_000_000)
    parser.add_argument("--due-now", type=int, default=1_000)
    args = parser.parse_args()
    now = datetime(2025, 3, 4, 7, 30, tzinfo=STOCKHOLM)  # a Tuesday, at the send time
    with tempfile.TemporaryDirectory(prefix="bevakning-bench-") as folder:
        started = time.perf_counter()
        app = generate(
            Path(folder) / "bench.db",
            occurrences=args.occurrences,
            due_now=args.due_now,
            today=now.date(),
        )
        print(
            f"generated {args.occurrences:,} occurrences in {time.perf_counter() - started:.1f} s"
        )
        with transaction(app.sessions) as session:
            # The synthetic occurrences stand for today's expansion (see bench/generate.py).
            sched = app.config.section("schedule")
            mark_expanded(
                session, now.date(), int(sched["horizon_days"]), str(sched["checkin_every"])
            )
        t0 = time.perf_counter()
        result = tick(app, now, dispatch=False)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = tick(app, now + timedelta(minutes=5), dispatch=False)
        second = time.perf_counter() - t0
        with transaction(app.sessions) as session:
            t0 = time.perf_counter()
            planned_again = plan_reminders(app, now + timedelta(minutes=10))
            plan_only = time.perf_counter() - t0
            total = session.scalar(select(func.count()).select_from(Occurrence))
            rows = session.scalar(select(func.count()).select_from(OutboxMessage))
        print(
            f"store: {total:,} occurrences; outbox rows planned: {rows} "
            f"(first tick {len(result.planned)}, second {len(again.planned)}, "
            f"third {len(planned_again)})"
        )
        print(f"tick that plans the day's mails: {first * 1000:.0f} ms (target < 1000 ms)")
        print(f"tick with nothing new to plan:   {second * 1000:.0f} ms")
        print(f"planning step alone:             {plan_only * 1000:.0f} ms")
        app.engine.dispose()


if __name__ == "__main__":
    main()
