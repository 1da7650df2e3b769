"""Effect figures: how much of a plan was done, and on time, as things stood on a given day.

Pure: the caller loads the facts (one per occurrence) and passes the day; nothing here reads the
store or the clock. Figures can be grouped by any key (plan, area, role, unit, administration…),
so a new level of the organisation is one more entry in `Fact.groups`.

Every occurrence with a deadline inside the period falls in exactly one class:
done on time, done late, overdue, not applicable, postponed (open, with an agreed new date still
ahead) or open (due that very day). Lateness is measured against the agreed deadline: a
postponement is a new date the person proposed and the reason is recorded, so the report shows
both. Continuous items have no deadline and are reported by their last confirmation instead.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

DONE = "done"
NOT_APPLICABLE = "not_applicable"
SERIES_KINDS = ("recurring", "per_meeting")
CONTINUOUS = "continuous"


# Not frozen, but never changed (`at` makes a new one): a frozen dataclass's __init__ costs
# two and a half times as much, and a national run of the digests builds a million of them.
@dataclass(slots=True)
class Fact:
    """One occurrence as the figures see it."""

    item_id: int
    window_key: str
    kind: str  # the item's deadline kind
    due: date | None  # the deadline in the plan
    postponed_to: date | None
    status: str  # open | done | not_applicable
    done_on: date | None = None
    deferred_on: date | None = None  # local day of the postponement or "inte aktuell"
    groups: Mapping[str, str] = field(default_factory=dict)

    def at(self, day: date) -> Fact:
        """The fact as it stood at the end of `day`: later records are not yet made."""
        status, done_on, postponed = self.status, self.done_on, self.postponed_to
        if status == DONE and done_on is not None and done_on > day:
            status, done_on = "open", None
        late_deferral = self.deferred_on is not None and self.deferred_on > day
        if status == NOT_APPLICABLE and late_deferral:
            status = "open"
        if late_deferral:
            postponed = None
        if (status, done_on, postponed) == (self.status, self.done_on, self.postponed_to):
            return self
        return Fact(
            self.item_id,
            self.window_key,
            self.kind,
            self.due,
            postponed,
            status,
            done_on,
            self.deferred_on,
            self.groups,
        )

    @property
    def agreed_due(self) -> date | None:
        return self.postponed_to or self.due


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive: the report day

    def holds(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


@dataclass(frozen=True)
class Figures:
    activities_due: int = 0
    activities_done: int = 0
    due: int = 0
    done_on_time: int = 0
    done_late: int = 0
    overdue: int = 0
    not_applicable: int = 0
    postponed: int = 0
    open: int = 0
    on_time_share: float | None = None
    median_days_late: float | None = None
    p90_days_late: int | None = None
    windows_due: int = 0
    windows_kept: int = 0
    # Continuous items: item id -> the last day someone confirmed it (None: never).
    last_confirmed: Mapping[int, date | None] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.done_on_time + self.done_late

    def as_dict(self) -> dict[str, object]:
        return {
            "activities_due": self.activities_due,
            "activities_done": self.activities_done,
            "due": self.due,
            "done_on_time": self.done_on_time,
            "done_late": self.done_late,
            "overdue": self.overdue,
            "not_applicable": self.not_applicable,
            "postponed": self.postponed,
            "open": self.open,
            "on_time_share": self.on_time_share,
            "median_days_late": self.median_days_late,
            "p90_days_late": self.p90_days_late,
            "windows_due": self.windows_due,
            "windows_kept": self.windows_kept,
            "last_confirmed": {
                str(k): v.isoformat() if v else None for k, v in self.last_confirmed.items()
            },
        }


def classify(fact: Fact, day: date) -> str:
    """The class of a due occurrence at the end of `day` (see the module's docstring)."""
    if fact.status == NOT_APPLICABLE:
        return NOT_APPLICABLE
    due = fact.agreed_due
    assert due is not None
    if fact.status == DONE and fact.done_on is not None:
        return "done_on_time" if fact.done_on <= due else "done_late"
    if due < day:
        return "overdue"
    if fact.postponed_to is not None:
        return "postponed"
    return "open"


def days_late(fact: Fact, day: date) -> int:
    due = fact.agreed_due
    assert due is not None
    end = fact.done_on if fact.status == DONE and fact.done_on else day
    return max(0, (end - due).days)


def compute(facts: Iterable[Fact], period: Period, day: date | None = None) -> Figures:
    """The figures of the occurrences whose plan deadline falls in `period`, as they stood at
    the end of `day` (default the period's last day)."""
    day = day or period.end
    seen = [f.at(day) for f in facts]
    due = [f for f in seen if f.kind != CONTINUOUS and period.holds(f.due)]
    counts: dict[str, int] = defaultdict(int)
    late: list[int] = []
    per_item: dict[int, list[str]] = defaultdict(list)
    per_window: dict[tuple[int, str], list[str]] = defaultdict(list)
    for fact in due:
        cls = classify(fact, day)
        counts[cls] += 1
        per_item[fact.item_id].append(cls)
        if fact.kind in SERIES_KINDS:
            per_window[(fact.item_id, fact.window_key)].append(cls)
        if cls in ("done_late", "overdue"):
            late.append(days_late(fact, day))
    assessed = counts["done_on_time"] + counts["done_late"] + counts["overdue"]
    continuous: dict[int, date | None] = {}
    for fact in seen:
        if fact.kind == CONTINUOUS:
            confirmed = fact.done_on if fact.status == DONE else None
            before = continuous.get(fact.item_id)
            continuous[fact.item_id] = max(
                (d for d in (before, confirmed) if d is not None), default=None
            )
    return Figures(
        activities_due=len(per_item),
        activities_done=sum(1 for classes in per_item.values() if _all_done(classes)),
        due=len(due),
        done_on_time=counts["done_on_time"],
        done_late=counts["done_late"],
        overdue=counts["overdue"],
        not_applicable=counts[NOT_APPLICABLE],
        postponed=counts["postponed"],
        open=counts["open"],
        on_time_share=counts["done_on_time"] / assessed if assessed else None,
        median_days_late=float(statistics.median(late)) if late else None,
        p90_days_late=percentile(late, 90),
        windows_due=len(per_window),
        windows_kept=sum(1 for classes in per_window.values() if _kept(classes)),
        last_confirmed=continuous,
    )


def _all_done(classes: list[str]) -> bool:
    done = [c for c in classes if c != NOT_APPLICABLE]
    return bool(done) and all(c in ("done_on_time", "done_late") for c in done)


def _kept(classes: list[str]) -> bool:
    done = [c for c in classes if c != NOT_APPLICABLE]
    return bool(done) and all(c == "done_on_time" for c in done)


def percentile(values: list[int], pct: int) -> int | None:
    """Nearest rank: the smallest value with at least `pct` % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def grouped(
    facts: Iterable[Fact], period: Period, key: str | Callable[[Fact], str]
) -> dict[str, Figures]:
    """The figures per value of a grouping key ("area", "role", "unit", …)."""
    key_of = key if callable(key) else (lambda f: f.groups.get(key, ""))
    buckets: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        buckets[key_of(fact)].append(fact)
    return {value: compute(group, period) for value, group in buckets.items()}


def monthly_on_time(facts: list[Fact], period: Period) -> list[tuple[date, float | None]]:
    """Share on time of the occurrences due in each month of the period, as things stand on
    the report day: the chart of the plan over time."""
    out = []
    month = period.start.replace(day=1)
    while month <= period.end:
        following = (month + timedelta(days=32)).replace(day=1)
        last = min(following - timedelta(days=1), period.end)
        figures = compute(facts, Period(max(month, period.start), last), period.end)
        out.append((month, figures.on_time_share))
        month = following
    return out


def trend(facts: list[Fact], period: Period, days: int = 7) -> tuple[Figures, Figures]:
    """The figures now and `days` earlier, over the same start: "since last week"."""
    before = Period(period.start, period.end - timedelta(days=days))
    return compute(facts, before), compute(facts, period)
