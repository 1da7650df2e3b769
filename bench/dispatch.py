"""Dispatch throughput to a local aiosmtpd sink, against a bare smtplib loop that sends the same
messages to the same sink in the same run. Target: at least half of the bare loop's rate.

The dispatcher does everything a real run does per mail: claim with a lease, load the items,
render the Jinja2 templates, inline CSS, sign the links, send, and record the result.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import smtplib
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from bench.generate import generate
from service.db import transaction
from service.mail.message import OutgoingMail
from service.mail.transports.smtp import SmtpTransport
from service.occurrences import mark_expanded
from service.pipeline import dispatch_outbox, plan_reminders

STOCKHOLM = ZoneInfo("Europe/Stockholm")


class Sink:
    def __init__(self, counter: Any = None) -> None:
        self.count = 0
        self.counter = counter

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        if self.counter is not None:
            with self.counter.get_lock():
                self.counter.value += 1
        return "250 OK"


def run_sink(port: int, counter: Any, ready: Any, stop: Any) -> None:
    """The SMTP sink in a process of its own, as a real mail server would be: both loops
    then pay the same real round trips, and the sink does not compete for our GIL."""
    controller = Controller(Sink(counter), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class RecordingSmtp(SmtpTransport):
    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.mails: list[OutgoingMail] = []

    def send_overlapping(
        self, mail: OutgoingMail, meanwhile: Sequence[Callable[[], object]]
    ) -> None:
        super().send_overlapping(mail, meanwhile)
        self.mails.append(mail)


@contextmanager
def smtp_sink() -> Iterator[tuple[int, Any]]:
    """The sink started in its own process: yields its port and its shared mail counter."""
    port = free_port()
    ctx = mp.get_context("spawn")
    counter, ready, stop = ctx.Value("i", 0), ctx.Event(), ctx.Event()
    sink = ctx.Process(target=run_sink, args=(port, counter, ready, stop), daemon=True)
    sink.start()
    if not ready.wait(30):
        raise RuntimeError("the SMTP sink did not start")
    try:
        yield port, counter
    finally:
        stop.set()
        sink.join(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_round(folder: Path, port: int, mails: int) -> tuple[int, float, float]:
    """Plans `mails` reminders in a fresh store, dispatches them (timed), then sends the very
    same messages with a bare smtplib loop (timed). Returns the count and both times."""
    now = datetime(2025, 3, 4, 7, 30, tzinfo=STOCKHOLM)
    app = generate(
        folder / "bench.db", occurrences=mails * 3, due_now=mails, today=now.date(), people=mails
    )
    with transaction(app.sessions) as session:
        sched = app.config.section("schedule")
        mark_expanded(session, now.date(), int(sched["horizon_days"]), str(sched["checkin_every"]))
    planned = plan_reminders(app, now)
    transport = RecordingSmtp({"host": "127.0.0.1", "port": port, "security": "none"})
    t0 = time.perf_counter()
    sent = dispatch_outbox(app, now, transport=transport, worker="bench")
    ours = time.perf_counter() - t0
    assert all(m["status"] == "sent" for m in sent), {m["status"] for m in sent}
    assert len(sent) == len(planned) == len(transport.mails), (len(sent), len(planned))
    messages = [(m.sender.email, m.recipients, m.to_wire_bytes()) for m in transport.mails]
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipients, data in messages:
            smtp.sendmail(sender, recipients, data)
    bare = time.perf_counter() - t0
    app.engine.dispose()
    return len(messages), ours, bare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=1000)
    # A shared VM varies by a third from minute to minute: several rounds, each pairing both
    # loops back to back, and the median ratio.
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ratios = []
    with smtp_sink() as (port, counter):
        # Not counted: the first mails of a process pay for compiling the templates (and
        # inlining their CSS), loading Babel's Swedish data and SQLAlchemy's statement caches.
        with tempfile.TemporaryDirectory(prefix="bevakning-bench-") as folder:
            one_round(Path(folder), port, 100)
        for round_no in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory(prefix="bevakning-bench-") as folder:
                n, ours, bare = one_round(Path(folder), port, args.mails)
            ratios.append(bare / ours)
            print(
                f"round {round_no}: {n} mails; bevakning dispatch {n / ours:5.0f} mails/s, "
                f"bare smtplib loop {n / bare:5.0f} mails/s, ratio {bare / ours:.2f}"
            )
    print(f"sink received {counter.value} mails in all (with 2 x 100 to warm up)")
    print(
        f"ratio: median {statistics.median(ratios):.2f}, range {min(ratios):.2f}-"
        f"{max(ratios):.2f} of the bare loop (target >= 0.50)"
    )


if __name__ == "__main__":
    main()
