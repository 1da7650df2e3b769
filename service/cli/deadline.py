"""`bevakning deadline`: how a deadline phrase is read, before a plan is imported."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib

from service.app import App
from service.calendar import Calendars, parse_calendars
from service.cli.common import now_utc
from service.deadlines import PhraseError
from service.plans.phrases import parse_phrase
from service.plans.reading import reading
from service.problems import InputError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "deadline",
        help="visa hur en tidsangivelse i ”Klart när?” läses",
        description="Visar hur en tidsangivelse läses, så att den kan kontrolleras före import.",
    )
    p.add_argument("phrase", help="tidsangivelsen som i planen, t.ex. ”senast i oktober varje år”")
    p.add_argument("--plan-start", type=_date, help="planens startdatum (ÅÅÅÅ-MM-DD)")
    p.add_argument("--plan-end", type=_date, help="planens slutdatum (ÅÅÅÅ-MM-DD)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_deadline)


def _date(text: str) -> object:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} är inget datum, skriv t.ex. 2025-01-01"
        ) from None


def cmd_deadline(app: App, args: argparse.Namespace) -> int:
    if args.plan_start and args.plan_end and args.plan_end < args.plan_start:
        print("Planens slut ligger före dess start; byt plats på --plan-start och --plan-end.")
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
        calendars=_calendars(app),
    )
    if args.json:
        print(json.dumps({"ok": True, "phrase": args.phrase, **data}, ensure_ascii=False, indent=2))
    else:
        print(data["text"])
    return 0


def _calendars(app: App) -> Calendars:
    """The configured terms and committee meetings, read from the calendars file (the store
    is not needed to read a phrase); the configured term defaults if the file is unreadable."""
    defaults = app.term_defaults
    path = app.config.path("plans", "calendars")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        terms, meetings, rule, _ = parse_calendars(
            data, str(path), defaults=defaults, default_rule=app.apt_rule
        )
    except (OSError, tomllib.TOMLDecodeError, InputError):
        return Calendars(terms=(), term_defaults=defaults, apt_rule=app.apt_rule)
    return Calendars(
        terms=tuple(terms),
        meetings={k: tuple(v) for k, v in meetings.items()},
        apt_rule=rule,
        term_defaults=defaults,
    )
