"""Calendars: terms, committee meetings, APT dates per unit, and Swedish working days."""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.models import Meeting, Term
from service.problems import InputError, Problem

NAMND = "nämnd"
APT = "apt"


@dataclass(frozen=True)
class TermSpan:
    name: str  # "VT 2025" / "HT 2025"
    start: date
    end: date


@dataclass(frozen=True)
class TermDefaults:
    """Month-day boundaries for terms the calendars file does not list."""

    vt_start: tuple[int, int] = (1, 8)
    vt_end: tuple[int, int] = (6, 15)
    ht_start: tuple[int, int] = (8, 15)
    ht_end: tuple[int, int] = (12, 20)

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> TermDefaults:
        def md(key: str, fallback: tuple[int, int]) -> tuple[int, int]:
            raw = str(section.get(key, ""))
            if not raw:
                return fallback
            month, day = raw.split("-")
            return int(month), int(day)

        return cls(
            md("vt_start", cls.vt_start),
            md("vt_end", cls.vt_end),
            md("ht_start", cls.ht_start),
            md("ht_end", cls.ht_end),
        )


@dataclass(frozen=True)
class AptRule:
    """The nth `weekday` (1 = Monday) of every month except `skip_months`."""

    weekday: int = 2
    nth: int = 1
    skip_months: tuple[int, ...] = (7,)

    def dates(self, start: date, end: date) -> list[date]:
        out: list[date] = []
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            if month not in self.skip_months:
                first = date(year, month, 1)
                offset = (self.weekday - first.isoweekday()) % 7
                day = first + timedelta(days=offset + 7 * (self.nth - 1))
                if day.month == month and start <= day <= end:
                    out.append(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


@dataclass(frozen=True)
class Calendars:
    terms: tuple[TermSpan, ...]
    # (calendar, unit code or "") -> sorted meeting dates
    meetings: Mapping[tuple[str, str], tuple[date, ...]] = field(default_factory=dict)
    apt_rule: AptRule = AptRule()
    term_defaults: TermDefaults = TermDefaults()
    holiday_country: str = "SE"
    holiday_categories: tuple[str, ...] = ("public", "de_facto")

    # -- terms ---------------------------------------------------------------------------
    def term(self, name: str) -> TermSpan:
        for span in self.terms:
            if span.name == name:
                return span
        kind, year_text = name.split()
        year = int(year_text)
        d = self.term_defaults
        if kind == "VT":
            return TermSpan(name, date(year, *d.vt_start), date(year, *d.vt_end))
        return TermSpan(name, date(year, *d.ht_start), date(year, *d.ht_end))

    def terms_between(self, start: date, end: date) -> list[TermSpan]:
        """Every term overlapping [start, end], in order."""
        out = []
        for year in range(start.year - 1, end.year + 1):
            for kind in ("VT", "HT"):
                span = self.term(f"{kind} {year}")
                if span.end >= start and span.start <= end:
                    out.append(span)
        return out

    # -- meetings ------------------------------------------------------------------------
    def meeting_dates(self, calendar: str, unit: str | None = None) -> tuple[date, ...]:
        if calendar == APT:
            own = self.meetings.get((APT, unit or ""))
            if own is not None:
                return own
            return self.meetings.get((APT, ""), ())
        return self.meetings.get((calendar, ""), ())

    def meetings_between(
        self, calendar: str, start: date, end: date, unit: str | None = None
    ) -> list[date]:
        dates = self.meeting_dates(calendar, unit)
        lo = bisect.bisect_left(dates, start)
        hi = bisect.bisect_right(dates, end)
        return list(dates[lo:hi])

    def next_meeting(self, calendar: str, after: date, unit: str | None = None) -> date | None:
        """The first meeting strictly after `after` ("nästkommande")."""
        dates = self.meeting_dates(calendar, unit)
        i = bisect.bisect_right(dates, after)
        return dates[i] if i < len(dates) else None

    # -- working days --------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        closed = _holidays(self.holiday_country, self.holiday_categories, day.year)
        return day.isoweekday() < 6 and day not in closed

    def previous_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, otherwise the closest working day before it."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_days(self, start: date, end: date) -> Iterator[date]:
        day = start
        while day <= end:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)


@lru_cache(maxsize=64)
def _holidays(country: str, categories: tuple[str, ...], year: int) -> frozenset[date]:
    # "de_facto" adds midsommarafton, julafton and nyårsafton: not public holidays by law, but
    # municipal offices are closed, so nobody should get a reminder then.
    closed = holidays.country_holidays(country, years=year, categories=categories)
    return frozenset(closed.keys())


# -- loading ------------------------------------------------------------------------------


