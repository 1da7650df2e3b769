"""Plans from an Excel workbook laid out like the municipality's table.

The sheet "Plan" (else every sheet but "Info" that has a plan table, one sheet per area) has,
within its first ten rows, a header row with at least Åtgärd/aktivitet and Ansvarig (and
Område, Klart när?, Nr, Kadens, Kontroll utfört. Datum. or other columns, under any heading of
service/plans/headers.toml) in any order. Every row below it is one activity or sub-step; an empty
Område cell continues the area above (a merged cell is empty below its top cell). The plan head
comes from the sheet "Info" (name in column A, value in column B); what it leaves out comes from
table_plan_head, with the title and background from the text above the header row.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from service.plans.limits import check_package, text_too_long
from service.plans.tables import (
    REQUIRED_COLUMNS,
    Numbering,
    ReadOptions,
    Vocabulary,
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

HEADER_ROWS = 10
INFO_KEYS = {
    "id": "id",
    "title": "title",
    "titel": "title",
    "start": "start",
    "startdatum": "start",
    "end": "end",
    "slut": "end",
    "slutdatum": "end",
    "organisation": "organisation",
    "förvaltning": "organisation",
    "source": "source",
    "källa": "source",
    "background": "background",
    "bakgrund": "background",
    "follow_from": "follow_from",
    "följ från": "follow_from",
}
_DATE_KEYS = ("start", "end", "follow_from")


def read_xlsx(
    source: Path | bytes, file: str, options: ReadOptions | None = None
) -> dict[str, Any]:
    """The plan document (as parse_plan takes it) of a workbook; `file` is the name shown in
    problems and gives the plan's id when the workbook has none."""
    options = options or ReadOptions()
    content = source.read_bytes() if isinstance(source, Path) else source
    check_package(content, file, "xlsx", options.limits)
    try:
        book = load_workbook(io.BytesIO(content), data_only=True)
    except Exception:
        # A damaged part reaches openpyxl as any of a dozen exception types (a cut XML part, a
        # style that points nowhere, a relationship to a missing part); all mean the same.
        raise InputError(
            [
                Problem(
                    file,
                    "",
                    "filen går inte att öppna som Excel-arbetsbok; spara den på nytt som .xlsx.",
                )
            ]
        ) from None
    sheets = {ws.title.strip().lower(): ws for ws in book.worksheets}
    candidates = (
        [sheets["plan"]]
        if "plan" in sheets
        else [ws for ws in book.worksheets if ws.title.strip().lower() != "info"]
    )
    if not candidates:
        raise InputError([Problem(file, "", "arbetsboken har inget blad med planens tabell.")])
    problems: list[Problem] = []
    given: dict[str, Any] = {}
    given_where: dict[str, str] = {}
    if "info" in sheets and sheets["info"] is not candidates[0]:
        given, given_where = _read_info(sheets["info"], file, problems, options)
    readers = [_SheetReader(ws, file, options) for ws in candidates]
    # Without a sheet "Plan", every sheet with a plan table is read: one sheet per area,
    # named by the sheet unless a heading or Område column names it.
    with_table = [r for r in readers if r.has_header()] or readers[:1]
    several = len(with_table) > 1
    for reader in with_table:
        reader.read_tables(problems, area_name=reader.sheet.title if several else None)
    first = with_table[0]
    head, head_problems = first.head(given, given_where, [p for r in with_table for p in r.phrases])
    return {
        "plan": head,
        "area": [a for r in with_table for a in r.areas],
        "_problems": [*problems, *head_problems],
        "_columns": [c for r in with_table for c in r.report],
    }


