"""Calendars: terms, committee meetings, APT dates per unit, and Swedish working days."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.models import (
    AdministrationCalendar,
    AdministrationMeeting,
    AdministrationTerm,
    Meeting,
    Term,
)
from service.problems import InputError, Problem, read_toml

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
    # The committee's name for the report header ("Underlag till socialnämnden …").
    committee: str = "nämnden"
    # An administration's own meeting series (name -> dates), asked before `meetings`.
    own_series: Mapping[str, tuple[date, ...]] = field(default_factory=dict)
    # Administration code -> its calendar, already merged with this (the default) one.
    administrations: Mapping[str, Calendars] = field(default_factory=dict)

    def of(self, administration: str | None) -> Calendars:
        """The calendar a plan of `administration` follows: its own where the calendars file
        has a section for it, otherwise the default (also for a municipality-wide plan)."""
        return self.administrations.get(administration or "", self)

    def with_sections(self, sections: Mapping[str, CalendarSection]) -> Calendars:
        """This default calendar with each administration's section resolved: what a section
        declares replaces that part (its terms, a meeting series by name, the committee's
        name); the rest stays the default. APT dates are per unit and already expanded into
        `meetings`, so they are the same whichever administration's calendar is asked. The
        default's meetings are shared, not copied: a store of many administrations stays
        cheap."""
        resolved = {
            code: replace(
                self,
                terms=section.terms or self.terms,
                own_series=section.meetings,
                apt_rule=section.apt_rule or self.apt_rule,
                committee=section.committee or self.committee,
                administrations={},
            )
            for code, section in sections.items()
        }
        return replace(self, administrations=resolved)

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
        own = self.own_series.get(calendar)
        return own if own is not None else self.meetings.get((calendar, ""), ())

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


# -- the calendars file ---------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarSection:
    """What one administration's `[administration.CODE]` declares; left out = the default."""

    committee: str = ""
    terms: tuple[TermSpan, ...] = ()
    meetings: Mapping[str, tuple[date, ...]] = field(default_factory=dict)  # series -> dates
    apt_rule: AptRule | None = None


@dataclass(frozen=True)
class CalendarFile:
    """The calendars file as read: the default calendar and the administrations' sections."""

    terms: tuple[TermSpan, ...]
    meetings: Mapping[tuple[str, str], tuple[date, ...]]  # series and units' own APT dates
    apt_rule: AptRule
    unit_rules: Mapping[str, AptRule]
    sections: Mapping[str, CalendarSection] = field(default_factory=dict)

    def meeting_rows(
        self, span: tuple[date, date], unit_administrations: Mapping[str, str]
    ) -> dict[tuple[str, str], tuple[date, ...]]:
        """The default meeting series and every APT date over `span`, per unit: the unit's own
        dates or rule, else its administration's rule, else the default rule ((APT, ""))."""
        rows = dict(self.meetings)
        rows[(APT, "")] = tuple(self.apt_rule.dates(*span))
        for unit, administration in unit_administrations.items():
            section = self.sections.get(administration)
            if section is None or section.apt_rule is None:
                continue
            if (APT, unit) not in rows and unit not in self.unit_rules:
                rows[(APT, unit)] = tuple(section.apt_rule.dates(*span))
        for unit, rule in self.unit_rules.items():
            rows[(APT, unit)] = tuple(rule.dates(*span))
        return rows

    def calendars(
        self,
        span: tuple[date, date],
        unit_administrations: Mapping[str, str] | None = None,
        *,
        term_defaults: TermDefaults | None = None,
        committee: str = "nämnden",
    ) -> Calendars:
        """The calendars this file describes, APT rules expanded over `span` (pure: what the
        store holds after store_calendars, without the store). `committee` is the default
        committee's name."""
        default = Calendars(
            terms=self.terms,
            meetings=self.meeting_rows(span, unit_administrations or {}),
            apt_rule=self.apt_rule,
            term_defaults=term_defaults or TermDefaults(),
            committee=committee,
        )
        return default.with_sections(self.sections)


def apt_span(terms: Sequence[TermSpan], today: date) -> tuple[date, date]:
    """The years APT rules are expanded over: every listed term, and some years around today
    (`bevakning reload` extends it as time passes)."""
    first = min([*(t.start for t in terms), today.replace(year=today.year - 3)])
    last = max([*(t.end for t in terms), today.replace(year=today.year + 5)])
    return date(first.year, 1, 1), date(last.year, 12, 31)


