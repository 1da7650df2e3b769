"""What every command group shares: moments, tables, mails on the terminal, a ready store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from service.app import App

STATUS_SV = {
    "open": "öppen",
    "done": "klar",
    "overdue": "försenad",
    "not_applicable": "inte aktuell",
}
KIND_SV = {
    "date": "datum", "month": "månad", "week": "vecka", "term": "termin", "quarter": "kvartal",
    "year": "år", "period": "period",
    "recurring": "återkommande", "per_meeting": "per möte", "relative": "efter annan aktivitet",
    "continuous": "fortlöpande", "as_needed": "vid behov",
}  # fmt: skip


def parse_moment(text: str) -> datetime:
    """An ISO moment; without a zone it is local (Europe/Stockholm) time."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Europe/Stockholm"))
    return moment.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def ready(app: App) -> Session:
    """A session on an initialised store with its occurrences expanded up to today."""
    now = now_utc()
    app.init(now)
    from service.db import transaction

    with transaction(app.sessions) as session:
        app.sync(session, now)
    return app.sessions()


def print_mails(mails: list[dict[str, Any]]) -> None:
    print_table(
        ["Tid", "Till", "Typ", "Ämne", "Status"],
        [
            [m["at"], ", ".join(m["to"]), m["kind"], short(m["subject"] or "", 60), m["status"]]
            for m in mails
        ],
    )


def short(text: str, width: int) -> str:
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
