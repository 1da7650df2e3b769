"""Mark-done POSTs per second and p99 latency, against a bare Starlette endpoint.

Both servers run under uvicorn on 127.0.0.1 in child processes of their own; the client is
httpx with 50 concurrent requests. The store is a generated SQLite file with one open
occurrence per POST, so every request really marks something done.

    .venv/bin/python bench/web_markdone.py [--requests 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.app import App  # noqa: E402
from service.config import Config, load_config  # noqa: E402
from service.models import Item, Occurrence, Person  # noqa: E402
from service.web.security import CSRF_COOKIE, Csrf  # noqa: E402
from service.web.urls import done_url  # noqa: E402

KEY = "bench-signing-key"
COOKIE = "b" * 43  # any well-formed cookie value; the CSRF field is derived from it


def make_config(db: Path, folder: Path) -> Config:
    return load_config(ROOT / "config.toml", environ={}).with_overrides(
        {
            "database": {"url": f"sqlite:///{db}"},
            "mail.files": {"folder": str(folder / "outbox")},
            # The benchmark client is one address; the limiter must not get in the way.
            "web": {"secret_keys": KEY, "bad_token_limit_per_minute": 0},
        }
    )


def generate(db: Path, folder: Path, count: int, now: datetime) -> list[str]:
    """The bundled store plus `count` open occurrences; returns their mark-done paths."""
    app = App(make_config(db, folder))
    app.init(now)
    today = app.local_date(now)
    with app.sessions() as session:
        # A dated item with no relative children: marking it done does not re-expand.
        item_id = session.scalar(
            select(Item.id)
            .where(Item.deadline_kind == "month", ~Item.id.in_(select_parents()))
            .order_by(Item.id)
        )
        people = list(session.scalars(select(Person.id).order_by(Person.id)))
    rows: list[dict[str, Any]] = [
        {
            "item_id": item_id,
            "person_id": people[n % len(people)],
            "window_key": f"bench-{n}",
            "due": today + timedelta(days=7),
            "status": "open",
            "version": 1,
            "is_apt": False,
            "created_at": now,
        }
        for n in range(count)
    ]
    with app.engine.begin() as conn:
        conn.execute(insert(Occurrence), rows)
    with app.sessions() as session:
        created = session.execute(
            select(Occurrence.id, Occurrence.person_id).where(Occurrence.window_key.like("bench-%"))
        ).all()
        assert len(created) == count
        total = session.scalar(select(func.count()).select_from(Occurrence))
    print(f"store: {total:,} occurrences, {count:,} of them for the benchmark")
    app.engine.dispose()
    return [
        done_url(app, occ_id, person_id, 1, now).removeprefix(app.public_url)
        for occ_id, person_id in created
    ]


def select_parents() -> Any:
    return select(Item.parent_id).where(Item.parent_id.is_not(None))


def serve(kind: str, db: str, folder: str, port_queue: Any) -> None:
    """Child process: one uvicorn server, the real app or the bare endpoint."""
    import logging

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from service.web.app import create_app

    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    if kind == "app":
        asgi: Any = create_app(App(make_config(Path(db), Path(folder))))
    else:

        async def bare(request: Request) -> HTMLResponse:
            await request.form()
            return HTMLResponse("<!DOCTYPE html><html lang='sv'><title>Tack</title><p>Tack!</p>")

        asgi = Starlette(routes=[Route("/k/{token}", bare, methods=["POST"])])
    # Bind first so the parent learns the port before uvicorn starts serving on the socket.
    # proto must be IPPROTO_TCP, or asyncio does not set TCP_NODELAY on accepted connections
    # and Nagle holds back the body after the headers until the client's delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port_queue.put(sock.getsockname()[1])
    # A queue of 50 clients on a small machine can leave a kept-alive connection idle for
    # longer than uvicorn's default 5 s; closing it then would count as a failed request.
    config = uvicorn.Config(
        asgi, access_log=False, lifespan="off", log_level="warning", timeout_keep_alive=60
    )
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def hammer(
    name: str, base: str, paths: list[str], concurrency: int, limit_s: float
) -> Result:
    csrf = Csrf(KEY, secure=False)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    latencies: list[float] = []
    failures = 0
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + limit_s
    # The local date, as the server's default date field would hold it.
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Stockholm")).date().isoformat()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # Without TCP_NODELAY, httpx writes headers and body separately and Nagle's algorithm
    # meets the server's delayed ACK: every POST would wait ~40 ms for nothing. Browsers
    # set it too.
    transport = httpx.AsyncHTTPTransport(
        limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    async with httpx.AsyncClient(
        transport=transport, base_url=base, timeout=30, cookies={CSRF_COOKIE: COOKIE}
    ) as client:

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                try:
                    path = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                data = {
                    "csrf": csrf.field_value(COOKIE, path),
                    "action": "done",
                    "done_on": today,
                    "comment": "bench",
                }
                started = time.perf_counter()
                try:
                    response = await client.post(path, data=data)
                except httpx.HTTPError as exc:
                    failures += 1
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or (name == "app" and "Tack!" not in response.text):
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if errors:
        print(f"{name}: transport errors {errors}")
    return Result(name, len(latencies), elapsed, latencies, failures)


def start(kind: str, db: Path, folder: Path) -> tuple[Any, int]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=serve, args=(kind, str(db), str(folder), queue), daemon=True)
    process.start()
    return process, int(queue.get(timeout=30))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="time limit per server")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bevakning-web-bench-") as tmp:
        folder = Path(tmp)
        db = folder / "bench.db"
        paths = generate(db, folder, args.requests, now)
        results = []
        for kind in ("bare", "app"):
            process, port = start(kind, db, folder)
            try:
                base = f"http://127.0.0.1:{port}"
                # Warm up connections and code paths on a few requests the run does not count.
                warm = paths[:20] if kind == "bare" else []
                if warm:
                    asyncio.run(hammer(kind, base, warm, 10, 10))
                results.append(
                    asyncio.run(hammer(kind, base, paths, args.concurrency, args.seconds))
                )
            finally:
                process.terminate()
                process.join(10)
        app = App(make_config(db, folder))
        with app.sessions() as session:
            done = session.scalar(
                select(func.count())
                .select_from(Occurrence)
                .where(Occurrence.window_key.like("bench-%"), Occurrence.status == "done")
            )
        app.engine.dispose()
    bare, real = results
    print(f"\n{args.concurrency} concurrent clients, {args.requests} POSTs per server\n")
    print(f"{'server':<22}{'requests':>9}{'failed':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for r in results:
        label = "bare Starlette" if r.name == "bare" else "mark-done (app)"
        print(f"{label:<22}{r.requests:>9}{r.failures:>8}{r.rate:>9.0f}"
              f"{r.quantile(0.5):>9.1f}{r.quantile(0.99):>9.1f}")  # fmt: skip
    print(f"\nratio app/bare: {real.rate / bare.rate:.2f} (target >= 0.25); "
          f"app p99 {real.quantile(0.99):.1f} ms (target < 50 ms)")  # fmt: skip
    print(f"occurrences marked done in the store: {done} of {real.requests}")
    print(f"mean app latency {statistics.mean(real.latencies) * 1000:.1f} ms")
    return 0 if real.failures == 0 and done == real.requests else 1


if __name__ == "__main__":
    raise SystemExit(main())
