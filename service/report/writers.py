"""The report written out: json, html (and pdf from it), docx and xlsx."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from service import i18n
from service.figures import Figures
from service.indicators import cell_text
from service.report import chart
from service.report.model import HEADERS, STATUS_SV, MunicipalityFigures, PlanReport
from service.templating import TEMPLATE_ROOT, make_environment

FORMATS = ("docx", "xlsx", "pdf", "html", "json")
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}
# The figures as the tables show them, in this order.
COLUMNS = (
    ("due", "Med frist"),
    ("done_on_time", "Klara i tid"),
    ("done_late", "Klara sent"),
    ("overdue", "Försenade"),
    ("not_applicable", "Inte aktuella"),
    ("postponed", "Uppskjutna"),
    ("on_time_share", "Andel i tid"),
    ("median_days_late", "Median dagar sent"),
)


def cell(figures: Figures, key: str) -> str:
    value = getattr(figures, key)
    if value is None:
        return "–"
    if key == "on_time_share":
        return f"{round(value * 100)} %"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def to_json(report: PlanReport) -> dict[str, Any]:
    # Numbers repeat from area to area, so an item is "area:number" ("2:1").
    numbers = {
        row.item_id: f"{area.position}:{row.number}" for area in report.areas for row in area.rows
    }

    def figures(f: Figures) -> dict[str, object]:
        """The figures, continuous items named by their number in the plan."""
        data = f.as_dict()
        data["last_confirmed"] = {
            numbers.get(k, str(k)): v.isoformat() if v else None
            for k, v in f.last_confirmed.items()
        }
        return data

    return {
        "plan": report.slug,
        "title": report.title,
        "at": report.at.isoformat(),
        "meeting": report.meeting.isoformat() if report.meeting else None,
        "figures": figures(report.figures),
        "areas": [
            {
                "position": area.position,
                "title": area.title,
                "figures": figures(area.figures),
                "items": [
                    {
                        "number": row.number,
                        "title": row.title,
                        "status": row.status,
                        "check": row.check_text,
                    }
                    for row in area.rows
                ],
            }
            for area in report.areas
        ],
        "by_role": {k: figures(v) for k, v in sorted(report.by_role.items())},
        "by_unit": {k: figures(v) for k, v in sorted(report.by_unit.items())},
        "by_administration": {k: figures(v) for k, v in sorted(report.by_administration.items())},
        "monthly_on_time_share": [
            {"month": m.isoformat()[:7], "on_time_share": s} for m, s in report.monthly
        ],
    }


def municipality_json(m: MunicipalityFigures) -> dict[str, Any]:
    """`bevakning report --all`: the whole municipality's figures and each administration's,
    with the same keys as a plan's figures, and each administration's part of every plan.
    (Continuous items' last confirmations are in each plan's own report.)"""

    def plain(f: Figures) -> dict[str, object]:
        return {k: v for k, v in f.as_dict().items() if k != "last_confirmed"}

    return {
        "at": m.at.isoformat(),
        "from": m.start.isoformat() if m.start else None,
        "figures": plain(m.figures),
        "administrations": [
            {
                "code": a.code,
                "name": a.name,
                "figures": plain(a.figures),
                "plans": [
                    {"plan": p.slug, "title": p.title, "figures": plain(p.figures)} for p in a.plans
                ],
            }
            for a in m.administrations
        ],
    }


def render_municipality_json(m: MunicipalityFigures) -> bytes:
    return (json.dumps(municipality_json(m), ensure_ascii=False, indent=2) + "\n").encode()


def render_json(report: PlanReport) -> bytes:
    return json.dumps(to_json(report), ensure_ascii=False, indent=2).encode()


def render_html(report: PlanReport) -> bytes:
    env = make_environment(TEMPLATE_ROOT / "report")
    html = env.get_template("report.html.j2").render(
        report=report,
        headers=HEADERS,
        columns=COLUMNS,
        cell=cell,
        parts=chart.parts,
        describe=chart.describe,
        describe_monthly=chart.describe_monthly,
        chart_bar=chart.bar_svg,
        chart_monthly=chart.monthly_svg,
    )
    return html.encode()


def render_pdf(report: PlanReport) -> bytes:
    """WeasyPrint from the printable page, as PDF/A-3b for the committee's document archive."""
    from weasyprint import HTML

    return bytes(HTML(string=render_html(report).decode()).write_pdf(pdf_variant="pdf/a-3b"))


def render(report: PlanReport, fmt: str, *, word_template: Path | None = None) -> bytes:
    writers: dict[str, Callable[[PlanReport], bytes]] = {
        "json": render_json,
        "html": render_html,
        "pdf": render_pdf,
        "docx": lambda r: render_docx(r, word_template),
        "xlsx": render_xlsx,
    }
    return writers[fmt](report)


