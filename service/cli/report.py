"""`bevakning report`: the plan for the committee, with "Kontroll utfört. Datum." filled."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.app import App
from service.cli.common import now_utc, parse_date, ready
from service.cli.progress import phases
from service.report.model import UnknownPlan, municipality_figures
from service.report.service import render_for, report_for
from service.report.writers import FORMATS, render_municipality_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="skriv planen med kontroll utförd och nyckeltal (docx, xlsx, pdf, html, json)",
    )
    p.add_argument("plan", metavar="PLAN", nargs="?", help="planens id, t.ex. tillitsfull-dialog")
    p.add_argument(
        "--all",
        dest="municipality",
        action="store_true",
        help="hela kommunen: nyckeltal per förvaltning för alla planer (json)",
    )
    p.add_argument("--at", type=parse_date, metavar="DATUM", help="rapportdatum (standard i dag)")
    p.add_argument(
        "--from",
        dest="start",
        type=parse_date,
        metavar="DATUM",
        help="periodens första dag (standard planens start)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        metavar="FORMAT",
        help=f"filformat: {', '.join(FORMATS)} (standard filens ändelse)",
    )
    p.add_argument(
        "-o", "--output", type=Path, metavar="FIL", help="fil att skriva (standard: skriv ut json)"
    )
    p.add_argument(
        "--meeting",
        type=parse_date,
        metavar="DATUM",
        help="nämndsmötets datum: 'Underlag till …'",
    )
    p.set_defaults(handler=cmd_report)


def cmd_report(app: App, args: argparse.Namespace) -> int:
    output: Path | None = args.output
    fmt = args.format or (output.suffix.lstrip(".").lower() if output else "json")
    if args.municipality or args.plan is None:
        return _municipality(app, args, fmt, output)
    if fmt not in FORMATS:
        print(
            f"Okänt format '{fmt}' för {output}; välj --format {', '.join(FORMATS)}.",
            file=sys.stderr,
        )
        return 2
    try:
        # Writing a PDF (through LibreOffice) takes a while: a bar on a terminal.
        with phases(2) as step:
            step("Läser planen och förekomsterna")
            with ready(app) as session:
                today = app.local_date(now_utc())
                report = report_for(
                    app, session, args.plan, args.at or today, args.meeting, args.start
                )
            step(f"Skriver rapporten ({fmt})")
            data = render_for(app, report, fmt)
    except UnknownPlan as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if output is None:
        sys.stdout.buffer.write(data)
        return 0
    output.write_bytes(data)
    f = report.figures
    print(
        f"Rapporten för {report.title} per {report.at.isoformat()} är skriven till {output}: "
        f"{f.activities_done} av {f.activities_due} aktiviteter med frist klara."
    )
    return 0


def _municipality(app: App, args: argparse.Namespace, fmt: str, output: Path | None) -> int:
    """`report --all`: the figures of every plan per administration, as json."""
    if args.plan is not None or not args.municipality:
        print(
            "Ange antingen en plan (bevakning report PLAN) eller --all för hela kommunen.",
            file=sys.stderr,
        )
        return 2
    if fmt != "json" or args.meeting is not None:
        print(
            "--all skriver nyckeltalen per förvaltning som json; skriv planens rapport med "
            "bevakning report PLAN för docx, xlsx, pdf eller html.",
            file=sys.stderr,
        )
        return 2
    with ready(app) as session:
        at = args.at or app.local_date(now_utc())
        figures = municipality_figures(session, at, start=args.start, tz=app.tz)
    data = render_municipality_json(figures)
    if output is None:
        sys.stdout.buffer.write(data)
        return 0
    output.write_bytes(data)
    print(f"Nyckeltalen per förvaltning per {at.isoformat()} är skrivna till {output}.")
    return 0
