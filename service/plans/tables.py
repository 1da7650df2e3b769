"""What the Excel and Word plan readers share: the header names, the Ansvarig cell, the
activity numbering, and the plan head when the file does not state it."""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from service import indicators, roles
from service.plans.limits import Limits
from service.problems import InputError, Problem
from service.roles import RoleVocabulary
from service.roles import default_vocabulary as default_roles

COLUMN_NAMES_SV = {
    "area": "Område",
    "number": "Nr",
    "title": "Åtgärd/aktivitet",
    "responsible": "Ansvarig",
    "deadline": "Klart när?",
    "cadence": "Kadens",
    "checked": "Kontroll utfört. Datum.",
    "indicator": "Indikator",
}
# A table needs these; without Område the areas come from headings or full-width rows, and
# without Klart när? every activity is continuous (with a warning, or refused with --strict).
REQUIRED_COLUMNS = ("title", "responsible")
# Enough to tell a header row from an activity row.
HEADER_MINIMUM = 2
_BUNDLED_HEADERS = Path(__file__).with_name("headers.toml")


def header_key(text: str) -> str:
    """A heading as compared: lower case, without ".", ":" and "?", spaces around "/" removed."""
    key = unicodedata.normalize("NFC", text).lower()
    return " ".join(re.sub(r"\s*/\s*", "/", re.sub(r"[.:?]", "", key)).split())


@dataclass(frozen=True)
class Vocabulary:
    """The headings each column goes by (service/plans/headers.toml plus the municipality's)."""

    columns: Mapping[str, frozenset[str]]

    @classmethod
    def load(cls, extra: Path | None = None) -> Vocabulary:
        names: dict[str, set[str]] = {column: set() for column in COLUMN_NAMES_SV}
        for path in (_BUNDLED_HEADERS, extra):
            if path is None:
                continue
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise InputError(
                    [Problem(str(path), "", f"rubrikfilen går inte att läsa: {exc}.")]
                ) from None
            columns = data.get("columns", {})
            for column, written in columns.items() if isinstance(columns, Mapping) else ():
                if column not in names or not isinstance(written, list):
                    raise InputError(
                        [
                            Problem(
                                str(path),
                                f"[columns] {column}",
                                "ska vara en lista med rubriker för någon av kolumnerna "
                                f"{', '.join(COLUMN_NAMES_SV)}.",
                            )
                        ]
                    )
                names[column].update(header_key(str(w)) for w in written)
        return cls({c: frozenset(n) for c, n in names.items()})


@dataclass(frozen=True)
class ReadOptions:
    """What a reader needs beyond the file: the limits, the headings, and --strict."""

    limits: Limits = field(default_factory=Limits)
    vocabulary: Vocabulary | None = None
    strict: bool = False
    roles: RoleVocabulary | None = None  # the directory's roles; None = the bundled ones

    @property
    def role_vocabulary(self) -> RoleVocabulary:
        return self.roles or default_roles()

    @property
    def headers(self) -> Vocabulary:
        return self.vocabulary or default_vocabulary()


@functools.cache
def default_vocabulary() -> Vocabulary:
    return Vocabulary.load()


def match_header(texts: Sequence[str], vocabulary: Vocabulary | None = None) -> dict[str, int]:
    """The position of each known column in a header row (the first one wins)."""
    columns = (vocabulary or default_vocabulary()).columns
    found: dict[str, int] = {}
    for position, text in enumerate(texts):
        key = header_key(text)
        for column, names in columns.items():
            if key in names:
                found.setdefault(column, position)
    return found


def is_header(found: Mapping[str, int]) -> bool:
    return all(c in found for c in REQUIRED_COLUMNS) and len(found) >= HEADER_MINIMUM


def extra_columns(texts: Sequence[str], found: Mapping[str, int]) -> dict[str, int]:
    """The header row's other headed columns (Samverkanspartner, Status, …): kept per item."""
    taken = set(found.values())
    extra: dict[str, int] = {}
    for position, text in enumerate(texts):
        name = " ".join(text.split())
        if name and position not in taken and name not in extra:
            extra[name] = position
    return extra


def column_report(
    texts: Sequence[str], found: Mapping[str, int], extra: Mapping[str, int], place: str
) -> list[dict[str, str]]:
    """Which column was read as what, for the import report."""
    read_as = {p: COLUMN_NAMES_SV[c] for c, p in found.items()}
    read_as.update({p: "extra uppgift" for p in extra.values()})
    return [
        {"where": place, "header": " ".join(texts[p].split()), "read_as": read_as[p]}
        for p in sorted(read_as)
    ]


def header_problem(file: str, where: str, found: Mapping[str, int]) -> Problem:
    wanted = " och ".join(COLUMN_NAMES_SV[c] for c in REQUIRED_COLUMNS)
    missing = [COLUMN_NAMES_SV[c] for c in REQUIRED_COLUMNS if c not in found]
    if len(missing) == len(REQUIRED_COLUMNS) or not missing:
        return Problem(
            file,
            where,
            f"ingen rubrikrad med kolumnerna {wanted} hittades; lägg till rubrikerna eller "
            "nya rubriknamn i filen som [plans] headers pekar på.",
        )
    columns = " och ".join(missing)
    noun = "kolumnen" if len(missing) == 1 else "kolumnerna"
    return Problem(
        file,
        where,
        f"{noun} {columns} saknas i rubrikraden; planen behöver kolumnerna {wanted}.",
    )