def parse_calendars(
    data: Mapping[str, Any],
    file: str,
    *,
    defaults: TermDefaults | None = None,
    default_rule: AptRule | None = None,
    units: Sequence[str] = (),
) -> tuple[list[TermSpan], dict[tuple[str, str], list[date]], AptRule, dict[str, AptRule]]:
    """Validate the calendars document: terms, the APT rule and overrides, meeting dates."""
    problems: list[Problem] = []
    terms: list[TermSpan] = []
    for n, raw in enumerate(data.get("term", []), start=1):
        name = " ".join(str(raw.get("name", "")).upper().split())
        start, end = raw.get("start"), raw.get("end")
        parts = name.split()
        if len(parts) != 2 or parts[0] not in ("VT", "HT") or not parts[1].isdigit():
            problems.append(
                Problem(file, f"termin {n}", f'namnet {name!r} ska vara t.ex. "HT 2025".')
            )
        elif not isinstance(start, date) or not isinstance(end, date) or end < start:
            problems.append(
                Problem(file, f"termin {name}", "start och end måste vara datum, start före end.")
            )
        else:
            terms.append(TermSpan(name, start, end))
    rule = default_rule or AptRule()
    apt = data.get("apt", {})
    try:
        rule = _rule(apt, rule)
    except ValueError as exc:
        problems.append(Problem(file, "[apt]", str(exc)))
    unit_rules: dict[str, AptRule] = {}
    meetings: dict[tuple[str, str], list[date]] = {}
    for n, raw in enumerate(apt.get("unit", []), start=1):
        unit = str(raw.get("unit", ""))
        where = f"[[apt.unit]] {n} ({unit})"
        if units and unit not in units:
            problems.append(Problem(file, where, f"enheten {unit!r} finns inte i katalogen."))
            continue
        if "dates" in raw:
            dates = raw["dates"]
            if not all(isinstance(d, date) for d in dates):
                problems.append(Problem(file, where, "dates måste vara en lista av datum."))
                continue
            meetings[(APT, unit)] = sorted(set(dates))  # a date listed twice is one meeting
        else:
            try:
                unit_rules[unit] = _rule(raw, rule)
            except ValueError as exc:
                problems.append(Problem(file, where, str(exc)))
    for calendar, dates in data.get("meetings", {}).items():
        if not isinstance(dates, list) or not all(isinstance(d, date) for d in dates):
            problems.append(
                Problem(file, f"[meetings] {calendar}", "måste vara en lista av datum.")
            )
            continue
        meetings[(_calendar_name(calendar), "")] = sorted(set(dates))
    if problems:
        raise InputError(problems)
    return terms, meetings, rule, unit_rules


def _calendar_name(name: str) -> str:
    lowered = name.strip().lower()
    return NAMND if lowered in ("nämnd", "son", "nämndsmöte", "socialnämnden") else lowered


def _rule(raw: Mapping[str, Any], base: AptRule) -> AptRule:
    weekday = int(raw.get("weekday", base.weekday))
    nth = int(raw.get("nth", base.nth))
    skip = tuple(int(m) for m in raw.get("skip_months", base.skip_months))
    if not 1 <= weekday <= 7 or not 1 <= nth <= 5 or not all(1 <= m <= 12 for m in skip):
        raise ValueError("weekday ska vara 1–7, nth 1–5 och skip_months månader 1–12.")
    return AptRule(weekday, nth, skip)


def store_calendars(
    session: Session,
    path: Path,
    display: str,
    *,
    defaults: TermDefaults,
    default_rule: AptRule,
    units: Sequence[str],
    span: tuple[date, date],
) -> None:
    """Replace the stored terms and meetings with the file's; APT rules are expanded over `span`."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise InputError([Problem(display, "", "filen finns inte.")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(display, "", f"ogiltig TOML: {exc}.")]) from None
    terms, meetings, rule, unit_rules = parse_calendars(
        data, display, defaults=defaults, default_rule=default_rule, units=units
    )
    meetings[(APT, "")] = rule.dates(*span)
    for unit, unit_rule in unit_rules.items():
        meetings[(APT, unit)] = unit_rule.dates(*span)
    session.execute(delete(Term))
    session.execute(delete(Meeting))
    session.add_all(Term(name=t.name, start=t.start, end=t.end) for t in terms)
    session.add_all(
        Meeting(calendar=cal, unit_code=unit, on=day)
        for (cal, unit), dates in meetings.items()
        for day in dates
    )
    session.flush()


def load_calendars(
    session: Session,
    *,
    defaults: TermDefaults | None = None,
    country: str = "SE",
    categories: tuple[str, ...] = ("public", "de_facto"),
) -> Calendars:
    terms = tuple(
        TermSpan(t.name, t.start, t.end) for t in session.scalars(select(Term).order_by(Term.start))
    )
    grouped: dict[tuple[str, str], list[date]] = {}
    for m in session.scalars(select(Meeting).order_by(Meeting.on)):
        grouped.setdefault((m.calendar, m.unit_code), []).append(m.on)
    return Calendars(
        terms=terms,
        meetings={k: tuple(v) for k, v in grouped.items()},
        term_defaults=defaults or TermDefaults(),
        holiday_country=country,
        holiday_categories=categories,
    )
