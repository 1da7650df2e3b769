"""Nothing a user feeds the importer breaks it: TOML of the wrong shape, damaged Office files,
files past the limits, and values that look right but are wrong are each refused with a Swedish
message naming the file and place; the command exits 1 and changes nothing."""

from __future__ import annotations

import io
import json
import resource
import time
import zipfile
from pathlib import Path

import pytest

from service.plans.importer import read_plan_file
from service.plans.limits import Limits
from service.plans.tables import ReadOptions
from service.problems import InputError, Problem
from tests.cli_support import Cli
from tests.plan_files.builders import (
    DAMAGES,
    GOOD_TOML,
    ROWS,
    bomb_xlsx,
    docx_bytes,
    far_cell_xlsx,
    huge_merge_xlsx,
    main_part,
    rezip,
    write,
    xlsx_bytes,
)


def problems_of(path: Path, options: ReadOptions | None = None) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        read_plan_file(path, path.name, options)
    assert caught.value.problems
    for problem in caught.value.problems:
        assert problem.file == path.name and problem.message
    return caught.value.problems


def only(path: Path, options: ReadOptions | None = None) -> Problem:
    [problem] = problems_of(path, options)
    return problem


def test_the_good_files_are_plans(tmp_path: Path) -> None:
    for name, content in [
        ("p.toml", GOOD_TOML),
        ("p.xlsx", xlsx_bytes()),
        ("p.docx", docx_bytes()),
    ]:
        spec, _ = read_plan_file(write(tmp_path, name, content))
        assert spec.item_count >= 1


# -- TOML of the wrong shape -----------------------------------------------------------------

WRONG_SHAPES = {
    "datetime-for-a-date": (
        ("end = 2026-12-31", "end = 2027-12-31T23:59:00"),
        "[plan] start/end",
        "end ska vara ett datum",
    ),
    "responsible-a-number": (
        ('responsible = ["Enhetschef"]', "responsible = 5"),
        "område 1, aktivitet 1, kolumn Ansvarig",
        "responsible ska vara en roll eller en lista med roller, inte talet 5",
    ),
    "title-a-list": (
        ('title = "Aktiviteten"', 'title = ["a", 1]'),
        "område 1, aktivitet 1, kolumn Åtgärd/aktivitet",
        "title ska vara text, inte en lista",
    ),
    "title-a-number": (
        ('title = "Aktiviteten"', "title = 17"),
        "område 1, aktivitet 1, kolumn Åtgärd/aktivitet",
        "title ska vara text, inte talet 17",
    ),
    "superscript-number": (
        ('number = "1"', 'number = "²"'),
        "område 1, aktivitet ²",
        "number '²' ska vara",
    ),
    "arabic-indic-number": (
        ('number = "1"', 'number = "٣"'),
        "område 1, aktivitet ٣",
        "number '٣' ska vara",
    ),
    "fullwidth-number": (
        ('number = "1"', 'number = "１"'),
        "område 1, aktivitet １",
        "number '１' ska vara",
    ),
    "nul-in-title": (
        ('title = "Aktiviteten"', 'title = "Akti\\u0000viteten"'),
        "område 1, aktivitet 1, kolumn Åtgärd/aktivitet",
        "styrtecknet U+0000",
    ),
    "control-in-plan-title": (
        ('title = "Handlingsplan för prov"', 'title = "Plan\\u001b[31m"'),
        "[plan] title",
        "styrtecknet U+001B",
    ),
    "internal-where-key": (
        ('deadline = "December 2025"', 'deadline = "December 2025"\n_where = {item = "x"}'),
        "area[1].item[1]._where",
        "nycklar som börjar med _",
    ),
    "internal-problems-key": (
        ("[plan]", '_problems = ["x"]\n[plan]'),
        "_problems",
        "nycklar som börjar med _",
    ),
    "area-without-activities": (
        (
            '[[area.item]]\nnumber = "1"\ntitle = "Aktiviteten"\nresponsible = ["Enhetschef"]\n'
            'deadline = "December 2025"\n',
            "",
        ),
        "område 1",
        "området har inga aktiviteter",
    ),
}


def test_a_toml_item_given_as_a_list_of_strings_is_refused(tmp_path: Path) -> None:
    text = GOOD_TOML.split("[[area.item]]")[0] + 'item = ["a", "b"]\n'
    problem = only(write(tmp_path, "p.toml", text))
    assert problem.where == "område 1, [[area.item]]"
    assert problem.message.startswith("item ska vara en lista av tabeller")


def test_areas_given_as_numbers_are_refused(tmp_path: Path) -> None:
    text = "area = [1, 2]\n" + GOOD_TOML.split("[[area]]")[0]
    problem = only(write(tmp_path, "p.toml", text))
    assert problem.where == "[[area]]"
    assert problem.message.startswith("area ska vara en lista av tabeller")


def test_a_plan_with_no_areas_is_refused(tmp_path: Path) -> None:
    text = GOOD_TOML.split("[[area]]")[0]
    assert only(write(tmp_path, "p.toml", text)).message == "planen har inga områden."


