"""The revision that gives items their extra columns keeps every item of an earlier store."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from service import schema
from tests.upgrades import columns_of, load_release_0_1, snapshot

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_items_upgrade_intact_and_without_extra_columns(engine: Engine) -> None:
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)
    assert before["items"], "the fixture holds items"

    schema.upgrade(engine, now=NOW)

    assert "extra" in columns_of(engine)["items"]
    assert snapshot(engine, legacy) == before
    with engine.connect() as connection:
        extras = connection.execute(text("SELECT extra FROM items")).scalars().all()
    assert extras and all(e is None for e in extras)
