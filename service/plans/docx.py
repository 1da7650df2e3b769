"""Plans from a Word document laid out like the municipality's table.

Every table whose header row (one of its first three rows) has at least Åtgärd/aktivitet and
Ansvarig (and Område, Klart när?, Nr, Kadens, Kontroll utfört. Datum. or other columns, under any
heading of service/plans/headers.toml) holds part of the plan. Each row below it is one area; a
row whose Område is empty or the same continues the area above. Without an Område column, the
area is named by a row that is one cell across the table (a first row above the header, or one
between rows) or else by the paragraph just before the table. The activity cell's paragraphs
hold the activities: "1. …" or a numbered Word list at level 0 starts an activity, "- …" or a
list at a deeper level (or a bullet list) a sub-step, and any other paragraph continues the one
before. The other cells hold one non-empty paragraph per activity and sub-step, in the same
order. The title is the first heading (else paragraph) before the first table; the rest of the
head comes from table_plan_head.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from service.plans.limits import check_package, text_too_long
from service.plans.tables import (
    COLUMN_NAMES_SV,
    REQUIRED_COLUMNS,
    Numbering,
    ReadOptions,
    activity_marker,
    add_indicators,
    column_report,
    extra_columns,
    header_problem,
    is_header,
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


def read_docx(
    source: Path | bytes, file: str, options: ReadOptions | None = None
) -> dict[str, Any]:
    """The plan document (as parse_plan takes it) of a Word file; `file` is the name shown in
    problems and gives the plan's id."""
    options = options or ReadOptions()
    content = source.read_bytes() if isinstance(source, Path) else source
    check_package(content, file, "docx", options.limits)
    try:
        document = Document(io.BytesIO(content))
        tables = _plan_tables(document, options)
    except InputError:
        raise
    except Exception:
        # A damaged part reaches python-docx as any of many exception types (a cut XML part,
        # a relationship to a missing part, a malformed attribute); all mean the same.
        raise _damaged(file) from None
    if not tables:
        t_no, header, columns = _closest_table(document.tables, options)
        where = f"tabell {t_no}, rad {header + 1}" if columns else ""
        raise InputError([header_problem(file, where, columns)])
    reader = _TableReader(document, file, options)
    try:
        for t_no, table, header, columns in tables:
            reader.read(t_no, table, header, columns)
        title, background = _title_and_background(document, tables[0][1])
    except InputError:
        raise
    except Exception:
        # python-docx parses an attribute when it is read, so a malformed one surfaces here
        # as any of the types above; the file is as damaged as one that does not open.
        raise _damaged(file) from None
    first = tables[0][0]
    head, head_problems = table_plan_head(
        file,
        title=title,
        background=background,
        given={},
        where={"title": "före tabellen", "area": f"tabell {first}"},
        phrases=reader.phrases,
        deadline_place=f"tabell {first}, kolumn Klart när?",
        fix="skriv årtalet i minst en frist, t.ex. ”December 2024”.",
    )
    return {
        "plan": head,
        "area": reader.areas,
        "_problems": [*reader.problems, *head_problems],
        "_columns": reader.report,
    }


