"""The directory: people, their roles, units and areas, and who reports to whom."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import roles
from service.models import Division, Person, Unit
from service.problems import InputError, Problem


@dataclass(frozen=True)
class PersonRecord:
    email: str
    name: str
    role: str
    role_title: str = ""
    unit: str | None = None
    division: str | None = None
    reports_to: str | None = None  # e-mail; derived from the role when not given
    id: int | None = None


@dataclass(frozen=True)
class UnitRecord:
    code: str
    name: str
    division: str
    address: str = ""


@dataclass(frozen=True)
class Directory:
    people: tuple[PersonRecord, ...]
    units: Mapping[str, UnitRecord] = field(default_factory=dict)
    divisions: Mapping[str, str] = field(default_factory=dict)

    def by_email(self, email: str) -> PersonRecord | None:
        wanted = email.lower()
        return next((p for p in self.people if p.email.lower() == wanted), None)

    def by_id(self, person_id: int) -> PersonRecord | None:
        return next((p for p in self.people if p.id == person_id), None)

    def with_role(self, role: str) -> list[PersonRecord]:
        return [p for p in self.people if p.role == role]

    def holders(self, role: str) -> list[tuple[PersonRecord, bool]]:
        """Everyone who answers for `role`, each with True when it is to be raised at APT.

        "Medarbetare" are reached through their enhetschef, never one by one; "Chefer" are all
        managers.
        """
        if role == roles.MEDARBETARE:
            return [(p, True) for p in self.with_role(roles.ENHETSCHEF)]
        if role == roles.CHEFER:
            managers = (roles.FORVALTNINGSCHEF, roles.VERKSAMHETSCHEF, roles.ENHETSCHEF)
            return [(p, False) for p in self.people if p.role in managers]
        return [(p, False) for p in self.with_role(role)]

    def manager_of(self, person: PersonRecord) -> PersonRecord | None:
        """The next level of escalation: enhetschef → verksamhetschef → förvaltningschef."""
        if person.reports_to:
            return self.by_email(person.reports_to)
        if person.role == roles.ENHETSCHEF:
            unit = self.units.get(person.unit or "")
            division = unit.division if unit else None
            heads = [p for p in self.with_role(roles.VERKSAMHETSCHEF) if p.division == division]
            if heads:
                return heads[0]
        if person.role == roles.LEDAMOT:
            chairs = self.with_role(roles.ORDFORANDE)
            return chairs[0] if chairs else None
        if person.role in (roles.FORVALTNINGSCHEF, roles.ORDFORANDE):
            return None
        heads = self.with_role(roles.FORVALTNINGSCHEF)
        return heads[0] if heads and heads[0].email != person.email else None

    def head(self) -> PersonRecord | None:
        heads = self.with_role(roles.FORVALTNINGSCHEF)
        return heads[0] if heads else None


def _one_line(value: object) -> str:
    """A name as one line, like item titles: a line break from an HR export or a pasted cell
    must not reach a mail header or a calendar's name."""
    return " ".join(str(value).split())


