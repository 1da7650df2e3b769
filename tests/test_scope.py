"""Whose items a person oversees follows the role vocabulary's flags, not role keys."""

from __future__ import annotations

import pytest

from service import scope
from service.roles import parse_roles
from service.scope import Holder, view_of

SCHOOL_ROLES = {
    "role": [
        {"key": "skolchef", "name": "Skolchef", "level": "administration", "head": True},
        {"key": "rektor", "name": "Rektor", "level": "unit", "manager": True},
        {"key": "lärare", "name": "Lärare", "level": "unit"},
    ]
}
PEOPLE = (
    Holder(1, "skolchef", None, None, "BUF"),
    Holder(2, "rektor", "GR", "ekskolan", "BUF"),
    Holder(3, "lärare", "GR", "ekskolan", "BUF"),
    Holder(4, "lärare", "GR", "bokskolan", "BUF"),
)


def school_view(person: Holder, *, several: bool) -> scope.View:
    problems: list[tuple[str, str]] = []
    vocabulary = parse_roles(SCHOOL_ROLES, problems)
    assert vocabulary is not None and not problems
    return view_of(person, PEOPLE, vocabulary, several_administrations=several)


@pytest.mark.parametrize(
    ("person", "people", "kind"),
    [
        (PEOPLE[0], {1, 2, 3, 4}, scope.ADMINISTRATION),  # the head role, whatever its key
        (PEOPLE[1], {2, 3}, scope.UNIT),  # a unit-level manager: the unit
        (PEOPLE[2], {3}, scope.OWN),
    ],
)
def test_a_renamed_head_and_unit_manager_see_what_their_flags_say(
    person: Holder, people: set[int], kind: str
) -> None:
    view = school_view(person, several=True)
    assert (view.people, view.kind) == (frozenset(people), kind)


def test_in_a_directory_of_one_administration_the_head_sees_everyone_and_every_report() -> None:
    head = school_view(PEOPLE[0], several=False)
    assert head.people is None and head.heads and head.covers_plan("")
    teacher = school_view(PEOPLE[2], several=False)
    assert teacher.covers_plan("") and not teacher.heads  # reports as before


def test_with_several_administrations_a_plan_is_covered_by_its_own_administration() -> None:
    head = school_view(PEOPLE[0], several=True)
    assert head.covers_plan("BUF") and not head.covers_plan("SOC")
    assert not head.covers_plan("")  # the whole municipality's plan: the kommundirektör's
    placed_nowhere = school_view(Holder(9, "skolchef", None, None, None), several=True)
    assert placed_nowhere.people == frozenset({9}) and not placed_nowhere.covers_plan("BUF")


def test_a_municipality_level_role_sees_everything() -> None:
    problems: list[tuple[str, str]] = []
    roles = parse_roles(
        {
            "role": [
                *SCHOOL_ROLES["role"],
                {"key": "kd", "name": "Kommundirektör", "level": "municipality", "reports_to": ""},
            ]
        },
        problems,
    )
    assert roles is not None and not problems
    view = view_of(Holder(5, "kd", None, None, None), PEOPLE, roles, several_administrations=True)
    assert view.people is None and view.heads and view.covers_plan("") and view.covers_plan("X")