class _TableReader:
    """Reads the plan tables one after another into areas. A row's Område starts an area; so
    does a row that is one cell across the table, and, for a table without Område, the first
    row above its header or the heading just before the table."""

    def __init__(self, document: DocumentObject, file: str, options: ReadOptions) -> None:
        self.document, self.file, self.options = document, file, options
        self.lists = _ListFormats(document)
        self.problems: list[Problem] = []
        self.areas: list[dict[str, Any]] = []
        self.report: list[dict[str, str]] = []
        self.phrases: list[str] = []
        self.area: dict[str, Any] | None = None
        self.area_text = ""
        self.numbering = Numbering()

    def start_area(self, lines: list[str], where: str) -> None:
        self.area = {
            "title": lines[0] if lines else "",
            "description": " ".join(lines[1:]),
            "item": [],
            "_where": {"title": where},
        }
        self.areas.append(self.area)
        self.numbering = Numbering()

    def read(self, t_no: int, table: Table, header: int, columns: dict[str, int]) -> None:
        if table._tbl.xpath(HIDDEN_FROM_READING):
            # python-docx reads neither rows nor text inside these: the rows would have gone
            # missing without a word, and a re-import would have retired their items.
            raise InputError(
                [
                    Problem(
                        self.file,
                        f"tabell {t_no}",
                        "tabellen har spårade ändringar eller innehållskontroller, som Bevakning "
                        "inte kan läsa säkert; godkänn eller avvisa ändringarna (Granska) och "
                        "ta bort innehållskontrollerna, spara och importera igen.",
                    )
                ]
            )
        header_texts = [cell.text for cell in table.rows[header].cells]
        extra = extra_columns(header_texts, columns)
        self.report += column_report(
            header_texts, columns, extra, f"tabell {t_no}, rad {header + 1}"
        )
        heading = _heading_before(self.document, table)
        above = [r for r in table.rows[:header] if _full_width(r)]
        if above:
            lines = _entries(_paragraphs(above[-1].cells[0]))
            self.start_area(lines, f"tabell {t_no}, rad {header}")
            self.area_text = ""
        elif "area" not in columns and heading:
            self.start_area([heading], f"före tabell {t_no}")
            self.area_text = ""
        limit = self.options.limits.cell_chars
        for index, row in enumerate(table.rows[header + 1 :], start=header + 2):
            at_row = f"tabell {t_no}, rad {index}"
            cells = row.cells
            if _full_width(row):
                lines = _entries(_paragraphs(cells[0]))
                if lines:
                    self.start_area(lines, at_row)
                    self.area_text = ""
                continue
            # Each cell's paragraph texts once: python-docx computes a text anew on each call.
            paras = {
                p: _paragraphs(cells[p])
                for p in {*columns.values(), *extra.values()}
                if p < len(cells)
            }
            long = max((sum(len(t) for _, t in found) for found in paras.values()), default=0)
            if long > limit:
                self.problems.append(text_too_long(self.file, at_row, long, self.options.limits))
                continue
            cell = {c: paras[p] for c, p in columns.items() if p in paras}
            area_lines = _entries(cell["area"]) if "area" in cell else []
            activities = _activities(cell["title"], self.lists) if "title" in cell else []
            entries = {c: _entries(cell[c]) for c in _NOUNS if c in cell}
            if "number" in entries and len(entries["number"]) == len(_entries(cell["title"])):
                # A number beside every paragraph: each paragraph is an activity of its own.
                activities = _activities(cell["title"], self.lists, each_paragraph=True)
            indicator_text = "\n".join(_entries(cell["indicator"])) if "indicator" in cell else ""
            if not (area_lines or activities or any(entries.values()) or indicator_text):
                continue
            text = "\n".join(area_lines)
            if self.area is None or (text and text != self.area_text):
                self.area_text = text
                lines = area_lines or ([heading] if heading else [])
                where = f"{at_row}, kolumn Område" if area_lines else f"före tabell {t_no}"
                self.start_area(lines, where)
            assert self.area is not None
            if indicator_text:
                where = f"{at_row}, kolumn {' '.join(header_texts[columns['indicator']].split())}"
                add_indicators(self.area, indicator_text, where, self.file, self.problems)
            # Provisional numbers name the activities in a problem; the real ones follow the
            # Nr column when it lines up.
            provisional = copy.copy(self.numbering)
            numbers = [
                provisional.next(sub=sub, written=written) for sub, written, _, _ in activities
            ]
            mismatched = [
                self._mismatch(at_row, column, found, activities, numbers, cell)
                for column, found in entries.items()
                if len(found) != len(activities)
                and (column in REQUIRED_COLUMNS or any(v not in _PLACEHOLDERS for v in found))
            ]
            if mismatched:
                self.problems += mismatched
                self.area["_partial"] = True  # its activities are missing for this reason
                self.numbering = provisional
                continue
            extras = {
                name: _column_values(paras[p], len(activities))
                for name, p in extra.items()
                if p in paras
            }
            for n, (sub, written, title, _first) in enumerate(activities):
                value = {c: _entry(found, n) for c, found in entries.items()}
                number = self.numbering.next(sub=sub, written=value.get("number") or written)
                at_item = f"{at_row}, aktivitet {number}"
                self.phrases += [value.get("deadline", ""), value.get("cadence", "")]
                self.area["item"].append(
                    {
                        "number": number,
                        "title": title,
                        "responsible": split_roles(value.get("responsible", "")),
                        "deadline": value.get("deadline", ""),
                        "cadence": value.get("cadence", ""),
                        "checked": value.get("checked", ""),
                        "extra": {k: v[n] for k, v in extras.items() if v[n]},
                        "_where": {"item": at_item, "cadence": f"{at_item}, kolumn Kadens"},
                    }
                )

    def _mismatch(
        self,
        at_row: str,
        column: str,
        found: list[str],
        activities: list[tuple[bool, str | None, str, int]],
        numbers: list[str],
        cell: dict[str, Paragraphs],
    ) -> Problem:
        """The problem of a column whose paragraphs do not line up with the activities, naming
        the activities that lack theirs where the cell's paragraphs show it."""
        lacking: list[str] = []
        raw = [text for _, text in cell[column]]
        if len(raw) == len(cell["title"]):
            # Same paragraph count: an empty paragraph beside an activity is its gap.
            lacking = [numbers[n] for n, a in enumerate(activities) if not raw[a[3]]]
        elif len(found) < len(activities):
            lacking = numbers[len(found) :]
        counts = (
            f"{_count(len(found), *_NOUNS[column])} men "
            f"{_count(len(activities), 'aktivitet', 'aktiviteter')}"
        )
        if lacking and len(found) < len(activities):
            which = ", ".join(lacking)
            first = "den första som saknas är " if len(raw) != len(cell["title"]) else ""
            noun = "aktivitet" if len(lacking) == 1 else "aktiviteterna"
            counts += f" ({first}{noun} {which})"
        return Problem(
            self.file,
            f"{at_row}, kolumn {COLUMN_NAMES_SV[column]}",
            f"{counts}; skriv ett stycke per aktivitet och delsteg, i samma ordning.",
        )


