"""Schema revisions: where a store stands against the code, and the upgrade that keeps every row.

The revisions are Alembic scripts in service/migrations/versions/. A store made by the first
release has its tables but no recorded revision; it is recognised by comparing its tables and
columns with what the first revision makes, then adopted. A store at a revision the code does not
know (newer code ran on it) or whose tables match no revision is refused and left untouched.

An upgrade runs every pending revision in one transaction. PostgreSQL makes DDL transactional, so
a failure leaves the store as it was; SQLite's driver commits DDL as it goes, so there the store is
copied (the online backup API) before anything changes and restored from that copy on failure.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select
from sqlalchemy.pool import StaticPool

from service.backup import backup_sqlite, restore_sqlite, sqlite_path

log = logging.getLogger(__name__)

SCRIPTS = "service:migrations"
FIRST = "0001_initial"
VERSION_TABLE = "alembic_version"
MIGRATE_LOCK = 0x62657661  # "beva": one initialiser at a time (App.init takes it too)


class SchemaError(Exception):
    """A store this code must not touch, or an upgrade that failed; the text is for the user."""


class _Failed(Exception):
    def __init__(self, cause: Exception, revision: str | None, backup: Path | None) -> None:
        super().__init__(str(cause))
        self.cause, self.revision, self.backup = cause, revision, backup


class Standing(enum.Enum):
    EMPTY = "empty"  # no tables: a new store
    UNVERSIONED = "unversioned"  # the first release's tables, no revision recorded
    BEHIND = "behind"
    CURRENT = "current"
    AHEAD = "ahead"  # a revision this code does not know
    UNKNOWN = "unknown"  # tables that match no revision


@dataclass(frozen=True)
class Position:
    standing: Standing
    revision: str | None  # recorded (or, for UNVERSIONED, recognised) revision
    head: str
    pending: tuple[str, ...] = ()  # revisions an upgrade would run, oldest first
    detail: str = ""


@dataclass
class Upgrade:
    before: Position
    after: str | None
    ran: list[str] = field(default_factory=list)
    backup: Path | None = None
    dry_run: bool = False

    @property
    def adopts(self) -> bool:
        """A first-release store gets its revision recorded (even with nothing else to run)."""
        return self.before.standing is Standing.UNVERSIONED

    @property
    def changes(self) -> bool:
        return bool(self.ran) or self.adopts


def _alembic_config(script_location: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", script_location)
    return config


@cache
def scripts(script_location: str = SCRIPTS) -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config(script_location))


def head(script_location: str = SCRIPTS) -> str:
    heads = scripts(script_location).get_heads()
    if len(heads) != 1:  # a merge left two lines of revisions: a developer's error, not a user's
        raise RuntimeError(f"the migrations have {len(heads)} heads: {heads}")
    return heads[0]


def position(connection: Connection, script_location: str = SCRIPTS) -> Position:
    """Where the store on this connection stands; reads only."""
    directory = scripts(script_location)
    top = head(script_location)
    tables = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
    recorded = MigrationContext.configure(connection).get_current_revision()
    if recorded is None:
        if not tables:
            return Position(Standing.EMPTY, None, top, _pending(directory, None, top))
        difference = _difference(connection, FIRST, script_location)
        if difference:
            return Position(Standing.UNKNOWN, None, top, detail=difference)
        return Position(Standing.UNVERSIONED, FIRST, top, _pending(directory, FIRST, top))
    if recorded == top:
        return Position(Standing.CURRENT, recorded, top)
    try:
        directory.get_revision(recorded)
    except Exception:  # alembic raises several kinds for an id it does not know
        return Position(Standing.AHEAD, recorded, top)
    return Position(Standing.BEHIND, recorded, top, _pending(directory, recorded, top))


def _pending(directory: ScriptDirectory, base: str | None, top: str) -> tuple[str, ...]:
    steps = directory.iterate_revisions(top, base)  # newest first
    return tuple(reversed([s.revision for s in steps if s.revision != base]))


def shape(connection: Connection) -> dict[str, frozenset[str]]:
    """Table → column names: what 'the tables match a revision' compares."""
    inspector = inspect(connection)
    return {
        name: frozenset(c["name"] for c in inspector.get_columns(name))
        for name in inspector.get_table_names()
        if name != VERSION_TABLE
    }


@cache
def shape_at(revision: str, script_location: str = SCRIPTS) -> dict[str, frozenset[str]]:
    """The tables a revision makes, built in a scratch in-memory SQLite store."""
    scratch = create_engine("sqlite://", poolclass=StaticPool)
    with scratch.begin() as connection:
        _run(connection, revision, script_location)
        return shape(connection)


def _difference(connection: Connection, revision: str, script_location: str) -> str:
    """What differs between the store's tables and a revision's, in Swedish; "" when they match."""
    have, want = shape(connection), shape_at(revision, script_location)
    notes = []
    for name in sorted(have.keys() - want.keys()):
        notes.append(f"okänd tabell {name}")
    for name in sorted(want.keys() - have.keys()):
        notes.append(f"tabellen {name} saknas")
    for name in sorted(have.keys() & want.keys()):
        extra, missing = have[name] - want[name], want[name] - have[name]
        if extra:
            notes.append(f"{name} har okända kolumner {', '.join(sorted(extra))}")
        if missing:
            notes.append(f"{name} saknar kolumnerna {', '.join(sorted(missing))}")
    return "; ".join(notes)


def _run(connection: Connection, target: str, script_location: str) -> None:
    from alembic import command

    config = _alembic_config(script_location)
    config.attributes["connection"] = connection
    command.upgrade(config, target)


def _stamp(connection: Connection, revision: str, script_location: str) -> None:
    from alembic import command

    config = _alembic_config(script_location)
    config.attributes["connection"] = connection
    command.stamp(config, revision)


def refusal(pos: Position) -> str | None:
    """Why this code must not touch the store, in Swedish; None when it may."""
    if pos.standing is Standing.AHEAD:
        return (
            f"Databasen har schemaversion {pos.revision}, som är nyare än den här versionen av "
            f"Bevakning ({pos.head}). Inget ändrades: uppdatera Bevakning, eller återställ "
            "säkerhetskopian från före uppgraderingen."
        )
    if pos.standing is Standing.UNKNOWN:
        return (
            "Databasens tabeller stämmer inte med någon känd schemaversion "
            f"({pos.detail}). Inget ändrades: kontrollera att [database] url pekar på "
            "Bevaknings databas."
        )
    return None


def upgrade(
    engine: Engine,
    *,
    dry_run: bool = False,
    may_migrate: bool = True,
    lock: bool = True,
    connection: Connection | None = None,
    backup_dir: Path | None = None,
    now: datetime | None = None,
    script_location: str = SCRIPTS,
) -> Upgrade:
    """Bring the store to the code's revision; a new store is built through the migrations.

    Refuses (SchemaError) a store it must not touch, and one that lags behind when
    `may_migrate` is false. Takes the lock App.init takes (unless the caller holds it: `lock`,
    or runs inside its own locked transaction: `connection`), so two instances starting together
    never both migrate.
    """
    try:
        if connection is not None:
            return _upgrade(
                engine, connection, dry_run, may_migrate, backup_dir, now, script_location
            )
        with _exclusive(engine, lock) as own:
            return _upgrade(engine, own, dry_run, may_migrate, backup_dir, now, script_location)
    except _Failed as failed:
        if failed.backup is not None:
            # SQLite committed each DDL statement as it ran: put the copy back.
            engine.dispose()
            restore_sqlite(failed.backup, sqlite_path(engine))
        raise SchemaError(
            f"Uppgraderingen av databasen från version {failed.revision or 'tom'} misslyckades "
            f"({type(failed.cause).__name__}: {failed.cause}). Databasen är som före "
            "uppgraderingen"
            + (f" (återställd från {failed.backup})" if failed.backup else "")
            + "; kontakta den som driftar Bevakning."
        ) from failed.cause


def _upgrade(
    engine: Engine,
    connection: Connection,
    dry_run: bool,
    may_migrate: bool,
    backup_dir: Path | None,
    now: datetime | None,
    script_location: str,
) -> Upgrade:
    pos = position(connection, script_location)
    reason = refusal(pos)
    if reason:
        raise SchemaError(reason)
    result = Upgrade(before=pos, after=pos.revision, ran=list(pos.pending), dry_run=dry_run)
    if dry_run or not result.changes:
        return result
    if pos.standing is not Standing.EMPTY and not may_migrate:
        raise SchemaError(behind_message(pos))
    backup = None
    if sqlite_path(engine) is not None and pos.standing is not Standing.EMPTY:
        backup = _backup_before(engine, pos, backup_dir, now or datetime.now())
    result.backup = backup
    try:
        if pos.standing is Standing.UNVERSIONED:
            _stamp(connection, FIRST, script_location)
        _run(connection, pos.head, script_location)
    except Exception as exc:
        log.exception("schema upgrade from %s failed", pos.revision)
        raise _Failed(exc, pos.revision, backup) from exc
    result.after = pos.head
    log.info("schema upgraded from %s to %s", pos.revision, pos.head)
    return result


@contextmanager
def _exclusive(engine: Engine, file_lock: bool) -> Iterator[Connection]:
    """A connection in a transaction that no other initialiser holds at the same time."""
    from filelock import FileLock

    path = sqlite_path(engine)
    lock = FileLock(str(path) + ".init-lock", timeout=600) if path and file_lock else None
    if lock is not None:
        lock.acquire()
    try:
        with engine.connect() as connection, connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(MIGRATE_LOCK)))
            yield connection
    finally:
        if lock is not None:
            lock.release()


def _backup_before(engine: Engine, pos: Position, folder: Path | None, now: datetime) -> Path:
    database = sqlite_path(engine)
    assert database is not None
    target_dir = folder or database.parent
    stem = f"{database.stem}.fore-{pos.revision or 'version'}.{now:%Y%m%dT%H%M%S}"
    target, n = target_dir / f"{stem}.db", 1
    while target.exists():  # never write over an earlier copy
        n += 1
        target = target_dir / f"{stem}-{n}.db"
    return backup_sqlite(engine, target)


def current(engine: Engine, script_location: str = SCRIPTS) -> Position:
    with engine.connect() as connection:
        return position(connection, script_location)


def behind_message(pos: Position) -> str:
    return (
        f"Databasen har schemaversion {pos.revision or 'från första versionen'} men den här "
        f"versionen av Bevakning behöver {pos.head}. Ta en säkerhetskopia och kör "
        "`bevakning migrate` (se README, Uppgradera)."
    )