@pytest.mark.parametrize("case", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_toml_of_the_wrong_shape_is_refused_with_its_place(
    tmp_path: Path, case: tuple[tuple[str, str], str, str]
) -> None:
    (old, new), where, message = case
    assert old in GOOD_TOML
    problem = only(write(tmp_path, "p.toml", GOOD_TOML.replace(old, new, 1)))
    assert problem.where == where
    assert message in problem.message


# -- damaged Office files --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xlsx", "docx"])
@pytest.mark.parametrize("damage", DAMAGES.keys())
def test_a_damaged_office_file_is_refused_with_one_swedish_sentence(
    tmp_path: Path, kind: str, damage: str
) -> None:
    good = xlsx_bytes() if kind == "xlsx" else docx_bytes()
    path = write(tmp_path, f"p.{kind}", DAMAGES[damage](good, kind))
    problems = problems_of(path)
    assert all(p.message.endswith(".") and "Traceback" not in p.message for p in problems)
    assert any(f".{kind}" in p.message for p in problems)


def test_entity_declarations_are_named_and_never_expanded(tmp_path: Path) -> None:
    path = write(tmp_path, "p.docx", DAMAGES["entity-declarations"](docx_bytes(), "docx"))
    problem = only(path)
    assert problem.where == "del word/document.xml"
    assert "DOCTYPE" in problem.message


def test_a_duplicate_part_names_the_part(tmp_path: Path) -> None:
    path = write(tmp_path, "p.xlsx", DAMAGES["duplicate-part"](xlsx_bytes(), "xlsx"))
    problem = only(path)
    assert problem.where == "del xl/worksheets/sheet1.xml"
    assert "två gånger" in problem.message


def test_a_corrupt_deflate_stream_names_the_part(tmp_path: Path) -> None:
    path = write(tmp_path, "p.docx", DAMAGES["corrupt-deflate-stream"](docx_bytes(), "docx"))
    problem = only(path)
    assert problem.where == "del word/document.xml"
    assert "skadad" in problem.message


# -- limits ----------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_sheet_that_unpacks_past_the_limit_is_refused_early(tmp_path: Path) -> None:
    # ~60 kB zipped, several MB unpacked; the limit is set below that.
    path = write(tmp_path, "p.xlsx", bomb_xlsx(rows=4000, width=400))
    assert path.stat().st_size < 200_000
    options = ReadOptions(limits=Limits(unpacked_bytes=1_000_000, rows=100_000, cells=10**7))
    before, started = peak_rss_mb(), time.monotonic()
    problem = only(path, options)
    assert time.monotonic() - started < 2
    assert peak_rss_mb() - before < 50
    assert "max_unpacked_bytes" in problem.message and "1 000 000" in problem.message


@pytest.mark.parametrize(
    ("limits", "setting"),
    [
        (Limits(rows=50), "max_rows"),
        (Limits(cells=100), "max_cells"),
    ],
)
def test_a_table_past_the_row_or_cell_limit_is_refused(
    tmp_path: Path, limits: Limits, setting: str
) -> None:
    for kind, content in [("xlsx", bomb_xlsx(rows=200)), ("docx", _long_docx(200))]:
        problem = only(write(tmp_path, f"p.{kind}", content), ReadOptions(limits=limits))
        assert setting in problem.message


def _long_docx(rows: int) -> bytes:
    row = ["Område ett", "1. Aktivitet.", "Enhetschef", "Maj 2026"]
    return docx_bytes(rows=[row] * rows)


def test_a_file_past_the_byte_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "p.xlsx", xlsx_bytes())
    problem = only(path, ReadOptions(limits=Limits(file_bytes=1000)))
    assert "max_file_bytes" in problem.message


def test_one_cell_far_out_is_refused_not_laid_out_as_millions(tmp_path: Path) -> None:
    started = time.monotonic()
    problem = only(write(tmp_path, "p.xlsx", far_cell_xlsx()))
    assert time.monotonic() - started < 5
    assert problem.where == "blad Plan" and "1048576 rader" in problem.message


def test_a_merged_range_over_a_million_rows_is_refused_before_openpyxl(tmp_path: Path) -> None:
    started = time.monotonic()
    problem = only(write(tmp_path, "p.xlsx", huge_merge_xlsx()))
    assert time.monotonic() - started < 2
    assert "max_cells" in problem.message


def test_a_cell_past_the_text_limit_names_the_cell(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][1] = "2. " + "ord " * 400
    problem = only(
        write(tmp_path, "p.xlsx", xlsx_bytes(rows=rows)),
        ReadOptions(limits=Limits(cell_chars=1000)),
    )
    assert problem.where == "blad Plan, rad 5, cell B5"
    assert "max_cell_chars" in problem.message


# -- accepted though wrong -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "sant/falskt"), (42, "ett tal"), (3.5, "ett tal")],
)
def test_a_non_text_value_in_the_excel_activity_column_is_refused(
    tmp_path: Path, value: object, kind: str
) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][1] = value
    problem = only(write(tmp_path, "p.xlsx", xlsx_bytes(rows=rows)))
    assert problem.where == "blad Plan, rad 5, cell B5"
    assert kind in problem.message


