"""The Swedish commands a reply may hold, read from the lines before the quoted text.

"klar", "klart", "klar 1 3", "klar alla", "skjut upp 2 till 15 januari",
"inte aktuell 4 eftersom …", and a result note after a colon ("klar 1: vi höll workshop").
Pure: the text and today's date in, commands (or what was wrong) out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from service.plans.phrases import MONTHS_SV


class Action(Enum):
    DONE = "done"
    POSTPONE = "postpone"
    NOT_APPLICABLE = "not_applicable"


ALL = "alla"


@dataclass(frozen=True)
class Command:
    action: Action
    # The item numbers the mail showed; () means none given, (ALL,) is not used: see every.
    numbers: tuple[int, ...] = ()
    every: bool = False  # "alla"
    to: date | None = None  # POSTPONE
    note: str = ""  # the result note (DONE) or the reason (POSTPONE, NOT_APPLICABLE)
    line: str = ""


@dataclass(frozen=True)
class Parsed:
    commands: tuple[Command, ...]
    # Lines that began like a command but could not be read, as written.
    problems: tuple[str, ...] = ()

    @property
    def understood(self) -> bool:
        return bool(self.commands) and not self.problems


_VERB = re.compile(
    r"^(?P<verb>klar|klart|färdig|färdigt|gjort|skjut upp|flytta|inte aktuell|inte aktuellt)"
    r"(?=$|[\s:,.!])(?P<rest>.*)$",
    re.IGNORECASE,
)
_ACTIONS = {
    "klar": Action.DONE,
    "klart": Action.DONE,
    "färdig": Action.DONE,
    "färdigt": Action.DONE,
    "gjort": Action.DONE,
    "skjut upp": Action.POSTPONE,
    "flytta": Action.POSTPONE,
    "inte aktuell": Action.NOT_APPLICABLE,
    "inte aktuellt": Action.NOT_APPLICABLE,
}
# "1 3", "1, 3", "1 och 3", "nr 2", "#2", "alla"
_TARGETS = re.compile(
    r"^\s*(?P<targets>(?:(?:nr\.?|nummer|#)?\s*\d{1,3}|alla|allt)"
    r"(?:\s*(?:,|och|&|\s)\s*(?:(?:nr\.?|nummer|#)?\s*\d{1,3}|alla|allt))*)",
    re.IGNORECASE,
)
_MONTH_WORDS = "|".join(sorted((re.escape(m) for m in MONTHS_SV), key=len, reverse=True))
_DATE_WORDS = re.compile(
    rf"^(?:den\s+)?(?P<day>\d{{1,2}})(?::e|:a)?\s+(?P<month>{_MONTH_WORDS})\.?(?:\s+(?P<year>\d{{4}}))?",
    re.IGNORECASE,
)
_DATE_ISO = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})")
_DATE_SLASH = re.compile(r"^(?P<day>\d{1,2})/(?P<month>\d{1,2})(?:[ /-](?P<year>\d{4}))?")
_BECAUSE = re.compile(r"^(?:eftersom|för att|pga\.?|på grund av|då)\s+", re.IGNORECASE)


def parse(text: str, today: date) -> Parsed:
    """Commands from the reply's own lines (quoted text already removed).

    Lines that are not commands (a greeting, a signature) are passed over; a line that starts
    like a command but cannot be read is a problem, so nothing is guessed.
    """
    commands: list[Command] = []
    problems: list[str] = []
    for raw in text.splitlines():
        line = raw.strip().strip("*_").strip()
        match = _VERB.match(line)
        if not match:
            continue
        result = _command(_ACTIONS[match["verb"].lower()], match["rest"], line, today)
        if isinstance(result, Command):
            commands.append(result)
        else:
            problems.append(line)
    return Parsed(tuple(commands), tuple(problems))


def _command(action: Action, rest: str, line: str, today: date) -> Command | None:
    numbers: tuple[int, ...] = ()
    every = False
    targets = _TARGETS.match(rest)
    if targets and targets["targets"].strip():
        words = re.findall(r"\d{1,3}|alla|allt", targets["targets"], re.IGNORECASE)
        every = any(not w.isdigit() for w in words)
        numbers = tuple(dict.fromkeys(int(w) for w in words if w.isdigit()))
        rest = rest[targets.end() :]
    rest = rest.strip()
    to: date | None = None
    if action is Action.POSTPONE:
        found = re.match(r"^(?:till|to|tills|until)\s+", rest, re.IGNORECASE)
        if not found:
            return None
        parsed = _date(rest[found.end() :], today)
        if parsed is None:
            return None
        to, rest = parsed
        if to <= today:
            return None
    note = _note(rest, action)
    if note is None:
        return None
    return Command(action, numbers, every, to, note, line)


def _note(rest: str, action: Action) -> str | None:
    """The text after the targets: ": note", "eftersom …", or nothing."""
    rest = rest.strip().lstrip(".!").strip()
    if not rest:
        return ""
    if rest.startswith((":", "-", "–")):
        return rest[1:].strip()
    because = _BECAUSE.match(rest)
    if because and action is not Action.DONE:
        return rest[because.end() :].strip()
    if rest.startswith(","):
        return _note(rest[1:], action)
    return None  # words we cannot place: better to ask than to guess


def _date(text: str, today: date) -> tuple[date, str] | None:
    """A date at the start of `text` and what follows it; a date without a year is the next
    such day from today on."""
    text = text.strip()
    for pattern in (_DATE_ISO, _DATE_WORDS, _DATE_SLASH):
        match = pattern.match(text)
        if not match:
            continue
        month_text = match["month"]
        month = (
            int(month_text) if month_text.isdigit() else MONTHS_SV[month_text.lower().rstrip(".")]
        )
        day = int(match["day"])
        try:
            if match["year"]:
                when = date(int(match["year"]), month, day)
            else:
                when = date(today.year, month, day)
                if when < today:
                    when = date(today.year + 1, month, day)
        except ValueError:
            return None
        return when, text[match.end() :]
    return None
