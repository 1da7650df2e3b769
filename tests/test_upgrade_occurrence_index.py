"""The revisions that index occurrences for the digest keep every row of an earlier store and
leave one index, (item_id, status, done_on): a head's open, done and deferred occurrences, and
the done ones of a given week."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect

from service import schema
from tests.upgrades import columns_of, load_release_0_1, snapshot

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_occurrences_upgrade_intact_with_the_digests_item_status_and_done_on_index(
    engine: Engine,
) -> None:
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
    assert indexes["ix_occurrences_item_status_done"] == ["item_id", "status", "done_on"]
    # Its first two columns are the earlier index, which would only cost every write twice.
    assert "ix_occurrences_item_status" not in indexes