def test_a_date_in_the_excel_activity_column_is_refused(tmp_path: Path) -> None:
    from datetime import datetime

    rows = [list(r) for r in ROWS]
    rows[2][1] = datetime(2025, 5, 1)
    problem = only(write(tmp_path, "p.xlsx", xlsx_bytes(rows=rows)))
    assert problem.where == "blad Plan, rad 5, cell B5" and "ett datum" in problem.message


# -- through the command ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("nul.toml", GOOD_TOML.replace('"Aktiviteten"', '"Akti\\u0000viteten"')),
        ("datetime.toml", GOOD_TOML.replace("end = 2026-12-31", "end = 2027-12-31T23:59:00")),
        ("cut.docx", DAMAGES["xml-part-cut-in-half"](docx_bytes(), "docx")),
        ("bomb.xlsx", DAMAGES["entity-declarations"](xlsx_bytes(), "xlsx")),
    ],
    ids=["nul", "datetime", "cut-docx", "entities-xlsx"],
)
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "import"])
def test_the_command_exits_1_with_problems_and_changes_nothing(
    cli_ready: Cli, tmp_path: Path, name: str, content: bytes | str, dry_run: bool
) -> None:
    path = write(tmp_path, name, content)
    before = cli_ready.counts()
    code, out, err = cli_ready("import", str(path), "--json", *(["--dry-run"] if dry_run else []))
    assert code == 1, err
    result = json.loads(out)
    assert result["ok"] is False and result["problems"]
    assert all(p["file"] == str(path) for p in result["problems"])
    assert cli_ready.counts() == before
    code, out, err = cli_ready("import", str(path))
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.startswith("Inget ändrades")


def test_a_zip_of_thousands_of_parts_is_refused_at_once(tmp_path: Path) -> None:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for n in range(6000):
            package.writestr(f"x/{n}.xml", b"")
    started = time.monotonic()
    problem = only(write(tmp_path, "p.docx", out.getvalue()))
    assert time.monotonic() - started < 2
    assert "6000 delar" in problem.message


def test_an_encrypted_package_is_one_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "p.xlsx", DAMAGES["encryption-flag"](xlsx_bytes(), "xlsx"))
    problem = only(path)
    assert problem.message.startswith("filen är krypterad") and "lösenordet" in problem.message


@pytest.mark.parametrize("value", ["många", True, 0, -5, 2.5])
def test_a_limit_that_is_not_a_positive_whole_number_is_a_configuration_error(
    value: object,
) -> None:
    from service.config import ConfigError
    from service.plans.limits import Limits

    with pytest.raises(ConfigError, match=r"\[plans\] max_rows = .*ange ett positivt heltal"):
        Limits.from_settings({"max_rows": value})


@pytest.mark.parametrize("attribute", ['w:numId w:val="abc"', 'w:ilvl w:val="x"'])
def test_a_list_mark_no_word_writes_reads_as_an_unnumbered_line(
    tmp_path: Path, attribute: str
) -> None:
    # python-docx converts the attribute when it is read: it had escaped as a traceback.
    mark = f"<w:pPr><w:numPr><{attribute}/></w:numPr></w:pPr><w:r><w:t>1. Verksamheterna"

    def odd_list(name: str, data: bytes) -> bytes:
        if name != main_part("docx"):
            return data
        return data.replace(b"<w:r><w:t>1. Verksamheterna", mark.encode(), 1)

    content = rezip(docx_bytes(), odd_list)
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        assert mark.encode() in package.read(main_part("docx"))
    plan, _hash = read_plan_file(write(tmp_path, "plan.docx", content), "plan.docx")
    titles = [item.title for area in plan.areas for item in area.items]
    assert titles[0].startswith("Verksamheterna besöker nämnden")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # a line added with Track Changes on
            b"<w:r><w:t>2. Studiebes",
            b'<w:ins w:id="1" w:author="A"><w:r><w:t>2. Studiebes',
        ),
        (b"<w:tr>", b"<w:sdt><w:sdtContent><w:tr>"),  # a repeating section's row
    ],
    ids=["tracked-change", "content-control"],
)
def test_tracked_changes_or_content_controls_in_the_table_are_named_not_dropped(
    tmp_path: Path, before: bytes, after: bytes
) -> None:
    # python-docx reads neither: the row or line went missing without a word, and a
    # re-import retired its item.
    closing = {b"<w:r><w:t>2. Studiebes": (b"</w:t></w:r>", b"</w:t></w:r></w:ins>")}

    def hidden(name: str, data: bytes) -> bytes:
        if name != main_part("docx"):
            return data
        last = data.rindex(b"<w:tr>") if before == b"<w:tr>" else data.index(before)
        head, tail = data[:last], data[last:].replace(before, after, 1)
        if before in closing:
            old, new = closing[before]
            tail = tail.replace(old, new, 1)
        else:
            tail = tail.replace(b"</w:tr>", b"</w:tr></w:sdtContent></w:sdt>", 1)
        return head + tail

    path = write(tmp_path, "plan.docx", rezip(docx_bytes(), hidden))
    problem = only(path)
    assert problem.where == "tabell 1"
    assert "spårade ändringar eller innehållskontroller" in problem.message