# Tracked changes and content controls (a repeating section's rows are in w:sdt).
HIDDEN_FROM_READING = ".//w:sdt | .//w:ins | .//w:del | .//w:moveFrom | .//w:moveTo"


def _damaged(file: str) -> InputError:
    return InputError(
        [Problem(file, "", "filen går inte att öppna som Word-dokument; spara den som .docx.")]
    )


def _plan_tables(
    document: DocumentObject, options: ReadOptions
) -> list[tuple[int, Table, int, dict[str, int]]]:
    """(number, table, header row, columns) of every table with a plan header."""
    found = []
    for t_no, table in enumerate(document.tables, start=1):
        for index, row in enumerate(table.rows[:HEADER_ROWS]):
            columns = match_header([cell.text for cell in row.cells], options.headers)
            if is_header(columns):
                found.append((t_no, table, index, columns))
                break
    return found


def _closest_table(
    tables: Sequence[Table], options: ReadOptions
) -> tuple[int, int, dict[str, int]]:
    """(number, row, columns) of the header row that came closest, to name what is missing."""
    best: tuple[int, int, dict[str, int]] = (1, 0, {})
    for t_no, table in enumerate(tables, start=1):
        for index, row in enumerate(table.rows[:HEADER_ROWS]):
            found = match_header([cell.text for cell in row.cells], options.headers)
            if sum(c in found for c in REQUIRED_COLUMNS) > sum(
                c in best[2] for c in REQUIRED_COLUMNS
            ):
                best = (t_no, index, found)
    return best


def _full_width(row: Any) -> bool:
    """A row that is one cell across the table (merged), holding text: an area heading."""
    cells = row.cells
    return (
        len(cells) > 1 and all(c._tc is cells[0]._tc for c in cells) and bool(cells[0].text.strip())
    )