def file_name(report: PlanReport, fmt: str) -> str:
    return f"{report.slug}-{report.at.isoformat()}.{fmt}"


def summary_lines(report: PlanReport) -> list[str]:
    f = report.figures
    lines = [
        f"{f.activities_done} av {f.activities_due} aktiviteter med frist till och med "
        f"{i18n.format_date_sv(report.at)} är klara."
    ]
    if f.on_time_share is not None:
        lines.append(f"{round(f.on_time_share * 100)} % av förekomsterna klarades i tid.")
    if f.median_days_late is not None:
        lines.append(
            f"Mediantid för försening: {cell(f, 'median_days_late')} dagar "
            f"(90:e percentilen {f.p90_days_late} dagar)."
        )
    if f.windows_due:
        lines.append(
            f"Återkommande och mötesbundna aktiviteter: {f.windows_kept} av {f.windows_due} "
            "tillfällen hölls i tid."
        )
    lines.append(chart.describe(f))
    lines += report.administration_lines
    lines += [f"Hela planen: {i.line}." for i in report.indicators]
    lines += [f"{area.title} {area.headline}." for area in report.areas if area.indicators]
    return lines


def render_docx(report: PlanReport, template: Path | None = None) -> bytes:
    from service.report.word import build_docx

    return build_docx(report, summary_lines(report), template)


def render_xlsx(report: PlanReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Plan"
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    header = [
        *HEADERS[:2],
        "Nr",
        *HEADERS[2:4],
        "Kadens",
        HEADERS[4],
        "Person",
        "Status",
        "Frist",
        "Klart datum",
        "Resultat",
        "Indikator",
    ]
    sheet.append(header)
    for c in sheet[2]:
        c.font = Font(bold=True)
    for area in report.areas:
        for row in area.rows:
            area_cell = (
                area.title + (f"\n{area.description}" if area.description else "")
                if row is area.rows[0]
                else ""
            )
            people = row.people or ()
            sheet.append(
                [
                    area_cell,
                    row.title,
                    row.number,
                    row.responsible,
                    row.deadline,
                    row.cadence,
                    row.check_text,
                    ", ".join(p.name for p in people),
                    STATUS_SV.get(row.status, row.status),
                    _dates(p.due for p in people),
                    _dates(p.done_on for p in people),
                    "\n".join(p.result_note for p in people if p.result_note),
                    # The area's indicators once, as the importer reads them back.
                    "\n".join(cell_text(i) for i in area.indicators) if row is area.rows[0] else "",
                ]
            )
    for column, width in zip(
        "ABCDEFGHIJKLM", (28, 50, 6, 24, 18, 18, 50, 30, 12, 14, 14, 40, 40), strict=True
    ):
        sheet.column_dimensions[column].width = width
    for line in sheet.iter_rows(min_row=3):
        for c in line:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:M{sheet.max_row}"

    info = book.create_sheet("Info")
    for name, value in (
        ("id", report.slug),
        ("titel", report.title),
        ("start", report.start),
        ("slut", report.end),
        ("organisation", report.organisation),
        ("källa", report.source),
        ("bakgrund", report.background),
        ("följ från", report.follow_from),
    ):
        info.append([name, value])

    measured = book.create_sheet("Indikatorer")
    measured.append(["Område", "Indikator", "Enhet", "Mål", "Datum", "Värde", "Kommentar"])
    plan_wide = [("Hela planen", i) for i in report.indicators]
    for area_title, shown in plan_wide + [(a.title, i) for a in report.areas for i in a.indicators]:
        head: list[object] = [area_title, shown.name, shown.unit, shown.target]
        if not shown.values:
            measured.append(head)
        for on, number, comment in shown.values:
            measured.append([*head, on, number, comment])

    figures = book.create_sheet("Nyckeltal")
    figures.append(["Rapportdatum", report.at])
    figures.append(["Område", *(label for _, label in COLUMNS)])
    for area in report.areas:
        figures.append([area.title, *(_raw(area.figures, key) for key, _ in COLUMNS)])
    figures.append(["Hela planen", *(_raw(report.figures, key) for key, _ in COLUMNS)])
    figures.append([])
    figures.append(["Månad", "Andel klara i tid"])
    for month, share in report.monthly:
        figures.append([month.isoformat()[:7], share])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _raw(figures: Figures, key: str) -> object:
    return getattr(figures, key)


def _dates(days: Any) -> str:
    return ", ".join(sorted({d.isoformat() for d in days if isinstance(d, date)}))
