"""The common click written on the event loop itself, with group commit (see QuickStore)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import SQLAlchemyError

from service.app import App
from service.db import make_engine

log = logging.getLogger(__name__)


class GeneralPath(Exception):
    """Raised by a click's work that must not stand as it is (see items._record_done): its
    transaction, or the quick path's whole group, is rolled back, and the general path, which
    does everything, answers it."""


T = TypeVar("T")


@dataclass
class _Group:
    """The writes of one turn of the event loop: one transaction, committed together."""

    connection: Connection
    transaction: RootTransaction
    committed: asyncio.Future[bool]
    writes: int = 0
    failed: bool = False


class QuickStore:
    """SQLite writes made on the event loop itself (the common click, see items.post_item).

    Clicks handled in the same turn of the loop share one transaction, committed once at the
    end of the turn (group commit); each answer waits for that commit. A commit and a
    connection per click had cost as much as all of the click's statements together. Should
    anything in a group fail, nothing of it stands: the transaction is rolled back and every
    click in it goes to the general path, which redoes it in a transaction of its own.

    Its connections never wait for the write lock (busy_timeout=0: a busy store sends the click
    to the writer thread instead), and never checkpoint the WAL either: a checkpoint copies the
    log into the database file and syncs it, and on the loop that stalled every request for
    tens of milliseconds. A thread does it instead, every `checkpoint_every` writes, without
    blocking readers or writers (PASSIVE).
    """

    def __init__(self, app: App, *, checkpoint_every: int = 500) -> None:
        self.engine = make_engine(app.config.database_url)
        self.checkpoint_every = checkpoint_every
        self._checkpoint_engine = app.engine  # connections that wait for locks: off the loop
        self._writes = 0
        self._running: asyncio.Future[None] | None = None
        self._group: _Group | None = None

        @event.listens_for(self.engine, "connect")
        def no_waiting(dbapi_connection: Any, _record: Any) -> None:
            # Runs after make_engine's own pragmas, so these win.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

    async def write(self, work: Callable[[Connection], T | None]) -> T | None:
        """Runs `work` in this turn's transaction; its result once that is committed.

        `work` returns None when it wrote nothing; then so does this, at once. None too when
        the group could not be committed: the caller then takes the general path.
        """
        group = self._group or self._open()
        if group is None or group.failed:
            return None
        try:
            result = work(group.connection)
        except Exception as exc:
            # Its statements may have written half: nobody's writes in this group stand.
            group.failed = True
            if isinstance(exc, SQLAlchemyError | GeneralPath):
                log.info("quick write failed (%s); the general path takes it", type(exc).__name__)
                return None
            raise
        if result is None:
            return None
        group.writes += 1
        # Shielded: the group's clicks share this future, and one request cancelled (a client
        # gone, a shutdown) must not cancel the answer of the others.
        return result if await asyncio.shield(group.committed) else None

    def _open(self) -> _Group | None:
        loop = asyncio.get_running_loop()
        try:
            connection = self.engine.connect()
        except SQLAlchemyError:
            log.warning("cannot open the store for a quick write", exc_info=True)
            return None
        group = _Group(connection, connection.begin(), loop.create_future())
        self._group = group
        # Callbacks already due in this turn run first: the clicks among them join the group.
        loop.call_soon(self._commit, group)
        return group

    def _commit(self, group: _Group) -> None:
        self._group = None
        committed = False
        try:
            if group.failed or not group.writes:
                group.transaction.rollback()
            else:
                group.transaction.commit()
                committed = True
        except SQLAlchemyError:
            log.warning("quick writes not committed; the general path takes them", exc_info=True)
        finally:
            group.connection.close()
        if not group.committed.done():
            group.committed.set_result(committed)
        if committed:
            self.wrote(group.writes)

    def wrote(self, count: int = 1) -> asyncio.Future[None] | None:
        """Counts committed writes; called on the event loop. Returns the checkpoint it
        started, if it started one."""
        self._writes += count
        if self._writes < self.checkpoint_every:
            return None
        if self._running is not None and not self._running.done():
            return None
        self._writes = 0
        self._running = asyncio.get_running_loop().run_in_executor(None, self.checkpoint)
        return self._running

    def checkpoint(self) -> None:
        try:
            with self._checkpoint_engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next one catches up; other connections checkpoint too
            log.warning("WAL checkpoint failed", exc_info=True)
