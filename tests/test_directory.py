from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from service import roles
from service.app import App
from service.db import transaction
from service.directory import (
    Directory,
    load_directory,
    load_directory_file,
    parse_directory,
    store_directory,
)
from service.models import Occurrence, Person
from service.problems import InputError
from tests.support import ROOT, at


@pytest.mark.parametrize(
    ("written", "role"),
    [
        ("Enhetschef", roles.ENHETSCHEF),
        ("Enhetschefer", roles.ENHETSCHEF),
        ("enhetschef(er)", roles.ENHETSCHEF),
        ("Enhetscheferna", roles.ENHETSCHEF),
        ("ENHETSCHEF", roles.ENHETSCHEF),
        ("Verksamhetschef er", roles.VERKSAMHETSCHEF),  # a PDF line break inside the word
        ("Verksamhetschef\ner", roles.VERKSAMHETSCHEF),
        ("Verksamhetschefer", roles.VERKSAMHETSCHEF),
        ("Förvaltningschef", roles.FORVALTNINGSCHEF),
        ("Förvaltningschefen", roles.FORVALTNINGSCHEF),
        ("Socialdirektör", roles.FORVALTNINGSCHEF),
        ("HR-chef", roles.HR_CHEF),
        ("HR-chefen", roles.HR_CHEF),
        ("hr chef", roles.HR_CHEF),
        ("Utvecklingschef", roles.UTVECKLINGSCHEF),
        ("Ordförande", roles.ORDFORANDE),
        ("Ledamot", roles.LEDAMOT),
        ("Ledamöter", roles.LEDAMOT),
        ("nämndsledamot", roles.LEDAMOT),
        ("Medarbetare", roles.MEDARBETARE),
        ("Chefer", roles.CHEFER),
        ("  Chefer ", roles.CHEFER),
    ],
)
def test_canonical_role_matches_names_as_plans_write_them(written: str, role: str) -> None:
    assert roles.canonical_role(written) == role


@pytest.mark.parametrize("written", ["", "   ", "Rektor", "Enhet", "chefs", "Kommundirektör"])
def test_canonical_role_is_none_for_unknown_names(written: str) -> None:
    assert roles.canonical_role(written) is None


def small_directory(**extra: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "area": [{"code": "ÄO", "name": "Äldreomsorg"}, {"code": "LSS", "name": "LSS"}],
        "unit": [
            {"code": "norr", "name": "Hemtjänst norr", "area": "ÄO"},
            {"code": "grupp", "name": "Gruppbostäder", "area": "LSS"},
        ],
        "person": [
            {"name": "Eva Chef", "email": "eva@example.se", "role": "Förvaltningschef"},
            {"name": "Anna Äldre", "email": "anna@example.se", "role": "Verksamhetschef",
             "area": "ÄO"},
            {"name": "Per LSS", "email": "per@example.se", "role": "Verksamhetschef",
             "area": "LSS"},
            {"name": "Lina Norr", "email": "lina@example.se", "role": "Enhetschef",
             "unit": "norr"},
            {"name": "Jonas Grupp", "email": "jonas@example.se", "role": "Enhetschefer",
             "unit": "grupp"},
            {"name": "Maria HR", "email": "maria@example.se", "role": "HR-chef"},
            {"name": "Gunnar Ordf", "email": "gunnar@example.se", "role": "Ordförande"},
            {"name": "Annika Led", "email": "annika@example.se", "role": "Ledamot"},
        ],
    }  # fmt: skip
    for key, rows in extra.items():
        data[key] = data[key] + rows
    return data


def person(directory: Directory, email: str) -> Any:
    found = directory.by_email(email)
    assert found is not None
    return found


def test_parse_directory_reads_roles_units_and_areas() -> None:
    directory = parse_directory(small_directory(), "katalog.toml")
    jonas = person(directory, "jonas@example.se")
    assert (jonas.role, jonas.role_title, jonas.unit, jonas.division) == (
        roles.ENHETSCHEF,
        "Enhetschefer",
        "grupp",
        "LSS",  # derived from the unit
    )
    assert [p.email for p in directory.with_role(roles.ENHETSCHEF)] == [
        "lina@example.se",
        "jonas@example.se",
    ]
    assert directory.head() == person(directory, "eva@example.se")


def test_an_enhetschef_escalates_to_the_verksamhetschef_of_their_units_area() -> None:
    directory = parse_directory(small_directory(), "katalog.toml")
    lina, jonas = person(directory, "lina@example.se"), person(directory, "jonas@example.se")
    assert directory.manager_of(lina) == person(directory, "anna@example.se")
    assert directory.manager_of(jonas) == person(directory, "per@example.se")


def test_an_area_with_two_verksamhetschefer_escalates_to_the_one_listed_first() -> None:
    data = small_directory(
        person=[
            {"name": "Olle Äldre", "email": "olle@example.se", "role": "Verksamhetschef",
             "area": "ÄO"},
        ]
    )  # fmt: skip
    data["person"].insert(0, data["person"].pop())  # Olle before Anna
    directory = parse_directory(data, "katalog.toml")
    assert directory.manager_of(person(directory, "lina@example.se")).email == "olle@example.se"
    assert directory.manager_of(person(directory, "jonas@example.se")).email == "per@example.se"
    assert person(directory, "OLLE@example.se").name == "Olle Äldre"  # any case of the address


