"""When people leave a role: their open occurrences pass to whoever took over.

A successor holds the same role in the same place: the same unit for an enhetschef, the same
area for a verksamhetschef, the role itself for one-person roles. The occurrence keeps its
history; its version is bumped, so the old holder's mailed links stop working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import roles
from service.directory import Directory, PersonRecord
from service.models import AuditEntry, Item, Occurrence, Person
from service.occurrences import NOT_APPLICABLE, OPEN


@dataclass(frozen=True)
class Reassigned:
    occurrence_id: int
    from_email: str
    to_email: str | None  # None: nobody took over; the occurrence was closed as not applicable


def reassign_orphans(session: Session, directory: Directory, now: datetime) -> list[Reassigned]:
    rows = session.execute(
        select(Occurrence, Item, Person)
        .join(Item, Occurrence.item_id == Item.id)
        .join(Person, Occurrence.person_id == Person.id)
        .where(Occurrence.status == OPEN)
    ).all()
    taken = {(o.item_id, o.person_id, o.window_key) for o, _item, _person in rows}
    out: list[Reassigned] = []
    for occ, item, person in rows:
        wanted = roles.canonical_roles(item.responsible, directory.vocabulary)
        holders = {p.email.lower() for role in wanted for p, _apt in directory.holders(role)}
        if person.active and person.email.lower() in holders:
            continue
        successor = _successor(directory, person, wanted)
        if successor is None:
            continue  # nobody holds the role yet: keep it with the old holder until someone does
        assert successor.id is not None
        if (item.id, successor.id, occ.window_key) in taken:
            # The successor already has this window (it was expanded for them): close the
            # duplicate rather than keep two open occurrences for one job.
            occ.status = NOT_APPLICABLE
            occ.deferral_reason = f"Ansvaret har gått över till {successor.name}."
            occ.deferred_at = now
            out.append(Reassigned(occ.id, person.email, None))
            action = "occurrence.superseded"
        else:
            taken.add((item.id, successor.id, occ.window_key))
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


def _successor(directory: Directory, gone: Person, wanted: list[str]) -> PersonRecord | None:
    candidates = [p for role in wanted for p, _apt in directory.holders(role)]
    same_role = [p for p in candidates if p.role == gone.role] or candidates
    spec = directory.roles.spec(gone.role)
    level = spec.level if spec is not None else roles.ADMINISTRATION
    if level == roles.UNIT:
        match = [p for p in same_role if p.unit and p.unit == gone.unit_code]
    elif level == roles.AREA:
        match = [p for p in same_role if p.division and p.division == gone.division_code]
    else:
        # One-person roles (förvaltningschef, utvecklingschef, …): whoever holds it now. Roles
        # held by many (ledamot) have no single successor.
        match = same_role if len(same_role) == 1 else []
    return match[0] if len(match) == 1 else None
