"""Roles as a directory declares them, and the responsible parties a plan names with them.

A role is data: its name as people write it, irregular forms, aliases and abbreviations, where
a holder sits and whom a holder reports to. Regular Swedish plural and definite forms and a PDF
line break inside the word are understood for every role. `RoleVocabulary.match_role` reads one
party as written ("Verksamhetschef LSS", "Enhetschefen på Solgården", "Försäkringskassan").
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from importlib import resources
from typing import Any

# The keys of the roles the bundled Socialförvaltningen declares (service/data/roles.toml).
FORVALTNINGSCHEF = "förvaltningschef"
VERKSAMHETSCHEF = "verksamhetschef"
ENHETSCHEF = "enhetschef"
UTVECKLINGSCHEF = "utvecklingschef"
HR_CHEF = "hr-chef"
ORDFORANDE = "ordförande"
LEDAMOT = "ledamot"
# Groups are not held by one person each; their meaning is fixed, their words are data.
MEDARBETARE = "medarbetare"
CHEFER = "chefer"
NAMNDEN = "nämnden"
GROUPS = (MEDARBETARE, CHEFER, NAMNDEN)
# The bundled roles' keys, for the people sources (service/people) until they match through
# the store's RoleVocabulary (Directory.match_role).
PERSON_ROLES = (
    FORVALTNINGSCHEF,
    VERKSAMHETSCHEF,
    ENHETSCHEF,
    UTVECKLINGSCHEF,
    HR_CHEF,
    ORDFORANDE,
    LEDAMOT,
)

MUNICIPALITY, ADMINISTRATION = "municipality", "administration"
AREA, UNIT, COMMITTEE = "area", "unit", "committee"
LEVELS = (MUNICIPALITY, ADMINISTRATION, AREA, UNIT, COMMITTEE)

# Plural and definite endings, longest first: "Enhetscheferna", "Rektorn", "Ordförandena".
_ENDINGS = ("erna", "arna", "orna", "ena", "er", "ar", "or", "en", "na", "n")
# Words in front of a role that do not narrow it: "Berörd enhetschef" is each enhetschef for
# their own unit, which is what a bare "Enhetschef" already means.
_FILLERS = frozenset(
    {"berörd", "berörda", "respektive", "samtliga", "alla", "varje", "ansvarig", "aktuell"}
)
_PREPOSITIONS = frozenset({"på", "inom", "för", "i", "vid", "från", "-", "–"})
_EXTERNAL = "extern:"


def squash(written: str) -> str:
    """Lower case without spaces, hyphens, dots or brackets: how names are compared."""
    return re.sub(r"[\s\-–()/.]", "", written.lower())


@dataclass(frozen=True)
class RoleSpec:
    key: str
    name: str
    plural: str = ""
    aliases: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    level: str = ADMINISTRATION
    reports_to: str | None = None  # a role key; None = the head role
    manager: bool = False
    head: bool = False

    def title(self, count: int = 1) -> str:
        if count == 1:
            return self.name
        return self.plural or _regular_plural(self.name)


def _regular_plural(name: str) -> str:
    if name.endswith("e"):
        return name
    if name.endswith(("or", "ör")):
        return name + "er"
    return name + "er"


@dataclass(frozen=True)
class RoleMatch:
    """One responsible party as read: a role or group, maybe narrowed to an area or unit, or a
    party outside the organisation."""

    role: str = ""
    area: str | None = None
    unit: str | None = None
    external: str | None = None
    administration: str | None = None

    @property
    def key(self) -> str:
        """The form stored with an item's schedule: "verksamhetschef@area:LSS"."""
        if self.external is not None:
            return _EXTERNAL + self.external
        if self.unit is not None:
            return f"{self.role}@unit:{self.unit}"
        if self.area is not None:
            return f"{self.role}@area:{self.area}"
        if self.administration is not None:
            return f"{self.role}@adm:{self.administration}"
        return self.role

    @classmethod
    def from_key(cls, key: str) -> RoleMatch:
        if key.startswith(_EXTERNAL):
            return cls(external=key[len(_EXTERNAL) :])
        role, _, where = key.partition("@")
        kind, _, code = where.partition(":")
        return cls(
            role,
            area=code if kind == "area" else None,
            unit=code if kind == "unit" else None,
            administration=code if kind == "adm" else None,
        )


