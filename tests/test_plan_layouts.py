"""Plans as municipalities lay them out: header synonyms (data, extendable), areas as headings,
full-width rows or one table per area, extra columns kept, an empty time read as continuous,
and the dry-run report that shows how every item and column was read."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import Workbook

from service.deadlines import DeadlineKind
from service.plans.importer import PlanSpec, read_plan_file
from service.plans.tables import COLUMN_NAMES_SV, ReadOptions, Vocabulary
from service.problems import InputError
from tests.cli_support import Cli
from tests.plan_files.builders import HEADER, ROWS, write, xlsx_bytes

BUNDLED = tomllib.loads(
    (Path(__file__).parents[1] / "service" / "plans" / "headers.toml").read_text("utf-8")
)["columns"]
POSITION = {"area": 0, "title": 1, "responsible": 2, "deadline": 3}
SYNONYMS = [
    (column, name) for column, names in BUNDLED.items() if column in POSITION for name in names
]


def read(tmp_path: Path, name: str, content: bytes, **options: Any) -> PlanSpec:
    spec, _ = read_plan_file(write(tmp_path, name, content), name, ReadOptions(**options))
    return spec


@pytest.mark.parametrize(("column", "name"), SYNONYMS, ids=[n for _, n in SYNONYMS])
def test_every_header_synonym_reads_its_column_and_the_report_says_so(
    tmp_path: Path, column: str, name: str
) -> None:
    header = list(HEADER)
    header[POSITION[column]] = name
    spec = read(tmp_path, "p.xlsx", xlsx_bytes(header=header))
    assert [i.title for i in spec.areas[0].items] == [
        "Verksamheterna besöker nämnden.",
        "Återrapport på nästkommande APT.",
        "Studiebesök.",
    ]
    assert {"where": "blad Plan, rad 2", "header": name, "read_as": COLUMN_NAMES_SV[column]} in (
        spec.columns
    )


def test_the_required_synonyms_of_the_issue_are_bundled() -> None:
    wanted = {
        "title": ["Åtgärd", "Aktivitet", "Insats", "Vad"],
        "responsible": ["Ansvarig", "Ansvar", "Ansvarig funktion", "Vem"],
        "deadline": ["Klart när", "När", "Tidplan", "Tidsplan", "Tidpunkt", "Klart", "Slutdatum",
                     "Deadline"],
        "area": ["Område", "Fokusområde", "Målområde", "Mål", "Delmål"],
    }  # fmt: skip
    for column, names in wanted.items():
        assert set(names) <= set(BUNDLED[column])


def test_a_municipality_adds_its_own_headings_in_a_file(tmp_path: Path) -> None:
    extra = write(tmp_path, "rubriker.toml", '[columns]\nresponsible = ["Ansvarsperson"]\n')
    header = [*HEADER[:2], "Ansvarsperson", HEADER[3]]
    with pytest.raises(InputError):
        read(tmp_path, "p.xlsx", xlsx_bytes(header=header))
    spec = read(tmp_path, "p.xlsx", xlsx_bytes(header=header), vocabulary=Vocabulary.load(extra))
    assert spec.item_count == 3


def test_a_headings_file_of_the_wrong_shape_names_the_key(tmp_path: Path) -> None:
    extra = write(tmp_path, "rubriker.toml", '[columns]\nansvar = "Vem"\n')
    with pytest.raises(InputError) as caught:
        Vocabulary.load(extra)
    assert caught.value.problems[0].where == "[columns] ansvar"


# -- areas -----------------------------------------------------------------------------------


def test_excel_area_as_a_heading_above_a_table_without_omrade(tmp_path: Path) -> None:
    rows = [r[1:] for r in ROWS]
    content = xlsx_bytes(
        rows=rows, header=HEADER[1:], above=("Handlingsplan för prov", "Trygg vård")
    )
    spec = read(tmp_path, "p.xlsx", content)
    assert spec.title == "Handlingsplan för prov"
    assert [(a.title, len(a.items)) for a in spec.areas] == [("Trygg vård", 3)]


def test_excel_full_width_merged_rows_and_one_table_per_area(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Plan"
    sheet.append(["Handlingsplan för prov"])
    sheet.append(HEADER[1:])  # row 2
    sheet.append(["Trygg vård"])  # row 3, merged across the table
    sheet.merge_cells("A3:C3")
    sheet.append(["1. Första.", "Enhetschef", "Maj 2026"])
    sheet.append(["Delaktighet"])  # row 5, merged
    sheet.merge_cells("A5:C5")
    sheet.append(["1. Andra.", "Förvaltningschef", "HT 2025"])
    sheet.append([])
    sheet.append(["Kompetens"])  # a heading standing alone above the next table's header
    sheet.append([*HEADER[1:], "Status"])
    sheet.append(["1. Tredje.", "Enhetschef", "December 2025", "Pågår"])
    out = io.BytesIO()
    book.save(out)
    spec = read(tmp_path, "p.xlsx", out.getvalue())
    assert [(a.title, [i.title for i in a.items]) for a in spec.areas] == [
        ("Trygg vård", ["Första."]),
        ("Delaktighet", ["Andra."]),
        ("Kompetens", ["Tredje."]),
    ]
    assert spec.areas[2].items[0].extra == {"Status": "Pågår"}


def _docx(build: Any) -> bytes:
    document = Document()
    document.add_heading("Handlingsplan för prov", level=1)
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table(document: Any, header: list[str], rows: list[list[str]]) -> Any:
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for row, texts in zip(table.rows[1:], rows, strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            cell.text = text
    return table


def test_word_one_table_per_area_under_its_heading(tmp_path: Path) -> None:
    def build(document: Any) -> None:
        document.add_heading("Trygg vård", level=2)
        _table(document, HEADER[1:], [["1. Första.", "Enhetschef", "Maj 2026"]])
        document.add_heading("Delaktighet", level=2)
        _table(document, HEADER[1:], [["1. Andra.", "Förvaltningschef", "HT 2025"]])

    spec = read(tmp_path, "p.docx", _docx(build))
    assert spec.title == "Handlingsplan för prov"
    assert [(a.title, [i.title for i in a.items]) for a in spec.areas] == [
        ("Trygg vård", ["Första."]),
        ("Delaktighet", ["Andra."]),
    ]


def test_word_full_width_rows_and_a_first_row_naming_the_area(tmp_path: Path) -> None:
    def build(document: Any) -> None:
        table = document.add_table(rows=5, cols=3)
        first = table.rows[0].cells
        first[0].merge(first[2]).text = "Trygg vård"
        for cell, text in zip(table.rows[1].cells, HEADER[1:], strict=True):
            cell.text = text
        for cell, text in zip(
            table.rows[2].cells, ["1. Första.", "Enhetschef", "Maj 2026"], strict=True
        ):
            cell.text = text
        middle = table.rows[3].cells
        middle[0].merge(middle[2]).text = "Delaktighet"
        for cell, text in zip(
            table.rows[4].cells, ["1. Andra.", "Enhetschef", "HT 2025"], strict=True
        ):
            cell.text = text

    spec = read(tmp_path, "p.docx", _docx(build))
    assert [(a.title, [i.title for i in a.items]) for a in spec.areas] == [
        ("Trygg vård", ["Första."]),
        ("Delaktighet", ["Andra."]),
    ]


def test_word_extra_columns_are_kept_per_activity(tmp_path: Path) -> None:
    def build(document: Any) -> None:
        table = _table(
            document,
            [*HEADER, "Samverkanspartner", "Resurs/Kostnad"],
            [["Trygg vård", "1. Första.", "Enhetschef", "Maj 2026", "Regionen", "Inom ram"]],
        )
        cell = table.rows[1].cells[1]
        cell.add_paragraph("2. Andra.")
        table.rows[1].cells[2].add_paragraph("Enhetschef")
        table.rows[1].cells[3].add_paragraph("HT 2025")
        table.rows[1].cells[4].add_paragraph("Försäkringskassan")

    spec = read(tmp_path, "p.docx", _docx(build))
    assert [i.extra for i in spec.areas[0].items] == [
        {"Samverkanspartner": "Regionen", "Resurs/Kostnad": "Inom ram"},
        {"Samverkanspartner": "Försäkringskassan", "Resurs/Kostnad": "Inom ram"},
    ]


# -- time --------------------------------------------------------------------------------------


def test_an_empty_time_cell_is_continuous_with_a_warning(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][3] = None
    spec = read(tmp_path, "p.xlsx", xlsx_bytes(rows=rows))
    item = spec.areas[0].items[2]
    assert item.deadline.kind is DeadlineKind.CONTINUOUS and item.deadline_phrase == ""
    [warning] = spec.warnings
    assert warning.where == "blad Plan, rad 5, cell D5"
    assert "fortlöpande" in warning.message


def test_no_time_column_makes_every_item_continuous_and_warns_for_each(tmp_path: Path) -> None:
    rows = [r[:3] for r in ROWS]
    content = xlsx_bytes(rows=rows, header=HEADER[:3], above=("Plan 2025–2026",))
    spec = read(tmp_path, "p.xlsx", content)
    assert {i.deadline.kind for i in spec.areas[0].items} == {DeadlineKind.CONTINUOUS}
    assert [w.where for w in spec.warnings] == [f"blad Plan, rad {n}" for n in (3, 4, 5)]


def test_strict_refuses_an_empty_time_cell(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][3] = None
    with pytest.raises(InputError) as caught:
        read(tmp_path, "p.xlsx", xlsx_bytes(rows=rows), strict=True)
    [problem] = caught.value.problems
    assert problem.where == "blad Plan, rad 5, cell D5" and "--strict" in problem.message


def test_an_empty_deadline_in_toml_is_continuous_too(tmp_path: Path) -> None:
    from tests.plan_files.builders import GOOD_TOML

    spec = read(tmp_path, "p.toml", GOOD_TOML.replace('"December 2025"', '""').encode())
    assert spec.areas[0].items[0].deadline.kind is DeadlineKind.CONTINUOUS
    assert [w.where for w in spec.warnings] == ["område 1, aktivitet 1, kolumn Klart när?"]


# -- through the command ---------------------------------------------------------------------


def test_dry_run_json_lists_each_item_with_parties_deadline_and_warnings(
    cli_ready: Cli, tmp_path: Path
) -> None:
    rows = [[*r, None] for r in ROWS]
    rows[0][4] = "Regionen"
    rows[2][3] = None
    path = write(tmp_path, "p.xlsx", xlsx_bytes(rows=rows, header=[*HEADER, "Samverkan"]))
    result = cli_ready.dry_run(path)
    first, second, third = result["entries"]
    assert first == {
        "number": "1",
        "title": "Verksamheterna besöker nämnden.",
        "area": "Område ett",
        "responsible": ["Förvaltningschef"],
        "parties": [
            # No administration under [plan]: the whole municipality's, both heads.
            {"written": "Förvaltningschef", "role": "förvaltningschef", "external": None,
             "reaches": 2}
        ],
        "deadline": {
            "phrase": "December 2024",
            "cadence": None,
            "kind": "month",
            "due": "2024-12-31",
            # The same reading as `bevakning deadline --json`.
            "text": "Senast i slutet av december 2024 (2024-12-31)",
            "period": None, "interval": None, "times": None, "after": None, "term": None,
            "calendar": None, "start": None, "end": None, "month": None, "day": None,
        },
        "extra": {"Samverkan": "Regionen"},
        "where": "blad Plan, rad 3",
    }  # fmt: skip
    assert second["number"] == "1.1" and second["parties"][0]["reaches"] > 1
    assert third["deadline"]["kind"] == "continuous" and third["deadline"]["due"] is None
    assert result["warnings"] == [
        {
            "file": str(path),
            "where": "blad Plan, rad 5, cell D5",
            "message": "tidsangivelse saknas; aktiviteten följs upp som fortlöpande (en "
            "avstämning per termin).",
        }
    ]
    assert {"where": "blad Plan, rad 2", "header": "Samverkan", "read_as": "extra uppgift"} in (
        result["columns"]
    )
    assert result["problems"] == []


def test_strict_import_exits_1_and_changes_nothing(cli_ready: Cli, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][3] = None
    path = write(tmp_path, "p.xlsx", xlsx_bytes(rows=rows))
    before = cli_ready.counts()
    code, _, err = cli_ready("import", str(path), "--strict")
    assert code == 1 and "--strict" in err
    assert cli_ready.counts() == before
    code, out, _ = cli_ready("import", str(path))
    assert code == 0 and "Varning:" in out


def test_headings_from_the_configured_file_are_used_by_the_command(
    cli_ready: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = write(tmp_path, "rubriker.toml", '[columns]\nresponsible = ["Ansvarsperson"]\n')
    path = write(tmp_path, "p.xlsx", xlsx_bytes(header=[*HEADER[:2], "Ansvarsperson", HEADER[3]]))
    assert cli_ready("import", str(path), "--dry-run")[0] == 1
    monkeypatch.setenv("BEVAKNING_PLANS_HEADERS", str(extra))
    code, out, err = cli_ready("import", str(path), "--dry-run")
    assert code == 0, err
    assert "kolumnen ”Ansvarsperson” läses som Ansvarig" in out


def test_word_nr_column_gives_the_numbers_and_the_count_goes_on(tmp_path: Path) -> None:
    def build(document: Any) -> None:
        table = _table(
            document,
            ["Område", "Nr", "Åtgärd", "Ansvarig", "Klart när?"],
            [["Trygg vård", "3", "Första.", "Enhetschef", "Maj 2026"]],
        )
        cells = table.rows[1].cells
        for position, text in [(1, "3.1"), (2, "Delsteget."), (3, "Enhetschef"), (4, "HT 2025")]:
            cells[position].add_paragraph(text)
        for position, text in [(1, "-"), (2, "Nästa."), (3, "Enhetschef"), (4, "HT 2025")]:
            cells[position].add_paragraph(text)

    spec = read(tmp_path, "p.docx", _docx(build))
    assert [(i.number, i.title) for i in spec.areas[0].items] == [
        ("3", "Första."),
        ("3.1", "Delsteget."),
        ("4", "Nästa."),
    ]


def test_excel_one_sheet_per_area_named_by_the_sheet(tmp_path: Path) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Trygg vård"
    first.append(["Handlingsplan för prov"])
    first.append(HEADER[1:])
    first.append(["1. Första.", "Enhetschef", "Maj 2026"])
    second = book.create_sheet("Delaktighet")
    second.append(HEADER[1:])
    second.append(["1. Andra.", "Förvaltningschef", "HT 2025"])
    notes = book.create_sheet("Anteckningar")
    notes.append(["Bladet har ingen tabell och hör inte till planen."])
    out = io.BytesIO()
    book.save(out)
    spec = read(tmp_path, "p.xlsx", out.getvalue())
    assert spec.title == "Handlingsplan för prov"
    assert [(a.title, [i.title for i in a.items]) for a in spec.areas] == [
        ("Trygg vård", ["Första."]),
        ("Delaktighet", ["Andra."]),
    ]
    assert (spec.start.year, spec.end.year) == (2025, 2026)


def test_word_column_report_names_the_header_row_below_an_area_row(tmp_path: Path) -> None:
    def build(document: Any) -> None:
        table = document.add_table(rows=3, cols=3)
        first = table.rows[0].cells
        first[0].merge(first[2]).text = "Trygg vård"
        for cell, text in zip(table.rows[1].cells, ["Insats", "Vem", "När"], strict=True):
            cell.text = text
        for cell, text in zip(
            table.rows[2].cells, ["1. Första.", "Enhetschef", "Maj 2026"], strict=True
        ):
            cell.text = text

    spec = read(tmp_path, "p.docx", _docx(build))
    assert [(c["where"], c["header"], c["read_as"]) for c in spec.columns] == [
        ("tabell 1, rad 2", "Insats", "Åtgärd/aktivitet"),
        ("tabell 1, rad 2", "Vem", "Ansvarig"),
        ("tabell 1, rad 2", "När", "Klart när?"),
    ]


def test_dry_run_json_names_an_external_party_as_external(cli_ready: Cli, tmp_path: Path) -> None:
    path = tmp_path / "samverkan.toml"
    path.write_text(
        '[plan]\nid = "samverkan"\ntitle = "Samverkan"\nstart = 2025-01-01\nend = 2025-12-31\n\n'
        '[[area]]\ntitle = "A"\n\n[[area.item]]\nnumber = "1"\ntitle = "Samverka"\n'
        'responsible = ["Enhetschef", "Försäkringskassan"]\ndeadline = "i maj"\n',
        encoding="utf-8",
    )
    (entry,) = cli_ready.dry_run(path)["entries"]
    assert entry["parties"] == [
        # A municipality-wide plan: SOC's 14 enhetschefer and BUF's one.
        {"written": "Enhetschef", "role": "enhetschef", "external": None, "reaches": 15},
        {"written": "Försäkringskassan", "role": None, "external": "Försäkringskassan",
         "reaches": 0},
    ]  # fmt: skip
    assert entry["deadline"]["due"] == "2025-05-31"  # the plan's period pins the year


def test_a_dry_run_without_a_directory_file_checks_against_the_stores_people(
    cli_ready: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # People come from an HR export or a sync: [plans] directory = "" (see README).
    monkeypatch.setenv("BEVAKNING_PLANS_DIRECTORY", "")
    path = tmp_path / "samverkan.toml"
    path.write_text(
        '[plan]\nid = "samverkan"\ntitle = "Samverkan"\nstart = 2025-01-01\nend = 2025-12-31\n\n'
        '[[area]]\ntitle = "A"\n\n[[area.item]]\nnumber = "1"\ntitle = "Samverka"\n'
        'responsible = ["Enhetschef"]\ndeadline = "i maj"\n',
        encoding="utf-8",
    )
    (entry,) = cli_ready.dry_run(path)["entries"]
    assert entry["parties"][0]["reaches"] == 15  # the enhetschefer the store holds (SOC, BUF)
