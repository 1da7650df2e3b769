"""Shared fixtures: the app on a real SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_lazy_fixtures import lf
from sqlalchemy import Engine, create_engine, text

from service.app import App
from service.db import make_engine
from tests.cli_support import Cli, write_config
from tests.support import make_config

PG_URL = os.environ.get(
    "BEVAKNING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bevakning.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A schema of its own on the shared test database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(
    params=[
        pytest.param(lf("sqlite_url"), id="sqlite"),
        pytest.param(lf("postgres_url"), id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty store of either kind (the schema upgrade tests build it)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    instance = App(make_config(db_url, tmp_path))
    yield instance
    instance.engine.dispose()


@pytest.fixture
def sqlite_app(sqlite_url: str, tmp_path: Path) -> Iterator[App]:
    instance = App(make_config(sqlite_url, tmp_path))
    yield instance
    instance.engine.dispose()


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    # The command reads BEVAKNING_* from the environment; keep the caller's out of the test.
    import os

    for var in [v for v in os.environ if v.startswith("BEVAKNING_")]:
        monkeypatch.delenv(var)
    db = tmp_path / "cli.db"
    yield Cli(write_config(tmp_path, db), db, capsys)


@pytest.fixture
def cli_ready(cli: Cli) -> Cli:
    code, _, err = cli("init")
    assert code == 0, err
    return cli
