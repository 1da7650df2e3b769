"""People leave and arrive: `bevakning reload` hands open occurrences to the successor."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.db import transaction
from service.models import AuditEntry, Item, Occurrence, Person, Plan
from service.occurrences import DONE, OPEN
from service.problems import InputError
from tests.support import ROOT, at, folder_app, make_config

OLD = "linnea.forsberg@example.se"


@pytest.fixture
def app_with_own_directory(db_url: str, tmp_path: Path) -> App:
    shutil.copy(ROOT / "plans" / "directory.toml", tmp_path / "directory.toml")
    instance = App(
        make_config(db_url, tmp_path, plans={"directory": str(tmp_path / "directory.toml")})
    )
    instance.init(at("2024-11-01"))
    return instance


def replace_person(path: Path, old: str, new_name: str, new_email: str) -> None:
    text = path.read_text(encoding="utf-8")
    start = text.index(f'email = "{old}"')
    name_at = text.rindex("name = ", 0, start)
    line_end = text.index("\n", name_at)
    text = text[:name_at] + f'name = "{new_name}"' + text[line_end:]
    path.write_text(text.replace(f'email = "{old}"', f'email = "{new_email}"'), encoding="utf-8")


def open_and_done(app: App, email: str) -> tuple[list[Occurrence], list[Occurrence]]:
    with app.sessions() as session:
        person = session.scalar(select(Person).where(Person.email == email))
        assert person is not None
        rows = session.scalars(select(Occurrence).where(Occurrence.person_id == person.id)).all()
        return [o for o in rows if o.status == OPEN], [o for o in rows if o.status == DONE]


def test_a_successor_inherits_the_open_occurrences_and_old_links_stop_working(
    app_with_own_directory: App, tmp_path: Path
) -> None:
    app = app_with_own_directory
    now = at("2024-11-04")
    before_open, _ = open_and_done(app, OLD)
    assert before_open
    with transaction(app.sessions) as session:
        first = session.get(Occurrence, before_open[0].id)
        assert first is not None
        first.status, first.done_on, first.done_at = DONE, now.date(), now
        done_id = first.id
    replace_person(tmp_path / "directory.toml", OLD, "Nora Nyström", "nora.nystrom@example.se")

    summary = app.reload(at("2024-11-05"))

    assert summary["added"] == ["nora.nystrom@example.se"] and summary["left"] == [OLD]
    moved = {m.id for m in before_open[1:]}
    new_open, _ = open_and_done(app, "nora.nystrom@example.se")
    assert moved <= {o.id for o in new_open}
    assert all(o.version == 2 for o in new_open if o.id in moved)
    with app.sessions() as session:
        kept = session.get(Occurrence, done_id)
        old = session.scalar(select(Person).where(Person.email == OLD))
        assert kept is not None and old is not None
        assert kept.person_id == old.id and kept.status == DONE  # history stays
        assert not old.active
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "occurrence.reassigned")
        ).all()
        assert {a.occurrence_id for a in audits} == moved
    # The successor has one occurrence per window, never a copy beside the inherited one.
    with app.sessions() as session:
        nora = session.scalar(select(Person).where(Person.email == "nora.nystrom@example.se"))
        assert nora is not None
        keys = session.execute(
            select(Occurrence.item_id, Occurrence.window_key).where(
                Occurrence.person_id == nora.id, Occurrence.status == OPEN
            )
        ).all()
        assert len(keys) == len(set(keys))


def test_a_dry_run_reports_and_changes_nothing(app_with_own_directory: App, tmp_path: Path) -> None:
    app = app_with_own_directory
    replace_person(tmp_path / "directory.toml", OLD, "Nora Nyström", "nora.nystrom@example.se")
    before, _ = open_and_done(app, OLD)

    summary = app.reload(at("2024-11-05"), dry_run=True)

    assert summary["left"] == [OLD] and summary["reassigned"]
    after, _ = open_and_done(app, OLD)
    assert [o.id for o in after] == [o.id for o in before]
    with app.sessions() as session:
        assert (
            session.scalar(select(Person).where(Person.email == "nora.nystrom@example.se")) is None
        )


def test_a_broken_directory_changes_nothing(app_with_own_directory: App, tmp_path: Path) -> None:
    app = app_with_own_directory
    path = tmp_path / "directory.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('role = "Enhetschef"', 'role = "Kanslichef"', 1),
        encoding="utf-8",
    )
    before, _ = open_and_done(app, OLD)
    with pytest.raises(InputError) as info:
        app.reload(at("2024-11-05"))
    assert "directory.toml" in str(info.value) and "Kanslichef" in str(info.value)
    after, _ = open_and_done(app, OLD)
    assert [o.id for o in after] == [o.id for o in before]


@pytest.mark.parametrize(
    ("old", "new_name", "new_email", "other"),
    [
        # Two administrations, two förvaltningschefer: BUF's new head takes over, not Eva.
        (
            "ulrika.falk@example.se",
            "Karin Kvist",
            "karin.kvist@example.se",
            "eva.ekstrom@example.se",
        ),
        # Each administration has its own utvecklingschef too.
        (
            "nils.rydberg@example.se",
            "Nora Nord",
            "nora.nord@example.se",
            "johan.lindqvist@example.se",
        ),
    ],
)
def test_a_one_person_role_passes_to_the_new_holder_in_the_same_administration(
    app_with_own_directory: App, tmp_path: Path, old: str, new_name: str, new_email: str, other: str
) -> None:
    app = app_with_own_directory
    before_open, _ = open_and_done(app, old)
    others_before, _ = open_and_done(app, other)
    assert before_open
    replace_person(tmp_path / "directory.toml", old, new_name, new_email)

    app.reload(at("2024-11-05"))

    new_open, _ = open_and_done(app, new_email)
    assert {o.id for o in before_open} <= {o.id for o in new_open}
    assert open_and_done(app, old)[0] == []
    others_after, _ = open_and_done(app, other)
    assert {o.id for o in others_after} == {o.id for o in others_before}


KOMMUN_PLAN = """
[plan]
id = "kommun"
title = "Kommunens plan"
start = 2024-08-01
end = 2025-12-31

