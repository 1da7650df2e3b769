"""What the Excel and Word plan readers share: the header names, the Ansvarig cell, the
activity numbering, and the plan head when the file does not state it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from service import roles
from service.problems import Problem

COLUMNS: dict[str, tuple[str, ...]] = {
    # Header texts lower-cased, without ".", ":" and "?", spaces around "/" removed.
    "area": ("område", "områden"),
    "number": ("nr", "nummer"),
    "title": ("åtgärd/aktivitet", "åtgärd", "aktivitet", "åtgärder/aktiviteter", "aktiviteter"),
    "responsible": ("ansvarig", "ansvariga"),
    "deadline": ("klart när", "deadline"),
    "cadence": ("kadens",),
    "checked": ("kontroll utfört datum", "kontroll utfört"),
    "indicator": ("indikator", "indikatorer", "uppföljning", "indikator/uppföljning"),
}
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
REQUIRED_COLUMNS = ("area", "title", "responsible", "deadline")


def match_header(texts: Sequence[str]) -> dict[str, int]:
    """The position of each known column in a header row (the first one wins)."""
    found: dict[str, int] = {}
    for position, text in enumerate(texts):
        key = unicodedata.normalize("NFC", text).lower()
        key = " ".join(re.sub(r"\s*/\s*", "/", re.sub(r"[.:?]", "", key)).split())
        for column, names in COLUMNS.items():
            if key in names:
                found.setdefault(column, position)
    return found


def header_problem(file: str, where: str, found: Mapping[str, int]) -> Problem:
    wanted = ", ".join(COLUMN_NAMES_SV[c] for c in REQUIRED_COLUMNS)
    missing = [COLUMN_NAMES_SV[c] for c in REQUIRED_COLUMNS if c not in found]
    if len(missing) == len(REQUIRED_COLUMNS):
        return Problem(file, where, f"ingen rubrikrad med kolumnerna {wanted} hittades.")
    columns = " och ".join(missing)
    noun = "kolumnen" if len(missing) == 1 else "kolumnerna"
    return Problem(
        file,
        where,
        f"{noun} {columns} saknas i rubrikraden; planen behöver kolumnerna {wanted}.",
    )


_ROLE_SEPARATORS = re.compile(r"\s*(?:[,;/]|\boch/eller\b|\boch\b|\beller\b)\s*")


def split_roles(text: str) -> list[str]:
    """The roles of one Ansvarig entry, separated by "," "/" "och" or line breaks; a word broken
    over two lines ("Verksamhetschef" / "er") is joined again."""
    written: list[str] = []
    for part in _ROLE_SEPARATORS.split(text):
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


_NUMBERED = re.compile(r"(?:(\d{1,2}(?:\.\d{1,2})+)\.?|(\d{1,2})[.)])\s+(\S.*)", re.DOTALL)
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
            parts = written.split(".")
            if all(p.isdigit() for p in parts):
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
    in the deadline phrases."""
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
        years = sorted(int(y) for p in phrases for y in re.findall(r"\b(?:19|20)\d\d\b", p))
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


def slugify(name: str) -> str:
    """ "Handlingsplan tillitsfull dialog 2024" -> "handlingsplan-tillitsfull-dialog-2024"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "plan"
