"""A database that is away, refuses the login or is locked by another process (issue 15): one
Swedish line and a non-zero exit, never a traceback; /healthz says so; a tick gives up after
the configured wait. Real parts: a SQLite file locked by another connection, a PostgreSQL
address where nothing listens."""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from service.app import App
from service.scheduler import safe_tick
from service.web.app import create_app
from tests.cli_support import Cli
from tests.support import at, make_config
from tests.web.conftest import NOW, Clock

TakeLock = Callable[[Path], None]
LOCK_WAIT = "0.3"  # seconds; the default (30) is for production


@pytest.fixture
def write_lock() -> Iterator[TakeLock]:
    """Takes the write lock of a SQLite file from another connection, as another process
    (a second instance, a DB browser) would; released at the end of the test."""
    held: list[sqlite3.Connection] = []

    def take(db: Path) -> None:
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.append(other)

    yield take
    for conn in held:
        conn.execute("ROLLBACK")
        conn.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_one_line(err: str, *words: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def locked_cli(cli: Cli, monkeypatch: pytest.MonkeyPatch, write_lock: TakeLock) -> Cli:
    monkeypatch.setenv("BEVAKNING_DATABASE_LOCK_WAIT_SECONDS", LOCK_WAIT)
    code, _, err = cli("init")
    assert code == 0, err
    write_lock(cli.db)
    return cli


@pytest.mark.parametrize(
    "args",
    [
        ("tick", "--now", "2024-12-02T07:30"),
        ("tick", "--json"),
        ("digest", "--now", "2024-12-02T07:00"),
        ("reload",),
    ],
)
def test_a_command_that_writes_to_a_locked_sqlite_store_says_so_in_one_line(
    locked_cli: Cli, args: tuple[str, ...]
) -> None:
    started = time.monotonic()
    code, out, err = locked_cli(*args)
    assert (code, out) == (3, "")
    assert_one_line(err, "är låst av en annan process", str(locked_cli.db), "håller låset")
    assert time.monotonic() - started < 10  # gave up after the configured wait, not 30 s


def test_reading_a_locked_sqlite_store_still_works(locked_cli: Cli) -> None:
    # WAL: the lock holder blocks writers only; a person can still look.
    code, _, err = locked_cli("occurrences", "--at", "2024-12-02", "--json")
    assert code == 0, err


@pytest.fixture
def away_cli(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv(
        "BEVAKNING_DATABASE_URL", f"postgresql+psycopg://bevakning@127.0.0.1:{closed_port()}/test"
    )
    return cli


@pytest.mark.parametrize(
    "args",
    [
        ("init",),
        ("tick",),
        ("items", "--json"),
        ("occurrences",),
        ("digest", "--dry-run"),
        ("reload",),
        ("import", "plans/tillitsfull-dialog.toml"),
        ("run", "--no-web"),
    ],
)
def test_every_command_says_in_one_line_that_postgresql_does_not_answer(
    away_cli: Cli, args: tuple[str, ...]
) -> None:
    code, out, err = away_cli(*args)
    assert code == 3
    assert_one_line(err, "svarar inte", "127.0.0.1:", "[database] url", "databasservern är igång")
    assert "Traceback" not in out


def test_a_refused_postgresql_login_names_the_user_and_what_to_check(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "BEVAKNING_DATABASE_URL", "postgresql+psycopg://ingen_sadan_anvandare@127.0.0.1:5432/test"
    )
    code, _, err = cli("tick")
    assert code == 3
    assert_one_line(err, "nekade inloggningen för ingen_sadan_anvandare", "lösenord")


def test_a_tick_that_meets_a_locked_store_gives_up_with_that_message(
    sqlite_url: str, tmp_path: Path, write_lock: TakeLock, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(make_config(sqlite_url, tmp_path, database={"lock_wait_seconds": 0.3}))
    app.init(at("2024-12-02", "06:00"))
    write_lock(Path(sqlite_url.removeprefix("sqlite:///")))
    with caplog.at_level(logging.ERROR, logger="service.scheduler"):
        started = time.monotonic()
        safe_tick(app)
    assert time.monotonic() - started < 10
    (record,) = [r for r in caplog.records if r.name == "service.scheduler"]
    assert "tick gave up" in record.getMessage() and "är låst" in record.getMessage()
    assert record.exc_info is None  # a line, not a traceback
    app.engine.dispose()


def test_healthz_reports_a_write_locked_sqlite_store(
    sqlite_url: str, tmp_path: Path, write_lock: TakeLock
) -> None:
    app = App(make_config(sqlite_url, tmp_path))
    app.init(NOW)
    with TestClient(create_app(app, clock=Clock(NOW))) as client:
        assert client.get("/healthz").json()["database"] == "ok"
        write_lock(Path(sqlite_url.removeprefix("sqlite:///")))
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "locked"
    assert "låst" in response.json()["message"]
    app.engine.dispose()
