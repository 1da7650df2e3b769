"""Indicators: defined in the plan file, measured values from a file or the dashboard, shown
beside the area's activities; a recorded value is never removed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import Engine, func, select, text

from service import schema
from service.app import App
from service.db import make_engine, transaction
from service.models import Indicator, IndicatorValue
from service.report.model import build_report
from tests.cli_support import Cli
from tests.support import at, d
from tests.upgrades import columns_of, load_release_0_1, snapshot

PLAN = """
[plan]
id = "tillit-matt"
title = "Tillit som mäts"
organisation = "Socialförvaltningen"
start = 2024-01-01
end = 2025-12-31

[[indicator]]
name = "Sjukfrånvaro"
unit = "%"
direction = "lägre"
target = 6.5

[[area]]
title = "Öka tilliten"

[[area.item]]
number = "1"
title = "Gå igenom medarbetarenkäten på APT"
responsible = ["HR-chef"]
deadline = "2024-10-31"

[[area.indicator]]
name = "Tillitsindex i medarbetarenkäten"
direction = "högre"
target = 70
[[area.indicator.value]]
date = 2022-10-01
value = 61
comment = "Medarbetarenkäten 2022"
{more}
"""
FOLLOW_UP = """[[area.indicator.value]]
date = 2023-10-01
value = 67
comment = "Uppföljning 2023"
"""


def write(folder: Path, more: str = FOLLOW_UP) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tillit-matt.toml"
    path.write_text(PLAN.format(more=more), encoding="utf-8")
    return path


def imported(app: App, path: Path, day: str = "2024-11-01") -> None:
    app.init(at(day))
    with transaction(app.sessions) as session:
        app.import_plan(session, path, at(day))
        app.sync(session, at(day))


def test_the_report_shows_the_indicator_beside_the_areas_activities(
    app: App, tmp_path: Path
) -> None:
    imported(app, write(tmp_path / "plans"))
    with app.sessions() as session:
        report = build_report(session, "tillit-matt", d("2024-12-04"))
    area = report.areas[0]
    assert area.headline == (
        "0 av 1 aktiviteter klara, Tillitsindex i medarbetarenkäten 61 → 67, mål 70"
    )
    assert [i.line for i in report.indicators] == ["Sjukfrånvaro inga mätvärden ännu, mål 6,5"]
    assert area.indicators[0].reached is False


def test_a_reimport_without_a_value_keeps_the_recorded_value(app: App, tmp_path: Path) -> None:
    imported(app, write(tmp_path / "plans"))
    imported(app, write(tmp_path / "plans", more=""), "2024-11-02")
    with app.sessions() as session:
        values = session.scalars(select(IndicatorValue.value).order_by(IndicatorValue.measured_on))
        assert list(values) == [61.0, 67.0]


def test_values_come_from_a_csv_file_and_a_second_import_changes_nothing(
    cli_ready: Cli, tmp_path: Path
) -> None:
    code, _, err = cli_ready("import", str(write(tmp_path / "plans")))
    assert code == 0, err
    values = tmp_path / "varden.csv"
    values.write_text(
        "indikator;datum;värde;kommentar\n"
        "Tillitsindex i medarbetarenkäten;2024-10-01;68,5;Medarbetarenkäten 2024\n"
        "Sjukfrånvaro;2024-06-30;7,1;\n",
        encoding="utf-8",
    )
    assert cli_ready.json("indikatorer", "tillit-matt", str(values)) == {
        "ok": True, "added": 2, "already_recorded": 0,
    }  # fmt: skip
    assert cli_ready.json("indikatorer", "tillit-matt", str(values)) == {
        "ok": True, "added": 0, "already_recorded": 2,
    }  # fmt: skip


def test_an_unknown_indicator_names_the_row_and_nothing_is_recorded(
    cli_ready: Cli, tmp_path: Path
) -> None:
    cli_ready("import", str(write(tmp_path / "plans")))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Indikator", "Datum", "Värde", "Kommentar"])
    sheet.append(["Sjukfrånvaro", datetime(2024, 6, 30), 7.1, ""])
    sheet.append(["Nöjd medarbetarindex", datetime(2024, 6, 30), 70, ""])
    path = tmp_path / "varden.xlsx"
    book.save(path)
    code, _, err = cli_ready("indikatorer", "tillit-matt", str(path))
    assert code == 1
    assert "rad 3" in err and "okänd indikator 'Nöjd medarbetarindex'" in err
    engine = make_engine(f"sqlite:///{cli_ready.db}")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(IndicatorValue)) == 2
    engine.dispose()


def test_an_upgraded_store_keeps_its_plans_and_takes_indicators(engine: Engine) -> None:
    load_release_0_1(engine)
    legacy = columns_of(engine)
    before = snapshot(engine, legacy)
    schema.upgrade(engine, now=datetime(2026, 11, 27, tzinfo=UTC))
    assert snapshot(engine, legacy) == before
    with engine.begin() as connection:
        plan_id, area_id = connection.execute(text("SELECT plan_id, id FROM areas LIMIT 1")).one()
        connection.execute(
            Indicator.__table__.insert().values(
                plan_id=plan_id, area_id=area_id, name="Tillitsindex", unit="",
                higher_is_better=True, target=70.0,
            )
        )  # fmt: skip
        assert connection.scalar(select(func.count()).select_from(Indicator)) == 1
