"""One incoming mail, handled exactly once: claimed by its Message-ID, matched to the mail of
ours it answers, its commands recorded as the clicks they stand for, one answer planned.

Everything for one mail happens in one transaction with its claim, so two instances reading
the same mailbox cannot both apply it, and a crash before the commit leaves it for the next
run. The mailbox is tidied (moved or flagged) only after that commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import completion, preferences
from service.app import App
from service.db import transaction
from service.inbox.answers import ANSWER_KIND, APPLIED, NOT_UNDERSTOOD, WHICH, plan_answer
from service.inbox.commands import Action, Command, parse
from service.inbox.numbering import reply_numbers
from service.inbox.reading import Received, read
from service.models import (
    Area,
    AuditEntry,
    InboxMessage,
    Item,
    Occurrence,
    OutboxMessage,
    Person,
    Plan,
)
from service.occurrences import DONE, OPEN
from service.outbox import FAILED, SENT

log = logging.getLogger(__name__)

VIA = "svar på mejl"  # how a change made by a reply is recorded (done_via, audit)

# What became of a mail (InboxMessage.outcome).
APPLIED_OUTCOME = "applied"
ASKED = "asked"  # the answer asks which item, or says how to write a reply
AUTOMATIC = "automatic"  # an autoreply, out-of-office, list mail: never answered
BOUNCE = "bounce"  # a delivery report about one of our mails
REFUSED = "refused"  # not from the address our mail went to, or failed authentication
UNMATCHED = "unmatched"  # not an answer to any mail of ours


@dataclass
class Handled:
    message_id: str
    outcome: str
    sender: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    answer_outbox_id: int | None = None
    detail: str = ""
    thread_id: int | None = None  # the mail of ours it answered (or reported as bounced)

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "outcome": self.outcome,
            "sender": self.sender,
            "changes": self.changes,
            "answer_outbox_id": self.answer_outbox_id,
            "detail": self.detail,
        }


def handle(app: App, raw: bytes, now: datetime, *, worker: str = "") -> Handled | None:
    """Handle one mail; None when it was handled before (or is being handled elsewhere)."""
    received = read(raw)
    with transaction(app.sessions) as session:
        claim = InboxMessage(
            message_id=received.message_id[:300],
            received_at=now,
            sender=received.sender[:320],
            subject=received.subject,
            outcome="claimed",
            detail={},
            processed_by=worker[:100],
        )
        try:
            with session.begin_nested():
                session.add(claim)
                session.flush()
        except IntegrityError:
            log.info("mail %s was handled already", received.message_id)
            return None
        handled = _handle(app, session, received, now)
        claim.outcome = handled.outcome
        claim.detail = {"changes": handled.changes, "detail": handled.detail}
        claim.outbox_id = handled.thread_id
        session.flush()
    log.info("mail %s from %s: %s", handled.message_id, handled.sender, handled.outcome)
    return handled


def _handle(app: App, session: Session, received: Received, now: datetime) -> Handled:
    handled = Handled(received.message_id, "", received.sender)
    if received.bounce is not None:
        return _bounce(session, received, handled)
    if received.automatic:
        handled.outcome, handled.detail = AUTOMATIC, received.automatic
        return handled
    thread = _thread(session, received.answers)
    if thread is None:
        handled.outcome = UNMATCHED
        return handled
    handled.thread_id = thread.id
    if received.sender not in {a.lower() for a in thread.to_addrs}:
        # Someone else answering (or forging) a reminder: nothing changes and nobody is told,
        # so the inbox cannot be used to send mail to others.
        handled.outcome, handled.detail = REFUSED, "sender is not the reminder's recipient"
        return handled
    if received.authentication is False:
        handled.outcome, handled.detail = REFUSED, "Authentication-Results did not pass"
        return handled
    person = session.get(Person, thread.person_id) if thread.person_id else None
    if person is None:
        handled.outcome, handled.detail = UNMATCHED, "the mail answered has no person"
        return handled
    today = app.local_date(now)
    numbers = reply_numbers(thread.payload)
    items = _items(session, numbers)
    parsed = parse(received.text, today)

    def answer(about: str, lines: list[dict[str, Any]], problems: tuple[str, ...] = ()) -> None:
        handled.answer_outbox_id = plan_answer(
            app,
            session,
            thread,
            received.sender,
            about=about,
            in_reply_to=received.message_id if "@" in received.message_id else "",
            references=received.answers,
            subject=received.subject,
            lines=lines,
            problems=problems,
            items=[items[n] for n in sorted(items)] if about != APPLIED else [],
            now=now,
        )

    problems = [f"”{line}”" for line in parsed.problems]
    for command in parsed.commands:
        problems += _rule_problems(command, today)
    if not parsed.understood or problems:
        handled.outcome = ASKED
        handled.detail = "not understood: " + " | ".join(problems or [received.text[:200]])
        answer(NOT_UNDERSTOOD, [], tuple(problems))
        return handled
    targets: list[tuple[Command, int]] = []
    for command in parsed.commands:
        if command.every:
            wanted = sorted(numbers)
        elif command.numbers:
            wanted = list(command.numbers)
        elif len(numbers) == 1:
            wanted = list(numbers)
        else:
            handled.outcome, handled.detail = ASKED, f"which item: {command.line}"
            answer(WHICH, [])
            return handled
        unknown = [n for n in wanted if n not in numbers]
        if unknown:
            handled.outcome, handled.detail = ASKED, f"no item numbered {unknown}"
            missing = ", ".join(str(n) for n in unknown)
            answer(NOT_UNDERSTOOD, [], (f"”{command.line}”: mejlet hade inget nummer {missing}.",))
            return handled
        targets += [(command, n) for n in wanted]
    lines: list[dict[str, Any]] = []
    needs_sync = False
    for command, number in targets:
        item = items.get(number, {"number": number, "occurrence_id": numbers[number]})
        line, synced = _apply(session, command, numbers[number], item, person, now, today)
        lines.append(line)
        needs_sync = needs_sync or synced
    if needs_sync:
        app.sync(session, now)  # "på nästkommande APT" children are due now
    handled.outcome, handled.changes = APPLIED_OUTCOME, lines
    answer(APPLIED, lines)
    return handled


def _rule_problems(command: Command, today: date) -> list[str]:
    """What the item page would refuse in the same change (a date too far ahead, a missing
    reason, a text too long), as lines for the answer; the page's own rules and words."""
    from service.web.items import validate

    if command.action is Action.DONE:
        action, fields = "done", {"done_on": today.isoformat(), "result": command.note}
    elif command.action is Action.POSTPONE:
        assert command.to is not None
        action = "postpone"
        fields = {"postpone_to": command.to.isoformat(), "postpone_reason": command.note}
    else:
        action, fields = "not_applicable", {"na_reason": command.note}
    errors = validate(action, fields, today=today, plan_start=date.min).errors
    if action == "postpone" and not command.note:
        # "skjut upp 2 till 15 januari" is enough in a reply; the reason is welcome, not asked.
        errors.pop("postpone_reason", None)
    return [f"”{command.line}”: {error}" for error in errors.values()]


