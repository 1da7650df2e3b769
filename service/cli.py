"""The `bevakning` command. Machine-readable output (--json) is part of the interface."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.app import App
from service.config import ConfigError, load_config
from service.deadlines import Deadline
from service.models import Area, Item, Occurrence, Person, Plan
from service.occurrences import count_statuses, schedule_items, status_at
from service.plans.importer import read_plan_file
from service.problems import InputError
from service.schedule import expand

STATUS_SV = {
    "open": "öppen",
    "done": "klar",
    "overdue": "försenad",
    "not_applicable": "inte aktuell",
}
KIND_SV = {
    "date": "datum", "month": "månad", "week": "vecka", "term": "termin", "quarter": "kvartal",
    "recurring": "återkommande", "per_meeting": "per möte", "relative": "efter annan aktivitet",
    "continuous": "fortlöpande", "as_needed": "vid behov",
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        app = App(load_config(args.config))
        return int(args.handler(app, args) or 0)
    except ConfigError as exc:
        print(f"Fel i konfigurationen: {exc}", file=sys.stderr)
        return 2
    except InputError as exc:
        if getattr(args, "json", False):
            print(
                json.dumps(
                    {"ok": False, "problems": [p.as_dict() for p in exc.problems]},
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            print("Inget ändrades, eftersom filen har fel:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bevakning", description="Bevakning av handlingsplaner.")
    parser.add_argument(
        "--config", help="konfigurationsfil (standard ./config.toml eller $BEVAKNING_CONFIG)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="visa logg")
    sub = parser.add_subparsers(title="kommandon")

    p = sub.add_parser("init", help="skapa databasen och läs in de medföljande planerna")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("import", help="läs in en plan (.toml, .xlsx eller .docx)")
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true", help="kontrollera bara, ändra ingenting")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("reload", help="läs om katalogen och kalendrarna")
    p.add_argument("--dry-run", action="store_true", help="kontrollera bara, ändra ingenting")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reload)

    p = sub.add_parser("items", help="lista aktiviteter och deras status")
    p.add_argument("--at", type=date.fromisoformat, help="datum (standard i dag)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_items)

    p = sub.add_parser("occurrences", help="lista förekomster per person och frist")
    p.add_argument("--person", help="e-postadress")
    p.add_argument("--at", type=date.fromisoformat, help="datum (standard i dag)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_occurrences)

    p = sub.add_parser("run", help="kör tjänsten: schemaläggare och webbsida")
    p.add_argument("--no-web", action="store_true", help="utan webbsida")
    p.set_defaults(handler=cmd_run, verbose=True)

    p = sub.add_parser("tick", help="en körning: planera och skicka det som är dags")
    p.add_argument("--now", type=parse_moment, help="tidpunkt (ISO, lokal tid om zon saknas)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_tick)

    p = sub.add_parser("digest", help="veckosammanfattningen till förvaltningschefen")
    p.add_argument("--now", type=parse_moment, help="tidpunkt (ISO, lokal tid om zon saknas)")
    p.add_argument("--dry-run", action="store_true", help="visa bara, skicka inget")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_digest)

    p = sub.add_parser("simulate", help="simulera utskicken dag för dag på en kopia")
    p.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    p.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    p.add_argument("--done-rate", type=float, default=0.7, help="andel som klarmarkeras i tid")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_simulate)
    return parser


def parse_moment(text: str) -> datetime:
    """An ISO moment; without a zone it is local (Europe/Stockholm) time."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Europe/Stockholm"))
    return moment.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def cmd_init(app: App, args: argparse.Namespace) -> int:
    results = app.init(now_utc())
    with app.sessions() as session:
        plans = session.scalars(select(Plan).order_by(Plan.slug)).all()
        if results:
            print(f"Databasen är skapad och {len(results)} planer är inlästa.")
        else:
            print("Databasen fanns redan; ingenting ändrades.")
        for plan in plans:
            count = len([i for i in plan.items if i.active])
            print(f"  {plan.slug}: {plan.title} ({count} aktiviteter)")
    return 0