class _SheetReader:
    """One pass over the plan sheet. A header row starts a table (several tables may follow
    each other, each under its own heading); a row whose one text spans the table (a merged
    row) or stands alone just above a header row names the area of the rows below it, and so
    does a change in the Område column."""

    def __init__(self, sheet: Worksheet, file: str, options: ReadOptions) -> None:
        self.sheet, self.file, self.options = sheet, file, options
        self.blad = f"blad {sheet.title}"
        self.grid = _grid(sheet, file, options)

        self.areas: list[dict[str, Any]] = []
        self.report: list[dict[str, str]] = []
        self.phrases: list[str] = []
        self.above: list[str] = []
        self.header_row = 0
        self.deadline_column = 0

    def texts(self, index: int) -> list[str]:
        return [_text(v) for v in self.grid[index]]

    def has_header(self) -> bool:
        return is_header(_find_header(self.grid, self.options.headers)[1])

    def read_tables(self, problems: list[Problem], *, area_name: str | None) -> None:
        """Every table of the sheet into self.areas; `area_name` names the first area when
        neither an Område column nor a heading does."""
        vocabulary = self.options.headers
        header_row, columns = _find_header(self.grid, vocabulary)
        if not is_header(columns):
            where = (
                f"{self.blad}, rad {header_row + 1}"
                if columns
                else f"{self.blad}, rad 1–{HEADER_ROWS}"
            )
            raise InputError([*problems, header_problem(self.file, where, columns)])
        above = [" ".join(t for t in self.texts(i) if t) for i in range(header_row)]
        above = [line for line in above if line]
        self.above, self.header_row = above, header_row
        plan_title = above[0] if above else ""
        # With more than one line above the table, the last one heads its first area.
        heading = above[-1] if len(above) > 1 else area_name or plan_title
        report = self.report
        extra: dict[str, int] = {}
        areas = self.areas
        area: dict[str, Any] | None = None
        area_text = ""
        numbering = Numbering()
        phrases = self.phrases
        index = header_row
        while index < len(self.grid):
            row_no = index + 1
            texts = self.texts(index)
            found = match_header(texts, vocabulary)
            if is_header(found):
                columns = found
                extra = extra_columns(texts, columns)
                report += column_report(texts, columns, extra, f"{self.blad}, rad {row_no}")
                index += 1
                continue
            title = self._heading(index, columns)
            if title is not None:
                lines = [" ".join(line.split()) for line in title.splitlines() if line.strip()]
                area_text, numbering = "", Numbering()
                area = self._area(lines, f"{self.blad}, rad {row_no}")
                areas.append(area)
                index += 1
                continue
            index += 1
            cells = {c: texts[p] if p < len(texts) else "" for c, p in columns.items()}
            if not any(cells.values()):
                continue
            too_long = [
                (c, len(v)) for c, v in cells.items() if len(v) > self.options.limits.cell_chars
            ]
            if too_long:
                column, length = too_long[0]
                where = self._place(columns, column, row_no)
                problems.append(text_too_long(self.file, where, length, self.options.limits))
                continue
            area_cell = cells.get("area", "")
            if area is None or (area_cell and area_cell != area_text):
                lines = area_cell.splitlines() if area_cell else heading.splitlines()
                lines = [" ".join(line.split()) for line in lines if line.strip()]
                area_text, numbering = area_cell, Numbering()
                where = self._place(columns, "area", row_no) if area_cell else "före tabellen"
                area = self._area(lines, where)
                areas.append(area)
            if cells.get("indicator"):
                where = self._place(columns, "indicator", row_no)
                add_indicators(area, cells["indicator"], where, self.file, problems)
            if not any(v for c, v in cells.items() if c not in ("area", "indicator")):
                continue  # a row that only names its area (and maybe its indicator)
            raw_title = self.grid[index - 1][columns["title"]]
            if raw_title is not None and not isinstance(raw_title, str):
                problems.append(
                    Problem(
                        self.file,
                        self._place(columns, "title", row_no),
                        f"cellen har {_kind_sv(raw_title)} där aktivitetens text ska stå; "
                        "skriv aktiviteten som text.",
                    )
                )
                continue
            kind, written, title_text = activity_marker(cells["title"])
            number = numbering.next(sub=kind == "sub", written=cells.get("number") or written)
            phrases += [cells.get("deadline", ""), cells.get("cadence", "")]
            area["item"].append(
                {
                    "number": number,
                    "title": title_text,
                    "responsible": split_roles(cells["responsible"]),
                    "deadline": cells.get("deadline", ""),
                    "cadence": cells.get("cadence", ""),
                    "checked": cells.get("checked", ""),
                    "extra": {
                        name: texts[p] for name, p in extra.items() if p < len(texts) and texts[p]
                    },
                    "_where": {
                        "item": f"{self.blad}, rad {row_no}",
                        "number": self._place(
                            columns, "number" if "number" in columns else "title", row_no
                        ),
                        "title": self._place(columns, "title", row_no),
                        "responsible": self._place(columns, "responsible", row_no),
                        "deadline": self._place(columns, "deadline", row_no),
                        "cadence": self._place(columns, "cadence", row_no),
                    },
                }
            )
        self.deadline_column = columns.get("deadline", columns["title"])

    def head(
        self, given: dict[str, Any], given_where: dict[str, str], phrases: list[str]
    ) -> tuple[dict[str, Any], list[Problem]]:
        """The plan head from this (the first) sheet's text above its table."""
        return table_plan_head(
            self.file,
            title=self.above[0] if self.above else "",
            background="\n\n".join(self.above[1:]),
            given=given,
            where={
                "title": f"{self.blad}, rad 1",
                "area": f"{self.blad}, raderna under rubrikraden (rad {self.header_row + 1})",
                **given_where,
            },
            phrases=phrases,
            deadline_place=f"{self.blad}, kolumn {get_column_letter(self.deadline_column + 1)}",
            fix="ange start och slut i ett blad Info.",
        )

    def _place(self, columns: dict[str, int], column: str, row_no: int) -> str:
        if column not in columns:
            return f"{self.blad}, rad {row_no}"
        return f"{self.blad}, rad {row_no}, cell {get_column_letter(columns[column] + 1)}{row_no}"

    @staticmethod
    def _area(lines: list[str], where: str) -> dict[str, Any]:
        return {
            "title": lines[0] if lines else "",
            "description": " ".join(lines[1:]),
            "item": [],
            "_where": {"title": where},
        }

    def _heading(self, index: int, columns: dict[str, int]) -> str | None:
        """The area a heading row names: one text over the whole table (merged), or one text
        alone just above the next header row; else None."""
        texts = self.texts(index)
        filled = {t for t in texts if t}
        if len(filled) != 1:
            return None
        [text] = filled
        spans = sum(1 for p in columns.values() if p < len(texts) and texts[p] == text)
        if spans >= len(columns) and len(columns) > 1:
            return text
        if sum(1 for t in texts if t) > 1:
            return None
        for later in range(index + 1, len(self.grid)):
            following = self.texts(later)
            if any(following):
                return text if is_header(match_header(following, self.options.headers)) else None
        return None


