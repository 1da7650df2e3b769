"""The revision that indexes occurrences by item and status keeps every row of an earlier store
and gives the digest its index."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect

from service import schema
from tests.upgrades import columns_of, load_release_0_1, snapshot

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_occurrences_upgrade_intact_with_their_item_and_status_index(engine: Engine) -> None:
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)
    assert before["occurrences"], "the fixture holds occurrences"

    schema.upgrade(engine, now=NOW)

    assert snapshot(engine, legacy) == before
    with engine.connect() as connection:
        indexes = {
            i["name"]: i["column_names"] for i in inspect(connection).get_indexes("occurrences")
        }
    assert indexes["ix_occurrences_item_status"] == ["item_id", "status"]
