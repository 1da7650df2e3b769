"""From a directory's user entries to Bevakning's people: the configured mapping.

Job titles become roles, departments areas, an office attribute units, and departments (or a
configured attribute) administrations, each by rules in
config.toml ([directory.mapping]): a case-insensitive regular expression (`pattern`) or a list
of values (`values`). A title, department or unit that names the directory's own role, area or
unit as written needs no rule. Whoever matches no rule is reported, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from service import roles
from service.config import ConfigError
from service.directory import PersonRecord, address_problem
from service.people.roster import (
    Places,
    Roster,
    Unmatched,
    missing_place,
    person,
    role_for,
    too_long,
)


@dataclass(frozen=True)
class DirectoryEntry:
    """One user as Entra ID or Active Directory has them."""

    email: str
    name: str
    title: str = ""
    department: str = ""
    unit: str = ""
    # The configured attribute naming the person's administration ("" when none is read:
    # the administrations rules then match the department).
    administration: str = ""
    manager_email: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Rule:
    target: str
    pattern: re.Pattern[str] | None = None
    values: frozenset[str] = frozenset()

    def matches(self, text: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(text) is not None
        return text.strip().casefold() in self.values


def _rules(raw: Any, target_key: str, where: str) -> tuple[Rule, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where} ska vara en lista av tabeller med pattern eller values.")
    rules = []
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, Mapping) or not str(entry.get(target_key, "")).strip():
            raise ConfigError(f"{where}, regel {n}: {target_key} saknas.")
        target = str(entry[target_key]).strip()
        if "pattern" in entry:
            try:
                pattern = re.compile(str(entry["pattern"]), re.IGNORECASE)
            except re.error as exc:
                raise ConfigError(
                    f"{where}, regel {n}: ogiltigt reguljärt uttryck {entry['pattern']!r} ({exc})."
                ) from None
            rules.append(Rule(target, pattern=pattern))
        elif isinstance(entry.get("values"), list):
            rules.append(Rule(target, values=frozenset(str(v).casefold() for v in entry["values"])))
        else:
            raise ConfigError(f"{where}, regel {n}: ange pattern eller values.")
    return tuple(rules)


@dataclass(frozen=True)
class PeopleMapping:
    roles: tuple[Rule, ...] = ()
    areas: tuple[Rule, ...] = ()
    units: tuple[Rule, ...] = ()
    administrations: tuple[Rule, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PeopleMapping:
        mapping = cls(
            roles=_rules(settings.get("roles", []), "role", "[directory.mapping] roles"),
            areas=_rules(settings.get("areas", []), "area", "[directory.mapping] areas"),
            units=_rules(settings.get("units", []), "unit", "[directory.mapping] units"),
            administrations=_rules(
                settings.get("administrations", []),
                "administration",
                "[directory.mapping] administrations",
            ),
        )
        for rule in mapping.roles:
            if role_for(rule.target) is None:
                raise ConfigError(
                    f"[directory.mapping] roles: rollen {rule.target!r} finns inte i katalogen; "
                    "ange en roll som katalogen känner (t.ex. Enhetschef)."
                )
        return mapping

    def check_administrations(self, places: Places) -> None:
        """Every administrations rule names one the store's directory declares; read with the
        store's declarations, before anything is changed."""
        for n, rule in enumerate(self.administrations, start=1):
            if rule.target not in places.organisation.administrations:
                raise ConfigError(
                    f"[directory.mapping] administrations, regel {n}: förvaltningen "
                    f"{rule.target!r} finns inte i katalogen; ange koden för en av "
                    f"{places.administration_names() or 'inga (katalogen har inga förvaltningar)'}."
                )

    def roster(self, source: str, entries: Iterable[DirectoryEntry], places: Places) -> Roster:
        self.check_administrations(places)
        people: list[PersonRecord] = []
        administrations: dict[str, str] = {}
        unmatched: list[Unmatched] = []
        seen: set[str] = set()
        inactive: list[str] = []
        for entry in entries:
            if not entry.enabled:
                inactive.append(entry.email)  # a disabled account has left: deactivated
                continue
            who = entry.email or entry.name
            if "@" not in entry.email:
                unmatched.append(Unmatched(who, "saknar e-postadress."))
                continue
            if entry.email.lower() in seen:
                unmatched.append(Unmatched(who, "e-postadressen finns på flera konton."))
                continue
            placed = self._place(entry, places)
            if isinstance(placed, str):
                unmatched.append(Unmatched(who, placed))
                continue
            seen.add(entry.email.lower())
            people.append(placed)
            administration = _first(self.administrations, entry.administration or entry.department)
            if administration:
                administrations[entry.email.lower()] = administration
        known = {p.email.lower() for p in people}
        # A manager who is not in Bevakning (a staff manager, say) is left out: the role's own
        # chain (enhetschef → verksamhetschef → förvaltningschef) applies instead.
        people = [
            p if not p.reports_to or p.reports_to.lower() in known else replace(p, reports_to=None)
            for p in people
        ]
        return Roster(
            source,
            tuple(people),
            places,
            unmatched=tuple(unmatched),
            inactive=tuple(inactive),
            administrations=administrations,
        )

    def _place(self, entry: DirectoryEntry, places: Places) -> PersonRecord | str:
        """The person, or why they could not be placed (Swedish)."""
        if (wrong := address_problem(entry.email)) is not None:
            return wrong
        for field, text in (("email", entry.email), ("name", entry.name), ("title", entry.title)):
            if (reason := too_long(field, text)) is not None:
                return reason
        target = _first(self.roles, entry.title)
        role = role_for(target or entry.title, places.vocabulary)
        if role is None:
            return f"befattningen {entry.title!r} matchar ingen regel i [directory.mapping] roles."
        area_name = _first(self.areas, entry.department) or entry.department
        division = places.division(area_name) if area_name else None
        unit_name = _first(self.units, entry.unit) or entry.unit
        unit = places.unit(unit_name) if unit_name else None
        missing = missing_place(places.vocabulary, role, unit, division)
        if missing == roles.UNIT:
            return (
                f"enheten {entry.unit!r} är okänd; lägg till en regel i [directory.mapping] units."
            )
        if missing == roles.AREA:
            return (
                f"avdelningen {entry.department!r} är inget känt område; lägg till en regel i "
                "[directory.mapping] areas."
            )
        return person(
            email=entry.email,
            name=entry.name or entry.email,
            role=role,
            title=entry.title,
            unit=unit,
            division=division,
            reports_to=entry.manager_email or None,
        )


def _first(rules: Sequence[Rule], text: str) -> str | None:
    if not text:
        return None
    return next((r.target for r in rules if r.matches(text)), None)
