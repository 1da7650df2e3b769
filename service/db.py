"""Engine and sessions; SQLite and PostgreSQL behave the same to the rest of the code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands out aware UTC: SQLite keeps no offsets, so we never store one."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def make_engine(url: str, *, echo: bool = False, lock_wait: float = 30.0) -> Engine:
    """An engine for `url`; on SQLite a writer waits up to `lock_wait` seconds for another
    process's lock before it gives up with "database is locked"."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": lock_wait, "check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        wait_ms = int(lock_wait * 1000)
        event.listen(engine, "connect", lambda c, r: _sqlite_pragmas(c, r, wait_ms))
    return engine


def stored_id(raw: str) -> int | None:
    """A row id as a form writes it, or None: isdigit() would let "²" through to int(), and
    the cap keeps it inside a database integer (a 20-digit id overflowed SQLite's)."""
    return int(raw) if raw.isdecimal() and len(raw) <= 9 else None


MMAP_BYTES = 2**31  # SQLite caps it at its own limit (2 GB less a page on Linux)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_ms: int = 30000) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web page read while a tick writes; busy_timeout makes writers wait, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Reads through a memory map, not through SQLite's own 2 MB page cache copying each page
    # from the OS: a digest reads an administration's whole history, and on a national store
    # the same rows came 25 % faster. The map holds no memory of its own (the OS's page cache).
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """A new store, built through the schema revisions like every other."""
    from service import schema

    schema.upgrade(engine)


def dialect_insert(db: Session | Connection, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT (both dialects speak it): instances expanding or
    planning at once must not fail on each other's rows."""
    bind = db.get_bind() if isinstance(db, Session) else db
    if bind.dialect.name == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def utcnow() -> datetime:
    return datetime.now(UTC)
