"""Clicks written on the event loop: they never wait for a lock, and the WAL checkpoint (a
copy into the database file and a sync) happens in a thread, not on the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import insert

from service.app import App
from service.db import create_schema
from service.models import State
from service.web.app import QuickStore
from tests.support import make_config


def test_its_connections_never_wait_and_never_checkpoint(tmp_path: Path) -> None:
    app = App(make_config(f"sqlite:///{tmp_path / 'quick.db'}", tmp_path))
    store = QuickStore(app)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 0
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_every_so_many_writes_a_thread_checkpoints_the_wal(tmp_path: Path) -> None:
    database = tmp_path / "quick.db"
    app = App(make_config(f"sqlite:///{database}", tmp_path))
    create_schema(app.engine)
    with app.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store = QuickStore(app, checkpoint_every=3)
    before = database.read_bytes()
    started: list[asyncio.Future[None] | None] = []

    async def clicks() -> None:
        for n in range(3):
            with store.engine.begin() as connection:
                connection.execute(insert(State).values(key=f"click-{n}", value="1"))
            # In WAL mode the database file changes only at a checkpoint: none on the loop.
            assert database.read_bytes() == before
            started.append(store.wrote())
        checkpoint = started[-1]
        assert checkpoint is not None
        await checkpoint

    asyncio.run(clicks())

    assert started[:2] == [None, None]
    assert database.read_bytes() != before  # the clicks are in the database file now
