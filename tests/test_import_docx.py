"""Plans from Word: the municipality's table in a document, one table row per area."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.table import _Cell

from service.deadlines import DeadlineKind
from service.plans.importer import read_plan_file
from service.problems import InputError
from tests.cli_support import Cli

# A paragraph: its text ("\n" is a line break inside it), or (how, text) where `how` is a
# paragraph style ("List Number") or "level 1": Word's own numbering one level down.
Paragraph = str | tuple[str, str]
Row = list[list[Paragraph]]

HEADER = ["Område", "Åtgärd/aktivitet", "Ansvarig", "Klart när?", "Kontroll utfört. Datum."]
AREA_2 = "Skapa ett närmare band mellan verksamhet och styrningen i Socialförvaltning."


def seed_rows() -> list[Row]:
    """A faithful mini version of the seed plan: area 1 typed ("1. …", "- …", a continuation
    paragraph, spacer paragraphs); area 2 in Word's numbered list, a role broken over two lines,
    and split by a page break so its last activity stands in a row of its own."""
    return [
        [
            [
                "Skapa ett närmare band mellan politik och verksamhet.",
                "",
                "Syftar till att öka kunskap och förståelse för varandras olika uppdrag",
            ],
            [
                "1. Verksamheterna besöker nämnden och",
                "presenterar sina verksamheter, förutsättningar och behov.",
                "",
                "- Verksamheterna återrapporterar på nästkommande APT om deras besök hos nämnden.",
                "",
                "2. Politiker gör studiebesök/prao i verksamheterna.",
                "- Vid nästkommande nämndsmöte återrapporterar varje nämndsledamot vad de sett.",
            ],
            ["Förvaltningschef", "", "", "Enhetschef", "", "Förvaltningschef", "Ledamot"],
            ["December 2024", "", "December 2024", "", "Maj 2026", "Maj 2026"],
            [],
        ],
        [
            [AREA_2],
            [
                ("List Number", "Två gånger per termin kommer Förvaltningschefen hålla workshop."),
                ("level 1", "En spridning över gränserna kommer prioriteras."),
                ("List Number", "Vid planeringsdagar kan verksamheterna bjuda in cheferna."),
            ],
            ["Förvaltningschef", "Verksamhetschef\ner", "Enhetschefer"],
            ["Fortlöpande", "Fortlöpande", "Fortlöpande"],
            [],
        ],
        [
            [],
            ["3. Verksamhetsområdena ska se om det går att genomföra liknande träffar."],
            ["Verksamhetschef\ner"],
            ["Juni 2024"],
            [],
        ],
    ]


NAME = "handlingsplan-tillitsfull-dialog.docx"


def seed_document(path: Path, *, header: list[str] = HEADER, rows: list[Row] | None = None) -> Path:
    document = Document()
    document.add_heading("Handlingsplan tillitsfull dialog Socialförvaltning", level=1)
    document.add_paragraph("Bakgrund")
    document.add_paragraph(
        "Bollebygds kommun som arbetsgivare vill arbeta för en hållbar organisation."
    )
    rows = seed_rows() if rows is None else rows
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for row, cells in zip(table.rows[1:], rows, strict=True):
        for cell, paragraphs in zip(row.cells, cells, strict=True):
            fill(document, cell, paragraphs)
    document.add_paragraph("Text efter tabellen hör inte till planen.")
    document.save(str(path))
    return path


def fill(document: DocumentObject, cell: _Cell, paragraphs: list[Paragraph]) -> None:
    for index, paragraph in enumerate(paragraphs):
        how, text = paragraph if isinstance(paragraph, tuple) else ("", paragraph)
        style = "List Number" if how == "level 1" else (how or None)
        if index == 0:
            target = cell.paragraphs[0]
            if style:
                target.style = document.styles[style]
        else:
            target = cell.add_paragraph(style=style)
        for n, line in enumerate(text.split("\n")):
            run = target.add_run(line)
            if n < text.count("\n"):
                run.add_break()
        if how == "level 1":
            style_num = document.styles["List Number"].element.pPr.numPr
            num_pr = target._p.get_or_add_pPr().get_or_add_numPr()
            num_pr.get_or_add_ilvl().val = 1
            num_pr.get_or_add_numId().val = style_num.numId.val


def test_each_table_row_is_an_area_and_its_paragraphs_are_the_items(tmp_path: Path) -> None:
    spec, _ = read_plan_file(seed_document(tmp_path / NAME), NAME)
    assert spec.slug == "handlingsplan-tillitsfull-dialog"
    assert spec.title == "Handlingsplan tillitsfull dialog Socialförvaltning"
    assert spec.background.startswith("Bakgrund\n\nBollebygds kommun")
    assert (spec.start, spec.end) == (date(2024, 1, 1), date(2026, 12, 31))
    first, _ = spec.areas
    assert first.title == "Skapa ett närmare band mellan politik och verksamhet."
    assert first.description.startswith("Syftar till")
    assert [i.number for i in first.items] == ["1", "1.1", "2", "2.1"]
    assert first.items[0].title == (
        "Verksamheterna besöker nämnden och presenterar sina verksamheter, förutsättningar "
        "och behov."
    )
    assert [i.roles for i in first.items] == [
        ("förvaltningschef",),
        ("enhetschef",),
        ("förvaltningschef",),
        ("ledamot",),
    ]
    assert [i.deadline_phrase for i in first.items] == [
        "December 2024",
        "December 2024",
        "Maj 2026",
        "Maj 2026",
    ]


def test_word_numbering_and_a_row_split_by_a_page_break_continue_the_area(
    tmp_path: Path,
) -> None:
    spec, _ = read_plan_file(seed_document(tmp_path / NAME), NAME)
    second = spec.areas[1]
    assert second.title == AREA_2
    assert [i.number for i in second.items] == ["1", "1.1", "2", "3"]
    assert second.items[1].title == "En spridning över gränserna kommer prioriteras."
    assert second.items[1].responsible == ("Verksamhetschefer",)
    assert second.items[1].roles == ("verksamhetschef",)
    assert second.items[0].deadline.kind is DeadlineKind.CONTINUOUS
    assert second.items[3].deadline.due == date(2024, 6, 30)


def test_a_bullet_list_paragraph_is_a_sub_step(tmp_path: Path) -> None:
    rows = [
        [
            ["Dialog"],
            ["1. Workshop med medarbetare.", ("List Bullet", "Återrapport på APT.")],
            ["Förvaltningschef", "Enhetschef"],
            ["December 2025", "på nästkommande APT"],
            [],
        ]
    ]
    spec, _ = read_plan_file(seed_document(tmp_path / "plan.docx", rows=rows), "plan.docx")
    assert [(i.number, i.title) for i in spec.areas[0].items] == [
        ("1", "Workshop med medarbetare."),
        ("1.1", "Återrapport på APT."),
    ]


def only_problem(path: Path, display: str) -> tuple[str, str, str]:
    with pytest.raises(InputError) as caught:
        read_plan_file(path, display)
    [problem] = caught.value.problems
    return problem.file, problem.where, problem.message


def test_a_count_mismatch_names_table_row_and_column(tmp_path: Path) -> None:
    rows = seed_rows()
    rows[0][2] = ["Förvaltningschef", "Enhetschef", "Förvaltningschef"]
    path = seed_document(tmp_path / NAME, rows=rows)
    assert only_problem(path, "plan.docx") == (
        "plan.docx",
        "tabell 1, rad 2, kolumn Ansvarig",
        "3 ansvariga men 4 aktiviteter (den första som saknas är aktivitet 2.1); skriv ett "
        "stycke per aktivitet och delsteg, i samma ordning.",
    )


def test_an_empty_paragraph_beside_an_activity_names_that_activity(tmp_path: Path) -> None:
    rows = seed_rows()
    rows[0][2] = ["Förvaltningschef", "", "", "", "", "Förvaltningschef", "Ledamot"]
    path = seed_document(tmp_path / NAME, rows=rows)
    _, where, message = only_problem(path, "plan.docx")
    assert where == "tabell 1, rad 2, kolumn Ansvarig"
    assert message.startswith("3 ansvariga men 4 aktiviteter (aktivitet 1.1);")


def test_a_count_mismatch_does_not_hide_the_other_problems_of_the_file(tmp_path: Path) -> None:
    rows = seed_rows()
    rows[0][3] = ["December 2024", "Maj 2026"]
    rows[1][2] = ["Förvaltningschef", "Rektor", "Enhetschefer"]
    with pytest.raises(InputError) as caught:
        read_plan_file(seed_document(tmp_path / NAME, rows=rows), "plan.docx")
    assert [p.where for p in caught.value.problems] == [
        "tabell 1, rad 2, kolumn Klart när?",
        "tabell 1, rad 3, aktivitet 1.1, kolumn Ansvarig",
    ]


def test_an_unknown_role_names_table_row_activity_and_column(tmp_path: Path) -> None:
    rows = seed_rows()
    rows[1][2] = ["Förvaltningschef", "Rektor", "Enhetschefer"]
    path = seed_document(tmp_path / NAME, rows=rows)
    file, where, message = only_problem(path, "plan.docx")
    assert (file, where) == ("plan.docx", "tabell 1, rad 3, aktivitet 1.1, kolumn Ansvarig")
    assert message.startswith("okänd roll 'Rektor'. Deklarera rollen med [[role]]")


def test_an_unknown_phrase_names_table_row_activity_and_column(tmp_path: Path) -> None:
    rows = seed_rows()
    rows[2][3] = ["till sommaren"]
    _, where, message = only_problem(seed_document(tmp_path / NAME, rows=rows), "plan.docx")
    assert where == "tabell 1, rad 4, aktivitet 3, kolumn Klart när?"
    assert message.startswith("okänd tidsangivelse 'till sommaren'")


def test_a_missing_header_column_names_the_table_and_row(tmp_path: Path) -> None:
    header = [h if h != "Ansvarig" else "Person" for h in HEADER]
    path = seed_document(tmp_path / NAME, header=header)
    file, where, message = only_problem(path, "plan.docx")
    assert (file, where) == ("plan.docx", "tabell 1, rad 1")
    assert message.startswith("kolumnen Ansvarig saknas i rubrikraden")


def test_a_file_that_is_not_a_document_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plan.docx"
    path.write_bytes(b"not a zip")
    assert "Word" in only_problem(path, "plan.docx")[2]


# -- through the command, on SQLite ----------------------------------------------------------


def test_dry_run_checks_a_document_and_changes_nothing(cli_ready: Cli, tmp_path: Path) -> None:
    result = cli_ready.dry_run(seed_document(tmp_path / NAME))
    assert {k: result[k] for k in ("ok", "dry_run", "plan", "areas", "items")} == {
        "ok": True,
        "dry_run": True,
        "plan": "handlingsplan-tillitsfull-dialog",
        "areas": 2,
        "items": 8,
    }


def test_import_stores_a_document_and_a_second_import_updates_it(
    cli_ready: Cli, tmp_path: Path
) -> None:
    path = seed_document(tmp_path / NAME)
    result = cli_ready.json("import", str(path))
    assert (result["created"], result["added"]) == (True, 8)
    items = [i for i in cli_ready.json("items") if i["plan"] == "handlingsplan-tillitsfull-dialog"]
    assert [i["number"] for i in items] == ["1", "1.1", "2", "2.1", "1", "1.1", "2", "3"]
    again = cli_ready.json("import", str(path))
    assert (again["created"], again["added"], again["updated"]) == (False, 0, 8)


def mismatch(rows: list[Row]) -> None:
    rows[0][3] = ["December 2024", "Maj 2026"]


def unknown_role(rows: list[Row]) -> None:
    rows[0][2] = ["Förvaltningschef", "Kurator", "Förvaltningschef", "Ledamot"]


@pytest.mark.parametrize(
    ("break_it", "where"),
    [
        (mismatch, "tabell 1, rad 2, kolumn Klart när?"),
        (unknown_role, "tabell 1, rad 2, aktivitet 1.1, kolumn Ansvarig"),
    ],
    ids=["count-mismatch", "unknown-role"],
)
def test_a_bad_document_exits_1_names_the_place_and_changes_nothing(
    cli_ready: Cli, tmp_path: Path, break_it: Callable[[list[Row]], None], where: str
) -> None:
    rows = seed_rows()
    break_it(rows)
    path = seed_document(tmp_path / NAME, rows=rows)
    before = cli_ready.counts()
    code, out, _ = cli_ready("import", str(path), "--json")
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert problem["file"] == str(path) and problem["where"] == where
    assert cli_ready.counts() == before
