"""Recording what people report: done, postponed, not applicable. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.deadlines import DeadlineKind
from service.models import AuditEntry, Item, Occurrence, Person
from service.occurrences import DONE, NOT_APPLICABLE, OPEN, bump_data_version


@dataclass(frozen=True)
class Outcome:
    changed: bool  # False: it was already done / not applicable; nothing was written
    occurrence: Occurrence
    # True when the schedule must be expanded again (relative children are now due);
    # callers then run app.sync, and can skip it otherwise.
    needs_sync: bool = False


def mark_done(
    session: Session,
    occurrence_id: int,
    *,
    by: Person,
    on: date,
    via: str,
    now: datetime,
    comment: str = "",
    result_note: str = "",
    actor: str = "",
) -> Outcome:
    """Mark one occurrence done, once; concurrent clicks are safe (see _record).

    `actor` names who acted when it is not `by` (an admin marking on someone's behalf).
    """
    outcome = _record(
        session,
        occurrence_id,
        {
            "status": DONE,
            "done_on": on,
            "done_at": now,
            "done_by_id": by.id,
            "done_via": via,
            "comment": comment.strip(),
            "result_note": result_note.strip(),
        },
        action="occurrence.done",
        actor=actor or by.email,
        now=now,
        detail={
            "on": on.isoformat(),
            "via": via,
            "comment": comment,
            "result": result_note,
            **({"on_behalf_of": by.email} if actor else {}),
        },
    )
    if not outcome.changed:
        return outcome
    needs_sync = _has_relative_children(session, outcome.occurrence.item_id)
    if needs_sync:
        bump_data_version(session)  # the next sync creates "på nästkommande APT" children
        session.flush()
    return Outcome(True, outcome.occurrence, needs_sync)


def postpone(
    session: Session, occurrence_id: int, *, by: Person, to: date, reason: str, now: datetime
) -> Outcome:
    """Record a proposed new date; reminders follow the new date from now on."""
    current = session.get(Occurrence, occurrence_id)
    previous = current.effective_due if current is not None else None
    return _record(
        session,
        occurrence_id,
        {
            "postponed_to": to,
            "deferral_reason": reason.strip(),
            "deferred_at": now,
            "deferred_by_id": by.id,
        },
        action="occurrence.postponed",
        actor=by.email,
        now=now,
        detail={
            "from": previous.isoformat() if previous else None,
            "to": to.isoformat(),
            "reason": reason,
        },
    )


def mark_not_applicable(
    session: Session, occurrence_id: int, *, by: Person, reason: str, now: datetime
) -> Outcome:
    return _record(
        session,
        occurrence_id,
        {
            "status": NOT_APPLICABLE,
            "deferral_reason": reason.strip(),
            "deferred_at": now,
            "deferred_by_id": by.id,
        },
        action="occurrence.not_applicable",
        actor=by.email,
        now=now,
        detail={"reason": reason},
    )


def _record(
    session: Session,
    occurrence_id: int,
    values: dict[str, Any],
    *,
    action: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
) -> Outcome:
    """Apply `values` to an open occurrence and audit it, or change nothing if it is no longer
    open: the conditional UPDATE lets exactly one of two concurrent requests win."""
    result = session.execute(
        update(Occurrence)
        .where(Occurrence.id == occurrence_id, Occurrence.status == OPEN)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    occurrence = session.get(Occurrence, occurrence_id, populate_existing=True)
    assert occurrence is not None
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Outcome(False, occurrence)
    session.add(
        AuditEntry(at=now, actor=actor, action=action, occurrence_id=occurrence_id, detail=detail)
    )
    session.flush()
    return Outcome(True, occurrence)


def _has_relative_children(session: Session, item_id: int) -> bool:
    child = session.scalar(
        select(Item.id).where(
            Item.parent_id == item_id,
            Item.deadline_kind == DeadlineKind.RELATIVE.value,
            Item.active.is_(True),
        )
    )
    return child is not None
