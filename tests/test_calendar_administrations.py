"""Calendars per administration: each administration's plans expand their deadlines with its
own committee meetings, terms and APT rule; what it does not declare is the default."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.app import App
from service.calendar import NAMND, Calendars, parse_calendars
from service.directory import Directory
from service.models import Item, Occurrence, Person, Plan
from service.occurrences import item_targets
from service.plans.phrases import parse_phrase
from service.problems import InputError
from service.report.service import report_for
from service.schedule import DoneParent, ScheduleItem, expand
from tests.calendar_town import (
    BUF_APT,
    BUF_NAMND,
    CALENDARS,
    DEFAULT_APT,
    DEFAULT_NAMND,
    VASA_APT,
    town_app,
    town_directory,
)
from tests.support import at, d

SPAN = (d("2024-01-01"), d("2025-12-31"))
UNTIL = d("2024-12-31")


@pytest.fixture(scope="module")
def directory() -> Directory:
    return town_directory()


@pytest.fixture(scope="module")
def calendars(directory: Directory) -> Calendars:
    parsed = parse_calendars(
        tomllib.loads(CALENDARS),
        "calendars.toml",
        units=list(directory.units),
        administrations=list(directory.organisation.administrations),
    )
    return parsed.calendars(SPAN, directory.unit_administrations(), committee="socialnämnden")


def item(
    directory: Directory, phrase: str, responsible: str, administration: str, **kw: Any
) -> ScheduleItem:
    """An item of a plan of `administration` ("" = the whole municipality), aimed as the
    store aims it."""
    return ScheduleItem(
        id=kw.get("id", 1),
        roles=item_targets([responsible], "", directory.vocabulary, administration),
        deadline=parse_phrase(phrase, plan_start=d("2024-08-01"), plan_end=d("2024-12-31")),
        plan_start=d("2024-08-01"),
        plan_end=d("2024-12-31"),
        follow_from=d("2024-08-01"),
        parent_id=kw.get("parent_id"),
        administration=administration,
    )


def dues(
    directory: Directory, calendars: Calendars, *items: ScheduleItem, **kw: Any
) -> dict[str, list[str]]:
    """Each reached person's due dates, by e-mail."""
    out: dict[str, list[str]] = {}
    for slot in sorted(
        expand(items, directory, calendars, UNTIL, **kw), key=lambda s: s.due or date.min
    ):
        person = directory.by_id(slot.person_id)
        assert person is not None
        out.setdefault(person.email, []).append(str(slot.due))
    return out


# -- expansion -------------------------------------------------------------------------------


def test_two_administrations_expand_the_same_deadlines_to_their_own_dates(
    directory: Directory, calendars: Calendars
) -> None:
    def reached(phrase: str, responsible: str, administration: str) -> dict[str, list[str]]:
        return dues(directory, calendars, item(directory, phrase, responsible, administration))

    assert reached("vid varje nämndsmöte", "Förvaltningschef", "SOC") == {
        "eva@example.se": DEFAULT_NAMND
    }
    assert reached("vid varje nämndsmöte", "Förvaltningschef", "BUF") == {
        "bodil@example.se": BUF_NAMND
    }
    assert reached("vid varje APT", "Enhetschef", "SOC") == {"helena@example.se": DEFAULT_APT}
    assert reached("vid varje APT", "Enhetschef", "BUF") == {
        "sven@example.se": BUF_APT,
        "vera@example.se": VASA_APT,  # the unit's own rule wins over its administration's
    }
    assert reached("HT 2024", "Enhetschef", "SOC") == {"helena@example.se": ["2024-12-20"]}
    assert reached("HT 2024", "Enhetschef", "BUF") == {
        "sven@example.se": ["2024-12-18"],
        "vera@example.se": ["2024-12-18"],
    }


def test_the_next_committee_meeting_after_a_parent_is_the_plans_own_committees(
    directory: Directory, calendars: Calendars
) -> None:
    def child(administration: str) -> list[str]:
        parent = DoneParent(occurrence_id=7, item_id=1, person_id=0, done_on=d("2024-10-17"))
        after = item(
            directory, "vid nästkommande nämndsmöte", "Förvaltningschef", administration,
            id=2, parent_id=1,
        )  # fmt: skip
        found = dues(directory, calendars, after, done_parents=(parent,))
        return [day for days in found.values() for day in days]

    assert child("SOC") == ["2024-10-23"]
    assert child("BUF") == ["2024-11-13"]  # BUF met the day before; its next is in November


def test_an_administration_that_declares_nothing_keeps_the_default_calendar(
    directory: Directory, calendars: Calendars
) -> None:
    # KFF names only its committee: meetings, terms and APT are the default ones.
    assert dues(
        directory,
        calendars,
        item(directory, "vid varje nämndsmöte", "Förvaltningschef", "KFF", id=1),
        item(directory, "vid varje APT", "Enhetschef", "KFF", id=2),
    ) == {"karl@example.se": DEFAULT_NAMND, "hugo@example.se": DEFAULT_APT}
    assert calendars.of("KFF").terms == calendars.terms
    assert calendars.of("SOC") is calendars  # no section at all: the default itself


