"""What a deadline phrase means, as a value object (the parser lives in plans/phrases.py)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class DeadlineKind(StrEnum):
    DATE = "date"
    MONTH = "month"
    WEEK = "week"
    TERM = "term"
    QUARTER = "quarter"
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
    - date/month/week/quarter: `due` (the last day the item may be done on).
    - term: `term` ("VT 2026"/"HT 2025"); the calendar gives the date.
    - recurring: `times` windows per `period`; optional `start`/`end` bound the series
      (otherwise the plan's period bounds it).
    - per_meeting: `calendar` ("nämnd" or "apt"), `start` and `end` bound the meetings.
    - relative: `calendar` whose next meeting after the parent is done is the deadline.
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


class PhraseError(ValueError):
    """A deadline phrase the parser does not understand."""

    def __init__(self, phrase: str, reason: str = "") -> None:
        self.phrase = phrase
        self.reason = reason
        super().__init__(f"unknown deadline phrase {phrase!r}" + (f": {reason}" if reason else ""))
