"""Occurrences in the store: kept in line with the schedule, and their status at a date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.calendar import Calendars
from service.deadlines import Deadline, DeadlineKind
from service.directory import Directory
from service.models import Item, Occurrence, Plan, State
from service.plans.importer import item_roles
from service.schedule import DoneParent, ScheduleItem, Slot, expand

OPEN, DONE, NOT_APPLICABLE, OVERDUE = "open", "done", "not_applicable", "overdue"
_DATA_VERSION = "data_version"
_EXPANDED = "expanded"


def schedule_items(session: Session) -> list[ScheduleItem]:
    rows = session.execute(
        select(Item, Plan).join(Plan, Item.plan_id == Plan.id).where(Item.active.is_(True))
    ).all()
    return [
        ScheduleItem(
            id=item.id,
            roles=tuple(item_roles(item)),
            deadline=Deadline.from_json(item.deadline_json),
            plan_start=plan.start,
            plan_end=plan.end,
            follow_from=plan.follow_from,
            parent_id=item.parent_id,
        )
        for item, plan in rows
    ]


def done_parents(session: Session) -> list[DoneParent]:
    """Done occurrences of items that have relative children."""
    parent_ids = select(Item.parent_id).where(
        Item.deadline_kind == DeadlineKind.RELATIVE.value, Item.parent_id.is_not(None)
    )
    rows = session.scalars(
        select(Occurrence).where(Occurrence.item_id.in_(parent_ids), Occurrence.status == DONE)
    )
    return [
        DoneParent(o.id, o.item_id, o.person_id, o.done_on) for o in rows if o.done_on is not None
    ]


def bump_data_version(session: Session) -> None:
    """Something the schedule depends on changed: the next sync must expand again."""
    state = session.get(State, _DATA_VERSION)
    if state is None:
        session.add(State(key=_DATA_VERSION, value="1"))
    else:
        state.value = str(int(state.value) + 1)


def sync_occurrences(
    session: Session,
    directory: Directory,
    calendars: Calendars,
    *,
    today: date,
    now: datetime,
    horizon_days: int,
    checkin_every: str,
    force: bool = False,
) -> int:
    """Insert the occurrences the schedule calls for that are not stored yet.

    Expanding is skipped when neither the day nor the data changed since the last run, which
    keeps a tick cheap on a large store. Nothing is ever deleted: done records stay.
    """
    if not force and is_expanded(session, today, horizon_days, checkin_every):
        return 0
    slots = expand(
        schedule_items(session),
        directory,
        calendars,
        today + timedelta(days=horizon_days),
        done_parents=done_parents(session),
        checkin_every=checkin_every,
    )
    added = insert_missing(session, slots, now)
    mark_expanded(session, today, horizon_days, checkin_every)
    return added


def is_expanded(session: Session, today: date, horizon_days: int, checkin_every: str) -> bool:
    """True when neither the day nor the data changed since the last expansion."""
    expanded = session.get(State, _EXPANDED)
    stamp = _stamp(session, today, horizon_days, checkin_every)
    return expanded is not None and expanded.value == stamp


def _stamp(session: Session, today: date, horizon_days: int, checkin_every: str) -> str:
    version = session.get(State, _DATA_VERSION)
    return f"{today.isoformat()}|{version.value if version else 0}|{horizon_days}|{checkin_every}"


def mark_expanded(session: Session, today: date, horizon_days: int, checkin_every: str) -> None:
    """Record that the schedule is expanded for `today` and the current data."""
    stamp = _stamp(session, today, horizon_days, checkin_every)
    expanded = session.get(State, _EXPANDED)
    if expanded is None:
        session.add(State(key=_EXPANDED, value=stamp))
    else:
        expanded.value = stamp
    session.flush()


def insert_missing(session: Session, slots: Sequence[Slot], now: datetime) -> int:
    item_ids = {s.item_id for s in slots}
    existing: set[tuple[int, int, str]] = set()
    for chunk in _chunks(sorted(item_ids), 500):
        existing.update(
            session.execute(
                select(Occurrence.item_id, Occurrence.person_id, Occurrence.window_key).where(
                    Occurrence.item_id.in_(chunk)
                )
            ).tuples()
        )
    new = [s for s in slots if s.key not in existing]
    session.add_all(
        Occurrence(
            item_id=s.item_id,
            person_id=s.person_id,
            window_key=s.window_key,
            window_start=s.window_start,
            window_end=s.window_end,
            due=s.due,
            is_apt=s.is_apt,
            parent_occurrence_id=s.parent_occurrence_id,
            status=OPEN,
            created_at=now,
        )
        for s in new
    )
    session.flush()
    return len(new)


def _chunks(values: list[int], size: int) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def status_at(occ: Occurrence, at: date) -> str:
    """open, overdue, done or not_applicable, as things stood at the end of day `at`."""
    if occ.status == DONE and (occ.done_on is None or occ.done_on <= at):
        return DONE
    if occ.status == NOT_APPLICABLE:
        return NOT_APPLICABLE
    due = occ.effective_due
    if due is not None and due < at:
        return OVERDUE
    return OPEN


@dataclass(frozen=True)
class ItemCounts:
    open: int = 0
    done: int = 0
    overdue: int = 0
    not_applicable: int = 0


def count_statuses(occurrences: Sequence[Occurrence], at: date) -> ItemCounts:
    counts = {OPEN: 0, DONE: 0, OVERDUE: 0, NOT_APPLICABLE: 0}
    for occ in occurrences:
        counts[status_at(occ, at)] += 1
    return ItemCounts(counts[OPEN], counts[DONE], counts[OVERDUE], counts[NOT_APPLICABLE])
