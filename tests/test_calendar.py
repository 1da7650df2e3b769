from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.app import App
from service.calendar import (
    APT,
    NAMND,
    AptRule,
    Calendars,
    TermDefaults,
    TermSpan,
    parse_calendars,
    store_calendars,
)
from service.db import transaction
from service.problems import InputError
from tests.support import ROOT, at, d

BUNDLED = ROOT / "plans" / "calendars.toml"


def bundled_data() -> dict[str, Any]:
    with BUNDLED.open("rb") as fh:
        return tomllib.load(fh)


def bundled_calendars() -> Calendars:
    parsed = parse_calendars(bundled_data(), "plans/calendars.toml")
    return parsed.calendars((d("2023-01-01"), d("2030-12-31")))


# -- APT rule -------------------------------------------------------------------------------


def test_the_default_apt_is_the_first_tuesday_of_every_month_but_july() -> None:
    dates = AptRule().dates(d("2024-01-01"), d("2024-12-31"))
    assert dates == [
        d("2024-01-02"),
        d("2024-02-06"),
        d("2024-03-05"),
        d("2024-04-02"),
        d("2024-05-07"),
        d("2024-06-04"),
        d("2024-08-06"),
        d("2024-09-03"),
        d("2024-10-01"),
        d("2024-11-05"),
        d("2024-12-03"),
    ]
    assert all(day.isoweekday() == 2 and day.day <= 7 for day in dates)


def test_an_apt_rule_keeps_to_the_given_range() -> None:
    assert AptRule().dates(d("2024-10-02"), d("2024-12-02")) == [d("2024-11-05")]


def test_an_apt_rule_can_name_another_weekday_nth_and_months_to_skip() -> None:
    third_thursday = AptRule(weekday=4, nth=3, skip_months=(7, 8))
    assert third_thursday.dates(d("2024-06-01"), d("2024-09-30")) == [
        d("2024-06-20"),
        d("2024-09-19"),
    ]


def test_a_fifth_weekday_that_a_month_lacks_is_left_out() -> None:
    # November 2024 has five Fridays, December 2024 only four.
    assert AptRule(weekday=5, nth=5, skip_months=()).dates(d("2024-11-01"), d("2024-12-31")) == [
        d("2024-11-29")
    ]


# -- working days ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "2024-11-16",  # Saturday
        "2024-11-17",  # Sunday
        "2024-12-25",  # juldagen
        "2024-12-26",  # annandag jul
        "2025-01-01",  # nyårsdagen
        "2025-01-06",  # trettondedag jul
        "2025-04-18",  # långfredagen
        "2025-04-21",  # annandag påsk
        "2025-05-01",  # första maj
        "2025-05-29",  # Kristi himmelsfärdsdag
        "2025-06-06",  # nationaldagen
        "2024-12-24",  # julafton
        "2025-06-20",  # midsommarafton
        "2024-12-31",  # nyårsafton
    ],
)
def test_weekends_public_holidays_and_the_eves_are_not_working_days(day: str) -> None:
    assert not Calendars(terms=()).is_working_day(d(day))


@pytest.mark.parametrize("day", ["2024-11-15", "2024-12-23", "2025-06-05", "2025-06-19"])
def test_ordinary_weekdays_are_working_days(day: str) -> None:
    assert Calendars(terms=()).is_working_day(d(day))


def test_without_the_de_facto_category_the_eves_are_working_days() -> None:
    public_only = Calendars(terms=(), holiday_categories=("public",))
    assert public_only.is_working_day(d("2024-12-24"))
    assert not public_only.is_working_day(d("2024-12-25"))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2024-11-15", "2024-11-15"),  # a working day is itself
        ("2024-11-17", "2024-11-15"),  # Sunday -> Friday
        ("2024-12-25", "2024-12-23"),  # juldagen, past julafton, to Monday
        ("2025-01-01", "2024-12-30"),  # nyårsdagen, past nyårsafton
        ("2025-06-21", "2025-06-19"),  # midsommardagen, past midsommarafton
        ("2025-04-21", "2025-04-17"),  # annandag påsk, back over Easter to skärtorsdagen
    ],
)
def test_previous_working_day_moves_back_to_the_closest_working_day(
    day: str, expected: str
) -> None:
    assert Calendars(terms=()).previous_working_day(d(day)) == d(expected)


