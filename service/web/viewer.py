"""What the holder of a dashboard link or a signed-in person may see (service/scope.py), read
from the store's directory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import scope
from service.directory import Directory, PersonRecord, load_directory
from service.models import Division, Person, Unit


@dataclass(frozen=True)
class Viewer:
    person: Person
    view: scope.View
    scope_text: str  # "förvaltningen Socialförvaltningen", "området Äldreomsorg", …


def viewer_of(session: Session, person: Person) -> Viewer:
    directory = load_directory(session)
    everyone = [_holder(p, directory) for p in session.scalars(select(Person))]
    holder = next(h for h in everyone if h.id == person.id)
    administrations = directory.organisation.administrations
    view = scope.view_of(
        holder, everyone, directory.roles, several_administrations=len(administrations) > 1
    )
    division = session.get(Division, person.division_code) if person.division_code else None
    unit = session.get(Unit, person.unit_code) if person.unit_code else None
    text = scope.describe(
        view,
        holder,
        area_name=division.name if division else "",
        unit_name=unit.name if unit else "",
        administration_names={code: names[0] for code, names in administrations.items()},
    )
    return Viewer(person, view, text)


def _holder(person: Person, directory: Directory) -> scope.Holder:
    # People no longer active keep their place: their done records stay in the scope's figures.
    record = PersonRecord(
        email=person.email,
        name=person.name,
        role=person.role,
        unit=person.unit_code,
        division=person.division_code,
    )
    return scope.Holder(
        person.id,
        person.role,
        person.division_code,
        person.unit_code,
        directory.administration_of(record),
        person.active,
    )
