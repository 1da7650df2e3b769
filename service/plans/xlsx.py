"""Plans from an Excel workbook laid out like the municipality's table.

The sheet "Plan" (else the first sheet that is not "Info") has, within its first ten rows, a
header row with Område, Åtgärd/aktivitet, Ansvarig and Klart när? (optionally Nr, Kadens and
Kontroll utfört. Datum.) in any order. Every row below it is one activity or sub-step; an empty
Område cell continues the area above (a merged cell is empty below its top cell). The plan head
comes from the sheet "Info" (name in column A, value in column B); what it leaves out comes from
table_plan_head, with the title and background from the text above the header row.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from service.indicators import indicator_cell
from service.plans.tables import (
    REQUIRED_COLUMNS,
    Numbering,
    activity_marker,
    header_problem,
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


def read_xlsx(source: Path | bytes, file: str) -> dict[str, Any]:
    """The plan document (as parse_plan takes it) of a workbook; `file` is the name shown in
    problems and gives the plan's id when the workbook has none."""
    content = source.read_bytes() if isinstance(source, Path) else source
    try:
        book = load_workbook(io.BytesIO(content), data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
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
    sheet = sheets.get("plan") or next(
        (ws for ws in book.worksheets if ws.title.strip().lower() != "info"), None
    )
    if sheet is None:
        raise InputError([Problem(file, "", "arbetsboken har inget blad med planens tabell.")])
    problems: list[Problem] = []
    given: dict[str, Any] = {}
    given_where: dict[str, str] = {}
    if "info" in sheets and sheets["info"] is not sheet:
        given, given_where = _read_info(sheets["info"], file, problems)
    data = _read_plan_sheet(sheet, file, problems, given, given_where)
    data["_problems"] = [*problems, *data.get("_problems", [])]
    return data


def _read_plan_sheet(
    sheet: Worksheet,
    file: str,
    problems: list[Problem],
    given: dict[str, Any],
    given_where: dict[str, str],
) -> dict[str, Any]:
    grid = _grid(sheet)
    blad = f"blad {sheet.title}"
    header_row, columns = _find_header(grid)
    if any(c not in columns for c in REQUIRED_COLUMNS):
        where = f"{blad}, rad {header_row + 1}" if columns else f"{blad}, rad 1–{HEADER_ROWS}"
        raise InputError([*problems, header_problem(file, where, columns)])
    above = [" ".join(t for t in map(_text, row) if t) for row in grid[:header_row]]
    above = [line for line in above if line]

    def place(column: str, row_no: int) -> str:
        return f"{blad}, rad {row_no}, cell {get_column_letter(columns[column] + 1)}{row_no}"

    areas: list[dict[str, Any]] = []
    area: dict[str, Any] | None = None
    area_text = ""
    numbering = Numbering()
    phrases: list[str] = []
    for index in range(header_row + 1, len(grid)):
        row_no = index + 1
        cells = {c: _text(grid[index][p]) for c, p in columns.items()}
        if not any(cells.values()):
            continue
        if area is None or (cells["area"] and cells["area"] != area_text):
            lines = [" ".join(line.split()) for line in cells["area"].splitlines()]
            lines = [line for line in lines if line]
            area_text, numbering = cells["area"], Numbering()
            area = {
                "title": lines[0] if lines else "",
                "description": " ".join(lines[1:]),
                "item": [],
                "_where": {"title": place("area", row_no)},
            }
            areas.append(area)
        if cells.get("indicator"):
            area.setdefault("indicator", []).extend(indicator_cell(cells["indicator"]))
        if not any(v for c, v in cells.items() if c not in ("area", "indicator")):
            continue  # a row that only names its area (and its indicators)
        kind, written, title = activity_marker(cells["title"])
        number = numbering.next(sub=kind == "sub", written=cells.get("number") or written)
        phrases += [cells["deadline"], cells.get("cadence", "")]
        area["item"].append(
            {
                "number": number,
                "title": title,
                "responsible": split_roles(cells["responsible"]),
                "deadline": cells["deadline"],
                "cadence": cells.get("cadence", ""),
                "checked": cells.get("checked", ""),
                "_where": {
                    "item": f"{blad}, rad {row_no}",
                    "number": place("number" if "number" in columns else "title", row_no),
                    "title": place("title", row_no),
                    "responsible": place("responsible", row_no),
                    "deadline": place("deadline", row_no),
                    "cadence": place("cadence", row_no) if "cadence" in columns else "",
                },
            }
        )
    head, head_problems = table_plan_head(
        file,
        title=above[0] if above else "",
        background="\n\n".join(above[1:]),
        given=given,
        where={
            "title": f"{blad}, rad 1",
            "area": f"{blad}, raderna under rubrikraden (rad {header_row + 1})",
            **given_where,
        },
        phrases=phrases,
        deadline_place=f"{blad}, kolumn {get_column_letter(columns['deadline'] + 1)}",
        fix="ange start och slut i ett blad Info.",
    )
    return {"plan": head, "area": areas, "_problems": head_problems}


def _read_info(
    sheet: Worksheet, file: str, problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The plan head the sheet Info states, and where each value stands."""
    given: dict[str, Any] = {}
    where: dict[str, str] = {}
    for index, row in enumerate(_grid(sheet)):
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
        given[key] = value if isinstance(value, date) else _text(value)
        where["start/end" if key in ("start", "end") else key] = (
            f"blad {sheet.title}, rad {row_no}, cell B{row_no}"
        )
    return given, where


def _grid(sheet: Worksheet) -> list[list[Any]]:
    """The sheet's values, with every cell of a merged range holding the top-left value."""
    grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        value = sheet.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                grid[r][c] = value
    return grid


def _find_header(grid: Sequence[Sequence[Any]]) -> tuple[int, dict[str, int]]:
    """The header row (0-based) and its columns; else the row that came closest."""
    best_row, best = 0, {}
    for index, row in enumerate(grid[:HEADER_ROWS]):
        found = match_header([_text(v) for v in row])
        if all(c in found for c in REQUIRED_COLUMNS):
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