def test_working_days_lists_the_working_days_in_a_range() -> None:
    days = list(Calendars(terms=()).working_days(d("2024-12-20"), d("2025-01-03")))
    assert days == [
        d("2024-12-20"),
        d("2024-12-23"),
        d("2024-12-27"),
        d("2024-12-30"),
        d("2025-01-02"),
        d("2025-01-03"),
    ]


# -- meetings --------------------------------------------------------------------------------


def test_next_meeting_is_strictly_after_the_given_day() -> None:
    calendars = bundled_calendars()
    assert calendars.next_meeting(NAMND, d("2024-11-19")) == d("2024-11-20")
    assert calendars.next_meeting(NAMND, d("2024-11-20")) == d("2024-12-04")
    assert calendars.next_meeting(NAMND, d("2024-12-04")) == d("2025-01-22")


def test_next_meeting_is_none_after_the_last_known_meeting() -> None:
    assert bundled_calendars().next_meeting(NAMND, d("2027-12-01")) is None
    assert Calendars(terms=()).next_meeting(NAMND, d("2024-01-01")) is None


def test_meetings_between_includes_both_ends() -> None:
    assert bundled_calendars().meetings_between(NAMND, d("2024-11-20"), d("2024-12-04")) == [
        d("2024-11-20"),
        d("2024-12-04"),
    ]


def test_a_unit_without_an_override_follows_the_default_apt_rule() -> None:
    calendars = bundled_calendars()
    assert calendars.next_meeting(APT, d("2024-10-02"), "ao-hemtjanst-norr") == d("2024-11-05")
    assert calendars.next_meeting(APT, d("2024-10-02")) == d("2024-11-05")


def test_a_unit_with_its_own_rule_follows_it() -> None:
    # Daglig verksamhet: the third Thursday, not in July.
    calendars = bundled_calendars()
    assert calendars.next_meeting(APT, d("2024-10-02"), "lss-daglig-verksamhet") == d("2024-10-17")
    summer = calendars.meetings_between(
        APT, d("2024-06-01"), d("2024-08-31"), "lss-daglig-verksamhet"
    )
    assert summer == [d("2024-06-20"), d("2024-08-15")]


def test_a_unit_with_its_own_dates_follows_them() -> None:
    calendars = bundled_calendars()
    assert calendars.next_meeting(APT, d("2024-10-02"), "ifom-barn-familj") == d("2024-10-14")
    assert calendars.next_meeting(APT, d("2024-08-01"), "ifom-barn-familj") == d("2024-08-26")


# -- terms ---------------------------------------------------------------------------------


def test_a_listed_term_comes_from_the_calendar() -> None:
    assert bundled_calendars().term("HT 2024") == TermSpan(
        "HT 2024", d("2024-08-19"), d("2024-12-20")
    )


def test_an_unlisted_term_uses_the_configured_defaults() -> None:
    defaults = TermDefaults.from_settings(
        {"vt_start": "01-10", "vt_end": "06-10", "ht_start": "08-20", "ht_end": "12-18"}
    )
    calendars = Calendars(terms=(), term_defaults=defaults)
    assert calendars.term("VT 2031") == TermSpan("VT 2031", d("2031-01-10"), d("2031-06-10"))
    assert calendars.term("HT 2031") == TermSpan("HT 2031", d("2031-08-20"), d("2031-12-18"))
    assert Calendars(terms=()).term("HT 2031").end == d("2031-12-20")


def test_terms_between_lists_every_overlapping_term_in_order() -> None:
    names = [t.name for t in bundled_calendars().terms_between(d("2024-06-01"), d("2025-02-01"))]
    assert names == ["VT 2024", "HT 2024", "VT 2025"]


