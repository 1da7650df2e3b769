"""Figures per administration: `report --all`, a plan's `by_administration`, the
kommundirektör's digest and dashboard, from a store of two administrations with every number
worked out by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.cli import main
from service.completion import mark_done, postpone
from service.db import transaction
from service.digest import digest_context
from service.mail.render import render
from service.models import Item, Occurrence, Person, Plan
from service.report.model import build_report, municipality_figures
from service.report.writers import municipality_json, render_html, summary_lines, to_json
from service.web.app import create_app
from service.web.urls import dashboard_url
from tests.cli_support import write_config
from tests.municipality import SOC_ALONE, plan_text, town_app
from tests.support import at, d, folder_app
from tests.web.conftest import Clock, TestClient, path_of

AT = d("2025-01-10")  # every item was due 31 December 2024
KEYS = (
    "due",
    "done_on_time",
    "done_late",
    "overdue",
    "not_applicable",
    "postponed",
    "on_time_share",
    "median_days_late",
)


def occurrence(session: object, slug: str, email: str) -> tuple[int, Person]:
    row = session.execute(  # type: ignore[attr-defined]
        select(Occurrence.id, Person)
        .join(Item, Occurrence.item_id == Item.id)
        .join(Plan, Item.plan_id == Plan.id)
        .join(Person, Occurrence.person_id == Person.id)
        .where(Plan.slug == slug, Person.email == email)
    ).one()
    return row[0], row[1]


@pytest.fixture
def town(db_url: str, tmp_path: Path) -> Iterator[App]:
    """SOC: Helena on time (20 Dec), Eva 8 days late in the municipality's plan (8 Jan).
    KFF: Hugo on time (30 Dec), Karl's external item overdue (10 days on 10 Jan), Karl's
    part of the municipality's plan postponed on 15 Dec to 5 Jan and still open (5 days)."""
    instance = town_app(db_url, tmp_path)
    instance.init(at("2024-12-01"))
    with transaction(instance.sessions) as session:
        for slug, email, on in (
            ("soc", "helena@example.se", "2024-12-20"),
            ("kommun", "eva@example.se", "2025-01-08"),
            ("kff", "hugo@example.se", "2024-12-30"),
        ):
            occ_id, person = occurrence(session, slug, email)
            mark_done(session, occ_id, by=person, on=d(on), via="link", now=at(on))
        occ_id, karl = occurrence(session, "kommun", "karl@example.se")
        new_date, asked = d("2025-01-05"), at("2024-12-15")
        postpone(session, occ_id, by=karl, to=new_date, reason="Budget", now=asked)
    yield instance
    instance.engine.dispose()


def keys(figures: dict[str, object]) -> tuple[object, ...]:
    return tuple(figures[k] for k in KEYS)


def test_the_municipality_report_gives_each_administrations_figures(town: App) -> None:
    with town.sessions() as session:
        data = municipality_json(municipality_figures(session, AT))
    by_code = {a["code"]: a for a in data["administrations"]}
    assert [a["name"] for a in data["administrations"]] == [
        "Socialförvaltningen",
        "Kultur- och fritidsförvaltningen",
    ]
    # SOC: on time 1, late 1 (8 days): 1 of 2 on time.
    assert keys(by_code["SOC"]["figures"]) == (2, 1, 1, 0, 0, 0, 0.5, 8.0)
    # KFF: on time 1, overdue 10 and 5 days (the postponed date has passed): 1 of 3.
    assert keys(by_code["KFF"]["figures"]) == (3, 1, 0, 2, 0, 0, 1 / 3, 7.5)
    # All: 2 of 5 on time; days late 8, 10, 5.
    assert keys(data["figures"]) == (5, 2, 1, 2, 0, 0, 0.4, 8.0)
    assert (data["figures"]["activities_due"], data["figures"]["activities_done"]) == (4, 2)
    kff_plans = {p["plan"]: keys(p["figures"]) for p in by_code["KFF"]["plans"]}
    assert kff_plans == {
        "kff": (1, 1, 0, 0, 0, 0, 1.0, None),
        "kff-extern": (1, 0, 0, 1, 0, 0, 0.0, 10.0),
        "kommun": (1, 0, 0, 1, 0, 0, 0.0, 5.0),
    }


def test_on_the_day_before_the_new_date_the_postponed_part_counts_as_postponed(
    town: App,
) -> None:
    with town.sessions() as session:
        kff = {a.code: a for a in municipality_figures(session, d("2025-01-03")).administrations}[
            "KFF"
        ]
    # Hugo on time; Karl's external item 3 days overdue; his postponed part not yet due.
    assert (kff.figures.done_on_time, kff.figures.overdue, kff.figures.postponed) == (1, 1, 1)
    assert kff.figures.on_time_share == 0.5


