"""A person's own rhythm ("Mina inställningar"): a bundle weekday and absences, each change
audited. The planner reads them as a Rhythm (see pipeline.own_rhythms)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import stored_id
from service.models import Absence, AuditEntry, Person, Preference

WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag")
MAX_ABSENCE_DAYS = 366


@dataclass(frozen=True)
class Change:
    """A validated form: what to store, or the errors (field → Swedish sentence)."""

    bundle_weekday: int | None = None
    absence: tuple[date, date, int | None] | None = None
    remove_absence: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


def validate(
    fields: dict[str, str], *, today: date, person: Person, stand_ins: dict[str, Person]
) -> Change:
    """Pure: the form's fields as a Change. `stand_ins` maps lower-case addresses to people."""
    errors: dict[str, str] = {}
    action = fields.get("action", "")
    if action == "rhythm":
        raw = fields.get("bundle_weekday", "")
        if raw == "":
            return Change()
        if raw not in {str(i) for i in range(len(WEEKDAYS_SV))}:
            errors["bundle_weekday"] = "Välj en veckodag mellan måndag och fredag."
            return Change(errors=errors)
        return Change(bundle_weekday=int(raw))
    if action == "remove_absence":
        absence_id = stored_id(fields.get("absence_id", ""))
        if absence_id is None:
            return Change(errors={"absence_id": "Frånvaron finns inte. Ladda om sidan."})
        return Change(remove_absence=absence_id)
    if action != "absence":
        return Change(errors={"action": "Okänd åtgärd. Ladda om sidan och försök igen."})
    starts, ends = _date(fields.get("starts", "")), _date(fields.get("ends", ""))
    if starts is None:
        errors["starts"] = "Skriv första dagen som ett datum, till exempel 2025-07-01."
    if ends is None:
        errors["ends"] = "Skriv sista dagen som ett datum, till exempel 2025-07-31."
    if starts and ends and ends < starts:
        errors["ends"] = "Sista dagen kan inte vara före första dagen."
    elif starts and ends and ends < today:
        errors["ends"] = "Frånvaron är redan över; välj en sista dag från i dag och framåt."
    elif starts and ends and (ends - starts).days > MAX_ABSENCE_DAYS:
        errors["ends"] = "En frånvaro kan vara högst ett år; dela upp den i flera."
    stand_in: int | None = None
    address = fields.get("stand_in", "").strip().lower()
    if address:
        found = stand_ins.get(address)
        if found is None:
            errors["stand_in"] = (
                f"Ingen i katalogen har adressen {address}; skriv ersättarens e-postadress."
            )
        elif found.id == person.id:
            errors["stand_in"] = "Du kan inte vara din egen ersättare; lämna fältet tomt."
        else:
            stand_in = found.id
    if errors or starts is None or ends is None:
        return Change(errors=errors)
    return Change(absence=(starts, ends, stand_in))


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def apply(session: Session, person: Person, change: Change, now: datetime) -> bool:
    """Stores a valid change and audits it; False when it changed nothing."""
    actor = person.email
    if change.absence is not None:
        starts, ends, stand_in = change.absence
        session.add(
            Absence(
                person_id=person.id, starts=starts, ends=ends, stand_in_id=stand_in, created_at=now
            )
        )
        detail = {"starts": starts.isoformat(), "ends": ends.isoformat(), "stand_in": stand_in}
        _audit(session, now, actor, "absence_added", detail)
        return True
    if change.remove_absence is not None:
        absence = session.get(Absence, change.remove_absence)
        if absence is None or absence.person_id != person.id:
            return False
        detail = {"starts": absence.starts.isoformat(), "ends": absence.ends.isoformat()}
        # An absence is a setting, not a record of work done: ending it early is allowed.
        session.delete(absence)
        _audit(session, now, actor, "absence_removed", detail)
        return True
    current = session.get(Preference, person.id)
    before = current.bundle_weekday if current is not None else None
    if before == change.bundle_weekday:
        return False
    if current is None:
        session.add(
            Preference(person_id=person.id, bundle_weekday=change.bundle_weekday, updated_at=now)
        )
    else:
        current.bundle_weekday = change.bundle_weekday
        current.updated_at = now
    _audit(session, now, actor, "rhythm_changed", {"from": before, "to": change.bundle_weekday})
    return True


