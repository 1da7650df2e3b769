"""HR exports built in the tests: the bundled directory as the municipality's system has it."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from service.app import App
from service.digest import digest_administration
from service.directory import Directory, load_directory, load_directory_file
from service.models import Person
from tests.support import ROOT

HEADER = ["Namn", "E-post", "Befattning", "Enhet", "Verksamhetsområde", "Chef", "Aktiv"]


def bundled_directory() -> Directory:
    return load_directory_file(ROOT / "plans" / "directory.toml")


def export_rows(directory: Directory) -> list[list[str]]:
    """One row per person, as an HR system exports them (unit by name, area by code)."""
    rows = []
    for p in directory.people:
        unit = directory.units.get(p.unit or "")
        rows.append(
            [
                p.name,
                p.email,
                p.role_title,
                unit.name if unit else "",
                p.division or "",
                p.reports_to or "",
                "Ja",
            ]
        )
    return rows


def write_csv(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Personal"
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def replace_row(rows: list[list[str]], who: str, **values: str) -> list[list[str]]:
    """The rows with the person `who` (e-mail) changed; keys as in the header, in English."""
    index = {"name": 0, "email": 1, "title": 2, "unit": 3, "area": 4, "manager": 5, "active": 6}
    out = []
    for row in rows:
        if row[1] == who:
            row = list(row)
            for key, value in values.items():
                row[index[key]] = value
        out.append(row)
    return out


HEAD = "ulrika.falk@example.se"  # förvaltningschef of BUF in the bundled directory
NEW_HEAD = "sara.lind@example.se"  # her successor in the tests


def assert_the_new_head_follows_buf(app: App, summary: dict[str, Any]) -> None:
    """Sara Lind succeeded Ulrika Falk, and her digest and dashboard cover BUF's plans alone;
    Ulrika keeps BUF, so her open occurrences go to BUF's new head."""
    assert [a["email"] for a in summary["added"]] == [NEW_HEAD]
    assert summary["deactivated"] == [HEAD]
    with app.sessions() as session:
        heads = {
            p.email: p
            for p in session.scalars(select(Person).where(Person.role == "förvaltningschef"))
        }
        assert digest_administration(session, heads[NEW_HEAD]) == "BUF"
        assert digest_administration(session, heads[HEAD]) == "BUF"
        assert load_directory(session).plans_of(NEW_HEAD) == "BUF"