# -- parsing ---------------------------------------------------------------------------------


def test_the_bundled_calendars_parse_with_their_terms_rule_and_overrides() -> None:
    parsed = parse_calendars(bundled_data(), "plans/calendars.toml")
    assert parsed.apt_rule == AptRule(weekday=2, nth=1, skip_months=(7,))
    assert parsed.unit_rules == {
        "lss-daglig-verksamhet": AptRule(weekday=4, nth=3, skip_months=(7,))
    }
    assert (APT, "ifom-barn-familj") in parsed.meetings
    assert d("2024-12-04") in parsed.meetings[(NAMND, "")]
    assert [t.name for t in parsed.terms][:3] == ["HT 2023", "VT 2024", "HT 2024"]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"term": [{"name": "Höst 2025", "start": date(2025, 8, 1), "end": date(2025, 12, 1)}]},
         "termin 1"),
        ({"term": [{"name": "HT 2025", "start": date(2025, 12, 1), "end": date(2025, 8, 1)}]},
         "termin HT 2025"),
        ({"apt": {"weekday": 8}}, "[apt]"),
        ({"apt": {"unit": [{"unit": "okänd", "nth": 2}]}}, "[[apt.unit]] 1 (okänd)"),
        ({"apt": {"unit": [{"unit": "norr", "dates": ["första tisdagen"]}]}},
         "[[apt.unit]] 1 (norr)"),
        ({"meetings": {"nämnd": ["2024-12-04"]}}, "[meetings] nämnd"),
    ],
)  # fmt: skip
def test_a_bad_calendars_file_names_the_file_and_the_place(
    data: dict[str, Any], where: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_calendars(data, "kalender.toml", units=["norr"])
    assert [(p.file, p.where) for p in info.value.problems] == [("kalender.toml", where)]


@pytest.mark.parametrize("name", ["nämnd", "SON", "Socialnämnden", "nämndsmöte"])
def test_son_and_socialnamnden_name_the_namnd_calendar(name: str) -> None:
    parsed = parse_calendars({"meetings": {name: [date(2024, 12, 4)]}}, "kalender.toml")
    assert parsed.meetings == {(NAMND, ""): (date(2024, 12, 4),)}


# -- the store -------------------------------------------------------------------------------


def test_stored_calendars_hold_terms_meetings_and_unit_overrides(app: App) -> None:
    app.init(at("2024-11-01"))
    with app.sessions() as session:
        calendars = app.calendars(session)
    expected = bundled_calendars()
    assert calendars.terms == expected.terms
    assert calendars.meeting_dates(NAMND) == expected.meeting_dates(NAMND)
    for unit in (None, "ao-hemtjanst-norr", "lss-daglig-verksamhet", "ifom-barn-familj"):
        assert calendars.meetings_between(
            APT, d("2024-01-01"), d("2027-12-31"), unit
        ) == expected.meetings_between(APT, d("2024-01-01"), d("2027-12-31"), unit)


def test_a_date_listed_twice_for_a_unit_is_one_meeting(app: App, tmp_path: Path) -> None:
    app.init(at("2024-11-01"))
    listed = tmp_path / "kalender.toml"
    listed.write_text(
        '[[apt.unit]]\nunit = "ifom-barn-familj"\ndates = [2024-12-09, 2024-12-09]\n',
        encoding="utf-8",
    )
    with transaction(app.sessions) as session:
        store_calendars(
            session,
            listed,
            "kalender.toml",
            default_rule=AptRule(),
            units={"ifom-barn-familj": ""},
            administrations=[],
            span=(d("2024-01-01"), d("2025-12-31")),
        )
    with app.sessions() as session:
        calendars = app.calendars(session)
    assert calendars.meetings_between(
        APT, d("2024-12-01"), d("2024-12-31"), "ifom-barn-familj"
    ) == [d("2024-12-09")]
