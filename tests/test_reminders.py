"""The pure reminder planner: which stage goes out when, bundling, catch-up, escalation."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from service.calendar import Calendars, TermSpan
from service.reminders import (
    CHECKIN,
    CHECKIN_KIND,
    DUE_TODAY,
    ESCALATION_KIND,
    OVERDUE,
    REMINDER_KIND,
    UPCOMING,
    Candidate,
    PlannedMail,
    Policy,
    plan,
)
from tests.support import d

CAL = Calendars(terms=(TermSpan("HT 2024", d("2024-08-15"), d("2024-12-20")),))
POLICY = Policy()


def run_days(
    candidates: list[Candidate], start: str, end: str, policy: Policy = POLICY
) -> list[PlannedMail]:
    """Plan day by day on working days, feeding planned stages back like the store does."""
    state = {c.id: c for c in candidates}
    out: list[PlannedMail] = []
    day = d(start)
    while day <= d(end):
        if CAL.is_working_day(day):
            mails = plan(state.values(), policy, CAL, day)
            out += mails
            for mail in mails:
                for n in mail.notices:
                    c = state[n.occurrence_id]
                    last = c.last_notice if n.section == "escalation" else day
                    state[c.id] = Candidate(
                        c.id,
                        c.person_id,
                        c.due,
                        c.window_start,
                        c.window_end,
                        c.manager_id,
                        c.stages | {n.stage},
                        last,
                    )
        day += timedelta(days=1)
    return out


def days_for(mails: list[PlannedMail], occurrence_id: int, kind: str = REMINDER_KIND) -> list[date]:
    return [
        m.day
        for m in mails
        if m.kind == kind and any(n.occurrence_id == occurrence_id for n in m.notices)
    ]


def test_it_reminds_30_7_and_1_days_before_and_on_the_day() -> None:
    mails = run_days([Candidate(1, 10, d("2024-12-18"))], "2024-11-01", "2024-12-18")
    assert days_for(mails, 1) == [
        d("2024-11-18"),
        d("2024-12-11"),
        d("2024-12-17"),
        d("2024-12-18"),
    ]


def test_it_moves_a_reminder_off_a_weekend_or_holiday_to_the_working_day_before() -> None:
    # 2024-12-31 minus 7 is 24 December (julafton, closed): the reminder goes on the 23rd.
    # The day itself is nyårsafton (closed), so the on-the-day reminder falls back to the 30th,
    # where it meets the 1-day reminder: one mail, the latest stage.
    mails = run_days([Candidate(1, 10, d("2024-12-31"))], "2024-12-01", "2024-12-31")
    assert days_for(mails, 1) == [d("2024-12-02"), d("2024-12-23"), d("2024-12-30")]


def test_it_bundles_everything_for_a_person_into_one_mail_a_day() -> None:
    candidates = [
        Candidate(1, 10, d("2024-12-11")),
        Candidate(2, 10, d("2024-12-04")),
        Candidate(3, 11, d("2024-12-04")),
    ]
    mails = plan(candidates, POLICY, CAL, d("2024-12-04"))
    by_person = {m.person_id: m for m in mails}
    assert len(mails) == 2
    assert {n.occurrence_id for n in by_person[10].notices} == {1, 2}
    assert {n.section for n in by_person[10].notices} == {UPCOMING, DUE_TODAY}


def test_it_sends_nothing_twice_for_the_same_stage() -> None:
    first = plan([Candidate(1, 10, d("2024-12-11"))], POLICY, CAL, d("2024-12-04"))
    stages = frozenset(n.stage for n in first[0].notices)
    again = plan(
        [Candidate(1, 10, d("2024-12-11"), stages=stages, last_notice=d("2024-12-04"))],
        POLICY,
        CAL,
        d("2024-12-04"),
    )
    assert again == []


def test_it_skips_a_person_whose_mail_for_today_is_already_taken() -> None:
    mail = plan([Candidate(1, 10, d("2024-12-11"))], POLICY, CAL, d("2024-12-04"))[0]
    assert (
        plan(
            [Candidate(1, 10, d("2024-12-11"))],
            POLICY,
            CAL,
            d("2024-12-04"),
            taken=frozenset({mail.key}),
        )
        == []
    )


def test_after_downtime_it_sends_only_the_latest_stage() -> None:
    # Down from 2024-12-09 to 2024-12-12: the "7 days before" (2024-12-11) was missed;
    # on the 12th, one day before, only the 1-day stage goes out.
    mails = plan(
        [Candidate(1, 10, d("2024-12-13"), stages=frozenset({"before-30@2024-12-13"}))],
        POLICY,
        CAL,
        d("2024-12-12"),
    )
    assert [n.stage for n in mails[0].notices] == ["before-1@2024-12-13"]


def test_it_never_sends_a_coming_up_reminder_for_an_item_already_late() -> None:
    mails = plan([Candidate(1, 10, d("2024-12-02"))], POLICY, CAL, d("2024-12-13"))
    assert [(n.section, n.stage) for n in mails[0].notices] == [(OVERDUE, "overdue@2024-12-13")]


def test_it_reminds_weekly_while_overdue() -> None:
    mails = run_days([Candidate(1, 10, d("2024-11-29"))], "2024-11-30", "2025-01-10")
    overdue_days = days_for(mails, 1)
    assert overdue_days[0] == d("2024-12-06")
    gaps = [(b - a).days for a, b in itertools.pairwise(overdue_days)]
    assert all(5 <= g <= 9 for g in gaps), overdue_days


def test_overdue_items_ride_along_with_a_mail_that_goes_out_anyway() -> None:
    late = Candidate(
        1,
        10,
        d("2024-11-20"),
        stages=frozenset({"overdue@2024-11-27"}),
        last_notice=d("2024-11-27"),
    )
    coming = Candidate(2, 10, d("2024-12-31"))
    mails = plan([late, coming], POLICY, CAL, d("2024-12-02"))
    assert len(mails) == 1
    assert {n.occurrence_id for n in mails[0].notices} == {1, 2}


def test_it_escalates_once_to_the_manager_after_14_days() -> None:
    mails = run_days([Candidate(1, 10, d("2024-11-29"), manager_id=20)], "2024-11-30", "2025-01-31")
    escalations = [m for m in mails if m.kind == ESCALATION_KIND]
    assert [(m.person_id, m.day) for m in escalations] == [(20, d("2024-12-13"))]


def test_it_checks_in_on_continuous_items_once_per_window() -> None:
    checkin = Candidate(1, 10, None, window_start=d("2024-08-15"), window_end=d("2024-12-20"))
    mails = run_days([checkin], "2024-08-01", "2024-12-31")
    assert [(m.kind, m.day) for m in mails] == [(CHECKIN_KIND, d("2024-08-29"))]
    assert mails[0].notices[0].section == CHECKIN


def test_a_check_in_rides_in_the_reminder_when_there_is_one() -> None:
    checkin = Candidate(1, 10, None, window_start=d("2024-08-15"), window_end=d("2024-12-20"))
    mails = plan([checkin, Candidate(2, 10, d("2024-09-05"))], POLICY, CAL, d("2024-08-29"))
    assert len(mails) == 1 and mails[0].kind == REMINDER_KIND


def test_a_postponed_deadline_gets_its_own_reminders() -> None:
    # The planner sees the effective (postponed) due date; stages carry the date they are for.
    old = frozenset({"before-30@2024-12-13", "before-7@2024-12-13"})
    mails = plan(
        [Candidate(1, 10, d("2025-01-31"), stages=old, last_notice=d("2024-12-06"))],
        POLICY,
        CAL,
        d("2025-01-02"),
    )
    assert [n.stage for n in mails[0].notices] == ["before-30@2025-01-31"]
