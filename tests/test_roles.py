"""Roles are data: a directory declares them, plans name them as people write them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from service import roles, schema
from service.app import App
from service.db import make_engine, transaction
from service.directory import Directory, load_directory, load_directory_file
from service.mail.transports.memory import MemoryTransport
from service.models import Item, Occurrence, Person
from service.occurrences import item_targets
from service.pipeline import tick
from service.plans.importer import parse_plan
from service.plans.tables import ReadOptions, split_roles
from service.problems import InputError
from tests.support import ROOT, at, d, folder_app
from tests.upgrades import columns_of, load_release_0_1, snapshot


@pytest.fixture(scope="module")
def social() -> Directory:
    return load_directory_file(ROOT / "plans" / "directory.toml", "plans/directory.toml")


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Verksamhetschef LSS", "verksamhetschef@area:LSS"),
        ("verksamhetschefen inom äldreomsorgen", "verksamhetschef@area:ÄO"),
        ("Äldreomsorgschef", "verksamhetschef@area:ÄO"),  # a title bound to one area
        ("Äldreomsorgschefen", "verksamhetschef@area:ÄO"),
        ("Enhetschefen på Solgården", "enhetschef@unit:ao-solgarden"),
        ("Enhetschefer inom IFO myndighet", "enhetschef@area:IFO-M"),
        ("Berörd enhetschef", "enhetschef"),  # each enhetschef, for their own unit
        ("Berörda enhetschefer", "enhetschef"),
        ("VC", "verksamhetschef"),
        ("EC", "enhetschef"),
        ("Socialchefen", "förvaltningschef"),
        ("Samtliga chefer", "chefer"),
        ("Nämnden", "nämnden"),
        ("Försäkringskassan", "extern:Försäkringskassan"),
        ("Region Västra Götaland", "extern:Region Västra Götaland"),
        ("grannkommunerna", "extern:grannkommunerna"),
    ],
)
def test_it_reads_a_party_as_written(social: Directory, written: str, key: str) -> None:
    match = social.match_role(written)
    assert match is not None and match.key == key


@pytest.mark.parametrize(
    "written",
    ["Kurator", "Verksamhetschef Kultur", "Enhetschefen på Månen", "VCs", "Arbetsgruppen"],
)
def test_it_refuses_a_party_it_cannot_place(social: Directory, written: str) -> None:
    assert social.match_role(written) is None


def test_a_narrowed_role_reaches_only_its_holders_there(social: Directory) -> None:
    def reached(written: str) -> list[str]:
        match = social.match_role(written)
        assert match is not None
        return [p.email for p, _apt in social.holders(match.key)]

    assert reached("Verksamhetschef LSS") == ["peter.holm@example.se"]
    assert reached("Äldreomsorgschef") == ["anna.bergstrom@example.se"]
    assert reached("Enhetschefen på Solgården") == ["helena.lundgren@example.se"]
    assert len(reached("Enhetschefer inom äldreomsorgen")) == 5
    # Unnarrowed, every administration's: Socialförvaltningen's 14 and BUF's elevhälsa's.
    assert len(reached("Berörd enhetschef")) == 15
    assert len(reached("Enhetschefer inom Socialförvaltningen")) == 14
    assert reached("Försäkringskassan") == []


def test_an_item_naming_only_external_parties_goes_to_the_coordinator(social: Directory) -> None:
    vocabulary = social.vocabulary
    assert item_targets(["Försäkringskassan"], "", vocabulary) == ("förvaltningschef",)
    assert item_targets(["Arbetsförmedlingen"], "Verksamhetschef IFO myndighet", vocabulary) == (
        "verksamhetschef@area:IFO-M",
    )
    # An internal party beside the external one answers for the item itself.
    assert item_targets(["Försäkringskassan", "HR-chef"], "", vocabulary) == ("hr-chef",)


def test_an_unknown_party_names_the_nearest_roles_and_how_to_declare_one(
    social: Directory,
) -> None:
    message = social.vocabulary.explain_unknown("Enhetchefen")
    assert "okänd roll 'Enhetchefen'. Menade du 'Enhetschef'?" in message
    assert "[[role]]" in message and "[external]" in message


SCHOOL_DIRECTORY = """
[organisation]
name = "Utbildningsförvaltningen"

