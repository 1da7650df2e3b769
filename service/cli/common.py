"""What every command group shares: moments, tables, mails on the terminal, a ready store."""

from __future__ import annotations

import argparse
import tomllib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from service import i18n
from service.app import App
from service.calendar import Calendars, apt_span, parse_calendars
from service.problems import InputError

antal = i18n.plural_sv  # "1 område", "2 områden"


def ny(n: int) -> str:
    """The adjective agrees with the count: "1 ny", "2 nya"."""
    return "ny" if n == 1 else "nya"


def uppdaterad(n: int) -> str:
    return "uppdaterad" if n == 1 else "uppdaterade"


def borttagen(n: int) -> str:
    return "borttagen" if n == 1 else "borttagna"


JSON_HELP = "skriv ut som JSON, för andra program"

STATUS_SV = {
    "open": "öppen",
    "done": "klar",
    "overdue": "försenad",
    "not_applicable": "inte aktuell",
}
# Outbox kinds and statuses as a table on the terminal shows them (--json keeps the keys).
MAIL_KIND_SV = {
    "reminder": "påminnelse",
    "escalation": "eskalering",
    "digest": "veckosammanfattning",
    "checkin": "avstämning",
}
MAIL_STATUS_SV = {
    "pending": "väntar",
    "sending": "skickas",
    "sent": "skickat",
    "failed": "misslyckades",
    "skipped": "hoppades över",
}
KIND_SV = {
    "date": "datum", "month": "månad", "week": "vecka", "term": "termin", "quarter": "kvartal",
    "year": "år", "period": "period",
    "recurring": "återkommande", "per_meeting": "per möte", "relative": "efter annan aktivitet",
    "continuous": "fortlöpande", "as_needed": "vid behov",
}  # fmt: skip


# Argument types: argparse would name the Python function in its message ("förväntade
# fromisoformat"); an ArgumentTypeError's own text is shown instead, in Swedish.


def parse_date(text: str) -> date:
    """--at, --from, --to: a date written as 2024-12-02."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} är inget datum; skriv det som 2024-12-02"
        ) from None


def parse_share(text: str) -> float:
    """--done-rate: a share between 0 and 1."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} är ingen andel; skriv ett tal mellan 0 och 1, till exempel 0.6"
        )
    return value


def parse_whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} är inget heltal; skriv till exempel 1"
        ) from None


def parse_moment(text: str) -> datetime:
    """An ISO moment; without a zone it is local (Europe/Stockholm) time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} är ingen tidpunkt; skriv den som 2024-12-02T07:30"
        ) from None
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
            [
                m["at"],
                ", ".join(m["to"]),
                MAIL_KIND_SV.get(m["kind"], m["kind"]),
                short(m["subject"] or "", 60),
                MAIL_STATUS_SV.get(m.get("status", ""), m.get("status", "")),
            ]
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


def file_calendars(app: App) -> Calendars:
    """The configured terms, committee meetings and APT rules, read from the calendars file
    (the store is not needed to read a phrase), each administration's section resolved; the
    configured term defaults if the file is unreadable."""
    defaults = app.term_defaults
    path = app.config.path("plans", "calendars")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        parsed = parse_calendars(data, str(path), default_rule=app.apt_rule)
    except (OSError, tomllib.TOMLDecodeError, InputError):
        return Calendars(terms=(), term_defaults=defaults, apt_rule=app.apt_rule)
    directory = app.plan_directory()
    units = directory.unit_administrations() if directory is not None else {}
    span = apt_span(parsed.terms, app.local_date(now_utc()))
    return parsed.calendars(span, units, term_defaults=defaults, committee=app.committee)
