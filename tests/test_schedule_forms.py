"""Schedule expansion of the deadline forms added for real plans (issue 10): pure, with `until`."""

from __future__ import annotations

from datetime import date

import pytest

from service.plans.phrases import parse_phrase
from service.schedule import DoneParent, ScheduleItem, Slot
from tests.support import d
from tests.test_schedule import FC, VT_2025, run


def plan_item(
    phrase: str,
    *,
    plan_start: str = "2024-01-01",
    plan_end: str = "2025-12-31",
    follow_from: str = "2024-08-01",
    parent_id: int | None = None,
) -> ScheduleItem:
    start, end = d(plan_start), d(plan_end)
    return ScheduleItem(
        id=1,
        roles=("förvaltningschef",),
        deadline=parse_phrase(phrase, plan_start=start, plan_end=end),
        plan_start=start,
        plan_end=end,
        follow_from=d(follow_from),
        parent_id=parent_id,
    )


def dues(slots: list[Slot]) -> list[date | None]:
    return [s.due for s in sorted(slots, key=lambda s: (s.window_end or date.max, s.window_key))]


@pytest.mark.parametrize(
    ("phrase", "due"),
    [
        ("Under 2025", "2025-12-31"),
        ("2024", "2024-12-31"),
        ("i maj", None),  # refused below: the plan spans two years
        ("hösten 2025", "2025-12-20"),  # the configured default end of HT
        ("läsåret 2024/25", "2025-06-13"),  # the calendar's end of VT 2025
        ("tredje kvartalet nästa år", "2025-09-30"),
    ],
)
def test_a_year_season_or_relative_year_is_one_deadline(phrase: str, due: str | None) -> None:
    if due is None:
        with pytest.raises(ValueError):
            plan_item(phrase)
        return
    slots = run(plan_item(phrase))
    assert [(s.window_key, s.due) for s in slots] == [("frist", d(due))]


def test_a_span_is_due_at_its_end_with_a_check_in_each_term() -> None:
    slots = run(plan_item("2024–2025"))
    assert ("frist", d("2025-12-31")) in [(s.window_key, s.due) for s in slots]
    checkins = sorted(s.window_key for s in slots if s.window_key.startswith("avstämning"))
    assert checkins == ["avstämning HT 2024", "avstämning HT 2025", "avstämning VT 2025"]
    assert all(s.due is None for s in slots if s.window_key.startswith("avstämning"))


def test_a_span_checks_in_only_within_its_own_years() -> None:
    slots = run(plan_item("2025–2026", plan_end="2026-12-31"), until="2026-12-31")
    checkins = sorted(s.window_key for s in slots if s.window_key.startswith("avstämning"))
    assert checkins == [
        "avstämning HT 2025",
        "avstämning HT 2026",
        "avstämning VT 2025",
        "avstämning VT 2026",
    ]


def test_every_fifth_year_is_one_window_of_five_years_from_the_plans_start() -> None:
    slots = run(plan_item("vart femte år", plan_end="2035-12-31"), until="2035-12-31")
    assert [(s.window_key, s.window_start, s.due) for s in slots] == [
        ("2024–2028", d("2024-01-01"), d("2028-12-31")),
        ("2029–2033", d("2029-01-01"), d("2033-12-31")),
        ("2034–2038", d("2034-01-01"), d("2038-12-31")),
    ]


def test_once_per_mandate_period_follows_the_swedish_election_cycle() -> None:
    slots = run(plan_item("en gång per mandatperiod", plan_end="2031-12-31"), until="2031-12-31")
    assert [(s.window_key, s.due) for s in slots] == [
        ("2023–2026", d("2026-12-31")),
        ("2027–2030", d("2030-12-31")),
        ("2031–2034", d("2034-12-31")),
    ]


def test_every_other_term_pairs_terms_from_the_plans_start() -> None:
    slots = run(plan_item("varannan termin", plan_start="2024-08-01"), until="2025-06-30")
    assert [(s.window_key, s.window_start, s.due) for s in slots] == [
        ("HT 2024–VT 2025", d("2024-08-19"), VT_2025.end)
    ]
    later = run(plan_item("varannan termin", plan_start="2024-08-01"), until="2025-12-31")
    assert [s.window_key for s in later] == ["HT 2024–VT 2025", "HT 2025–VT 2026"]


def test_every_third_month_and_every_other_week() -> None:
    months = run(plan_item("var tredje månad", follow_from="2024-01-01"), until="2024-12-31")
    assert dues(months) == [d("2024-03-31"), d("2024-06-30"), d("2024-09-30"), d("2024-12-31")]
    weeks = run(
        plan_item("varannan vecka", follow_from="2024-01-01", plan_end="2024-01-31"),
        until="2024-01-31",
    )
    # 2024-01-01 is a Monday: two-week windows from it.
    assert dues(weeks) == [d("2024-01-14"), d("2024-01-28"), d("2024-02-11")]


def test_a_fixed_month_each_year_is_due_at_that_month_or_day() -> None:
    slots = run(plan_item("senast i oktober varje år"))
    assert dues(slots) == [d("2024-10-31"), d("2025-10-31")]
    march = run(plan_item("senast 15 mars varje år"))
    # 15 March 2024 was before the plan was followed: the first one is 2025's.
    assert dues(march) == [d("2025-03-15")]


def test_every_spring_is_due_at_each_spring_terms_end() -> None:
    slots = run(plan_item("varje vår"))
    assert [(s.window_key, s.due) for s in slots] == [("VT 2025", VT_2025.end)]
    autumn = run(plan_item("varje höst"))
    assert [s.window_key for s in autumn] == ["HT 2024", "HT 2025"]


def test_an_approximate_cadence_counts_as_written() -> None:
    slots = run(plan_item("cirka åtta gånger per år", follow_from="2025-01-01"))
    assert len(slots) == 8
    assert slots[-1].due == d("2025-12-31")


def test_a_time_after_the_plans_start_is_one_deadline_without_a_parent() -> None:
    slots = run(plan_item("inom 30 dagar"))
    assert [(s.window_key, s.due) for s in slots] == [("frist", d("2024-01-31"))]
    year = run(plan_item("inom ett år"))
    assert [s.due for s in year] == [d("2025-01-01")]


def test_a_time_after_the_parent_counts_from_its_completion() -> None:
    child = plan_item("inom tre veckor efter", parent_id=7)
    assert run(child) == []  # nothing until the parent is done
    assert FC.id is not None
    slots = run(child, done_parents=(DoneParent(50, 7, FC.id, d("2024-10-01")),))
    assert [(s.window_key, s.due, s.parent_occurrence_id) for s in slots] == [
        ("efter 50", d("2024-10-22"), 50)
    ]


@pytest.mark.parametrize("phrase", ["Tillsvidare", "Ständigt", "Pågående"])
def test_work_without_an_end_gets_the_term_check_ins(phrase: str) -> None:
    slots = run(plan_item(phrase))
    assert {s.window_key for s in slots} == {
        "avstämning HT 2024",
        "avstämning VT 2025",
        "avstämning HT 2025",
    }