def _kind_sv(value: Any) -> str:
    if isinstance(value, bool):
        return "ett sant/falskt-värde"
    if isinstance(value, (date, datetime)):
        return "ett datum"
    if isinstance(value, (int, float)):
        return "ett tal"
    return "ett värde som inte är text"


def _read_info(
    sheet: Worksheet, file: str, problems: list[Problem], options: ReadOptions
) -> tuple[dict[str, Any], dict[str, str]]:
    """The plan head the sheet Info states, and where each value stands."""
    given: dict[str, Any] = {}
    where: dict[str, str] = {}
    for index, row in enumerate(_grid(sheet, file, options)):
        row_no = index + 1
        name = _text(row[0] if row else None).lower().rstrip(": ")
        if not name:
            continue
        key = INFO_KEYS.get(name)
        if key is None:
            problems.append(
                Problem(
                    file,
                    f"blad {sheet.title}, rad {row_no}, cell A{row_no}",
                    f"okänd uppgift {name!r}; bladet Info kan ha id, titel, start, slut, "
                    "organisation, källa, bakgrund och följ från.",
                )
            )
            continue
        value = row[1] if len(row) > 1 else None
        if isinstance(value, datetime):
            value = value.date()
        if key in _DATE_KEYS and isinstance(value, str):
            with contextlib.suppress(ValueError):  # else parse_plan names the cell
                value = date.fromisoformat(value.strip())
        # A date's cell keeps a number or a yes/no as it is, so the message names what it is.
        raw_date = key in _DATE_KEYS and value is not None and not isinstance(value, str)
        given[key] = value if isinstance(value, date) or raw_date else _text(value)
        where[key] = f"blad {sheet.title}, rad {row_no}, cell B{row_no}"
    return given, where


def _grid(sheet: Worksheet, file: str, options: ReadOptions) -> list[list[Any]]:
    """The sheet's values, with every cell of a merged range holding the top-left value.
    A sheet whose used range passes the limits is refused before it is laid out as a grid
    (one cell far down to the right would otherwise make millions of empty ones)."""
    limits = options.limits
    if sheet.max_row > limits.rows or sheet.max_row * sheet.max_column > limits.cells:
        raise InputError(
            [
                Problem(
                    file,
                    f"blad {sheet.title}",
                    f"bladet använder {sheet.max_row} rader och {sheet.max_column} kolumner, "
                    f"mer än {limits.rows} rader ([plans] max_rows) eller {limits.cells} celler "
                    "([plans] max_cells); ta bort det som står långt utanför tabellen.",
                )
            ]
        )
    grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        value = sheet.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                grid[r][c] = value
    return grid


def _find_header(
    grid: Sequence[Sequence[Any]], vocabulary: Vocabulary
) -> tuple[int, dict[str, int]]:
    """The header row (0-based) and its columns; else the row that came closest."""
    best_row: int = 0
    best: dict[str, int] = {}
    for index, row in enumerate(grid[:HEADER_ROWS]):
        found = match_header([_text(v) for v in row], vocabulary)
        if is_header(found):
            return index, found
        if sum(c in found for c in REQUIRED_COLUMNS) > sum(c in best for c in REQUIRED_COLUMNS):
            best_row, best = index, found
    return best_row, best


def _text(value: Any) -> str:
    """A cell as text; a date cell as an ISO date, which the phrase parser reads as that day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