def test_a_verksamhetschef_escalates_to_the_forvaltningschef_who_escalates_to_nobody() -> None:
    directory = parse_directory(small_directory(), "katalog.toml")
    anna, eva = person(directory, "anna@example.se"), person(directory, "eva@example.se")
    assert directory.manager_of(anna) == eva
    assert directory.manager_of(person(directory, "maria@example.se")) == eva
    assert directory.manager_of(eva) is None


def test_escalation_chain_runs_enhetschef_verksamhetschef_forvaltningschef() -> None:
    directory = parse_directory(small_directory(), "katalog.toml")
    chain = [person(directory, "lina@example.se")]
    while (nxt := directory.manager_of(chain[-1])) is not None:
        chain.append(nxt)
    assert [p.role for p in chain] == [
        roles.ENHETSCHEF,
        roles.VERKSAMHETSCHEF,
        roles.FORVALTNINGSCHEF,
    ]


def test_an_explicit_reports_to_wins_over_the_role_rule() -> None:
    data = small_directory(
        person=[
            {"name": "Sara Ny", "email": "sara@example.se", "role": "Enhetschef", "unit": "norr",
             "reports_to": "per@example.se"},
        ]
    )  # fmt: skip
    directory = parse_directory(data, "katalog.toml")
    assert directory.manager_of(person(directory, "sara@example.se")) == person(
        directory, "per@example.se"
    )


def test_an_enhetschef_without_a_verksamhetschef_escalates_to_the_forvaltningschef() -> None:
    data = small_directory()
    data["person"] = [p for p in data["person"] if p["email"] != "anna@example.se"]
    directory = parse_directory(data, "katalog.toml")
    assert directory.manager_of(person(directory, "lina@example.se")) == person(
        directory, "eva@example.se"
    )


def test_a_ledamot_escalates_to_the_ordforande() -> None:
    directory = parse_directory(small_directory(), "katalog.toml")
    assert directory.manager_of(person(directory, "annika@example.se")) == person(
        directory, "gunnar@example.se"
    )
    assert directory.manager_of(person(directory, "gunnar@example.se")) is None


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (
            {"name": "Nils Nilsson", "email": "nils@example.se", "role": "Rektor"},
            ["katalog.toml", "Nils Nilsson", "okänd roll 'Rektor'"],
        ),
        (
            {"name": "Nils Nilsson", "email": "nils@example.se", "role": "Enhetschef",
             "unit": "söder"},
            ["katalog.toml", "Nils Nilsson", "'söder'"],
        ),
        (
            {"name": "Nils Nilsson", "email": "nils@example.se", "role": "Verksamhetschef",
             "area": "IFO"},
            ["katalog.toml", "Nils Nilsson", "'IFO'"],
        ),
        (
            {"name": "Nils Nilsson", "email": "inte-en-adress", "role": "Ledamot"},
            ["katalog.toml", "Nils Nilsson", "email"],
        ),
        (
            {"name": "Nils Nilsson", "email": "LINA@example.se", "role": "Ledamot"},
            ["katalog.toml", "Nils Nilsson", "LINA@example.se", "finns redan"],
        ),
        (
            {"name": "Nils Nilsson", "email": "nils@example.se", "role": "Ledamot",
             "reports_to": "okand@example.se"},
            ["katalog.toml", "Nils Nilsson", "okand@example.se"],
        ),
    ],
)  # fmt: skip
def test_parse_directory_errors_name_the_file_and_the_person(
    bad: dict[str, str], expected: list[str]
) -> None:
    with pytest.raises(InputError) as info:
        parse_directory(small_directory(person=[bad]), "katalog.toml")
    message = str(info.value)
    for part in expected:
        assert part in message
    assert len(info.value.problems) == 1


def test_parse_directory_lists_every_problem_at_once() -> None:
    data = small_directory(
        person=[
            {"name": "Nils Nilsson", "email": "nils@example.se", "role": "Rektor"},
            {"name": "Olle Olsson", "email": "olle@example.se", "role": "Enhetschef"},
        ]
    )
    with pytest.raises(InputError) as info:
        parse_directory(data, "katalog.toml")
    assert [p.where for p in info.value.problems] == [
        "person 9 (Nils Nilsson)",
        "person 10 (Olle Olsson)",
    ]


def test_a_unit_in_an_unknown_area_is_an_error() -> None:
    data = small_directory(unit=[{"code": "x", "name": "X", "area": "HSV"}])
    with pytest.raises(InputError, match="'HSV'"):
        parse_directory(data, "katalog.toml")


