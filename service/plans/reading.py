"""How a deadline is read: one object for `bevakning deadline` and an import's --dry-run --json.

Pure: it takes the parsed deadline, the plan's period, the calendars and today's date, and
returns the fields of the reading plus the same reading in Swedish words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from babel.dates import format_date

from service.calendar import Calendars, TermDefaults
from service.deadlines import Deadline, DeadlineKind, Period, add_duration
from service.i18n import LOCALE, format_date_sv
from service.schedule import recurring_windows

__all__ = ["reading"]

_PERIOD_SV = {Period.WEEK: "vecka", Period.MONTH: "månad", Period.TERM: "termin", Period.YEAR: "år"}
# "var tredje månad" but "vart tredje år": the article follows the noun's gender.
_NEUTER = {Period.YEAR}
_ORDINAL_SV = {
    3: "tredje", 4: "fjärde", 5: "femte", 6: "sjätte", 7: "sjunde", 8: "åttonde", 9: "nionde",
    10: "tionde", 12: "tolfte",
}  # fmt: skip
_UNIT_SV = {"D": ("dag", "dagar"), "W": ("vecka", "veckor"), "M": ("månad", "månader")}
_UNIT_SV["Y"] = ("år", "år")
_MEETING_SV = {"apt": "APT", "nämnd": "nämndsmöte"}
_TERM_SV = {"VT": "vår (VT)", "HT": "höst (HT)"}
# How far a series is looked at for its first deadline when the plan's end is not given.
_HORIZON = timedelta(days=6 * 366)


def reading(
    deadline: Deadline,
    *,
    today: date,
    plan_start: date | None = None,
    plan_end: date | None = None,
    calendars: Calendars | None = None,
    has_parent: bool = False,
) -> dict[str, Any]:
    """The reading of `deadline` as JSON-ready data, with `text` in Swedish.

    `due` is the first or only deadline (ISO date) or None; series are looked at from the
    plan's start (or `today`) to its end. `has_parent` says whether a relative item counts
    from a parent item's completion rather than from the plan's start."""
    cal = calendars or Calendars(terms=(), term_defaults=TermDefaults())
    d = deadline
    due = _first_due(d, today, plan_start, plan_end, cal, has_parent)
    data: dict[str, Any] = {
        "kind": d.kind.value,
        "due": due.isoformat() if due else None,
        "period": d.period.value if d.period else None,
        "interval": (d.interval or 1) if d.kind is DeadlineKind.RECURRING else None,
        "times": d.times,
        "after": d.after,
        "term": d.term,
        "calendar": d.calendar,
        "start": d.start.isoformat() if d.start else None,
        "end": d.end.isoformat() if d.end else None,
        "month": d.month,
        "day": d.day,
    }
    data["text"] = _text(d, due, cal, has_parent)
    return data


def _first_due(
    d: Deadline,
    today: date,
    plan_start: date | None,
    plan_end: date | None,
    cal: Calendars,
    has_parent: bool,
) -> date | None:
    if d.due is not None:
        return d.due
    if d.kind is DeadlineKind.TERM:
        assert d.term is not None
        return cal.term(d.term).end
    if d.kind is DeadlineKind.RELATIVE:
        if d.after is None or has_parent or plan_start is None:
            return None  # known only once the parent item is done
        return add_duration(plan_start, d.after)
    lo = max(plan_start or today, d.start or date.min)
    hi = min(plan_end or lo + _HORIZON, d.end or date.max)
    if d.kind is DeadlineKind.RECURRING:
        windows = recurring_windows(d, lo, hi, cal, plan_start or lo)
        return windows[0].end if windows else None
    if d.kind is DeadlineKind.PER_MEETING:
        assert d.calendar is not None
        meetings = cal.meetings_between(d.calendar, lo, hi)
        return meetings[0] if meetings else None
    return None


def _text(d: Deadline, due: date | None, cal: Calendars, has_parent: bool) -> str:
    first = f"; första gången {due.isoformat()}" if due else ""
    k = d.kind
    if k in _ONE_OFF_SV:
        assert d.due
        return f"{_ONE_OFF_SV[k](d.due)} ({d.due.isoformat()})"
    if k is DeadlineKind.TERM:
        assert d.term and due
        return f"Senast vid terminens slut, {d.term} ({due.isoformat()})"
    if k is DeadlineKind.PERIOD:
        assert d.start and d.end
        return (
            f"Under perioden {d.start.isoformat()}–{d.end.isoformat()}, klart senast "
            f"{d.end.isoformat()}; avstämning varje termin under tiden"
        )
    if k is DeadlineKind.RECURRING:
        return _cadence(d) + first
    if k is DeadlineKind.PER_MEETING:
        assert d.calendar
        span = ""
        if d.start:
            span += f" från {d.start.isoformat()}"
        if d.end:
            span += f" till {d.end.isoformat()}"
        return f"En gång per {_MEETING_SV.get(d.calendar, d.calendar)}{span}{first}"
    if k is DeadlineKind.RELATIVE:
        if d.calendar:
            meeting = _MEETING_SV.get(d.calendar, d.calendar)
            return f"Vid nästa {meeting} efter att föregående aktivitet är klar"
        assert d.after
        length = _duration_sv(d.after)
        if has_parent:
            return f"Inom {length} efter att föregående aktivitet är klar"
        return f"Inom {length} från planens start" + (f" ({due.isoformat()})" if due else "")
    if k is DeadlineKind.CONTINUOUS:
        return "Fortlöpande, ingen slutfrist; avstämning varje termin"
    return "Vid behov; inga påminnelser"


# The reading of a deadline on one day, by its kind.
_ONE_OFF_SV: dict[DeadlineKind, Callable[[date], str]] = {
    DeadlineKind.DATE: lambda day: f"Senast {format_date_sv(day)}",
    DeadlineKind.MONTH: lambda day: f"Senast i slutet av {_sv(day, 'MMMM y')}",
    DeadlineKind.WEEK: lambda day: (
        f"Senast söndag vecka {day.isocalendar().week} {day.isocalendar().year}"
    ),
    DeadlineKind.QUARTER: lambda day: f"Senast i slutet av kvartal {day.month // 3} {day.year}",
    DeadlineKind.YEAR: lambda day: f"Senast vid årets slut {day.year}",
}


def _cadence(d: Deadline) -> str:
    assert d.period and d.times
    interval = d.interval or 1
    noun = _PERIOD_SV[d.period]
    if d.anchor is not None and interval == 4 and d.period is Period.YEAR:
        words = "En gång per mandatperiod (fyra år, t.ex. 2023–2026)"
    elif d.term is not None:
        words = f"Varje {_TERM_SV[d.term]}, senast vid terminens slut"
    elif interval == 1:
        words = f"Varje {noun}" if d.times == 1 else f"{d.times} gånger per {noun}"
    else:
        article = "vart" if d.period in _NEUTER else "var"
        every = (
            ("vartannat" if d.period in _NEUTER else "varannan")
            if interval == 2
            else f"{article} {_ORDINAL_SV.get(interval, f'{interval}:e')}"
        )
        words = f"{every} {noun}"
        if d.times > 1:
            words = f"{d.times} gånger {words}"
        words = words[0].upper() + words[1:]
    if d.month is not None:
        day = date(2001, d.month, d.day or 1)
        words += (
            f", senast {_sv(day, 'd MMMM')}"
            if d.day
            else f", senast i slutet av {_sv(day, 'MMMM')}"
        )
    return words


def _sv(day: date, pattern: str) -> str:
    return str(format_date(day, pattern, locale=LOCALE))


def _duration_sv(iso: str) -> str:
    count, unit = int(iso[1:-1]), iso[-1]
    one, many = _UNIT_SV[unit]
    if count == 1:
        return ("ett " if unit == "Y" else "en ") + one
    return f"{count} {many}"
