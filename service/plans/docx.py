"""Plans from a Word document laid out like the municipality's table.

The first table whose header row (one of its first three rows) has Område, Åtgärd/aktivitet,
Ansvarig and Klart när? (optionally Nr, Kadens and Kontroll utfört. Datum.) holds the plan.
Each row below it is one area; a row whose Område is empty or the same continues the area above.
The activity cell's paragraphs hold the activities: "1. …" or a numbered Word list at level 0
starts an activity, "- …" or a list at a deeper level (or a bullet list) a sub-step, and any
other paragraph continues the one before. The other cells hold one non-empty paragraph per
activity and sub-step, in the same order. The title is the first heading (else paragraph) before
the table; the rest of the head comes from table_plan_head.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from service.plans.tables import (
    COLUMN_NAMES_SV,
    REQUIRED_COLUMNS,
    Numbering,
    activity_marker,
    header_problem,
    match_header,
    split_roles,
    table_plan_head,
)
from service.problems import InputError, Problem

HEADER_ROWS = 3
# How a column's entries are counted in a problem: (one, many).
_NOUNS = {
    "number": ("nummer", "nummer"),
    "responsible": ("ansvarig", "ansvariga"),
    "deadline": ("tidsangivelse", "tidsangivelser"),
    "cadence": ("kadens", "kadenser"),
    "checked": ("kontrolldatum", "kontrolldatum"),
}
_PLACEHOLDERS = ("", "-", "–", "—")


def read_docx(source: Path | bytes, file: str) -> dict[str, Any]:
    """The plan document (as parse_plan takes it) of a Word file; `file` is the name shown in
    problems and gives the plan's id."""
    content = source.read_bytes() if isinstance(source, Path) else source
    try:
        document = Document(io.BytesIO(content))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError):
        raise InputError(
            [Problem(file, "", "filen går inte att öppna som Word-dokument; spara den som .docx.")]
        ) from None
    t_no, table, header, columns = _find_table(document.tables)
    if table is None:
        where = f"tabell {t_no}, rad {header + 1}" if columns else ""
        raise InputError([header_problem(file, where, columns)])
    lists = _ListFormats(document)
    problems: list[Problem] = []
    areas: list[dict[str, Any]] = []
    area: dict[str, Any] | None = None
    area_text = ""
    numbering = Numbering()
    phrases: list[str] = []
    for index, row in enumerate(table.rows[header + 1 :], start=header + 2):
        cells = row.cells
        cell = {c: cells[p] for c, p in columns.items() if p < len(cells)}
        at_row = f"tabell {t_no}, rad {index}"
        area_lines = _entries(cell["area"]) if "area" in cell else []
        activities = _activities(cell["title"], lists) if "title" in cell else []
        entries = {c: _entries(cell[c]) for c in _NOUNS if c in cell}
        if not area_lines and not activities and not any(entries.values()):
            continue
        text = "\n".join(area_lines)
        if area is None or (text and text != area_text):
            area_text, numbering = text, Numbering()
            area = {
                "title": area_lines[0] if area_lines else "",
                "description": " ".join(area_lines[1:]),
                "item": [],
                "_where": {"title": f"{at_row}, kolumn Område"},
            }
            areas.append(area)
        mismatched = [
            Problem(
                file,
                f"{at_row}, kolumn {COLUMN_NAMES_SV[column]}",
                f"{_count(len(found), *_NOUNS[column])} men "
                f"{_count(len(activities), 'aktivitet', 'aktiviteter')}; skriv ett stycke per "
                "aktivitet och delsteg, i samma ordning.",
            )
            for column, found in entries.items()
            if len(found) != len(activities)
            and (column in REQUIRED_COLUMNS or any(v not in _PLACEHOLDERS for v in found))
        ]
        if mismatched:
            problems += mismatched
            continue
        for n, (sub, written, title) in enumerate(activities):
            value = {c: _entry(found, n) for c, found in entries.items()}
            number = numbering.next(sub=sub, written=value.get("number") or written)
            at_item = f"{at_row}, aktivitet {number}"
            phrases += [value["deadline"], value.get("cadence", "")]
            area["item"].append(
                {
                    "number": number,
                    "title": title,
                    "responsible": split_roles(value["responsible"]),
                    "deadline": value["deadline"],
                    "cadence": value.get("cadence", ""),
                    "checked": value.get("checked", ""),
                    "_where": {"item": at_item, "cadence": f"{at_item}, kolumn Kadens"},
                }
            )
    title, background = _title_and_background(document, table)
    head, head_problems = table_plan_head(
        file,
        title=title,
        background=background,
        given={},
        where={"title": "före tabellen", "area": f"tabell {t_no}"},
        phrases=phrases,
        deadline_place=f"tabell {t_no}, kolumn Klart när?",
        fix="skriv årtalet i minst en frist, t.ex. ”December 2024”.",
    )
    return {"plan": head, "area": areas, "_problems": [*problems, *head_problems]}


