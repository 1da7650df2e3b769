"""Copies of a SQLite store, taken with SQLite's online backup API: consistent even while the
service writes, because SQLite copies pages under its own locks. (PostgreSQL has pg_dump; see
README, Uppgradera.)"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine


def sqlite_path(engine: Engine) -> Path | None:
    """The file behind a SQLite engine; None for PostgreSQL or an in-memory store."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database)


def backup_sqlite(engine: Engine, target: Path) -> Path:
    """Copy the store into `target` (a new file); returns it."""
    source = sqlite_path(engine)
    if source is None:
        raise ValueError("only a SQLite file store can be backed up this way")
    if target.exists():
        raise FileExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target


def restore_sqlite(backup: Path, database: Path | None) -> None:
    """Write a backup's pages over the store (through SQLite, so its WAL stays consistent)."""
    if database is None:
        raise ValueError("only a SQLite file store can be restored this way")
    with closing(sqlite3.connect(backup)) as src, closing(sqlite3.connect(database)) as dst:
        src.backup(dst)
