"""`bevakning directory import`: people from the HR export the municipality already has."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.completion import mark_done
from service.config import ConfigError
from service.db import transaction
from service.directory import load_directory
from service.models import AuditEntry, Occurrence, Person
from service.occurrences import DONE, OPEN
from service.people.hr_file import read_people_file
from service.people.roster import SyncRefused
from service.people.update import update_people
from service.problems import InputError
from tests.cli_support import Cli
from tests.municipality import ONE_ADMINISTRATION, plan_text, town_app
from tests.people.exports import (
    HEAD,
    HEADER,
    NEW_HEAD,
    assert_the_new_head_follows_buf,
    bundled_directory,
    export_rows,
    replace_row,
    write_csv,
    write_xlsx,
)
from tests.support import at

LEAVER = "linnea.forsberg@example.se"  # enhetschef of Hemtjänst norr
NEWCOMER = "nora.nilsson@example.se"
START = at("2024-11-01")


def import_file(app: App, path: Path, *, dry_run: bool = False, new_roles: bool = False) -> dict:
    return update_people(
        app,
        lambda places: read_people_file(path, path.name, places, new_roles=new_roles),
        at("2024-11-04"),
        actor="directory-import",
        dry_run=dry_run,
    )


def people(app: App) -> dict[str, Person]:
    with app.sessions() as session:
        return {p.email: p for p in session.scalars(select(Person))}


def test_an_unchanged_export_changes_nothing(app: App, tmp_path: Path) -> None:
    app.init(START)
    summary = import_file(app, write_csv(tmp_path / "hr.csv", export_rows(bundled_directory())))
    assert summary["added"] == summary["changed"] == summary["deactivated"] == []
    assert summary["people"] == len(bundled_directory().people)


def test_a_successor_in_the_same_unit_takes_over_open_occurrences_and_done_records_stay(
    app: App, tmp_path: Path
) -> None:
    app.init(START)
    with transaction(app.sessions) as session:
        leaver = session.scalars(select(Person).where(Person.email == LEAVER)).one()
        held = list(session.scalars(select(Occurrence).where(Occurrence.person_id == leaver.id)))
        done_id = held[0].id
        mark_done(session, done_id, by=leaver, on=START.date(), via="web", now=START)
        open_ids = {o.id for o in held if o.id != done_id and o.status == OPEN}
    assert open_ids
    rows = replace_row(
        export_rows(bundled_directory()), LEAVER, name="Nora Nilsson", email=NEWCOMER
    )
    summary = import_file(app, write_csv(tmp_path / "hr.csv", rows))

    assert [p["email"] for p in summary["added"]] == [NEWCOMER]
    assert summary["deactivated"] == [LEAVER]
    stored = people(app)
    assert stored[LEAVER].active is False  # never deleted
    with app.sessions() as session:
        done = session.get(Occurrence, done_id)
        assert done is not None and done.status == DONE
        assert done.person_id == stored[LEAVER].id
        moved = {
            o.id: o for o in session.scalars(select(Occurrence).where(Occurrence.id.in_(open_ids)))
        }
        assert {o.person_id for o in moved.values()} == {stored[NEWCOMER].id}
        actions = [
            (e.action, e.detail.get("email"))
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.actor == "directory-import")
            )
        ]
    assert ("person.added", NEWCOMER) in actions
    assert ("person.deactivated", LEAVER) in actions


def test_a_dry_run_shows_the_diff_and_changes_nothing(app: App, tmp_path: Path) -> None:
    app.init(START)
    rows = replace_row(export_rows(bundled_directory()), LEAVER, active="Nej")
    before = {e: (p.active, p.role) for e, p in people(app).items()}
    summary = import_file(app, write_csv(tmp_path / "hr.csv", rows), dry_run=True)
    assert summary["deactivated"] == [LEAVER]
    assert {e: (p.active, p.role) for e, p in people(app).items()} == before


def test_a_changed_title_and_manager_show_as_changes(app: App, tmp_path: Path) -> None:
    app.init(START)
    rows = replace_row(
        export_rows(bundled_directory()),
        LEAVER,
        title="Verksamhetschef",
        area="HSV",
        unit="",
    )
    rows = [r for r in rows if r[1] != "karin.aberg@example.se"]  # the HSV head who left
    summary = import_file(app, write_csv(tmp_path / "hr.csv", rows))
    changes = {c["email"]: c["changes"] for c in summary["changed"]}
    change = {"changes": changes.pop(LEAVER)}
    # The HSV unit heads now escalate to the new verksamhetschef.
    assert changes and all(
        c == {"reports_to": ["karin.aberg@example.se", LEAVER]} for c in changes.values()
    )
    assert summary["deactivated"] == ["karin.aberg@example.se"]
    assert change["changes"]["role"] == ["enhetschef", "verksamhetschef"]
    assert change["changes"]["division"] == ["ÄO", "HSV"]
    assert people(app)[LEAVER].unit_code is None


def test_someone_promoted_hands_her_units_items_to_the_new_enhetschef(
    app: App, tmp_path: Path
) -> None:
    # Linnea leaves Hemtjänst norr to be verksamhetschef of HSV; Nora takes her unit.
    app.init(START)
    rows = replace_row(
        export_rows(bundled_directory()), LEAVER, title="Verksamhetschef", area="HSV", unit=""
    )
    rows = [r for r in rows if r[1] != "karin.aberg@example.se"]  # the HSV head who left
    rows.append(["Nora Nilsson", "nora@example.se", "Enhetschef", "Hemtjänst norr", "", "", "Ja"])
    with app.sessions() as session:
        linnea = people(app)[LEAVER].id
        held = {
            o.id: (o.item_id, o.window_key)
            for o in session.scalars(
                select(Occurrence).where(Occurrence.person_id == linnea, Occurrence.status == OPEN)
            )
        }

    summary = import_file(app, write_csv(tmp_path / "hr.csv", rows))

    handed = {r["occurrence"] for r in summary["reassigned"] if r["from"] == LEAVER}
    assert handed and {r["to"] for r in summary["reassigned"] if r["from"] == LEAVER} == {
        "nora@example.se"
    }
    with app.sessions() as session:
        nora = people(app)["nora@example.se"].id
        now_hers = session.scalars(
            select(Occurrence).where(Occurrence.person_id == nora, Occurrence.status == OPEN)
        ).all()
        still_linneas = set(
            session.scalars(
                select(Occurrence.id).where(Occurrence.person_id == linnea, Occurrence.id.in_(held))
            )
        )
    # Each of Linnea's open items went to Nora, unless her new role still holds it; Nora has
    # each window once (no fresh copy beside the one handed over).
    assert handed | still_linneas == set(held)
    windows = [(o.item_id, o.window_key) for o in now_hers]
    assert len(windows) == len(set(windows))
    assert handed <= {o.id for o in now_hers}


def test_it_refuses_a_run_that_would_deactivate_too_many(app: App, tmp_path: Path) -> None:
    app.init(START)
    rows = export_rows(bundled_directory())[:10]  # a half export
    with pytest.raises(SyncRefused, match="max_deactivate_share"):
        import_file(app, write_csv(tmp_path / "hr.csv", rows))
    assert all(p.active for p in people(app).values())


@pytest.mark.parametrize("written", [20, -0.1, "tjugo"])
def test_a_safety_limit_that_is_no_share_is_refused_before_anything_changes(
    app: App, tmp_path: Path, written: object
) -> None:
    app.init(START)
    limited = App(app.config.with_overrides({"directory": {"max_deactivate_share": written}}))
    rows = export_rows(bundled_directory())[:10]  # a half export: 20 would have let it through
    with pytest.raises(ConfigError, match="ange en andel mellan 0 och 1"):
        import_file(limited, write_csv(tmp_path / "hr.csv", rows))
    assert all(p.active for p in people(app).values())


def test_a_rektor_without_a_unit_is_an_error_with_row_and_cell(
    sqlite_app: App, tmp_path: Path
) -> None:
    # Rektor is a unit's role in the bundled directory, as Enhetschef is.
    sqlite_app.init(START)
    rows = export_rows(bundled_directory())
    rows.append(["Rut Rydell", "rut@example.se", "Rektor", "", "", "", "Ja"])
    with pytest.raises(InputError) as caught:
        import_file(sqlite_app, write_csv(tmp_path / "hr.csv", rows))
    (problem,) = caught.value.problems
    assert problem.where == f"rad {len(rows) + 1}, kolumn Befattning (cell C{len(rows) + 1})"
    assert problem.message == "en rektor behöver en Enhet."
    assert "rut@example.se" not in people(sqlite_app)


def test_in_a_store_of_one_administration_a_new_head_takes_over_her_predecessors_items(
    tmp_path: Path,
) -> None:
    # No one names the administration: there is only one, and the new head is in it.
    town = town_app(
        f"sqlite:///{tmp_path / 'soc.db'}",
        tmp_path,
        directory_toml=ONE_ADMINISTRATION,
        plan_files={"soc": plan_text("soc", "", '["Förvaltningschef"]')},
        directory={"max_deactivate_share": 0.5},
    )
    town.init(START)
    rows = [
        ["Sara Ny", "sara@example.se", "Förvaltningschef", "", "", "", "Ja"],
        ["Helena Sol", "helena@example.se", "Enhetschef", "Solgården", "", "", "Ja"],
        ["Eva Social", "eva@example.se", "Förvaltningschef", "", "", "", "Nej"],
    ]

    summary = import_file(town, write_csv(tmp_path / "hr.csv", rows))

    assert [(r["from"], r["to"]) for r in summary["reassigned"]] == [
        ("eva@example.se", "sara@example.se")
    ]
    with town.sessions() as session:
        directory = load_directory(session)
        sara, helena = (
            directory.by_email("sara@example.se"),
            directory.by_email("helena@example.se"),
        )
        assert sara is not None and helena is not None
        assert directory.administration_of(sara) == "SOC"
        manager = directory.manager_of(helena)  # escalation reaches the new head
        assert manager is not None and manager.email == "sara@example.se"


def test_a_new_area_longer_than_the_store_keeps_is_an_error_with_row_and_cell(
    app: App, tmp_path: Path
) -> None:
    # A new area takes its name as its code, which the store keeps to 40 characters.
    app.init(START)
    rows = export_rows(bundled_directory())
    area = "Individ- och familjeomsorg, myndighetsutövning"
    rows.append(["Rut Rydell", "rut@example.se", "Verksamhetschef", "", area, "", "Ja"])
    with pytest.raises(InputError) as caught:
        import_file(app, write_csv(tmp_path / "hr.csv", rows))
    (problem,) = caught.value.problems
    assert problem.where == f"rad {len(rows) + 1}, kolumn Verksamhetsområde (cell E{len(rows) + 1})"
    assert problem.message == (
        f"ett nytt verksamhetsområdes namn har {len(area)} tecken; Bevakning sparar högst 40. "
        "Korta det i källan."
    )
    assert "rut@example.se" not in people(app)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("åsa.ek@example.se", "'åsa.ek@example.se' har tecken som e-post inte bär"),
        ("asa ek@example.se", "'asa ek@example.se' är ingen e-postadress"),
        ("asa.ek@", "'asa.ek@' är ingen e-postadress"),
        ("Åsa <asa@example.se>", "'Åsa <asa@example.se>' är ingen e-postadress"),
    ],
)
def test_an_address_no_mail_can_carry_is_an_error_with_row_and_cell(
    sqlite_app: App, tmp_path: Path, address: str, message: str
) -> None:
    # An "å" in an address could not be encoded and stopped every mail behind it.
    sqlite_app.init(START)
    rows = export_rows(bundled_directory())
    rows.append(["Åsa Ek", address, "Enhetschef", "Solgården", "", "", "Ja"])
    with pytest.raises(InputError) as caught:
        import_file(sqlite_app, write_csv(tmp_path / "hr.csv", rows))
    (problem,) = caught.value.problems
    assert problem.where == f"rad {len(rows) + 1}, kolumn E-post (cell B{len(rows) + 1})"
    assert problem.message.startswith(message)


def test_unknown_roles_are_errors_with_row_and_cell_or_created_with_new_roles(
    sqlite_app: App, tmp_path: Path
) -> None:
    sqlite_app.init(START)
    rows = export_rows(bundled_directory())
    # The bundled directory declares Rektor and Förskolechef, not this one.
    rows.append(
        ["Rut Rydell", "rut@example.se", "Kulturskolechef", "Kulturskolan", "Kultur", "", "Ja"]
    )
    path = write_xlsx(tmp_path / "hr.xlsx", rows)
    with pytest.raises(InputError) as caught:
        import_file(sqlite_app, path)
    (problem,) = caught.value.problems
    assert problem.where == f"rad {len(rows) + 1}, kolumn Befattning (cell C{len(rows) + 1})"
    assert "--new-roles" in problem.message
    assert "rut@example.se" not in people(sqlite_app)

    summary = import_file(sqlite_app, path, new_roles=True)
    assert summary["new_roles"] == ["kulturskolechef"]
    assert summary["new_units"] == ["Kulturskolan"] and summary["new_areas"] == ["Kultur"]
    rut = people(sqlite_app)["rut@example.se"]
    assert (rut.role, rut.role_title, rut.unit_code, rut.division_code) == (
        "kulturskolechef",
        "Kulturskolechef",
        "Kulturskolan",
        "Kultur",
    )


def test_every_problem_in_the_file_is_reported_and_nothing_changes(
    sqlite_app: App, tmp_path: Path
) -> None:
    sqlite_app.init(START)
    rows = export_rows(bundled_directory())
    rows[1][1] = "inte-en-adress"
    rows[2][6] = "Kanske"
    rows[3][5] = "okand.chef@example.se"
    path = write_csv(tmp_path / "hr.csv", rows)
    before = people(sqlite_app).keys()
    with pytest.raises(InputError) as caught:
        import_file(sqlite_app, path)
    wheres = [p.where for p in caught.value.problems]
    assert wheres[:2] == [
        "rad 3, kolumn E-post (cell B3)",
        "rad 4, kolumn Aktiv (cell G4)",
    ]
    assert "okand.chef@example.se" in caught.value.problems[2].message
    assert people(sqlite_app).keys() == before


def test_a_file_without_the_required_headers_is_refused(sqlite_app: App, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "hr.csv", [["A", "a@example.se"]], header=["Namn", "Mail"])
    with pytest.raises(InputError, match="E-post, Befattning"):
        import_file(sqlite_app, path)


def test_the_command_shows_the_diff_in_swedish_and_json(cli_ready: Cli, tmp_path: Path) -> None:
    rows = replace_row(
        export_rows(bundled_directory()), LEAVER, name="Nora Nilsson", email=NEWCOMER
    )
    path = write_csv(tmp_path / "hr.csv", rows)
    before = cli_ready.counts()
    code, out, _ = cli_ready("directory", "import", str(path), "--dry-run")
    assert code == 0
    assert f"  ny: {NEWCOMER} (Nora Nilsson, enhetschef)" in out
    assert f"  avaktiverad: {LEAVER}" in out
    assert "Inget ändrades (--dry-run)." in out
    assert cli_ready.counts() == before

    result = cli_ready.json("directory", "import", str(path))
    assert result["ok"] is True and result["dry_run"] is False
    assert result["deactivated"] == [LEAVER]
    assert result["reassigned"] and {m["to"] for m in result["reassigned"]} == {NEWCOMER}

    bad = write_csv(tmp_path / "bad.csv", [["X", "x@example.se", "Trollkarl", "", "", "", ""]])
    code, _, err = cli_ready("directory", "import", str(bad))
    assert code == 1
    assert "bad.csv, rad 2, kolumn Befattning (cell C2): okänd befattning 'Trollkarl'" in err


def test_without_a_directory_file_a_reload_keeps_the_imported_people(
    sqlite_app: App, tmp_path: Path
) -> None:
    sqlite_app.init(START)
    rows = replace_row(
        export_rows(bundled_directory()), LEAVER, name="Nora Nilsson", email=NEWCOMER
    )
    import_file(sqlite_app, write_csv(tmp_path / "hr.csv", rows))
    no_file = App(sqlite_app.config.with_overrides({"plans": {"directory": ""}}))

    summary = no_file.reload(at("2024-11-05"))

    assert summary["added"] == summary["left"] == []
    assert people(no_file)[NEWCOMER].active and not people(no_file)[LEAVER].active


def test_an_export_without_the_politicians_keeps_them_unless_a_row_says_they_left(
    app: App, tmp_path: Path
) -> None:
    app.init(START)
    directory = bundled_directory()
    politicians = {p.email for p in directory.people if p.role in ("ordförande", "ledamot")}
    staff = [r for r in export_rows(directory) if r[1] not in politicians]
    summary = import_file(app, write_csv(tmp_path / "hr.csv", staff))
    assert summary["deactivated"] == []
    assert all(people(app)[e].active for e in politicians)

    gone = sorted(politicians)[0]
    row = next(r for r in export_rows(directory) if r[1] == gone)
    summary = import_file(app, write_csv(tmp_path / "hr2.csv", [*staff, [*row[:6], "Nej"]]))
    assert summary["deactivated"] == [gone]


def with_administrations(rows: list[list[str]], administration: dict[str, str]) -> list[list[str]]:
    """The export with a Förvaltning column, filled in for the people named (by e-mail)."""
    return [[*row, administration.get(row[1], "")] for row in rows]


def a_new_head_of_buf(administration: str) -> list[list[str]]:
    """The export with Ulrika Falk succeeded by Sara Lind, whose Förvaltning is as written."""
    rows = [r for r in export_rows(bundled_directory()) if r[1] != HEAD]
    rows.append(["Sara Lind", NEW_HEAD, "Förvaltningschef", "", "", "", "Ja"])
    return with_administrations(rows, {NEW_HEAD: administration})


def test_a_new_head_arriving_by_the_export_is_placed_in_her_administration(
    app: App, tmp_path: Path
) -> None:
    app.init(START)
    path = write_csv(
        tmp_path / "hr.csv", a_new_head_of_buf("barn och utbildning"), [*HEADER, "Förvaltning"]
    )

    summary = import_file(app, path)

    assert_the_new_head_follows_buf(app, summary)


def test_a_move_to_another_administration_shows_as_a_change(app: App, tmp_path: Path) -> None:
    app.init(START)
    mover = "nils.rydberg@example.se"  # utvecklingschef at BUF's staff
    rows = with_administrations(export_rows(bundled_directory()), {mover: "Socialförvaltningen"})

    summary = import_file(app, write_csv(tmp_path / "hr.csv", rows, [*HEADER, "Förvaltning"]))

    # Her manager follows: the head of the administration she moved to.
    assert summary["changed"] == [
        {
            "email": mover,
            "changes": {
                "administration": ["BUF", "SOC"],
                "reports_to": ["ulrika.falk@example.se", "eva.ekstrom@example.se"],
            },
        }
    ]
    assert summary["added"] == summary["deactivated"] == []
    assert len(people(app)) == len(bundled_directory().people)


def test_an_unknown_administration_is_refused_with_its_row_and_cell(
    app: App, tmp_path: Path
) -> None:
    app.init(START)
    header = [*HEADER, "Förvaltning"]
    path = write_csv(tmp_path / "hr.csv", a_new_head_of_buf("Kulturförvaltningen"), header)

    with pytest.raises(InputError) as refused:
        import_file(app, path)

    row = len(bundled_directory().people) + 1  # the header, then everyone but Ulrika, then Sara
    assert [(p.where, p.message) for p in refused.value.problems] == [
        (
            f"rad {row}, kolumn Förvaltning (cell H{row})",
            "förvaltningen 'Kulturförvaltningen' finns inte i katalogen; ange en av "
            "SOC (Socialförvaltningen), BUF (Barn- och utbildningsförvaltningen) "
            "(kod, namn eller annat namn).",
        )
    ]
    assert NEW_HEAD not in people(app)
