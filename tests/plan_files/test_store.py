"""What the readers accept stores on SQLite and PostgreSQL alike: extra columns, texts at the
limits of what is allowed, and a re-import that changes them (done records stay)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from service.app import App
from service.db import transaction
from service.models import Item, Occurrence
from tests.plan_files.builders import GOOD_TOML, HEADER, write, xlsx_bytes

NOW = datetime(2024, 11, 4, 8, 0, tzinfo=UTC)


def import_file(app: App, path: Path) -> None:
    with transaction(app.sessions) as session:
        app.import_plan(session, path, NOW)
        app.sync(session, NOW)


def test_extra_columns_are_stored_and_follow_a_re_import(app: App, tmp_path: Path) -> None:
    app.init(NOW)
    header = [*HEADER, "Samverkanspartner", "Status"]
    rows = [
        ["Område ett", "1. Studiebesök.", "Förvaltningschef", "Maj 2026", "Regionen", "Ej påbörjad"]
    ]
    path = write(tmp_path, "prov.xlsx", xlsx_bytes(rows=rows, header=header))
    import_file(app, path)
    with app.sessions() as session:
        item = session.scalars(select(Item).where(Item.title == "Studiebesök.")).one()
        assert item.extra == {"Samverkanspartner": "Regionen", "Status": "Ej påbörjad"}
        occ = session.scalars(select(Occurrence).where(Occurrence.item_id == item.id)).first()
        assert occ is not None
    with transaction(app.sessions) as session:
        done = session.get(Occurrence, occ.id)
        assert done is not None
        done.status, done.done_on, done.comment = "done", NOW.date(), "Klart"

    rows[0][5] = "Klar"
    write(tmp_path, "prov.xlsx", xlsx_bytes(rows=rows, header=header))
    import_file(app, path)
    with app.sessions() as session:
        item = session.scalars(select(Item).where(Item.title == "Studiebesök.")).one()
        assert item.extra == {"Samverkanspartner": "Regionen", "Status": "Klar"}
        kept = session.get(Occurrence, occ.id)
        assert kept is not None and (kept.status, kept.comment) == ("done", "Klart")


def test_texts_the_readers_accept_store_on_every_database(app: App, tmp_path: Path) -> None:
    app.init(NOW)
    # TOML escapes: a right-to-left mark, Hebrew, a tab and a line break, then a long text.
    title = r"Ändå: ☃ 𝔘nicode, \u200f\u05e9\u05dc\u05d5\u05dd, tab\there och rad\nbrytning"
    text = GOOD_TOML.replace('"Aktiviteten"', f'"{title} {"x" * 200}"')
    text = text.replace('"Handlingsplan för prov"', '"' + "P" * 300 + '"')
    import_file(app, write(tmp_path, "unicode.toml", text))
    with app.sessions() as session:
        item = session.scalars(select(Item).where(Item.title.like("Ändå%"))).one()
        assert "☃ 𝔘nicode, \u200f\u05e9" in item.title and "tab here och rad brytning" in item.title
        assert item.extra == {}
