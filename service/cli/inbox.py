"""`bevakning inbox`: read the replies to reminders once (the service does it on a schedule)."""

from __future__ import annotations

import argparse
import json
import sys

from service.app import App
from service.cli.common import JSON_HELP, now_utc, parse_moment, print_table

OUTCOME_SV = {
    "applied": "registrerat",
    "asked": "besvarat med fråga",
    "automatic": "automatiskt mejl, inget svar",
    "bounce": "studs",
    "refused": "avvisat avsändare",
    "unmatched": "inte ett svar på vårt mejl",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("inbox", help="läs svaren på påminnelserna och registrera dem")
    p.add_argument("--now", type=parse_moment, help="tidpunkt (ISO, lokal tid om zon saknas)")
    p.add_argument("--no-send", action="store_true", help="skicka inte svaren direkt")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_inbox)


def cmd_inbox(app: App, args: argparse.Namespace) -> int:
    from service.inbox.reader import enabled, read_inbox, source_of
    from service.pipeline import dispatch_outbox, worker_name

    if not enabled(app):
        print(
            "Svar läses inte: [mail.inbox] address är tom. Ange adressen som påminnelserna "
            "ska få svar till.",
            file=sys.stderr,
        )
        return 2
    try:
        source = source_of(app)
    except ValueError as exc:
        print(f"Fel i inställningarna för svar ([mail.inbox]): {exc}", file=sys.stderr)
        return 2
    now = args.now or now_utc()
    app.init(now)
    run = read_inbox(app, now, source=source, worker=worker_name())
    mails = [] if args.no_send else dispatch_outbox(app, now)
    if args.json:
        print(json.dumps({**run.as_json(), "mails": mails}, ensure_ascii=False, indent=2))
    else:
        print_table(
            ["Från", "Utfall", "Ändringar"],
            [
                [h.sender, OUTCOME_SV.get(h.outcome, h.outcome), str(len(h.changes))]
                for h in run.handled
            ],
        )
        if run.skipped:
            print(f"{run.skipped} mejl var redan behandlade och flyttades bara.")
        for error in run.errors:
            print(f"Kunde inte läsa brevlådan: {error}", file=sys.stderr)
    return 1 if run.errors else 0
