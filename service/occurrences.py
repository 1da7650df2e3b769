"""Occurrences in the store: kept in line with the schedule, and their status at a date."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Text, and_, cast, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service import roles
from service.calendar import Calendars
from service.db import dialect_insert
from service.deadlines import Deadline, DeadlineKind
from service.directory import Directory
from service.models import AuditEntry, Item, Occurrence, Plan, State
from service.roles import RoleMatch, RoleVocabulary
from service.schedule import DoneParent, ScheduleItem, Slot, expand, meetings_of

OPEN, DONE, NOT_APPLICABLE, OVERDUE = "open", "done", "not_applicable", "overdue"
_DATA_VERSION = "data_version"
_EXPANDED = "expanded"
_MEETING = "möte "
_RELATIVE = "efter "
# A committee meeting moved by at most this much is the same meeting: its occurrence follows.
_MEETING_MOVE = timedelta(days=62)
RETIRED_REASON = "Aktiviteten finns inte längre i planen."
CANCELLED_REASON = "Mötet finns inte längre i kalendern."
OUTSIDE_REASON = "Mötet ingår inte längre i aktivitetens period."


def schedule_items(session: Session, vocabulary: RoleVocabulary) -> list[ScheduleItem]:
    rows = session.execute(
        select(Item, Plan).join(Plan, Item.plan_id == Plan.id).where(Item.active.is_(True))
    ).all()
    return [
        ScheduleItem(
            id=item.id,
            roles=item_targets(item.responsible, plan.coordinator, vocabulary, plan.administration),
            deadline=Deadline.from_json(item.deadline_json),
            plan_start=plan.start,
            plan_end=plan.end,
            follow_from=plan.follow_from,
            parent_id=item.parent_id,
            administration=plan.administration,
        )
        for item, plan in rows
    ]


def item_targets(
    responsible: Sequence[str],
    coordinator: str,
    vocabulary: RoleVocabulary,
    administration: str = "",
) -> tuple[str, ...]:
    """Whom an item is reminded to (Directory.holders keys). An item naming only parties outside
    the organisation is followed up by the plan's coordinator, by default the head of the plan's
    administration."""
    targets = [
        within_administration(k, administration, vocabulary)
        for k in roles.canonical_roles(responsible, vocabulary)
    ]
    if targets or not roles.external_parties(responsible, vocabulary):
        return tuple(targets)
    if coordinator:
        return tuple(roles.canonical_roles([coordinator], vocabulary))
    head = vocabulary.head_role
    if head is None:
        return ()
    return (RoleMatch(head, administration=administration or None).key,)


def within_administration(key: str, administration: str, vocabulary: RoleVocabulary) -> str:
    """A plan of one administration means its own holders by a bare "Enhetschef"; a plan of
    the whole municipality, or a party already narrowed, stays as it is."""
    match = RoleMatch.from_key(key)
    spec = vocabulary.spec(match.role)
    if not administration or match.area or match.unit or match.administration:
        return key
    if spec is not None and spec.level == roles.MUNICIPALITY:
        return key
    return RoleMatch(match.role, administration=administration).key


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


def bump_data_version(db: Session | Connection) -> None:
    """Something the schedule depends on changed: the next sync must expand again."""
    # One atomic statement: two instances bumping at once both count, neither fails.
    stmt = dialect_insert(db, State).values(key=_DATA_VERSION, value="1")
    db.execute(
        stmt.on_conflict_do_update(
            index_elements=[State.key], set_={"value": cast(cast(State.value, Integer) + 1, Text)}
        )
    )


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
    """Bring the stored occurrences in line with the schedule; returns how many were added.

    Missing occurrences are inserted; open ones follow a changed deadline, term end or moved
    meeting; open ones of items retired from their plan, or of meetings taken out of the
    calendar or of the item's period, are closed. Done and not-applicable
    records are never touched, and nothing is deleted. Expanding is skipped when neither the
    day nor the data changed since the last run, which keeps a tick cheap on a large store.
    """
    if not force and is_expanded(session, today, horizon_days, checkin_every):
        return 0
    items = schedule_items(session, directory.vocabulary)
    until = today + timedelta(days=horizon_days)
    slots = expand(
        items,
        directory,
        calendars,
        until,
        done_parents=done_parents(session),
        checkin_every=checkin_every,
    )
    stored = _stored(session, slots)
    taken = _follow_schedule(session, slots, stored, now)
    added = insert_missing(session, [s for s in slots if s.key not in taken], now, stored=stored)
    close_dropped_meetings(session, items, directory, calendars, until, now)
    retire_closed_items(session, now)
    mark_expanded(session, today, horizon_days, checkin_every)
    return added


def is_expanded(session: Session, today: date, horizon_days: int, checkin_every: str) -> bool:
    """True when neither the day nor the data changed since the last expansion."""
    expanded = _state(session, _EXPANDED)
    return expanded is not None and expanded == _stamp(session, today, horizon_days, checkin_every)


def _state(session: Session, key: str) -> str | None:
    # A query, not session.get: the upserts below bypass the identity map.
    return session.scalar(select(State.value).where(State.key == key))


def _stamp(session: Session, today: date, horizon_days: int, checkin_every: str) -> str:
    version = _state(session, _DATA_VERSION)
    return f"{today.isoformat()}|{version or 0}|{horizon_days}|{checkin_every}"


def mark_expanded(session: Session, today: date, horizon_days: int, checkin_every: str) -> None:
    """Record that the schedule is expanded for `today` and the current data."""
    stamp = _stamp(session, today, horizon_days, checkin_every)
    stmt = dialect_insert(session, State).values(key=_EXPANDED, value=stamp)
    session.execute(
        stmt.on_conflict_do_update(index_elements=[State.key], set_={"value": stmt.excluded.value})
    )
    session.flush()


@dataclass(frozen=True)
class _Stored:
    id: int
    status: str
    due: date | None
    window_start: date | None
    window_end: date | None


_Key = tuple[int, int, str]


def _stored(session: Session, slots: Sequence[Slot]) -> dict[_Key, _Stored]:
    """The stored occurrences of the slots' items, by (item, person, window)."""
    item_ids = {s.item_id for s in slots}
    out: dict[_Key, _Stored] = {}
    for chunk in _chunks(sorted(item_ids), 500):
        rows = session.execute(
            select(
                Occurrence.item_id,
                Occurrence.person_id,
                Occurrence.window_key,
                Occurrence.id,
                Occurrence.status,
                Occurrence.due,
                Occurrence.window_start,
                Occurrence.window_end,
            ).where(Occurrence.item_id.in_(chunk))
        ).tuples()
        for item_id, person_id, key, occ_id, status, due, start, end in rows:
            out[(item_id, person_id, key)] = _Stored(occ_id, status, due, start, end)
    return out


