"""Whose items a person oversees, by what the directory says they hold.

The role vocabulary's flags decide, never a role's key: a holder of a municipality-level role
(the kommundirektör) sees everything; the holder of the head role sees their own
administration (everything, when the directory declares no administrations); the manager of an
area sees that area, the manager of a unit that unit; anyone else only their own items. A
personal dashboard link and a signed-in person's dashboard show this much, and a report can be
downloaded for the plans it covers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from service import roles
from service.roles import RoleVocabulary

# What a view covers (View.kind).
MUNICIPALITY, ADMINISTRATION = "municipality", "administration"
AREA, UNIT, OWN = "area", "unit", "own"


@dataclass(frozen=True)
class Holder:
    """What the directory says about one person, as far as scope goes."""

    id: int
    role: str
    division_code: str | None
    unit_code: str | None
    administration: str | None = None
    active: bool = True


@dataclass(frozen=True)
class View:
    """What one person may see."""

    kind: str  # MUNICIPALITY | ADMINISTRATION | AREA | UNIT | OWN
    people: frozenset[int] | None  # whose occurrences; None: everyone's
    # The administration whose plans are seen in full and whose reports may be downloaded.
    administration: str | None = None
    # Every plan: a municipality-level role, or anyone in a directory of one administration.
    all_plans: bool = True

    @property
    def heads(self) -> bool:
        """A head of an administration or of the whole municipality: may enter indicator values
        for the plans they see."""
        return self.kind in (MUNICIPALITY, ADMINISTRATION)

    def covers_plan(self, plan_administration: str) -> bool:
        """Whether the whole plan (its report, its indicators) is this person's to see. A plan
        of the whole municipality ("") belongs to the municipality level alone once the
        directory declares administrations."""
        return self.all_plans or (
            self.administration is not None and plan_administration == self.administration
        )


def view_of(
    person: Holder,
    directory: Iterable[Holder],
    vocabulary: RoleVocabulary,
    *,
    several_administrations: bool,
) -> View:
    """What `person` may see, by their role's level, head and manager flags."""
    spec = vocabulary.spec(person.role)
    several = several_administrations
    home = person.administration if several else None
    if spec is not None and spec.level == roles.MUNICIPALITY:
        return View(MUNICIPALITY, None)
    if spec is not None and spec.head:
        if not several:
            return View(ADMINISTRATION, None)
        if home is None:
            # A head the directory places nowhere sees only their own items, not everyone's.
            return View(OWN, frozenset({person.id}), None, all_plans=False)
        people = frozenset(p.id for p in directory if p.administration == home)
        return View(ADMINISTRATION, people | {person.id}, home, all_plans=False)
    level = spec.level if spec is not None and spec.manager else None
    if level == roles.AREA and person.division_code:
        people = frozenset(p.id for p in directory if p.division_code == person.division_code)
        return View(AREA, people | {person.id}, home, all_plans=not several)
    if level == roles.UNIT and person.unit_code:
        people = frozenset(p.id for p in directory if p.unit_code == person.unit_code)
        return View(UNIT, people | {person.id}, home, all_plans=not several)
    return View(OWN, frozenset({person.id}), home, all_plans=not several)


def describe(
    view: View,
    person: Holder,
    *,
    area_name: str = "",
    unit_name: str = "",
    administration_names: Mapping[str, str] | None = None,
) -> str:
    """What the page says it shows, in Swedish."""
    if view.kind == MUNICIPALITY:
        return "hela kommunen"
    if view.kind == ADMINISTRATION:
        if view.administration is None:
            return "hela förvaltningen"
        name = (administration_names or {}).get(view.administration, view.administration)
        return name  # "Socialförvaltningen": the name says what it is
    if view.kind == AREA:
        return f"området {area_name or person.division_code}"
    if view.kind == UNIT:
        return f"enheten {unit_name or person.unit_code}"
    return "dina egna aktiviteter"