def add_indicators(
    area: dict[str, Any], text: str, where: str, file: str, problems: list[Problem]
) -> None:
    """An Indikator/Uppföljning cell as the indicators of the row's area (one per line, see
    service/indicators.read_cell_line). The same indicator on several rows of the area is one;
    a row that gives it other settings is a problem naming both places."""
    known = {str(i["name"]).lower(): i for i in area.setdefault("indicator", [])}
    for line in (" ".join(raw.split()) for raw in text.splitlines()):
        if not line or line in ("-", "–", "—"):
            continue
        try:
            read = indicators.read_cell_line(line)
        except ValueError as exc:
            problems.append(Problem(file, where, str(exc)))
            continue
        before = known.get(str(read["name"]).lower())
        if before is None:
            read["_where"] = {"indicator": where}
            area["indicator"].append(read)
            known[str(read["name"]).lower()] = read
            continue
        settings = ("unit", "target", "direction")
        if not before["_stated"]:  # named before, its settings written here
            before.update({k: read[k] for k in settings if k in read}, _stated=read["_stated"])
        elif read["_stated"] and any(before.get(k) != read.get(k) for k in settings):
            problems.append(
                Problem(
                    file,
                    where,
                    f"indikatorn ”{read['name']}” står med andra inställningar på "
                    f"{before['_where']['indicator']}; skriv mål, enhet och riktning på ett "
                    "ställe, eller samma på båda.",
                )
            )


_ROLE_SEPARATORS = re.compile(r"\s*(?:[,;/]|\boch/eller\b|\boch\b|\bsamt\b|\beller\b)\s*")


_HYPHEN_OCH = re.compile(r"-\s+och\s+")


def split_roles(text: str) -> list[str]:
    """The roles of one Ansvarig entry, separated by "," "/" "och" or line breaks; a word broken
    over two lines ("Verksamhetschef" / "er") is joined again."""
    written: list[str] = []
    # "Kultur- och fritidsförvaltningen" is one name: an "och" after a hyphen does not separate.
    text = _HYPHEN_OCH.sub("-\x00", text)
    for part in (p.replace("-\x00", "- och ") for p in _ROLE_SEPARATORS.split(text)):
        lines: list[str] = []
        for line in (" ".join(raw.split()) for raw in part.splitlines()):
            if line and lines and _broken_word(lines[-1], line):
                lines[-1] += line
            elif line:
                lines.append(line)
        written.extend(lines)
    return written


def _broken_word(before: str, after: str) -> bool:
    both_roles = roles.canonical_role(before) and roles.canonical_role(after)
    return not both_roles and roles.canonical_role(before + after) is not None


# ASCII digits only: "²", "٣" and "１" are digits to Python but never an item number.
_NUMBERED = re.compile(r"(?:([0-9]{1,2}(?:\.[0-9]{1,2})+)\.?|([0-9]{1,2})[.)])\s+(\S.*)", re.DOTALL)
ITEM_NUMBER = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6}){0,3}")
_SUB_STEP = re.compile(r"[-–—•]\s*(\S.*)", re.DOTALL)


def activity_marker(text: str) -> tuple[str, str | None, str]:
    """The kind of an activity text ("activity" for "1. …" or "1.2 …", "sub" for "- …", "" for
    none), the number it writes, and the text without the marker."""
    text = text.strip()
    if match := _NUMBERED.fullmatch(text):
        number = match[1] or match[2]
        return ("sub" if "." in number else "activity"), number, match[3]
    if match := _SUB_STEP.fullmatch(text):
        return "sub", None, match[1]
    return "", None, text


class Numbering:
    """Numbers the activities of one area in order: "1", "1.1", "1.2", "2", …; a written
    number is kept and the count goes on from it."""

    def __init__(self) -> None:
        self.activity = self.step = 0

    def next(self, *, sub: bool, written: str | None = None) -> str:
        if written:
            if ITEM_NUMBER.fullmatch(written):
                parts = written.split(".")
                self.activity, self.step = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
            return written
        if sub:
            # Before any activity this gives "0.1", which parse_plan reports as a lone sub-step.
            self.step += 1
            return f"{self.activity}.{self.step}"
        self.activity, self.step = self.activity + 1, 0
        return str(self.activity)


def table_plan_head(
    file: str,
    *,
    title: str,
    background: str,
    given: Mapping[str, Any],
    where: Mapping[str, str],
    phrases: Iterable[str],
    deadline_place: str,
    fix: str,
) -> tuple[dict[str, Any], list[Problem]]:
    """The [plan] head of an Excel or Word plan. What the file states (`given`) wins; otherwise
    the id is the file name as a slug, the title is the file's own title (else the file name),
    and the period runs from 1 January of the first year to 31 December of the last year named
    in the deadline phrases (else in the title)."""
    stem = Path(file).stem
    head: dict[str, Any] = {
        "id": slugify(stem),
        "title": title or " ".join(stem.replace("_", " ").replace("-", " ").split()),
        "source": Path(file).name,
        "background": background,
        **given,
    }
    head["_where"] = {"id": "filnamnet", **where}
    problems: list[Problem] = []
    if "start" not in head or "end" not in head:
        years = _years(phrases) or _years([head["title"]])  # "Handlingsplan 2025–2026"
        if years:
            head.setdefault("start", date(years[0], 1, 1))
            head.setdefault("end", date(years[-1], 12, 31))
        else:
            problems.append(
                Problem(
                    file,
                    deadline_place,
                    "planens start och slut går inte att räkna fram, för ingen frist har "
                    f"årtal; {fix}",
                )
            )
            # Placeholders; the problem above stops the import.
            head.setdefault("start", date.min)
            head.setdefault("end", date.min)
    return head, problems


def _years(texts: Iterable[str]) -> list[int]:
    return sorted(int(y) for t in texts for y in re.findall(r"\b(?:19|20)\d\d\b", str(t)))


def slugify(name: str) -> str:
    """ "Handlingsplan tillitsfull dialog 2024" -> "handlingsplan-tillitsfull-dialog-2024"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "plan"
