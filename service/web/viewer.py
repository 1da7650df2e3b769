"""What the holder of a dashboard link or a signed-in person may see (service/scope.py), read
from the store's directory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import scope
from service.directory import load_directory, person_administrations
from service.models import Division, Person, Unit


@dataclass(frozen=True)
class Viewer:
    person: Person
    view: scope.View
    scope_text: str  # "Socialförvaltningen", "området Äldreomsorg", …


def viewer_of(session: Session, person: Person) -> Viewer:
    directory = load_directory(session)
    administration_of = person_administrations(session, directory)
    everyone = [
        scope.Holder(
            p.id, p.role, p.division_code, p.unit_code, administration_of[p.id] or None, p.active
        )
        for p in session.scalars(select(Person))
    ]
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
