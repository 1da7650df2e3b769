"""The revision that adds preferences and absences keeps every row of a store that has them
not yet, and the new tables take a person's settings at once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service import schema
from service.models import Absence, Person, Preference
from tests.upgrades import columns_of, load_release_0_1, snapshot

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_upgrading_to_preferences_keeps_every_row_and_the_new_tables_work(
    engine: Engine,
) -> None:
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)
    assert before["people"], "the fixture holds people"

    schema.upgrade(engine, now=NOW)

    assert schema.current(engine).revision == schema.head()
    assert snapshot(engine, legacy) == before
    with Session(engine) as session, session.begin():
        assert session.scalars(select(Preference)).all() == []
        person_id = session.scalars(select(Person.id).order_by(Person.id)).first()
        assert person_id is not None
        session.add(Preference(person_id=person_id, bundle_weekday=0, updated_at=NOW))
        session.add(
            Absence(
                person_id=person_id,
                starts=date(2026, 12, 1),
                ends=date(2026, 12, 5),
                stand_in_id=None,
                created_at=NOW,
            )
        )
    with Session(engine) as session:
        stored = session.get(Preference, person_id)
        assert stored is not None and stored.bundle_weekday == 0
        assert len(session.scalars(select(Absence)).all()) == 1
