"""Several administrations in one directory: heads, narrowed parties and escalation."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.app import App
from service.db import transaction
from service.directory import Directory, load_directory, load_directory_file, store_directory
from service.problems import InputError
from tests.support import at

MUNICIPALITY = """
[[role]]
key = "kommundirektör"
name = "Kommundirektör"
level = "municipality"
reports_to = ""

[[role]]
key = "förvaltningschef"
name = "Förvaltningschef"
level = "administration"
manager = true
head = true

[[role]]
key = "verksamhetschef"
name = "Verksamhetschef"
level = "area"
manager = true

[[role]]
key = "enhetschef"
name = "Enhetschef"
level = "unit"
reports_to = "verksamhetschef"
manager = true

[[administration]]
code = "SOC"
name = "Socialförvaltningen"

[[administration]]
code = "KFF"
name = "Kultur- och fritidsförvaltningen"
aliases = ["KFF"]

[[area]]
code = "ÄO"
name = "Äldreomsorg"
administration = "SOC"

[[area]]
code = "BIB"
name = "Bibliotek"
administration = "KFF"

[[unit]]
code = "solgarden"
name = "Solgården"
area = "ÄO"

[[unit]]
code = "huvudbiblioteket"
name = "Huvudbiblioteket"
area = "BIB"

[[person]]
name = "Klas Kommun"
email = "klas@example.se"
role = "Kommundirektör"

[[person]]
name = "Eva Social"
email = "eva@example.se"
role = "Förvaltningschef"
administration = "SOC"

[[person]]
name = "Karl Kultur"
email = "karl@example.se"
role = "Förvaltningschef"
administration = "KFF"

[[person]]
name = "Anna Äldre"
email = "anna@example.se"
role = "Verksamhetschef"
area = "ÄO"

[[person]]
name = "Bea Bibliotek"
email = "bea@example.se"
role = "Verksamhetschef"
area = "BIB"

[[person]]
name = "Helena Sol"
email = "helena@example.se"
role = "Enhetschef"
unit = "solgarden"

[[person]]
name = "Hugo Hus"
email = "hugo@example.se"
role = "Enhetschef"
unit = "huvudbiblioteket"
"""


def municipality(tmp_path: Path) -> Directory:
    path = tmp_path / "kommun.toml"
    path.write_text(MUNICIPALITY, encoding="utf-8")
    return load_directory_file(path, "kommun.toml")


def reached(directory: Directory, written: str) -> list[str]:
    match = directory.match_role(written)
    assert match is not None, written
    return sorted(p.email for p, _apt in directory.holders(match.key))


@pytest.mark.parametrize(
    ("written", "emails"),
    [
        ("förvaltningschef Kultur- och fritidsförvaltningen", ["karl@example.se"]),
        ("Förvaltningschefen på KFF", ["karl@example.se"]),
        ("Förvaltningschef Socialförvaltningen", ["eva@example.se"]),
        ("samtliga förvaltningschefer", ["eva@example.se", "karl@example.se"]),
        ("Enhetschefer inom Kultur- och fritidsförvaltningen", ["hugo@example.se"]),
        ("Kommundirektören", ["klas@example.se"]),
    ],
)
def test_a_party_can_name_any_administrations_roles(
    tmp_path: Path, written: str, emails: list[str]
) -> None:
    assert reached(municipality(tmp_path), written) == emails


def test_escalation_stops_at_the_head_of_the_persons_own_administration(tmp_path: Path) -> None:
    directory = municipality(tmp_path)

    def chain(email: str) -> list[str]:
        person = directory.by_email(email)
        out = []
        while person is not None:
            out.append(person.email)
            person = directory.manager_of(person)
        return out

    assert chain("hugo@example.se") == ["hugo@example.se", "bea@example.se", "karl@example.se"]
    assert chain("helena@example.se") == ["helena@example.se", "anna@example.se", "eva@example.se"]
    assert chain("klas@example.se") == ["klas@example.se"]


def test_an_area_without_its_administration_is_refused_naming_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "kommun.toml"
    path.write_text(MUNICIPALITY.replace('administration = "KFF"\n\n[[unit]]', "\n[[unit]]"))
    with pytest.raises(InputError) as refused:
        load_directory_file(path, "kommun.toml")
    assert [(p.where, p.message) for p in refused.value.problems] == [
        ("område 2 (BIB)", "ange administration = en av SOC, KFF.")
    ]


def test_the_organisation_is_kept_in_the_store(app: App, tmp_path: Path) -> None:
    app.init(at("2024-11-25", "06:00"))
    with transaction(app.sessions) as session:
        store_directory(session, municipality(tmp_path))
    with app.sessions() as session:
        stored = load_directory(session)
    assert reached(stored, "förvaltningschef Kultur- och fritidsförvaltningen") == [
        "karl@example.se"
    ]
    hugo = stored.by_email("hugo@example.se")
    assert hugo is not None and stored.administration_of(hugo) == "KFF"
