"""Schedule expansion: items × responsible people × windows → the occurrences that must exist.

Pure: it takes items, the directory, the calendars and a date range, and returns slots. The
store-side sync (service/occurrences.py) inserts the slots that are missing.
"""

from __future__ import annotations

import calendar as pycal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from service.calendar import APT, Calendars
from service.deadlines import Deadline, DeadlineKind, Period, add_duration
from service.directory import Directory, PersonRecord


@dataclass(frozen=True)
class ScheduleItem:
    id: int
    roles: tuple[str, ...]
    deadline: Deadline
    plan_start: date
    plan_end: date
    follow_from: date
    parent_id: int | None = None
    administration: str = ""  # the plan's; "" = the whole municipality (the default calendar)

    def series_range(self, until: date) -> tuple[date, date]:
        """The days a series (recurring, per meeting, check-ins) runs on, up to `until`: the
        plan's period from the day it is followed, narrowed by the phrase's own start and end."""
        d = self.deadline
        lo = max(self.plan_start, self.follow_from, d.start or self.plan_start)
        hi = min(self.plan_end, until, d.end or self.plan_end)
        return lo, hi


@dataclass(frozen=True)
class DoneParent:
    """A done occurrence whose item has relative children ("på nästkommande APT")."""

    occurrence_id: int
    item_id: int
    person_id: int
    done_on: date


@dataclass(frozen=True)
class Slot:
    item_id: int
    person_id: int
    window_key: str
    due: date | None
    window_start: date | None = None
    window_end: date | None = None
    is_apt: bool = False
    parent_occurrence_id: int | None = None

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.item_id, self.person_id, self.window_key)


@dataclass(frozen=True)
class Window:
    key: str
    start: date
    end: date


def expand(
    items: Iterable[ScheduleItem],
    directory: Directory,
    calendars: Calendars,
    until: date,
    *,
    done_parents: Sequence[DoneParent] = (),
    checkin_every: str = "term",
) -> list[Slot]:
    """Every occurrence that should exist up to `until`.

    One-off deadlines always appear (an overdue item from before Bevakning is still overdue);
    series (recurring, per meeting, check-ins) start at the plan's `follow_from` day, so that
    importing a plan today does not invent two years of missed workshops.
    """
    slots: list[Slot] = []
    for item in items:
        # "nästkommande nämnd", terms and the like follow the plan's administration's calendar;
        # APT dates are per unit, the same in every administration's calendar.
        calendar = calendars.of(item.administration)
        # One per person; raised at APT if any listed role says so, whatever the roles' order.
        merged: dict[str, tuple[PersonRecord, bool]] = {}
        for role in item.roles:
            for p, apt in directory.holders(role):
                merged[p.email] = (p, apt or merged.get(p.email, (p, False))[1])
        holders = list(merged.values())
        if item.deadline.kind is DeadlineKind.RELATIVE and (
            item.deadline.calendar or item.parent_id is not None
        ):
            slots.extend(_relative(item, holders, calendar, done_parents))
            continue
        for person, apt in holders:
            assert person.id is not None
            for window_key, due, start, end in _windows(
                item, person, calendar, until, checkin_every
            ):
                slots.append(Slot(item.id, person.id, window_key, due, start, end, apt))
    return slots