def parse_directory(data: Mapping[str, Any], file: str) -> Directory:
    """Validate a directory document; raises InputError listing every problem."""
    problems: list[Problem] = []
    divisions: dict[str, str] = {}
    for n, area in enumerate(_tables(data, "area", file, problems), start=1):
        code, name = str(area.get("code", "")).strip(), _one_line(area.get("name", ""))
        if not code or not name:
            problems.append(Problem(file, f"område {n}", "code och name måste anges."))
            continue
        divisions[code] = name
    units: dict[str, UnitRecord] = {}
    for n, unit in enumerate(_tables(data, "unit", file, problems), start=1):
        code = str(unit.get("code", "")).strip()
        where = f"enhet {n} ({code or 'utan kod'})"
        division = str(unit.get("area", "")).strip()
        if not code or not unit.get("name"):
            problems.append(Problem(file, where, "code och name måste anges."))
            continue
        if division not in divisions:
            problems.append(Problem(file, where, f"området {division!r} finns inte i katalogen."))
            continue
        units[code] = UnitRecord(
            code, _one_line(unit["name"]), division, str(unit.get("address", "")).strip()
        )
    people: list[PersonRecord] = []
    seen: set[str] = set()
    for n, raw in enumerate(_tables(data, "person", file, problems), start=1):
        name = _one_line(raw.get("name", ""))
        email = str(raw.get("email", "")).strip()
        where = f"person {n} ({name or email or 'utan namn'})"
        title = str(raw.get("role", "")).strip()
        role = roles.canonical_role(title)
        if not name or "@" not in email:
            problems.append(Problem(file, where, "name och en giltig email måste anges."))
            continue
        if email.lower() in seen:
            problems.append(Problem(file, where, f"e-postadressen {email} finns redan."))
            continue
        seen.add(email.lower())
        if role is None or role not in roles.PERSON_ROLES:
            problems.append(Problem(file, where, f"okänd roll {title!r}."))
            continue
        unit_code = str(raw["unit"]) if raw.get("unit") else None
        division_code = str(raw["area"]) if raw.get("area") else None
        if role == roles.ENHETSCHEF and unit_code not in units:
            problems.append(
                Problem(file, where, f"en enhetschef behöver en känd enhet, inte {unit_code!r}.")
            )
            continue
        if role == roles.VERKSAMHETSCHEF and division_code not in divisions:
            problems.append(
                Problem(
                    file,
                    where,
                    f"en verksamhetschef behöver ett känt område, inte {division_code!r}.",
                )
            )
            continue
        if unit_code and not division_code and unit_code in units:
            division_code = units[unit_code].division
        people.append(
            PersonRecord(
                email=email,
                name=name,
                role=role,
                role_title=title,
                unit=unit_code,
                division=division_code,
                reports_to=str(raw["reports_to"]) if raw.get("reports_to") else None,
            )
        )
    emails = {p.email.lower() for p in people}
    for p in people:
        if p.reports_to and p.reports_to.lower() not in emails:
            problems.append(
                Problem(
                    file, f"person {p.name}", f"reports_to {p.reports_to} finns inte i katalogen."
                )
            )
    if problems:
        raise InputError(problems)
    return Directory(tuple(people), units, divisions)


def _tables(
    data: Mapping[str, Any], key: str, file: str, problems: list[Problem]
) -> Iterable[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        problems.append(Problem(file, key, f"[[{key}]] måste vara en lista av tabeller."))
        return []
    return value


def load_directory_file(path: Path, display: str | None = None) -> Directory:
    file = display or str(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise InputError([Problem(file, "", "filen finns inte.")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(file, "", f"ogiltig TOML: {exc}.")]) from None
    return parse_directory(data, file)


def store_directory(session: Session, directory: Directory) -> None:
    """Bring the store's directory in line with `directory`.

    People missing from the new directory are deactivated, not deleted: their done records stay.
    """
    for code, name in directory.divisions.items():
        session.merge(Division(code=code, name=name))
    session.flush()
    for unit in directory.units.values():
        session.merge(
            Unit(code=unit.code, name=unit.name, division_code=unit.division, address=unit.address)
        )
    session.flush()
    existing = {p.email.lower(): p for p in session.scalars(select(Person))}
    for record in directory.people:
        person = existing.pop(record.email.lower(), None)
        if person is None:
            person = Person(email=record.email)
            session.add(person)
        person.name = record.name
        person.role = record.role
        person.role_title = record.role_title
        person.unit_code = record.unit
        person.division_code = record.division
        person.active = True
    for gone in existing.values():
        gone.active = False
    session.flush()
    # Managers come from the file, not the store: a stored manager would otherwise read as an
    # explicit reports_to on the next reload and never follow a move between areas.
    by_email = {p.email.lower(): p for p in session.scalars(select(Person))}
    for record in directory.people:
        manager = directory.manager_of(record)
        by_email[record.email.lower()].reports_to_id = (
            by_email[manager.email.lower()].id if manager else None
        )


def load_directory(session: Session) -> Directory:
    """The active directory as stored."""
    people_rows: Sequence[Person] = session.scalars(
        select(Person).where(Person.active.is_(True)).order_by(Person.id)
    ).all()
    by_id = {p.id: p for p in session.scalars(select(Person))}
    units = {
        u.code: UnitRecord(u.code, u.name, u.division_code, u.address)
        for u in session.scalars(select(Unit))
    }
    divisions = {d.code: d.name for d in session.scalars(select(Division))}
    people = tuple(
        PersonRecord(
            email=p.email,
            name=p.name,
            role=p.role,
            role_title=p.role_title,
            unit=p.unit_code,
            division=p.division_code,
            reports_to=by_id[p.reports_to_id].email if p.reports_to_id in by_id else None,
            id=p.id,
        )
        for p in people_rows
    )
    return Directory(people, units, divisions)
