"""The revision that adds calendars per administration keeps an earlier store's terms and
meetings, which then read as the default calendar, and the upgraded store takes sections."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from service import schema
from service.calendar import NAMND, AptRule, load_calendars, store_calendars
from service.db import session_factory, transaction
from tests.support import d
from tests.upgrades import columns_of, load_release_0_1, snapshot

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_an_earlier_store_upgrades_to_the_default_calendar_and_takes_sections(
    engine: Engine, tmp_path: Path
) -> None:
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)
    with engine.connect() as connection:
        committee_days = connection.execute(
            text('SELECT "on" FROM meetings WHERE calendar = \'nämnd\' ORDER BY "on"')
        ).scalars()
        # Raw rows: text on SQLite, dates on PostgreSQL.
        namnd = tuple(d(str(day)[:10]) for day in committee_days)
    assert before["terms"] and namnd, "the fixture holds terms and committee meetings"

    schema.upgrade(engine, now=NOW)

    assert {"administration_calendars", "administration_terms", "administration_meetings"} <= set(
        columns_of(engine)
    )
    assert snapshot(engine, legacy) == before
    with Session(engine) as session:
        calendars = load_calendars(session, committee="socialnämnden")
    assert calendars.administrations == {}
    assert calendars.of("BUF") is calendars  # no section yet: everyone on the default
    assert calendars.meeting_dates(NAMND) == namnd
    assert [t.name for t in calendars.terms] == sorted(
        (row[0] for row in before["terms"]), key=lambda name: calendars.term(name).start
    )

    path = tmp_path / "calendars.toml"
    path.write_text(
        '[administration.BUF]\ncommittee = "Barn- och utbildningsnämnden"\n'
        '[administration.BUF.meetings]\n"nämnd" = [2024-09-18]\n',
        encoding="utf-8",
    )
    with transaction(session_factory(engine)) as session:
        store_calendars(
            session,
            path,
            "calendars.toml",
            default_rule=AptRule(),
            units={},
            administrations=["SOC", "BUF"],
            span=(d("2024-01-01"), d("2024-12-31")),
        )
    with Session(engine) as session:
        buf = load_calendars(session).of("BUF")
    assert buf.committee == "Barn- och utbildningsnämnden"
    assert buf.meeting_dates(NAMND) == (d("2024-09-18"),)
