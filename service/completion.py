"""Recording what people report: done, postponed, not applicable. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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
    """Mark one occurrence done, once: a conditional UPDATE makes concurrent clicks safe.

    `actor` names who acted when it is not `by` (an admin marking on someone's behalf).
    """
    result = session.execute(
        update(Occurrence)
        .where(Occurrence.id == occurrence_id, Occurrence.status == OPEN)
        .values(
            status=DONE,
            done_on=on,
            done_at=now,
            done_by_id=by.id,
            done_via=via,
            comment=comment.strip(),
            result_note=result_note.strip(),
        )
        .execution_options(synchronize_session=False)
    )
    occurrence = session.get(Occurrence, occurrence_id, populate_existing=True)
    assert occurrence is not None
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Outcome(False, occurrence)
    session.add(
        AuditEntry(
            at=now,
            actor=actor or by.email,
            action="occurrence.done",
            occurrence_id=occurrence_id,
            detail={
                "on": on.isoformat(),
                "via": via,
                "comment": comment,
                "result": result_note,
                **({"on_behalf_of": by.email} if actor else {}),
            },
        )
    )
    needs_sync = _has_relative_children(session, occurrence.item_id)
    if needs_sync:
        bump_data_version(session)  # the next sync creates "på nästkommande APT" children
    session.flush()
    return Outcome(True, occurrence, needs_sync)


def postpone(
    session: Session, occurrence_id: int, *, by: Person, to: date, reason: str, now: datetime
) -> Outcome:
    """Record a proposed new date; reminders follow the new date from now on."""
    occurrence = session.get(Occurrence, occurrence_id)
    assert occurrence is not None
    if occurrence.status != OPEN:
        return Outcome(False, occurrence)
    previous = occurrence.effective_due
    occurrence.postponed_to = to
    occurrence.deferral_reason = reason.strip()
    occurrence.deferred_at = now
    occurrence.deferred_by_id = by.id
    session.add(
        AuditEntry(
            at=now,
            actor=by.email,
            action="occurrence.postponed",
            occurrence_id=occurrence_id,
            detail={
                "from": previous.isoformat() if previous else None,
                "to": to.isoformat(),
                "reason": reason,
            },
        )
    )
    session.flush()
    return Outcome(True, occurrence)


def mark_not_applicable(
    session: Session, occurrence_id: int, *, by: Person, reason: str, now: datetime
) -> Outcome:
    result = session.execute(
        update(Occurrence)
        .where(Occurrence.id == occurrence_id, Occurrence.status == OPEN)
        .values(
            status=NOT_APPLICABLE,
            deferral_reason=reason.strip(),
            deferred_at=now,
            deferred_by_id=by.id,
        )
        .execution_options(synchronize_session=False)
    )
    occurrence = session.get(Occurrence, occurrence_id, populate_existing=True)
    assert occurrence is not None
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Outcome(False, occurrence)
    session.add(
        AuditEntry(
            at=now,
            actor=by.email,
            action="occurrence.not_applicable",
            occurrence_id=occurrence_id,
            detail={"reason": reason},
        )
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