def test_a_municipality_wide_plan_uses_the_default_but_each_unit_its_own_apt(
    directory: Directory, calendars: Calendars
) -> None:
    assert dues(
        directory,
        calendars,
        item(directory, "vid varje nämndsmöte", "Kommundirektör", "", id=1),
        item(directory, "vid varje APT", "Enhetschefer", "", id=2),
    ) == {
        "klas@example.se": DEFAULT_NAMND,
        "helena@example.se": DEFAULT_APT,
        "sven@example.se": BUF_APT,  # APT is per unit: a BUF unit meets on BUF's day
        "vera@example.se": VASA_APT,
        "hugo@example.se": DEFAULT_APT,
    }


def test_a_units_own_apt_dates_win_over_its_administrations_rule(directory: Directory) -> None:
    own_dates = CALENDARS.replace("weekday = 5\nnth = 4", "dates = [2024-09-06, 2024-10-04]")
    parsed = parse_calendars(
        tomllib.loads(own_dates), "calendars.toml", units=list(directory.units)
    )
    calendars = parsed.calendars(SPAN, directory.unit_administrations())
    assert dues(directory, calendars, item(directory, "vid varje APT", "Enhetschef", "BUF")) == {
        "sven@example.se": BUF_APT,
        "vera@example.se": ["2024-09-06", "2024-10-04"],
    }


def test_each_administration_names_its_own_committee(calendars: Calendars) -> None:
    assert calendars.of("BUF").committee == "Barn- och utbildningsnämnden"
    assert calendars.of("KFF").committee == "Kultur- och fritidsnämnden"
    assert calendars.of("SOC").committee == "socialnämnden"
    assert calendars.of("").committee == "socialnämnden"
    assert calendars.of("BUF").next_meeting(NAMND, d("2024-09-30")) == d("2024-10-16")


# -- the file --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "where", "message"),
    [
        ('[administration.KUL]\ncommittee = "Kulturnämnden"\n', "[administration.KUL]",
         "förvaltningen 'KUL' finns inte i katalogen (förvaltningar: SOC, KFF, BUF)"),
        ('[administration.BUF]\nmeeting = {}\n', "[administration.BUF] meeting",
         "okänd nyckel; en förvaltning kan ange committee, term, apt, meetings"),
        ("[administration.BUF]\napt = 3\n", "[administration.BUF] apt",
         "skriv [administration.KOD.apt]"),
        ("[administration.BUF.apt]\nweekday = 9\n", "[administration.BUF] [apt]",
         "weekday ska vara 1–7"),
        ('[[administration.BUF.term]]\nname = "Hösten"\nstart = 2024-08-15\nend = 2024-12-18\n',
         "[administration.BUF] termin 1", "namnet 'HÖSTEN' ska vara"),
        ('[administration.BUF.meetings]\n"nämnd" = ["18 september"]\n',
         "[administration.BUF] [meetings] nämnd", "måste vara en lista av datum"),
        ('[administration.BUF.meetings]\n"APT" = [2024-09-11]\n',
         "[administration.BUF] [meetings] APT", "APT anges som regel under [apt]"),
        ('[[administration.BUF.apt.unit]]\nunit = "vasa"\nnth = 2\n',
         "[administration.BUF] [[apt.unit]]", "en enhets egen APT skrivs under [[apt.unit]]"),
    ],
)  # fmt: skip
def test_a_bad_administration_section_is_refused_naming_the_file_and_the_key(
    directory: Directory, section: str, where: str, message: str
) -> None:
    with pytest.raises(InputError) as refused:
        parse_calendars(
            tomllib.loads(section),
            "plans/calendars.toml",
            units=list(directory.units),
            administrations=list(directory.organisation.administrations),
        )
    [problem] = refused.value.problems
    assert (problem.file, problem.where) == ("plans/calendars.toml", where)
    assert problem.message.startswith(message), problem.message


def test_a_directory_without_administrations_refuses_any_section() -> None:
    with pytest.raises(InputError) as refused:
        parse_calendars(
            tomllib.loads('[administration.BUF]\ncommittee = "Barn- och utbildningsnämnden"\n'),
            "plans/calendars.toml",
            administrations=[],
        )
    [problem] = refused.value.problems
    assert "(förvaltningar: inga)" in problem.message


# -- the store, on SQLite and PostgreSQL -------------------------------------------------------


@pytest.fixture
def town(db_url: str, tmp_path: Path) -> Iterator[App]:
    instance = town_app(db_url, tmp_path)
    instance.init(at("2024-08-01", "06:00"))
    yield instance
    instance.engine.dispose()


