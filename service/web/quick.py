"""The common click written with group commit: on the event loop itself for SQLite
(QuickStore), by one thread for PostgreSQL (ThreadedGroupStore); `group_store` picks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, runtime_checkable

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


class GroupStore(Protocol):
    async def write(self, work: Callable[[Connection], T | None]) -> T | None: ...


def group_store(app: App) -> GroupStore:
    if app.engine.dialect.name == "sqlite":
        return QuickStore(app)
    return ThreadedGroupStore(app)


_Work = Callable[[Connection], Any]


class ThreadedGroupStore:
    """PostgreSQL: the clicks of one turn of the event loop are written by one thread, in one
    transaction, committed once. A transaction per click on the thread pool had made every click
    wait for its own WAL flush, and 40 threads for the GIL; here, while a group commits, the
    clicks that arrive meanwhile gather into the next, which a second writer takes. Same
    contract as QuickStore.write: None sends the click to the general path, which redoes it on
    its own (any failure in a group undoes all of it), and a bug in the work is raised to its
    own caller."""

    def __init__(self, app: App, *, writers: int = 4) -> None:
        self.engine = app.engine
        # Several groups in flight at once, each its own transaction: their round trips to the
        # server overlap (the clicks touch different rows, so they do not wait on each other).
        self._writer = ThreadPoolExecutor(writers, thread_name_prefix="bevakning-group-writer")
        self._batch: list[tuple[_Work, asyncio.Future[Any]]] | None = None

    async def write(self, work: Callable[[Connection], T | None]) -> T | None:
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = []
            # Callbacks already due in this turn run first: the clicks among them join.
            loop.call_soon(self._submit)
        answer: asyncio.Future[Any] = loop.create_future()
        self._batch.append((work, answer))
        # Shielded: one request cancelled must not cancel the answers of the others.
        result: T | None = await asyncio.shield(answer)
        return result

    def _submit(self) -> None:
        batch, self._batch = self._batch or [], None
        loop = asyncio.get_running_loop()
        running = loop.run_in_executor(self._writer, self._run, [work for work, _ in batch])

        def settle(done: asyncio.Future[list[Any]]) -> None:
            try:
                results = done.result()
            except BaseException as exc:  # the thread itself failed: everyone hears of it
                results = [exc] * len(batch)
            for (_, answer), result in zip(batch, results, strict=True):
                if answer.done():
                    continue
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

        running.add_done_callback(settle)

    def _run(self, works: Sequence[_Work]) -> list[Any]:
        nothing: list[Any] = [None] * len(works)
        try:
            with self.engine.connect() as connection:
                transaction = connection.begin()
                results: list[Any] = [None] * len(works)
                for indexes, run in self._parts(works):
                    try:
                        for n, result in zip(indexes, run(connection), strict=True):
                            results[n] = result
                    except (SQLAlchemyError, GeneralPath) as exc:
                        log.info("group write failed (%s); the general path takes it",
                                 type(exc).__name__)  # fmt: skip
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
        except SQLAlchemyError:
            log.warning("group writes not committed; the general path takes them", exc_info=True)
            return nothing

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
    """A write that a PostgreSQL group runs with the others of its kind in one call (one
    statement for a group of clicks, not two round trips per click); alone it is called."""

    def __call__(self, connection: Connection) -> Any: ...

    @classmethod
    def together(cls, connection: Connection, works: Sequence[Any]) -> list[Any]: ...
