"""People from the municipality's own systems: `directory import FILE` and `directory sync`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.app import App
from service.cli.common import JSON_HELP, now_utc
from service.cli.progress import phases
from service.people.hr_file import read_people_file
from service.people.roster import SyncRefused
from service.people.sources import SourceError
from service.people.sync import SYNC_PHASES, sync_people
from service.people.update import UPDATE_PHASES, update_people

FIELDS_SV = {
    "name": "namn",
    "role": "roll",
    "role_title": "befattning",
    "unit": "enhet",
    "division": "område",
    "administration": "förvaltning",
    "reports_to": "chef",
    "active": "aktiv",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("directory", help="personer från kommunens egna system")
    commands = group.add_subparsers(title="kommandon")

    p = commands.add_parser("import", help="läs in personer från en HR-export (.csv eller .xlsx)")
    p.add_argument("file", type=Path, metavar="FIL", help="HR-exporten (.csv eller .xlsx)")
    p.add_argument("--dry-run", action="store_true", help="visa ändringarna, ändra ingenting")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.add_argument(
        "--new-roles",
        action="store_true",
        help="skapa befattningar som katalogen inte känner i stället för att avbryta",
    )
    p.set_defaults(handler=cmd_import)

    p = commands.add_parser(
        "sync", help="hämta personer från Entra ID eller Active Directory ([directory] source)"
    )
    p.add_argument("--dry-run", action="store_true", help="visa ändringarna, ändra ingenting")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_sync)


def cmd_import(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    display = str(path)
    try:
        with phases(UPDATE_PHASES) as step:
            summary = update_people(
                app,
                lambda places: read_people_file(path, display, places, new_roles=args.new_roles),
                now_utc(),
                actor="directory-import",
                dry_run=args.dry_run,
                step=step,
            )
    except SyncRefused as exc:
        return refused(exc, args.json)
    show(summary, args.json)
    return 0


def cmd_sync(app: App, args: argparse.Namespace) -> int:
    try:
        with phases(SYNC_PHASES) as step:
            summary = sync_people(app, now_utc(), dry_run=args.dry_run, step=step)
    except SyncRefused as exc:
        return refused(exc, args.json)
    except SourceError as exc:
        print(f"Katalogen gick inte att läsa; inget ändrades: {exc}", file=sys.stderr)
        return 1
    show(summary, args.json)
    return 0


def refused(exc: SyncRefused, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"ok": False, "refused": str(exc)}, ensure_ascii=False, indent=2))
    else:
        print(str(exc), file=sys.stderr)
    return 1


def show(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    print(
        f"Personer från {summary['source']}: {summary['people']} aktiva; "
        f"{len(summary['added'])} nya, {len(summary['changed'])} ändrade, "
        f"{len(summary['deactivated'])} avaktiverade."
    )
    for p in summary["added"]:
        print(f"  ny: {p['email']} ({p['name']}, {p['role']})")
    for p in summary["changed"]:
        changes = "; ".join(
            f"{FIELDS_SV.get(k, k)} {old or '–'} → {new or '–'}"
            for k, (old, new) in p["changes"].items()
        )
        print(f"  ändrad: {p['email']}: {changes}")
    for email in summary["deactivated"]:
        print(f"  avaktiverad: {email}")
    for role in summary["new_roles"]:
        print(f"  ny roll: {role}")
    for unit in summary["new_units"]:
        print(f"  ny enhet: {unit}")
    for area in summary["new_areas"]:
        print(f"  nytt område: {area}")
    for u in summary["unmatched"]:
        print(f"  inte placerad: {u['who']}: {u['reason']}")
    for m in summary["reassigned"]:
        print(f"  förekomst {m['occurrence']}: {m['from']} → {m['to'] or 'stängd (dubblett)'}")
    if summary["dry_run"]:
        print("Inget ändrades (--dry-run).")
