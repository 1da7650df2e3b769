"""The store: plans, the directory, calendars, occurrences, the outbox and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UTCDateTime


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    background: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    # Recurring and continuous windows are followed from this day on; earlier ones are history.
    follow_from: Mapped[date] = mapped_column(Date)
    source_file: Mapped[str] = mapped_column(Text, default="")
    source_hash: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who follows up items naming only external parties (a role as written); "" = the head.
    coordinator: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The administration (directory code) the plan belongs to; "" = the whole municipality, or
    # the one administration of a directory that declares none.
    administration: Mapped[str] = mapped_column(String(40), default="", server_default="")

    areas: Mapped[list[Area]] = relationship(
        back_populates="plan", order_by="Area.position", cascade="all, delete-orphan"
    )
    items: Mapped[list[Item]] = relationship(back_populates="plan", order_by="Item.position")


class Area(Base):
    """An "Område" row of the plan table."""

    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[Plan] = relationship(back_populates="areas")
    items: Mapped[list[Item]] = relationship(back_populates="area", order_by="Item.position")


class Item(Base):
    """An activity ("1") or sub-step ("1.1") with its responsible roles and deadline."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("area_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    number: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    responsible: Mapped[list[str]] = mapped_column(JSON)
    deadline_phrase: Mapped[str] = mapped_column(Text)
    cadence_phrase: Mapped[str] = mapped_column(Text, default="")
    deadline_kind: Mapped[str] = mapped_column(String(20))
    deadline_json: Mapped[str] = mapped_column(Text)
    checked: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # False once a re-import no longer has the item; its records stay.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The plan's own columns beyond ours (Samverkanspartner, Status, …): heading -> text.
    extra: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True, default=dict)

    plan: Mapped[Plan] = relationship(back_populates="items")
    area: Mapped[Area] = relationship(back_populates="items")


class Division(Base):
    """A verksamhetsområde (ÄO, LSS, HSV, IFO myndighet, IFO verkställighet)."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Unit(Base):
    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    address: Mapped[str] = mapped_column(String(320), default="")


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40), index=True)  # canonical role key
    role_title: Mapped[str] = mapped_column(String(100), default="")  # as written
    division_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    reports_to_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Term(Base):
    __tablename__ = "terms"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)  # "HT 2024"
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)


class Meeting(Base):
    """A committee meeting ("nämnd") or a unit's APT."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("calendar", "unit_code", "on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str] = mapped_column(String(80), default="")  # "" for the committee
    on: Mapped[date] = mapped_column(Date)


class AdministrationCalendar(Base):
    """An administration with its own section in the calendars file: its committee's name.
    Its terms and meeting series, where it declares them, replace the default ones."""

    __tablename__ = "administration_calendars"

    administration: Mapped[str] = mapped_column(String(40), primary_key=True)
    committee: Mapped[str] = mapped_column(String(200), default="")


class AdministrationTerm(Base):
    __tablename__ = "administration_terms"

    administration: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(20), primary_key=True)  # "HT 2024"
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)


class AdministrationMeeting(Base):
    """A meeting of an administration's own series ("nämnd": its committee)."""

    __tablename__ = "administration_meetings"
    __table_args__ = (UniqueConstraint("administration", "calendar", "on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    administration: Mapped[str] = mapped_column(String(40))
    calendar: Mapped[str] = mapped_column(String(20))
    on: Mapped[date] = mapped_column(Date)


class Occurrence(Base):
    """One item × one responsible person × one window: the thing that is done or not."""

    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("item_id", "person_id", "window_key"),
        Index("ix_occurrences_status_due", "status", "due"),
        Index("ix_occurrences_status_postponed", "status", "postponed_to"),
        # A head's digest: the open, done or deferred occurrences of their administration's
        # items. Without it SQLite (which keeps no statistics) walked every open occurrence
        # of the store through the status index, for every head; done_on lets "done last
        # week" read that week's rows, not every done row of the items.
        Index("ix_occurrences_item_status_done", "item_id", "status", "done_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    window_key: Mapped[str] = mapped_column(String(60))
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    due: Mapped[date | None] = mapped_column(Date)
    is_apt: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|done|not_applicable
    # Bumped when the occurrence is reassigned, so old links stop working.
    version: Mapped[int] = mapped_column(Integer, default=1)
    postponed_to: Mapped[date | None] = mapped_column(Date)
    deferral_reason: Mapped[str] = mapped_column(Text, default="")
    deferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deferred_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    done_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    done_via: Mapped[str] = mapped_column(String(20), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    result_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    item: Mapped[Item] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    done_by: Mapped[Person | None] = relationship(foreign_keys=[done_by_id])

    @property
    def effective_due(self) -> date | None:
        return self.postponed_to or self.due


class Notice(Base):
    """A reminder stage already planned for an occurrence, so it is never planned twice."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("occurrence_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    planned_on: Mapped[date] = mapped_column(Date)


class OutboxMessage(Base):
    """The durable intent to send one mail; unique per recipient × local day × kind."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    to_addrs: Mapped[list[str]] = mapped_column(JSON)
    cc_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    local_date: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text, default="")
    # pending -> sending (leased) -> sent | failed; pending again after a temporary error.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class State(Base):
    """Small facts the service keeps between runs (time of the last tick, …)."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Preference(Base):
    """A person's own rhythm ("Mina inställningar"); no row means as it comes, every day."""

    __tablename__ = "preferences"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    bundle_weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Absence(Base):
    """A person away from–to (inclusive): their mail waits, or goes to a stand-in."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    stand_in_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Indicator(Base):
    """A measure of whether a plan or one of its areas makes a difference ("Tillitsindex")."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("plan_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # None: the whole plan
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=True)
    target: Mapped[float | None] = mapped_column(Float)


class IndicatorValue(Base):
    """One measurement; never deleted by an import, one per indicator and day."""

    __tablename__ = "indicator_values"
    __table_args__ = (UniqueConstraint("indicator_id", "measured_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    measured_on: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(320), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboxMessage(Base):
    """A mail read from the inbox, claimed by its Message-ID so it is handled exactly once.

    The row is written in the same transaction as the changes the mail asked for; a reader
    whose INSERT clashes on the unique Message-ID leaves the mail to whoever has it.
    """

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    # What it was: applied, not_understood, ignored_auto, refused, unmatched, bounce, …
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The mail of ours it answered (or, for a bounce, the one that bounced).
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    processed_by: Mapped[str] = mapped_column(String(100), default="")
