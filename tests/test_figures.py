"""Effect figures from facts written in the test, with every number worked out by hand."""

from __future__ import annotations

from datetime import date

from service.figures import Fact, Period, compute, grouped, monthly_on_time, trend
from tests.support import d

AT = d("2024-12-04")
PERIOD = Period(d("2024-09-01"), AT)


def fact(
    item: int,
    due: str | None,
    status: str = "open",
    done_on: str | None = None,
    *,
    kind: str = "date",
    window: str = "",
    postponed_to: str | None = None,
    deferred_on: str | None = None,
    area: str = "a",
) -> Fact:
    def day(text: str | None) -> date | None:
        return d(text) if text else None

    return Fact(
        item_id=item,
        window_key=window,
        kind=kind,
        due=day(due),
        postponed_to=day(postponed_to),
        status=status,
        done_on=day(done_on),
        deferred_on=day(deferred_on),
        groups={"area": area},
    )


FACTS = [
    fact(1, "2024-10-31", "done", "2024-10-30"),  # on time
    fact(2, "2024-10-31", "done", "2024-11-10"),  # 10 days late
    fact(3, "2024-11-30"),  # overdue, 4 days
    fact(4, "2024-11-15", "not_applicable", deferred_on="2024-11-01"),
    fact(5, "2024-11-20", postponed_to="2024-12-20", deferred_on="2024-11-18"),
    # Fan-out: three people, two on time, one 2 days late.
    fact(6, "2024-11-30", "done", "2024-11-28", area="b"),
    fact(6, "2024-11-30", "done", "2024-11-30", area="b"),
    fact(6, "2024-11-30", "done", "2024-12-02", area="b"),
    fact(7, "2025-01-31", area="b"),  # after the report day: not due
    fact(8, "2024-12-04", area="b"),  # due today: open, not late
    # A recurring item: kept, 3 days late, overdue 4 days.
    fact(9, "2024-09-30", "done", "2024-09-29", kind="recurring", window="1", area="b"),
    fact(9, "2024-10-31", "done", "2024-11-03", kind="recurring", window="2", area="b"),
    fact(9, "2024-11-30", kind="recurring", window="3", area="b"),
    # A continuous item: confirmed twice.
    fact(10, None, "done", "2024-10-01", kind="continuous", window="HT1", area="b"),
    fact(10, None, "done", "2024-11-15", kind="continuous", window="HT2", area="b"),
]


def test_it_classes_every_due_occurrence_once() -> None:
    f = compute(FACTS, PERIOD)
    assert (f.due, f.done_on_time, f.done_late, f.overdue) == (12, 4, 3, 2)
    assert (f.not_applicable, f.postponed, f.open) == (1, 1, 1)
    assert f.due == f.done + f.overdue + f.not_applicable + f.postponed + f.open


def test_it_gives_the_on_time_share_of_what_was_to_be_done() -> None:
    # 4 on time of 4 + 3 late + 2 overdue; not applicable, postponed and open do not count.
    assert compute(FACTS, PERIOD).on_time_share == 4 / 9


def test_it_gives_median_and_90th_percentile_days_late() -> None:
    # Late: 10, 2, 3 days; overdue so far: 4 and 4 days -> 2 3 4 4 10.
    f = compute(FACTS, PERIOD)
    assert f.median_days_late == 4.0
    assert f.p90_days_late == 10


def test_it_counts_activities_and_windows_kept() -> None:
    f = compute(FACTS, PERIOD)
    # Items 1-6, 8, 9 are due; 1, 2 and the fan-out 6 are done; 4 is only "inte aktuell".
    assert (f.activities_due, f.activities_done) == (8, 3)
    assert (f.windows_due, f.windows_kept) == (3, 1)


def test_it_reports_continuous_items_by_their_last_confirmation() -> None:
    assert compute(FACTS, PERIOD).last_confirmed == {10: d("2024-11-15")}


def test_it_groups_by_any_key() -> None:
    per_area = grouped(FACTS, PERIOD, "area")
    assert (per_area["a"].due, per_area["a"].done_on_time, per_area["a"].overdue) == (5, 1, 1)
    assert (per_area["b"].due, per_area["b"].done_on_time, per_area["b"].done_late) == (7, 3, 2)
    by_item = grouped(FACTS, PERIOD, lambda f: str(f.item_id))
    assert by_item["6"].on_time_share == 2 / 3


def test_an_earlier_day_does_not_see_later_records() -> None:
    # On 5 November item 2 was not yet done (overdue 5 days), item 5 not yet postponed.
    f = compute(FACTS, Period(PERIOD.start, d("2024-11-05")))
    assert (f.due, f.done_on_time, f.overdue) == (4, 2, 1)
    assert f.done_late == 1  # the recurring window done 3 November
    assert f.median_days_late == 4.0  # 5 (item 2) and 3 (window 2)


def test_the_trend_compares_with_a_week_earlier() -> None:
    before, now = trend(FACTS, PERIOD)
    # On 27 November: items 1, 2, window 1 and 2 were due; 8 and the 30 November ones not.
    assert (before.due, before.done_on_time, before.done_late) == (6, 2, 2)
    assert now.on_time_share == 4 / 9


def test_the_monthly_share_counts_what_was_due_each_month_as_it_stands_now() -> None:
    monthly = dict(monthly_on_time(FACTS, PERIOD))
    assert monthly[d("2024-09-01")] == 1.0  # window 1 kept
    assert monthly[d("2024-10-01")] == 1 / 3  # item 1 on time; item 2 and window 2 late
    # Item 3 and window 3 overdue, the fan-out 2 of 3 on time; 4 and 5 are not counted.
    assert monthly[d("2024-11-01")] == 2 / 5
    assert monthly[d("2024-12-01")] is None  # only item 8, due today
