"""The outbox: planned mails as durable rows, claimed with a lease, sent, then marked.

A row is written (with its notices) before any transport is called, so a crash leaves a visible
trace and nothing is lost. Claiming is a conditional UPDATE (plus FOR UPDATE SKIP LOCKED on
PostgreSQL), so several processes on one database never send the same row at the same time.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from service.db import UTCDateTime, dialect_insert
from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, TransportError
from service.models import Notice as NoticeRow
from service.models import OutboxMessage
from service.reminders import PlannedMail, sections

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
# The error of a mail that cannot be written at all, as the digest lists it.
UNWRITABLE = "mejlet gick inte att skriva: en adress eller ett namn har tecken som e-post inte bär"


@dataclass(frozen=True)
class RetryPolicy:
    lease: timedelta = timedelta(minutes=5)
    first_retry: timedelta = timedelta(minutes=1)
    max_retry: timedelta = timedelta(hours=6)
    max_attempts: int = 12

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff: 1, 2, 4 … minutes, capped; never a tight loop."""
        return min(self.first_retry * (2 ** max(0, attempts - 1)), self.max_retry)


def message_id_for(key: str, domain: str) -> str:
    """Derived from the row's key, so a resend after a crash carries the same Message-ID."""
    local = re.sub(r"[^A-Za-z0-9.\-]", ".", key.replace(":", "."))
    return f"bevakning.{local}@{domain}"


@dataclass(frozen=True)
class Addressed:
    """A planned mail with its recipients and, for digests, its own key and payload."""

    mail: PlannedMail
    to: Sequence[str]
    cc: Sequence[str] = ()
    key: str | None = None
    payload: dict[str, Any] | None = None

    @property
    def row_key(self) -> str:
        return self.key or self.mail.key


def store_planned(
    session: Session, planned: Sequence[Addressed], *, now: datetime, domain: str
) -> list[int]:
    """Write planned mails and their notices in one batch; returns the new outbox ids.

    A mail another process planned first (its unique key is taken) is left to that process:
    ON CONFLICT DO NOTHING skips it without a savepoint per row, which on PostgreSQL would
    hold one lock per row until commit and exhaust the lock table on a busy morning.
    """
    if not planned:
        return []
    return _insert(session, planned, now, domain)


def _insert(
    session: Session, planned: Sequence[Addressed], now: datetime, domain: str
) -> list[int]:
    rows = [
        {
            "key": p.row_key,
            "kind": p.mail.kind,
            "person_id": p.mail.person_id,
            "to_addrs": list(p.to),
            "cc_addrs": list(p.cc),
            "local_date": p.mail.day,
            # A digest's payload names its week; whatever rides in it is in "sections".
            "payload": {"sections": sections(p.mail.notices), **(p.payload or {})},
            "subject": "",
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": "",
            "message_id": message_id_for(p.row_key, domain),
            "last_error": "",
            "created_at": now,
        }
        for p in planned
    ]
    new_rows = dialect_insert(session, OutboxMessage).on_conflict_do_nothing()
    ids = {
        key: outbox_id
        for outbox_id, key in session.execute(
            new_rows.returning(OutboxMessage.id, OutboxMessage.key), rows
        )
    }
    notices = [
        {
            "occurrence_id": n.occurrence_id,
            "stage": n.stage,
            "outbox_id": ids[p.row_key],
            "planned_on": p.mail.day,
        }
        for p in planned
        if p.row_key in ids
        for n in p.mail.notices
    ]
    if notices:
        session.execute(dialect_insert(session, NoticeRow).on_conflict_do_nothing(), notices)
    if len(ids) < len(planned):
        log.info("%d outbox keys were planned elsewhere", len(planned) - len(ids))
    return [ids[p.row_key] for p in planned if p.row_key in ids]


def keys_for_day(session: Session, day: date) -> frozenset[str]:
    return frozenset(
        session.scalars(select(OutboxMessage.key).where(OutboxMessage.local_date == day))
    )


@dataclass(frozen=True)
class Claimed:
    """Rows leased to one dispatcher: their ids and the token that marks them as ours."""

    token: str
    ids: list[int]


def claim(
    factory: sessionmaker[Session], now: datetime, policy: RetryPolicy, limit: int, worker: str
) -> Claimed:
    """Lease up to `limit` due rows to this worker (committed)."""
    token = f"{worker}:{uuid.uuid4().hex[:12]}"
    due = or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until < now),
    )
    with factory() as session, session.begin():
        query = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if not ids:
            return Claimed(token, [])
        # The condition is repeated in the UPDATE: on SQLite, another process may have taken a
        # row between our SELECT and UPDATE, and then it is simply not ours.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), due)
            .values(
                status=SENDING,
                lease_until=now + policy.lease,
                claimed_by=token,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        ours = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.claimed_by == token, OutboxMessage.status == SENDING)
            .order_by(OutboxMessage.id)
        )
        return Claimed(token, list(ours))


