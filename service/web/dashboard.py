"""The dashboard: each plan as the municipality's table, filled in from the store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from service import i18n, roles
from service.calendar import NAMND, Calendars
from service.deadlines import DeadlineKind
from service.directory import load_directory
from service.figures import Figures
from service.indicators import Shown, shown_for
from service.models import Area, AuditEntry, Item, Occurrence, Person, Plan
from service.occurrences import DONE, NOT_APPLICABLE, OPEN, OVERDUE, status_at
from service.report import chart
from service.report.model import area_figures
from service.roles import RoleMatch
from service.web.present import STATUS_FILTERS, HistoryLine, Status, history_lines

WAITING = "waiting"


@dataclass(frozen=True)
class Filters:
    plan: str = ""
    area: int | None = None
    role: str = ""
    status: str = ""
    # Only these people's occurrences (the viewer's scope, service/scope.py); None: all.
    people: frozenset[int] | None = None
    # With `people`: the plans of this administration are shown in full (its head's view).
    full_administration: str | None = None

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        area = query.get("omrade", "")
        status = query.get("status", "")
        return cls(
            plan=query.get("plan", "")[:100],
            # isdigit() would let "²" through to int(); the cap keeps it in a database integer.
            area=int(area) if area.isdecimal() and len(area) <= 9 else None,
            role=query.get("roll", "")[:40],
            status=status if status in (*STATUS_FILTERS, WAITING) else "",
        )


@dataclass
class PersonRow:
    person: Person
    status: Status
    current: Occurrence | None
    last_done: date | None


@dataclass
class ItemRow:
    item: Item
    status: Status
    people: list[PersonRow]
    done: int
    total: int
    last_done: date | None
    next_due: date | None
    history: list[HistoryLine] = field(default_factory=list)

    @property
    def responsible(self) -> str:
        return ", ".join(self.item.responsible)

    @property
    def fan_out(self) -> bool:
        return self.total > 1


@dataclass
class AreaGroup:
    area: Area
    rows: list[ItemRow]


@dataclass
class PlanTable:
    plan: Plan
    groups: list[AreaGroup]
    # Effect figures per area id, over the plan's period up to today.
    figures: dict[int, Figures] = field(default_factory=dict)
    indicators: dict[int | None, list[Shown]] = field(default_factory=dict)
    # The plan's committee and its next meeting from today: the report links "Underlag till …".
    committee: str = "nämnden"
    next_meeting: date | None = None

    @property
    def row_count(self) -> int:
        return sum(len(g.rows) for g in self.groups)


@dataclass
class Dashboard:
    tables: list[PlanTable]
    filters: Filters
    plans: list[Plan]
    areas: list[Area]
    roles: list[tuple[str, str]]
    statuses: list[tuple[str, str]]
    counts: dict[str, int]


def build(
    session: Session, today: date, filters: Filters, calendars: Calendars | None = None
) -> Dashboard:
    plans = list(session.scalars(_visible_plans(filters).order_by(Plan.title)))
    shown_plans = [p for p in plans if not filters.plan or p.slug == filters.plan]
    plan_ids = [p.id for p in shown_plans]
    areas = list(
        session.scalars(
            select(Area).where(Area.plan_id.in_(plan_ids)).order_by(Area.plan_id, Area.position)
        )
    )
    items = list(
        session.scalars(
            select(Item)
            .where(Item.plan_id.in_(plan_ids), Item.active.is_(True))
            .order_by(Item.area_id, Item.position)
        )
    )
    occurrences = list(
        session.scalars(
            select(Occurrence)
            .where(Occurrence.item_id.in_([i.id for i in items]))
            .order_by(Occurrence.id)
        )
    )
    # Plans the viewer sees whole (a head's own administration's): every row, held or not yet.
    in_full = {p.id for p in shown_plans if p.administration == filters.full_administration}
    if filters.people is not None:
        plan_of = {i.id: i.plan_id for i in items}
        occurrences = [
            o for o in occurrences if o.person_id in filters.people or plan_of[o.item_id] in in_full
        ]
    people = {p.id: p for p in session.scalars(select(Person))}
    by_item: dict[int, list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        by_item[occ.item_id].append(occ)
    histories = _histories(session, occurrences)

    vocabulary = load_directory(session).vocabulary
    all_roles: set[str] = set()
    counts = {key: 0 for key in (OPEN, OVERDUE, DONE, NOT_APPLICABLE, WAITING)}
    rows_by_area: dict[int, list[ItemRow]] = defaultdict(list)
    for item in items:
        # Filtered by the role itself: "Verksamhetschef LSS" is among the verksamhetschefer.
        item_role_keys = [
            RoleMatch.from_key(k).role for k in roles.canonical_roles(item.responsible, vocabulary)
        ]
        all_roles.update(item_role_keys)
        if filters.people is not None and item.id not in by_item and item.plan_id not in in_full:
            continue  # nobody in the viewer's scope holds it
        row = item_row(item, by_item.get(item.id, []), people, today)
        row.history = histories.get(item.id, [])
        if filters.area is not None and item.area_id != filters.area:
            continue
        if filters.role and filters.role not in item_role_keys:
            continue
        if filters.status and row.status.key != filters.status:
            continue
        counts[row.status.key] += 1
        rows_by_area[item.area_id].append(row)

    tables = []
    for plan in shown_plans:
        groups = [
            AreaGroup(a, rows_by_area[a.id])
            for a in areas
            if a.plan_id == plan.id and rows_by_area.get(a.id)
        ]
        if groups:
            plan_items = [i for i in items if i.plan_id == plan.id]
            plan_occs = [o for i in plan_items for o in by_item.get(i.id, [])]
            figures = area_figures(plan, plan_items, plan_occs, today)
            # A plan of one administration goes to that administration's committee.
            calendar = (calendars or Calendars(terms=())).of(plan.administration)
            tables.append(
                PlanTable(
                    plan,
                    groups,
                    figures,
                    shown_for(session, plan.id, today),
                    committee=calendar.committee,
                    next_meeting=calendar.next_meeting(NAMND, today - timedelta(days=1)),
                )
            )
    return Dashboard(
        tables=tables,
        filters=filters,
        plans=plans,
        areas=areas if filters.plan else [],
        roles=sorted(((r, vocabulary.title(r, 2)) for r in all_roles), key=lambda pair: pair[1]),
        statuses=[*STATUS_FILTERS.items(), (WAITING, "Ej påbörjad")],
        counts=counts,
    )


def _visible_plans(filters: Filters) -> Select[tuple[Plan]]:
    """The plans the viewer has anything in: those of their administration (a head) and those
    where someone in their scope holds an item."""
    if filters.people is None:
        return select(Plan)
    held = (
        select(Item.plan_id)
        .join(Occurrence, Occurrence.item_id == Item.id)
        .where(Occurrence.person_id.in_(sorted(filters.people)))
    )
    if filters.full_administration is None:
        return select(Plan).where(Plan.id.in_(held))
    return select(Plan).where(
        or_(Plan.administration == filters.full_administration, Plan.id.in_(held))
    )


def item_row(
    item: Item, occurrences: Sequence[Occurrence], people: dict[int, Person], today: date
) -> ItemRow:
    """One table row: per person the occurrence that matters now, and the item's status.

    A person's current occurrence is their oldest one still open among the windows that have
    begun (what they owe), else their latest begun one (what they did last).
    """
    per_person: dict[int, list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        per_person[occ.person_id].append(occ)
    rows = []
    for person_id, occs in per_person.items():
        begun = [o for o in occs if o.window_start is None or o.window_start <= today]
        done_dates = [o.done_on for o in occs if o.status == DONE and o.done_on]
        last = max(done_dates) if done_dates else None
        if not begun:
            rows.append(PersonRow(people[person_id], Status(WAITING), None, last))
            continue
        outstanding = [o for o in begun if o.status == OPEN]
        current = min(outstanding, key=_order) if outstanding else max(begun, key=_order)
        rows.append(PersonRow(people[person_id], Status(status_at(current, today)), current, last))
    rows.sort(key=lambda r: r.person.name)
    keys = [r.status.key for r in rows]
    done = keys.count(DONE)
    if not keys:
        status = WAITING
    elif OVERDUE in keys:
        status = OVERDUE
    elif all(k in (DONE, NOT_APPLICABLE) for k in keys):
        status = DONE if done else NOT_APPLICABLE
    elif all(k == WAITING for k in keys):
        status = WAITING
    else:
        status = OPEN
    open_dues = [
        o.effective_due
        for o in occurrences
        if o.status == OPEN and o.effective_due is not None and o.effective_due >= today
    ]
    overdue_dues = [
        o.effective_due
        for o in occurrences
        if o.status == OPEN and o.effective_due is not None and o.effective_due < today
    ]
    done_dates_all = [r.last_done for r in rows if r.last_done]
    return ItemRow(
        item=item,
        status=Status(status),
        people=rows,
        done=done,
        total=len(rows),
        last_done=max(done_dates_all) if done_dates_all else None,
        next_due=min(overdue_dues or open_dues) if (overdue_dues or open_dues) else None,
    )


def _order(occ: Occurrence) -> tuple[date, date, int]:
    return (occ.window_start or date.min, occ.effective_due or date.max, occ.id)


def _histories(session: Session, occurrences: Sequence[Occurrence]) -> dict[int, list[HistoryLine]]:
    item_of = {o.id: o.item_id for o in occurrences}
    if not item_of:
        return {}
    entries: list[AuditEntry] = []
    ids = sorted(item_of)
    for start in range(0, len(ids), 500):
        entries.extend(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.occurrence_id.in_(ids[start : start + 500]))
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        )
    out: dict[int, list[HistoryLine]] = defaultdict(list)
    for entry, line in zip(entries, history_lines(session, entries), strict=True):
        assert entry.occurrence_id is not None
        out[item_of[entry.occurrence_id]].append(line)
    return out


def deadline_note(item: Item) -> str:
    """A word on items without a date: why the last column may stay empty."""
    if item.deadline_kind == DeadlineKind.AS_NEEDED.value:
        return "Vid behov: inga påminnelser."
    if item.deadline_kind == DeadlineKind.RELATIVE.value and item.parent_id is not None:
        # Without a parent ("inom 30 dagar" from the plan's start) it has a date like any other.
        return "Skapas när föregående aktivitet är klar."
    if item.deadline_kind == DeadlineKind.CONTINUOUS.value:
        return "Fortlöpande: avstämning varje termin."
    if item.deadline_kind == DeadlineKind.PERIOD.value:
        return "Under perioden: avstämning varje termin, klart vid periodens slut."
    return ""


def template_context(board: Dashboard, today: date) -> dict[str, Any]:
    return {
        "board": board,
        "today": today,
        "deadline_note": deadline_note,
        "plural": i18n.plural_sv,
        "chart_bar": chart.bar_svg,
        "describe_figures": chart.describe,
    }
