from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.app import App
from service.db import make_engine, transaction
from service.models import AuditEntry, Item, Occurrence, Person, Plan
from service.occurrences import DONE
from service.problems import InputError
from tests.support import at


def count(app: App, model: type) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_init_loads_the_bundled_plans_directory_and_calendars(app: App) -> None:
    results = app.init(at("2024-11-01"))
    assert {r.plan for r in results} == {
        "tillitsfull-dialog",
        "starka-enhetschefer",
        "utbildning-tillitsfull-dialog",
    }
    assert count(app, Plan) == 3
    assert count(app, Person) == 29 + 1 + 15  # SOC, the kommundirektör, BUF
    assert count(app, Occurrence) > 0


def test_init_twice_changes_nothing(app: App) -> None:
    app.init(at("2024-11-01"))
    before = (count(app, Plan), count(app, Item), count(app, Occurrence), count(app, AuditEntry))
    assert app.init(at("2024-11-02")) == []
    assert (
        count(app, Plan),
        count(app, Item),
        count(app, Occurrence),
        count(app, AuditEntry),
    ) == before


def test_a_bad_plan_changes_nothing_and_names_file_area_item_and_text(
    app: App, tmp_path: Path
) -> None:
    app.init(at("2024-11-01"))
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[plan]\nid = "ny-plan"\ntitle = "Ny"\nstart = 2025-01-01\nend = 2025-12-31\n'
        '[[area]]\ntitle = "Område A"\n'
        '[[area.item]]\nnumber = "1"\ntitle = "Gör något"\nresponsible = ["Enhetschef"]\n'
        'deadline = "December 2025"\n'
        '[[area.item]]\nnumber = "2"\ntitle = "Gör mer"\nresponsible = ["Enhetschef"]\n'
        'deadline = "snart"\n',
        encoding="utf-8",
    )
    before = (count(app, Plan), count(app, Item))
    with transaction(app.sessions) as session, pytest.raises(InputError) as info:
        app.import_plan(session, bad, at("2024-11-01"))
    message = str(info.value)
    assert "bad.toml" in message and "område 1, aktivitet 2" in message and "'snart'" in message
    assert "Klart när?" in message
    assert (count(app, Plan), count(app, Item)) == before


def test_reimport_keeps_done_records(app: App) -> None:
    now = at("2024-11-01")
    app.init(now)
    with transaction(app.sessions) as session:
        occ = session.scalars(select(Occurrence).order_by(Occurrence.id)).first()
        assert occ is not None
        occ.status, occ.done_on, occ.done_at, occ.comment = DONE, now.date(), now, "Klart!"
        done_id = occ.id
    plan_file = app.config.path("plans", "folder") / "tillitsfull-dialog.toml"
    with transaction(app.sessions) as session:
        result = app.import_plan(session, plan_file, at("2024-11-02"))
        app.sync(session, at("2024-11-02"))
    assert result.items_added == 0 and not result.created
    with app.sessions() as session:
        kept = session.get(Occurrence, done_id)
        assert kept is not None and kept.status == DONE and kept.comment == "Klart!"


def test_an_embedded_store_is_read_through_a_memory_map_and_waits_for_writers(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}", lock_wait=7)
    with engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA mmap_size").scalar() > 1_000_000_000
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA busy_timeout").scalar() == 7000
    engine.dispose()