def _windows(
    item: ScheduleItem, person: PersonRecord, calendars: Calendars, until: date, checkin_every: str
) -> list[tuple[str, date | None, date | None, date | None]]:
    d = item.deadline
    kind = d.kind
    if kind in _ONE_OFF:
        assert d.due is not None
        return [("frist", d.due, None, d.due)]
    if kind is DeadlineKind.TERM:
        assert d.term is not None
        end = calendars.term(d.term).end
        return [("frist", end, None, end)]
    if kind is DeadlineKind.RELATIVE:
        # "inom 30 dagar" without a parent item counts from the plan's start.
        assert d.after is not None
        due = add_duration(item.plan_start, d.after)
        return [("frist", due, item.plan_start, due)]
    lo, hi = item.series_range(until)
    if kind is DeadlineKind.RECURRING:
        return [
            (w.key, w.end, w.start, w.end)
            for w in recurring_windows(d, lo, hi, calendars, item.plan_start)
        ]
    if kind is DeadlineKind.PER_MEETING:
        assert d.calendar
        return [
            (f"möte {day.isoformat()}", day, None, day)
            for day in meetings_of(calendars, d.calendar, person, lo, hi)
        ]
    if kind is DeadlineKind.PERIOD:
        # Due at the end of the span, with the check-ins of continuous work on the way.
        assert d.due is not None
        return [("frist", d.due, d.start, d.due), *_checkins(lo, hi, calendars, checkin_every)]
    if kind is DeadlineKind.CONTINUOUS:
        return _checkins(lo, hi, calendars, checkin_every)
    return []  # as needed: no deadline, never reminded


_ONE_OFF = (
    DeadlineKind.DATE,
    DeadlineKind.MONTH,
    DeadlineKind.WEEK,
    DeadlineKind.QUARTER,
    DeadlineKind.YEAR,
)


def _checkins(
    lo: date, hi: date, calendars: Calendars, checkin_every: str
) -> list[tuple[str, date | None, date | None, date | None]]:
    if checkin_every == "never":
        return []
    period = Period(checkin_every)
    return [
        (f"avstämning {w.key}", None, w.start, w.end)
        for w in series_windows(period, 1, lo, hi, calendars)
        if w.end >= lo
    ]


def meetings_of(
    calendars: Calendars, calendar: str, person: PersonRecord, lo: date, hi: date
) -> list[date]:
    """The meetings from `lo` to `hi` that `person` goes to: their own unit's APT, or the
    committee's meetings."""
    return calendars.meetings_between(calendar, lo, hi, person.unit if calendar == APT else None)


def _relative(
    item: ScheduleItem,
    holders: list[tuple[PersonRecord, bool]],
    calendars: Calendars,
    done_parents: Sequence[DoneParent],
) -> list[Slot]:
    out = []
    for parent in done_parents:
        if parent.item_id != item.parent_id:
            continue
        # A person who holds both the parent and the child follows their own parent only;
        # otherwise (förvaltningschef visits, enhetschefer report back) every holder does.
        own = [(p, apt) for p, apt in holders if p.id == parent.person_id]
        for person, apt in own or holders:
            assert person.id is not None
            due = _after_parent(item.deadline, person, parent.done_on, calendars)
            out.append(
                Slot(
                    item.id,
                    person.id,
                    f"efter {parent.occurrence_id}",
                    due,
                    parent.done_on,
                    due,
                    apt,
                    parent.occurrence_id,
                )
            )
    return out


def _after_parent(
    deadline: Deadline, person: PersonRecord, done_on: date, calendars: Calendars
) -> date | None:
    """The deadline of a relative child: the next meeting after the parent was done, or a
    fixed time after it ("inom tre veckor efter")."""
    if deadline.calendar is None:
        assert deadline.after is not None
        return add_duration(done_on, deadline.after)
    unit = person.unit if deadline.calendar == APT else None
    return calendars.next_meeting(deadline.calendar, done_on, unit)


def recurring_windows(
    d: Deadline, lo: date, hi: date, calendars: Calendars, plan_start: date
) -> list[Window]:
    """The windows of a recurring deadline from `lo` to `hi` (none ending before `lo`);
    several-period windows align on the deadline's anchor year, else on the plan's start."""
    assert d.times and d.period
    anchor = date(d.anchor, 1, 1) if d.anchor else plan_start
    windows = series_windows(
        d.period,
        d.times,
        lo,
        hi,
        calendars,
        interval=d.interval or 1,
        anchor=anchor,
        month=d.month,
        day=d.day,
        term=d.term,
    )
    return [w for w in windows if w.end >= lo]


