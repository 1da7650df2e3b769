"""Several administrations in one directory: heads, narrowed parties and escalation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.db import transaction
from service.digest import digest_context, digest_recipients
from service.directory import Directory, load_directory, load_directory_file, store_directory
from service.models import Person
from service.plans.importer import read_plan_file
from service.plans.tables import ReadOptions
from service.problems import InputError
from tests.municipality import MUNICIPALITY, plan_text, town_app
from tests.support import at, escalation_chain, reached_per_plan


@pytest.fixture
def town(db_url: str, tmp_path: Path) -> Iterator[App]:
    instance = town_app(db_url, tmp_path)
    yield instance
    instance.engine.dispose()


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
    assert escalation_chain(directory, "hugo@example.se") == [
        "hugo@example.se",
        "bea@example.se",
        "karl@example.se",
    ]
    assert escalation_chain(directory, "helena@example.se") == [
        "helena@example.se",
        "anna@example.se",
        "eva@example.se",
    ]
    assert escalation_chain(directory, "klas@example.se") == ["klas@example.se"]


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


def test_each_plan_reaches_its_own_administration_and_each_head_gets_its_own_digest(
    town: App,
) -> None:
    town.init(at("2024-11-25", "06:00"))
    assert reached_per_plan(town) == {
        "soc": {"helena@example.se"},  # a bare "Enhetschef" means the plan's own
        "kff": {"hugo@example.se"},
        "kff-extern": {"karl@example.se"},  # only external: the head of its administration
        "kommun": {"eva@example.se", "karl@example.se"},
    }
    with town.sessions() as session:
        recipients = [address for _person, address in digest_recipients(town, session)]
        assert recipients == ["klas@example.se", "eva@example.se", "karl@example.se"]
        today = at("2024-12-20").date()  # December's deadline is within the fortnight

        def plans_in_digest(email: str) -> set[str]:
            person = session.scalar(select(Person).where(Person.email == email))
            context = digest_context(town, session, person, now=at("2024-12-20"), today=today)
            return {i.plan_title for i in (*context.overdue, *context.due_soon)}

        assert plans_in_digest("eva@example.se") == {"Plan soc"}
        assert plans_in_digest("karl@example.se") == {"Plan kff", "Plan kff-extern"}
        assert plans_in_digest("klas@example.se") == {
            "Plan soc",
            "Plan kff",
            "Plan kff-extern",
            "Plan kommun",
        }


def test_a_heads_digest_shows_the_trend_lines_of_their_own_administrations_plans_only(
    town: App,
) -> None:
    town.init(at("2024-11-25", "06:00"))
    with town.sessions() as session:
        now = at("2025-01-08")  # December's deadlines have passed: every plan has a line

        def trend_plans(email: str) -> set[str]:
            person = session.scalar(select(Person).where(Person.email == email))
            context = digest_context(town, session, person, now=now, today=now.date())
            return {line.split(":")[0] for line in context.plan_lines}

        assert trend_plans("eva@example.se") == {"Plan soc"}
        assert trend_plans("karl@example.se") == {"Plan kff", "Plan kff-extern"}
        assert trend_plans("klas@example.se") == {
            "Plan soc",
            "Plan kff",
            "Plan kff-extern",
            "Plan kommun",
        }


def test_a_plan_naming_an_unknown_administration_is_refused(town: App) -> None:
    path = town.config.path("plans", "folder") / "kff.toml"
    path.write_text(plan_text("kff", "KUL", '["Enhetschef"]'), encoding="utf-8")
    vocabulary = town.plan_vocabulary()
    with pytest.raises(InputError) as refused:
        read_plan_file(path, "kff.toml", ReadOptions(roles=vocabulary))
    [problem] = refused.value.problems
    assert problem.where == "[plan] administration"
    assert problem.message.startswith("förvaltningen 'KUL' finns inte i katalogen")
