"""Mark-done POSTs per second and p99 latency, against a bare Starlette endpoint.

Both servers run under uvicorn on 127.0.0.1 in child processes of their own; the client is a
lean asyncio loop in this process (50 kept-alive connections, prebuilt requests), so on two
cores the server has one to itself. The store is a generated SQLite file with one open
occurrence per POST, so every request really marks something done.

    .venv/bin/python bench/web_markdone.py [--requests 5000] [--concurrency 50] [--warmup 200]
        [--rates 200,400] [--rate-seconds 15]

A closed loop of clients that click again the moment they are answered measures throughput:
at saturation its latency is only Little's law (clients / throughput). The p99 a person sees
is measured as well at fixed offered loads (`--rates`): clicks arrive as a Poisson stream at
that rate, spread over the same 50 connections, and each latency is counted from the moment
the click was due to be sent, so a click that waited for a free connection counts its wait
(no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import socket
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.generate import pg_schema  # noqa: E402
from service.app import App  # noqa: E402
from service.config import Config, load_config  # noqa: E402
from service.models import Item, Occurrence, Person  # noqa: E402
from service.web.security import CSRF_COOKIE, Csrf  # noqa: E402
from service.web.urls import done_url  # noqa: E402

KEY = "bench-signing-key"
COOKIE = "b" * 43  # any well-formed cookie value; the CSRF field is derived from it


def make_config(db_url: str, folder: Path) -> Config:
    return load_config(ROOT / "config.toml", environ={}).with_overrides(
        {
            "database": {"url": db_url},
            "mail.files": {"folder": str(folder / "outbox")},
            # The benchmark client is one address; the limiter must not get in the way.
            "web": {"secret_keys": KEY, "bad_token_limit_per_minute": 0},
        }
    )


def generate(db_url: str, folder: Path, count: int, now: datetime) -> list[str]:
    """The bundled store plus `count` open occurrences; returns their mark-done paths."""
    app = App(make_config(db_url, folder))
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
    if app.engine.dialect.name == "postgresql":
        # The statistics autovacuum would gather within a minute of such a load: without them
        # the planner takes the open occurrences for a handful and scans them for each click.
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
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


def serve(kind: str, db_url: str, folder: str, port_queue: Any) -> None:
    """Child process: one uvicorn server, the real app or the bare endpoint."""
    import logging

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from service.web.app import create_app
    from service.web.server import freeze_startup_objects

    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    if kind == "app":
        asgi: Any = create_app(App(make_config(db_url, Path(folder))))
    else:

        async def bare(request: Request) -> HTMLResponse:
            await request.form()
            return HTMLResponse("<!DOCTYPE html><html lang='sv'><title>Tack</title><p>Tack!</p>")

        asgi = Starlette(routes=[Route("/k/{token}", bare, methods=["POST"])])
    freeze_startup_objects()  # as `bevakning run` does before it serves
    # Listen first so the parent learns the port before uvicorn starts serving on it.
    # proto must be IPPROTO_TCP, or asyncio does not set TCP_NODELAY on accepted connections
    # and Nagle holds back the body after the headers until the client's delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)  # connections that come before uvicorn runs wait in the backlog
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


def request_bytes(port: int, path: str, today: str) -> bytes:
    """One complete POST, built once: the cookie, and the form with the CSRF value for `path`."""
    csrf = Csrf(KEY, secure=False)
    body = urlencode(
        {
            "csrf": csrf.field_value(COOKIE, path),
            "action": "done",
            "done_on": today,
            "comment": "bench",
        }
    ).encode()
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Cookie: {CSRF_COOKIE}={COOKIE}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


def prebuilt(port: int, paths: list[str]) -> list[bytes]:
    """The POSTs for `paths`, dated today as the server's default date field would be."""
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Stockholm")).date().isoformat()
    return [request_bytes(port, path, today) for path in paths]