def series_windows(
    period: Period,
    times: int,
    lo: date,
    hi: date,
    calendars: Calendars,
    *,
    interval: int = 1,
    anchor: date | None = None,
    month: int | None = None,
    day: int | None = None,
    term: str | None = None,
) -> list[Window]:
    """The windows of "`times` per `interval` × `period`" overlapping [lo, hi]; each window is
    split evenly.

    A window of several periods ("vart femte år") starts on a period aligned with `anchor`;
    `month`/`day` end each yearly window on that day ("senast i oktober varje år"); `term`
    keeps only that term of each year ("varje vår")."""
    out: list[Window] = []
    for key, start, end in _cycles(period, lo, hi, calendars, interval, anchor, month, day, term):
        length = (end - start).days + 1
        for i in range(times):
            w_start = start + timedelta(days=length * i // times)
            w_end = start + timedelta(days=length * (i + 1) // times - 1)
            suffix = f" #{i + 1}/{times}" if times > 1 else ""
            if w_end >= lo and w_start <= hi:
                out.append(Window(f"{key}{suffix}", w_start, w_end))
    return out


# Roughly how long one period is, to reach back to the start of a window of several.
_PERIOD_DAYS = {Period.WEEK: 7, Period.MONTH: 31, Period.TERM: 183, Period.YEAR: 366}


def _cycles(
    period: Period,
    lo: date,
    hi: date,
    calendars: Calendars,
    interval: int,
    anchor: date | None,
    month: int | None,
    day: int | None,
    term: str | None,
) -> list[tuple[str, date, date]]:
    if term is not None:
        # One term of each year: the year's periods are its terms of that name.
        spans = [(t.name, t.start, t.end) for t in calendars.terms_between(lo, hi)]
        return [s for s in spans if s[0].startswith(term)]
    if interval == 1 and month is None:
        return _periods(period, lo, hi, calendars)
    reach = timedelta(days=_PERIOD_DAYS[period] * interval)
    base = _periods(period, lo - reach, hi + reach, calendars)
    first = _index(period, (anchor or lo), calendars)
    blocks: dict[int, list[tuple[str, date, date]]] = {}
    for p in base:
        blocks.setdefault((_index(period, p[1], calendars) - first) // interval, []).append(p)
    out = []
    for group in blocks.values():
        if len(group) < interval:
            continue  # cut off by the reach, outside [lo, hi] anyway
        end = group[-1][2]
        if month is not None:
            last = pycal.monthrange(end.year, month)[1]
            end = date(end.year, month, day or last)
        key = group[0][0] if interval == 1 else f"{group[0][0]}–{group[-1][0]}"
        out.append((key, group[0][1], end))
    return out


def _index(period: Period, day: date, calendars: Calendars) -> int:
    """A running number of the period holding `day` (consecutive periods differ by one)."""
    if period is Period.YEAR:
        return day.year
    if period is Period.MONTH:
        return day.year * 12 + day.month - 1
    if period is Period.WEEK:
        return (day.toordinal() - day.isoweekday()) // 7
    # A day after the spring term's end counts to the autumn term (summer included).
    return day.year * 2 + (0 if day <= calendars.term(f"VT {day.year}").end else 1)


def _periods(
    period: Period, lo: date, hi: date, calendars: Calendars
) -> list[tuple[str, date, date]]:
    if period is Period.TERM:
        return [(t.name, t.start, t.end) for t in calendars.terms_between(lo, hi)]
    out = []
    if period is Period.YEAR:
        for year in range(lo.year, hi.year + 1):
            out.append((str(year), date(year, 1, 1), date(year, 12, 31)))
    elif period is Period.MONTH:
        year, month = lo.year, lo.month
        while (year, month) <= (hi.year, hi.month):
            last = pycal.monthrange(year, month)[1]
            out.append((f"{year}-{month:02d}", date(year, month, 1), date(year, month, last)))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    else:
        day = lo - timedelta(days=lo.isoweekday() - 1)
        while day <= hi:
            iso = day.isocalendar()
            out.append((f"{iso.year}-v{iso.week:02d}", day, day + timedelta(days=6)))
            day += timedelta(days=7)
    return out
