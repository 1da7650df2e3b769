"""The outbox: planned mails as durable rows, claimed with a lease, sent, then marked.

A row is written (with its notices) before any transport is called, so a crash leaves a visible
trace and nothing is lost. Claiming is a conditional UPDATE (plus FOR UPDATE SKIP LOCKED on
PostgreSQL), so several processes on one database never send the same row at the same time.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, TransportError
from service.models import Notice as NoticeRow
from service.models import OutboxMessage
from service.reminders import PlannedMail, sections

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"


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


def store_planned(
    session: Session,
    mail: PlannedMail,
    *,
    to: Sequence[str],
    now: datetime,
    domain: str,
    cc: Sequence[str] = (),
    payload: dict[str, Any] | None = None,
    key: str | None = None,
) -> OutboxMessage | None:
    """Write one planned mail and its notices; None if another process planned it first."""
    body = payload if payload is not None else {"sections": sections(mail.notices)}
    key = key or mail.key
    try:
        with session.begin_nested():
            row = OutboxMessage(
                key=key,
                kind=mail.kind,
                person_id=mail.person_id,
                to_addrs=list(to),
                cc_addrs=list(cc),
                local_date=mail.day,
                payload=body,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                message_id=message_id_for(key, domain),
                created_at=now,
            )
            session.add(row)
            session.flush()
            session.add_all(
                NoticeRow(
                    occurrence_id=n.occurrence_id,
                    stage=n.stage,
                    outbox_id=row.id,
                    planned_on=mail.day,
                )
                for n in mail.notices
            )
            session.flush()
    except IntegrityError:
        log.info("outbox key %s already planned elsewhere", key)
        return None
    return row


def keys_for_day(session: Session, day: date) -> frozenset[str]:
    return frozenset(
        session.scalars(select(OutboxMessage.key).where(OutboxMessage.local_date == day))
    )


def claim(
    factory: sessionmaker[Session], now: datetime, policy: RetryPolicy, limit: int, worker: str
) -> list[int]:
    """Lease up to `limit` due rows to this worker; returns their ids (committed)."""
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
            return []
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
        return list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.claimed_by == token, OutboxMessage.status == SENDING)
                .order_by(OutboxMessage.id)
            )
        )


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    key: str
    kind: str
    status: str
    error: str = ""


def deliver(
    factory: sessionmaker[Session],
    ids: Sequence[int],
    transport: Transport,
    compose: Callable[[Session, OutboxMessage], OutgoingMail | None],
    now: datetime,
    policy: RetryPolicy,
) -> list[Delivery]:
    """Send the claimed rows over one transport connection, recording each result at once."""
    results: list[Delivery] = []
    opened = False
    unreachable = ""  # set when the transport cannot even connect: the rest wait for a retry
    for outbox_id in ids:
        with factory() as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None or row.status != SENDING:
                continue
            claimed_by = row.claimed_by
            try:
                mail = compose(session, row)
            except Exception as exc:  # a bad row must not stop the batch
                log.exception("could not compose outbox row %s", row.key)
                results.append(_finish(factory, row, claimed_by, FAILED, now, f"compose: {exc}"))
                continue
        if unreachable:
            results.append(_finish(factory, row, claimed_by, PENDING, now, unreachable, policy))
            continue
        if mail is None:  # everything in it was done meanwhile
            results.append(_finish(factory, row, claimed_by, SKIPPED, now, ""))
            continue
        try:
            if not opened:
                try:
                    transport.open()
                except TransportError as exc:
                    unreachable = str(exc)
                    raise
                opened = True
            transport.send(mail)
        except TransportError as exc:
            status = FAILED if exc.permanent or row.attempts >= policy.max_attempts else PENDING
            log.warning(
                "delivery of %s failed (%s): %s",
                row.key,
                "permanent" if status == FAILED else "temporary",
                exc,
            )
            results.append(_finish(factory, row, claimed_by, status, now, str(exc), policy))
            continue
        results.append(_finish(factory, row, claimed_by, SENT, now, "", message_id=mail.message_id))
    if opened:
        try:
            transport.close()
        except TransportError:
            log.warning("closing the transport failed", exc_info=True)
    return results


def _finish(
    factory: sessionmaker[Session],
    row: OutboxMessage,
    claimed_by: str,
    status: str,
    now: datetime,
    error: str,
    policy: RetryPolicy | None = None,
    message_id: str = "",
) -> Delivery:
    values: dict[str, Any] = {"status": status, "last_error": error[:2000], "lease_until": None}
    if status == SENT:
        values["sent_at"] = now
        values["message_id"] = message_id
    if status == PENDING and policy is not None:
        values["next_attempt_at"] = now + policy.delay(row.attempts)
    with factory() as session, session.begin():
        # Fenced by claimed_by: a process whose lease ran out cannot overwrite the new owner.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == claimed_by)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return Delivery(row.id, row.key, row.kind, status, error)


def backlog(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_((PENDING, SENDING)))
        )
        or 0
    )