def stored_dues(app: App, slug: str, number: str) -> dict[str, list[str]]:
    """Each person's due dates for one item of a stored plan."""
    with app.sessions() as session:
        rows = session.execute(
            select(Person.email, Occurrence.due)
            .join(Occurrence, Occurrence.person_id == Person.id)
            .join(Item, Occurrence.item_id == Item.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Plan.slug == slug, Item.number == number)
            .order_by(Occurrence.due)
        ).all()
    out: dict[str, list[str]] = {}
    for email, due in rows:
        out.setdefault(email, []).append(str(due))
    return out


def test_stored_plans_follow_their_administrations_calendars(town: App) -> None:
    assert stored_dues(town, "soc", "1") == {"eva@example.se": DEFAULT_NAMND}
    assert stored_dues(town, "buf", "1") == {"bodil@example.se": BUF_NAMND}
    assert stored_dues(town, "kff", "1") == {"karl@example.se": DEFAULT_NAMND}
    assert stored_dues(town, "buf", "2") == {
        "sven@example.se": BUF_APT,
        "vera@example.se": VASA_APT,
    }
    assert stored_dues(town, "buf", "3") == {
        "sven@example.se": ["2024-12-18"],
        "vera@example.se": ["2024-12-18"],
    }
    # The municipality's plan: the default committee, each unit's own APT.
    assert stored_dues(town, "kommun", "1") == {
        email: DEFAULT_NAMND for email in ("eva@example.se", "bodil@example.se", "karl@example.se")
    }
    assert stored_dues(town, "kommun", "2") == {
        "helena@example.se": DEFAULT_APT,
        "sven@example.se": BUF_APT,
        "vera@example.se": VASA_APT,
        "hugo@example.se": DEFAULT_APT,
    }


def test_the_report_is_headed_for_the_plans_own_committee(town: App) -> None:
    def heading(slug: str, meeting: str) -> str:
        with town.sessions() as session:
            return report_for(town, session, slug, d("2024-09-01"), d(meeting)).heading_note

    assert (
        heading("buf", "2024-09-18")
        == "Underlag till Barn- och utbildningsnämnden 18 september 2024"
    )
    assert (
        heading("kff", "2024-09-25") == "Underlag till Kultur- och fritidsnämnden 25 september 2024"
    )
    # Socialförvaltningen declares no section: the configured committee, as before.
    assert heading("soc", "2024-09-25") == "Underlag till socialnämnden 25 september 2024"
    assert heading("kommun", "2024-09-25") == "Underlag till socialnämnden 25 september 2024"


def test_moved_committee_meetings_of_one_administration_move_only_its_occurrences(
    town: App,
) -> None:
    path = town.config.path("plans", "calendars")
    path.write_text(
        path.read_text(encoding="utf-8").replace("2024-10-16", "2024-10-17"), encoding="utf-8"
    )
    summary = town.reload(at("2024-09-02"))
    assert summary["calendars"] == {
        "BUF": "Barn- och utbildningsnämnden",
        "KFF": "Kultur- och fritidsnämnden",
    }
    assert stored_dues(town, "buf", "1") == {
        "bodil@example.se": ["2024-09-18", "2024-10-17", "2024-11-13", "2024-12-11"]
    }
    assert stored_dues(town, "soc", "1") == {"eva@example.se": DEFAULT_NAMND}


def test_a_reload_naming_an_unknown_administration_is_refused_and_changes_nothing(
    town: App,
) -> None:
    path = town.config.path("plans", "calendars")
    path.write_text(
        path.read_text(encoding="utf-8").replace("[administration.KFF]", "[administration.KUL]"),
        encoding="utf-8",
    )
    with pytest.raises(InputError) as refused:
        town.reload(at("2024-09-02"))
    [problem] = refused.value.problems
    assert problem.where == "[administration.KUL]"
    assert problem.file.endswith("calendars.toml")
    with town.sessions() as session:
        calendars = town.calendars(session)
    assert calendars.of("KFF").committee == "Kultur- och fritidsnämnden"
    assert calendars.meeting_dates(NAMND, None) == tuple(d(x) for x in DEFAULT_NAMND)
    assert calendars.of("BUF").meeting_dates(NAMND) == tuple(d(x) for x in BUF_NAMND)


def test_a_section_taken_out_puts_its_administration_back_on_the_default(town: App) -> None:
    path = town.config.path("plans", "calendars")
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("[administration.BUF]")], encoding="utf-8")
    summary = town.reload(at("2024-09-02"))
    assert summary["calendars"] == {}
    # Open occurrences follow their meetings to the default committee's dates (a week later).
    assert stored_dues(town, "buf", "1") == {"bodil@example.se": DEFAULT_NAMND}
    assert stored_dues(town, "buf", "3") == {
        "sven@example.se": ["2024-12-20"],
        "vera@example.se": ["2024-12-20"],
    }
    with town.sessions() as session:
        assert town.calendars(session).of("BUF").committee == "socialnämnden"