def _audit(
    session: Session, now: datetime, actor: str, action: str, detail: Mapping[str, Any]
) -> None:
    session.add(
        AuditEntry(at=now, actor=actor, action=action, occurrence_id=None, detail=dict(detail))
    )


def absences_of(session: Session, person_id: int, today: date) -> list[Absence]:
    return list(
        session.scalars(
            select(Absence)
            .where(Absence.person_id == person_id, Absence.ends >= today)
            .order_by(Absence.starts)
        )
    )


def people_by_address(session: Session) -> dict[str, Person]:
    return {
        p.email.lower(): p for p in session.scalars(select(Person).where(Person.active.is_(True)))
    }


def bundle_weekday_of(session: Session, person_id: int) -> int | None:
    return session.scalar(
        select(Preference.bundle_weekday).where(Preference.person_id == person_id)
    )


@dataclass(frozen=True)
class Cover:
    """One absence as the stand-in rules see it: who is away, from–to inclusive, and who acts."""

    owner_id: int
    starts: date
    ends: date
    stand_in_id: int | None


def covers(absences: Iterable[Cover], *, owner_id: int, stand_in_id: int, day: date) -> bool:
    """Pure: may `stand_in_id` act on `owner_id`'s items on `day`? Only while an absence that
    names them lasts; the day after it ends, their links stop acting for the owner."""
    return any(
        a.owner_id == owner_id and a.stand_in_id == stand_in_id and a.starts <= day <= a.ends
        for a in absences
    )


def covered_owners(absences: Iterable[Cover], *, stand_in_id: int, day: date) -> list[Cover]:
    """Pure: the absences `stand_in_id` stands in for on `day`, one per owner (the latest end)."""
    found: dict[int, Cover] = {}
    for a in absences:
        if a.stand_in_id != stand_in_id or not a.starts <= day <= a.ends:
            continue
        if a.owner_id not in found or a.ends > found[a.owner_id].ends:
            found[a.owner_id] = a
    return sorted(found.values(), key=lambda a: (a.ends, a.owner_id))


def stand_in_covers(session: Session, owner_id: int, stand_in_id: int, day: date) -> bool:
    """`covers` on the stored absences of `owner_id`."""
    return covers(
        absences_naming(session, owner_id, stand_in_id),
        owner_id=owner_id,
        stand_in_id=stand_in_id,
        day=day,
    )


def absences_naming(session: Session, owner_id: int, stand_in_id: int) -> list[Cover]:
    """The absences of `owner_id` (past, present or to come) that name `stand_in_id`."""
    return _covers(session, (Absence.person_id == owner_id) & (Absence.stand_in_id == stand_in_id))


def standing_in_for(session: Session, stand_in_id: int, day: date) -> list[Cover]:
    """`covered_owners` on the stored absences naming `stand_in_id`."""
    return covered_owners(
        _covers(session, Absence.stand_in_id == stand_in_id), stand_in_id=stand_in_id, day=day
    )


def standing_in_for_from(session: Session, stand_in_id: int, today: date) -> list[Cover]:
    """The absences naming `stand_in_id` that are not over by `today` (now or to come)."""
    found = _covers(session, (Absence.stand_in_id == stand_in_id) & (Absence.ends >= today))
    return sorted(found, key=lambda a: (a.starts, a.owner_id))


def _covers(session: Session, condition: Any) -> list[Cover]:
    return [
        Cover(a.person_id, a.starts, a.ends, a.stand_in_id)
        for a in session.scalars(select(Absence).where(condition))
    ]
