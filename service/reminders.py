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
- At most one mail per person per day, of any kind: an escalation rides in the manager's
  reminder, and on a digest recipient's digest day everything for them rides in the digest.
- Quiet periods (config): a pre-deadline reminder that would fall inside goes out the last
  working day before; overdue reminders, check-ins and escalations wait until after, bundled.
- A person's own rhythm (Rhythm): bundled on one weekday (only the day-before and due-day
  reminders keep their day), and absences, which count as a quiet period of their own.
- An item whose deadline had passed when it arrived (a newly imported plan) is first listed
  once as "Stämmer det här?", and its escalation counts from that mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from typing import Any

from service.calendar import Calendars

OVERDUE, DUE_TODAY, UPCOMING, CHECKIN, ESCALATION, CONFIRM = (
    "overdue",
    "due_today",
    "upcoming",
    "checkin",
    "escalation",
    "confirm",
)
REMINDER_KIND, CHECKIN_KIND, ESCALATION_KIND, DIGEST_KIND = (
    "reminder",
    "checkin",
    "escalation",
    "digest",
)
# Pre-deadline stages this close to the deadline keep their day in a bundled rhythm.
URGENT_DAYS = 1
MonthDay = tuple[int, int]


@dataclass(frozen=True)
class QuietPeriods:
    """Times of year with no reminders: ISO week ranges and month-day ranges (inclusive; a
    day range may run over the new year, as 23 December–6 January does)."""

    weeks: tuple[tuple[int, int], ...] = ()
    days: tuple[tuple[MonthDay, MonthDay], ...] = ()

    @classmethod
    def from_settings(cls, s: Mapping[str, Any]) -> QuietPeriods:
        def month_day(text: str) -> MonthDay:
            month, day = str(text).split("-")
            return int(month), int(day)

        return cls(
            weeks=tuple((int(a), int(b)) for a, b in s.get("weeks", [[28, 31]])),
            days=tuple(
                (month_day(a), month_day(b)) for a, b in s.get("days", [["12-23", "01-06"]])
            ),
        )

    def contains(self, day: date) -> bool:
        week = day.isocalendar().week
        if any(first <= week <= last for first, last in self.weeks):
            return True
        md = (day.month, day.day)
        for first, last in self.days:
            inside = first <= md <= last if first <= last else md >= first or md <= last
            if inside:
                return True
        return False


@dataclass(frozen=True)
class Rhythm:
    """When a person's mail may come. The default is as it comes, every working day."""

    bundle_weekday: int | None = None  # 0 = Monday: everything but urgent reminders waits for it
    absences: tuple[tuple[date, date], ...] = ()  # inclusive; like a quiet period of their own
    stand_ins: tuple[tuple[date, date, int], ...] = ()  # away, but a named person acts meanwhile

    def absent_on(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.absences)

    def stand_in_on(self, day: date) -> int | None:
        return next((who for first, last, who in self.stand_ins if first <= day <= last), None)

    def away_on(self, day: date) -> bool:
        return self.absent_on(day) or self.stand_in_on(day) is not None

    def is_bundle_day(self, day: date, calendars: Calendars) -> bool:
        """The weekday itself, or the next working day in its week when it is closed."""
        if self.bundle_weekday is None:
            return True
        anchor = day - timedelta(days=(day.weekday() - self.bundle_weekday) % 7)
        first = anchor
        while not calendars.is_working_day(first) and first < day:
            first += timedelta(days=1)
        return first == day


DEFAULT_RHYTHM = Rhythm()


