"""The inbox's store: the revision that adds the claims keeps every row of an older store,
and a claim is what makes a mail be handled once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from service import schema
from tests.upgrades import columns_of, load_release_0_1, snapshot

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_the_inbox_revision_keeps_every_row_and_adds_the_claims(engine: Engine) -> None:
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)

    schema.upgrade(engine, now=NOW)

    assert snapshot(engine, legacy) == before
    with engine.connect() as connection:
        assert "inbox_messages" in inspect(connection).get_table_names()
        outbox_id = connection.execute(text("SELECT min(id) FROM outbox")).scalar()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO inbox_messages (message_id, received_at, sender, subject, outcome,"
                " detail, outbox_id, processed_by) VALUES ('a@example.se', :at, '', '',"
                " 'applied', '{}', :outbox, '')"
            ),
            {"at": NOW.replace(tzinfo=None), "outbox": outbox_id},
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO inbox_messages (message_id, received_at, sender, subject, outcome,"
                " detail, processed_by) VALUES ('a@example.se', :at, '', '', 'applied', '{}', '')"
            ),
            {"at": NOW.replace(tzinfo=None)},
        )
