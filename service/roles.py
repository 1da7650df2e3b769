"""Role names as plans write them, matched to the directory's canonical roles."""

from __future__ import annotations

import re
from collections.abc import Iterable

FORVALTNINGSCHEF = "förvaltningschef"
VERKSAMHETSCHEF = "verksamhetschef"
ENHETSCHEF = "enhetschef"
UTVECKLINGSCHEF = "utvecklingschef"
HR_CHEF = "hr-chef"
ORDFORANDE = "ordförande"
LEDAMOT = "ledamot"
# Groups that are not held by one person each.
MEDARBETARE = "medarbetare"
CHEFER = "chefer"

PERSON_ROLES = (
    FORVALTNINGSCHEF,
    VERKSAMHETSCHEF,
    ENHETSCHEF,
    UTVECKLINGSCHEF,
    HR_CHEF,
    ORDFORANDE,
    LEDAMOT,
)
ALL_ROLES = (*PERSON_ROLES, MEDARBETARE, CHEFER)

# Squashed spellings (lower case, no spaces, hyphens or brackets) -> canonical role.
_ALIASES: dict[str, str] = {
    "förvaltningschef": FORVALTNINGSCHEF,
    "socialdirektör": FORVALTNINGSCHEF,
    "socialchef": FORVALTNINGSCHEF,
    "verksamhetschef": VERKSAMHETSCHEF,
    "enhetschef": ENHETSCHEF,
    "utvecklingschef": UTVECKLINGSCHEF,
    "hrchef": HR_CHEF,
    "personalchef": HR_CHEF,
    "ordförande": ORDFORANDE,
    "nämndensordförande": ORDFORANDE,
    "ledamot": LEDAMOT,
    "ledamöter": LEDAMOT,
    "nämndsledamot": LEDAMOT,
    "nämndsledamöter": LEDAMOT,
    "medarbetare": MEDARBETARE,
    "medarbetarna": MEDARBETARE,
    "chef": CHEFER,
    "chefer": CHEFER,
    "chefen": CHEFER,
    "cheferna": CHEFER,
    "samtligachefer": CHEFER,
}

# Plural and definite endings, longest first: "Enhetscheferna", "Förvaltningschefen".
_ENDINGS = ("erna", "arna", "er", "en", "na", "ar")


def canonical_role(written: str) -> str | None:
    """The canonical role for a name as written, or None if it is not a known role.

    Case- and plural-insensitive, and tolerant of a PDF line break inside the word
    ("Verksamhetschef er") or a bracketed plural ("Enhetschef(er)").
    """
    squashed = re.sub(r"[\s\-()/.]", "", written.lower())
    if not squashed:
        return None
    if squashed in _ALIASES:
        return _ALIASES[squashed]
    for ending in _ENDINGS:
        if squashed.endswith(ending) and squashed[: -len(ending)] in _ALIASES:
            return _ALIASES[squashed[: -len(ending)]]
    return None


ROLE_TITLES_SV = {
    FORVALTNINGSCHEF: ("förvaltningschef", "förvaltningschefer"),
    VERKSAMHETSCHEF: ("verksamhetschef", "verksamhetschefer"),
    ENHETSCHEF: ("enhetschef", "enhetschefer"),
    UTVECKLINGSCHEF: ("utvecklingschef", "utvecklingschefer"),
    HR_CHEF: ("HR-chef", "HR-chefer"),
    ORDFORANDE: ("ordförande", "ordförande"),
    LEDAMOT: ("ledamot", "ledamöter"),
    MEDARBETARE: ("enhetschef (APT)", "enhetschefer (APT)"),
    CHEFER: ("chef", "chefer"),
}


def role_title_sv(role: str, count: int = 1) -> str:
    singular, plural = ROLE_TITLES_SV.get(role, (role, role))
    return singular if count == 1 else plural


def canonical_roles(responsible: Iterable[str]) -> list[str]:
    """The roles an item names in its Ansvarig column, as directory keys; unknown words left out."""
    return [r for r in (canonical_role(w) for w in responsible) if r]