# The keys an `[administration.CODE]` section may hold.
_SECTION_KEYS = ("committee", "term", "apt", "meetings")


def parse_calendars(
    data: Mapping[str, Any],
    file: str,
    *,
    default_rule: AptRule | None = None,
    units: Sequence[str] = (),
    administrations: Sequence[str] | None = None,
) -> CalendarFile:
    """Validate the calendars document: terms, the APT rule and the units' own, meeting
    dates, and each administration's section. `units` and `administrations` are the codes the
    directory declares (None: not checked, as when a phrase is read without a store)."""
    problems: list[Problem] = []
    terms = _terms(data.get("term", []), file, "", problems)
    rule = default_rule or AptRule()
    apt = data.get("apt", {})
    try:
        rule = _rule(apt, rule)
    except ValueError as exc:
        problems.append(Problem(file, "[apt]", str(exc)))
    unit_rules: dict[str, AptRule] = {}
    meetings: dict[tuple[str, str], tuple[date, ...]] = {}
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
            meetings[(APT, unit)] = tuple(sorted(set(dates)))  # a date listed twice is one
        else:
            try:
                unit_rules[unit] = _rule(raw, rule)
            except ValueError as exc:
                problems.append(Problem(file, where, str(exc)))
    for name, dates in _series(data.get("meetings", {}), file, "", problems).items():
        meetings[(name, "")] = dates
    sections = _sections(data.get("administration", {}), file, rule, administrations, problems)
    if problems:
        raise InputError(problems)
    return CalendarFile(tuple(terms), meetings, rule, unit_rules, sections)


def _terms(raw_terms: Any, file: str, prefix: str, problems: list[Problem]) -> list[TermSpan]:
    terms: list[TermSpan] = []
    for n, raw in enumerate(raw_terms, start=1):
        name = " ".join(str(raw.get("name", "")).upper().split())
        start, end = raw.get("start"), raw.get("end")
        parts = name.split()
        if len(parts) != 2 or parts[0] not in ("VT", "HT") or not parts[1].isdigit():
            problems.append(
                Problem(file, f"{prefix}termin {n}", f'namnet {name!r} ska vara t.ex. "HT 2025".')
            )
        elif not isinstance(start, date) or not isinstance(end, date) or end < start:
            problems.append(
                Problem(
                    file,
                    f"{prefix}termin {name}",
                    "start och end måste vara datum, start före end.",
                )
            )
        else:
            terms.append(TermSpan(name, start, end))
    return terms


def _series(
    table: Any, file: str, prefix: str, problems: list[Problem]
) -> dict[str, tuple[date, ...]]:
    """A `[meetings]` table: series name -> its sorted dates (a date listed twice is one)."""
    out: dict[str, tuple[date, ...]] = {}
    for calendar, dates in table.items():
        if not isinstance(dates, list) or not all(isinstance(d, date) for d in dates):
            problems.append(
                Problem(file, f"{prefix}[meetings] {calendar}", "måste vara en lista av datum.")
            )
            continue
        if _calendar_name(calendar) == APT:
            # APT is per unit: a series here would be read by nobody.
            problems.append(
                Problem(
                    file,
                    f"{prefix}[meetings] {calendar}",
                    "APT anges som regel under [apt] eller per enhet under [[apt.unit]].",
                )
            )
            continue
        out[_calendar_name(calendar)] = tuple(sorted(set(dates)))
    return out


