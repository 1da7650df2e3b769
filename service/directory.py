"""The directory: people, their roles, units and areas, and who reports to whom."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import roles
from service.models import Division, Person, State, Unit
from service.problems import InputError, Problem, read_toml
from service.roles import RoleMatch, RoleSpec, RoleVocabulary, default_vocabulary

# The directory's role declarations are kept in the store as one JSON document: they change
# together with the directory file and are read together with it.
VOCABULARY_STATE = "directory_roles"


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


_NOT_IN_ADDRESS = set('<>()[],;:"\\')


def address_problem(address: str) -> str | None:
    """Why `address` is no address Bevakning can write a mail to, in Swedish, or None. An "å"
    in one could not be encoded in the message and had stopped every mail behind it."""
    local, at, domain = address.rpartition("@")
    malformed = not (local and at and domain) or any(
        c.isspace() or c in _NOT_IN_ADDRESS for c in address
    )
    if malformed:
        return f"{address!r} är ingen e-postadress; ange en."
    if not address.isascii():
        return (
            f"{address!r} har tecken som e-post inte bär (till exempel å, ä, ö); ange adressen "
            "som den står i e-postsystemet."
        )
    return None


def area_of(person: PersonRecord, units: Mapping[str, UnitRecord]) -> str | None:
    """The area a person works in: the one given, or that of their unit."""
    if person.division:
        return person.division
    unit = units.get(person.unit or "")
    return unit.division if unit else None


@dataclass(frozen=True)
class Organisation:
    """Administrations above the areas. Empty: the directory is one administration."""

    administrations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # code -> names
    of_area: Mapping[str, str] = field(default_factory=dict)  # area code -> administration
    of_person: Mapping[str, str] = field(default_factory=dict)  # e-mail (lower) -> administration


@dataclass(frozen=True)
class Directory:
    people: tuple[PersonRecord, ...]
    units: Mapping[str, UnitRecord] = field(default_factory=dict)
    divisions: Mapping[str, str] = field(default_factory=dict)
    roles: RoleVocabulary = field(default_factory=default_vocabulary)
    # Names people write for an area besides its code and name, and titles that mean the manager
    # of one area ("Äldreomsorgschef" -> ÄO).
    area_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    area_heads: Mapping[str, str] = field(default_factory=dict)
    organisation: Organisation = field(default_factory=lambda: Organisation())

    @property
    def vocabulary(self) -> RoleVocabulary:
        """The roles, with this directory's areas and units as the places a party can name."""
        return self.roles.with_places(
            {c: (n, *self.area_aliases.get(c, ())) for c, n in self.divisions.items()},
            {c: (u.name,) for c, u in self.units.items()},
            self.area_heads,
            self.organisation.administrations,
        )

    def match_role(self, text: str) -> RoleMatch | None:
        """One responsible party as written ("Verksamhetschef LSS"), or None if unknown."""
        return self.vocabulary.match_role(text)

    # Indexes over `people`, built on first use (the directory is frozen, so they stay true).
    # manager_of runs for every person of a sync; scanning everyone for each was O(n²), about
    # a second at 2,000 people.
    @cached_property
    def _by_email(self) -> dict[str, PersonRecord]:
        index: dict[str, PersonRecord] = {}
        for p in self.people:
            index.setdefault(p.email.lower(), p)  # the first one, as a scan would find
        return index

    @cached_property
    def _by_role(self) -> dict[str, list[PersonRecord]]:
        index: dict[str, list[PersonRecord]] = {}
        for p in self.people:
            index.setdefault(p.role, []).append(p)
        return index

    @cached_property
    def _by_role_and_place(self) -> dict[tuple[str, str, str | None], list[PersonRecord]]:
        """(role, "area" or "unit", code) -> holders, in directory order."""
        index: dict[tuple[str, str, str | None], list[PersonRecord]] = {}
        for p in self.people:
            index.setdefault((p.role, roles.AREA, p.division), []).append(p)
            index.setdefault((p.role, roles.UNIT, p.unit), []).append(p)
        return index

    def by_email(self, email: str) -> PersonRecord | None:
        return self._by_email.get(email.lower())

    def by_id(self, person_id: int) -> PersonRecord | None:
        return next((p for p in self.people if p.id == person_id), None)

    def with_role(self, role: str) -> list[PersonRecord]:
        return list(self._by_role.get(role, ()))

    def holders(self, role: str) -> list[tuple[PersonRecord, bool]]:
        """Everyone who answers for `role` (a key as RoleMatch.key gives it), each with True when
        it is to be raised at APT.

        "Medarbetare" are reached through their unit's manager, never one by one; "Chefer" are
        all holders of manager roles; "Nämnden" all committee roles; a narrowed role only its
        holders in that area or unit.
        """
        match = RoleMatch.from_key(role)
        vocabulary = self.roles
        if match.external is not None:
            return []
        if match.role == roles.MEDARBETARE:
            unit_managers = [
                r for r in vocabulary.roles_at(roles.UNIT) if r in vocabulary.manager_roles
            ]
            found = [(p, True) for p in self.people if p.role in unit_managers]
        elif match.role == roles.CHEFER:
            found = [(p, False) for p in self.people if p.role in vocabulary.manager_roles]
        elif match.role == roles.NAMNDEN:
            committee = vocabulary.roles_at(roles.COMMITTEE)
            found = [(p, False) for p in self.people if p.role in committee]
        else:
            found = [(p, False) for p in self.with_role(match.role)]
        if match.area is not None:
            found = [(p, apt) for p, apt in found if self.area_of(p) == match.area]
        if match.unit is not None:
            found = [(p, apt) for p, apt in found if p.unit == match.unit]
        if match.administration is not None:
            found = [
                (p, apt) for p, apt in found if self.administration_of(p) == match.administration
            ]
        return found

    def administration_of(self, person: PersonRecord) -> str | None:
        """The administration a person works in: given, or that of their area or unit."""
        given = self.organisation.of_person.get(person.email.lower())
        return given or self.organisation.of_area.get(self.area_of(person) or "")

    def unit_administrations(self) -> dict[str, str]:
        """Each unit's administration, through its area ("" when none is declared): a unit's
        APT follows its administration's calendar whoever's plan reaches it."""
        return {
            code: self.organisation.of_area.get(unit.division, "")
            for code, unit in self.units.items()
        }

    def plans_of(self, email: str) -> str | None:
        """The administration whose plans a person follows (their digest, their dashboard):
        their own; None, every plan, for someone above the administrations (the
        kommundirektör), someone unknown, or in a directory of one administration."""
        record = self.by_email(email)
        if record is None or not self.organisation.administrations:
            return None
        return self.administration_of(record)

    def area_of(self, person: PersonRecord) -> str | None:
        return area_of(person, self.units)

    def manager_of(self, person: PersonRecord) -> PersonRecord | None:
        """The next level of escalation, as the roles declare it (in the bundled directory:
        enhetschef → verksamhetschef → förvaltningschef; ledamot → ordförande)."""
        if person.reports_to:
            return self.by_email(person.reports_to)
        spec = self.roles.spec(person.role)
        if spec is None or spec.head:
            return None
        if spec.reports_to == "":
            return None
        if spec.reports_to is not None:
            above = self.roles.spec(spec.reports_to)
            if above is not None and above.level == roles.AREA:
                key = (spec.reports_to, roles.AREA, self.area_of(person))
                candidates = self._by_role_and_place.get(key, [])
            elif above is not None and above.level == roles.UNIT:
                key = (spec.reports_to, roles.UNIT, person.unit)
                candidates = self._by_role_and_place.get(key, [])
            else:
                candidates = self._by_role.get(spec.reports_to, [])
                if above is not None and above.level != roles.MUNICIPALITY:
                    # Each administration has its own (a ledamot's ordförande is their
                    # committee's).
                    own = self.administration_of(person)
                    candidates = [p for p in candidates if self.administration_of(p) == own]
            if candidates:
                return candidates[0]
        # Escalation stops at the head of the person's own administration.
        head = self.head(self.administration_of(person))
        return head if head and head.email != person.email else None

    def head(self, administration: str | None = None) -> PersonRecord | None:
        """The head of `administration` (the head role's holder there), or the first head."""
        head_role = self.roles.head_role
        heads = self._by_role.get(head_role, []) if head_role else []
        if administration is not None:
            heads = self._heads_by_administration.get(administration, [])
        return heads[0] if heads else None

    @cached_property
    def _heads_by_administration(self) -> dict[str | None, list[PersonRecord]]:
        index: dict[str | None, list[PersonRecord]] = {}
        head_role = self.roles.head_role
        for p in self._by_role.get(head_role, []) if head_role else []:
            index.setdefault(self.administration_of(p), []).append(p)
        return index


