"""The one short mail back to a reply: what changed (with a link to each item), or how to
write a reply that Bevakning understands. Planned through the outbox like every mail; at most
one per thread and day, so two machines answering each other cannot loop."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.app import App
from service.mail.render import RenderedMail, render
from service.models import OutboxMessage, Person
from service.outbox import Addressed, store_planned
from service.reminders import PlannedMail
from service.web.urls import undo_url

ANSWER_KIND = "answer"

# What the answer is about.
APPLIED, NOT_UNDERSTOOD, WHICH = "applied", "not_understood", "which"


def reply_address(app: App) -> str:
    """The mailbox replies go to; "" when replies are not read."""
    return str(app.config.get("mail.inbox", "address", "") or "").strip()


@dataclass(frozen=True)
class AnswerLine:
    number: int  # the number the reminder showed
    item_number: str  # "1.2"
    title: str
    plan_title: str
    what: str  # done | postponed | not_applicable | already_done | already_closed | not_yours
    to: date | None = None  # postponed to
    note: str = ""
    undo_url: str = ""  # takes this change back (service.inbox.undo)


@dataclass(frozen=True)
class AnswerContext:
    person_name: str
    today: date
    about: str  # APPLIED | NOT_UNDERSTOOD | WHICH
    lines: tuple[AnswerLine, ...]
    problems: tuple[str, ...]  # the reply's lines that could not be read, as written
    items: tuple[AnswerLine, ...]  # the mail's items with their numbers (for WHICH and help)
    public_url: str

    @property
    def changed(self) -> tuple[AnswerLine, ...]:
        return tuple(line for line in self.lines if line.what in _CHANGES)

    @property
    def unchanged(self) -> tuple[AnswerLine, ...]:
        return tuple(line for line in self.lines if line.what not in _CHANGES)


_CHANGES = frozenset({"done", "postponed", "not_applicable"})


def plan_answer(
    app: App,
    session: Session,
    thread: OutboxMessage,
    to: str,
    *,
    about: str,
    in_reply_to: str,
    references: tuple[str, ...],
    subject: str,
    lines: list[dict[str, Any]],
    problems: tuple[str, ...] = (),
    items: list[dict[str, Any]] | None = None,
    now: datetime,
) -> int | None:
    """Plan the answer in the outbox; None when this thread already got one today."""
    today = app.local_date(now)
    domain = str(app.config.get("mail", "message_id_domain", "bevakning.local"))
    key = f"{ANSWER_KIND}:{thread.id}:{today.isoformat()}"
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return None  # (and should two instances race here, the outbox's unique key decides)
    payload = {
        "thread": thread.id,
        "about": about,
        "in_reply_to": in_reply_to,
        "references": list(references)[:20],
        "subject": subject,
        "lines": lines,
        "problems": list(problems),
        "items": items or [],
    }
    planned = Addressed(
        PlannedMail(ANSWER_KIND, thread.person_id, today), [to], key=key, payload=payload
    )
    ids = store_planned(session, [planned], now=now, domain=domain)
    return ids[0] if ids else None


def answer_mail(
    app: App, row: OutboxMessage, recipient: Person, now: datetime
) -> tuple[RenderedMail, tuple[tuple[str, str], ...]]:
    """The answer's rendered mail and the headers that put it in the reply's thread."""
    payload = row.payload

    def line(data: dict[str, Any]) -> AnswerLine:
        occurrence = data.get("occurrence_id")
        to = data.get("to")
        audit_id = data.get("audit_id")
        undo = (
            undo_url(app, int(audit_id), int(occurrence), recipient.id, now)
            if audit_id and occurrence
            else ""
        )
        return AnswerLine(
            number=int(data.get("number", 0)),
            item_number=str(data.get("item_number", "")),
            title=str(data.get("title", "")),
            plan_title=str(data.get("plan_title", "")),
            what=str(data.get("what", "")),
            to=date.fromisoformat(to) if to else None,
            note=str(data.get("note", "")),
            undo_url=undo,
        )

    context = AnswerContext(
        person_name=recipient.name,
        today=app.local_date(now),
        about=str(payload.get("about", APPLIED)),
        lines=tuple(line(x) for x in payload.get("lines", [])),
        problems=tuple(str(p) for p in payload.get("problems", [])),
        items=tuple(line(x) for x in payload.get("items", [])),
        public_url=app.public_url,
    )
    rendered = render("answer", context)
    subject = str(payload.get("subject", ""))
    if subject:
        rendered = RenderedMail(f"SV: {strip_reply_prefix(subject)}", rendered.text, rendered.html)
    in_reply_to = str(payload.get("in_reply_to", ""))
    references = [str(r) for r in payload.get("references", [])]
    headers: tuple[tuple[str, str], ...] = ()
    if in_reply_to:
        chain = [*reversed(references), in_reply_to]
        headers = (
            ("In-Reply-To", f"<{in_reply_to}>"),
            ("References", " ".join(f"<{r}>" for r in dict.fromkeys(chain))),
        )
    return rendered, headers


_PREFIX = re.compile(r"^\s*((re|sv|aw|vs|fw|fwd|vb|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def strip_reply_prefix(subject: str) -> str:
    """ "SV: Re: Bevakning: …" → "Bevakning: …" """
    return _PREFIX.sub("", subject).strip()