def test_a_plans_report_has_its_figures_per_administration(town: App) -> None:
    with town.sessions() as session:
        report = build_report(session, "kommun", AT)
        single = build_report(session, "soc", AT)
    assert {k: keys(v) for k, v in to_json(report)["by_administration"].items()} == {
        "SOC": (1, 0, 1, 0, 0, 0, 0.0, 8.0),
        "KFF": (1, 0, 0, 1, 0, 0, 0.0, 5.0),
    }
    # The municipality-wide plan's summary page gives each administration's part.
    lines = [
        "Socialförvaltningen: 1 av 1 aktiviteter med frist klara, 0 % i tid.",
        "Kultur- och fritidsförvaltningen: 0 av 1 aktiviteter med frist klara, 0 % i tid.",
    ]
    assert [line for line in summary_lines(report) if line in lines] == lines
    html = render_html(report).decode()
    assert all(f"<li>{line}</li>" in html for line in lines)
    assert single.administration_lines == []
    assert "Per förvaltning" not in render_html(single).decode()


def test_report_all_writes_the_figures_per_administration(
    town: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not town.config.database_url.startswith("sqlite"):
        pytest.skip("the CLI test reads the SQLite file")
    db = Path(town.config.database_url.removeprefix("sqlite:///"))
    config = write_config(tmp_path, db, plans=tmp_path / "kommun")
    out = tmp_path / "kommun.json"
    capsys.readouterr()
    args = ["--config", str(config), "report", "--all", "--at", "2025-01-10", "-o", str(out)]
    assert main(args) == 0
    assert "Nyckeltalen per förvaltning per 2025-01-10" in capsys.readouterr().out
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [(a["code"], keys(a["figures"])) for a in data["administrations"]] == [
        ("SOC", (2, 1, 1, 0, 0, 0, 0.5, 8.0)),
        ("KFF", (3, 1, 0, 2, 0, 0, 1 / 3, 7.5)),
    ]
    assert main(["--config", str(config), "report", "--all", "--format", "docx"]) == 2
    assert "--all skriver nyckeltalen per förvaltning som json" in capsys.readouterr().err
    assert main(["--config", str(config), "report"]) == 2
    assert "Ange antingen en plan" in capsys.readouterr().err


def test_the_kommundirektors_digest_has_a_line_per_administration_and_the_heads_do_not(
    town: App,
) -> None:
    with town.sessions() as session:

        def lines(email: str) -> tuple[str, ...]:
            person = session.scalars(select(Person).where(Person.email == email)).one()
            context = digest_context(town, session, person, now=at("2025-01-10"), today=AT)
            mail = render("digest", context)
            for line in context.administration_lines:
                assert line in mail.text and escape(line) in mail.html
            assert ("Per förvaltning" in mail.text) == bool(context.administration_lines)
            return context.administration_lines

        # A week earlier SOC was 1 of 2 on time too (Eva 3 days overdue); KFF 1 of 2 (the
        # postponed part not yet due), now 1 of 3.
        assert lines("klas@example.se") == (
            "Socialförvaltningen: 2 av 2 aktiviteter med frist klara, 50 % i tid "
            "(oförändrat sedan förra veckan).",
            "Kultur- och fritidsförvaltningen: 1 av 3 aktiviteter med frist klara, 33 % i tid "
            "(-17 procentenheter sedan förra veckan).",
        )
        assert lines("eva@example.se") == ()


def test_the_kommundirektors_dashboard_shows_the_figures_per_administration(town: App) -> None:
    now = at("2025-01-10")
    with town.sessions() as session:
        ids = dict(session.execute(select(Person.email, Person.id)).tuples().all())
    klas_link = path_of(town, dashboard_url(town, ids["klas@example.se"], now))
    eva_link = path_of(town, dashboard_url(town, ids["eva@example.se"], now))
    with TestClient(create_app(town, clock=Clock(now))) as client:
        klas, eva = client.get(klas_link).text, client.get(eva_link).text
        download = f"{klas_link}/nyckeltal-per-forvaltning.json"
        assert f'href="{download}"' in klas
        data = client.get(download).json()
        assert [(a["code"], a["figures"]["due"]) for a in data["administrations"]] == [
            ("SOC", 2),
            ("KFF", 3),
        ]
        refused = client.get(f"{eva_link}/nyckeltal-per-forvaltning.json")
        assert refused.status_code == 404
    table = klas.split('<table class="administrations">', 1)[1].split("</table>", 1)[0]
    cells = [
        re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]
    assert cells[1:] == [
        ["Socialförvaltningen", "2", "1", "1", "0", "0", "0", "50 %", "8,0"],
        ["Kultur- och fritidsförvaltningen", "3", "1", "0", "2", "0", "0", "33 %", "7,5"],
        ["Hela kommunen", "5", "2", "1", "2", "0", "0", "40 %", "8,0"],
    ]
    assert 'class="administrations"' not in eva


def test_a_directory_without_administrations_is_one_the_whole_administration(
    db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "en"
    folder.mkdir()
    (folder / "directory.toml").write_text(SOC_ALONE, encoding="utf-8")
    (folder / "calendars.toml").write_text("", encoding="utf-8")
    (folder / "soc.toml").write_text(plan_text("soc", "", '["Enhetschef"]'), encoding="utf-8")
    app = folder_app(db_url, tmp_path, folder)
    try:
        app.init(at("2024-12-01"))
        with app.sessions() as session:
            figures = municipality_figures(session, AT)
            [only] = figures.administrations
            assert (only.code, only.name, only.figures.overdue) == ("", "Hela förvaltningen", 1)
    finally:
        app.engine.dispose()
