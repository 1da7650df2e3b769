"""The report as data: the plan's rows in order with the last column filled, and the figures.

I/O at this edge only: it reads the store once and hands pure data to the writers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Row as SqlRow
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import i18n
from service.directory import load_directory, person_administrations
from service.figures import (
    CONTINUOUS,
    Fact,
    Figures,
    Period,
    compute,
    grouped,
    monthly_on_time,
    trend,
)
from service.indicators import Shown, shown_for
from service.models import Area, Item, Occurrence, Person, Plan
from service.occurrences import DONE, NOT_APPLICABLE, OPEN, OVERDUE, status_at

HEADERS = ("Område", "Åtgärd/aktivitet", "Ansvarig", "Klart när?", "Kontroll utfört. Datum.")
STATUS_SV = {
    DONE: "klar",
    OPEN: "pågår",
    OVERDUE: "försenad",
    NOT_APPLICABLE: "inte aktuell",
    "postponed": "uppskjuten",
    "waiting": "ej påbörjad",
}


class UnknownPlan(LookupError):
    pass


@dataclass(frozen=True)
class PersonLine:
    """One responsible person's state of an item at the report day."""

    name: str
    status: str
    done_on: date | None
    due: date | None
    result_note: str
    reason: str
    stand_in: str = ""  # who marked it, when a stand-in did so for the absent person


@dataclass(frozen=True)
class Row:
    area_title: str
    number: str
    title: str
    responsible: str
    deadline: str
    cadence: str
    check: tuple[str, ...]  # the filled "Kontroll utfört. Datum." cell, one line per paragraph
    status: str
    people: tuple[PersonLine, ...]
    item_id: int = 0

    @property
    def is_sub_step(self) -> bool:
        return "." in self.number

    @property
    def check_text(self) -> str:
        return "\n".join(self.check)


@dataclass(frozen=True)
class AreaReport:
    position: int
    title: str
    description: str
    rows: tuple[Row, ...]
    figures: Figures
    indicators: tuple[Shown, ...] = ()

    @property
    def headline(self) -> str:
        """ "8 av 9 aktiviteter klara, Tillitsindex 61 → 67, mål 70"."""
        parts = [
            f"{self.figures.activities_done} av {self.figures.activities_due} aktiviteter klara"
        ]
        parts += [i.line for i in self.indicators]
        return ", ".join(parts)


@dataclass(frozen=True)
class PlanReport:
    slug: str
    title: str
    organisation: str
    background: str
    source: str
    follow_from: date
    start: date
    end: date
    at: date
    meeting: date | None
    committee: str
    figures: Figures
    areas: tuple[AreaReport, ...]
    monthly: tuple[tuple[date, float | None], ...]
    indicators: tuple[Shown, ...] = ()
    by_role: dict[str, Figures] = field(default_factory=dict)
    by_unit: dict[str, Figures] = field(default_factory=dict)
    by_administration: dict[str, Figures] = field(default_factory=dict)
    administration_names: dict[str, str] = field(default_factory=dict)  # code -> name

    @property
    def administration_lines(self) -> list[str]:
        """A plan that several administrations answer for (a municipality-wide one): each
        one's part, in the directory's order, for the summary page."""
        if len(self.by_administration) < 2:
            return []
        names = self.administration_names
        order = [c for c in names if c in self.by_administration]
        order += sorted(c for c in self.by_administration if c not in names)
        return [
            trend_line(names.get(c) or MUNICIPALITY_WIDE, Figures(), self.by_administration[c])
            for c in order
            if self.by_administration[c].activities_due
        ]

    @property
    def rows(self) -> list[Row]:
        return [row for area in self.areas for row in area.rows]

    @property
    def heading_note(self) -> str:
        if self.meeting is None:
            return ""
        return f"Underlag till {self.committee} {i18n.format_date_sv(self.meeting)}"


