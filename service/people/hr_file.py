"""People from the file the municipality already has: a CSV or .xlsx export of its HR system.

Swedish headers in any order: Namn, E-post, Befattning (the role as written), Enhet,
Verksamhetsområde, Chef (the manager's e-mail), optionally Förvaltning and Aktiv. Units and areas
are found by code or name; new ones are created from the file. Every problem in the file is
reported in one run, with row and cell, and then nothing is changed.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from service import roles
from service.directory import address_problem
from service.people.roster import (
    Places,
    Roster,
    check_managers,
    missing_place,
    new_role_key,
    person,
    role_for,
    too_long,
)
from service.problems import InputError, Problem

# Header as written (case-folded, spaces squeezed) -> column key.
HEADERS = {
    "namn": "name",
    "e-post": "email",
    "epost": "email",
    "e-postadress": "email",
    "befattning": "title",
    "enhet": "unit",
    "verksamhetsområde": "area",
    "område": "area",
    "chef": "manager",
    "förvaltning": "administration",
    "aktiv": "active",
}
REQUIRED = {"name": "Namn", "email": "E-post", "title": "Befattning"}
_NO = {"nej", "n", "0", "false", "inaktiv", "avslutad"}
_YES = {"ja", "j", "1", "true", "aktiv", "x", ""}


# A table read from the file: the header row's number and cells, then each row with its number.
Table = tuple[int, list[str], list[tuple[int, list[str]]]]


def read_people_file(path: Path, file: str, places: Places, *, new_roles: bool = False) -> Roster:
    """The roster in an HR export; raises InputError naming every problem's row and cell."""
    header_row, header, rows = _read_table(path, file)
    columns = _columns(header, file, header_row)
    problems: list[Problem] = []
    people = []
    created: list[str] = []
    seen: set[str] = set()
    inactive: list[str] = []
    administrations: dict[str, str] = {}
    declared = places.organisation.administrations
    for number, cells in rows:

        def cell(key: str, cells: list[str] = cells) -> str:
            index = columns.get(key)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        def where(key: str, number: int = number) -> str:
            index = columns[key]
            cell_name = f"{get_column_letter(index + 1)}{number}"
            return f"rad {number}, kolumn {header[index]} (cell {cell_name})"

        if not any(c.strip() for c in cells):
            continue
        active = cell("active").lower()
        if active not in _YES | _NO:
            problems.append(
                Problem(file, where("active"), f"Aktiv ska vara Ja eller Nej, inte {active!r}.")
            )
            continue
        if active in _NO:
            inactive.append(cell("email"))  # left or on leave: deactivated
            continue
        name, email, title = cell("name"), cell("email"), cell("title")
        if not name:
            problems.append(Problem(file, where("name"), "namnet saknas."))
            continue
        if (wrong := address_problem(email)) is not None:
            problems.append(Problem(file, where("email"), wrong))
            continue
        area, unit_name = cell("area"), cell("unit")
        # An area or unit found by its name may have a long one; a new one takes it as code.
        lengths = [("name", name), ("email", email), ("title", title)]
        lengths += [("area", area)] if area and places.division(area) is None else []
        lengths += [("unit", unit_name)] if unit_name and places.unit(unit_name) is None else []
        long = next(((f, r) for f, text in lengths if (r := too_long(f, text)) is not None), None)
        if long is not None:
            problems.append(Problem(file, where(long[0]), long[1]))
            continue
        if email.lower() in seen:
            problems.append(
                Problem(file, where("email"), f"{email} står redan på en tidigare rad.")
            )
            continue
        seen.add(email.lower())
        role = role_for(title, places.vocabulary)
        if role is None and new_roles:
            role = new_role_key(title, places.vocabulary)
            if role is not None and (reason := too_long("role", role)) is not None:
                problems.append(Problem(file, where("title"), reason))
                continue
            if role is not None and role not in created:
                created.append(role)
        if role is None:
            problems.append(
                Problem(
                    file,
                    where("title"),
                    f"okänd befattning {title!r}; använd en roll som katalogen känner "
                    "(t.ex. Enhetschef) eller kör med --new-roles för att skapa den.",
                )
            )
            continue
        division = None
        if area:
            division = places.add_division(area)
        unit = None
        if unit_name:
            unit = places.unit(unit_name)
            if unit is None and division is None:
                problems.append(
                    Problem(
                        file,
                        where("unit"),
                        f"enheten {unit_name!r} är ny och behöver ett Verksamhetsområde på "
                        "samma rad.",
                    )
                )
                continue
            if unit is None:
                assert division is not None
                unit = places.add_unit(unit_name, division)
        # Without declared administrations the directory is one administration: the column
        # then tells nothing and is read as before.
        administration_name = cell("administration") if declared else ""
        if administration_name:
            administration = places.administration(administration_name)
            if administration is None:
                problems.append(
                    Problem(
                        file,
                        where("administration"),
                        f"förvaltningen {administration_name!r} finns inte i katalogen; ange en "
                        f"av {places.administration_names()} (kod, namn eller annat namn).",
                    )
                )
                continue
            administrations[email.lower()] = administration
        missing = missing_place(places.vocabulary, role, unit, division)
        if missing is not None:
            needed = "en Enhet" if missing == roles.UNIT else "ett Verksamhetsområde"
            title_sv = places.vocabulary.title(role)
            problems.append(Problem(file, where("title"), f"en {title_sv} behöver {needed}."))
            continue
        people.append(
            person(
                email=email,
                name=name,
                role=role,
                title=title,
                unit=unit,
                division=division,
                reports_to=cell("manager") or None,
            )
        )
    for record, manager in check_managers(people):
        problems.append(
            Problem(
                file,
                f"kolumn Chef för {record.email}",
                f"chefen {manager} finns inte som aktiv person i filen; lägg till chefen "
                "eller lämna cellen tom.",
            )
        )
    if problems:
        raise InputError(problems)
    return Roster(
        source=file,
        people=tuple(people),
        places=places,
        new_roles=tuple(created),
        inactive=tuple(inactive),
        administrations=administrations,
    )