def _one_line(value: object) -> str:
    """A name as one line, like item titles: a line break from an HR export or a pasted cell
    must not reach a mail header or a calendar's name."""
    return " ".join(str(value).split())


def parse_directory(data: Mapping[str, Any], file: str) -> Directory:
    """Validate a directory document; raises InputError listing every problem."""
    problems: list[Problem] = []
    role_problems: list[tuple[str, str]] = []
    vocabulary = roles.parse_roles(data, role_problems) or default_vocabulary()
    problems += [Problem(file, where, what) for where, what in role_problems]
    administrations: dict[str, tuple[str, ...]] = {}
    for n, adm in enumerate(_tables(data, "administration", file, problems), start=1):
        code, name = str(adm.get("code", "")).strip(), str(adm.get("name", "")).strip()
        if not code or not name:
            problems.append(Problem(file, f"förvaltning {n}", "code och name måste anges."))
            continue
        administrations[code] = (name, *roles.strings(adm.get("aliases")))
    only = next(iter(administrations)) if len(administrations) == 1 else None
    of_area: dict[str, str] = {}
    of_person: dict[str, str] = {}
    divisions: dict[str, str] = {}
    area_aliases: dict[str, tuple[str, ...]] = {}
    area_heads: dict[str, str] = {}
    for n, area in enumerate(_tables(data, "area", file, problems), start=1):
        code, name = str(area.get("code", "")).strip(), _one_line(area.get("name", ""))
        if not code or not name:
            problems.append(Problem(file, f"område {n}", "code och name måste anges."))
            continue
        divisions[code] = name
        adm_code = str(area.get("administration", "")).strip() or only
        if administrations and adm_code not in administrations:
            problems.append(
                Problem(
                    file,
                    f"område {n} ({code})",
                    f"ange administration = en av {', '.join(administrations)}.",
                )
            )
        elif adm_code:
            of_area[code] = adm_code
        area_aliases[code] = roles.strings(area.get("aliases"))
        area_heads.update(dict.fromkeys(roles.strings(area.get("head_aliases")), code))
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
        role = vocabulary.canonical_role(title)
        if not name or not email:
            problems.append(Problem(file, where, "name och en giltig email måste anges."))
            continue
        if (wrong := address_problem(email)) is not None:
            problems.append(Problem(file, where, f"email: {wrong}"))
            continue
        if email.lower() in seen:
            problems.append(Problem(file, where, f"e-postadressen {email} finns redan."))
            continue
        seen.add(email.lower())
        spec = vocabulary.spec(role or "")
        if spec is None:
            problems.append(Problem(file, where, vocabulary.explain_unknown(title)))
            continue
        unit_code = str(raw["unit"]) if raw.get("unit") else None
        division_code = str(raw["area"]) if raw.get("area") else None
        if spec.level == roles.UNIT and unit_code not in units:
            problems.append(
                Problem(
                    file,
                    where,
                    f"en {vocabulary.title(spec.key)} behöver en känd enhet, inte {unit_code!r}.",
                )
            )
            continue
        if spec.level == roles.AREA and division_code not in divisions:
            problems.append(
                Problem(
                    file,
                    where,
                    f"en {vocabulary.title(spec.key)} behöver ett känt område, "
                    f"inte {division_code!r}.",
                )
            )
            continue
        if unit_code and not division_code and unit_code in units:
            division_code = units[unit_code].division
        adm_code = str(raw.get("administration", "")).strip()
        if adm_code and adm_code not in administrations:
            problems.append(
                Problem(file, where, f"förvaltningen {adm_code!r} finns inte i katalogen.")
            )
            continue
        if adm_code:
            of_person[email.lower()] = adm_code
        elif only and not division_code:
            of_person[email.lower()] = only
        people.append(
            PersonRecord(
                email=email,
                name=name,
                role=spec.key,
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
    organisation = Organisation(administrations, of_area, of_person)
    return Directory(
        tuple(people), units, divisions, vocabulary, area_aliases, area_heads, organisation
    )


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
    return parse_directory(read_toml(path, file), file)


def store_directory(session: Session, directory: Directory) -> None:
    """Bring the store's directory in line with `directory`.

    People missing from the new directory are deactivated, not deleted: their done records stay.
    """
    # Areas and units read once and updated in place (a merge each cost a query and a flush:
    # a minute for the 1,740 administrations of the national benchmark).
    divisions = {d.code: d for d in session.scalars(select(Division))}
    for code, name in directory.divisions.items():
        if code in divisions:
            divisions[code].name = name
        else:
            session.add(Division(code=code, name=name))
    # People who left keep the administration they were in: their open occurrences pass to
    # the successor in that administration (service/reassignment.py).
    present = {p.email.lower() for p in directory.people}
    left = {
        email: code
        for email, code in stored_declarations(session)[3].of_person.items()
        if email not in present
    }
    organisation = replace(
        directory.organisation, of_person={**left, **directory.organisation.of_person}
    )
    session.merge(
        State(
            key=VOCABULARY_STATE,
            value=_vocabulary_json(replace(directory, organisation=organisation)),
        )
    )
    session.flush()
    units = {u.code: u for u in session.scalars(select(Unit))}
    for unit in directory.units.values():
        stored = units.get(unit.code)
        if stored is None:
            stored = Unit(code=unit.code)
            session.add(stored)
        stored.name, stored.division_code, stored.address = unit.name, unit.division, unit.address
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


def record_of(person: Person) -> PersonRecord:
    """A stored person as the directory describes them (for the rules that read places)."""
    return PersonRecord(
        email=person.email,
        name=person.name,
        role=person.role,
        unit=person.unit_code,
        division=person.division_code,
    )


def person_administrations(session: Session, directory: Directory) -> dict[int, str]:
    """Per person in the store, active or not, the administration they work in ("" when the
    directory places them in none): people who left keep their place in the figures."""
    return {
        person.id: directory.administration_of(record_of(person)) or ""
        for person in session.scalars(select(Person))
    }


def people_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Person]:
    """The stored people with these ids (active or not), in queries of 500 ids."""
    wanted = sorted({i for i in ids if i is not None})
    out: dict[int, Person] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        out.update((p.id, p) for p in session.scalars(select(Person).where(Person.id.in_(chunk))))
    return out


def load_directory(session: Session, *, with_people: bool = True) -> Directory:
    """The active directory as stored; without its people when only its places and roles are
    wanted (a national store holds 50,000 people)."""
    people_rows: Sequence[Person] = (
        session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.id)).all()
        if with_people
        else ()
    )
    by_id = {p.id: p for p in session.scalars(select(Person))} if with_people else {}
    # Plain rows, not ORM objects: a national store has 10,000 units, read for every batch of
    # digests.
    units = {
        code: UnitRecord(code, name, division, address)
        for code, name, division, address in session.execute(
            select(Unit.code, Unit.name, Unit.division_code, Unit.address)
        ).tuples()
    }
    divisions = dict(session.execute(select(Division.code, Division.name)).tuples().all())
    stored = session.get(State, VOCABULARY_STATE)
    vocabulary, area_aliases, area_heads, organisation = _vocabulary_from_json(
        stored.value if stored else None
    )
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
    return Directory(people, units, divisions, vocabulary, area_aliases, area_heads, organisation)