def _heading_before(document: DocumentObject, table: Table) -> str:
    """The last non-empty paragraph before the table, if it is a heading or short; else ""."""
    last: Paragraph | None = None
    for child in document.element.body.iterchildren():
        if child is table._tbl:
            break
        if child.tag == qn("w:tbl"):
            last = None
        elif child.tag == qn("w:p"):
            paragraph = Paragraph(child, document)
            if paragraph.text.strip():
                last = paragraph
    if last is None:
        return ""
    return " ".join(last.text.split())


def _column_values(cell: Paragraphs, count: int) -> list[str]:
    """An extra column's value per activity: its paragraphs if there is one per activity, else
    the whole cell for each."""
    found = _entries(cell)
    if len(found) == count:
        return [v if v not in _PLACEHOLDERS else "" for v in found]
    whole = " ".join(" ".join(found).split())
    return [whole] * count


# A cell's paragraphs, each with its text stripped.
Paragraphs = list[tuple[Paragraph, str]]


def _paragraphs(cell: _Cell) -> Paragraphs:
    return [(p, p.text.strip()) for p in cell.paragraphs]


def _entries(cell: Paragraphs) -> list[str]:
    """The cell's non-empty paragraphs; a line break inside one stays ("Verksamhetschef\\ner")."""
    return [text for _, text in cell if text]


def _activities(
    cell: Paragraphs, lists: _ListFormats, *, each_paragraph: bool = False
) -> list[tuple[bool, str | None, str, int]]:
    """(is a sub-step, written number, text, index of its first paragraph) of each activity in
    the cell, in order; with `each_paragraph`, no paragraph continues the one before."""
    found: list[tuple[bool, str | None, str, int]] = []
    for index, (paragraph, stripped) in enumerate(cell):
        text = " ".join(stripped.split())
        if not text:
            continue
        kind, written, rest = activity_marker(text)
        level = lists.level(paragraph)
        if level is not None:  # Word numbers it; a typed marker is only text
            found.append((level > 0 or kind == "sub", None, rest if kind == "sub" else text, index))
        elif kind:
            found.append((kind == "sub", written, rest, index))
        elif found and not each_paragraph:
            sub, number, before, first = found[-1]
            found[-1] = (sub, number, f"{before} {text}", first)
        else:
            found.append((False, None, text, index))
    return found


class _ListFormats:
    """The list level of a paragraph in Word's own numbering; a bullet counts as level 1, so a
    bulleted paragraph is a sub-step like "- …"."""

    def __init__(self, document: DocumentObject) -> None:
        self.styles = document.styles
        self._styles: dict[str | None, list[Any]] = {}
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

    def _style_p_prs(self, style_id: str | None) -> list[Any]:
        """The w:pPr of a paragraph style and its base styles, looked up once per style (python-
        docx searches every style for the default on each call, which is slow on long plans)."""
        if style_id not in self._styles:
            style: Any = self.styles.get_by_id(style_id, WD_STYLE_TYPE.PARAGRAPH)
            chain: list[Any] = []
            while style is not None and len(chain) < 20:  # a cycle of base styles ends too
                chain.append(style.element.pPr)
                style = style.base_style
            self._styles[style_id] = chain
        return self._styles[style_id]

    def _num_pr(self, paragraph: Paragraph) -> tuple[int | None, int]:
        # The paragraph's own w:numPr, else its style's (and that style's base styles').
        num_id: int | None = None
        ilvl: int | None = None
        p_prs: list[Any] = [paragraph._p.pPr, *self._style_p_prs(paragraph._p.style)]
        for p_pr in p_prs:
            num_pr = p_pr.numPr if p_pr is not None else None
            if num_pr is None:
                continue
            try:
                if num_id is None and num_pr.numId is not None:
                    num_id = int(num_pr.numId.val)
                if ilvl is None and num_pr.ilvl is not None:
                    ilvl = int(num_pr.ilvl.val)
            except ValueError:  # python-docx reads the attribute as it asks for it
                continue  # a list mark no Word would write: the paragraph reads as unnumbered
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
