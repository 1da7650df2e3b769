"""Clicks written with group commit, on SQLite and PostgreSQL alike; on SQLite they are written
on the event loop, never wait for a lock, and the WAL checkpoint (a copy into the database file
and a sync) happens in a thread, not on the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from service.app import App
from service.db import create_schema
from service.models import State
from service.web.quick import GroupStore, QuickStore, group_store
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


def quick_app(db_url: str, tmp_path: Path) -> tuple[App, GroupStore]:
    """The store's group writer: on the loop for SQLite, one thread for PostgreSQL."""
    app = App(make_config(db_url, tmp_path))
    create_schema(app.engine)
    return app, group_store(app)


def keys(app: App) -> set[str]:
    with app.engine.connect() as connection:
        return set(connection.execute(select(State.key)).scalars())


def test_writes_in_one_turn_of_the_loop_are_committed_together(db_url: str, tmp_path: Path) -> None:
    app, store = quick_app(db_url, tmp_path)
    seen_by_others: list[set[str]] = []

    def click(n: int) -> Callable[[Connection], int]:
        def work(connection: Connection) -> int:
            seen_by_others.append(keys(app))  # another connection, as the writer thread
            connection.execute(insert(State).values(key=f"click-{n}", value="1"))
            return n

        return work

    async def three_clicks() -> list[int | None]:
        return await asyncio.gather(*(store.write(click(n)) for n in range(3)))

    assert asyncio.run(three_clicks()) == [0, 1, 2]
    # Nothing was visible before the one commit, and everything after it.
    assert seen_by_others == [set(), set(), set()]
    assert keys(app) == {"click-0", "click-1", "click-2"}


def test_a_failure_in_a_group_undoes_all_of_it_and_sends_each_to_the_general_path(
    db_url: str,
    tmp_path: Path,
) -> None:
    app, store = quick_app(db_url, tmp_path)

    def good(connection: Connection) -> str:
        connection.execute(insert(State).values(key="good", value="1"))
        return "written"

    def bad(connection: Connection) -> str:
        connection.execute(insert(State).values(key="good", value="again"))  # unique key
        return "never"

    async def group() -> list[str | None]:
        return await asyncio.gather(store.write(good), store.write(bad), store.write(good))

    assert asyncio.run(group()) == [None, None, None]
    assert keys(app) == set()


def test_work_that_writes_nothing_answers_at_once(db_url: str, tmp_path: Path) -> None:
    app, store = quick_app(db_url, tmp_path)

    async def nothing() -> object:
        return await store.write(lambda connection: None)

    assert asyncio.run(nothing()) is None
    assert keys(app) == set()


def test_a_bug_in_the_work_is_raised_and_undoes_the_group(db_url: str, tmp_path: Path) -> None:
    app, store = quick_app(db_url, tmp_path)

    def good(connection: Connection) -> str:
        connection.execute(insert(State).values(key="good", value="1"))
        return "written"

    def buggy(connection: Connection) -> str:
        raise KeyError("oops")

    async def group() -> list[object]:
        return await asyncio.gather(store.write(good), store.write(buggy), return_exceptions=True)

    first, second = asyncio.run(group())
    assert first is None and isinstance(second, KeyError)
    assert keys(app) == set()


def test_a_cancelled_request_does_not_cancel_the_others_in_its_group(
    db_url: str, tmp_path: Path
) -> None:
    app, store = quick_app(db_url, tmp_path)
    loop_errors: list[dict[str, object]] = []

    def click(n: int) -> Callable[[Connection], int]:
        def work(connection: Connection) -> int:
            connection.execute(insert(State).values(key=f"click-{n}", value="1"))
            return n

        return work

    async def one_gone() -> list[object]:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: loop_errors.append(ctx))
        gone = asyncio.ensure_future(store.write(click(0)))
        stays = asyncio.ensure_future(store.write(click(1)))
        await asyncio.sleep(0)  # both have written and wait for the group's commit
        gone.cancel()  # a client that hung up, a shutdown
        return await asyncio.gather(gone, stays, return_exceptions=True)

    gone, stays = asyncio.run(one_gone())

    assert isinstance(gone, asyncio.CancelledError)
    assert stays == 1  # answered: its click is committed
    assert keys(app) == {"click-0", "click-1"}
    assert loop_errors == []


def test_a_store_busy_with_another_writer_sends_the_click_on_at_once(tmp_path: Path) -> None:
    app, store = quick_app(f"sqlite:///{tmp_path / 'quick.db'}", tmp_path)
    other = sqlite3.connect(tmp_path / "quick.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the writer thread, a tick: holding the write lock

    def click(connection: Connection) -> str:
        connection.execute(insert(State).values(key="click", value="1"))
        return "written"

    async def while_busy() -> str | None:
        return await store.write(click)

    try:
        assert asyncio.run(while_busy()) is None  # no waiting on the loop: the general path
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert keys(app) == set()
    assert asyncio.run(while_busy()) == "written"  # and the next one, with the lock free
    assert keys(app) == {"click"}
