"""Crashes and concurrency: a tick killed mid-send, and several dispatchers on one outbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.app import App
from service.models import OutboxMessage
from service.pipeline import dispatch_outbox, retry_policy_of, tick
from tests.fakes.smtp_server import FakeSMTPServer
from tests.reliability.configfile import write_config_file
from tests.reliability.hanging_smtp import HangingSMTPServer
from tests.support import STOCKHOLM, at, make_config

START = at("2024-11-25", "06:00")
SEND = at("2024-11-29", "07:30")  # a Friday with reminders for many people
DISPATCH = at("2024-12-20", "07:30")  # when the outbox planned up to then is sent
BEVAKNING = Path(sys.executable).with_name("bevakning")
READY_WITHIN = 60.0  # seconds a subprocess may take to start and reach the server


def local_iso(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).replace(tzinfo=None).isoformat(timespec="seconds")


def rows(app: App) -> list[OutboxMessage]:
    with app.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def received(server: FakeSMTPServer) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]).strip() for m in server.messages)


def bevakning_tick(config: Path, now: datetime, tmp_path: Path, name: str) -> subprocess.Popen[str]:
    out = (tmp_path / f"{name}.out").open("w")
    err = (tmp_path / f"{name}.err").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEVAKNING_")}
    return subprocess.Popen(
        [str(BEVAKNING), "--config", str(config), "tick", "--now", local_iso(now), "--json"],
        stdout=out,
        stderr=err,
        text=True,
        cwd=tmp_path,
        env=env,
    )


@pytest.fixture
def hanging_server() -> Iterator[HangingSMTPServer]:
    with HangingSMTPServer(hang_times=1) as server:
        yield server


def smtp_app(db_url: str, tmp_path: Path, server: FakeSMTPServer, **mail: Any) -> App:
    return App(
        make_config(
            db_url,
            tmp_path,
            mail={"transport": "smtp", **mail},
            mail__smtp=server.settings(),
        )
    )


def test_a_tick_killed_between_handing_over_and_hearing_back_sends_once_after_the_lease(
    sqlite_url: str, tmp_path: Path, hanging_server: HangingSMTPServer
) -> None:
    app = smtp_app(sqlite_url, tmp_path, hanging_server)
    app.init(START)
    config = write_config_file(app.config, tmp_path / "config.toml")
    lease = retry_policy_of(app).lease

    process = bevakning_tick(config, SEND, tmp_path, "killed")
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not hanging_server.hanging.wait(0.1):
            assert process.poll() is None, (tmp_path / "killed.err").read_text()
            assert time.monotonic() < deadline, "the tick never reached the SMTP server"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    leased = rows(app)
    assert leased and {r.status for r in leased} == {"sending"}
    # The lease runs from the tick's moment plus the real time the claim took (milliseconds).
    assert all(SEND + lease <= r.lease_until < SEND + lease + timedelta(seconds=30) for r in leased)
    assert received(hanging_server) == Counter()

    # Within the lease nobody takes the rows over: the killed process might still be sending.
    assert tick(app, SEND + lease - timedelta(seconds=1)).mails == []
    assert {r.status for r in rows(app)} == {"sending"}

    after = bevakning_tick(config, SEND + lease + timedelta(seconds=1), tmp_path, "after")
    assert after.wait(timeout=120) == 0, (tmp_path / "after.err").read_text()

    output = json.loads((tmp_path / "after.out").read_text())
    final = rows(app)
    assert {r.status for r in final} == {"sent"}
    assert {r.attempts for r in final} == {2}
    assert received(hanging_server) == Counter({f"<{r.message_id}>": 1 for r in final})
    assert sorted(m["message_id"] for m in output["mails"]) == sorted(r.message_id for r in final)
    # The mail that was stuck at the crash (the first row claimed) went out once, later, with
    # its row's Message-ID.
    stuck = final[0]
    first_rcpt = next(
        arg for conn, cmd, arg in hanging_server.commands if (conn, cmd) == (1, "RCPT")
    )
    assert stuck.to_addrs == [first_rcpt]
    (delivered,) = [
        m
        for m in hanging_server.messages
        if str(m.message["Message-ID"]).strip() == f"<{stuck.message_id}>"
    ]
    assert delivered.connection > 1 and delivered.rcpt_tos == (first_rcpt,)


def plan_many_days(app: App) -> list[OutboxMessage]:
    """Rows for several weeks of mornings, planned but not sent."""
    day = SEND
    while day <= DISPATCH:
        tick(app, day, dispatch=False)
        day += timedelta(days=1)
    planned = rows(app)
    assert len(planned) > 40
    return planned


@pytest.mark.postgres
def test_two_processes_dispatching_one_outbox_send_every_row_once(
    postgres_url: str, tmp_path: Path
) -> None:
    with FakeSMTPServer() as server:
        app = smtp_app(postgres_url, tmp_path, server, batch_size=3)
        app.init(START)
        planned = plan_many_days(app)
        config = write_config_file(app.config, tmp_path / "config.toml")
        now = DISPATCH

        processes = [bevakning_tick(config, now, tmp_path, f"worker{n}") for n in (1, 2)]
        for n, process in enumerate(processes, start=1):
            assert process.wait(timeout=300) == 0, (tmp_path / f"worker{n}.err").read_text()

        outputs = [json.loads((tmp_path / f"worker{n}.out").read_text()) for n in (1, 2)]
        reported = [m["message_id"] for out in outputs for m in out["mails"]]
        final = rows(app)
        app.engine.dispose()
    ids = {r.message_id for r in planned}
    assert len(ids) == len(planned)
    assert sorted(reported) == sorted(ids)  # each row reported by exactly one process
    assert {r.status for r in final} <= {"sent", "skipped"}
    sent = {f"<{r.message_id}>" for r in final if r.status == "sent"}
    assert received(server) == Counter({message_id: 1 for message_id in sent})


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_dispatchers_in_threads_starting_together_send_every_row_once(
    db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db_url = str(request.getfixturevalue(f"{db}_url"))
    with FakeSMTPServer() as server:
        setup = smtp_app(db_url, tmp_path, server, batch_size=2)
        setup.init(START)
        planned = plan_many_days(setup)
        apps = [smtp_app(db_url, tmp_path, server, batch_size=2) for _ in range(4)]
        start = threading.Barrier(len(apps))
        results: dict[int, list[dict[str, Any]]] = {}
        errors: list[BaseException] = []
        now = DISPATCH

        def work(n: int) -> None:
            try:
                start.wait(timeout=READY_WITHIN)
                results[n] = dispatch_outbox(apps[n], now, worker=f"thread-{n}", max_batches=1000)
            except BaseException as exc:  # reported below, in the test's own thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(len(apps))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        final = rows(setup)
        for app in (setup, *apps):
            app.engine.dispose()
    assert errors == []
    reported = [m["message_id"] for mails in results.values() for m in mails]
    assert sorted(reported) == sorted(r.message_id for r in planned)
    assert {r.status for r in final} <= {"sent", "skipped"}
    sent = {f"<{r.message_id}>" for r in final if r.status == "sent"}
    assert received(server) == Counter({message_id: 1 for message_id in sent})
