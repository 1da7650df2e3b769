"""Stores as earlier releases left them, and a check that an upgrade kept every row.

Every schema revision's test uses these: load a store holding real rows, upgrade it, compare.
"""

from __future__ import annotations

import gzip
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, insert, inspect, select, text
from sqlalchemy.pool import StaticPool

RELEASE_0_1 = Path(__file__).parent / "fixtures" / "release_0_1"
Rows = dict[str, list[tuple[Any, ...]]]


def load_release_0_1(engine: Engine) -> None:
    """Fill an empty store with the first release's tables and rows."""
    dump = gzip.decompress((RELEASE_0_1 / "store.sqlite.sql.gz").read_bytes()).decode("utf-8")
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        assert database, "a SQLite file store"
        with closing(sqlite3.connect(database)) as connection:
            connection.executescript(dump)
        return
    # PostgreSQL: that release's DDL, then the same rows, read back through a scratch SQLite.
    source = create_engine("sqlite://", poolclass=StaticPool)
    with source.connect() as connection:
        connection.connection.driver_connection.executescript(dump)  # type: ignore[union-attr]
        legacy = MetaData()
        legacy.reflect(connection)
        data = {
            t.name: [dict(r._mapping) for r in connection.execute(select(t))]
            for t in legacy.sorted_tables
        }
    ddl = (RELEASE_0_1 / "schema.postgresql.sql").read_text(encoding="utf-8")
    with engine.begin() as connection:
        for statement in filter(str.strip, ddl.split(";")):
            connection.execute(text(statement))
        target = MetaData()
        target.reflect(connection)
        for table in target.sorted_tables:
            if data.get(table.name):
                connection.execute(insert(table), data[table.name])
        for table in target.sorted_tables:  # serial sequences past the copied ids
            if "id" in table.c and data.get(table.name):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )


def columns_of(engine: Engine) -> dict[str, list[str]]:
    """Table → column names of the store (without Alembic's own table)."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        return {
            name: [c["name"] for c in inspector.get_columns(name)]
            for name in inspector.get_table_names()
            if name != "alembic_version"
        }


def snapshot(engine: Engine, columns: dict[str, list[str]]) -> Rows:
    """Every row of the given tables and columns, in primary-key order."""
    with engine.connect() as connection:
        meta = MetaData()
        meta.reflect(connection, only=list(columns))
        rows: Rows = {}
        for name, names in columns.items():
            table = meta.tables[name]
            order = list(table.primary_key.columns) or [table.c[names[0]]]
            query = select(*(table.c[n] for n in names)).order_by(*order)
            rows[name] = [tuple(r) for r in connection.execute(query)]
        return rows