@dataclass(frozen=True, eq=False)
class RoleVocabulary:
    roles: tuple[RoleSpec, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    external_names: tuple[str, ...] = ()
    external_prefixes: tuple[str, ...] = ()
    # Places a qualifier can name: code -> names people write (name, code, aliases).
    areas: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    units: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # "Äldreomsorgschef" -> the area ÄO: a title that means the manager of one area.
    area_heads: Mapping[str, str] = field(default_factory=dict)
    administrations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    # -- what is declared ------------------------------------------------------------------
    def spec(self, key: str) -> RoleSpec | None:
        return self._by_key.get(key)

    @cached_property
    def _by_key(self) -> dict[str, RoleSpec]:
        return {r.key: r for r in self.roles}

    @property
    def person_roles(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.roles)

    @property
    def head_role(self) -> str | None:
        return next((r.key for r in self.roles if r.head), None)

    @property
    def manager_roles(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.roles if r.manager)

    def roles_at(self, level: str) -> tuple[str, ...]:
        return tuple(r.key for r in self.roles if r.level == level)

    def title(self, key: str, count: int = 1) -> str:
        """The Swedish title of a role or group key ("enhetschefer"), lower case except
        acronyms."""
        spec = self.spec(RoleMatch.from_key(key).role)
        if spec is not None:
            text = spec.title(count)
            return text if text[:2].isupper() else text[:1].lower() + text[1:]
        return _GROUP_TITLES.get(key, (key, key))[0 if count == 1 else 1]

    def with_places(
        self,
        areas: Mapping[str, Iterable[str]],
        units: Mapping[str, Iterable[str]],
        area_heads: Mapping[str, str] | None = None,
        administrations: Mapping[str, Iterable[str]] | None = None,
    ) -> RoleVocabulary:
        return replace(
            self,
            areas={c: tuple(n) for c, n in areas.items()},
            units={c: tuple(n) for c, n in units.items()},
            area_heads=dict(area_heads or {}),
            administrations={c: tuple(n) for c, n in (administrations or {}).items()},
        )

    # -- reading what people wrote ---------------------------------------------------------
    def match_role(self, text: str) -> RoleMatch | None:
        """One party as written, or None when it matches nothing declared.

        Case-, plural- and definite-insensitive; tolerant of a PDF line break inside the word
        ("Verksamhetschef er") and a bracketed plural ("Enhetschef(er)"); a trailing area or
        unit narrows the role ("Verksamhetschef LSS", "Enhetschefen på Solgården").
        """
        words = [w for w in re.split(r"\s+", text.strip()) if w]
        while len(words) > 1 and words[0].lower() in _FILLERS:
            words = words[1:]
        if not words:
            return None
        for n in range(len(words), 0, -1):
            found = self._lookup(squash(" ".join(words[:n])))
            if found is None:
                continue
            role, area = found
            rest = words[n:]
            if not rest:
                return RoleMatch(role, area=area)
            if area is None and role not in GROUPS:
                return self._narrowed(role, rest)
            return None
        return self._external(text)

    def canonical_role(self, text: str) -> str | None:
        """The role or group key of a bare role name, ignoring any narrowing; None if unknown."""
        match = self.match_role(text)
        if match is not None:
            return match.role or None
        # "Verksamhetschef LSS" read without the directory's places is still a verksamhetschef.
        words = text.split()
        for n in range(len(words) - 1, 0, -1):
            found = self._lookup(squash(" ".join(words[:n])))
            if found is not None:
                return found[0]
        return None

    def rejoin(self, written: Sequence[str]) -> list[str]:
        """Parties split at a line break inside a word ("Förskolechef" / "er") joined again."""
        out: list[str] = []
        for part in written:
            if (
                out
                and self.match_role(out[-1] + part)
                and not (self.match_role(out[-1]) and self.match_role(part))
            ):
                out[-1] += part
            else:
                out.append(part)
        return out

    def explain_unknown(self, written: str) -> str:
        """What to say about a party nobody declared: the nearest names and how to declare it."""
        near = self.suggestions(written)
        hint = f" Menade du {' eller '.join(repr(n) for n in near)}?" if near else ""
        return (
            f"okänd roll {written!r}.{hint} Deklarera rollen med [[role]] (name, level) i "
            "katalogen (directory.toml), eller en extern part under [external] names."
        )

    def suggestions(self, text: str) -> list[str]:
        """The declared names nearest to `text`, for "menade du …?"."""
        names = {squash(n): n for n in self._written_names()}
        close = difflib.get_close_matches(squash(text), list(names), n=2, cutoff=0.75)
        return [names[c] for c in close]

    def _written_names(self) -> list[str]:
        out = [n for r in self.roles for n in (r.name, *r.aliases)]
        out += [w for words in self.groups.values() for w in words]
        return out

    @cached_property
    def _names(self) -> dict[str, tuple[str, str | None]]:
        table: dict[str, tuple[str, str | None]] = {}
        for key, words in self.groups.items():
            for word in words:
                table[squash(word)] = (key, None)
        for r in self.roles:
            for word in (r.key, r.name, r.plural, *r.aliases):
                if word:
                    table[squash(word)] = (r.key, None)
        area_manager = next((r.key for r in self.roles if r.level == AREA and r.manager), None)
        if area_manager is not None:
            for title, code in self.area_heads.items():
                table[squash(title)] = (area_manager, code)
        return table

    @cached_property
    def _abbreviations(self) -> dict[str, str]:
        return {squash(a): r.key for r in self.roles for a in r.abbreviations}

    def _lookup(self, squashed: str) -> tuple[str, str | None] | None:
        if not squashed:
            return None
        if squashed in self._abbreviations:
            return self._abbreviations[squashed], None
        return _with_endings(squashed, self._names)

    def _narrowed(self, role: str, rest: list[str]) -> RoleMatch | None:
        while rest and rest[0].lower() in _PREPOSITIONS:
            rest = rest[1:]
        wanted = squash(" ".join(rest))
        if not wanted:
            return None
        administrations = _place(wanted, self.administrations)
        if len(administrations) == 1:
            return RoleMatch(role, administration=administrations[0])
        areas = _place(wanted, self.areas)
        if len(areas) == 1:
            return RoleMatch(role, area=areas[0])
        units = _place(wanted, self.units)
        if len(units) == 1:
            return RoleMatch(role, unit=units[0])
        return None

    def _external(self, text: str) -> RoleMatch | None:
        written = " ".join(text.split())
        squashed = squash(written)
        if _with_endings(squashed, {squash(n): (n, None) for n in self.external_names}):
            return RoleMatch(external=written)
        if any(written.lower().startswith(p.lower()) for p in self.external_prefixes):
            return RoleMatch(external=written)
        return None


def _with_endings(
    squashed: str, table: Mapping[str, tuple[str, str | None]]
) -> tuple[str, str | None] | None:
    if squashed in table:
        return table[squashed]
    for ending in _ENDINGS:
        if squashed.endswith(ending) and squashed[: -len(ending)] in table:
            return table[squashed[: -len(ending)]]
    return None


def _place(wanted: str, places: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The codes of the places `wanted` names: a code, a name or the start of one
    ("Solgården" for "Solgårdens särskilda boende"), in any ending ("äldreomsorgen")."""
    exact = [
        code
        for code, names in places.items()
        if any(_with_endings(wanted, {squash(n): (code, None)}) for n in (code, *names))
    ]
    if exact:
        return exact
    return [
        code
        for code, names in places.items()
        if len(wanted) >= 4 and any(squash(n).startswith(wanted) for n in names)
    ]


_GROUP_TITLES = {
    MEDARBETARE: ("enhetschef (APT)", "enhetschefer (APT)"),
    CHEFER: ("chef", "chefer"),
    NAMNDEN: ("nämnden", "nämnden"),
}


# -- declarations ----------------------------------------------------------------------------
def parse_roles(
    data: Mapping[str, Any],
    problems: list[tuple[str, str]],
    base: RoleVocabulary | None = None,
) -> RoleVocabulary | None:
    """The [[role]], [groups] and [external] tables of a directory document; None when it
    declares no roles. Each problem is (where, what)."""
    raw_roles = data.get("role")
    if raw_roles is None:
        return None
    if not isinstance(raw_roles, list) or not all(isinstance(r, Mapping) for r in raw_roles):
        problems.append(("role", "[[role]] måste vara en lista av tabeller."))
        return None
    specs: list[RoleSpec] = []
    for n, raw in enumerate(raw_roles, start=1):
        name = str(raw.get("name", "")).strip()
        key = str(raw.get("key", "")).strip().lower() or squash(name)
        where = f"roll {n} ({name or 'utan namn'})"
        level = str(raw.get("level", ADMINISTRATION))
        if not name:
            problems.append((where, "name måste anges."))
            continue
        if level not in LEVELS:
            problems.append((where, f"level ska vara en av {', '.join(LEVELS)}, inte {level!r}."))
            continue
        reports_to = raw.get("reports_to")
        specs.append(
            RoleSpec(
                key=key,
                name=name,
                plural=str(raw.get("plural", "")),
                aliases=strings(raw.get("aliases")),
                abbreviations=strings(raw.get("abbreviations")),
                level=level,
                reports_to=None if reports_to is None else str(reports_to).strip().lower(),
                manager=bool(raw.get("manager", False)),
                head=bool(raw.get("head", False)),
            )
        )
    keys = {s.key for s in specs}
    for s in specs:
        if s.reports_to and s.reports_to not in keys:
            problems.append(
                (f"roll {s.name}", f"reports_to {s.reports_to!r} är ingen deklarerad roll.")
            )
    if specs and sum(s.head for s in specs) != 1:
        problems.append(("role", "exakt en roll ska ha head = true (förvaltningens chef)."))
    base = base or default_vocabulary()
    groups = dict(base.groups)
    for key, words in dict(data.get("groups", {})).items():
        if key not in GROUPS:
            problems.append((f"groups.{key}", f"okänd grupp; grupperna är {', '.join(GROUPS)}."))
            continue
        groups[key] = tuple(dict.fromkeys((*groups.get(key, ()), *strings(words))))
    external = dict(data.get("external", {}))
    return replace(
        base,
        roles=tuple(specs),
        groups=groups,
        external_names=(*base.external_names, *strings(external.get("names"))),
        external_prefixes=(*base.external_prefixes, *strings(external.get("prefixes"))),
    )


def strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@cache
def default_vocabulary() -> RoleVocabulary:
    """The bundled roles (those of Socialförvaltningen) and list of external public bodies."""
    data = tomllib.loads(resources.files("service.data").joinpath("roles.toml").read_text("utf-8"))
    bodies = tomllib.loads(
        resources.files("service.data").joinpath("external_bodies.toml").read_text("utf-8")
    )
    base = RoleVocabulary(
        roles=(),
        groups={k: strings(v) for k, v in data.get("groups", {}).items()},
        external_names=strings(bodies.get("names")),
        external_prefixes=strings(bodies.get("prefixes")),
    )
    problems: list[tuple[str, str]] = []
    vocabulary = parse_roles(data, problems, base=base)
    if (
        problems or vocabulary is None
    ):  # a broken bundled file is a packaging bug, not a user's mistake
        raise RuntimeError(f"service/data/roles.toml: {problems}")
    return vocabulary


# -- kept for callers that read the bundled roles ----------------------------------------------
def canonical_role(written: str) -> str | None:
    return default_vocabulary().canonical_role(written)


def role_title_sv(role: str, count: int = 1) -> str:
    return default_vocabulary().title(role, count)


def canonical_roles(
    responsible: Iterable[str], vocabulary: RoleVocabulary | None = None
) -> list[str]:
    """The targets an item names in its Ansvarig column (keys for Directory.holders); external
    parties and unknown words left out."""
    vocabulary = vocabulary or default_vocabulary()
    matches = (vocabulary.match_role(w) for w in responsible)
    return [m.key for m in matches if m is not None and m.external is None]


def external_parties(responsible: Sequence[str], vocabulary: RoleVocabulary) -> list[str]:
    matches = (vocabulary.match_role(w) for w in responsible)
    return [m.external for m in matches if m is not None and m.external is not None]
