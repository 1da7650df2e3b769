"""Whose items a person oversees, by what the directory says they hold.

The förvaltningschef oversees the whole administration, a verksamhetschef their area, an
enhetschef their unit; anyone else only their own items. A signed-in person's dashboard shows
this much.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service import roles


@dataclass(frozen=True)
class Holder:
    """What the directory says about one person, as far as scope goes."""

    id: int
    role: str
    division_code: str | None
    unit_code: str | None
    active: bool = True


def overseen(person: Holder, directory: Iterable[Holder]) -> frozenset[int] | None:
    """The ids of the people whose items `person` oversees; None for everyone."""
    if person.role == roles.FORVALTNINGSCHEF:
        return None
    if person.role == roles.VERKSAMHETSCHEF and person.division_code:
        return frozenset(p.id for p in directory if p.division_code == person.division_code) | {
            person.id
        }
    if person.role == roles.ENHETSCHEF and person.unit_code:
        return frozenset(p.id for p in directory if p.unit_code == person.unit_code) | {person.id}
    return frozenset({person.id})


def describe(person: Holder, area_name: str = "", unit_name: str = "") -> str:
    """What the page says it shows, in Swedish."""
    if person.role == roles.FORVALTNINGSCHEF:
        return "hela förvaltningen"
    if person.role == roles.VERKSAMHETSCHEF and person.division_code:
        return f"området {area_name or person.division_code}"
    if person.role == roles.ENHETSCHEF and person.unit_code:
        return f"enheten {unit_name or person.unit_code}"
    return "dina egna aktiviteter"