def _find_table(tables: Sequence[Table]) -> tuple[int, Table | None, int, dict[str, int]]:
    """(number, table, header row, columns) of the first plan table; without one, the table
    and row that came closest, so the problem can name what is missing."""
    best: tuple[int, Table | None, int, dict[str, int]] = (1, None, 0, {})
    for t_no, table in enumerate(tables, start=1):
        for index, row in enumerate(table.rows[:HEADER_ROWS]):
            found = match_header([cell.text for cell in row.cells])
            if all(c in found for c in REQUIRED_COLUMNS):
                return t_no, table, index, found
            if sum(c in found for c in REQUIRED_COLUMNS) > sum(
                c in best[3] for c in REQUIRED_COLUMNS
            ):
                best = (t_no, None, index, found)
    return best


def _entries(cell: _Cell) -> list[str]:
    """The cell's non-empty paragraphs; a line break inside one stays ("Verksamhetschef\\ner")."""
    return [p.text.strip() for p in cell.paragraphs if p.text.strip()]


def _activities(cell: _Cell, lists: _ListFormats) -> list[tuple[bool, str | None, str]]:
    """(is a sub-step, written number, text) of each activity in the cell, in order."""
    found: list[tuple[bool, str | None, str]] = []
    for paragraph in cell.paragraphs:
        text = " ".join(paragraph.text.split())
        if not text:
            continue
        kind, written, rest = activity_marker(text)
        level = lists.level(paragraph)
        if level is not None:  # Word numbers it; a typed marker is only text
            found.append((level > 0 or kind == "sub", None, rest if kind == "sub" else text))
        elif kind:
            found.append((kind == "sub", written, rest))
        elif found:
            sub, number, before = found[-1]
            found[-1] = (sub, number, f"{before} {text}")
        else:
            found.append((False, None, text))
    return found


class _ListFormats:
    """The list level of a paragraph in Word's own numbering; a bullet counts as level 1, so a
    bulleted paragraph is a sub-step like "- …"."""

    def __init__(self, document: DocumentObject) -> None:
        try:
            self.numbering: Any = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            self.numbering = None

    def level(self, paragraph: Paragraph) -> int | None:
        num_id, ilvl = self._num_pr(paragraph)
        if not num_id:  # none, or numId 0: numbering switched off
            return None
        if self._format(num_id, ilvl) == "bullet":
            return max(ilvl, 1)
        return ilvl

    @staticmethod
    def _num_pr(paragraph: Paragraph) -> tuple[int | None, int]:
        # The paragraph's own w:numPr, else its style's (and that style's base styles').
        num_id: int | None = None
        ilvl: int | None = None
        p_prs: list[Any] = [paragraph._p.pPr]
        style: Any = paragraph.style
        while style is not None:
            p_prs.append(style.element.pPr)
            style = style.base_style
        for p_pr in p_prs:
            num_pr = p_pr.numPr if p_pr is not None else None
            if num_pr is None:
                continue
            if num_id is None and num_pr.numId is not None:
                num_id = int(num_pr.numId.val)
            if ilvl is None and num_pr.ilvl is not None:
                ilvl = int(num_pr.ilvl.val)
        return num_id, ilvl or 0

    def _format(self, num_id: int, ilvl: int) -> str:
        if self.numbering is None:
            return ""
        abstract = self.numbering.xpath(f'w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
        if not abstract:
            return ""
        formats = self.numbering.xpath(
            f'w:abstractNum[@w:abstractNumId="{abstract[0]}"]'
            f'/w:lvl[@w:ilvl="{ilvl}"]/w:numFmt/@w:val'
        )
        return str(formats[0]) if formats else ""


def _title_and_background(document: DocumentObject, table: Table) -> tuple[str, str]:
    """The first heading before the table (else its first paragraph), and the other paragraphs
    before it as the background."""
    before: list[Paragraph] = []
    for child in document.element.body.iterchildren():
        if child is table._tbl:
            break
        if child.tag == qn("w:p"):
            paragraph = Paragraph(child, document)
            if paragraph.text.strip():
                before.append(paragraph)
    headings = [p for p in before if _is_heading(p)]
    title = headings[0] if headings else (before[0] if before else None)
    if title is None:
        return str(document.core_properties.title or "").strip(), ""
    rest = [p.text.strip() for p in before if p is not title]
    return " ".join(title.text.split()), "\n\n".join(rest)


def _is_heading(paragraph: Paragraph) -> bool:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    return name.lower().startswith(("heading", "rubrik", "title", "titel"))


def _entry(found: Sequence[str], n: int) -> str:
    """The n-th entry of an optional column, "" when the column is empty or holds a dash."""
    return "" if n >= len(found) or found[n] in _PLACEHOLDERS else found[n]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