[[area]]
title = "Område"

[[area.item]]
number = "1"
title = "Samtliga förvaltningschefer redovisar arbetet för kommunens ledningsgrupp."
responsible = ["Samtliga förvaltningschefer"]
deadline = "December 2024"
"""


def test_a_head_who_leaves_hands_a_municipality_wide_item_to_the_next_head_of_the_same_one(
    db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "kommun"
    shutil.copytree(ROOT / "plans", folder)
    (folder / "kommun.toml").write_text(KOMMUN_PLAN, encoding="utf-8")
    app = folder_app(db_url, tmp_path, folder)
    try:
        app.init(at("2024-11-01"))
        eva_before, _ = open_and_done(app, "eva.ekstrom@example.se")
        replace_person(
            folder / "directory.toml",
            "ulrika.falk@example.se",
            "Karin Kvist",
            "karin.kvist@example.se",
        )
        # Gone from the file altogether: which administration she headed is still known.
        app.reload(at("2024-11-05"))
        with app.sessions() as session:
            karins = session.scalars(
                select(Item.title)
                .join(Occurrence, Occurrence.item_id == Item.id)
                .join(Person, Occurrence.person_id == Person.id)
                .join(Plan, Item.plan_id == Plan.id)
                .where(Person.email == "karin.kvist@example.se", Plan.slug == "kommun")
            ).all()
        assert karins == [
            "Samtliga förvaltningschefer redovisar arbetet för kommunens ledningsgrupp."
        ]
        assert open_and_done(app, "ulrika.falk@example.se")[0] == []
        eva_after, _ = open_and_done(app, "eva.ekstrom@example.se")
        assert {o.id for o in eva_after} == {o.id for o in eva_before}
    finally:
        app.engine.dispose()