def test_a_missing_or_broken_directory_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="finns inte"):
        load_directory_file(tmp_path / "saknas.toml", "saknas.toml")
    broken = tmp_path / "trasig.toml"
    broken.write_text("[[person]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"trasig\.toml.*ogiltig TOML"):
        load_directory_file(broken, "trasig.toml")


# -- the store ------------------------------------------------------------------------------


def bundled() -> Directory:
    return load_directory_file(ROOT / "plans" / "directory.toml", "plans/directory.toml")


def count(app: App, model: type) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_bad_directory_changes_nothing_in_the_store(app: App, tmp_path: Path) -> None:
    app.init(at("2024-11-01"))
    bad = tmp_path / "katalog.toml"
    bad.write_text(
        (ROOT / "plans" / "directory.toml").read_text(encoding="utf-8")
        + '\n[[person]]\nname = "Nils Nilsson"\nemail = "nils@example.se"\nrole = "Rektor"\n',
        encoding="utf-8",
    )
    with app.sessions() as session:
        before = sorted((p.email, p.role, p.active) for p in session.scalars(select(Person)))
    with pytest.raises(InputError) as info, transaction(app.sessions) as session:
        store_directory(session, load_directory_file(bad, "katalog.toml"))
    assert "katalog.toml" in str(info.value) and "Nils Nilsson" in str(info.value)
    with app.sessions() as session:
        after = sorted((p.email, p.role, p.active) for p in session.scalars(select(Person)))
    assert after == before


def test_store_directory_links_each_person_to_their_manager(app: App) -> None:
    app.init(at("2024-11-01"))
    with app.sessions() as session:
        stored = load_directory(session)
    linnea = person(stored, "linnea.forsberg@example.se")
    anna = person(stored, "anna.bergstrom@example.se")
    assert linnea.reports_to == anna.email  # ÄO's verksamhetschef
    assert anna.reports_to == "eva.ekstrom@example.se"
    assert person(stored, "eva.ekstrom@example.se").reports_to is None


def stored_manager(app: App, email: str) -> str | None:
    with app.sessions() as session:
        found = load_directory(session).by_email(email)
    assert found is not None
    return found.reports_to


def test_store_directory_stores_an_explicit_reports_to_and_rederives_after_a_move(
    app: App,
) -> None:
    app.init(at("2024-11-01"))
    linnea = "linnea.forsberg@example.se"  # enhetschef in ÄO
    directory = bundled()
    explicit = tuple(
        replace(p, reports_to="peter.holm@example.se") if p.email == linnea else p
        for p in directory.people
    )
    with transaction(app.sessions) as session:
        store_directory(session, replace(directory, people=explicit))
    assert stored_manager(app, linnea) == "peter.holm@example.se"
    # Back to the file without reports_to: the derived manager is ÄO's again, not the stored one.
    with transaction(app.sessions) as session:
        store_directory(session, directory)
    assert stored_manager(app, linnea) == "anna.bergstrom@example.se"
    # Moved to an LSS unit: the LSS verksamhetschef, not the one stored before the move.
    moved = tuple(
        replace(p, unit="lss-gruppbostader", division="LSS") if p.email == linnea else p
        for p in directory.people
    )
    with transaction(app.sessions) as session:
        store_directory(session, replace(directory, people=moved))
    assert stored_manager(app, linnea) == "peter.holm@example.se"


def test_store_directory_deactivates_people_no_longer_listed_without_deleting_them(
    app: App,
) -> None:
    app.init(at("2024-11-01"))
    gone = "linnea.forsberg@example.se"
    with app.sessions() as session:
        row = session.scalar(select(Person).where(Person.email == gone))
        assert row is not None
        gone_id = row.id
        occurrences = session.scalar(
            select(func.count()).select_from(Occurrence).where(Occurrence.person_id == gone_id)
        )
    assert occurrences
    people_before = count(app, Person)
    directory = bundled()
    smaller = replace(directory, people=tuple(p for p in directory.people if p.email != gone))
    with transaction(app.sessions) as session:
        store_directory(session, smaller)
    assert count(app, Person) == people_before
    with app.sessions() as session:
        row = session.get(Person, gone_id)
        assert row is not None and row.active is False
        assert (
            session.scalar(
                select(func.count()).select_from(Occurrence).where(Occurrence.person_id == gone_id)
            )
            == occurrences
        )
        active = load_directory(session)
    assert active.by_email(gone) is None
    assert len(active.with_role(roles.ENHETSCHEF)) == len(directory.with_role(roles.ENHETSCHEF)) - 1
    # Listed again, the same person comes back as the same row.
    with transaction(app.sessions) as session:
        store_directory(session, directory)
    with app.sessions() as session:
        row = session.get(Person, gone_id)
        assert row is not None and row.active is True
    assert count(app, Person) == people_before


def test_store_directory_updates_a_changed_person_in_place(app: App) -> None:
    app.init(at("2024-11-01"))
    directory = bundled()
    moved = tuple(
        replace(p, name="Linnea Forsberg Ek", unit="ao-solgarden")
        if p.email == "linnea.forsberg@example.se"
        else p
        for p in directory.people
    )
    people_before = count(app, Person)
    with transaction(app.sessions) as session:
        store_directory(session, replace(directory, people=moved))
    with app.sessions() as session:
        linnea = person(load_directory(session), "linnea.forsberg@example.se")
    assert (linnea.name, linnea.unit) == ("Linnea Forsberg Ek", "ao-solgarden")
    assert count(app, Person) == people_before