[[role]]
key = "skolchef"
name = "Skolchef"
aliases = ["Utbildningschef", "Förvaltningschef"]
level = "administration"
manager = true
head = true

[[role]]
name = "Rektor"
abbreviations = ["Rek"]
level = "unit"
reports_to = "skolchef"
manager = true

[[role]]
name = "Förskolechef"
level = "unit"
reports_to = "skolchef"
manager = true

[[role]]
key = "hr-konsult"
name = "HR-konsult"
level = "administration"

[external]
names = ["Föreningen Läsglädje"]

[[area]]
code = "GR"
name = "Grundskola"

[[area]]
code = "FS"
name = "Förskola"

[[unit]]
code = "ekskolan"
name = "Ekskolan"
area = "GR"

[[unit]]
code = "bjorkskolan"
name = "Björkskolan"
area = "GR"

[[unit]]
code = "solrosen"
name = "Solrosens förskola"
area = "FS"

[[person]]
name = "Sven Skolchef"
email = "sven.skolchef@example.se"
role = "Skolchef"

[[person]]
name = "Rut Rektor"
email = "rut.rektor@example.se"
role = "Rektor"
unit = "ekskolan"

[[person]]
name = "Bo Björk"
email = "bo.bjork@example.se"
role = "rektorn"
unit = "bjorkskolan"

[[person]]
name = "Fia Förskola"
email = "fia.forskola@example.se"
role = "Förskolechef"
unit = "solrosen"

[[person]]
name = "Hanna Konsult"
email = "hanna.konsult@example.se"
role = "HR-konsult"
"""

SCHOOL_PLAN = """
[plan]
id = "skolplan"
title = "Plan för trygghet i skolan 2024–2025"
organisation = "Utbildningsförvaltningen"
start = 2024-08-01
end = 2025-12-31

[[area]]
title = "Trygghet"

[[area.item]]
number = "1"
title = "Genomföra trygghetsvandringar på varje skola."
responsible = ["Rektorerna"]
deadline = "December 2024"

[[area.item]]
number = "2"
title = "Se över rutinerna för hämtning och lämning."
responsible = ["Förskolechefen på Solrosen"]
deadline = "December 2024"

[[area.item]]
number = "3"
title = "Ta fram en plan för kompetensutveckling."
responsible = ["HR-konsulten", "Rektor Ekskolan"]
deadline = "December 2024"