def _columns(header: Sequence[str], file: str, row: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        key = HEADERS.get(" ".join(text.split()).casefold())
        if key and key not in columns:
            columns[key] = index
    missing = [label for key, label in REQUIRED.items() if key not in columns]
    if missing:
        raise InputError(
            [
                Problem(
                    file,
                    f"rad {row}",
                    f"kolumnerna {', '.join(missing)} saknas i rubrikraden; en export behöver "
                    "Namn, E-post och Befattning (och gärna Enhet, Verksamhetsområde, Chef).",
                )
            ]
        )
    return columns


def _read_table(path: Path, file: str) -> Table:
    if not path.exists():
        raise InputError([Problem(file, "", "filen finns inte.")])
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path, file)
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv(path, file)
    raise InputError([Problem(file, "", "okänt filformat; spara exporten som .csv eller .xlsx.")])


def _read_csv(path: Path, file: str) -> Table:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Swedish Windows saves "CSV" as Windows-1252.
        text = raw.decode("cp1252")
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return _split(rows, file)


def _read_xlsx(path: Path, file: str) -> Table:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError) as exc:
        raise InputError(
            [Problem(file, "", f"filen går inte att läsa som Excel-arbetsbok ({exc}).")]
        ) from None
    try:
        sheet = book.worksheets[0]
        rows = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
    finally:
        book.close()
    return _split(rows, file)


def _split(rows: list[list[str]], file: str) -> Table:
    numbered = iter(enumerate(rows, start=1))
    for number, cells in numbered:
        if any(c.strip() for c in cells):
            return number, [c.strip() for c in cells], list(_rest(numbered))
    raise InputError([Problem(file, "", "filen är tom; den behöver en rubrikrad och personer.")])


def _rest(numbered: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    yield from numbered
