"""From an outbox row to a finished mail: load what it is about, fill a context, render."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import roles
from service.app import App
from service.directory import stored_roles
from service.inbox.answers import ANSWER_KIND, answer_mail, reply_address
from service.inbox.numbering import reply_numbers
from service.mail.context import EscalationContext, MailItem, ReminderContext
from service.mail.message import Address, OutgoingMail
from service.mail.render import RenderedMail, render
from service.models import Area, Item, Occurrence, OutboxMessage, Person, Plan
from service.occurrences import OPEN
from service.reminders import (
    CHECKIN,
    CONFIRM,
    DUE_TODAY,
    ESCALATION,
    OVERDUE,
    UPCOMING,
    section_for,
)
from service.roles import RoleVocabulary
from service.web.urls import (
    activities_url,
    calendar_url,
    dashboard_url,
    done_url,
    settings_url,
)

if TYPE_CHECKING:  # service.digest imports this module
    from service.digest import DigestBatch

log = logging.getLogger(__name__)


def mail_items(
    app: App,
    session: Session,
    occurrence_ids: Sequence[int],
    *,
    today: date,
    now: datetime,
    with_links: bool = True,
    only_open: bool = True,
) -> dict[int, MailItem]:
    """MailItems for the given occurrences, each with its owner's own mark-done link."""
    if not occurrence_ids:
        return {}
    rows = session.execute(
        select(Occurrence, Item, Area, Plan, Person)
        .join(Item, Occurrence.item_id == Item.id)
        .join(Area, Item.area_id == Area.id)
        .join(Plan, Item.plan_id == Plan.id)
        .join(Person, Occurrence.person_id == Person.id)
        .where(Occurrence.id.in_(list(occurrence_ids)))
    ).all()
    out = {}
    for occ, item, area, plan, person in rows:
        # Open means still wanted: an item a re-import retired is not reminded any more.
        if only_open and (occ.status != OPEN or not item.active):
            continue
        due = occ.effective_due
        out[occ.id] = MailItem(
            occurrence_id=occ.id,
            plan_title=plan.title,
            area_title=area.title,
            number=item.number,
            title=item.title,
            deadline_phrase=item.deadline_phrase,
            due=due,
            done_url=done_url(app, occ.id, person.id, occ.version, now) if with_links else "",
            person_name=person.name,
            days_late=max(0, (today - due).days) if due else 0,
            is_apt=occ.is_apt,
            person_id=person.id,
            version=occ.version,
        )
    return out