@dataclass(frozen=True)
class Policy:
    days_before: tuple[int, ...] = (30, 7, 1)
    on_due_date: bool = True
    overdue_every_days: int = 7
    escalate_after_days: int = 14
    checkin_offset_days: int = 14
    send_time: time = time(7, 30)
    quiet: QuietPeriods = QuietPeriods()

    @classmethod
    def from_settings(cls, s: Mapping[str, Any], quiet: Mapping[str, Any] | None = None) -> Policy:
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
            quiet=QuietPeriods.from_settings(quiet or {}),
        )

    def open_for(
        self, day: date, rhythm: Rhythm, calendars: Calendars, *, urgent: bool = False
    ) -> bool:
        """May this person get mail on `day` (a working day)? Urgent reminders skip the
        bundle weekday, never a quiet period or an absence."""
        if self.quiet.contains(day) or rhythm.absent_on(day):
            return False
        return urgent or rhythm.is_bundle_day(day, calendars)

    def send_day(self, natural: date, rhythm: Rhythm, calendars: Calendars, urgent: bool) -> date:
        """The latest day on or before `natural` that the person may get mail: a reminder
        that would fall on a closed day, in a quiet period or an absence, or off the bundle
        weekday goes out before, never after."""
        day = calendars.previous_working_day(natural)
        for _ in range(370):
            if self.open_for(day, rhythm, calendars, urgent=urgent):
                return day
            day = calendars.previous_working_day(day - timedelta(days=1))
        return day


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
    first_notice: date | None = None  # the day of the first notice about it
    arrived: date | None = None  # the day the occurrence came into the store

    @property
    def arrived_late(self) -> bool:
        """Its deadline had passed when it arrived (a newly imported plan)."""
        return self.due is not None and self.arrived is not None and self.due < self.arrived


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
        # Every kind shares one key per person and day: one mail a day, whatever it holds.
        return f"{REMINDER_KIND}:{self.person_id}:{self.day.isoformat()}"


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
    rhythms: Mapping[int, Rhythm] | None = None,
    digest_people: frozenset[int] = frozenset(),
    only: frozenset[int] | None = None,
) -> list[PlannedMail]:
    """The mails to send on `today` (a working day past the send time; the caller checks).

    `taken` holds outbox keys already used today: their people wait until tomorrow.
    `rhythms` gives people's own rhythm (default: as it comes). `digest_people` get their
    digest today, carrying their own notices at its top. `only`, when given, limits the
    planning to these people (the digest's moment comes before the reminders').
    """
    rhythms = rhythms or {}
    own: dict[int, list[Notice]] = {}
    riders: dict[int, list[Notice]] = {}
    escalations: dict[int, list[Notice]] = {}
    for c in candidates:
        stand_in = rhythms.get(c.person_id, DEFAULT_RHYTHM).stand_in_on(today)
        if stand_in is not None:
            # While the person is away their items go to the stand-in, in the stand-in's mail.
            c = replace(c, person_id=stand_in)
        rhythm = rhythms.get(c.person_id, DEFAULT_RHYTHM)
        triggered = _triggered(c, policy, calendars, today, rhythm)
        if triggered is not None:
            own.setdefault(c.person_id, []).append(triggered)
        elif _may_ride(c, policy, today):
            riders.setdefault(c.person_id, []).append(
                Notice(c.id, f"overdue@{today.isoformat()}", OVERDUE)
            )
        if c.manager_id is None:
            continue
        # A manager away with a stand-in: the copy goes to the stand-in, who acts meanwhile.
        manager = rhythms.get(c.manager_id, DEFAULT_RHYTHM).stand_in_on(today) or c.manager_id
        manager_rhythm = rhythms.get(manager, DEFAULT_RHYTHM)
        if policy.open_for(today, manager_rhythm, calendars):
            escalation = _escalation(c, policy, calendars, today)
            if escalation is not None:
                escalations.setdefault(manager, []).append(escalation)
    mails: list[PlannedMail] = []
    for person_id in sorted(set(own) | set(escalations) | set(digest_people)):
        if only is not None and person_id not in only:
            continue
        mine = own.get(person_id, []) + escalations.get(person_id, [])
        if not mine and person_id not in digest_people:
            continue
        if person_id in digest_people and rhythms.get(person_id, DEFAULT_RHYTHM).away_on(today):
            # An absent head's digest waits: it is planned again on the following days of its
            # week and goes out on her first day back; a later week's covers the weeks missed
            # (its period starts at her previous digest). A stand-in meanwhile gets what needs
            # acting on, the escalations.
            continue
        # Overdue items ride along in a mail that goes out anyway.
        notices = mine + riders.get(person_id, [])
        if person_id in digest_people:
            kind = DIGEST_KIND
        elif all(n.section == ESCALATION for n in notices):
            kind = ESCALATION_KIND
        elif all(n.section == CHECKIN for n in notices):
            kind = CHECKIN_KIND
        else:
            kind = REMINDER_KIND
        mail = PlannedMail(kind, person_id, today, tuple(notices))
        if mail.key not in taken:
            mails.append(mail)
    return mails


def _triggered(
    c: Candidate, policy: Policy, calendars: Calendars, today: date, rhythm: Rhythm
) -> Notice | None:
    if c.due is None:
        if not policy.open_for(today, rhythm, calendars):
            return None
        return _checkin(c, policy, calendars, today)
    due = c.due
    if today <= due:
        # Only the latest pre-deadline stage whose send day has come: catch-up never sends a
        # stale "om 30 dagar" after "om 7 dagar" is due.
        offsets = [*policy.days_before, *([0] if policy.on_due_date else [])]
        reached = [
            n
            for n in offsets
            if policy.send_day(due - timedelta(days=n), rhythm, calendars, n <= URGENT_DAYS)
            <= today
        ]
        if not reached:
            return None
        if not policy.open_for(today, rhythm, calendars, urgent=min(reached) <= URGENT_DAYS):
            return None
        stage = f"before-{min(reached)}@{due.isoformat()}"
        if stage in c.stages or any(_later_stage(s, min(reached), due) for s in c.stages):
            return None
        return Notice(c.id, stage, section_for(due, today))
    if not policy.open_for(today, rhythm, calendars):
        return None
    if c.arrived_late and c.last_notice is None:
        # Passed before Bevakning knew of it: asked about once, not scolded as late.
        return Notice(c.id, f"confirm@{due.isoformat()}", CONFIRM)
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
    start = c.due
    if c.arrived_late:
        # Counted from the first mail that asked about it, not from a deadline long gone.
        if c.first_notice is None:
            return None
        start = c.first_notice
    day = calendars.previous_working_day(start + timedelta(days=policy.escalate_after_days))
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