def _follow_schedule(
    session: Session, slots: Sequence[Slot], stored: dict[_Key, _Stored], now: datetime
) -> set[_Key]:
    """Open occurrences take their slot's current dates; a moved committee meeting takes its
    occurrence along. Returns the slots that a moved meeting's occurrence now fills."""
    taken: set[_Key] = set()
    fresh: dict[tuple[int, int], list[Slot]] = {}
    for slot in slots:
        if slot.parent_occurrence_id is not None or slot.window_key.startswith(_RELATIVE):
            continue  # follows a done parent: its date was settled when the parent was done
        occ = stored.get(slot.key)
        if occ is None:
            if slot.window_key.startswith(_MEETING):
                fresh.setdefault((slot.item_id, slot.person_id), []).append(slot)
        elif occ.status == OPEN and _dates(occ) != _dates(slot):
            _reschedule(session, occ, slot.window_key, slot, now)
    if not fresh:
        return taken
    wanted = {s.key for s in slots}
    for (item_id, person_id, key), occ in stored.items():
        candidates = fresh.get((item_id, person_id))
        if not candidates or not key.startswith(_MEETING) or (item_id, person_id, key) in wanted:
            continue
        # The meeting this occurrence was for is gone; the nearest new meeting is the same one
        # moved. A done record keeps its date but still stands for it: no second occurrence.
        old = occ.due
        if old is None:
            continue
        near = min(candidates, key=lambda s: abs((s.due or date.max) - old))
        if near.due is None or abs(near.due - old) > _MEETING_MOVE:
            continue
        candidates.remove(near)
        taken.add(near.key)
        if occ.status == OPEN:
            _reschedule(session, occ, key, near, now)
    return taken


