"""Recording what people report: done, postponed, not applicable. Every change is audited."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Row,
    Select,
    Table,
    Update,
    bindparam,
    exists,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.db import UTCDateTime
from service.deadlines import DeadlineKind
from service.models import AuditEntry, Item, Occurrence, Person
from service.occurrences import DONE, NOT_APPLICABLE, OPEN, bump_data_version

# Core statements on the tables, built once: a click runs them once each, and building and
# hashing ORM statements per call cost more than the database work itself.
_OCCURRENCES = cast(Table, Occurrence.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
_ITEMS = cast(Table, Item.__table__)


@dataclass(frozen=True)
class Recorded:
    changed: bool  # False: it was no longer open; nothing was written
    needs_sync: bool = False  # see Outcome


@dataclass(frozen=True)
class Outcome:
    changed: bool  # False: it was already done / not applicable; nothing was written
    occurrence: Occurrence
    # True when the schedule must be expanded again (relative children are now due);
    # callers then run app.sync, and can skip it otherwise.
    needs_sync: bool = False


def mark_done(
    session: Session,
    occurrence_id: int,
    *,
    by: Person,
    on: date,
    via: str,
    now: datetime,
    comment: str = "",
    result_note: str = "",
    actor: str = "",
    stand_in_for: str = "",
) -> Outcome:
    """Mark one occurrence done, once; concurrent clicks are safe (see _apply).

    `actor` names who acted when it is not `by` (an admin marking on someone's behalf).
    `stand_in_for` is the absent owner's address when `by` acts as their stand-in: the
    record then says who did it and for whom.
    """
    session.flush()  # as an ORM statement would: pending changes first, then this one
    recorded = record_done(
        session.connection(),
        occurrence_id,
        by_id=by.id,
        by_email=by.email,
        on=on,
        via=via,
        now=now,
        comment=comment,
        result_note=result_note,
        actor=actor,
        stand_in_for=stand_in_for,
    )
    occurrence = session.get(Occurrence, occurrence_id, populate_existing=True)
    assert occurrence is not None
    return Outcome(recorded.changed, occurrence, recorded.needs_sync)


def record_done(
    connection: Connection,
    occurrence_id: int,
    *,
    by_id: int,
    by_email: str,
    on: date,
    via: str,
    now: datetime,
    comment: str = "",
    result_note: str = "",
    actor: str = "",
    stand_in_for: str = "",
) -> Recorded:
    """mark_done without the ORM, on a connection in a transaction: for callers that show the
    result from what they already know (the item page's receipt)."""
    applied = _apply(
        connection,
        occurrence_id,
        {
            "status": DONE,
            "done_on": on,
            "done_at": now,
            "done_by_id": by_id,
            "done_via": via,
            "comment": comment.strip(),
            "result_note": result_note.strip(),
        },
        action="occurrence.done",
        actor=actor or by_email,
        now=now,
        detail=_done_detail(
            on,
            via,
            comment,
            result_note,
            on_behalf_of=by_email if actor else "",
            stand_in_for=stand_in_for,
        ),
    )
    if applied is None:
        return Recorded(False)
    needs_sync = bool(applied.relative_children)
    if needs_sync:
        bump_data_version(connection)  # the next sync creates "på nästkommande APT" children
    return Recorded(True, needs_sync)


def _done_detail(
    on: date,
    via: str,
    comment: str,
    result_note: str,
    *,
    on_behalf_of: str = "",
    stand_in_for: str = "",
) -> dict[str, str]:
    """The audit's record of a "klar"."""
    return {
        "on": on.isoformat(),
        "via": via,
        "comment": comment,
        "result": result_note,
        **({"on_behalf_of": on_behalf_of} if on_behalf_of else {}),
        **_stand_in(stand_in_for),
    }


@dataclass(frozen=True)
class LinkClick:
    """A "klar" from the owner's own mark-done link, its form already checked (except
    against the plan's start, which the statement checks)."""

    occurrence_id: int
    person_id: int  # the link's, and so the one who acts
    version: int  # the occurrence's version the link was issued for
    on: date
    comment: str
    result_note: str


# PostgreSQL: a group of clicks in one statement, the same for any number of them (arrays, not
# a VALUES list, so the server prepares it once). Each click is applied only as the quick path
# may apply it (see service.web.items._record_done): the link's owner's own occurrence, still
# open and of the link's version, a date not before the plan's start, and an item without
# relative children to make due; anything else is left for the general path, which answers it.
_LINK_CLICKS = text(
    f"""
WITH clicks AS (
  SELECT * FROM unnest(
    CAST(:ids AS integer[]), CAST(:people AS integer[]), CAST(:versions AS integer[]),
    CAST(:ons AS date[]), CAST(:comments AS text[]), CAST(:results AS text[]),
    CAST(:details AS json[])
  ) AS c(id, person_id, version, done_on, comment, result_note, detail)
), applied AS (
  UPDATE occurrences AS o
  SET status = '{DONE}', done_on = c.done_on, done_at = :now, done_by_id = c.person_id,
      done_via = 'link', comment = c.comment, result_note = c.result_note
  FROM clicks AS c, items AS i, plans AS p
  WHERE o.id = c.id AND o.person_id = c.person_id AND o.version = c.version
    AND o.status = '{OPEN}' AND i.id = o.item_id AND p.id = i.plan_id AND c.done_on >= p.start
    AND NOT EXISTS (
      SELECT 1 FROM items AS child WHERE child.parent_id = i.id
        AND child.deadline_kind = '{DeadlineKind.RELATIVE.value}' AND child.active
    )
  RETURNING o.id, o.item_id, o.person_id
), audited AS (
  INSERT INTO audit_log (at, actor, action, occurrence_id, detail)
  SELECT :now, pe.email, 'occurrence.done', a.id, c.detail
  FROM applied AS a JOIN clicks AS c ON c.id = a.id JOIN people AS pe ON pe.id = a.person_id
)
SELECT a.id, i.number AS item_number, i.title AS item_title, ar.position AS area_position,
  ar.title AS area_title, p.title AS plan_title, pe.name
FROM applied AS a JOIN items AS i ON i.id = a.item_id JOIN areas AS ar ON ar.id = i.area_id
  JOIN plans AS p ON p.id = i.plan_id JOIN people AS pe ON pe.id = a.person_id
"""
).bindparams(bindparam("now", type_=UTCDateTime))


def record_link_clicks(
    connection: Connection, clicks: Sequence[LinkClick], now: datetime
) -> list[Row[Any] | None]:
    """PostgreSQL: mark done a group of clicks in one statement, each audited as
    record_done audits it; per click, what its receipt shows (the item, its area and plan,
    the person's name), or None where nothing was written (the general path answers it). A
    second click on the same occurrence in the group is left to the general path too."""
    first: dict[int, LinkClick] = {}
    for click in clicks:
        first.setdefault(click.occurrence_id, click)
    group = list(first.values())
    applied = {
        row.id: row
        for row in connection.execute(
            _LINK_CLICKS,
            {
                "ids": [c.occurrence_id for c in group],
                "people": [c.person_id for c in group],
                "versions": [c.version for c in group],
                "ons": [c.on for c in group],
                "comments": [c.comment.strip() for c in group],
                "results": [c.result_note.strip() for c in group],
                "details": [
                    json.dumps(_done_detail(c.on, "link", c.comment, c.result_note)) for c in group
                ],
                "now": now,
            },
        )
    }
    return [applied.get(c.occurrence_id) if first[c.occurrence_id] is c else None for c in clicks]


def postpone(
    session: Session,
    occurrence_id: int,
    *,
    by: Person,
    to: date,
    reason: str,
    now: datetime,
    stand_in_for: str = "",
) -> Outcome:
    """Record a proposed new date; reminders follow the new date from now on."""
    current = session.get(Occurrence, occurrence_id)
    previous = current.effective_due if current is not None else None
    return _record(
        session,
        occurrence_id,
        {
            "postponed_to": to,
            "deferral_reason": reason.strip(),
            "deferred_at": now,
            "deferred_by_id": by.id,
        },
        action="occurrence.postponed",
        actor=by.email,
        now=now,
        detail={
            "from": previous.isoformat() if previous else None,
            "to": to.isoformat(),
            "reason": reason,
            **_stand_in(stand_in_for),
        },
    )


def mark_not_applicable(
    session: Session,
    occurrence_id: int,
    *,
    by: Person,
    reason: str,
    now: datetime,
    stand_in_for: str = "",
) -> Outcome:
    return _record(
        session,
        occurrence_id,
        {
            "status": NOT_APPLICABLE,
            "deferral_reason": reason.strip(),
            "deferred_at": now,
            "deferred_by_id": by.id,
        },
        action="occurrence.not_applicable",
        actor=by.email,
        now=now,
        detail={"reason": reason, **_stand_in(stand_in_for)},
    )


def stand_in_for(occ: Occurrence, actor_id: int) -> str:
    """The owner's address when `actor_id` acts on `occ` as their stand-in, else ""."""
    return occ.person.email if occ.person_id != actor_id else ""


def _stand_in(owner_email: str) -> dict[str, str]:
    """The audit's note that a stand-in acted for an absent owner (see preferences.covers)."""
    return {"stand_in_for": owner_email} if owner_email else {}


def _record(
    session: Session,
    occurrence_id: int,
    values: dict[str, Any],
    *,
    action: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
) -> Outcome:
    session.flush()  # as an ORM statement would: pending changes first, then this one
    connection = session.connection()
    changed = (
        _apply(
            connection, occurrence_id, values, action=action, actor=actor, now=now, detail=detail
        )
        is not None
    )
    occurrence = session.get(Occurrence, occurrence_id, populate_existing=True)
    assert occurrence is not None
    return Outcome(changed, occurrence)


def _apply(
    connection: Connection,
    occurrence_id: int,
    values: dict[str, Any],
    *,
    action: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
) -> Row[Any] | None:
    """Apply `values` to an open occurrence and audit it, or change nothing if it is no longer
    open: the conditional UPDATE lets exactly one of two concurrent requests win. Returns the
    UPDATE's RETURNING row when it changed, None when it did not."""
    if connection.dialect.name == "postgresql":
        # One statement, one round trip: the audit row is written by the UPDATE's own CTE
        # only when the UPDATE changed the row (a click's round trips run one after another,
        # and on PostgreSQL they were most of its time).
        return connection.execute(
            _update_open_and_audit(tuple(values)),
            {
                "occurrence_id": occurrence_id,
                **{f"new_{k}": v for k, v in values.items()},
                "at": now,
                "actor": actor,
                "action": action,
                "detail": detail,
            },
        ).first()
    applied = connection.execute(
        _update_open(tuple(values)),
        {"occurrence_id": occurrence_id, **{f"new_{k}": v for k, v in values.items()}},
    ).first()
    if applied is None:
        return None
    connection.execute(
        _INSERT_AUDIT,
        {
            "at": now,
            "actor": actor,
            "action": action,
            "occurrence_id": occurrence_id,
            "detail": detail,
        },
    )
    return applied


# Whether the occurrence's item has relative children ("på nästkommande APT"): marking it
# done makes them due. Returned by the UPDATE itself, which saves a statement per click.
# The outer column is spelled out: SQLite's RETURNING drops table names from columns, and
# an unqualified item_id would only find occurrences.item_id because items has none.
_RELATIVE_CHILDREN = (
    exists()
    .where(
        _ITEMS.c.parent_id == literal_column("occurrences.item_id"),
        _ITEMS.c.deadline_kind == DeadlineKind.RELATIVE.value,
        _ITEMS.c.active.is_(True),
    )
    .label("relative_children")
)


@lru_cache(maxsize=8)
def _update_open(columns: tuple[str, ...]) -> Update:
    """UPDATE … SET columns WHERE id = :occurrence_id AND status = 'open'
    RETURNING relative_children."""
    c = _OCCURRENCES.c
    return (
        update(_OCCURRENCES)
        .where(c.id == bindparam("occurrence_id"), c.status == OPEN)
        .values({name: bindparam(f"new_{name}", type_=c[name].type) for name in columns})
        .returning(_RELATIVE_CHILDREN)
    )


@lru_cache(maxsize=8)
def _update_open_and_audit(columns: tuple[str, ...]) -> Select[Any]:
    """PostgreSQL: WITH applied AS (UPDATE … RETURNING), audited AS (INSERT INTO audit_log
    SELECT … FROM applied) SELECT relative_children FROM applied."""
    applied = _update_open(columns).returning(_OCCURRENCES.c.id).cte("applied")
    audit = _AUDIT.c

    def given(name: str) -> Any:
        # Typed: in a SELECT list PostgreSQL cannot infer a parameter's type from the column.
        return sql_cast(bindparam(name, type_=audit[name].type), audit[name].type)

    audited = (
        insert(_AUDIT)
        .from_select(
            ["at", "actor", "action", "occurrence_id", "detail"],
            select(given("at"), given("actor"), given("action"), applied.c.id, given("detail")),
        )
        .cte("audited")
    )
    return select(applied.c.relative_children).add_cte(audited)


_INSERT_AUDIT: Insert = insert(_AUDIT)
