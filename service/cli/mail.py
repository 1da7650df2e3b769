"""The mail cycle: tick, digest, simulate, and the long-running service."""

from __future__ import annotations

import argparse
import json
import sys

from service.app import App
from service.cli.common import (
    JSON_HELP,
    MAIL_KIND_SV,
    now_utc,
    parse_date,
    parse_moment,
    parse_share,
    parse_whole_number,
    print_mails,
)
from service.cli.progress import progress

# The summary's figures as the table on the terminal names them (--json keeps the keys).
SUMMARY_SV = {
    "from": "Från",
    "to": "Till",
    "mails": "Mejl",
    "by_kind": "Per sort",
    "people_reached": "Personer som fått mejl",
    "max_reminder_mails_per_person_per_day": "Flest påminnelser till en person samma dag",
    "mails_on_weekends_or_holidays": "Mejl på helger och helgdagar",
    "digests": "Veckosammanfattningar",
    "marked_done": "Klarmarkerade",
    "open_at_end": "Öppna vid slutet",
}


def summary_value(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{MAIL_KIND_SV.get(k, k)} {v}" for k, v in value.items()) or "–"
    return str(value)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="kör tjänsten: schemaläggare och webbsida")
    p.add_argument("--no-web", action="store_true", help="utan webbsida")
    p.set_defaults(handler=cmd_run, verbose=True)

    p = sub.add_parser("tick", help="en körning: planera och skicka det som är dags")
    p.add_argument(
        "--now", type=parse_moment, metavar="TIDPUNKT", help="tidpunkt (lokal tid om zon saknas)"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_tick)

    p = sub.add_parser("digest", help="veckosammanfattningen till förvaltningschefen")
    p.add_argument(
        "--now", type=parse_moment, metavar="TIDPUNKT", help="tidpunkt (lokal tid om zon saknas)"
    )
    p.add_argument("--dry-run", action="store_true", help="visa bara, skicka inget")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_digest)

    p = sub.add_parser("simulate", help="simulera utskicken dag för dag på en kopia")
    p.add_argument(
        "--from", dest="start", type=parse_date, required=True, metavar="DATUM", help="första dagen"
    )
    p.add_argument(
        "--to", dest="end", type=parse_date, required=True, metavar="DATUM", help="sista dagen"
    )
    p.add_argument(
        "--done-rate",
        type=parse_share,
        default=0.7,
        metavar="ANDEL",
        help="andel som klarmarkeras i tid, 0–1 (standard 0.7)",
    )
    p.add_argument(
        "--seed",
        type=parse_whole_number,
        default=1,
        metavar="TAL",
        help="startvärde för slumpen: samma värde ger samma körning (standard 1)",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_simulate)


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
    from service.digest import digest_contexts, digest_recipients
    from service.mail.render import render
    from service.pipeline import dispatch_outbox, plan_digests

    now = args.now or now_utc()
    app.init(now)
    if args.dry_run:
        with transaction(app.sessions) as session:
            today = app.local_date(now)
            recipients = digest_recipients(app, session)
            contexts = digest_contexts(
                app, session, [p for p, _ in recipients], now=now, today=today
            )
            mails = []
            for (_, address), context in zip(recipients, contexts, strict=True):
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

    if args.end < args.start:
        print("--to ska vara samma dag som --from eller senare.", file=sys.stderr)
        return 2
    days = (args.end - args.start).days + 1
    with progress("Simulerar dag för dag", days) as advance:
        result = simulate(
            app, args.start, args.end, done_rate=args.done_rate, seed=args.seed, on_day=advance
        )
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print_mails(result["mails"])
    print()
    for key, value in result["summary"].items():
        print(f"{SUMMARY_SV.get(key, key)}: {summary_value(value)}")
    return 0