def stored_organisation(session: Session) -> Organisation:
    """The declared administrations alone, cheaper than the whole directory."""
    stored = session.get(State, VOCABULARY_STATE)
    return _vocabulary_from_json(stored.value if stored else None)[3]


def stored_roles(session: Session) -> RoleVocabulary:
    """The declared roles alone (without places), cheaper than the whole directory."""
    return stored_declarations(session)[0]


def stored_declarations(session: Session) -> _Stored:
    """What the directory declares besides its people and places: the roles, the areas' other
    names and head titles, and the administrations (what a people source must keep)."""
    stored = session.get(State, VOCABULARY_STATE)
    return _vocabulary_from_json(stored.value if stored else None)


_Stored = tuple[RoleVocabulary, dict[str, tuple[str, ...]], dict[str, str], Organisation]


def _vocabulary_json(directory: Directory) -> str:
    v, o = directory.roles, directory.organisation
    return json.dumps(
        {
            "roles": [asdict(r) for r in v.roles],
            "groups": {k: list(w) for k, w in v.groups.items()},
            "external_names": list(v.external_names),
            "external_prefixes": list(v.external_prefixes),
            "area_aliases": {k: list(a) for k, a in directory.area_aliases.items()},
            "area_heads": dict(directory.area_heads),
            "administrations": {k: list(n) for k, n in o.administrations.items()},
            "administration_of_area": dict(o.of_area),
            "administration_of_person": dict(o.of_person),
        },
        ensure_ascii=False,
    )


def _vocabulary_from_json(text: str | None) -> _Stored:
    """What store_directory kept; a store from before roles were data reads the bundled roles."""
    if not text:
        return default_vocabulary(), {}, {}, Organisation()
    data = json.loads(text)
    specs = tuple(
        RoleSpec(
            **{**r, "aliases": tuple(r["aliases"]), "abbreviations": tuple(r["abbreviations"])}
        )
        for r in data["roles"]
    )
    vocabulary = RoleVocabulary(
        roles=specs,
        groups={k: tuple(w) for k, w in data["groups"].items()},
        external_names=tuple(data["external_names"]),
        external_prefixes=tuple(data["external_prefixes"]),
    )
    aliases = {k: tuple(a) for k, a in data["area_aliases"].items()}
    organisation = Organisation(
        {k: tuple(n) for k, n in data.get("administrations", {}).items()},
        dict(data.get("administration_of_area", {})),
        dict(data.get("administration_of_person", {})),
    )
    return vocabulary, aliases, dict(data["area_heads"]), organisation
