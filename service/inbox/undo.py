"""Taking back a change a reply made ("klar 2" where 3 was meant), from the link in the answer.

Only the change the link names, only by the person it was made for, and only while nothing
else has happened to the occurrence since: a later click or reply wins over an old link.
What the change recorded stays in the audit log; the undoing is audited too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from service.links import Claim
from service.models import AuditEntry, Occurrence, Person
from service.models import Notice as NoticeRow
from service.occurrences import DONE, NOT_APPLICABLE, OPEN

UNDONE = "occurrence.undone"
DONE_ACTION = "occurrence.done"
# What each undoable change left the occurrence in.
_STATUS_AFTER = {
    "occurrence.done": DONE,
    "occurrence.not_applicable": NOT_APPLICABLE,
    "occurrence.postponed": OPEN,
}


@dataclass(frozen=True)
class Change:
    """The change a link names, as found in the audit log."""

    entry: AuditEntry
    occurrence: Occurrence
    person: Person
    # "" when it can be taken back; else why not: "changed" (something happened since),
    # "undone" (taken back already).
    blocked: str = ""


def find(session: Session, claim: Claim) -> Change | None:
    """The change the link names, or None when the link does not fit the store."""
    if claim.audit_id is None or claim.occurrence_id is None:
        return None
    entry = session.get(AuditEntry, claim.audit_id)
    occurrence = session.get(Occurrence, claim.occurrence_id)
    person = session.get(Person, claim.person_id)
    if (
        entry is None
        or occurrence is None
        or person is None
        or entry.occurrence_id != occurrence.id
        or entry.action not in _STATUS_AFTER
        or entry.actor.lower() != person.email.lower()
    ):
        return None
    latest = session.scalar(
        select(func.max(AuditEntry.id)).where(AuditEntry.occurrence_id == occurrence.id)
    )
    blocked = ""
    if latest != entry.id:
        later = session.scalar(select(AuditEntry.action).where(AuditEntry.id == latest))
        blocked = "undone" if later == UNDONE else "changed"
    elif occurrence.status != _STATUS_AFTER[entry.action]:
        blocked = "changed"
    return Change(entry, occurrence, person, blocked)


@dataclass(frozen=True)
class Undone:
    """A change taken back, and the untouched follow-ups removed with it."""

    removed_children: tuple[int, ...] = ()


def undo(session: Session, change: Change, *, now: datetime, via: str) -> Undone | None:
    """Take the change back; None (nothing written) if it can no longer be."""
    if change.blocked:
        return None
    entry, occurrence = change.entry, change.occurrence
    values: dict[str, Any]
    if entry.action == DONE_ACTION:
        values = {
            "status": OPEN,
            "done_on": None,
            "done_at": None,
            "done_by_id": None,
            "done_via": "",
            "comment": "",
            "result_note": "",
        }
    elif entry.action == "occurrence.not_applicable":
        values = {
            "status": OPEN,
            "deferral_reason": "",
            "deferred_at": None,
            "deferred_by_id": None,
        }
    else:
        before = entry.detail.get("from")
        earlier = date.fromisoformat(before) if before else None
        postponed_to = earlier if earlier is not None and earlier != occurrence.due else None
        values = {"postponed_to": postponed_to}
        if postponed_to is None:
            values.update(deferral_reason="", deferred_at=None, deferred_by_id=None)
    # Conditional, like every change: a click that lands at the same moment wins or loses
    # cleanly, never half.
    changed = session.execute(
        update(Occurrence)
        .where(Occurrence.id == occurrence.id, Occurrence.status == _STATUS_AFTER[entry.action])
        .values(**values)
        .returning(Occurrence.id)
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        return None
    removed = (
        _remove_children(session, occurrence.id, entry.at) if entry.action == DONE_ACTION else []
    )
    session.execute(
        insert(AuditEntry).values(
            at=now,
            actor=change.person.email,
            action=UNDONE,
            occurrence_id=occurrence.id,
            detail={
                "undid": entry.id,
                "action": entry.action,
                "via": via,
                **({"removed_children": removed} if removed else {}),
            },
        )
    )
    return Undone(tuple(removed))


def untouched(children: Sequence[int], acted: Iterable[int | None]) -> list[int]:
    """Pure: the children nobody has acted on (no audit entry names them)."""
    touched = set(acted)
    return [c for c in children if c not in touched]


def _remove_children(session: Session, parent_id: int, done_at: datetime) -> list[int]:
    """Remove the follow-ups ("på nästkommande APT") that marking `parent_id` done created,
    when nobody has acted on them: they were due only because it was done. A follow-up
    someone marked, postponed or closed keeps its record. Returns the ids removed."""
    children = list(
        session.scalars(
            select(Occurrence.id).where(
                Occurrence.parent_occurrence_id == parent_id,
                Occurrence.created_at >= done_at,
                Occurrence.status == OPEN,
                Occurrence.postponed_to.is_(None),
            )
        )
    )
    if not children:
        return []
    acted = session.scalars(
        select(AuditEntry.occurrence_id).where(AuditEntry.occurrence_id.in_(children))
    )
    gone = untouched(children, acted)
    if gone:
        # Reminders planned about them go with them; the mails sent stay in the outbox.
        session.execute(delete(NoticeRow).where(NoticeRow.occurrence_id.in_(gone)))
        session.execute(
            delete(Occurrence)
            .where(Occurrence.id.in_(gone), Occurrence.status == OPEN)
            .execution_options(synchronize_session=False)
        )
    return gone
