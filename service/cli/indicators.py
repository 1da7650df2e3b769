"""`bevakning indikatorer`: measured values of a plan's indicators from a CSV or xlsx file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy import select

from service import indicators
from service.app import App
from service.cli.common import JSON_HELP, now_utc
from service.db import transaction
from service.models import Plan
from service.problems import InputError, Problem


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "indikatorer",
        help="läs in mätvärden för en plans indikatorer (CSV eller xlsx: indikator, datum, "
        "värde, kommentar)",
    )
    p.add_argument("plan", metavar="PLAN", help="planens id, t.ex. tillitsfull-dialog")
    p.add_argument("file", type=Path, metavar="FIL", help="CSV- eller xlsx-filen med värdena")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_indicators)


def cmd_indicators(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    display = app.display_path(path)
    if not path.is_file():
        raise InputError([Problem(display, "", "filen finns inte; ange sökvägen till filen.")])
    rows = indicators.read_values(path, display)
    now = now_utc()
    app.init(now)
    with transaction(app.sessions) as session:
        plan = session.scalars(select(Plan).where(Plan.slug == args.plan)).one_or_none()
        if plan is None:
            raise InputError(
                [Problem(display, "", f"planen '{args.plan}' finns inte; ange planens id.")]
            )
        added, kept = indicators.import_values(
            session, plan, rows, display, actor="import", now=now
        )
    if args.json:
        print(json.dumps({"ok": True, "added": added, "already_recorded": kept}))
    else:
        print(
            f"{added} mätvärden inlästa för {args.plan}; {kept} fanns redan för samma dag "
            "och behölls som de var."
        )
    return 0
