"""National scale: the tick over stores of 1,000,000 and 5,000,000 occurrences with about 5,000
due, on SQLite and on PostgreSQL side by side, plus the query plans of the tick's queries; then,
on the same national store (1,740 administrations with their heads, 50,000 people), the
dispatch of the tick's mails to a local SMTP sink and the weekly digest for every head, in one
process and shared with a helper process ([mail] dispatch_processes = 2).

Targets: a tick (expand + plan) under 5 s on PostgreSQL at 5,000,000, and a cost that grows
with the work due, not with the size of the store (the 1M and 5M figures should be close); the
digests for all heads under 60 s.
Run: scripts/bench (1M) or python -m bench.scale [--sizes 1000000,5000000] [--explain]
[--backends sqlite,postgresql] [--administrations 1740] [--mail-size 1000000].
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

from bench.dispatch import smtp_sink
from bench.generate import ADMINISTRATIONS_EACH, MUNICIPALITIES, generate_national, pg_schema
from service.app import App
from service.db import transaction
from service.mail.transports.smtp import SmtpTransport
from service.occurrences import mark_expanded
from service.pipeline import candidates, dispatch_outbox, plan_digests, policy_of, tick

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2025, 3, 4, 7, 30, tzinfo=STOCKHOLM)  # a Tuesday at the send time
PEOPLE = 50_000
T = TypeVar("T")


def measure(app: App, size: int, backend: str, explain: bool, smtp_port: int | None) -> None:
    with transaction(app.sessions) as session:
        sched = app.config.section("schedule")
        mark_expanded(session, NOW.date(), int(sched["horizon_days"]), str(sched["checkin_every"]))
    if backend == "postgresql":
        with app.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    first, planning = timed(lambda: tick(app, NOW, dispatch=False))
    _, idle = timed(lambda: tick(app, NOW + timedelta(minutes=5), dispatch=False))
    print(
        f"{backend:10} {size:>10,}  tick planning {len(first.planned):,} mails: "
        f"{planning * 1000:7.0f} ms   idle tick: {idle * 1000:5.0f} ms"
    )
    if explain and backend == "postgresql":
        show_plans(app)
    if smtp_port is None:
        return
    transport = SmtpTransport({"host": "127.0.0.1", "port": smtp_port, "security": "none"})
    later = NOW + timedelta(minutes=10)
    sent, took = timed(
        lambda: dispatch_outbox(app, later, transport=transport, worker="bench", max_batches=1000)
    )
    assert all(m["status"] == "sent" for m in sent), {m["status"] for m in sent}
    print(
        f"{backend:10} {size:>10,}  dispatch of {len(sent):,} mails to the SMTP sink: "
        f"{took:5.1f} s ({len(sent) / took:4.0f} mails/s)"
    )
    for n in (1, 2):
        if n > 1:  # the same digests again, now shared with a helper process
            with app.engine.begin() as conn:
                conn.execute(text("DELETE FROM outbox WHERE kind = 'digest'"))
        planned, rows = timed(lambda: plan_digests(app, later, force=True))
        sent, rendered = timed(
            partial(
                dispatch_outbox,
                app,
                later,
                transport=transport,
                worker="bench",
                max_batches=1000,
                processes=n,
            )
        )
        assert len(sent) == len(planned) and all(m["status"] == "sent" for m in sent), (
            len(sent),
            len(planned),
        )
        print(
            f"{backend:10} {size:>10,}  weekly digest for all {len(planned):,} heads, "
            f"{n} process{'es' if n > 1 else ''}: {rows + rendered:5.1f} s "
            f"(outbox rows {rows:4.1f} s, render and send {rendered:5.1f} s)"
        )


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """What `work` returns, and the seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def show_plans(app: App) -> None:
    """EXPLAIN ANALYZE of the candidate queries, the heart of the tick (README, Scale)."""
    statements: list[tuple[str, object]] = []
    with app.engine.connect() as conn:

        def record(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
            statements.append((statement, params))

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
    administrations = MUNICIPALITIES * ADMINISTRATIONS_EACH
    parser.add_argument("--administrations", type=int, default=administrations)
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--mail-size", type=int, help="the store size for dispatch and digests (default: largest)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with smtp_sink() as (port, _counter):
        for backend in args.backends.split(","):
            for size in sizes:
                # Dispatch and digests once per backend, on the largest store (or the one named).
                smtp = port if size == (args.mail_size or max(sizes)) else None
                with tempfile.TemporaryDirectory(prefix="bevakning-scale-") as folder:
                    started = time.perf_counter()
                    if backend == "sqlite":
                        app = _generate(Path(folder) / "scale.db", size, args, Path(folder))
                        took = time.perf_counter() - started
                        print(f"(generated {size:,} on SQLite in {took:.0f} s)")
                        measure(app, size, backend, args.explain, smtp)
                        app.engine.dispose()
                    else:
                        with pg_schema() as url:
                            app = _generate(url, size, args, Path(folder))
                            took = time.perf_counter() - started
                            print(f"(generated {size:,} on PostgreSQL with COPY in {took:.0f} s)")
                            measure(app, size, backend, args.explain, smtp)
                            app.engine.dispose()


def _generate(db: Path | str, size: int, args: argparse.Namespace, folder: Path) -> App:
    return generate_national(
        db,
        occurrences=size,
        due_now=args.due,
        today=NOW.date(),
        people=args.people,
        administrations=args.administrations,
        outbox=folder / "outbox",
    )


if __name__ == "__main__":
    main()
