"""Plans and their state: init, import, reload, items, occurrences."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.app import App
from service.cli.common import (
    JSON_HELP,
    STATUS_SV,
    antal,
    borttagen,
    file_calendars,
    now_utc,
    ny,
    parse_date,
    print_table,
    ready,
    short,
    uppdaterad,
)
from service.cli.progress import Step, phases
from service.db import transaction
from service.deadlines import Deadline
from service.models import Area, Item, Occurrence, Person, Plan
from service.occurrences import count_statuses, schedule_items, status_at, within_administration
from service.plans.importer import PlanSpec, deadline_report, read_plan_file
from service.schedule import expand


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="skapa databasen och läs in de medföljande planerna")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("import", help="läs in en plan (.toml, .xlsx eller .docx)")
    p.add_argument("file", type=Path, metavar="FIL", help="planfilen")
    p.add_argument("--dry-run", action="store_true", help="kontrollera bara, ändra ingenting")
    p.add_argument(
        "--strict",
        action="store_true",
        help="vägra aktiviteter utan tidsangivelse i stället för att följa upp dem som fortlöpande",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("reload", help="läs om katalogen och kalendrarna")
    p.add_argument("--dry-run", action="store_true", help="kontrollera bara, ändra ingenting")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_reload)

    p = sub.add_parser("items", help="lista aktiviteter och deras status")
    p.add_argument("--at", type=parse_date, metavar="DATUM", help="datum (standard i dag)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_items)

    p = sub.add_parser("occurrences", help="lista förekomster per person och frist")
    p.add_argument("--person", metavar="E-POST", help="bara den här personens")
    p.add_argument("--at", type=parse_date, metavar="DATUM", help="datum (standard i dag)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_occurrences)


def cmd_init(app: App, args: argparse.Namespace) -> int:
    results = app.init(now_utc())
    with app.sessions() as session:
        plans = session.scalars(select(Plan).order_by(Plan.slug)).all()
        if results:
            print(f"Databasen är skapad och {antal(len(results), 'plan', 'planer')} är inlästa.")
        else:
            print("Databasen fanns redan; ingenting ändrades.")
        for plan in plans:
            count = len([i for i in plan.items if i.active])
            print(f"  {plan.slug}: {plan.title} ({antal(count, 'aktivitet', 'aktiviteter')})")
    return 0


def cmd_import(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    strict = bool(getattr(args, "strict", False))
    # A large plan takes a while to store and schedule: a bar over the phases on a terminal.
    with phases(2 if args.dry_run else 4) as step:
        step("Läser planfilen")
        options = replace(app.read_options(strict=strict), roles=app.plan_vocabulary())
        spec, _digest = read_plan_file(path, str(path), options)
        result = _import(app, path, spec, strict, dry_run=args.dry_run, step=step)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    for column in spec.columns:
        print(f"  {column['where']}: kolumnen ”{column['header']}” läses som {column['read_as']}.")
    for entry in indicator_entries(spec):
        owner = f"område {entry['area']}" if entry["area"] else "hela planen"
        print(f"  {entry['where']}: indikatorn ”{entry['name']}” för {owner} ({entry['read']}).")
    for warning in spec.warnings:
        print(f"Varning: {warning}")
    if args.dry_run:
        print(
            f"Planen {spec.slug} är korrekt: {antal(len(spec.areas), 'område', 'områden')}, "
            f"{antal(spec.item_count, 'aktivitet', 'aktiviteter')}. Inget ändrades (--dry-run)."
        )
    else:
        print(
            f"Planen {result['plan']} är inläst: {result['added']} {ny(result['added'])}, "
            f"{result['updated']} {uppdaterad(result['updated'])} och {result['retired']} "
            f"{borttagen(result['retired'])} "
            f"{'aktivitet' if result['retired'] == 1 else 'aktiviteter'}."
        )
    return 0


def _import(
    app: App, path: Path, spec: PlanSpec, strict: bool, *, dry_run: bool, step: Step
) -> dict[str, Any]:
    """The plan file read: checked (dry_run), or stored and scheduled."""
    if dry_run:
        step("Kontrollerar aktiviteterna")
        return {
            "ok": True,
            "dry_run": True,
            "plan": spec.slug,
            "areas": len(spec.areas),
            "items": spec.item_count,
            "entries": import_entries(app, spec),
            "columns": [dict(c) for c in spec.columns],
            "indicators": indicator_entries(spec),
            "warnings": [w.as_dict() for w in spec.warnings],
            "problems": [],
        }
    step("Förbereder databasen")
    app.init(now_utc())
    with transaction(app.sessions) as session:
        now = now_utc()
        step("Sparar planen")
        imported = app.import_plan(session, path.resolve(), now, actor="cli", strict=strict)
        step("Skapar förekomster")
        app.sync(session, now)
    return {
        "ok": True,
        "dry_run": False,
        "plan": imported.plan,
        "created": imported.created,
        "areas": len(spec.areas),
        "items": spec.item_count,
        "added": imported.items_added,
        "updated": imported.items_updated,
        "retired": imported.items_retired,
        "indicators": indicator_entries(spec),
        "warnings": [w.as_dict() for w in spec.warnings],
    }


def import_entries(app: App, spec: PlanSpec) -> list[dict[str, Any]]:
    """Each item as it would be stored, with the parties its Ansvarig was read as and how
    many people of the directory file each reaches."""
    directory = app.plan_directory()
    vocabulary = directory.vocabulary if directory is not None else app.plan_vocabulary()
    calendars = file_calendars(app)
    entries = []
    for area in spec.areas:
        for item in area.items:
            parties = []
            for written in item.responsible:
                match = vocabulary.match_role(written)
                internal = match is not None and match.external is None
                parties.append(
                    {
                        "written": written,
                        "role": match.key if match is not None and internal else None,
                        "external": match.external if match is not None else None,
                        # Counted as the schedule reaches them: a plan of one administration
                        # means its own holders by a bare role.
                        "reaches": len(
                            directory.holders(
                                within_administration(match.key, spec.administration, vocabulary)
                            )
                        )
                        if directory is not None and match is not None and internal
                        else 0,
                    }
                )
            entries.append(
                {
                    "number": item.number,
                    "title": item.title,
                    "area": area.title,
                    "responsible": list(item.responsible),
                    "parties": parties,
                    "deadline": deadline_report(item, spec, calendars.of(spec.administration)),
                    "extra": dict(item.extra),
                    "where": item.where,
                }
            )
    return entries


def indicator_entries(spec: PlanSpec) -> list[dict[str, Any]]:
    """The plan's indicators as read, for the import report: what the file said and what was
    assumed. Recorded values are never touched by an import."""
    return [
        {
            "where": i.where,
            "area": i.area_position,
            "name": i.name,
            "unit": i.unit,
            "direction": "högre" if i.higher_is_better else "lägre",
            "target": i.target,
            "stated": list(i.stated),
            "read": i.read_sv(),
        }
        for i in spec.indicators
    ]


def cmd_reload(app: App, args: argparse.Namespace) -> int:
    summary = app.reload(now_utc(), dry_run=args.dry_run)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    added, left = summary["added"], summary["left"]
    moved = summary["reassigned"]
    assert isinstance(added, list) and isinstance(left, list) and isinstance(moved, list)
    if args.dry_run:
        print(
            f"Katalogen och kalendrarna är kontrollerade: "
            f"{antal(int(str(summary['people'])), 'person', 'personer')}, "
            f"{len(added)} {ny(len(added))}, {len(left)} som slutat, "
            f"{antal(len(moved), 'förekomst', 'förekomster')} skulle gå över till efterträdare."
        )
    else:
        print(
            f"Katalogen och kalendrarna är inlästa: "
            f"{antal(int(str(summary['people'])), 'person', 'personer')}, "
            f"{len(added)} {ny(len(added))}, {len(left)} som slutat, "
            f"{antal(len(moved), 'förekomst', 'förekomster')} har gått över till efterträdare."
        )
    for email in added:
        print(f"  ny: {email}")
    for email in left:
        print(f"  slutat: {email}")
    for m in moved:
        print(f"  förekomst {m['occurrence']}: {m['from']} → {m['to'] or 'stängd (dubblett)'}")
    calendars = summary["calendars"]
    assert isinstance(calendars, dict)
    for code, committee in calendars.items():
        print(f"  egen kalender: {code} ({committee})")
    if args.dry_run:
        print("Inget ändrades (--dry-run).")
    return 0


def cmd_items(app: App, args: argparse.Namespace) -> int:
    at: date = args.at or app.local_date(now_utc())
    with ready(app) as session:
        rows = item_rows(app, session, at)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print_table(
        [
            "Plan",
            "Område",
            "Nr",
            "Aktivitet",
            "Ansvarig",
            "Klart när?",
            "Nästa frist",
            "Öppna",
            "Klara",
            "Försenade",
        ],
        [
            [
                r["plan"],
                str(r["area_number"]),
                r["number"],
                short(r["title"], 48),
                ", ".join(r["responsible"]),
                r["deadline_phrase"],
                r["due"] or "–",
                str(r["open"]),
                str(r["done"]),
                str(r["overdue"]),
            ]
            for r in rows
        ],
    )
    return 0


def item_rows(app: App, session: Session, at: date) -> list[dict[str, Any]]:
    items = session.execute(
        select(Item, Area, Plan)
        .join(Area, Item.area_id == Area.id)
        .join(Plan, Item.plan_id == Plan.id)
        .where(Item.active.is_(True))
        .order_by(Plan.slug, Item.position)
    ).all()
    occurrences: dict[int, list[Occurrence]] = {}
    for occ in session.scalars(select(Occurrence)):
        occurrences.setdefault(occ.item_id, []).append(occ)
    horizon = int(app.config.get("schedule", "horizon_days", 400))
    slots = expand(
        schedule_items(session, app.directory(session).vocabulary),
        app.directory(session),
        app.calendars(session),
        at + timedelta(days=horizon),
    )
    next_due: dict[int, date] = {}
    for slot in slots:
        if slot.due is not None and slot.due >= at:
            next_due[slot.item_id] = min(slot.due, next_due.get(slot.item_id, slot.due))
    for occ_list in occurrences.values():
        for occ in occ_list:
            due = occ.effective_due
            if due is not None and due >= at and status_at(occ, at) != "done":
                next_due[occ.item_id] = min(due, next_due.get(occ.item_id, due))
    rows = []
    for item, area, plan in items:
        # Windows that have not begun by --at are not counted yet.
        begun = [
            o
            for o in occurrences.get(item.id, [])
            if o.window_start is None or o.window_start <= at
        ]
        counts = count_statuses(begun, at)
        due = next_due.get(item.id)
        rows.append(
            {
                "plan": plan.slug,
                "area": area.title,
                "area_number": area.position,
                "number": item.number,
                "title": item.title,
                "responsible": list(item.responsible),
                "deadline_phrase": item.deadline_phrase,
                "cadence": item.cadence_phrase or None,
                "deadline_kind": Deadline.from_json(item.deadline_json).kind.value,
                "due": due.isoformat() if due else None,
                "open": counts.open,
                "done": counts.done,
                "overdue": counts.overdue,
            }
        )
    return rows


def cmd_occurrences(app: App, args: argparse.Namespace) -> int:
    at: date = args.at or app.local_date(now_utc())
    with ready(app) as session:
        query = (
            select(Occurrence, Item, Plan, Person)
            .join(Item, Occurrence.item_id == Item.id)
            .join(Plan, Item.plan_id == Plan.id)
            .join(Person, Occurrence.person_id == Person.id)
            .order_by(Plan.slug, Item.position, Person.email, Occurrence.due)
        )
        if args.person:
            query = query.where(func.lower(Person.email) == args.person.strip().lower())
        rows = [
            {
                "id": occ.id,
                "plan": plan.slug,
                "number": item.number,
                "title": item.title,
                "person": person.email,
                "window": occ.window_key,
                "due": occ.effective_due.isoformat() if occ.effective_due else None,
                "status": status_at(occ, at),
            }
            for occ, item, plan, person in session.execute(query).all()
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print_table(
        ["Id", "Plan", "Nr", "Aktivitet", "Person", "Frist", "Status"],
        [
            [
                str(r["id"]),
                r["plan"],
                r["number"],
                short(r["title"], 40),
                r["person"],
                r["due"] or "–",
                STATUS_SV.get(r["status"], r["status"]),
            ]
            for r in rows
        ],
    )
    return 0
