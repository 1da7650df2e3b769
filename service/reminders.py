"""Reminder planning: who gets which mail today. Pure: occurrences + policy + calendars + today.

The rules, in short (numbers are config.toml defaults):
- Before a deadline: 30, 7 and 1 days before, and on the day. A reminder that would fall on a
  weekend or holiday goes out the working day before. After downtime only the latest stage due
  is sent, so nobody gets "om 7 dagar" about something due tomorrow or already late.
- Overdue: one reminder 7 days after the deadline and then every 7 days after the last one.
- Whenever a person gets a mail anyway, all their overdue items ride along, which restarts their
  7-day clock: fewer mails, never more.
- Escalation: once, 14 days after the deadline, to the responsible person's manager.
- Continuous items: one check-in per period, `checkin_offset_days` into it.
- At most one reminder mail per person per day, one escalation mail per manager per day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from service.calendar import Calendars

OVERDUE, DUE_TODAY, UPCOMING, CHECKIN, ESCALATION = (
    "overdue",
    "due_today",
    "upcoming",
    "checkin",
    "escalation",
)
REMINDER_KIND, CHECKIN_KIND, ESCALATION_KIND = "reminder", "checkin", "escalation"


@dataclass(frozen=True)
class Policy:
    days_before: tuple[int, ...] = (30, 7, 1)
    on_due_date: bool = True
    overdue_every_days: int = 7
    escalate_after_days: int = 14
    checkin_offset_days: int = 14
    send_time: time = time(7, 30)

    @classmethod
    def from_settings(cls, s: Mapping[str, Any]) -> Policy:
        hours, minutes = str(s.get("send_time", "07:30")).split(":")
        return cls(
            days_before=tuple(
                sorted({int(n) for n in s.get("remind_days_before", [30, 7, 1])}, reverse=True)
            ),
            on_due_date=bool(s.get("remind_on_due_date", True)),
            overdue_every_days=int(s.get("overdue_every_days", 7)),
            escalate_after_days=int(s.get("escalate_after_days", 14)),
            checkin_offset_days=int(s.get("checkin_offset_days", 14)),
            send_time=time(int(hours), int(minutes)),
        )


@dataclass(frozen=True)
class Candidate:
    """An open occurrence as the planner sees it."""

    id: int
    person_id: int
    due: date | None  # effective (postponed) due date; None for continuous check-ins
    window_start: date | None = None
    window_end: date | None = None
    manager_id: int | None = None
    stages: frozenset[str] = frozenset()  # stages already planned
    last_notice: date | None = None  # the day of the latest notice about it


@dataclass(frozen=True)
class Notice:
    occurrence_id: int
    stage: str
    section: str  # overdue | due_today | upcoming | checkin | escalation


@dataclass(frozen=True)
class PlannedMail:
    kind: str  # reminder | checkin | escalation | digest
    person_id: int | None  # None for a digest to an extra address outside the directory
    day: date
    notices: tuple[Notice, ...] = field(default=())

    @property
    def key(self) -> str:
        # reminder and checkin share a key: one such mail per person per day, whatever it holds.
        family = ESCALATION_KIND if self.kind == ESCALATION_KIND else REMINDER_KIND
        return f"{family}:{self.person_id}:{self.day.isoformat()}"


def section_for(due: date | None, today: date) -> str:
    if due is None:
        return CHECKIN
    if due < today:
        return OVERDUE
    return DUE_TODAY if due == today else UPCOMING


def plan(
    candidates: Iterable[Candidate],
    policy: Policy,
    calendars: Calendars,
    today: date,
    *,
    taken: frozenset[str] = frozenset(),
) -> list[PlannedMail]:
    """The mails to send on `today` (a working day past the send time; the caller checks).

    `taken` holds outbox keys already used today: their people wait until tomorrow.
    """
    own: dict[int, list[Notice]] = {}
    riders: dict[int, list[Notice]] = {}
    escalations: dict[int, list[Notice]] = {}
    for c in candidates:
        triggered = _triggered(c, policy, calendars, today)
        if triggered is not None:
            own.setdefault(c.person_id, []).append(triggered)
        elif _may_ride(c, policy, today):
            riders.setdefault(c.person_id, []).append(
                Notice(c.id, f"overdue@{today.isoformat()}", OVERDUE)
            )
        escalation = _escalation(c, policy, calendars, today)
        if escalation is not None and c.manager_id is not None:
            escalations.setdefault(c.manager_id, []).append(escalation)
    mails: list[PlannedMail] = []
    for person_id, notices in sorted(own.items()):
        notices = notices + riders.get(person_id, [])
        only_checkins = all(n.section == CHECKIN for n in notices)
        mail = PlannedMail(
            CHECKIN_KIND if only_checkins else REMINDER_KIND, person_id, today, tuple(notices)
        )
        if mail.key not in taken:
            mails.append(mail)
    for manager_id, notices in sorted(escalations.items()):
        mail = PlannedMail(ESCALATION_KIND, manager_id, today, tuple(notices))
        if mail.key not in taken:
            mails.append(mail)
    return mails


def _triggered(c: Candidate, policy: Policy, calendars: Calendars, today: date) -> Notice | None:
    if c.due is None:
        return _checkin(c, policy, calendars, today)
    due = c.due
    if today <= due:
        # Only the latest pre-deadline stage whose send day has come: catch-up never sends a
        # stale "om 30 dagar" after "om 7 dagar" is due.
        offsets = [*policy.days_before, *([0] if policy.on_due_date else [])]
        reached = [
            n for n in offsets if calendars.previous_working_day(due - timedelta(days=n)) <= today
        ]
        if not reached:
            return None
        stage = f"before-{min(reached)}@{due.isoformat()}"
        if stage in c.stages or any(_later_stage(s, min(reached), due) for s in c.stages):
            return None
        return Notice(c.id, stage, section_for(due, today))
    anchor = max(due, c.last_notice or due)
    next_day = calendars.previous_working_day(anchor + timedelta(days=policy.overdue_every_days))
    if today >= next_day and f"overdue@{today.isoformat()}" not in c.stages:
        return Notice(c.id, f"overdue@{today.isoformat()}", OVERDUE)
    return None


def _may_ride(c: Candidate, policy: Policy, today: date) -> bool:
    """An overdue item joins a mail that goes out anyway, unless it was in one just now."""
    if c.due is None or c.due >= today or f"overdue@{today.isoformat()}" in c.stages:
        return False
    quiet = max(1, policy.overdue_every_days // 2)
    return c.last_notice is None or (today - c.last_notice).days >= quiet


def _later_stage(stage: str, offset: int, due: date) -> bool:
    """True if `stage` is a pre-deadline stage for `due` closer to it than `offset` days."""
    name, _, stage_due = stage.partition("@")
    if stage_due != due.isoformat() or not name.startswith("before-"):
        return False
    return int(name.removeprefix("before-")) < offset


def _checkin(c: Candidate, policy: Policy, calendars: Calendars, today: date) -> Notice | None:
    if c.window_start is None:
        return None
    end = c.window_end or c.window_start
    day = min(c.window_start + timedelta(days=policy.checkin_offset_days), end)
    stage = f"checkin@{c.window_start.isoformat()}"
    if stage in c.stages or today > end or today < calendars.previous_working_day(day):
        return None
    return Notice(c.id, stage, CHECKIN)


def _escalation(c: Candidate, policy: Policy, calendars: Calendars, today: date) -> Notice | None:
    if c.due is None or policy.escalate_after_days <= 0:
        return None
    stage = f"escalation@{c.due.isoformat()}"
    day = calendars.previous_working_day(c.due + timedelta(days=policy.escalate_after_days))
    if today < day or stage in c.stages:
        return None
    return Notice(c.id, stage, ESCALATION)


def is_send_moment(calendars: Calendars, today: date, local_time: time, policy: Policy) -> bool:
    return calendars.is_working_day(today) and local_time >= policy.send_time


def sections(notices: Sequence[Notice]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for n in notices:
        out.setdefault(n.section, []).append(n.occurrence_id)
    return out