@dataclass(frozen=True)
class Delivery:
    row: OutboxMessage  # as loaded for sending (detached)
    status: str
    mail: OutgoingMail | None = None
    error: str = ""


Composed = OutgoingMail | None | Exception
# The batch's mails by row id; a mapping may compose each on first access (see ComposedBatch).
ComposeBatch = Callable[[Session, Sequence[OutboxMessage]], Mapping[int, Composed]]


def deliver(
    factory: sessionmaker[Session],
    claimed: Claimed,
    transport: Transport,
    compose_batch: ComposeBatch,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
) -> list[Delivery]:
    """Send the claimed rows over one transport connection, recording each result at once.

    The batch's data is loaded first (a few queries), then the mails are sent one by one, each
    rendered while the server is busy with the one before; each result is committed before the
    next message goes out (see _Sender), so a crash can repeat at most one mail.
    `clock` gives the time now; the lease is renewed before it can run out mid-batch, and a row
    whose lease was lost (the process stalled) is left to whoever took it.
    """
    with factory() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.id.in_(claimed.ids),
                OutboxMessage.status == SENDING,
                OutboxMessage.claimed_by == claimed.token,  # not if lost meanwhile
            )
            .order_by(OutboxMessage.id)
        ).all()
        composed = compose_batch(session, rows)
    # A plain connection records the results: a Session's commit bookkeeping cost more than
    # the UPDATE itself, once per mail.
    engine = factory.kw["bind"]
    with engine.connect() as recorder:
        sender = _Sender(recorder, transport, clock, policy)
        try:
            for index, row in enumerate(rows):
                # The next mail is rendered while the server takes this one, not after.
                following = rows[index + 1].id if index + 1 < len(rows) else None
                ahead = (lambda r=following: composed.get(r)) if following else None
                sender.handle(row, composed.get(row.id), ahead)
        finally:
            sender.close()
        return sender.results