def _sections(
    table: Any,
    file: str,
    rule: AptRule,
    administrations: Sequence[str] | None,
    problems: list[Problem],
) -> dict[str, CalendarSection]:
    """The `[administration.CODE]` sections; a code the directory does not declare is refused
    (a typo would otherwise leave that administration on the default calendar unnoticed)."""
    if not isinstance(table, Mapping):
        problems.append(
            Problem(
                file, "administration", "skriv en tabell per förvaltning: [administration.KOD]."
            )
        )
        return {}
    sections: dict[str, CalendarSection] = {}
    for code, raw in table.items():
        where = f"[administration.{code}]"
        if administrations is not None and code not in administrations:
            known = ", ".join(administrations) or "inga"
            problems.append(
                Problem(
                    file,
                    where,
                    f"förvaltningen {code!r} finns inte i katalogen (förvaltningar: {known}); "
                    "använd en kod från katalogens [[administration]].",
                )
            )
            continue
        if not isinstance(raw, Mapping):
            problems.append(Problem(file, where, "måste vara en tabell."))
            continue
        unknown = [key for key in raw if key not in _SECTION_KEYS]
        if unknown:
            problems.append(
                Problem(
                    file,
                    f"{where} {', '.join(unknown)}",
                    f"okänd nyckel; en förvaltning kan ange {', '.join(_SECTION_KEYS)}.",
                )
            )
            continue
        committee = raw.get("committee", "")
        if not isinstance(committee, str):
            problems.append(Problem(file, f"{where} committee", "måste vara nämndens namn."))
            committee = ""
        own_rule: AptRule | None = None
        apt = raw.get("apt")
        if apt is not None and not isinstance(apt, Mapping):
            problems.append(Problem(file, f"{where} apt", "skriv [administration.KOD.apt]."))
        elif apt is not None:
            if "unit" in apt:
                problems.append(
                    Problem(
                        file,
                        f"{where} [[apt.unit]]",
                        "en enhets egen APT skrivs under [[apt.unit]] överst i filen.",
                    )
                )
            try:
                own_rule = _rule(apt, rule)
            except ValueError as exc:
                problems.append(Problem(file, f"{where} [apt]", str(exc)))
        sections[code] = CalendarSection(
            committee=" ".join(committee.split()),
            terms=tuple(_terms(raw.get("term", []), file, f"{where} ", problems)),
            meetings=_series(raw.get("meetings", {}), file, f"{where} ", problems),
            apt_rule=own_rule,
        )
    return sections


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
    default_rule: AptRule,
    units: Mapping[str, str],
    administrations: Sequence[str] | None,
    span: tuple[date, date],
) -> None:
    """Replace the stored terms and meetings with the file's; APT rules are expanded over
    `span`. `units` maps each unit code to its administration ("" = none declared)."""
    parsed = parse_calendars(
        read_toml(path, display),
        display,
        default_rule=default_rule,
        units=list(units),
        administrations=administrations,
    )
    for table in (Term, Meeting, AdministrationCalendar, AdministrationTerm, AdministrationMeeting):
        session.execute(delete(table))
    session.add_all(Term(name=t.name, start=t.start, end=t.end) for t in parsed.terms)
    session.add_all(
        Meeting(calendar=cal, unit_code=unit, on=day)
        for (cal, unit), dates in parsed.meeting_rows(span, units).items()
        for day in dates
    )
    for code, section in parsed.sections.items():
        session.add(AdministrationCalendar(administration=code, committee=section.committee))
        session.add_all(
            AdministrationTerm(administration=code, name=t.name, start=t.start, end=t.end)
            for t in section.terms
        )
        session.add_all(
            AdministrationMeeting(administration=code, calendar=name, on=day)
            for name, dates in section.meetings.items()
            for day in dates
        )
    session.flush()


def load_calendars(
    session: Session,
    *,
    defaults: TermDefaults | None = None,
    country: str = "SE",
    categories: tuple[str, ...] = ("public", "de_facto"),
    committee: str = "nämnden",
) -> Calendars:
    terms = tuple(
        TermSpan(t.name, t.start, t.end) for t in session.scalars(select(Term).order_by(Term.start))
    )
    grouped: dict[tuple[str, str], list[date]] = {}
    for m in session.scalars(select(Meeting).order_by(Meeting.on)):
        grouped.setdefault((m.calendar, m.unit_code), []).append(m.on)
    own_terms: dict[str, list[TermSpan]] = {}
    for t in session.scalars(select(AdministrationTerm).order_by(AdministrationTerm.start)):
        own_terms.setdefault(t.administration, []).append(TermSpan(t.name, t.start, t.end))
    own_meetings: dict[str, dict[str, list[date]]] = {}
    for a in session.scalars(select(AdministrationMeeting).order_by(AdministrationMeeting.on)):
        own_meetings.setdefault(a.administration, {}).setdefault(a.calendar, []).append(a.on)
    sections = {
        c.administration: CalendarSection(
            committee=c.committee,
            terms=tuple(own_terms.get(c.administration, ())),
            meetings={k: tuple(v) for k, v in own_meetings.get(c.administration, {}).items()},
        )
        for c in session.scalars(select(AdministrationCalendar))
    }
    return Calendars(
        terms=terms,
        meetings={k: tuple(v) for k, v in grouped.items()},
        term_defaults=defaults or TermDefaults(),
        holiday_country=country,
        holiday_categories=categories,
        committee=committee,
    ).with_sections(sections)
