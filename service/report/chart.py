"""Small charts without JavaScript: SVG for pages, PNG for Word. Each comes with its text
alternative, since a chart is never the only way to read a figure."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape

from babel.dates import format_date

from service.figures import Figures
from service.i18n import LOCALE

# Colour-blind safe (Okabe–Ito), each part also named in the legend and the text alternative.
PARTS = (
    ("done_on_time", "klara i tid", "#009E73"),
    ("done_late", "klara sent", "#E69F00"),
    ("overdue", "försenade", "#D55E00"),
    ("postponed", "uppskjutna", "#56B4E9"),
    ("not_applicable", "inte aktuella", "#999999"),
    ("open", "pågår", "#F0E442"),
)


def parts(figures: Figures) -> list[tuple[str, int, str]]:
    return [(label, int(getattr(figures, key)), colour) for key, label, colour in PARTS]


def describe(figures: Figures) -> str:
    """The chart in words: "Av 12 förekomster med frist: 8 klara i tid, 2 klara sent, …"."""
    shown = [f"{n} {label}" for label, n, _ in parts(figures) if n]
    if not figures.due:
        return "Inga förekomster med frist under perioden."
    return f"Av {figures.due} förekomster med frist: {', '.join(shown)}."


def bar_svg(figures: Figures, *, width: int = 240, height: int = 14) -> str:
    """One stacked bar of the occurrences due, by class."""
    alt = escape(describe(figures))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{alt}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{alt}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff" stroke="#555555"/>',
    ]
    x = 0.0
    for _label, n, colour in parts(figures):
        if not n or not figures.due:
            continue
        w = width * n / figures.due
        out.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}"/>')
        x += w
    out.append("</svg>")
    return "".join(out)


def month_label(month: date) -> str:
    return format_date(month, "MMM yy", locale=LOCALE)


def describe_monthly(monthly: Sequence[tuple[date, float | None]]) -> str:
    known = [f"{month_label(m)} {round(s * 100)} %" for m, s in monthly if s is not None]
    if not known:
        return "Ännu ingen månad med förekomster att bedöma."
    return "Andel klara i tid per månad: " + ", ".join(known) + "."


def monthly_svg(monthly: Sequence[tuple[date, float | None]], *, height: int = 120) -> str:
    """Columns of the share done on time per month, 0–100 %."""
    step = 22
    width = max(step * len(monthly) + 40, 120)
    alt = escape(describe_monthly(monthly))
    top, base = 8, height - 22
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{alt}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{alt}</title>",
        f'<line x1="30" y1="{base}" x2="{width}" y2="{base}" stroke="#555555"/>',
        f'<text x="0" y="{top + 4}" font-size="9">100%</text>',
        f'<text x="12" y="{base}" font-size="9">0%</text>',
    ]
    for i, (month, share) in enumerate(monthly):
        x = 32 + i * step
        if share is not None:
            h = (base - top) * share
            out.append(
                f'<rect x="{x}" y="{base - h:.1f}" width="{step - 6}" height="{h:.1f}" '
                f'fill="#009E73"/>'
            )
        out.append(
            f'<text x="{x}" y="{height - 6}" font-size="8">{escape(month_label(month))}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def summary_png(figures: Figures, monthly: Sequence[tuple[date, float | None]]) -> bytes:
    """The summary chart for Word: the stacked bar and the monthly columns, as one PNG."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = 1200, 520
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=26)
    small = ImageFont.load_default(size=20)
    draw.text((20, 10), "Förekomster med frist", fill="black", font=font)
    x = 20.0
    bar_w = width - 40
    draw.rectangle((20, 50, 20 + bar_w, 100), outline="#555555")
    for _label, n, colour in parts(figures):
        if n and figures.due:
            w = bar_w * n / figures.due
            draw.rectangle((x, 50, x + w, 100), fill=colour)
            x += w
    lx = 20
    for label, n, colour in parts(figures):
        draw.rectangle((lx, 115, lx + 20, 135), fill=colour, outline="#555555")
        text = f"{label} {n}"
        draw.text((lx + 26, 113), text, fill="black", font=small)
        lx += 40 + int(draw.textlength(text, font=small))
    draw.text((20, 165), "Andel klara i tid per månad", fill="black", font=font)
    top, base = 210, height - 40
    draw.line((70, base, width - 20, base), fill="#555555", width=2)
    draw.text((10, top - 10), "100%", fill="black", font=small)
    draw.text((30, base - 20), "0%", fill="black", font=small)
    step = max(30, min(80, (width - 100) // max(1, len(monthly))))
    for i, (month, share) in enumerate(monthly):
        cx = 80 + i * step
        if share is not None:
            draw.rectangle((cx, base - (base - top) * share, cx + step - 10, base), fill="#009E73")
        if len(monthly) <= 14 or i % 3 == 0:
            draw.text((cx, base + 6), month_label(month), fill="black", font=small)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