class _Sender:
    """Sends rows over one transport connection, opened on first use, and records results.

    Other work of the batch is done while the mail server answers, where a dispatcher would
    otherwise only wait: the next mail is rendered, and a sent mail's result is committed
    while the server takes the next envelope (MAIL FROM). That commit always lands before the
    next message itself is sent, so a crash still repeats at most one mail.
    """

    def __init__(
        self,
        recorder: Connection,
        transport: Transport,
        clock: Callable[[], datetime],
        policy: RetryPolicy,
    ) -> None:
        self.recorder = recorder
        self.transport = transport
        self.clock = clock
        self.policy = policy
        self.results: list[Delivery] = []
        self.opened = False
        self.unreachable = ""  # set when the transport cannot even connect: the rest wait
        self.unreachable_permanent = False
        self.lease_checked_at = clock()
        self.unrecorded: Callable[[], None] | None = None  # the last mail sent, not committed

    def handle(
        self, row: OutboxMessage, mail: Composed, ahead: Callable[[], object] | None = None
    ) -> None:
        if not self._still_ours(row):
            log.warning("lease on %s ran out mid-batch; another dispatcher has it", row.key)
            return
        if isinstance(mail, OutgoingMail) and not self.unreachable:
            self._send(row, mail, ahead)
            return
        self.record_sent()
        now = self.clock()
        if isinstance(mail, Exception):
            # Often passing (a locked database while loading the items): retried like a
            # temporary delivery error, and failed for good only after max_attempts.
            self._finish(row, self._retry_or_fail(row, permanent=False), now, f"compose: {mail}")
        elif self.unreachable:
            # The same rule as for the row that met the dead server first: every row of the
            # batch was claimed (and counted) alike, so each fails alike at max_attempts.
            status = self._retry_or_fail(row, permanent=self.unreachable_permanent)
            self._finish(row, status, now, self.unreachable)
        else:  # None: everything in it was done meanwhile
            self._finish(row, SKIPPED, now, "")

    def record_sent(self) -> None:
        """Commits the result of the last mail sent, if not yet done."""
        record, self.unrecorded = self.unrecorded, None
        if record is not None:
            record()

    def _still_ours(self, row: OutboxMessage) -> bool:
        """Renews the batch's lease once half of it has passed; False if this row's was lost."""
        now = self.clock()
        if now - self.lease_checked_at < self.policy.lease / 2:
            return True
        self.record_sent()
        self.lease_checked_at = now
        self.recorder.execute(
            update(OutboxMessage)
            .where(OutboxMessage.claimed_by == row.claimed_by, OutboxMessage.status == SENDING)
            .values(lease_until=now + self.policy.lease)
        )
        self.recorder.commit()
        owner = self.recorder.scalar(
            select(OutboxMessage.claimed_by).where(OutboxMessage.id == row.id)
        )
        return bool(owner == row.claimed_by)

    def _send(
        self, row: OutboxMessage, mail: OutgoingMail, ahead: Callable[[], object] | None
    ) -> None:
        # First the previous result (it must land before this message is sent), then the next
        # mail's rendering; each in one of the server's turns to answer.
        meanwhile = [self.record_sent] + ([ahead] if ahead else [])
        try:
            mail.to_wire_bytes()  # built once and kept: every transport sends these bytes
        except (UnicodeError, ValueError) as exc:
            # An address or name the mail cannot carry (an "å" in an address): this mail fails
            # alone, and is listed in the digest; the batch and the mails behind it go on.
            self.record_sent()
            log.error("mail %s cannot be written: %s", row.key, exc)
            self._finish(row, FAILED, self.clock(), UNWRITABLE, mail)
            return
        try:
            if not self.opened:
                try:
                    self.transport.open()
                except TransportError as exc:
                    self.unreachable, self.unreachable_permanent = str(exc), exc.permanent
                    raise
                self.opened = True
            self.transport.send_overlapping(mail, meanwhile)
        except TransportError as exc:
            self.record_sent()
            status = self._retry_or_fail(row, permanent=exc.permanent)
            log.warning(
                "delivery of %s failed (%s): %s",
                row.key,
                "permanent" if status == FAILED else "temporary",
                exc,
            )
            self._finish(row, status, self.clock(), str(exc), mail, retry_after=exc.retry_after)
            return
        finally:
            self.record_sent()  # where the transport had no turn to do it in
        sent_at = self.clock()
        self.unrecorded = lambda: self._finish(row, SENT, sent_at, "", mail)

    def _retry_or_fail(self, row: OutboxMessage, *, permanent: bool) -> str:
        return FAILED if permanent or row.attempts >= self.policy.max_attempts else PENDING

    def _finish(
        self,
        row: OutboxMessage,
        status: str,
        now: datetime,
        error: str,
        mail: OutgoingMail | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.results.append(
            _finish(self.recorder, row, status, now, error, self.policy, mail, retry_after)
        )

    def close(self) -> None:
        self.record_sent()
        if self.opened:
            try:
                self.transport.close()
            except Exception:  # closing must not hide what happened in the batch
                log.warning("closing the transport failed", exc_info=True)


# One statement for every outcome, built once: this runs once per mail, and building an ORM
# UPDATE each time cost more than the database write itself. COALESCE keeps a column as it is
# when the outcome has no new value for it.
_FINISH = text(
    "UPDATE outbox SET status = :status, last_error = :error, lease_until = NULL,"
    " subject = COALESCE(:subject, subject), sent_at = COALESCE(:sent_at, sent_at),"
    " message_id = COALESCE(:message_id, message_id),"
    " next_attempt_at = COALESCE(:next_attempt_at, next_attempt_at)"
    " WHERE id = :id AND claimed_by = :claimed_by"
).bindparams(
    bindparam("sent_at", type_=UTCDateTime()),
    bindparam("next_attempt_at", type_=UTCDateTime()),
)


def _finish(
    recorder: Connection,
    row: OutboxMessage,
    status: str,
    now: datetime,
    error: str,
    policy: RetryPolicy | None = None,
    mail: OutgoingMail | None = None,
    retry_after: float | None = None,
) -> Delivery:
    retry_at = None
    if status == PENDING and policy is not None:
        # The server's own hint (Retry-After from Graph or EWS) wins when it asks for longer.
        wait = policy.delay(row.attempts)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        retry_at = now + wait
    # Fenced by claimed_by: a process whose lease ran out cannot overwrite the new owner.
    # Committed at once (one connection for the batch, one commit per mail), so a crash right
    # after a send can repeat that one mail and no other.
    recorder.execute(
        _FINISH,
        {
            "status": status,
            "error": error[:2000],
            "subject": mail.subject if mail is not None else None,
            "sent_at": now if status == SENT else None,
            "message_id": mail.message_id if status == SENT and mail is not None else None,
            "next_attempt_at": retry_at,
            "id": row.id,
            "claimed_by": row.claimed_by,
        },
    )
    recorder.commit()
    return Delivery(row, status, mail, error)


def backlog(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_((PENDING, SENDING)))
        )
        or 0
    )
