"""Plans from Excel: the municipality's table in a workbook, read into the same PlanSpec as TOML."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from service.deadlines import DeadlineKind
from service.plans.importer import read_plan_file
from service.plans.tables import split_roles
from service.problems import InputError
from tests.cli_support import Cli

HEADER = ["Område", "Åtgärd/aktivitet", "Ansvarig", "Klart när?", "Kontroll utfört. Datum."]
AREA_1 = (
    "Skapa ett närmare band mellan politik och verksamhet.\n"
    "Syftar till att öka kunskap och förståelse för varandras olika uppdrag och ansvar."
)
AREA_2 = "Skapa ett närmare band mellan verksamhet och styrningen i Socialförvaltning."
# A faithful mini version of the seed plan: rows 4–7 are area 1 (its Område cell merged over
# them), rows 8–11 area 2 (Område written once), sub-steps marked "- ", a role broken over two
# lines, a real date cell in D7.
ROWS: list[list[Any]] = [
    [
        AREA_1,
        "1. Verksamheterna besöker nämnden och presenterar sina verksamheter, förutsättningar "
        "och behov.",
        "Förvaltningschef",
        "December 2024",
        None,
    ],
    [
        None,
        "- Verksamheterna återrapporterar på nästkommande APT om deras besök hos nämnden.",
        "Enhetschef",
        "December 2024",
        None,
    ],
    [
        None,
        "2. Politiker gör studiebesök/prao i verksamheterna.",
        "Förvaltningschef",
        "Maj 2026",
        None,
    ],
    [
        None,
        "- Vid nästkommande nämndsmöte återrapporterar varje nämndsledamot vad de har sett.",
        "Ledamot",
        datetime(2026, 5, 31),
        None,
    ],
    [
        AREA_2,
        "1. Två gånger per termin kommer Förvaltningschefen hålla workshop med medarbetare.",
        "Förvaltningschef",
        "Fortlöpande",
        None,
    ],
    [
        None,
        "– En spridning över gränserna kommer prioriteras.",
        "Verksamhetschef\ner",
        "Fortlöpande",
        None,
    ],
    [
        None,
        "2. Vid planeringsdagar kan verksamheterna bjuda in Verksamhetschef och/eller "
        "Förvaltningschef.",
        "Enhetschefer",
        "Fortlöpande",
        None,
    ],
    [
        None,
        "3. Verksamhetsområdena ska se om det går att genomföra liknande träffar.",
        "Verksamhetschef\ner",
        "Juni 2024",
        None,
    ],
]
NAME = "handlingsplan-tillitsfull-dialog.xlsx"


def seed_workbook(
    path: Path,
    *,
    header: list[str] = HEADER,
    rows: list[list[Any]] = ROWS,
    change: Callable[[Workbook], None] | None = None,
    merges: tuple[str, ...] = ("A4:A7",),
) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Plan"
    sheet["A1"] = "Handlingsplan tillitsfull dialog"
    sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    if change:
        change(book)
    book.save(path)
    return path


def test_the_seed_layout_reads_into_areas_items_and_numbers(tmp_path: Path) -> None:
    spec, digest = read_plan_file(seed_workbook(tmp_path / NAME), NAME)
    assert spec.slug == "handlingsplan-tillitsfull-dialog"
    assert spec.title == "Handlingsplan tillitsfull dialog"
    assert (spec.start, spec.end) == (date(2024, 1, 1), date(2026, 12, 31))
    assert len(digest) == 64
    first, second = spec.areas
    assert first.title == "Skapa ett närmare band mellan politik och verksamhet."
    assert first.description.startswith("Syftar till att öka kunskap")
    assert second.title == AREA_2
    assert [i.number for i in first.items] == ["1", "1.1", "2", "2.1"]
    assert [i.number for i in second.items] == ["1", "1.1", "2", "3"]
    assert first.items[0].title.startswith("Verksamheterna besöker nämnden")
    assert first.items[1].title.startswith("Verksamheterna återrapporterar")
    assert second.items[1].title == "En spridning över gränserna kommer prioriteras."


def test_deadlines_keep_the_phrase_and_a_date_cell_means_that_day(tmp_path: Path) -> None:
    spec, _ = read_plan_file(seed_workbook(tmp_path / NAME), NAME)
    first, second = spec.areas
    assert first.items[0].deadline_phrase == "December 2024"
    assert first.items[0].deadline.kind is DeadlineKind.MONTH
    assert first.items[0].deadline.due == date(2024, 12, 31)
    assert first.items[3].deadline_phrase == "2026-05-31"
    assert first.items[3].deadline.kind is DeadlineKind.DATE
    assert first.items[3].deadline.due == date(2026, 5, 31)
    assert second.items[0].deadline.kind is DeadlineKind.CONTINUOUS


def test_a_role_broken_over_two_lines_is_one_role(tmp_path: Path) -> None:
    spec, _ = read_plan_file(seed_workbook(tmp_path / NAME), NAME)
    item = spec.areas[1].items[1]
    assert item.responsible == ("Verksamhetschefer",)
    assert item.roles == ("verksamhetschef",)
    assert spec.areas[1].items[2].roles == ("enhetschef",)


def test_a_merged_deadline_cell_counts_for_every_row_it_covers(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][3] = None
    path = seed_workbook(tmp_path / NAME, rows=rows, merges=("A4:A7", "D4:D5"))
    spec, _ = read_plan_file(path, NAME)
    assert spec.areas[0].items[1].deadline_phrase == "December 2024"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Verksamhetschef\ner", ["Verksamhetschefer"]),
        ("Ordförande\nFörvaltningschef", ["Ordförande", "Förvaltningschef"]),
        ("Förvaltningschef, Utvecklingschef", ["Förvaltningschef", "Utvecklingschef"]),
        ("Verksamhetschef och/eller Förvaltningschef", ["Verksamhetschef", "Förvaltningschef"]),
        ("Enhetschef / HR-\nchef", ["Enhetschef", "HR-chef"]),
        ("Ordförande och Ledamot", ["Ordförande", "Ledamot"]),
        ("", []),
    ],
)
def test_an_ansvarig_cell_is_split_into_roles(written: str, expected: list[str]) -> None:
    assert split_roles(written) == expected


def test_an_info_sheet_a_nr_column_and_any_column_order_are_read(tmp_path: Path) -> None:
    header = ["Klart när", "Nr", "Ansvarig", "Aktivitet", "Område", "Kadens"]
    rows: list[list[Any]] = [
        ["December 2025", 1, "Förvaltningschef", "Workshop med medarbetare", "Dialog", None],
        ["Fortlöpande", "1.1", "Enhetschef", "Återrapport", None, "på nästkommande APT"],
        ["HT 2025", "2", "Utvecklingschef", "Protokoll på Insidan", None, "två gånger per termin"],
    ]

    def info(book: Workbook) -> None:
        sheet = book.create_sheet("Info")
        for row in [
            ["id", "dialog-2025"],
            ["Titel", "Dialog 2025"],
            ["start", datetime(2025, 1, 1)],
            ["slut", "2025-12-31"],
            ["organisation", "Socialförvaltningen"],
        ]:
            sheet.append(row)

    path = seed_workbook(tmp_path / "plan.xlsx", header=header, rows=rows, change=info, merges=())
    spec, _ = read_plan_file(path, "plan.xlsx")
    assert (spec.slug, spec.title, spec.organisation) == (
        "dialog-2025",
        "Dialog 2025",
        "Socialförvaltningen",
    )
    assert (spec.start, spec.end) == (date(2025, 1, 1), date(2025, 12, 31))
    [area] = spec.areas
    assert [i.number for i in area.items] == ["1", "1.1", "2"]
    assert area.items[1].deadline.kind is DeadlineKind.RELATIVE
    assert area.items[2].cadence_phrase == "två gånger per termin"
    assert area.items[2].deadline.kind is DeadlineKind.RECURRING


def test_wrong_dates_in_the_info_sheet_name_their_own_cells_and_what_they_are(
    tmp_path: Path,
) -> None:
    def info(book: Workbook) -> None:
        sheet = book.create_sheet("Info")
        for row in [["id", "dialog-2025"], ["start", "2025-13-01"], ["slut", True]]:
            sheet.append(row)

    rows: list[list[Any]] = [["Dialog", "Workshop", "Förvaltningschef", "December 2025"]]
    path = seed_workbook(tmp_path / "plan.xlsx", rows=rows, change=info, merges=())
    with pytest.raises(InputError) as caught:
        read_plan_file(path, "plan.xlsx")
    assert [(p.where, p.message) for p in caught.value.problems] == [
        (
            "blad Info, rad 2, cell B2",
            "start ska vara ett datum som 2025-01-01, inte text.",
        ),
        ("blad Info, rad 3, cell B3", "end ska vara ett datum som 2025-01-01, inte ett "
         "sant/falskt-värde."),
    ]  # fmt: skip


def only_problem(path: Path, display: str) -> tuple[str, str, str]:
    with pytest.raises(InputError) as caught:
        read_plan_file(path, display)
    [problem] = caught.value.problems
    return problem.file, problem.where, problem.message


def test_an_unknown_phrase_names_sheet_row_and_cell(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][3] = "snart"
    path = seed_workbook(tmp_path / NAME, rows=rows)
    file, where, message = only_problem(path, "plan.xlsx")
    assert (file, where) == ("plan.xlsx", "blad Plan, rad 6, cell D6")
    assert message.startswith("okänd tidsangivelse 'snart'")


def test_an_unknown_role_names_sheet_row_and_cell(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[3][2] = "Enhetchef"
    path = seed_workbook(tmp_path / NAME, rows=rows)
    file, where, message = only_problem(path, "plan.xlsx")
    assert (file, where) == ("plan.xlsx", "blad Plan, rad 7, cell C7")
    assert message.startswith("okänd roll 'Enhetchef'. Menade du 'Enhetschef'?")
    assert "[[role]]" in message  # how to declare it


def test_a_missing_header_column_names_the_header_row(tmp_path: Path) -> None:
    header = [h if h != "Ansvarig" else "Person" for h in HEADER]
    path = seed_workbook(tmp_path / NAME, header=header)
    file, where, message = only_problem(path, "plan.xlsx")
    assert (file, where) == ("plan.xlsx", "blad Plan, rad 3")
    assert message.startswith("kolumnen Ansvarig saknas i rubrikraden")


def test_a_plan_without_any_year_asks_for_an_info_sheet(tmp_path: Path) -> None:
    rows = [[AREA_2, "1. Workshop", "Förvaltningschef", "Fortlöpande", None]]
    path = seed_workbook(tmp_path / NAME, rows=rows, merges=())
    _, where, message = only_problem(path, "plan.xlsx")
    assert where == "blad Plan, kolumn D"
    assert "blad Info" in message


def test_a_file_that_is_not_a_workbook_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(b"not a zip")
    assert "Excel" in only_problem(path, "plan.xlsx")[2]


# -- through the command, on SQLite ----------------------------------------------------------


def test_dry_run_checks_a_workbook_and_changes_nothing(cli_ready: Cli, tmp_path: Path) -> None:
    result = cli_ready.dry_run(seed_workbook(tmp_path / NAME))
    assert {k: result[k] for k in ("ok", "dry_run", "plan", "areas", "items")} == {
        "ok": True,
        "dry_run": True,
        "plan": "handlingsplan-tillitsfull-dialog",
        "areas": 2,
        "items": 8,
    }


def test_import_stores_a_workbook_with_its_phrases(cli_ready: Cli, tmp_path: Path) -> None:
    path = seed_workbook(tmp_path / NAME)
    before = cli_ready.counts()
    result = cli_ready.json("import", str(path))
    assert (result["ok"], result["created"], result["added"]) == (True, True, 8)
    assert cli_ready.counts()["Item"] == before["Item"] + 8
    items = [i for i in cli_ready.json("items") if i["plan"] == "handlingsplan-tillitsfull-dialog"]
    assert [i["deadline_phrase"] for i in items[:4]] == [
        "December 2024",
        "December 2024",
        "Maj 2026",
        "2026-05-31",
    ]
    assert items[5]["responsible"] == ["Verksamhetschefer"]


@pytest.mark.parametrize(
    ("break_it", "where"),
    [
        (lambda rows: rows[2].__setitem__(3, "snart"), "blad Plan, rad 6, cell D6"),
        (lambda rows: rows[3].__setitem__(2, "Kurator"), "blad Plan, rad 7, cell C7"),
    ],
    ids=["unknown-phrase", "unknown-role"],
)
def test_a_bad_workbook_exits_1_names_the_cell_and_changes_nothing(
    cli_ready: Cli, tmp_path: Path, break_it: Callable[[list[list[Any]]], None], where: str
) -> None:
    rows = [list(r) for r in ROWS]
    break_it(rows)
    path = seed_workbook(tmp_path / NAME, rows=rows)
    before = cli_ready.counts()
    code, out, _ = cli_ready("import", str(path), "--json")
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert problem["file"] == str(path) and problem["where"] == where
    assert cli_ready.counts() == before


def test_a_missing_header_column_exits_1_and_changes_nothing(
    cli_ready: Cli, tmp_path: Path
) -> None:
    path = seed_workbook(tmp_path / NAME, header=[*HEADER[:2], "Person", *HEADER[3:]])
    before = cli_ready.counts()
    code, _, err = cli_ready("import", str(path))
    assert code == 1
    assert f"{path}, blad Plan, rad 3: kolumnen Ansvarig saknas i rubrikraden" in err
    assert cli_ready.counts() == before


def test_a_pdf_is_refused_with_one_problem_and_changes_nothing(
    cli_ready: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "handlingsplan.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    before = cli_ready.counts()
    code, out, _ = cli_ready("import", str(path), "--json")
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert problem["file"] == str(path)
    assert "filtypen .pdf" in problem["message"] and ".xlsx" in problem["message"]
    assert cli_ready.counts() == before
