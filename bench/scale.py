"""National scale: the tick over stores of 1,000,000 and 5,000,000 occurrences with about 5,000
due, on SQLite and on PostgreSQL side by side, plus the query plans of the tick's queries.

Targets: a tick (expand + plan) under 5 s on PostgreSQL at 5,000,000, and a cost that grows
with the work due, not with the size of the store (the 1M and 5M figures should be close).
Run: scripts/bench scale (or python -m bench.scale [--sizes 1000000,5000000] [--explain]).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.generate import generate, pg_schema
from service.app import App
from service.db import transaction
from service.occurrences import mark_expanded
from service.pipeline import candidates, policy_of, tick

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2025, 3, 4, 7, 30, tzinfo=STOCKHOLM)  # a Tuesday at the send time
PEOPLE = 50_000


def measure(app: App, size: int, backend: str, explain: bool) -> None:
    with transaction(app.sessions) as session:
        sched = app.config.section("schedule")
        mark_expanded(session, NOW.date(), int(sched["horizon_days"]), str(sched["checkin_every"]))
    if backend == "postgresql":
        with app.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    t0 = time.perf_counter()
    first = tick(app, NOW, dispatch=False)
    planning = time.perf_counter() - t0
    t0 = time.perf_counter()
    tick(app, NOW + timedelta(minutes=5), dispatch=False)
    idle = time.perf_counter() - t0
    print(
        f"{backend:10} {size:>10,}  tick planning {len(first.planned):,} mails: "
        f"{planning * 1000:7.0f} ms   idle tick: {idle * 1000:5.0f} ms"
    )
    if explain and backend == "postgresql":
        show_plans(app)


def show_plans(app: App) -> None:
    """EXPLAIN ANALYZE of the candidate queries, the heart of the tick (README, Scale)."""
    statements: list[tuple[str, object]] = []
    with app.engine.connect() as conn:

        def record(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
            statements.append((statement, params))

        from sqlalchemy import event

        event.listen(conn, "before_cursor_execute", record)
        with app.sessions(bind=conn) as session:
            candidates(session, NOW.date(), policy_of(app))
        event.remove(conn, "before_cursor_execute", record)
    with app.engine.connect() as conn:
        for statement, params in statements[:3]:
            print("\n" + statement.strip().splitlines()[-1][:200])
            explain = f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {statement}"
            for (line,) in conn.exec_driver_sql(explain, params):  # type: ignore[arg-type]
                print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,5000000")
    parser.add_argument("--due", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for backend in args.backends.split(","):
        for size in sizes:
            with tempfile.TemporaryDirectory(prefix="bevakning-scale-") as folder:
                started = time.perf_counter()
                if backend == "sqlite":
                    app = _generate(Path(folder) / "scale.db", size, args.due, Path(folder))
                    took = time.perf_counter() - started
                    print(f"(generated {size:,} on SQLite in {took:.0f} s)")
                    measure(app, size, backend, args.explain)
                    app.engine.dispose()
                else:
                    with pg_schema() as url:
                        app = _generate(url, size, args.due, Path(folder))
                        took = time.perf_counter() - started
                        print(f"(generated {size:,} on PostgreSQL with COPY in {took:.0f} s)")
                        measure(app, size, backend, args.explain)
                        app.engine.dispose()


def _generate(db: Path | str, size: int, due: int, folder: Path) -> App:
    return generate(
        db,
        occurrences=size,
        due_now=due,
        today=NOW.date(),
        people=PEOPLE,
        outbox=folder / "outbox",
    )


if __name__ == "__main__":
    main()
