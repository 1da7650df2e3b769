"""The common click written with group commit, on the event loop itself: for SQLite with the
sync driver (QuickStore), for PostgreSQL with the asyncio one (LoopGroupStore); `group_store`
picks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, runtime_checkable
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection, RootTransaction, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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


class GroupStore(Protocol):
    async def write(self, work: Callable[[Connection], T | None]) -> T | None: ...


_Work = Callable[[Connection], Any]


def group_store(app: App) -> GroupStore:
    if app.engine.dialect.name == "sqlite":
        return QuickStore(app)
    return LoopGroupStore(app)


class LoopGroupStore:
    """PostgreSQL: the clicks that arrive together are written in one transaction, committed
    once, on the event loop itself (SQLAlchemy's asyncio driver: the work is the same sync code,
    run in a greenlet whose waits for the server are the loop's). While a group is written, the
    clicks that arrive meanwhile gather into the next, which another of up to `writers` groups
    in flight takes (they touch different rows, so they do not wait on each other).

    Writer threads had done this before: a click then waited for the GIL at each of its
    hand-overs (loop to thread, each round trip, thread to loop) while the loop ran the other
    requests, and that wait was most of its latency. A group of clicks only (see Together) is
    one statement, atomic by itself, so it runs without BEGIN and COMMIT: one round trip.

    Same contract as QuickStore.write: None sends the click to the general path, which redoes
    it on its own (any failure in a group undoes all of it), and a bug in the work is raised to
    its own caller."""

    def __init__(self, app: App, *, writers: int = 4) -> None:
        self.url = make_url(app.config.database_url).set(drivername="postgresql+psycopg_async")
        self.writers = writers
        # An asyncio connection belongs to the loop that opened it: one engine per loop (one
        # in the server; tests start a loop of their own).
        self._engines: WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncEngine] = (
            WeakKeyDictionary()
        )
        self._pending: list[tuple[_Work, asyncio.Future[Any]]] = []
        self._in_flight = 0
        self._called = False  # a writer is on its way and will take what is pending
        self._writing: set[asyncio.Task[None]] = set()

    def engine(self) -> AsyncEngine:
        loop = asyncio.get_running_loop()
        engine = self._engines.get(loop)
        if engine is None:
            engine = self._engines[loop] = create_async_engine(self.url)
        return engine

    async def write(self, work: Callable[[Connection], T | None]) -> T | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()
        self._pending.append((work, answer))
        if not self._called and self._in_flight < self.writers:
            self._called = True
            self._in_flight += 1
            # It starts in the next turn of the loop: the clicks of this one join its group.
            task = loop.create_task(self._writer())
            self._writing.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._writing.discard)
        # Shielded: one request cancelled must not cancel the answers of the others.
        result: T | None = await asyncio.shield(answer)
        return result

    async def _writer(self) -> None:
        try:
            while self._pending:
                self._called = False
                batch, self._pending = self._pending, []
                results = await self._written([work for work, _ in batch])
                for (_, answer), result in zip(batch, results, strict=True):
                    if answer.done():
                        continue
                    if isinstance(result, BaseException):
                        answer.set_exception(result)
                    else:
                        answer.set_result(result)
        finally:
            self._in_flight -= 1
            self._called = False

    async def _written(self, works: Sequence[_Work]) -> list[Any]:
        try:
            async with self.engine().connect() as connection:
                return await connection.run_sync(self._run, works)
        except SQLAlchemyError:
            log.warning("group writes not committed; the general path takes them", exc_info=True)
            return [None] * len(works)
        except BaseException as exc:  # the writer itself failed: everyone hears of it
            return [exc] * len(works)

    @classmethod
    def _run(cls, connection: Connection, works: Sequence[_Work]) -> list[Any]:
        nothing: list[Any] = [None] * len(works)
        parts = cls._parts(works)
        if len(parts) == 1 and isinstance(works[0], Together):
            # Works of one Together kind only: one statement, atomic by itself.
            connection.execution_options(isolation_level="AUTOCOMMIT")
        transaction = connection.begin()
        results: list[Any] = [None] * len(works)
        for indexes, run in parts:
            try:
                for n, result in zip(indexes, run(connection), strict=True):
                    results[n] = result
            except (SQLAlchemyError, GeneralPath) as exc:
                log.info("group write failed (%s); the general path takes it", type(exc).__name__)
                transaction.rollback()
                return nothing
            except Exception as exc:
                transaction.rollback()
                return [exc if n in indexes else None for n in range(len(works))]
        if any(r is not None for r in results):
            transaction.commit()
        else:
            transaction.rollback()
        return results

    @staticmethod
    def _parts(
        works: Sequence[_Work],
    ) -> list[tuple[list[int], Callable[[Connection], list[Any]]]]:
        """The group's works as the store runs them: those of a kind that can go together
        (see Together) in one call per kind, the others one by one, in order."""
        together: dict[type[Together], list[int]] = {}
        parts: list[tuple[list[int], Callable[[Connection], list[Any]]]] = []
        for n, work in enumerate(works):
            if isinstance(work, Together):
                together.setdefault(type(work), []).append(n)
            else:
                parts.append(([n], partial(_alone, work)))
        for kind, indexes in together.items():
            parts.append((indexes, partial(kind.together, works=[works[n] for n in indexes])))
        return parts


def _alone(work: _Work, connection: Connection) -> list[Any]:
    return [work(connection)]


@runtime_checkable
class Together(Protocol):
    """A write that a PostgreSQL group runs with the others of its kind in one call: one
    statement for a group of clicks, atomic by itself (a group of one kind runs without BEGIN
    and COMMIT). Alone it is called."""

    def __call__(self, connection: Connection) -> Any: ...

    @classmethod
    def together(cls, connection: Connection, works: Sequence[Any]) -> list[Any]: ...