[[area.item]]
number = "4"
title = "Delta i Skolverkets nätverk för trygghet."
responsible = ["Skolverket", "Föreningen Läsglädje"]
deadline = "December 2024"
"""


@pytest.fixture
def school(db_url: str, tmp_path: Path) -> Iterator[App]:
    folder = tmp_path / "skola"
    folder.mkdir()
    (folder / "directory.toml").write_text(SCHOOL_DIRECTORY, encoding="utf-8")
    terms = (ROOT / "plans" / "calendars.toml").read_text(encoding="utf-8").split("[apt]")[0]
    (folder / "calendars.toml").write_text(terms, encoding="utf-8")
    (folder / "skolplan.toml").write_text(SCHOOL_PLAN, encoding="utf-8")
    instance = folder_app(db_url, tmp_path, folder)
    yield instance
    instance.engine.dispose()


def test_a_school_administration_is_imported_and_reminded_end_to_end(school: App) -> None:
    school.init(at("2024-11-25", "06:00"))
    with school.sessions() as session:
        rows = session.execute(
            select(Item.number, Person.email)
            .join(Occurrence, Occurrence.item_id == Item.id)
            .join(Person, Occurrence.person_id == Person.id)
        ).all()
        directory = load_directory(session)
    people: dict[str, set[str]] = defaultdict(set)
    for number, email in rows:
        people[number].add(email)
    assert people == {
        "1": {"rut.rektor@example.se", "bo.bjork@example.se"},
        "2": {"fia.forskola@example.se"},
        "3": {"hanna.konsult@example.se", "rut.rektor@example.se"},
        "4": {"sven.skolchef@example.se"},  # only external parties: the head follows it up
    }
    # The store keeps the declared roles: escalation and the digest follow them.
    rut = directory.by_email("rut.rektor@example.se")
    assert rut is not None and rut.role == "rektor"
    head = directory.manager_of(rut)
    assert head is not None and head.email == "sven.skolchef@example.se"

    transport = MemoryTransport()
    tick(school, at("2024-12-02", "08:00"), transport=transport)
    reminded = {r for mail in transport.sent for r in mail.recipients}
    assert reminded == {
        "rut.rektor@example.se",
        "bo.bjork@example.se",
        "fia.forskola@example.se",
        "hanna.konsult@example.se",
        "sven.skolchef@example.se",
    }
    digests = [m for m in transport.sent if "sammanfattning" in m.subject.lower()]
    assert [m.recipients for m in digests] == [["sven.skolchef@example.se"]]


def test_a_school_plan_naming_an_undeclared_role_is_refused_with_a_suggestion(
    school: App,
) -> None:
    vocabulary = load_directory_file(school.config.path("plans", "directory")).vocabulary
    data = {
        "plan": {
            "id": "p",
            "title": "P",
            "start": at("2024-08-01").date(),
            "end": at("2025-12-31").date(),
        },
        "area": [
            {
                "title": "A",
                "item": [
                    {
                        "number": "1",
                        "title": "T",
                        "responsible": ["Rektr"],
                        "deadline": "December 2024",
                    }
                ],
            }
        ],
    }
    with pytest.raises(InputError) as refused:
        parse_plan(data, "skolplan.toml", ReadOptions(roles=vocabulary))
    [problem] = refused.value.problems
    assert problem.where == "område 1, aktivitet 1, kolumn Ansvarig"
    assert "Menade du 'Rektor'?" in problem.message


def test_the_bundled_directory_declares_the_roles_that_were_code(social: Directory) -> None:
    # Socialförvaltningen's roles, plus the kommundirektör and the schools' unit managers.
    declared = set(social.roles.person_roles)
    assert declared - set(roles.default_vocabulary().person_roles) == {
        "kommundirektör",
        "rektor",
        "förskolechef",
    }
    assert set(roles.default_vocabulary().person_roles) <= declared
    assert social.roles.head_role == roles.FORVALTNINGSCHEF
    assert set(social.roles.manager_roles) == {
        roles.FORVALTNINGSCHEF,
        roles.VERKSAMHETSCHEF,
        roles.ENHETSCHEF,
        "rektor",
        "förskolechef",
    }


def test_a_directory_role_declaration_error_names_the_role_and_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "katalog.toml"
    bad.write_text(
        '[[role]]\nname = "Rektor"\nlevel = "skola"\n\n[[role]]\nname = "Skolchef"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as refused:
        load_directory_file(bad, "katalog.toml")
    assert [(p.where, p.message) for p in refused.value.problems] == [
        (
            "roll 1 (Rektor)",
            "level ska vara en av municipality, administration, area, unit, committee, "
            "inte 'skola'.",
        ),
        ("role", "exakt en roll ska ha head = true (förvaltningens chef)."),
    ]


def test_the_stored_roles_survive_a_reload_from_the_store(school: App) -> None:
    school.init(at("2024-11-25", "06:00"))
    with transaction(school.sessions) as session:
        stored = load_directory(session)
    match = stored.match_role("Förskolechefen på Solrosen")
    assert match is not None and match.key == "förskolechef@unit:solrosen"
    assert stored.match_role("Rek") is not None


def test_an_upgrade_gives_stored_plans_the_default_owner_and_keeps_their_rows(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    try:
        load_release_0_1(engine)
        legacy = columns_of(engine)
        before = snapshot(engine, legacy)
        assert before["plans"] and before["items"]

        schema.upgrade(engine, now=at("2026-11-27"))

        assert snapshot(engine, legacy) == before
        with engine.connect() as connection:
            coordinators = connection.execute(
                text("SELECT DISTINCT coordinator || administration FROM plans")
            )
            assert [c for (c,) in coordinators] == [""]
    finally:
        engine.dispose()


def test_a_cell_written_as_one_string_names_each_party(social: Directory) -> None:
    data = {
        "plan": {"id": "p", "title": "P", "start": d("2024-08-01"), "end": d("2025-12-31")},
        "area": [
            {
                "title": "A",
                "item": [
                    {
                        "number": "1",
                        "title": "T",
                        "responsible": "Verksamhetschef LSS samt HR-chef / Försäkringskassan",
                        "deadline": "December 2024",
                    }
                ],
            }
        ],
    }
    [item] = parse_plan(data, "plan.toml", ReadOptions(roles=social.vocabulary)).areas[0].items
    assert item.responsible == ("Verksamhetschef LSS", "HR-chef", "Försäkringskassan")
    assert item.roles == ("verksamhetschef@area:LSS", "hr-chef")


def school_vocabulary(tmp_path: Path) -> Directory:
    path = tmp_path / "skola.toml"
    path.write_text(SCHOOL_DIRECTORY, encoding="utf-8")
    return load_directory_file(path, "skola.toml")


def test_a_declared_role_broken_over_two_lines_is_joined_again(tmp_path: Path) -> None:
    vocabulary = school_vocabulary(tmp_path).vocabulary
    written = split_roles("Förskolechef\ner\nHR-konsult")
    assert written == ["Förskolechef", "er", "HR-konsult"]  # the reader knows no school roles
    assert vocabulary.rejoin(written) == ["Förskolechefer", "HR-konsult"]


def test_the_groups_reach_the_declared_managers_and_committee(tmp_path: Path) -> None:
    school = school_vocabulary(tmp_path)

    def reached(written: str) -> set[str]:
        match = school.match_role(written)
        assert match is not None
        return {p.email for p, _apt in school.holders(match.key)}

    managers = {
        "sven.skolchef@example.se",
        "rut.rektor@example.se",
        "bo.bjork@example.se",
        "fia.forskola@example.se",
    }
    assert reached("Samtliga chefer") == managers
    assert reached("Medarbetare") == managers - {"sven.skolchef@example.se"}
    assert reached("Nämnden") == set()  # no committee role declared


@pytest.mark.parametrize(
    "key",
    [
        "enhetschef",
        "verksamhetschef@area:LSS",
        "enhetschef@unit:ao-solgarden",
        "förvaltningschef@adm:KFF",
        "extern:Försäkringskassan",
    ],
)
def test_a_stored_party_key_reads_back_as_the_same_party(key: str) -> None:
    assert roles.RoleMatch.from_key(key).key == key


def test_an_hr_export_is_read_against_the_roles_the_directory_declares(
    school: App, tmp_path: Path
) -> None:
    from service.people.hr_file import read_people_file
    from service.people.update import update_people
    from tests.people.exports import export_rows, write_csv

    school.init(at("2024-11-25", "06:00"))
    with school.sessions() as session:
        rows = export_rows(load_directory(session))
    school_row = next(r for r in rows if r[3])  # a rektor heads a unit: a school's
    newcomer = [
        "Nils Nyman", "nils.nyman@example.se", "Rektor", school_row[3], school_row[4],
        "sven.skolchef@example.se", "Ja",
    ]  # fmt: skip
    path = write_csv(tmp_path / "hr.csv", [*rows, newcomer])

    summary = update_people(
        school,
        lambda places: read_people_file(path, path.name, places),  # no --new-roles needed
        at("2024-11-26"),
        actor="directory-import",
    )

    assert summary["added"] == [
        {"email": "nils.nyman@example.se", "name": "Nils Nyman", "role": "rektor"}
    ]
    with school.sessions() as session:
        nils = session.scalar(select(Person).where(Person.email == "nils.nyman@example.se"))
    assert nils is not None and nils.role == "rektor"
