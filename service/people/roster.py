"""A list of people from any source, compared with the store and applied all or nothing.

A person is never deleted: whoever is missing from the source is deactivated, their done records
stay, and their open occurrences pass to their successor (service/reassignment.py). Every change
is audited. A run that would deactivate more than a configured share of the active people is
refused: a broken filter or a half export must not empty the directory.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import roles
from service.directory import (
    Directory,
    Organisation,
    PersonRecord,
    UnitRecord,
    area_of,
    load_directory,
    person_administrations,
    store_directory,
    stored_declarations,
)
from service.models import AuditEntry, Division, Person, Unit
from service.occurrences import bump_data_version
from service.reassignment import reassign_orphans, standing

# The fields of a person that a source can change, in the order a diff shows them.
FIELDS = (
    "name", "role", "role_title", "unit", "division", "administration", "reports_to", "active",
)  # fmt: skip


class SyncRefused(Exception):
    """The run would change too much; nothing was changed. The message is Swedish."""


def role_for(title: str, vocabulary: roles.RoleVocabulary | None = None) -> str | None:
    """The role a person holds, for a job title as written, or None (also for a group such as
    "Chefer"). The one place people sources match roles: against the roles the store's
    directory declares (Rektor, Förskolechef, …), or the bundled ones."""
    vocabulary = vocabulary or roles.default_vocabulary()
    role = vocabulary.canonical_role(title)
    return role if role is not None and vocabulary.spec(role) is not None else None


def new_role_key(title: str, vocabulary: roles.RoleVocabulary | None = None) -> str | None:
    """The role key for a role the source brings that the directory did not declare, or None
    when the title cannot be one (empty, or a group such as "Chefer")."""
    vocabulary = vocabulary or roles.default_vocabulary()
    if not title.strip() or vocabulary.canonical_role(title) is not None:
        return None
    return re.sub(r"\s+", " ", title.strip().lower())


# What a source brings, named as a Swedish message names it, and the column that keeps it.
_KEPT_IN: dict[str, tuple[str, Any]] = {
    "name": ("namnet", Person.name),
    "email": ("e-postadressen", Person.email),
    "title": ("befattningen", Person.role_title),
    "role": ("en ny rolls namn", Person.role),
    "area": ("ett nytt verksamhetsområdes namn", Division.code),
    "unit": ("en ny enhets namn", Unit.code),
}


def too_long(field: str, text: str) -> str | None:
    """Why `text` cannot be stored as `field` (see _KEPT_IN), in Swedish, or None. PostgreSQL
    refuses a longer value, so one long job title had failed the whole sync every day."""
    label, column = _KEPT_IN[field]
    limit = int(column.type.length)
    if len(text) <= limit:
        return None
    return f"{label} har {len(text)} tecken; Bevakning sparar högst {limit}. Korta det i källan."


@dataclass(frozen=True)
class Unmatched:
    """Someone the source has but no rule placed: reported, never guessed."""

    who: str  # e-mail, or the name when there is none
    reason: str  # Swedish

    def as_dict(self) -> dict[str, str]:
        return {"who": self.who, "reason": self.reason}


@dataclass
class Places:
    """Units and areas known to the store, found by code or name, plus those a source adds."""

    units: dict[str, UnitRecord]
    divisions: dict[str, str]
    # The roles the store's directory declares: what a job title is matched against.
    vocabulary: roles.RoleVocabulary = field(default_factory=roles.default_vocabulary)
    new_units: list[str] = field(default_factory=list)
    new_divisions: list[str] = field(default_factory=list)
    # What else the directory declares, kept as it is by a source that only brings people:
    # the areas' other names and head titles, and the administrations (whose head each
    # förvaltningschef is, which administration each area belongs to).
    area_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    area_heads: dict[str, str] = field(default_factory=dict)
    organisation: Organisation = field(default_factory=Organisation)

    @classmethod
    def from_store(cls, session: Session) -> Places:
        vocabulary, area_aliases, area_heads, organisation = stored_declarations(session)
        return cls(
            units={
                u.code: UnitRecord(u.code, u.name, u.division_code, u.address)
                for u in session.scalars(select(Unit))
            },
            divisions={d.code: d.name for d in session.scalars(select(Division))},
            vocabulary=vocabulary,
            area_aliases=area_aliases,
            area_heads=area_heads,
            organisation=organisation,
        )

    def division(self, written: str) -> str | None:
        wanted = written.strip().casefold()
        return next(
            (
                code
                for code, name in self.divisions.items()
                if wanted in (code.casefold(), name.casefold())
            ),
            None,
        )

    def unit(self, written: str) -> UnitRecord | None:
        wanted = written.strip().casefold()
        return next(
            (u for u in self.units.values() if wanted in (u.code.casefold(), u.name.casefold())),
            None,
        )

    def administration(self, written: str) -> str | None:
        """The declared administration written as its code, name or an alias, or None."""
        wanted = written.strip().casefold()
        return next(
            (
                code
                for code, names in self.organisation.administrations.items()
                if wanted in (code.casefold(), *(n.casefold() for n in names))
            ),
            None,
        )

    def administration_names(self) -> str:
        """The declared administrations as a reader recognises them, for a Swedish message:
        "SOC (Socialförvaltningen), BUF (Barn- och utbildningsförvaltningen)"."""
        return ", ".join(
            f"{code} ({names[0]})" if names else code
            for code, names in self.organisation.administrations.items()
        )

    def add_division(self, name: str) -> str:
        code = self.division(name)
        if code is None:
            code = name.strip()
            self.divisions[code] = code
            self.new_divisions.append(code)
        return code

    def add_unit(self, name: str, division: str) -> UnitRecord:
        unit = self.unit(name)
        if unit is None:
            unit = UnitRecord(name.strip(), name.strip(), division)
            self.units[unit.code] = unit
            self.new_units.append(unit.code)
        return unit


@dataclass(frozen=True)
class Roster:
    """Everyone a source says belongs in the directory, and where they sit."""

    source: str
    people: tuple[PersonRecord, ...]
    places: Places
    new_roles: tuple[str, ...] = ()
    unmatched: tuple[Unmatched, ...] = ()
    # Addresses the source marks as gone (Aktiv = Nej, a disabled account): deactivated even
    # when they hold a role the source does not otherwise manage.
    inactive: tuple[str, ...] = ()
    # The administration the source names for a person (e-mail, lower case -> code); it wins
    # over the one kept in the store, and over that of the person's area.
    administrations: Mapping[str, str] = field(default_factory=dict)

    def directory(self) -> Directory:
        places = self.places
        listed = {p.email.lower(): p for p in self.people}
        of_area = places.organisation.of_area

        def kept(email: str) -> bool:
            # The store's administration for someone the source lists holds only while their
            # area belongs to none (a head's staff, the politicians): one that has an
            # administration places them, or a move to another administration's area would
            # leave them behind in the old one's digest and dashboard.
            person = listed.get(email)
            return person is None or of_area.get(area_of(person, places.units) or "") is None

        of_person = {
            **{e: c for e, c in places.organisation.of_person.items() if kept(e)},
            **self.administrations,
        }
        declared = places.organisation.administrations
        if len(declared) == 1:
            # As the directory file reads it: someone without an area works in the only
            # administration (a new förvaltningschef, whose predecessor's items pass to her).
            only = next(iter(declared))
            for email, person in listed.items():
                if email not in of_person and area_of(person, places.units) is None:
                    of_person[email] = only
        organisation = replace(places.organisation, of_person=of_person)
        return Directory(
            self.people,
            dict(places.units),
            dict(places.divisions),
            places.vocabulary,
            places.area_aliases,
            places.area_heads,
            organisation,
        )


def _snapshot(session: Session) -> dict[str, dict[str, Any]]:
    people = list(session.scalars(select(Person)))
    emails = {p.id: p.email for p in people}
    administration = person_administrations(session, load_directory(session, with_people=False))
    return {
        p.email.lower(): {
            "email": p.email,
            "name": p.name,
            "role": p.role,
            "role_title": p.role_title,
            "unit": p.unit_code,
            "division": p.division_code,
            "administration": administration.get(p.id) or None,
            "reports_to": emails.get(p.reports_to_id) if p.reports_to_id else None,
            "active": bool(p.active),
        }
        for p in people
    }


def describe_changes(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[Any]]:
    """added, changed, deactivated and reactivated people between two snapshots."""
    added: list[Any] = []
    changed: list[Any] = []
    deactivated: list[Any] = []
    for key, new in sorted(after.items()):
        old = before.get(key)
        if old is None:
            if new["active"]:
                added.append({"email": new["email"], "name": new["name"], "role": new["role"]})
            continue
        if old["active"] and not new["active"]:
            deactivated.append(new["email"])
            continue
        diff = {f: [old[f], new[f]] for f in FIELDS if old[f] != new[f]}
        if new["active"] and diff:
            changed.append({"email": new["email"], "changes": diff})
    return {"added": added, "changed": changed, "deactivated": deactivated}


def check_safety_limit(active_before: int, deactivating: int, max_share: float) -> None:
    """Refuse a run that would deactivate more than `max_share` of the active people."""
    if active_before and deactivating / active_before > max_share:
        raise SyncRefused(
            f"Körningen skulle avaktivera {deactivating} av {active_before} aktiva personer, "
            f"mer än gränsen {max_share * 100:.0f} % ([directory] max_deactivate_share); inget "
            "ändrades. Kontrollera källan och filtret, eller höj gränsen för en körning med "
            "miljövariabeln BEVAKNING_DIRECTORY_MAX_DEACTIVATE_SHARE (t.ex. 0.5)."
        )


def apply_roster(
    session: Session,
    roster: Roster,
    now: datetime,
    *,
    actor: str,
    max_deactivate_share: float,
    keep_roles: Collection[str] = (),
) -> dict[str, Any]:
    """Bring the store's people in line with `roster` inside the caller's transaction.

    People holding one of `keep_roles` (role keys) whom the source does not mention stay as
    they are: the source does not manage those roles. Raises SyncRefused before anything is
    written when the safety limit is passed; the caller rolls back for a dry run.
    """
    before = _snapshot(session)
    stood = standing(session)  # whom a person who moves on hands their items to
    active_before = sum(1 for p in before.values() if p["active"])
    mentioned = {p.email.lower() for p in roster.people} | {e.lower() for e in roster.inactive}
    kept = [
        p
        for p in load_directory(session).people
        if p.role in keep_roles and p.email.lower() not in mentioned
    ]
    directory = roster.directory()
    directory = replace(directory, people=(*directory.people, *kept))
    wanted = {p.email.lower() for p in directory.people}
    leaving = [k for k, p in before.items() if p["active"] and k not in wanted]
    check_safety_limit(active_before, len(leaving), max_deactivate_share)
    store_directory(session, directory)
    after = _snapshot(session)
    summary = describe_changes(before, after)
    for entry in summary["added"]:
        _audit(session, now, actor, "person.added", entry)
    for entry in summary["changed"]:
        _audit(session, now, actor, "person.changed", entry)
    for email in summary["deactivated"]:
        _audit(session, now, actor, "person.deactivated", {"email": email})
    moved = reassign_orphans(session, load_directory(session), now, before=stood)
    bump_data_version(session)
    return {
        "source": roster.source,
        "people": sum(1 for p in after.values() if p["active"]),
        **summary,
        "new_roles": list(roster.new_roles),
        "new_units": list(roster.places.new_units),
        "new_areas": list(roster.places.new_divisions),
        "unmatched": [u.as_dict() for u in roster.unmatched],
        "reassigned": [
            {"occurrence": m.occurrence_id, "from": m.from_email, "to": m.to_email} for m in moved
        ],
    }


def _audit(session: Session, now: datetime, actor: str, action: str, detail: Any) -> None:
    session.add(AuditEntry(at=now, actor=actor, action=action, detail=dict(detail)))


def missing_place(
    vocabulary: roles.RoleVocabulary, role: str, unit: UnitRecord | None, division: str | None
) -> str | None:
    """The place the role's level needs and the person lacks: roles.UNIT for a role held at a
    unit (enhetschef, rektor, förskolechef: whatever the directory declares so), roles.AREA
    for one held at an area; None when they have it. Placed without it, a rektor had lost her
    school and her administration."""
    spec = vocabulary.spec(role)
    if spec is not None and spec.level == roles.UNIT and unit is None:
        return roles.UNIT
    if spec is not None and spec.level == roles.AREA and division is None:
        return roles.AREA
    return None


def person(
    *,
    email: str,
    name: str,
    role: str,
    title: str,
    unit: UnitRecord | None,
    division: str | None,
    reports_to: str | None,
) -> PersonRecord:
    return PersonRecord(
        email=email.strip(),
        name=name.strip(),
        role=role,
        role_title=title.strip(),
        unit=unit.code if unit else None,
        division=division or (unit.division if unit else None),
        reports_to=reports_to.strip() if reports_to else None,
    )


def check_managers(people: Sequence[PersonRecord]) -> list[tuple[PersonRecord, str]]:
    """People whose manager (by e-mail) is not among the people: the source is incomplete."""
    emails = {p.email.lower() for p in people}
    return [
        (p, p.reports_to) for p in people if p.reports_to and p.reports_to.lower() not in emails
    ]
