"""Swedish wording of dates, durations and counts, shared by mails and web pages.

Babel does the locale work (month and weekday names, "om …"/"för … sedan"); the few words it
cannot give us ("i dag", plural nouns of our own domain) are spelled out here so that every
mail and page says the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta

LOCALE = "sv"
# Dates are local dates in Stockholm; stored instants are UTC (DESIGN.md, Reliability model).
LOCAL_TZ = ZoneInfo("Europe/Stockholm")

_SV = Locale.parse(LOCALE)

# The date functions are cached: a batch of mails or a busy page formats the same few dates
# over and over, and Babel's pattern formatting is the slow part of a render.


@lru_cache(maxsize=4096)
def format_date_sv(d: date) -> str:
    """31 december 2024."""
    return format_date(d, "d MMMM y", locale=LOCALE)


@lru_cache(maxsize=4096)
def format_date_short_sv(d: date) -> str:
    """31 dec. 2024 (Babel's medium format), for tables where width matters."""
    return format_date(d, "medium", locale=LOCALE)


@lru_cache(maxsize=4096)
def weekday_name_sv(d: date) -> str:
    """tisdag (lower case, as Swedish writes weekdays)."""
    return format_date(d, "EEEE", locale=LOCALE)


def format_datetime_sv(moment: datetime) -> str:
    """2 december 2024 kl. 07:30, in Stockholm time; a naive value is taken as UTC (as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Shown to the minute, so formatted once per minute: a receipt shows the moment of the
    # click, and Babel's pattern formatting was a tenth of the time it takes to answer one.
    return _format_minute_sv(moment.replace(second=0, microsecond=0))


@lru_cache(maxsize=1024)
def _format_minute_sv(minute: datetime) -> str:
    return format_datetime(minute, "d MMMM y 'kl.' HH:mm", tzinfo=LOCAL_TZ, locale=LOCALE)


_TWO_YEARS_IN_MONTHS = 705  # days: 23.5 of Babel's 30-day months rounds to 24


@lru_cache(maxsize=4096)
def format_relative_sv(due: date, today: date) -> str:
    """How far `due` is from `today`, as a Swede would say it.

    Choices (see tests): the three nearest days get words ("i dag", "i morgon", "i går");
    anything under two weeks counts days ("om 7 dagar", "för 12 dagar sedan") because
    "om 1 vecka" for six days reads as vaguer than the reader deserves; from two weeks on
    Babel picks weeks, then months, then years (threshold=2 keeps "om 4 veckor" for 30 days
    rather than "om 1 månad").
    """
    days = (due - today).days
    if days == 0:
        return "i dag"
    if days == 1:
        return "i morgon"
    if days == -1:
        return "i går"
    return format_timedelta(
        timedelta(days=days),
        granularity="day",
        # Babel's months (30 days each) reach "24 månader" a few weeks before its years say
        # "2 år", and the two then stood side by side: from 23.5 months on, count in years.
        threshold=1 if abs(days) >= _TWO_YEARS_IN_MONTHS else 2,
        add_direction=True,
        locale=LOCALE,
    )


def plural_sv(n: int, one: str, other: str) -> str:
    """'1 aktivitet' / '2 aktiviteter': the count followed by the matching form."""
    return f"{n} {one if _is_one(n) else other}"


@lru_cache(maxsize=512)
def _is_one(n: int) -> bool:
    # Babel evaluates the CLDR plural rule anew on every call; counts in mails are few.
    return bool(_SV.plural_form(abs(n)) == "one")


def format_days_late_sv(days: int) -> str:
    """1 dag, 12 dagar.

    Not Babel's duration format: for whole days it says "dygn", which is right for a clock
    but odd for a deadline that passed.
    """
    return plural_sv(days, "dag", "dagar")


def join_sv(parts: Iterable[str]) -> str:
    """'a', 'a och b', 'a, b och c' (no serial comma in Swedish)."""
    items = [p for p in parts if p]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} och {items[-1]}"


# Role titles whose plural is not the "-chef" → "-chefer" rule below.
_ROLE_PLURALS = {
    "ansvarig": "ansvariga",
    "ledamot": "ledamöter",
    "medarbetare": "medarbetare",
    "ordförande": "ordförande",
}


def role_plural_sv(role: str, n: int) -> str:
    """'enhetschef' for one, 'enhetschefer' otherwise; unknown titles stay as they are."""
    word = role.strip()
    if _is_one(n):
        return word
    lower = word.lower()
    if lower in _ROLE_PLURALS:
        return _ROLE_PLURALS[lower]
    if lower.endswith("chef"):
        return word + "er"
    return word


def iso_week_sv(d: date) -> int:
    """The ISO week number, which is what "vecka 49" means in Sweden."""
    return d.isocalendar().week


def format_period_sv(start: date, end: date) -> str:
    """'2–8 december 2024', '25 november – 1 december 2024', '30 december 2024 – 5 januari 2025'."""
    if start.year != end.year:
        return f"{format_date_sv(start)} – {format_date_sv(end)}"
    if start.month != end.month:
        return f"{format_date(start, 'd MMMM', locale=LOCALE)} – {format_date_sv(end)}"
    return f"{start.day}–{format_date_sv(end)}"


def greeting_sv(full_name: str) -> str:
    """'Hej Anna!': first name only, as colleagues write to each other; 'Hej!' without a name."""
    first = " ".join(full_name.split()).split(" ")[0]
    return f"Hej {first}!" if first else "Hej!"


def acted_by_sv(actor: str, owner: str = "") -> str:
    """'Anna Berg', or 'Anna Berg (ersättare för Maria Sjöberg)' when Anna acted as the
    stand-in of an absent owner."""
    if owner and owner != actor:
        return f"{actor} (ersättare för {owner})"
    return actor
