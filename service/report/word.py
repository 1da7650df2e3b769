"""The report as the committee adopted the plan: a Word document built with python-docx.

A municipality can put its own look in `[report] word_template` (a .docx whose styles, header
logo and fonts are kept; its body is replaced)."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

from service import i18n
from service.report import chart
from service.report.model import HEADERS, PlanReport


def build_docx(report: PlanReport, summary: list[str], template: Path | None = None) -> bytes:
    doc = Document(str(template)) if template else Document()
    if template:
        body = doc.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)
    section = doc.sections[0]
    if section.orientation != WD_ORIENT.LANDSCAPE:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))

    header = section.header.paragraphs[0]
    parts = [report.organisation, f"Rapportdatum {i18n.format_date_sv(report.at)}"]
    if report.heading_note:
        parts.append(report.heading_note)
    header.text = " · ".join(p for p in parts if p)
    footer = section.footer.paragraphs[0]
    footer.add_run("Sida ")
    _field(footer, "PAGE")
    footer.add_run(" av ")
    _field(footer, "NUMPAGES")

    doc.add_heading(report.title, level=0)
    doc.add_paragraph(
        f"Uppföljning per {i18n.format_date_sv(report.at)}. Planperiod "
        f"{i18n.format_date_sv(report.start)} – {i18n.format_date_sv(report.end)}."
    )
    doc.add_heading("Sammanfattning", level=1)
    for line in summary:
        doc.add_paragraph(line)
    figures = doc.add_table(rows=1, cols=5)
    figures.style = "Table Grid"
    for c, text in zip(
        figures.rows[0].cells,
        ("Område", "Klara aktiviteter", "Klara i tid", "Klara sent / försenade", "Andel i tid"),
        strict=True,
    ):
        c.text = text
        _bold(c.paragraphs[0])
    for area in report.areas:
        f = area.figures
        share = f"{round(f.on_time_share * 100)} %" if f.on_time_share is not None else "–"
        cells = figures.add_row().cells
        values = (
            area.title,
            f"{f.activities_done} av {f.activities_due}",
            str(f.done_on_time),
            f"{f.done_late} / {f.overdue}",
            share,
        )
        for c, text in zip(cells, values, strict=True):
            c.text = text
    doc.add_paragraph()
    doc.add_picture(io.BytesIO(chart.summary_png(report.figures, report.monthly)), width=Cm(22))
    doc.add_paragraph(chart.describe_monthly(report.monthly))
    doc.paragraphs[-1].runs[-1].add_break(WD_BREAK.PAGE)

    if report.background:
        doc.add_heading("Bakgrund", level=1)
        for para in report.background.split("\n\n"):
            doc.add_paragraph(para.strip())
    doc.add_heading("Handlingsplan", level=1)
    table = doc.add_table(rows=1, cols=len(HEADERS))
    table.style = "Table Grid"
    head = table.rows[0]
    _repeat_header(head._tr)
    for c, text in zip(head.cells, HEADERS, strict=True):
        c.text = text
        _bold(c.paragraphs[0])
    for area in report.areas:
        for index, row in enumerate(area.rows):
            cells = table.add_row().cells
            cells[0].text = area.title if index == 0 else ""
            cells[1].text = f"{row.number} {row.title}"
            cells[2].text = row.responsible
            cells[3].text = row.deadline
            _lines(cells[4].paragraphs[0], row.check)
    widths = (Cm(4.5), Cm(9), Cm(4), Cm(3.5), Cm(6))
    for line in table.rows:
        for c, width in zip(line.cells, widths, strict=True):
            c.width = width
    for paragraph in (p for r in table.rows for c in r.cells for p in c.paragraphs):
        for run in paragraph.runs:
            run.font.size = Pt(9)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _lines(paragraph: Paragraph, lines: tuple[str, ...]) -> None:
    """One paragraph per line, so the cell reads back line by line."""
    if not lines:
        return
    paragraph.text = lines[0]
    cell_element = paragraph._p.getparent()
    for text in lines[1:]:
        new = OxmlElement("w:p")
        cell_element.append(new)
        Paragraph(new, paragraph._parent).add_run(text)


def _bold(paragraph: Paragraph) -> None:
    for run in paragraph.runs:
        run.bold = True


def _field(paragraph: Paragraph, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word and LibreOffice fill in when they lay out."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, f" {code} "), ("separate", None), (None, "1")):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText" if text != "1" else "w:t")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(end)


def _repeat_header(tr: object) -> None:
    props = tr.get_or_add_trPr()  # type: ignore[attr-defined]
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    props.append(element)
