"""An Indikator/Uppföljning column of an Excel or Word plan: read as the indicators of the
row's area, listed by the dry run, refused with its cell when malformed, and a re-import keeps
the values already measured."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service import indicators
from service.app import App
from service.db import transaction
from service.indicators import read_cell_line
from service.models import Area, Indicator, IndicatorValue
from service.plans.importer import read_plan_file
from service.problems import InputError
from tests.cli_support import Cli
from tests.plan_files.builders import HEADER, docx_bytes, write, xlsx_bytes
from tests.support import at

XLSX_HEADER = [*HEADER, "Indikator"]
XLSX_ROWS: list[list[Any]] = [
    ["Område ett", "1. Verksamheterna besöker nämnden.", "Förvaltningschef", "December 2024",
     "Tillitsindex i medarbetarenkäten (mål 70, högre är bättre)"],
    [None, "2. Studiebesök.", "Förvaltningschef", "Maj 2026",
     "Tillitsindex i medarbetarenkäten"],
    ["Område två", "1. Introduktion för nya chefer.", "Förvaltningschef", "Juni 2025",
     "Sjukfrånvaro (mål 6,5 %, lägre är bättre)\nAndel chefer med introduktion"],
]  # fmt: skip


@pytest.fixture
def started_app(app: App) -> App:
    app.init(at("2024-12-02"))
    return app


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        (
            "Tillitsindex i medarbetarenkäten (mål 70, högre är bättre)",
            {"name": "Tillitsindex i medarbetarenkäten", "target": 70.0, "direction": "högre"},
        ),
        (
            "Sjukfrånvaro (mål 6,5 %, lägre är bättre)",
            {"name": "Sjukfrånvaro", "target": 6.5, "unit": "%", "direction": "lägre"},
        ),
        (
            "Nöjdhet (enhet procent; mål 1 200)",
            {"name": "Nöjdhet", "unit": "procent", "target": 1200.0},
        ),
        ("Andel besökta enheter", {"name": "Andel besökta enheter"}),
        # Parentheses without a setting word belong to the name.
        ("Antal avvikelser (Lex Sarah)", {"name": "Antal avvikelser (Lex Sarah)"}),
    ],
)
def test_an_indicator_cell_gives_name_unit_target_and_direction(
    cell: str, read: dict[str, object]
) -> None:
    found = read_cell_line(cell)
    assert {k: v for k, v in found.items() if k != "_stated"} == read


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("Tillitsindex (mål sjuttio, högre är bättre)", "delen ”mål sjuttio”"),
        ("Tillitsindex (mål 70, bättre ju högre)", "delen ”bättre ju högre”"),
        ("Tillitsindex (mål 70, mål 75)", "målet står två gånger"),
        ("(mål 70)", "indikatorn saknar namn"),
    ],
)
def test_a_malformed_indicator_cell_says_what_to_write(cell: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        read_cell_line(cell)
    assert "Tillitsindex i medarbetarenkäten (mål 70, högre är bättre)" in str(refused.value)


def test_the_dry_run_lists_the_indicators_an_excel_plan_gives_its_areas(
    cli_ready: Cli, tmp_path: Path
) -> None:
    cli = cli_ready
    path = write(tmp_path, "prov-plan.xlsx", xlsx_bytes(rows=XLSX_ROWS, header=XLSX_HEADER))
    result = cli.dry_run(path)
    assert {"where": "blad Plan, rad 2", "header": "Indikator", "read_as": "Indikator"} in result[
        "columns"
    ]
    assert [(i["where"], i["area"], i["name"], i["unit"], i["target"], i["direction"])
            for i in result["indicators"]] == [
        ("blad Plan, rad 3, cell E3", 1, "Tillitsindex i medarbetarenkäten", "", 70.0, "högre"),
        ("blad Plan, rad 5, cell E5", 2, "Sjukfrånvaro", "%", 6.5, "lägre"),
        ("blad Plan, rad 5, cell E5", 2, "Andel chefer med introduktion", "", None, "högre"),
    ]  # fmt: skip
    name_only = result["indicators"][2]
    assert name_only["stated"] == []
    assert "högre är bättre (antaget)" in name_only["read"]
    assert "bara namnet stod i cellen" in name_only["read"]
    code, out, _ = cli("import", str(path), "--dry-run")
    assert code == 0
    assert (
        "blad Plan, rad 3, cell E3: indikatorn ”Tillitsindex i medarbetarenkäten” för område 1 "
        "(mål 70, högre är bättre)." in out
    )


def test_a_malformed_cell_names_its_place_and_nothing_is_imported(
    cli_ready: Cli, tmp_path: Path
) -> None:
    rows = [list(r) for r in XLSX_ROWS]
    rows[2][4] = "Sjukfrånvaro (mål sex, lägre är bättre)"
    path = write(tmp_path, "prov-plan.xlsx", xlsx_bytes(rows=rows, header=XLSX_HEADER))
    before = cli_ready.counts()
    code, _, err = cli_ready("import", str(path))
    assert code != 0
    assert "blad Plan, rad 5, cell E5" in err and "delen ”mål sex”" in err
    assert cli_ready.counts() == before


def test_one_indicator_in_two_areas_is_refused_naming_both_places(tmp_path: Path) -> None:
    rows = [list(r) for r in XLSX_ROWS]
    rows[2][4] = "Tillitsindex i medarbetarenkäten"
    path = write(tmp_path, "prov-plan.xlsx", xlsx_bytes(rows=rows, header=XLSX_HEADER))
    with pytest.raises(InputError) as refused:
        read_plan_file(path, "prov-plan.xlsx")
    [problem] = refused.value.problems
    assert problem.where == "blad Plan, rad 5, cell E5"
    assert "finns redan (blad Plan, rad 3, cell E3)" in problem.message


def test_a_word_plans_uppfoljning_column_gives_its_areas_indicators(
    started_app: App, tmp_path: Path
) -> None:
    rows = [
        ["Område ett", "1. Verksamheterna besöker nämnden.\n2. Studiebesök.",
         "Förvaltningschef\nEnhetschef", "December 2024\nMaj 2026",
         "Tillitsindex (mål 70, högre är bättre)"],
        ["Område två", "1. Introduktion.", "Förvaltningschef", "Juni 2025",
         "Personalomsättning (mål 10 %, lägre är bättre)"],
    ]  # fmt: skip
    content = docx_bytes(rows=rows, header=[*HEADER, "Uppföljning"])
    path = write(tmp_path, "word-plan.docx", content)
    with transaction(started_app.sessions) as session:
        started_app.import_plan(session, path, at("2024-12-02"))
    with started_app.sessions() as session:
        found = session.execute(
            select(Area.position, Indicator.name, Indicator.unit, Indicator.target)
            .join(Area, Indicator.area_id == Area.id)
            .order_by(Area.position)
        ).all()
    assert [tuple(r) for r in found] == [
        (1, "Tillitsindex", "", 70.0),
        (2, "Personalomsättning", "%", 10.0),
    ]


def test_a_re_import_keeps_the_measured_values_and_takes_the_new_target(
    started_app: App, tmp_path: Path
) -> None:
    path = write(tmp_path, "prov-plan.xlsx", xlsx_bytes(rows=XLSX_ROWS, header=XLSX_HEADER))
    with transaction(started_app.sessions) as session:
        started_app.import_plan(session, path, at("2024-12-02"))
        indicator = session.scalars(select(Indicator).where(Indicator.name == "Sjukfrånvaro")).one()
        indicators.add_value(
            session, indicator, date(2024, 11, 30), 7.2, "", actor="eva@example.se",
            now=at("2024-12-02"), audit=True,
        )  # fmt: skip
    rows = [list(r) for r in XLSX_ROWS]
    rows[2][4] = "Sjukfrånvaro (mål 6 %, lägre är bättre)"  # and the second indicator dropped
    write(tmp_path, "prov-plan.xlsx", xlsx_bytes(rows=rows, header=XLSX_HEADER))
    with transaction(started_app.sessions) as session:
        started_app.import_plan(session, path, at("2024-12-09"))
    with started_app.sessions() as session:
        kept = session.execute(
            select(Indicator.name, Indicator.target, IndicatorValue.value).join(
                IndicatorValue, IndicatorValue.indicator_id == Indicator.id
            )
        ).all()
        names = set(session.scalars(select(Indicator.name)))
    assert [tuple(r) for r in kept] == [("Sjukfrånvaro", 6.0, 7.2)]
    assert "Andel chefer med introduktion" in names  # no longer in the file, still kept


def test_an_exported_xlsx_imports_again_with_its_areas_indicators(
    started_app: App, tmp_path: Path
) -> None:
    from service.report.model import build_report
    from service.report.writers import render
    from tests.test_indicators import write as write_plan

    path = write_plan(tmp_path / "plans")
    with transaction(started_app.sessions) as session:
        started_app.import_plan(session, path, at("2024-12-02"))
    with started_app.sessions() as session:
        report = build_report(session, "tillit-matt", at("2024-12-02").date())
    exported = write(tmp_path, "tillit-matt.xlsx", render(report, "xlsx"))
    spec, _ = read_plan_file(exported, "tillit-matt.xlsx")
    assert [(i.area_position, i.name, i.unit, i.target, i.higher_is_better, i.stated)
            for i in spec.indicators] == [
        (1, "Tillitsindex i medarbetarenkäten", "", 70.0, True, ("target", "direction")),
    ]  # fmt: skip
    assert spec.indicators[0].where == "blad Plan, rad 3, cell M3"
