"""`bevakning deadline`: how a deadline phrase is read, before a plan is imported."""

from __future__ import annotations

import argparse
import json
import sys

from service.app import App
from service.cli.common import JSON_HELP, file_calendars, now_utc, parse_date
from service.deadlines import PhraseError
from service.plans.phrases import parse_phrase
from service.plans.reading import reading


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "deadline",
        help="visa hur en tidsangivelse i ”Klart när?” läses",
        description="Visar hur en tidsangivelse läses, så att den kan kontrolleras före import.",
    )
    p.add_argument("phrase", help="tidsangivelsen som i planen, t.ex. ”senast i oktober varje år”")
    p.add_argument("--plan-start", type=parse_date, metavar="DATUM", help="planens startdatum")
    p.add_argument("--plan-end", type=parse_date, metavar="DATUM", help="planens slutdatum")
    p.add_argument(
        "--administration",
        metavar="KOD",
        default="",
        help="förvaltningens kod i katalogen: dess terminer och nämndsmöten gäller",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_deadline)


def cmd_deadline(app: App, args: argparse.Namespace) -> int:
    if args.plan_start and args.plan_end and args.plan_end < args.plan_start:
        print(
            "Planens slut ligger före dess start; byt plats på --plan-start och --plan-end.",
            file=sys.stderr,
        )
        return 2
    known = app.plan_vocabulary().administrations
    if args.administration and args.administration not in known:
        print(
            f"Förvaltningen ”{args.administration}” finns inte i katalogen; "
            f"ange en av: {', '.join(known) or 'inga (katalogen anger inga förvaltningar)'}.",
            file=sys.stderr,
        )
        return 2
    try:
        deadline = parse_phrase(args.phrase, plan_start=args.plan_start, plan_end=args.plan_end)
    except PhraseError as exc:
        if args.json:
            out = {"ok": False, "phrase": args.phrase, "reason": exc.reason}
            print(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            print(
                f"Tidsangivelsen ”{args.phrase}” går inte att läsa: {exc.reason}.", file=sys.stderr
            )
        return 1
    data = reading(
        deadline,
        today=app.local_date(now_utc()),
        plan_start=args.plan_start,
        plan_end=args.plan_end,
        calendars=file_calendars(app).of(args.administration),
    )
    if args.json:
        print(json.dumps({"ok": True, "phrase": args.phrase, **data}, ensure_ascii=False, indent=2))
    else:
        print(data["text"])
    return 0