class ComposedBatch(Mapping[int, OutgoingMail | Exception | None]):
    """The mails for a batch of outbox rows, their data loaded in a few queries (not a few per
    mail).

    Per row: the mail, None when nothing in it is still open (the row is then skipped), or the
    exception that stopped it, so one bad row cannot stop the others. Reminders and escalations
    are rendered on first access, from data loaded up front and without the database: the
    dispatcher renders the next mail while the mail server is still busy with the one before.
    Digests query the store, so they are rendered here, while the session is open.
    """

    def __init__(
        self, app: App, session: Session, rows: Sequence[OutboxMessage], now: datetime
    ) -> None:
        self.app, self.now = app, now
        self.rows = {row.id: row for row in rows}
        self.people = {
            p.id: p
            for p in session.scalars(
                select(Person).where(Person.id.in_({r.person_id for r in rows if r.person_id}))
            )
        }
        # A mail speaks of the day it is sent, not the day it was planned: after an outage or
        # a retry, "i dag" and "dagar sent" must be true when it arrives.
        today = app.local_date(now)
        wanted: dict[bool, list[int]] = {}
        for row in rows:
            for section, ids in row.payload.get("sections", {}).items():
                wanted.setdefault(section != ESCALATION, []).extend(ids)
        # Escalations go to the manager: the links in them are not theirs to click.
        self.loaded = {
            with_links: mail_items(app, session, ids, today=today, now=now, with_links=with_links)
            for with_links, ids in wanted.items()
        }
        self.done: dict[int, OutgoingMail | Exception | None] = {}
        # The roles, read once for the batch: every mail's "Se alla handlingsplaner" link
        # follows the recipient's role.
        self.vocabulary = stored_roles(session)
        digests = [row for row in rows if row.kind == "digest"]
        # The batch's digests read the store together (a national store sends 1,740 of them).
        self.digests: DigestBatch | None = None
        if digests:
            from service.digest import DigestBatch

            recipients = [self.people.get(r.person_id) if r.person_id else None for r in digests]
            try:
                self.digests = DigestBatch(app, session, recipients, now=now, today=today)
            except Exception:
                # Each digest then reads its own, so that one bad row cannot stop the others.
                log.exception("could not read the batch's digests together")
        for row in digests:
            self._compose(row, session)

    def __getitem__(self, row_id: int) -> OutgoingMail | Exception | None:
        if row_id not in self.done:
            self._compose(self.rows[row_id], None)
        return self.done[row_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def _compose(self, row: OutboxMessage, session: Session | None) -> None:
        try:
            self.done[row.id] = _compose(
                self.app,
                session,
                row,
                self.people.get(row.person_id) if row.person_id else None,
                Loaded(self.loaded, self.vocabulary, self.digests),
                self.now,
            )
        except Exception as exc:
            log.exception("could not compose outbox row %s", row.key)
            self.done[row.id] = exc


@dataclass(frozen=True)
class Loaded:
    """What a batch read up front for its mails."""

    items: Mapping[bool, dict[int, MailItem]]  # with links or not: the items by occurrence id
    vocabulary: RoleVocabulary
    digests: DigestBatch | None  # None: each digest reads its own


def compose(app: App, session: Session, row: OutboxMessage, now: datetime) -> OutgoingMail | None:
    """The mail for one row (see ComposedBatch)."""
    result = ComposedBatch(app, session, [row], now)[row.id]
    if isinstance(result, Exception):
        raise result
    return result


def _compose(
    app: App,
    session: Session | None,
    row: OutboxMessage,
    recipient: Person | None,
    loaded: Loaded,
    now: datetime,
) -> OutgoingMail | None:
    if row.kind == ANSWER_KIND:
        if recipient is None:
            return None
        rendered, threading = answer_mail(app, row, recipient, now)
        return _mail(app, row, rendered, now, recipient, threading)
    today = app.local_date(now)
    own = _own_items(app, row, recipient, loaded, today, now) if recipient else None
    if row.kind == "digest":
        from service.digest import DigestBatch

        assert session is not None, "a digest is composed while its batch's session is open"
        digests = loaded.digests or DigestBatch(app, session, [recipient], now=now, today=today)
        context = replace(
            digests.context(recipient),
            own=own if own and own.item_count else None,
            settings_url=own.settings_url if own else "",
        )
        return _mail(app, row, render("digest", context), now, recipient)
    if recipient is None or own is None or not own.item_count:
        return None
    if own.item_count == len(own.escalations):
        escalation = EscalationContext(
            manager_name=recipient.name,
            today=today,
            items=own.escalations,
            escalate_after_days=own.escalate_after_days,
            public_url=own.public_url,
            settings_url=own.settings_url,
            activities_url=own.activities_url,
        )
        return _mail(app, row, render("escalation", escalation), now, recipient)
    reply_to = reply_address(app)
    headers = (("Reply-To", reply_to),) if reply_to else ()
    return _mail(app, row, render("reminder", own), now, recipient, headers)


def _own_items(
    app: App,
    row: OutboxMessage,
    recipient: Person,
    loaded: Loaded,
    today: date,
    now: datetime,
) -> ReminderContext:
    """What the row says to its recipient about their own items (and, as a manager, about
    their people's escalated ones)."""
    # Sections are decided again at send time: a mail retried days later shows each item
    # under the heading that is true when it arrives.
    grouped: dict[str, list[MailItem]] = {
        s: [] for s in (CONFIRM, OVERDUE, DUE_TODAY, UPCOMING, CHECKIN, ESCALATION)
    }
    for section, ids in row.payload.get("sections", {}).items():
        items = loaded.items.get(section != ESCALATION, {})
        for i in ids:
            if i not in items:
                continue
            if section in (CHECKIN, ESCALATION, CONFIRM):
                heading = section
            else:
                heading = section_for(items[i].due, today)
            grouped[heading].append(items[i])

    # A stand-in gets links of their own: what they do is recorded as theirs, for the owner.
    for heading, found in grouped.items():
        if heading != ESCALATION:
            grouped[heading] = [
                _for_stand_in(app, it, recipient, now) if it.person_id != recipient.id else it
                for it in found
            ]

    # With replies read, each own item shows its number to answer with, and the items are
    # listed in that order (see service.inbox.numbering).
    replies = bool(reply_address(app))
    if replies:
        numbered = {occ: n for n, occ in reply_numbers(row.payload).items()}
        for heading, found in grouped.items():
            if heading != ESCALATION:
                grouped[heading] = [
                    replace(it, reply_number=numbered.get(it.occurrence_id, 0)) for it in found
                ]

    def pick(section: str) -> tuple[MailItem, ...]:
        if replies:
            return tuple(sorted(grouped[section], key=lambda i: i.reply_number))
        return tuple(
            sorted(grouped[section], key=lambda i: (i.due or date.max, i.plan_title, i.number))
        )

    return ReminderContext(
        person_name=recipient.name,
        today=today,
        overdue=pick(OVERDUE),
        due_today=pick(DUE_TODAY),
        upcoming=pick(UPCOMING),
        checkins=pick(CHECKIN),
        public_url=_plans_link(app, recipient, now, loaded.vocabulary),
        calendar_url=calendar_url(app, recipient.id, now),
        confirm=pick(CONFIRM),
        escalations=tuple(sorted(grouped[ESCALATION], key=lambda i: (i.person_name, -i.days_late))),
        escalate_after_days=int(app.config.get("schedule", "escalate_after_days", 14)),
        settings_url=settings_url(app, recipient.id, now),
        activities_url=activities_url(app, recipient.id, now),
        reply_by_mail=replies,
    )


def _for_stand_in(app: App, item: MailItem, stand_in: Person, now: datetime) -> MailItem:
    return replace(
        item,
        done_url=done_url(app, item.occurrence_id, stand_in.id, item.version, now)
        if item.done_url
        else "",
        stand_in_for=item.person_name,
    )


def _plans_link(app: App, recipient: Person, now: datetime, vocabulary: RoleVocabulary) -> str:
    """ "Se alla handlingsplaner": managers over an administration or an area (the
    förvaltningschef, the verksamhetschefer) follow the plans on their personal (read-only,
    expiring) dashboard; others get the start page."""
    spec = vocabulary.spec(recipient.role)
    if spec is not None and spec.manager and spec.level in (roles.ADMINISTRATION, roles.AREA):
        return dashboard_url(app, recipient.id, now)
    return app.public_url


def _mail(
    app: App,
    row: OutboxMessage,
    rendered: RenderedMail,
    now: datetime,
    recipient: Person | None,
    headers: tuple[tuple[str, str], ...] = (),
) -> OutgoingMail:
    mail_settings = app.config.section("mail")
    # The recipient's name beside the address, as colleagues' mail shows it.
    names = {recipient.email.lower(): recipient.name} if recipient else {}
    return OutgoingMail(
        message_id=row.message_id,
        sender=Address(str(mail_settings.get("sender")), str(mail_settings.get("sender_name", ""))),
        to=tuple(Address(a, names.get(a.lower(), "")) for a in row.to_addrs),
        cc=tuple(Address(a) for a in row.cc_addrs),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        date=now,
        headers=(("X-Bevakning-Kind", row.kind), *headers),
    )
