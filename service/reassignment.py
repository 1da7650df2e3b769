"""When people leave a role: their open occurrences pass to whoever took over.

A successor holds the same role in the same place: the same unit for an enhetschef, the same
area for a verksamhetschef, the role itself for one-person roles. The occurrence keeps its
history; its version is bumped, so the old holder's mailed links stop working.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import roles
from service.directory import Directory, PersonRecord
from service.models import AuditEntry, Item, Occurrence, Person, Plan
from service.occurrences import NOT_APPLICABLE, OPEN, item_targets


@dataclass(frozen=True)
class Reassigned:
    occurrence_id: int
    from_email: str
    to_email: str | None  # None: nobody took over; the occurrence was closed as not applicable


def standing(session: Session) -> dict[str, PersonRecord]:
    """Each person's role and place as stored now (by lower-case address): what
    `reassign_orphans` is told after a change, so that someone who moved on is succeeded in
    the role and place they held, not the ones they have taken."""
    return {p.email.lower(): _record(p) for p in session.scalars(select(Person))}


def _record(person: Person) -> PersonRecord:
    return PersonRecord(
        person.email, person.name, person.role, unit=person.unit_code, division=person.division_code
    )


def reassign_orphans(
    session: Session,
    directory: Directory,
    now: datetime,
    *,
    before: dict[str, PersonRecord] | None = None,
) -> list[Reassigned]:
    """Pass the open occurrences of people who no longer hold them to their successors.
    `before` (see `standing`): how people stood before the change that orphaned them."""
    # Plain columns, and each item's Ansvarig and each person once, with the holders computed
    # once per Ansvarig: this runs after every directory change over all open occurrences, and
    # only the few orphans need their objects loaded.
    rows = session.execute(
        select(
            Occurrence.id, Occurrence.item_id, Occurrence.person_id, Occurrence.window_key
        ).where(Occurrence.status == OPEN)
    ).all()
    # Whom each item reaches, as the schedule reads it: a plan of one administration means its
    # own holders by a bare role, so its successor is sought in that administration.
    vocabulary = directory.vocabulary
    targets: dict[tuple[tuple[str, ...], str, str], tuple[str, ...]] = {}
    responsible: dict[int, tuple[str, ...]] = {}
    for item_id, names, coordinator, administration in session.execute(
        select(Item.id, Item.responsible, Plan.coordinator, Plan.administration).join(
            Plan, Item.plan_id == Plan.id
        )
    ):
        read = (tuple(names), coordinator, administration)  # each Ansvarig read once
        if read not in targets:
            targets[read] = item_targets(names, coordinator, vocabulary, administration)
        responsible[item_id] = targets[read]
    people = {
        person_id: (active, email.lower())
        for person_id, active, email in session.execute(
            select(Person.id, Person.active, Person.email)
        )
    }
    taken = {(r.item_id, r.person_id, r.window_key) for r in rows}
    holders_of: dict[tuple[str, ...], set[str]] = {}
    successors: dict[tuple[int, tuple[str, ...]], PersonRecord | None] = {}
    out: list[Reassigned] = []
    for row in rows:
        key = responsible[row.item_id]
        if key not in holders_of:
            holders_of[key] = {
                p.email.lower() for role in key for p, _apt in directory.holders(role)
            }
        active, email = people[row.person_id]
        if active and email in holders_of[key]:
            continue
        person = session.get(Person, row.person_id)
        assert person is not None
        if (row.person_id, key) not in successors:
            was = (before or {}).get(email) or _record(person)
            successors[(row.person_id, key)] = _successor(directory, was, key)
        successor = successors[(row.person_id, key)]
        if successor is None:
            continue  # nobody holds the role yet: keep it with the old holder until someone does
        occ = session.get(Occurrence, row.id)
        assert occ is not None
        assert successor.id is not None
        if (occ.item_id, successor.id, occ.window_key) in taken:
            # The successor already has this window (it was expanded for them): close the
            # duplicate rather than keep two open occurrences for one job.
            occ.status = NOT_APPLICABLE
            occ.deferral_reason = f"Ansvaret har gått över till {successor.name}."
            occ.deferred_at = now
            out.append(Reassigned(occ.id, person.email, None))
            action = "occurrence.superseded"
        else:
            taken.add((occ.item_id, successor.id, occ.window_key))
            occ.person_id = successor.id
            occ.version += 1
            out.append(Reassigned(occ.id, person.email, successor.email))
            action = "occurrence.reassigned"
        session.add(
            AuditEntry(
                at=now,
                actor="directory",
                action=action,
                occurrence_id=occ.id,
                detail={"from": person.email, "to": successor.email},
            )
        )
    session.flush()
    return out


def _successor(
    directory: Directory, gone: PersonRecord, wanted: Sequence[str]
) -> PersonRecord | None:
    """Who holds `gone`'s role and place now (`gone`: as they stood when they held it)."""
    candidates = [p for role in wanted for p, _apt in directory.holders(role)]
    same_role = [p for p in candidates if p.role == gone.role] or candidates
    spec = directory.roles.spec(gone.role)
    level = spec.level if spec is not None else roles.ADMINISTRATION
    if level == roles.UNIT:
        match = [p for p in same_role if p.unit and p.unit == gone.unit]
    elif level == roles.AREA:
        match = [p for p in same_role if p.division and p.division == gone.division]
    else:
        # One-person roles (förvaltningschef, utvecklingschef, ordförande, …): whoever holds it
        # now in the same administration (several administrations each have their own head).
        # Roles held by many (ledamot) have no single successor.
        if directory.organisation.administrations:
            own = directory.administration_of(gone)
            same_role = [p for p in same_role if directory.administration_of(p) == own]
        match = same_role if len(same_role) == 1 else []
    return match[0] if len(match) == 1 else None