def build_report(
    session: Session,
    slug: str,
    at: date,
    *,
    meeting: date | None = None,
    committee: str = "nämnden",
    start: date | None = None,
    tz: ZoneInfo = i18n.LOCAL_TZ,
) -> PlanReport:
    plan = session.scalars(select(Plan).where(Plan.slug == slug)).one_or_none()
    if plan is None:
        known = ", ".join(session.scalars(select(Plan.slug).order_by(Plan.slug)))
        raise UnknownPlan(f"Planen '{slug}' finns inte; välj en av: {known}.")
    items = [i for i in plan.items if i.active]
    occurrences = _occurrences(session, items)
    people = {p.id: p for p in session.scalars(select(Person))}
    directory = load_directory(session)
    administrations = person_administrations(session, directory)
    facts = facts_of(items, occurrences, people, tz, administrations)
    period = Period(start or plan.start, at)
    by_item: dict[int, list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        by_item[occ.item_id].append(occ)
    per_area = grouped(facts, period, "area")
    shown = shown_for(session, plan.id, at)
    areas = []
    for area in plan.areas:
        rows = tuple(
            row_of(area, item, by_item.get(item.id, []), people, at)
            for item in items
            if item.area_id == area.id
        )
        areas.append(
            AreaReport(
                area.position,
                area.title,
                area.description,
                rows,
                per_area.get(str(area.id), Figures()),
                tuple(shown.get(area.id, ())),
            )
        )
    return PlanReport(
        slug=plan.slug,
        title=plan.title,
        organisation=plan.organisation,
        background=plan.background.strip(),
        source=plan.source,
        follow_from=plan.follow_from,
        start=plan.start,
        end=plan.end,
        at=at,
        meeting=meeting,
        committee=committee,
        figures=compute(facts, period),
        areas=tuple(areas),
        monthly=tuple(monthly_on_time(facts, period)),
        indicators=tuple(shown.get(None, ())),
        by_role=grouped(facts, period, "role"),
        by_unit=grouped(facts, period, "unit"),
        by_administration=grouped(facts, period, "administration"),
        administration_names={
            code: names[0] for code, names in directory.organisation.administrations.items()
        },
    )


class OccurrenceRow(NamedTuple):
    """An occurrence as a plain tuple: what the digest reads of its administration's whole
    history, each field many times (for the progress lines, then the figures). A SQLAlchemy
    Row's attribute costs ten times a named tuple's, and on a national run that was a third of
    every digest."""

    id: int
    item_id: int
    person_id: int
    status: str
    done_on: date | None
    window_key: str
    window_end: date | None
    due: date | None
    postponed_to: date | None
    deferred_at: datetime | None
    effective_due: date | None  # the postponed date, else the due date

    @classmethod
    def columns(cls) -> list[Any]:
        """The select's columns, in the order of the fields."""
        effective = func.coalesce(Occurrence.postponed_to, Occurrence.due).label("effective_due")
        return [
            effective if name == "effective_due" else getattr(Occurrence, name)
            for name in cls._fields
        ]


# What the figures read of an occurrence: the ORM object, or a plain row of the same columns
# (item_id, person_id, window_key, due, postponed_to, status, done_on, deferred_at).
OccurrenceFacts = Occurrence | SqlRow[Any] | OccurrenceRow


def _occurrences(session: Session, items: Sequence[Item]) -> list[Occurrence]:
    ids = [i.id for i in items]
    out: list[Occurrence] = []
    for start in range(0, len(ids), 500):
        out.extend(
            session.scalars(
                select(Occurrence)
                .where(Occurrence.item_id.in_(ids[start : start + 500]))
                .order_by(Occurrence.id)
            )
        )
    return out


def facts_of(
    items: Sequence[Item],
    occurrences: Sequence[OccurrenceFacts],
    people: dict[int, Person] | None,
    tz: ZoneInfo = i18n.LOCAL_TZ,
    administrations: Mapping[int, str] | None = None,
) -> list[Fact]:
    """One fact per occurrence; `administrations` (person id -> code) fills the grouping key
    "administration". `people` None: facts in no groups, for figures that count them all
    alike (the digest's trends read 1,000,000 occurrences on a national run)."""
    if people is None:
        ungrouped: Mapping[str, str] = {}
        # The kind read once per item: an ORM attribute costs more than the rest of a fact.
        kinds = {i.id: i.deadline_kind for i in items}
        return [
            fact_of(o, kinds[o.item_id], ungrouped, tz) for o in occurrences if o.item_id in kinds
        ]
    item_by_id = {i.id: i for i in items}
    # The groups depend on the item and the person alone: built once per pair and shared by
    # their occurrences (a national digest reads tens of thousands of occurrences).
    groups: dict[tuple[int, int], Mapping[str, str]] = {}
    out = []
    for o in occurrences:
        item = item_by_id.get(o.item_id)
        if item is None:
            continue
        key = (o.item_id, o.person_id)
        if key not in groups:
            groups[key] = groups_of(item, o.person_id, people, administrations or {})
        out.append(fact_of(o, item.deadline_kind, groups[key], tz))
    return out


def area_figures(
    plan: Plan, items: Sequence[Item], occurrences: Sequence[Occurrence], at: date
) -> dict[int, Figures]:
    """Per area of `plan`, the figures over the plan's period up to `at` (for the dashboard)."""
    facts = facts_of(items, occurrences, {})
    per_area = grouped(facts, Period(plan.start, at), "area")
    return {area.id: per_area.get(str(area.id), Figures()) for area in plan.areas}


def fact_of(occ: OccurrenceFacts, kind: str, groups: Mapping[str, str], tz: ZoneInfo) -> Fact:
    """The occurrence, of an item of deadline `kind`, as the figures see it, in `groups` (see
    groups_of)."""
    return Fact(
        item_id=occ.item_id,
        window_key=occ.window_key,
        kind=kind,
        due=occ.due,
        postponed_to=occ.postponed_to,
        status=occ.status,
        done_on=occ.done_on,
        deferred_on=occ.deferred_at.astimezone(tz).date() if occ.deferred_at else None,
        groups=groups,
    )


def groups_of(
    item: Item, person_id: int, people: dict[int, Person], administrations: Mapping[int, str]
) -> Mapping[str, str]:
    """The groups the figures count an occurrence of `item` for `person_id` in. Its
    administration is the responsible person's: in a plan of the whole municipality each
    administration answers for its own part; a person the directory places in none counts
    with the plan's administration."""
    person = people.get(person_id)
    return {
        "plan": str(item.plan_id),
        "area": str(item.area_id),
        "role": person.role if person else "",
        "unit": (person.unit_code or "") if person else "",
        "administration": administrations.get(person_id) or item.plan.administration,
    }


def row_of(
    area: Area, item: Item, occs: Sequence[Occurrence], people: dict[int, Person], at: date
) -> Row:
    lines = tuple(
        sorted(
            (_person_line(o, people, at) for o in _current(occs, at)),
            key=lambda p: p.name,
        )
    )
    return Row(
        area_title=area.title,
        number=item.number,
        title=item.title,
        responsible=", ".join(item.responsible),
        deadline=item.deadline_phrase,
        cadence=item.cadence_phrase,
        check=check_lines(item, occs, lines, people, at),
        status=_row_status(lines),
        people=lines,
        item_id=item.id,
    )


def _current(occs: Sequence[Occurrence], at: date) -> list[Occurrence]:
    """Per person the occurrence that matters at `at`: the oldest begun one still open, else
    the latest begun one."""
    per_person: dict[int, list[Occurrence]] = defaultdict(list)
    for occ in occs:
        if occ.window_start is None or occ.window_start <= at:
            per_person[occ.person_id].append(occ)
    out = []
    for mine in per_person.values():
        outstanding = [o for o in mine if status_at(o, at) in (OPEN, OVERDUE)]
        key = _order
        out.append(min(outstanding, key=key) if outstanding else max(mine, key=key))
    return out


def _order(occ: Occurrence) -> tuple[date, date, int]:
    return (occ.window_start or date.min, occ.effective_due or date.max, occ.id)


def _person_line(occ: Occurrence, people: dict[int, Person], at: date) -> PersonLine:
    status = status_at(occ, at)
    if status == OPEN and occ.postponed_to is not None:
        status = "postponed"
    person = people.get(occ.person_id)
    return PersonLine(
        name=person.name if person else "",
        status=status,
        done_on=occ.done_on if status == DONE else None,
        due=occ.effective_due,
        result_note=occ.result_note if status == DONE else "",
        reason=occ.deferral_reason if status in (NOT_APPLICABLE, "postponed") else "",
        stand_in=_stand_in(occ, people) if status == DONE else "",
    )


def _stand_in(occ: Occurrence, people: dict[int, Person]) -> str:
    """The name of whoever marked `occ` done for its owner (a stand-in), else ""."""
    if occ.done_by_id is None or occ.done_by_id == occ.person_id:
        return ""
    actor = people.get(occ.done_by_id)
    return actor.name if actor else ""


def _row_status(lines: Sequence[PersonLine]) -> str:
    keys = {p.status for p in lines}
    if not keys:
        return "waiting"
    for key in (OVERDUE, "postponed", OPEN):
        if key in keys:
            return key
    return DONE if DONE in keys else NOT_APPLICABLE


def check_lines(
    item: Item,
    occs: Sequence[Occurrence],
    lines: Sequence[PersonLine],
    people: dict[int, Person],
    at: date,
) -> tuple[str, ...]:
    """The "Kontroll utfört. Datum." cell: done date and by whom, "x av y klara" with the
    people for fan-out items, result notes, postponements and "inte aktuell" with reasons,
    "försenad sedan …" for overdue ones."""
    out: list[str] = []
    if item.deadline_kind in ("recurring", "per_meeting"):
        ended = [o for o in occs if o.due is not None and o.due <= at]
        if ended:
            kept = sum(
                1
                for o in ended
                if status_at(o, at) == DONE and o.done_on and o.done_on <= (o.effective_due or at)
            )
            out.append(f"{kept} av {len(ended)} tillfällen klara i tid hittills.")
    if item.deadline_kind == "continuous":
        confirmed = [o.done_on for o in occs if status_at(o, at) == DONE and o.done_on]
        out.append(
            f"Senast avstämd {i18n.format_date_sv(max(confirmed))}."
            if confirmed
            else "Inte avstämd ännu."
        )
        return tuple(out)
    fan_out = len(lines) > 1
    if fan_out:
        done = [p for p in lines if p.status == DONE and p.done_on]
        counted = [p for p in lines if p.status != NOT_APPLICABLE]
        names = i18n.join_sv(
            f"{p.name} {i18n.format_date_short_sv(p.done_on)}" for p in done if p.done_on
        )
        out.append(f"{len(done)} av {len(counted)} klara" + (f": {names}." if names else "."))
    for p in lines:
        who = f"{p.name}: " if fan_out else ""
        if p.status == DONE and p.done_on:
            if p.stand_in:
                # Who did it and for whom: "Klart 3 december 2024, markerad klar av Anna
                # Berg (ersättare för Maria Sjöberg)."
                when = who if fan_out else f"Klart {i18n.format_date_sv(p.done_on)}, "
                out.append(f"{when}markerad klar av {i18n.acted_by_sv(p.stand_in, p.name)}.")
            elif not fan_out:
                out.append(f"Klart {i18n.format_date_sv(p.done_on)} ({p.name}).")
            if p.result_note:
                out.append(f"{who}Resultat: {p.result_note}")
        elif p.status == OVERDUE and p.due:
            out.append(f"{who}Försenad sedan {i18n.format_date_sv(p.due)}.")
        elif p.status == "postponed" and p.due:
            reason = f": {p.reason}" if p.reason else ""
            out.append(_sentence(f"{who}Uppskjuten till {i18n.format_date_sv(p.due)}{reason}"))
        elif p.status == NOT_APPLICABLE:
            reason = f": {p.reason}" if p.reason else ""
            out.append(_sentence(f"{who}Inte aktuell{reason}"))
    return tuple(out)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def trend_line(title: str, before: Figures, now: Figures, since: str = "sedan förra veckan") -> str:
    """One short line per plan for the digest: "Plan: 8 av 9 aktiviteter klara, 67 % i tid
    (+5 procentenheter sedan förra veckan)"; `since` names the period the change is over."""
    text = f"{title}: {now.activities_done} av {now.activities_due} aktiviteter med frist klara"
    if now.on_time_share is None:
        return text + "."
    share = round(now.on_time_share * 100)
    text += f", {share} % i tid"
    if before.on_time_share is None:
        return text + "."
    change = share - round(before.on_time_share * 100)
    if change == 0:
        return text + f" (oförändrat {since})."
    return text + f" ({change:+d} procentenheter {since})."


def plan_trends(
    items: Sequence[Item],
    occurrences: Sequence[OccurrenceFacts],
    today: date,
    tz: ZoneInfo = i18n.LOCAL_TZ,
    *,
    days: int = 7,
    since: str = "sedan förra veckan",
) -> list[str]:
    """Pure: the digest's lines, each plan's figures now and `days` ago (the previous digest).
    `items`: the active items of the digest's plans, in the order of their plans' titles;
    `occurrences`: theirs, as plain rows the digest has already read for its progress lines
    (reading them again as ORM objects had cost a quarter of every digest)."""
    plans: dict[int, Plan] = {}
    items_of: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        plans.setdefault(item.plan_id, item.plan)
        items_of[item.plan_id].append(item)
    plan_of = {item.id: item.plan_id for item in items}
    occurrences_of: dict[int, list[OccurrenceFacts]] = defaultdict(list)
    for occ in occurrences:
        if occ.item_id in plan_of:
            occurrences_of[plan_of[occ.item_id]].append(occ)
    lines = []
    for plan_id, plan in plans.items():
        facts = facts_of(items_of[plan_id], occurrences_of[plan_id], None, tz)
        before, now = trend(facts, Period(plan.start, today), days)
        if now.activities_due:
            lines.append(trend_line(plan.title, before, now, since))
    return lines


# The figures of people the directory places in no administration, in a plan of the whole
# municipality (the kommundirektör's own items); in a directory that declares no
# administrations, everyone's.
MUNICIPALITY_WIDE = "Kommunövergripande"
ONE_ADMINISTRATION = "Hela förvaltningen"


@dataclass(frozen=True)
class PlanPart:
    """One administration's part of one plan."""

    slug: str
    title: str
    figures: Figures


@dataclass(frozen=True)
class AdministrationFigures:
    code: str  # "": MUNICIPALITY_WIDE, or ONE_ADMINISTRATION without declared ones
    name: str
    figures: Figures
    week_before: Figures  # the same figures `days` earlier (the previous digest): its trend
    plans: tuple[PlanPart, ...] = ()


@dataclass(frozen=True)
class MunicipalityFigures:
    """Every plan's figures, per administration: the kommundirektör's view."""

    at: date
    start: date | None  # None: each plan from its own start
    figures: Figures
    administrations: tuple[AdministrationFigures, ...]


def municipality_figures(
    session: Session,
    at: date,
    *,
    start: date | None = None,
    tz: ZoneInfo = i18n.LOCAL_TZ,
    days: int = 7,
) -> MunicipalityFigures:
    """The figures of all plans per administration, over each plan's period (from its start,
    or from `start` for all) up to `at`. Every administration the directory declares is listed,
    also one with nothing due yet."""
    directory = load_directory(session)
    administrations = person_administrations(session, directory)
    people = {p.id: p for p in session.scalars(select(Person))}
    plans = list(session.scalars(select(Plan).order_by(Plan.title)))
    facts: list[Fact] = []
    for plan in plans:
        items = [i for i in plan.items if i.active]
        first = start or plan.start
        facts += [
            f
            for f in facts_of(items, _occurrences(session, items), people, tz, administrations)
            if f.kind == CONTINUOUS or f.due is None or f.due >= first
        ]
    period = Period(start or min((p.start for p in plans), default=at), at)
    names = {code: names[0] for code, names in directory.organisation.administrations.items()}
    by_administration: dict[str, list[Fact]] = {code: [] for code in names}
    for fact in facts:
        by_administration.setdefault(fact.groups["administration"], []).append(fact)
    titles = {str(p.id): (p.slug, p.title) for p in plans}
    unplaced = MUNICIPALITY_WIDE if names else ONE_ADMINISTRATION
    out = []
    for code, group in by_administration.items():
        before, now = trend(group, period, days)
        parts = tuple(
            PlanPart(*titles[plan_id], figures)
            for plan_id, figures in grouped(group, period, "plan").items()
        )
        out.append(
            AdministrationFigures(
                code,
                names.get(code, code) if code else unplaced,
                now,
                before,
                tuple(sorted(parts, key=lambda p: p.title)),
            )
        )
    return MunicipalityFigures(at, start, compute(facts, period), tuple(out))


def administration_lines(
    figures: MunicipalityFigures, since: str = "sedan förra veckan"
) -> list[str]:
    """The kommundirektör's digest: one line per administration with anything due, and its
    trend since the previous digest."""
    return [
        trend_line(a.name, a.week_before, a.figures, since)
        for a in figures.administrations
        if a.figures.activities_due
    ]
