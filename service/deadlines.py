"""What a deadline phrase means, as a value object (the parser lives in plans/phrases.py)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta


class DeadlineKind(StrEnum):
    DATE = "date"
    MONTH = "month"
    WEEK = "week"
    TERM = "term"
    QUARTER = "quarter"
    YEAR = "year"
    PERIOD = "period"
    RECURRING = "recurring"
    PER_MEETING = "per_meeting"
    RELATIVE = "relative"
    CONTINUOUS = "continuous"
    AS_NEEDED = "as_needed"


class Period(StrEnum):
    """The unit a recurring cadence counts in."""

    WEEK = "week"
    MONTH = "month"
    TERM = "term"
    YEAR = "year"


@dataclass(frozen=True)
class Deadline:
    """The parsed meaning of one deadline phrase.

    Which fields are set depends on `kind`:
    - date/month/week/quarter/year: `due` (the last day the item may be done on).
    - term: `term` ("VT 2026"/"HT 2025"); the calendar gives the date.
    - period: `start`, `end` and `due` (= end); checked in on each term like continuous work.
    - recurring: `times` windows per `interval` × `period`; optional `start`/`end` bound the
      series (otherwise the plan's period bounds it). `anchor` is a year on which a
      multi-year window starts (the election cycle); without it the plan's start aligns them.
      `month`/`day` fix a yearly deadline ("senast i oktober varje år"); `term` ("VT"/"HT")
      keeps only that term of each year ("varje vår").
    - per_meeting: `calendar` ("nämnd" or "apt"), `start` and `end` bound the meetings.
    - relative: `calendar` whose next meeting after the parent is done is the deadline, or
      `after` (ISO 8601 duration, "P30D") from the parent's completion or the plan's start.
    - continuous / as_needed: nothing.
    """

    kind: DeadlineKind
    due: date | None = None
    term: str | None = None
    times: int | None = None
    period: Period | None = None
    calendar: str | None = None
    start: date | None = None
    end: date | None = None
    interval: int | None = None
    anchor: int | None = None
    month: int | None = None
    day: int | None = None
    after: str | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {k: v for k, v in asdict(self).items() if v is not None}
        for key in ("due", "start", "end"):
            if key in data:
                data[key] = data[key].isoformat()
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Deadline:
        data = json.loads(text)
        for key in ("due", "start", "end"):
            if key in data:
                data[key] = date.fromisoformat(data[key])
        data["kind"] = DeadlineKind(data["kind"])
        if "period" in data:
            data["period"] = Period(data["period"])
        return cls(**data)


_DURATION = re.compile(r"P(\d+)([DWMY])")
_UNITS = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


def add_duration(day: date, duration: str) -> date:
    """`day` plus an ISO 8601 duration of one unit ("P30D", "P3W", "P2M", "P1Y")."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        raise ValueError(f"unsupported duration {duration!r}")
    result: date = day + relativedelta(**{_UNITS[match[2]]: int(match[1])})
    return result


class PhraseError(ValueError):
    """A deadline phrase the parser does not understand."""

    def __init__(self, phrase: str, reason: str = "") -> None:
        self.phrase = phrase
        self.reason = reason
        super().__init__(f"unknown deadline phrase {phrase!r}" + (f": {reason}" if reason else ""))