def _dates(o: _Stored | Slot) -> tuple[date | None, date | None, date | None]:
    return (o.due, o.window_start, o.window_end)


def _reschedule(session: Session, occ: _Stored, key: str, slot: Slot, now: datetime) -> None:
    # Compare-and-set: when another instance got there first, nothing is left to do or audit.
    moved = session.scalar(
        update(Occurrence)
        .where(
            Occurrence.id == occ.id,
            Occurrence.status == OPEN,
            Occurrence.window_key == key,
            _is(Occurrence.due, occ.due),
            _is(Occurrence.window_start, occ.window_start),
            _is(Occurrence.window_end, occ.window_end),
        )
        .values(
            window_key=slot.window_key,
            due=slot.due,
            window_start=slot.window_start,
            window_end=slot.window_end,
        )
        .returning(Occurrence.id)
    )
    if moved is None:
        return
    session.add(
        AuditEntry(
            at=now,
            actor="schedule",
            action="occurrence.rescheduled",
            occurrence_id=occ.id,
            detail={"from": _when(key, occ), "to": _when(slot.window_key, slot)},
        )
    )


def _when(key: str, o: _Stored | Slot) -> dict[str, str | None]:
    def iso(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "window": key,
        "due": iso(o.due),
        "window_start": iso(o.window_start),
        "window_end": iso(o.window_end),
    }


def _is(column: Any, value: date | None) -> Any:
    return column.is_(None) if value is None else column == value


def close_dropped_meetings(
    session: Session,
    items: Sequence[ScheduleItem],
    directory: Directory,
    calendars: Calendars,
    until: date,
    now: datetime,
) -> int:
    """Open occurrences for a meeting that is no longer wanted are closed: one the calendar no
    longer has (an APT or committee meeting taken out, and no nearby one that took its
    occurrence along as a move), or one outside the item's period after a re-import narrowed it
    ("färdigt februari" where it said "mars"). Nobody is reminded of a meeting that will not be
    held, or that the plan no longer asks for. Returns how many closed.

    A person no longer in the directory keeps theirs (see retire_closed_items).
    """
    per_meeting = {i.id: i for i in items if i.deadline.kind is DeadlineKind.PER_MEETING}
    if not per_meeting:
        return 0
    rows = session.execute(
        select(Occurrence.id, Occurrence.item_id, Occurrence.person_id, Occurrence.due).where(
            Occurrence.status == OPEN,
            Occurrence.item_id.in_(per_meeting),
            Occurrence.window_key.startswith(_MEETING),
        )
    ).tuples()
    cancelled, outside = [], []
    for occ_id, item_id, person_id, due in rows:
        item = per_meeting[item_id]
        person = directory.by_id(person_id)
        calendar = item.deadline.calendar
        if due is None or due > until or person is None or calendar is None:
            continue
        lo, hi = item.series_range(until)
        if not lo <= due <= hi:
            outside.append(occ_id)
        elif not meetings_of(calendars.of(item.administration), calendar, person, due, due):
            cancelled.append(occ_id)
    closed = 0
    for ids, reason, action in (
        (cancelled, CANCELLED_REASON, "occurrence.meeting_cancelled"),
        (outside, OUTSIDE_REASON, "occurrence.meeting_dropped"),
    ):
        if ids:
            closed += len(
                _change_audited(
                    session,
                    (Occurrence.id.in_(ids), Occurrence.status == OPEN),
                    {"status": NOT_APPLICABLE, "deferral_reason": reason, "deferred_at": now},
                    action,
                    now,
                )
            )
    return closed


def retire_closed_items(session: Session, now: datetime) -> int:
    """Open occurrences of items a re-import retired no longer apply; returns how many closed.

    Open occurrences of active items are left alone even when no slot calls for them: the
    person who left keeps theirs until somebody takes the role over (service/reassignment.py).
    """
    retired = select(Item.id).where(Item.active.is_(False))
    # A postponement someone recorded (its reason, when and by whom) is kept in the audit
    # entry and comes back if the item returns (reopen_retired): the retirement had written
    # over it, and the person's deferred_by_id had kept the occurrence closed for good.
    kept = {
        row.id: {
            "kept": {
                "deferral_reason": row.deferral_reason,
                "deferred_at": row.deferred_at.isoformat() if row.deferred_at else None,
                "deferred_by_id": row.deferred_by_id,
            }
        }
        for row in session.execute(
            select(
                Occurrence.id,
                Occurrence.deferral_reason,
                Occurrence.deferred_at,
                Occurrence.deferred_by_id,
            ).where(Occurrence.status == OPEN, Occurrence.item_id.in_(retired))
        )
        if row.deferred_by_id or row.deferral_reason
    }
    return len(
        _change_audited(
            session,
            (Occurrence.status == OPEN, Occurrence.item_id.in_(retired)),
            {
                "status": NOT_APPLICABLE,
                "deferral_reason": RETIRED_REASON,
                "deferred_at": now,
                "deferred_by_id": None,
            },
            "occurrence.retired",
            now,
            details=kept,
        )
    )


