"""The plan report from a store built in the test: figures, the filled last column, and the
.docx, .xlsx, .html, .pdf and .json files."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select

from service.app import App
from service.completion import mark_done, mark_not_applicable, postpone
from service.db import transaction
from service.models import Item, Person, Plan
from service.report.model import HEADERS, PlanReport, build_report
from service.report.writers import render
from tests.cli_support import Cli
from tests.reliability.plans import PlanItem, import_plan, occurrence_ids, write_plan
from tests.support import at, d

HR = "maria.sjoberg@example.se"
SLUG = "test-rapport"
AT = d("2024-12-04")
ITEMS = [
    PlanItem("1", "Ta fram en kompetensplan", "2024-10-31"),
    PlanItem("2", "Utvärdera introduktionen", "2024-10-31"),
    PlanItem("3", "Skriv en rutin för avslut", "2024-11-30"),
    PlanItem("4", "Inventera lokalerna", "2024-11-15"),
    PlanItem("5", "Bjud in facket", "2024-11-20"),
    PlanItem("6", "Gå igenom medarbetarenkäten", "2024-11-30", "Verksamhetschefer"),
    PlanItem("7", "Följ upp sjukfrånvaron", "2025-01-31"),
]
FAN_OUT_DONE = {
    "anna.bergstrom@example.se": "2024-11-28",
    "karin.aberg@example.se": "2024-11-30",
    "lars.nystrom@example.se": "2024-11-29",
    "peter.holm@example.se": "2024-12-02",  # 2 days late; sofia.wallin stays open
}


def person(session: object, email: str) -> Person:
    found = session.scalars(select(Person).where(Person.email == email)).one()  # type: ignore[attr-defined]
    assert isinstance(found, Person)
    return found


def build_store(app: App, tmp_path: Path) -> None:
    app.init(at("2024-09-01"))
    import_plan(app, write_plan(tmp_path / "plans", SLUG, ITEMS), at("2024-09-01"))
    ids = {n.number: occurrence_ids(app, SLUG, n.number) for n in ITEMS}
    with transaction(app.sessions) as s:
        hr = person(s, HR)
        now = at("2024-11-18")
        mark_done(s, ids["1"][HR], by=hr, on=d("2024-10-30"), via="link", now=now,
                  result_note="Planen antogs i ledningsgruppen.")  # fmt: skip
        mark_done(s, ids["2"][HR], by=hr, on=d("2024-11-10"), via="link", now=now)
        mark_not_applicable(s, ids["4"][HR], by=hr, reason="Lokalerna byts ut.", now=now)
        postpone(s, ids["5"][HR], by=hr, to=d("2024-12-20"), reason="Facket har möte då.", now=now)
        for email, day in FAN_OUT_DONE.items():
            mark_done(s, ids["6"][email], by=person(s, email), on=d(day), via="link", now=now)


@pytest.fixture
def report(app: App, tmp_path: Path) -> PlanReport:
    build_store(app, tmp_path)
    with app.sessions() as session:
        return build_report(session, SLUG, AT, meeting=AT, committee="socialnämnden")


def test_the_figures_match_the_ones_worked_out_by_hand(report: PlanReport) -> None:
    f = report.figures
    # Due by 4 December: items 1-5 (HR) and 6 (five verksamhetschefer) = 10 occurrences.
    assert (f.due, f.done_on_time, f.done_late, f.overdue) == (10, 4, 2, 2)
    assert (f.not_applicable, f.postponed, f.open) == (1, 1, 0)
    assert f.on_time_share == 0.5  # 4 of 4 + 2 + 2
    assert f.median_days_late == 4.0  # 2, 4, 4, 10 days
    assert f.p90_days_late == 10
    assert (f.activities_due, f.activities_done) == (6, 2)
    assert report.by_role["verksamhetschef"].done_on_time == 3
    hr = report.by_role["hr-chef"]
    assert (hr.due, hr.done_on_time, hr.done_late, hr.overdue) == (5, 1, 1, 1)


def test_the_last_column_is_filled_from_the_store(report: PlanReport) -> None:
    check = {row.number: row.check for row in report.rows}
    assert check["1"] == (
        "Klart 30 oktober 2024 (Maria Sjöberg).",
        "Resultat: Planen antogs i ledningsgruppen.",
    )
    assert check["2"] == ("Klart 10 november 2024 (Maria Sjöberg).",)
    assert check["3"] == ("Försenad sedan 30 november 2024.",)
    assert check["4"] == ("Inte aktuell: Lokalerna byts ut.",)
    assert check["5"] == ("Uppskjuten till 20 december 2024: Facket har möte då.",)
    assert check["6"][0].startswith("4 av 5 klara: Anna Bergström 28 nov. 2024")
    assert check["6"][1:] == ("Sofia Wallin: Försenad sedan 30 november 2024.",)
    assert check["7"] == ()
    assert report.heading_note == "Underlag till socialnämnden 4 december 2024"


def test_the_docx_table_holds_every_row_of_the_store_cell_by_cell(
    app: App, report: PlanReport
) -> None:
    doc = Document(io.BytesIO(render(report, "docx")))
    table = doc.tables[-1]
    assert tuple(c.text for c in table.rows[0].cells) == HEADERS
    with app.sessions() as session:
        plan = session.scalars(select(Plan).where(Plan.slug == SLUG)).one()
        items = list(
            session.scalars(select(Item).where(Item.plan_id == plan.id).order_by(Item.position))
        )
        area = plan.areas[0].title
    assert len(table.rows) == 1 + len(items)
    for index, (row, item) in enumerate(zip(table.rows[1:], items, strict=True)):
        cells = [c.text for c in row.cells]
        assert cells[0] == (area if index == 0 else "")
        assert cells[1] == f"{item.number} {item.title}"
        assert cells[2] == ", ".join(item.responsible)
        assert cells[3] == item.deadline_phrase
    last = [row.cells[4].text for row in table.rows[1:]]
    assert (
        last[0]
        == "Klart 30 oktober 2024 (Maria Sjöberg).\nResultat: Planen antogs i ledningsgruppen."
    )
    assert last[2] == "Försenad sedan 30 november 2024."
    assert last[3] == "Inte aktuell: Lokalerna byts ut."
    header = doc.sections[0].header.paragraphs[0].text
    assert (
        "Socialförvaltningen" in header and "Underlag till socialnämnden 4 december 2024" in header
    )
    footer_xml = doc.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml
    assert doc.inline_shapes, "the summary page has its chart"


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice is not installed")
def test_libreoffice_opens_the_docx_and_reads_the_filled_column(
    sqlite_app: App, tmp_path: Path
) -> None:
    build_store(sqlite_app, tmp_path)
    with sqlite_app.sessions() as session:
        report = build_report(session, SLUG, AT)
    source = tmp_path / "rapport.docx"
    source.write_bytes(render(report, "docx"))
    out = tmp_path / "lo"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless",
         "--convert-to", "txt:Text", "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    text = (out / "rapport.txt").read_text(encoding="utf-8-sig")
    assert "Kontroll utfört. Datum." in text
    assert "Klart 30 oktober 2024 (Maria Sjöberg)." in text
    assert "Uppskjuten till 20 december 2024" in text


def test_the_exported_xlsx_imports_again_as_the_same_plan(
    app: App, report: PlanReport, tmp_path: Path
) -> None:
    from service.plans.importer import read_plan_file
    from service.plans.tables import ReadOptions

    exported = tmp_path / "export" / f"{SLUG}.xlsx"
    exported.parent.mkdir()
    exported.write_bytes(render(report, "xlsx"))
    # Read against the bundled municipality, which knows the plan's administration (SOC).
    known = ReadOptions(roles=app.plan_vocabulary())
    original, _ = read_plan_file(tmp_path / "plans" / f"{SLUG}.toml", "original", known)
    again, _ = read_plan_file(exported, "export", known)

    def shape(spec: object) -> object:
        return [
            (
                a.title,
                [(i.number, i.title, i.responsible, i.deadline_phrase) for i in a.items],
            )
            for a in spec.areas  # type: ignore[attr-defined]
        ]

    assert (again.slug, again.title, again.start, again.end) == (
        original.slug, original.title, original.start, original.end
    )  # fmt: skip
    assert shape(again) == shape(original)


def test_the_html_and_pdf_carry_the_summary_and_the_table(report: PlanReport) -> None:
    html = render(report, "html").decode()
    assert '<th scope="col">Kontroll utfört. Datum.</th>' in html
    assert "Försenad sedan 30 november 2024." in html
    assert 'role="img" aria-label="Av 10 förekomster med frist: 4 klara i tid' in html
    pdf = render(report, "pdf")
    assert pdf.startswith(b"%PDF-")
    assert any(b"pdfaid:part" in part for part in pdf_streams(pdf))  # PDF/A metadata


def pdf_streams(pdf: bytes) -> list[bytes]:
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def test_the_json_holds_the_figures_for_the_plan_and_each_area(report: PlanReport) -> None:
    data = json.loads(render(report, "json"))
    keys = ("due", "done_on_time", "done_late", "overdue", "not_applicable", "postponed",
            "on_time_share", "median_days_late")  # fmt: skip
    for figures in (data["figures"], *(a["figures"] for a in data["areas"])):
        assert all(k in figures for k in keys)
    assert data["figures"]["on_time_share"] == 0.5


def test_the_command_writes_the_report_in_the_format_of_the_file(
    cli_ready: Cli, tmp_path: Path
) -> None:
    target = tmp_path / "rapport.docx"
    code, out, err = cli_ready(
        "report", "tillitsfull-dialog", "--at", "2024-12-04", "--meeting", "2024-12-04",
        "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    assert "rapport.docx" in out
    doc = Document(str(target))
    assert doc.tables[-1].rows[0].cells[4].text == "Kontroll utfört. Datum."
    code, out, _ = cli_ready("report", "tillitsfull-dialog", "--at", "2024-12-04")
    confirmed = json.loads(out)["figures"]["last_confirmed"]
    assert confirmed and all(re.fullmatch(r"\d+:[\d.]+", key) for key in confirmed)
    code, out, err = cli_ready("report", "finns-inte", "--at", "2024-12-04")
    assert code == 2 and "Planen 'finns-inte' finns inte" in err


def test_the_digest_has_one_line_per_plan_with_its_trend(app: App, tmp_path: Path) -> None:
    from service.digest import digest_context

    build_store(app, tmp_path)
    now = at("2024-12-02", "07:00")
    with app.sessions() as session:
        head = person(session, "eva.ekstrom@example.se")
        context = digest_context(app, session, head, now=now, today=d("2024-12-02"))
    line = next(x for x in context.plan_lines if x.startswith("Testplan test-rapport"))
    # 2 December: all ten occurrences due; on time item 1 and three verksamhetschefer, late
    # item 2 and Peter Holm (done that day), overdue item 3 and Sofia Wallin -> 4 of 8 = 50 %.
    # 25 November: items 1, 2, 4, 5 due; item 1 on time, item 2 late -> 1 of 2 = 50 %.
    assert line == (
        "Testplan test-rapport: 2 av 6 aktiviteter med frist klara, 50 % i tid "
        "(oförändrat sedan förra veckan)."
    )


def test_a_trend_line_gives_the_change_in_percentage_points() -> None:
    from service.figures import Figures
    from service.report.model import trend_line

    same = Figures(activities_due=3, activities_done=1, on_time_share=0.5)
    assert trend_line("Plan", same, same) == (
        "Plan: 1 av 3 aktiviteter med frist klara, 50 % i tid (oförändrat sedan förra veckan)."
    )
    better = Figures(activities_due=4, activities_done=3, on_time_share=0.75)
    assert trend_line("Plan", same, better) == (
        "Plan: 3 av 4 aktiviteter med frist klara, 75 % i tid "
        "(+25 procentenheter sedan förra veckan)."
    )
    assert trend_line("Plan", Figures(), Figures(activities_due=2)) == (
        "Plan: 0 av 2 aktiviteter med frist klara."
    )


def test_the_report_for_the_bundled_plans_on_the_son_meeting_after_a_simulated_autumn(
    sqlite_app: App, tmp_path: Path
) -> None:
    from service.report.writers import summary_lines
    from tests.report_autumn import MEETING, simulate_autumn

    simulate_autumn(sqlite_app)
    for slug in ("tillitsfull-dialog", "starka-enhetschefer"):
        with sqlite_app.sessions() as session:
            report = build_report(session, slug, MEETING, meeting=MEETING, committee="SON")
            active = session.scalar(
                select(func.count()).select_from(Item).join(Plan).where(
                    Plan.slug == slug, Item.active.is_(True)
                )
            )  # fmt: skip
        f = report.figures
        assert f.due > 0 and f.done_on_time > 0
        assert f.due == f.done + f.overdue + f.not_applicable + f.postponed + f.open
        for key in ("due", "done_on_time", "done_late", "overdue", "not_applicable", "postponed"):
            assert sum(getattr(a.figures, key) for a in report.areas) == getattr(f, key)
        doc = Document(io.BytesIO(render(report, "docx")))
        table = doc.tables[-1]
        assert len(table.rows) == 1 + active
        filled = [r.cells[4].text for r in table.rows[1:] if r.cells[4].text]
        assert any("Klart" in t or "klara" in t for t in filled)
        assert "Underlag till SON 4 december 2024" in doc.sections[0].header.paragraphs[0].text
        assert all(
            line in "\n".join(p.text for p in doc.paragraphs) for line in summary_lines(report)
        )
        pdf = render(report, "pdf")
        (tmp_path / f"{slug}.pdf").write_bytes(pdf)
        assert pdf.startswith(b"%PDF-")