def _thread(session: Session, answers: tuple[str, ...]) -> OutboxMessage | None:
    """The reminder a reply answers: the first of its In-Reply-To/References that is ours (an
    answer of ours stands for the reminder it answered)."""
    if not answers:
        return None
    rows = {
        row.message_id: row
        for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id.in_(list(answers)))
        )
    }
    for message_id in answers:
        row = rows.get(message_id)
        if row is None:
            continue
        if row.kind == ANSWER_KIND:
            return session.get(OutboxMessage, int(row.payload.get("thread", 0)))
        if row.kind in ("reminder", "checkin"):
            return row
        return None  # a digest or an escalation: nothing to answer with
    return None


def _items(session: Session, numbers: dict[int, int]) -> dict[int, dict[str, Any]]:
    by_occurrence = {occ: n for n, occ in numbers.items()}
    rows = session.execute(
        select(Occurrence.id, Item.number, Item.title, Plan.title)
        .join(Item, Occurrence.item_id == Item.id)
        .join(Area, Item.area_id == Area.id)
        .join(Plan, Item.plan_id == Plan.id)
        .where(Occurrence.id.in_(list(by_occurrence)))
    ).all()
    return {
        by_occurrence[occ_id]: {
            "number": by_occurrence[occ_id],
            "occurrence_id": occ_id,
            "item_number": item_number,
            "title": title,
            "plan_title": plan_title,
        }
        for occ_id, item_number, title, plan_title in rows
    }


def _apply(
    session: Session,
    command: Command,
    occurrence_id: int,
    item: dict[str, Any],
    person: Person,
    now: datetime,
    today: date,
) -> tuple[dict[str, Any], bool]:
    """Record one command on one item as the click it stands for; the answer's line."""
    line = dict(item)
    occurrence = session.get(Occurrence, occurrence_id)
    if occurrence is None:
        line["what"] = "not_yours"
        return line, False
    # A stand-in answers for an absent colleague while the absence lasts.
    owner = completion.stand_in_for(occurrence, person.id)
    if owner and not preferences.stand_in_covers(session, occurrence.person_id, person.id, today):
        line["what"] = "not_yours"  # reassigned since the reminder went out, or the absence ended
        return line, False
    if occurrence.status != OPEN:
        line["what"] = "already_done" if occurrence.status == DONE else "already_closed"
        return line, False
    if command.action is Action.DONE:
        outcome = completion.mark_done(
            session,
            occurrence_id,
            by=person,
            on=today,
            via=VIA,
            now=now,
            result_note=command.note,
            stand_in_for=owner,
        )
        line.update(what="done", note=command.note)
        synced = outcome.needs_sync
    elif command.action is Action.POSTPONE:
        assert command.to is not None
        outcome = completion.postpone(
            session,
            occurrence_id,
            by=person,
            to=command.to,
            reason=command.note,
            now=now,
            stand_in_for=owner,
        )
        line.update(what="postponed", to=command.to.isoformat(), note=command.note)
        synced = False
    else:
        outcome = completion.mark_not_applicable(
            session, occurrence_id, by=person, reason=command.note, now=now, stand_in_for=owner
        )
        line.update(what="not_applicable", note=command.note)
        synced = False
    if not outcome.changed:
        line["what"] = "already_done" if outcome.occurrence.status == DONE else "already_closed"
    else:
        line["audit_id"] = session.scalar(
            select(func.max(AuditEntry.id)).where(AuditEntry.occurrence_id == occurrence_id)
        )
    return line, synced


def _bounce(session: Session, received: Received, handled: Handled) -> Handled:
    """A delivery report: the outbox row it is about is marked failed with the server's reason
    (the digest lists failed deliveries). Never answered."""
    bounce = received.bounce
    assert bounce is not None
    handled.outcome, handled.detail = BOUNCE, bounce.reason
    candidates = [bounce.message_id, *received.answers] if bounce.message_id else received.answers
    row = session.scalar(
        select(OutboxMessage).where(OutboxMessage.message_id.in_([c for c in candidates if c]))
    )
    if row is None:
        return handled
    handled.thread_id = row.id
    if bounce.permanent:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == SENT)
            .values(status=FAILED, last_error=f"studsade: {bounce.reason}"[:2000])
        )
    return handled