def cmd_import(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    spec, _digest = read_plan_file(path, str(path))
    if args.dry_run:
        result: dict[str, Any] = {
            "ok": True,
            "dry_run": True,
            "plan": spec.slug,
            "areas": len(spec.areas),
            "items": spec.item_count,
        }
    else:
        app.init(now_utc())
        from service.db import transaction

        with transaction(app.sessions) as session:
            now = now_utc()
            imported = app.import_plan(session, path.resolve(), now, actor="cli")
            app.sync(session, now)
        result = {
            "ok": True,
            "dry_run": False,
            "plan": imported.plan,
            "created": imported.created,
            "areas": len(spec.areas),
            "items": spec.item_count,
            "added": imported.items_added,
            "updated": imported.items_updated,
            "retired": imported.items_retired,
        }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.dry_run:
        print(
            f"Planen {spec.slug} är korrekt: {len(spec.areas)} områden, "
            f"{spec.item_count} aktiviteter. Inget ändrades (--dry-run)."
        )
    else:
        print(
            f"Planen {result['plan']} är inläst: {result['added']} nya, {result['updated']} "
            f"uppdaterade och {result['retired']} borttagna aktiviteter."
        )
    return 0


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
            f"Katalogen och kalendrarna är kontrollerade: {summary['people']} personer, "
            f"{len(added)} nya, {len(left)} som slutat, {len(moved)} förekomster skulle gå "
            "över till efterträdare."
        )
    else:
        print(
            f"Katalogen och kalendrarna är inlästa: {summary['people']} personer, "
            f"{len(added)} nya, {len(left)} som slutat, {len(moved)} förekomster har gått "
            "över till efterträdare."
        )
    for email in added:
        print(f"  ny: {email}")
    for email in left:
        print(f"  slutat: {email}")
    for m in moved:
        print(f"  förekomst {m['occurrence']}: {m['from']} → {m['to'] or 'stängd (dubblett)'}")
    if args.dry_run:
        print("Inget ändrades (--dry-run).")
    return 0


def _ready(app: App) -> Session:
    """A session on an initialised store with its occurrences expanded up to today."""
    now = now_utc()
    app.init(now)
    from service.db import transaction

    with transaction(app.sessions) as session:
        app.sync(session, now)
    return app.sessions()


def cmd_items(app: App, args: argparse.Namespace) -> int:
    at: date = args.at or app.local_date(now_utc())
    with _ready(app) as session:
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
                _short(r["title"], 48),
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
        schedule_items(session),
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
    with _ready(app) as session:
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
                _short(r["title"], 40),
                r["person"],
                r["due"] or "–",
                STATUS_SV.get(r["status"], r["status"]),
            ]
            for r in rows
        ],
    )
    return 0


def cmd_run(app: App, args: argparse.Namespace) -> int:
    from service.scheduler import run

    return run(app, with_web=not args.no_web)


def cmd_tick(app: App, args: argparse.Namespace) -> int:
    from service.pipeline import tick

    now = args.now or now_utc()
    app.init(now)
    result = tick(app, now)
    if args.json:
        print(json.dumps({"mails": result.mails}, ensure_ascii=False, indent=2))
    else:
        print_mails(result.mails)
    return 0


def cmd_digest(app: App, args: argparse.Namespace) -> int:
    from service.db import transaction
    from service.digest import digest_context, digest_recipients
    from service.mail.render import render
    from service.pipeline import dispatch_outbox, plan_digests

    now = args.now or now_utc()
    app.init(now)
    if args.dry_run:
        with transaction(app.sessions) as session:
            mails = []
            for person, address in digest_recipients(app, session):
                context = digest_context(app, session, person, now=now, today=app.local_date(now))
                rendered = render("digest", context)
                mails.append(
                    {
                        "to": [address],
                        "kind": "digest",
                        "subject": rendered.subject,
                        "text": rendered.text,
                    }
                )
        if args.json:
            print(json.dumps({"mails": mails}, ensure_ascii=False, indent=2))
        else:
            for mail in mails:
                print(f"Till: {', '.join(mail['to'])}\nÄmne: {mail['subject']}\n\n{mail['text']}")
        return 0
    plan_digests(app, now, force=True)
    sent = [m for m in dispatch_outbox(app, now) if m["kind"] == "digest"]
    if args.json:
        print(json.dumps({"mails": sent}, ensure_ascii=False, indent=2))
    else:
        print_mails(sent) if sent else print("Veckans sammanfattning är redan skickad.")
    return 0


def cmd_simulate(app: App, args: argparse.Namespace) -> int:
    from service.simulation import simulate

    if not 0 <= args.done_rate <= 1:
        print("--done-rate ska vara mellan 0 och 1.", file=sys.stderr)
        return 2
    if args.end < args.start:
        print("--to ska vara samma dag som --from eller senare.", file=sys.stderr)
        return 2
    result = simulate(app, args.start, args.end, done_rate=args.done_rate, seed=args.seed)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print_mails(result["mails"])
    print()
    for key, value in result["summary"].items():
        print(f"{key}: {value}")
    return 0


def print_mails(mails: list[dict[str, Any]]) -> None:
    print_table(
        ["Tid", "Till", "Typ", "Ämne", "Status"],
        [
            [m["at"], ", ".join(m["to"]), m["kind"], _short(m["subject"] or "", 60), m["status"]]
            for m in mails
        ],
    )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("(inga rader)")


if __name__ == "__main__":
    sys.exit(main())