def _change_audited(
    session: Session,
    where: Sequence[Any],
    values: dict[str, Any],
    action: str,
    now: datetime,
    *,
    details: Mapping[int, dict[str, Any]] | None = None,
) -> Sequence[int]:
    """The schedule's own change to the occurrences `where` selects, each audited as `action`
    (with its entry of `details`, if any); returns the ids it changed."""
    ids = session.scalars(
        update(Occurrence).where(*where).values(values).returning(Occurrence.id)
    ).all()
    session.add_all(
        AuditEntry(
            at=now,
            actor="schedule",
            action=action,
            occurrence_id=occ_id,
            detail=(details or {}).get(occ_id, {}),
        )
        for occ_id in ids
    )
    session.flush()
    return ids


def reopen_retired(session: Session, item_id: int, now: datetime, today: date) -> int:
    """An item back in its plan after a re-import had retired it: its occurrences closed by
    the retirement reopen, those still ahead (due today or later, or a check-in window not
    yet over); the ones whose date passed meanwhile stay closed, rather than arrive as a pile
    of overdue reminders. Returns how many reopened."""
    ahead = or_(
        func.coalesce(Occurrence.postponed_to, Occurrence.due) >= today,
        and_(Occurrence.due.is_(None), Occurrence.window_end >= today),
        and_(Occurrence.due.is_(None), Occurrence.window_end.is_(None)),
    )
    ids = _change_audited(
        session,
        (
            Occurrence.item_id == item_id,
            Occurrence.status == NOT_APPLICABLE,
            Occurrence.deferral_reason == RETIRED_REASON,
            Occurrence.deferred_by_id.is_(None),  # closed by the schedule, not by a person
            ahead,
        ),
        {"status": OPEN, "deferral_reason": "", "deferred_at": None},
        "occurrence.reopened",
        now,
    )
    for occ_id in ids:
        retirement = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.occurrence_id == occ_id, AuditEntry.action == "occurrence.retired")
            .order_by(AuditEntry.id.desc())
            .limit(1)
        ).first()
        kept = (retirement.detail or {}).get("kept") if retirement is not None else None
        if kept:  # the postponement the retirement had set aside
            occ = session.get(Occurrence, occ_id)
            assert occ is not None
            occ.deferral_reason = str(kept.get("deferral_reason") or "")
            at = kept.get("deferred_at")
            occ.deferred_at = datetime.fromisoformat(at) if at else None
            occ.deferred_by_id = kept.get("deferred_by_id")
    session.flush()
    return len(ids)


def insert_missing(
    session: Session,
    slots: Sequence[Slot],
    now: datetime,
    *,
    stored: dict[_Key, _Stored] | None = None,
) -> int:
    """Insert the slots not stored yet; one that another instance inserts meanwhile is skipped."""
    existing = _stored(session, slots) if stored is None else stored
    new = [s for s in slots if s.key not in existing]
    if not new:
        return 0
    stmt = (
        dialect_insert(session, Occurrence)
        .on_conflict_do_nothing(index_elements=["item_id", "person_id", "window_key"])
        .returning(Occurrence.id)
    )
    inserted = session.execute(
        stmt,
        [
            {
                "item_id": s.item_id,
                "person_id": s.person_id,
                "window_key": s.window_key,
                "window_start": s.window_start,
                "window_end": s.window_end,
                "due": s.due,
                "is_apt": s.is_apt,
                "parent_occurrence_id": s.parent_occurrence_id,
                "status": OPEN,
                "created_at": now,
            }
            for s in new
        ],
    )
    return len(inserted.all())


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