async def reopened(
    port: int, writer: asyncio.StreamWriter
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new connection in place of one the server closed or that failed."""
    writer.close()
    return await asyncio.open_connection("127.0.0.1", port)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    return status, await reader.readexactly(length), keep


async def hammer(
    name: str, port: int, paths: list[str], concurrency: int, limit_s: float
) -> Result:
    """A closed loop of `concurrency` clients, each on one kept-alive connection.

    Raw asyncio streams and prebuilt requests: the client does little more per request than
    one write and two reads, so it can drive the bare endpoint at full speed.
    """
    requests = deque(prebuilt(port, paths))
    latencies: list[float] = []
    failures = 0
    errors: dict[str, int] = {}
    expect = b"Tack!" if name == "app" else b""
    deadline = time.perf_counter() + limit_s

    async def client() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while requests and time.perf_counter() < deadline:
                request = requests.popleft()
                started = time.perf_counter()
                try:
                    writer.write(request)
                    status, body, keep = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    failures += 1
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    reader, writer = await reopened(port, writer)
                    continue
                latencies.append(time.perf_counter() - started)
                if status != 200 or expect not in body:
                    failures += 1
                if not keep:
                    reader, writer = await reopened(port, writer)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if errors:
        print(f"{name}: transport errors {errors}")
    return Result(name, len(latencies), elapsed, latencies, failures)


async def offer(port: int, paths: list[str], connections: int, rate: float) -> Result:
    """An open loop: click n is due at the n-th arrival of a Poisson stream of `rate` per
    second and is sent on the first free connection; its latency runs from when it was due."""
    requests = prebuilt(port, paths)
    arrivals = random.Random(1)  # the same stream in every run
    due, moment = [], 0.0
    for _ in requests:
        moment += arrivals.expovariate(rate)
        due.append(moment)
    latencies: list[float] = []
    failures = 0
    next_click = 0
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def connection() -> None:
        nonlocal failures, next_click
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_click < len(requests):
                n, next_click = next_click, next_click + 1
                wait = started + due[n] - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(requests[n])
                status, body, keep = await read_response(reader)
                latencies.append(loop.time() - started - due[n])
                if status != 200 or b"Tack!" not in body:
                    failures += 1
                if not keep:
                    reader, writer = await reopened(port, writer)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return Result(f"app at {rate:.0f}/s", len(latencies), loop.time() - started, latencies,
                  failures)  # fmt: skip


@contextmanager
def served(kind: str, db_url: str, folder: Path) -> Iterator[int]:
    """A server of `kind` in its own process while the block runs; its port."""
    process, port = start(kind, db_url, folder)
    try:
        yield port
    finally:
        process.terminate()
        process.join(10)


def start(kind: str, db_url: str, folder: Path) -> tuple[Any, int]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=serve, args=(kind, db_url, str(folder), queue), daemon=True)
    process.start()
    return process, int(queue.get(timeout=30))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=200, help="POSTs per server not counted")
    parser.add_argument("--seconds", type=float, default=60, help="time limit per server")
    # A shared VM varies by a third from minute to minute: several rounds, each measuring both
    # servers back to back, and the medians.
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--rates",
        default="200,400",
        help="offered loads, clicks per second, for the open-loop p99 ('' for none)",
    )
    parser.add_argument("--rate-seconds", type=float, default=15, help="length of each open loop")
    args = parser.parse_args()
    if args.database == "postgresql":
        with pg_schema() as url:
            return run(args, lambda folder: url)
    return run(args, lambda folder: f"sqlite:///{folder / 'bench.db'}")


def run(args: argparse.Namespace, store: Callable[[Path], str]) -> int:
    now = datetime.now(UTC)
    per_round = args.warmup + args.requests
    with tempfile.TemporaryDirectory(prefix="bevakning-web-bench-") as tmp:
        folder = Path(tmp)
        db = store(folder)
        print(f"store: {args.database}")
        rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
        offered = [args.warmup + int(rate * args.rate_seconds) for rate in rates]
        paths = generate(db, folder, per_round * args.rounds + sum(offered), now)
        rounds: list[tuple[Result, Result]] = []
        warm_failures = 0
        for n in range(args.rounds):
            mine = paths[n * per_round : (n + 1) * per_round]
            # The first requests pay for imports, compiled templates and statements, and all
            # arrive at once; they would be the slowest 1% of the run.
            warm, measured = mine[: args.warmup], mine[args.warmup :]
            results = []
            for kind in ("bare", "app"):
                with served(kind, db, folder) as port:
                    warming = asyncio.run(hammer(kind, port, warm, args.concurrency, args.seconds))
                    warm_failures += warming.failures
                    results.append(
                        asyncio.run(hammer(kind, port, measured, args.concurrency, args.seconds))
                    )
            bare, real = results
            rounds.append((bare, real))
            print(
                f"round {n + 1}: bare {bare.rate:5.0f} req/s (p99 {bare.quantile(0.99):4.1f} ms), "
                f"mark-done {real.rate:5.0f} req/s (p50 {real.quantile(0.5):4.1f} ms, "
                f"p99 {real.quantile(0.99):4.1f} ms), ratio {real.rate / bare.rate:.2f}"
            )
        opened: list[Result] = []
        first = per_round * args.rounds
        for rate, count in zip(rates, offered, strict=True):
            mine, first = paths[first : first + count], first + count
            with served("app", db, folder) as port:
                warming = asyncio.run(hammer("app", port, mine[: args.warmup], args.concurrency,
                                             args.seconds))  # fmt: skip
                warm_failures += warming.failures
                result = asyncio.run(offer(port, mine[args.warmup :], args.concurrency, rate))
            opened.append(result)
            print(
                f"offered {rate:4.0f} clicks/s: answered {result.rate:4.0f}/s, p50 "
                f"{result.quantile(0.5):4.1f} ms, p99 {result.quantile(0.99):5.1f} ms, "
                f"max {max(result.latencies) * 1000:5.1f} ms"
            )
        app = App(make_config(db, folder))
        with app.sessions() as session:
            done = session.scalar(
                select(func.count())
                .select_from(Occurrence)
                .where(Occurrence.window_key.like("bench-%"), Occurrence.status == "done")
            )
        app.engine.dispose()
    ratios = [real.rate / bare.rate for bare, real in rounds]
    p99s = [real.quantile(0.99) for _, real in rounds]
    print(f"\n{args.concurrency} concurrent clients, {args.requests} POSTs per server and round "
          f"after {args.warmup} to warm up")  # fmt: skip
    print(f"ratio app/bare: median {statistics.median(ratios):.2f}, range {min(ratios):.2f}-"
          f"{max(ratios):.2f} (target >= 0.25)")  # fmt: skip
    print(f"app p99: median {statistics.median(p99s):.1f} ms, range {min(p99s):.1f}-"
          f"{max(p99s):.1f} ms (target < 50 ms)")  # fmt: skip
    for result in opened:
        print(f"{result.name}, {args.concurrency} connections: p99 {result.quantile(0.99):.1f} ms "
              "(target < 50 ms)")  # fmt: skip
    expected = (args.rounds + len(opened)) * args.warmup + sum(
        result.requests for result in [real for _, real in rounds] + opened
    )
    print(f"occurrences marked done in the store: {done} of {expected}")
    failures = sum(bare.failures + real.failures for bare, real in rounds) + warm_failures
    failures += sum(result.failures for result in opened)
    return 0 if failures == 0 and done == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
