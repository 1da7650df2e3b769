"""How the store reads on a page: status words, record lines and history, in Swedish."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from service import i18n, roles
from service.directory import stored_roles
from service.models import AuditEntry, Occurrence, Person
from service.occurrences import DONE, NOT_APPLICABLE, OPEN, OVERDUE

# Status shown as a word and a symbol next to the colour, so colour is never the only cue.
STATUS_LABELS = {
    DONE: ("Klar", "✓"),
    OPEN: ("Pågår", "○"),
    OVERDUE: ("Försenad", "!"),
    NOT_APPLICABLE: ("Inte aktuell", "–"),
    "waiting": ("Ej påbörjad", "…"),
}
STATUS_FILTERS = {
    OPEN: "Pågår",
    OVERDUE: "Försenad",
    DONE: "Klar",
    NOT_APPLICABLE: "Inte aktuell",
}
VIA_SV = {
    "link": "via länken i mejlet",
    "list": "via Mina aktiviteter",
    "admin": "av administratör",
    "cli": "via kommandoraden",
}


@dataclass(frozen=True)
class Status:
    key: str

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.key, (self.key, ""))[0]

    @property
    def symbol(self) -> str:
        return STATUS_LABELS.get(self.key, ("", ""))[1]


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    text: str


def people_by_email(session: Session, emails: Iterable[str]) -> dict[str, str]:
    wanted = {e for e in emails if "@" in e}
    if not wanted:
        return {}
    rows = session.execute(select(Person.email, Person.name).where(Person.email.in_(wanted)))
    return {email: name for email, name in rows.tuples()}


def history(session: Session, occurrence_ids: Sequence[int]) -> list[HistoryLine]:
    if not occurrence_ids:
        return []
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.occurrence_id.in_(occurrence_ids))
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    return history_lines(session, entries)


def history_lines(session: Session, entries: Sequence[AuditEntry]) -> list[HistoryLine]:
    """The audit entries as lines, each naming the person who acted (and for whom)."""
    wanted = [e.actor for e in entries]
    wanted += [str((e.detail or {}).get("stand_in_for", "")) for e in entries]
    names = people_by_email(session, wanted)
    return [HistoryLine(e.at, describe(e, names.get(e.actor, e.actor), names)) for e in entries]


def describe(entry: AuditEntry, actor: str, names: dict[str, str] | None = None) -> str:
    d: dict[str, Any] = entry.detail or {}
    if d.get("stand_in_for"):
        owner = str(d["stand_in_for"])
        actor = i18n.acted_by_sv(actor, (names or {}).get(owner, owner))
    if entry.action == "occurrence.done":
        text = f"Klarmarkerad av {actor}"
        if d.get("on"):
            text += f", utförd {i18n.format_date_sv(date.fromisoformat(d['on']))}"
        if d.get("via") in VIA_SV:
            text += f", {VIA_SV[d['via']]}"
        if d.get("on_behalf_of"):
            text += f" för {d['on_behalf_of']}"
        return text + "."
    if entry.action == "occurrence.postponed":
        to = i18n.format_date_sv(date.fromisoformat(d["to"])) if d.get("to") else "?"
        return f"Uppskjuten till {to} av {actor}. Skäl: {d.get('reason', '')}"
    if entry.action == "occurrence.not_applicable":
        return f"Markerad som inte aktuell av {actor}. Skäl: {d.get('reason', '')}"
    return f"{entry.action} ({actor})"


def record_line(occ: Occurrence, names: dict[int, str]) -> str:
    """ "Utförd 3 december 2024, markerad av Anna Berg via länken i mejlet"; a stand-in's
    record names both: "markerad av Anna Berg (ersättare för Maria Sjöberg)"."""
    who = names.get(occ.done_by_id or 0, "okänd")
    if occ.done_by_id is not None and occ.done_by_id != occ.person_id:
        who = i18n.acted_by_sv(who, names.get(occ.person_id, ""))
    when = i18n.format_date_sv(occ.done_on) if occ.done_on else "okänt datum"
    via = VIA_SV.get(occ.done_via, "")
    return f"Utförd {when}, markerad av {who}" + (f" {via}" if via else "")


def held_roles(person: Person | None, responsible: Sequence[str]) -> list[str]:
    """The roles in an item's Ansvarig column that make `person` responsible, as written.

    An item for "Förvaltningschef, HR-chef" shown to the HR-chef names only "HR-chef"; a group
    ("Chefer", "Medarbetare" through their enhetschef) stays as written.
    """
    if person is None:
        return list(responsible)
    session = object_session(person)
    vocabulary = stored_roles(session) if session is not None else roles.default_vocabulary()
    own = [r for r in responsible if vocabulary.canonical_role(r) == person.role]
    if own:
        return own
    return [r for r in responsible if vocabulary.canonical_role(r) in roles.GROUPS] or list(
        responsible
    )
