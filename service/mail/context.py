"""What a mail says, as plain data: the planner and digest fill these, the renderer reads them.

Everything a template needs is here already computed (days late, URLs), so templates only
format and never query. Text from plan files is untrusted: templates escape it (HTML) and
keep it on one line, and the subject is stripped of CR/LF by the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

DeferredKind = Literal["postponed", "not_applicable"]


@dataclass(frozen=True)
class MailItem:
    occurrence_id: int
    plan_title: str
    area_title: str
    number: str  # "1", "1.1"
    title: str  # activity text from the plan (untrusted: may hold HTML or CR/LF)
    deadline_phrase: str  # as written in the plan: "December 2024", "Fortlöpande"
    due: date | None
    done_url: str  # the person's own mark-done link; "" when there is none
    person_name: str = ""  # whose item (escalation and digest)
    item_url: str = ""  # the item's page (digest)
    days_late: int = 0
    is_apt: bool = False  # a "Medarbetare" item: the enhetschef raises it at the unit's APT
    reply_number: int = 0  # the number to answer with ("klar 2"); 0 when replies are not read
    person_id: int = 0  # whose item: a mail to someone else (a stand-in) signs its own link
    version: int = 1  # the occurrence's version, which a link names
    stand_in_for: str = ""  # the absent owner's name, in their stand-in's mail

    def __post_init__(self) -> None:
        if self.days_late < 0:
            raise ValueError(f"days_late must be 0 or more, got {self.days_late}")


@dataclass(frozen=True)
class ReminderContext:
    person_name: str
    today: date
    overdue: tuple[MailItem, ...]
    due_today: tuple[MailItem, ...]
    upcoming: tuple[MailItem, ...]
    checkins: tuple[MailItem, ...]  # continuous items: "Hur går det?"; the done link = checked in
    public_url: str
    calendar_url: str = ""  # personal iCalendar feed, optional
    reply_by_mail: bool = False  # replies are read ([mail.inbox]): say how to write one
    # Passed before Bevakning knew of them (a newly imported plan): "Stämmer det här?"
    confirm: tuple[MailItem, ...] = ()
    # The manager's copy about their people's late items (each with person_name, days_late).
    escalations: tuple[MailItem, ...] = ()
    escalate_after_days: int = 14
    settings_url: str = ""  # "Mina inställningar"
    activities_url: str = ""  # "Mina aktiviteter": all the person's open items on one page

    @property
    def item_count(self) -> int:
        return (
            len(self.overdue)
            + len(self.due_today)
            + len(self.upcoming)
            + len(self.checkins)
            + len(self.confirm)
            + len(self.escalations)
        )


@dataclass(frozen=True)
class EscalationContext:
    manager_name: str
    today: date
    items: tuple[MailItem, ...]  # each with person_name and days_late
    escalate_after_days: int
    public_url: str
    settings_url: str = ""  # "Mina inställningar"
    activities_url: str = ""  # the manager's own "Mina aktiviteter"


@dataclass(frozen=True)
class ProgressRow:
    """One item's fan-out, e.g. "3 av 12 enhetschefer klara"; role is the singular title."""

    plan_title: str
    area_title: str
    number: str
    title: str
    role: str
    done: int
    total: int

    def __post_init__(self) -> None:
        if not 0 <= self.done <= self.total:
            raise ValueError(f"done must be between 0 and total ({self.total}), got {self.done}")

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass(frozen=True)
class ContinuousRow:
    plan_title: str
    number: str
    title: str
    person_name: str
    last_checkin: date | None
    item_url: str = ""


@dataclass(frozen=True)
class DoneRow:
    item: MailItem
    done_on: date
    done_by: str
    comment: str = ""
    result_note: str = ""  # the answer to "Vad blev resultatet?"


@dataclass(frozen=True)
class DeferredRow:
    item: MailItem
    kind: DeferredKind
    proposed_date: date | None
    reason: str
    by: str

    def __post_init__(self) -> None:
        if self.kind not in ("postponed", "not_applicable"):
            raise ValueError(f"kind must be 'postponed' or 'not_applicable', got {self.kind!r}")


@dataclass(frozen=True)
class FailedDelivery:
    to: str
    subject: str
    error: str
    failed_at: datetime  # UTC


@dataclass(frozen=True)
class DigestContext:
    recipient_name: str
    today: date
    week_start: date  # the past week
    week_end: date
    overdue: tuple[MailItem, ...]  # with person_name, days_late
    due_soon: tuple[MailItem, ...]  # due within due_soon_days
    due_soon_days: int
    done_last_week: tuple[DoneRow, ...]
    deferred: tuple[DeferredRow, ...]
    continuous: tuple[ContinuousRow, ...]
    progress: tuple[ProgressRow, ...]
    failed: tuple[FailedDelivery, ...]
    dashboard_url: str
    public_url: str
    own: ReminderContext | None = None  # the recipient's own items of the day, at the top
    settings_url: str = ""  # "Mina inställningar"; none for an address outside the directory
    activities_url: str = ""  # the recipient's own "Mina aktiviteter"
    plan_lines: tuple[str, ...] = ()  # per plan: its figures and the trend since last week
    # The kommundirektör's: per administration, its figures and the trend since last week.
    administration_lines: tuple[str, ...] = ()
    # The period since the previous digest the person got ("förra veckan", or longer after a
    # calm week was left out): what week_start–week_end is called in the text.
    since: str = "förra veckan"
