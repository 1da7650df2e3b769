"""Never a burden: one mail per person and day of any kind, quiet periods, a person's own
rhythm, and plans imported after their deadlines. Pure planning, dates passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, timedelta

from service.calendar import Calendars, TermSpan
from service.reminders import (
    CONFIRM,
    DIGEST_KIND,
    ESCALATION,
    ESCALATION_KIND,
    OVERDUE,
    REMINDER_KIND,
    Candidate,
    PlannedMail,
    Policy,
    QuietPeriods,
    Rhythm,
    plan,
)
from tests.support import d

CAL = Calendars(terms=(TermSpan("HT 2024", d("2024-08-15"), d("2024-12-20")),))
QUIET = Policy(quiet=QuietPeriods(weeks=((28, 31),), days=(((12, 23), (1, 6)),)))
PERSON, MANAGER = 10, 20


def run_days(
    candidates: Iterable[Candidate],
    start: str,
    end: str,
    policy: Policy = QUIET,
    rhythms: Mapping[int, Rhythm] | None = None,
) -> list[PlannedMail]:
    """Plan every working day, feeding planned notices back like the store does."""
    state = {c.id: c for c in candidates}
    out: list[PlannedMail] = []
    day = d(start)
    while day <= d(end):
        if CAL.is_working_day(day):
            mails = plan(state.values(), policy, CAL, day, rhythms=rhythms)
            out += mails
            for mail in mails:
                for n in mail.notices:
                    c = state[n.occurrence_id]
                    seen = n.section != ESCALATION
                    state[c.id] = replace(
                        c,
                        stages=c.stages | {n.stage},
                        last_notice=day if seen else c.last_notice,
                        first_notice=(c.first_notice or day) if seen else c.first_notice,
                    )
        day += timedelta(days=1)
    return out


def days_about(mails: list[PlannedMail], occurrence_id: int, person_id: int) -> list[date]:
    return [
        m.day
        for m in mails
        if m.person_id == person_id and any(n.occurrence_id == occurrence_id for n in m.notices)
    ]


def test_an_escalation_rides_in_the_managers_own_reminder() -> None:
    late = Candidate(1, PERSON, d("2024-11-15"), manager_id=MANAGER)
    own = Candidate(2, MANAGER, d("2024-12-06"))
    # 29 November: 14 days after the first deadline, 7 days before the manager's own.
    mails = plan([late, own], Policy(), CAL, d("2024-11-29"))
    to_manager = [m for m in mails if m.person_id == MANAGER]
    assert len(to_manager) == 1
    (mail,) = to_manager
    assert mail.kind == REMINDER_KIND
    assert {n.section for n in mail.notices} >= {ESCALATION}
    assert len({m.key for m in mails}) == len(mails)


def test_an_escalation_alone_is_an_escalation_mail_under_the_same_daily_key() -> None:
    late = Candidate(1, PERSON, d("2024-11-15"), manager_id=MANAGER)
    (mail,) = [m for m in plan([late], Policy(), CAL, d("2024-11-29")) if m.person_id == MANAGER]
    assert mail.kind == ESCALATION_KIND
    assert mail.key == f"reminder:{MANAGER}:2024-11-29"


def test_a_digest_recipient_gets_their_items_inside_the_digest() -> None:
    coming = Candidate(1, MANAGER, d("2024-12-02"))
    late = Candidate(2, PERSON, d("2024-11-15"), manager_id=MANAGER)
    mails = plan(
        [coming, late],
        Policy(),
        CAL,
        d("2024-11-29"),
        digest_people=frozenset({MANAGER}),
        rhythms={MANAGER: Rhythm(bundle_weekday=4)},
    )
    (mail,) = [m for m in mails if m.person_id == MANAGER]
    assert mail.kind == DIGEST_KIND
    assert {n.occurrence_id for n in mail.notices} == {1, 2}


def test_a_digest_recipient_without_items_still_gets_the_digest() -> None:
    mails = plan([], Policy(), CAL, d("2024-11-25"), digest_people=frozenset({MANAGER}))
    assert [(m.kind, m.person_id, m.notices) for m in mails] == [(DIGEST_KIND, MANAGER, ())]


def test_an_absent_heads_digest_waits_for_her_return() -> None:
    cases = {
        "away": Rhythm(absences=((d("2024-11-25"), d("2024-11-26")),)),
        "stand-in": Rhythm(stand_ins=((d("2024-11-25"), d("2024-11-26"), PERSON),)),
    }
    for rhythm in cases.values():
        sent = [
            day
            for day in (d("2024-11-25"), d("2024-11-26"), d("2024-11-27"))
            if plan(
                [],
                Policy(),
                CAL,
                day,
                digest_people=frozenset({MANAGER}),
                rhythms={MANAGER: rhythm},
            )
        ]
        assert sent == [d("2024-11-27")]


def test_a_reminder_that_would_fall_in_a_quiet_period_goes_out_before_it() -> None:
    # Due 2 January: every stage from 23 December on is quiet; they all come on the 20th.
    mails = run_days([Candidate(1, PERSON, d("2025-01-02"))], "2024-11-25", "2025-01-10")
    days = days_about(mails, 1, PERSON)
    assert d("2024-12-03") in days  # 30 days before
    assert all(day <= d("2024-12-20") or day >= d("2025-01-07") for day in days)
    assert max(day for day in days if day < d("2025-01-02")) == d("2024-12-20")


def test_overdue_reminders_wait_until_the_first_working_day_after_a_quiet_period() -> None:
    mails = run_days([Candidate(1, PERSON, d("2024-12-16"))], "2024-12-16", "2025-01-10")
    days = days_about(mails, 1, PERSON)
    assert not [day for day in days if d("2024-12-23") <= day <= d("2025-01-06")]
    assert d("2025-01-07") in days


def test_a_summer_quiet_period_holds_escalations_until_after_it() -> None:
    late = Candidate(1, PERSON, d("2025-06-30"), manager_id=MANAGER)
    mails = run_days([late], "2025-06-30", "2025-08-08")
    escalated = [m.day for m in mails if m.person_id == MANAGER]
    assert escalated == [d("2025-08-04")]  # week 32's Monday, the first after weeks 28-31


def test_a_bundled_rhythm_moves_early_reminders_to_the_weekday_and_keeps_the_last_two() -> None:
    monday = {PERSON: Rhythm(bundle_weekday=0)}
    # Due Thursday 12 December: 30 days before (12 Nov, a Tuesday) moves to Monday 11 Nov,
    # 7 days before (Thursday 5 Dec) to Monday 2 Dec; the day before and the day keep theirs.
    mails = run_days(
        [Candidate(1, PERSON, d("2024-12-12"))], "2024-11-01", "2024-12-12", Policy(), monday
    )
    assert days_about(mails, 1, PERSON) == [
        d("2024-11-11"),
        d("2024-12-02"),
        d("2024-12-11"),
        d("2024-12-12"),
    ]


def test_a_bundled_rhythm_sends_overdue_reminders_only_on_its_weekday() -> None:
    monday = {PERSON: Rhythm(bundle_weekday=0)}
    mails = run_days(
        [Candidate(1, PERSON, d("2024-11-13"))], "2024-11-14", "2024-12-13", Policy(), monday
    )
    assert days_about(mails, 1, PERSON)
    assert {day.weekday() for day in days_about(mails, 1, PERSON)} == {0}


def test_an_absence_holds_mail_until_it_ends_and_moves_pre_deadline_reminders_before_it() -> None:
    away = {PERSON: Rhythm(absences=((d("2024-11-25"), d("2024-12-06")),))}
    mails = run_days(
        [Candidate(1, PERSON, d("2024-12-04")), Candidate(2, PERSON, d("2024-11-20"))],
        "2024-11-01",
        "2024-12-13",
        Policy(),
        away,
    )
    all_days = {m.day for m in mails if m.person_id == PERSON}
    assert not [day for day in all_days if d("2024-11-25") <= day <= d("2024-12-06")]
    assert max(day for day in days_about(mails, 1, PERSON) if day < d("2024-12-04")) == d(
        "2024-11-22"
    )
    assert d("2024-12-09") in days_about(mails, 2, PERSON)


def test_an_item_past_its_date_on_arrival_is_asked_about_once_and_escalates_from_then() -> None:
    imported = Candidate(1, PERSON, d("2024-06-30"), manager_id=MANAGER, arrived=d("2024-11-04"))
    mails = run_days([imported], "2024-11-04", "2024-12-06", Policy())
    first = next(m for m in mails if m.person_id == PERSON)
    assert first.day == d("2024-11-04")
    assert [n.section for n in first.notices] == [CONFIRM]
    later = [n.section for m in mails[1:] if m.person_id == PERSON for n in m.notices]
    assert CONFIRM not in later and OVERDUE in later
    # No escalation on the first day (the deadline is long gone): 14 days after the question.
    assert [m.day for m in mails if m.person_id == MANAGER] == [d("2024-11-18")]


def test_at_most_one_mail_per_person_and_day_whatever_it_holds() -> None:
    candidates = [
        Candidate(
            i,
            PERSON if i % 2 else MANAGER,
            d("2024-11-01") + timedelta(days=3 * i),
            manager_id=MANAGER if i % 2 else None,
        )
        for i in range(1, 30)
    ]
    mails = run_days(candidates, "2024-10-01", "2025-02-28")
    per_day = [(m.person_id, m.day) for m in mails]
    assert len(per_day) == len(set(per_day))


def test_a_stand_in_gets_the_absent_persons_items_while_the_absence_lasts() -> None:
    stand_in = 30
    away = {PERSON: Rhythm(stand_ins=((d("2024-11-25"), d("2024-12-06"), stand_in),))}
    mails = run_days(
        [Candidate(1, PERSON, d("2024-12-04"))], "2024-11-01", "2024-12-13", Policy(), away
    )
    assert days_about(mails, 1, stand_in) == [d("2024-11-27"), d("2024-12-03"), d("2024-12-04")]
    assert days_about(mails, 1, PERSON) == [d("2024-11-04"), d("2024-12-11")]


def test_a_managers_stand_in_gets_the_escalation_copy_while_the_manager_is_away() -> None:
    stand_in = 30
    late = Candidate(1, PERSON, d("2024-11-15"), manager_id=MANAGER)
    away = {MANAGER: Rhythm(stand_ins=((d("2024-11-25"), d("2024-12-06"), stand_in),))}
    mails = run_days([late], "2024-11-01", "2024-12-13", Policy(), away)
    escalated = [
        (m.person_id, m.day) for m in mails for n in m.notices if n.section == "escalation"
    ]
    # 14 days after the deadline is 29 November, inside the manager's absence.
    assert escalated == [(stand_in, d("2024-11-29"))]
