"""The item page behind a mail's personal link: GET shows, only POST changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Select, Table, bindparam, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, joinedload
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from service import completion, i18n, preferences
from service.db import transaction
from service.deadlines import DeadlineKind
from service.links import DONE as DONE_LINK
from service.links import Claim
from service.models import Area, Item, Occurrence, Person, Plan
from service.occurrences import DONE, OPEN, status_at
from service.web.context import Web, form_page, page, stale_form, web_of
from service.web.forms import form_fields
from service.web.present import Status, held_roles, history
from service.web.quick import GeneralPath
from service.web.security import CSRF_FIELD

ACTIONS = ("done", "postpone", "not_applicable")
MAX_TEXT = 2000
MAX_POSTPONE = timedelta(days=2 * 365)


@dataclass
class FormState:
    """What the person typed and what was wrong with it, per form on the page."""

    action: str = ""
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class Stale(Exception):
    """The token's person or version no longer matches the occurrence."""

    reason = "stale"


class StandInOver(Stale):
    """A stand-in's link to an absent colleague's item, after the absence has ended."""

    reason = "stand_in_over"


def _load(session: Session, claim: Claim, today: date) -> Occurrence:
    # One query for what every page shows, instead of a lazy load per relationship.
    occ = (
        session.get(
            Occurrence,
            claim.occurrence_id,
            options=[
                joinedload(Occurrence.item).joinedload(Item.area),
                joinedload(Occurrence.item).joinedload(Item.plan),
            ],
        )
        if claim.occurrence_id
        else None
    )
    if occ is None or occ.version != claim.version:
        raise Stale
    if occ.person_id != claim.person_id:
        # Someone else's link: a stand-in's acts for the owner only while the absence lasts.
        named = preferences.absences_naming(session, occ.person_id, claim.person_id)
        if not named:
            raise Stale
        if not preferences.covers(
            named, owner_id=occ.person_id, stand_in_id=claim.person_id, day=today
        ):
            raise StandInOver
    return occ


def item_context(
    session: Session,
    occ: Occurrence,
    web: Web,
    form: FormState,
    *,
    with_history: bool = True,
    viewer_id: int | None = None,
) -> dict[str, Any]:
    """What the item page shows; `viewer_id` is the link's person (a stand-in, maybe)."""
    today = web.today()
    people = {
        p.id: p
        for p in session.scalars(
            select(Person).where(
                Person.id.in_({occ.person_id, occ.done_by_id or 0, occ.deferred_by_id or 0})
            )
        )
    }
    due = occ.effective_due
    children = _children(session, occ)
    return {
        "occ": occ,
        "item": occ.item,
        "area": occ.item.area,
        "plan": occ.item.plan,
        "person": people.get(occ.person_id),
        "held_roles": held_roles(people.get(occ.person_id), occ.item.responsible or []),
        "done_by": people.get(occ.done_by_id or 0),
        "deferred_by": people.get(occ.deferred_by_id or 0),
        "status": Status(status_at(occ, today)),
        "is_open": occ.status == OPEN,
        "due": due,
        "today": today,
        "history": history(session, [occ.id]) if with_history else [],
        "children": children,
        "form": form,
        "min_done": occ.item.plan.start.isoformat(),
        "stand_in": viewer_id is not None and viewer_id != occ.person_id,
    }


def _children(session: Session, occ: Occurrence) -> list[tuple[Item, int, date | None]]:
    """Follow-ups created when this one was done ("på nästkommande APT"): item, count, due."""
    rows = session.execute(
        select(Item, func.count(Occurrence.id), func.min(Occurrence.due))
        .join(Occurrence, Occurrence.item_id == Item.id)
        .where(Occurrence.parent_occurrence_id == occ.id)
        .group_by(Item.id)
        .order_by(Item.position)
    ).all()
    return [(item, int(n), due) for item, n, due in rows]


def _render_item(
    request: Request, web: Web, occ_ctx: dict[str, Any], status_code: int = 200
) -> Response:
    return form_page(request, web, "item.html.j2", status_code, **occ_ctx)


def show_item(request: Request) -> Response:
    """GET and HEAD: read only, whatever a mail scanner does with the link."""
    web = web_of(request)
    if (limited := web.rate_limited(request)) is not None:
        return limited
    claim = web.read_claim(request, DONE_LINK)
    if isinstance(claim, HTMLResponse):
        return claim
    with web.app.sessions() as session:
        try:
            occ = _load(session, claim, web.today())
        except Stale as exc:
            return web.bad_link(request, exc.reason)
        context = item_context(session, occ, web, FormState(), viewer_id=claim.person_id)
        return _render_item(request, web, context)


async def post_item(request: Request) -> Response:
    web = web_of(request)
    if (limited := web.rate_limited(request)) is not None:
        return limited
    claim = web.read_claim(request, DONE_LINK)
    if isinstance(claim, HTMLResponse):
        return claim
    fields = await form_fields(request)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        web.metrics.item_posts.labels(action="?", outcome="csrf").inc()
        return stale_form(request.url.path)
    # The common click, with group commit (on the event loop itself for SQLite: on two cores,
    # handing it to a thread and back cost more than the work). Anything else, and any click
    # the group could not take, goes to the general path.
    if fields.get("action") == "done" and web.quick is not None:
        now, today = web.now(), web.today()
        done = await web.quick.write(_DoneClick(claim, fields, now, today))
        if done is not None:
            return _done_receipt(web, done)
    return await web.write(_act, request, web, claim, fields)


def _act(request: Request, web: Web, claim: Claim, fields: dict[str, str]) -> Response:
    action = fields.get("action", "")
    if action == "done":
        now, today = web.now(), web.today()
        try:
            with web.app.engine.begin() as connection:
                done = _record_done(connection, claim, fields, now, today)
        except GeneralPath:
            done = None
        if done is not None:
            return _done_receipt(web, done)
    now, today = web.now(), web.today()
    with transaction(web.app.sessions) as session:
        try:
            occ = _load(session, claim, today)
        except Stale as exc:
            return web.bad_link(request, exc.reason)
        viewer = claim.person_id

        def again(state: FormState) -> Response:
            context = item_context(session, occ, web, state, viewer_id=viewer)
            return _render_item(request, web, context, 400)

        if action not in ACTIONS:
            web.metrics.item_posts.labels(action="?", outcome="invalid").inc()
            return again(FormState(errors={"action": "Välj en av knapparna i formuläret."}))
        if occ.status != OPEN:
            web.metrics.item_posts.labels(action=action, outcome="already").inc()
            return _receipt(session, occ, web, "already")
        state = validate(action, fields, today=today, plan_start=occ.item.plan.start)
        if action == "postpone" and occ.due is None:
            state.errors["postpone_to"] = "En löpande aktivitet har inget datum att skjuta upp."
        if state.errors:
            web.metrics.item_posts.labels(action=action, outcome="invalid").inc()
            return again(state)
        person = session.get(Person, claim.person_id)
        if person is None:
            return web.bad_link(request, "stale")
        owner = completion.stand_in_for(occ, person.id)
        v = state.values
        if action == "done":
            outcome = completion.mark_done(
                session,
                occ.id,
                by=person,
                on=date.fromisoformat(v["done_on"]),
                via="link",
                now=now,
                comment=v.get("comment", ""),
                result_note=v.get("result", ""),
                stand_in_for=owner,
            )
            if outcome.needs_sync:
                # The item has relative children ("på nästkommande APT"), due from now on.
                # Syncing only then keeps an ordinary click cheap: sync loads the whole
                # directory and calendars before it can tell that nothing changed.
                web.app.sync(session, now)
        elif action == "postpone":
            outcome = completion.postpone(
                session,
                occ.id,
                by=person,
                to=date.fromisoformat(v["postpone_to"]),
                reason=v["postpone_reason"],
                now=now,
                stand_in_for=owner,
            )
        else:
            outcome = completion.mark_not_applicable(
                session, occ.id, by=person, reason=v["na_reason"], now=now, stand_in_for=owner
            )
        kind = action if outcome.changed else "already"
        web.metrics.item_posts.labels(action=action, outcome=kind).inc()
        return _receipt(session, outcome.occurrence, web, kind)


@dataclass(frozen=True)
class _DoneRecord:
    """What the receipt shows of an occurrence just marked done by its link."""

    done_on: date
    done_at: datetime
    comment: str
    result_note: str
    status: str = DONE
    done_via: str = "link"


@dataclass(frozen=True)
class _Done:
    """A click recorded by _record_done, with what its receipt shows."""

    view: Row[Any]  # _DONE_VIEW's row
    record: _DoneRecord


def _record_done(
    connection: Connection, claim: Claim, fields: dict[str, str], now: datetime, today: date
) -> _Done | None:
    """The common click, a valid "done" on an open occurrence, in a few Core statements on a
    connection in a transaction (a plain connection: a session's bookkeeping cost as much as
    the statements themselves).

    Returns None, having written nothing, for everything else (a stale link, an occurrence no
    longer open, a form to correct, an item whose relative children must be synced): the
    general path answers those with the full page.
    """
    row = connection.execute(_DONE_VIEW, {"id": claim.occurrence_id}).first()
    if (
        row is None
        or row.person_id != claim.person_id
        or row.version != claim.version
        or row.status != OPEN
        or row.relative_children
    ):
        return None
    state = validate("done", fields, today=today, plan_start=row.plan_start)
    if state.errors:
        return None
    v = state.values
    on = date.fromisoformat(v["done_on"])
    recorded = completion.record_done(
        connection,
        row.id,
        by_id=row.person_id,
        by_email=row.email,
        on=on,
        via="link",
        now=now,
        comment=v.get("comment", ""),
        result_note=v.get("result", ""),
    )
    if not recorded.changed:
        return None  # taken by another click meanwhile; the UPDATE wrote nothing
    if recorded.needs_sync:
        raise GeneralPath  # children added since the check above: undo, the general path syncs
    # A plain record, not an ORM object: building one of those cost as much as a statement.
    done = _DoneRecord(
        done_on=on,
        done_at=now,
        comment=v.get("comment", "").strip(),
        result_note=v.get("result", "").strip(),
    )
    return _Done(row, done)


@dataclass(frozen=True)
class _DoneClick:
    """The common click as a group store's work (see service.web.quick.Together): alone, on
    SQLite or in the general path, it is _record_done; on PostgreSQL a group's clicks are
    written in one statement (completion.record_link_clicks), which applies the same rule."""

    claim: Claim
    fields: dict[str, str]
    now: datetime
    today: date

    def __call__(self, connection: Connection) -> _Done | None:
        return _record_done(connection, self.claim, self.fields, self.now, self.today)

    @classmethod
    def together(cls, connection: Connection, works: Sequence[_DoneClick]) -> list[_Done | None]:
        now = max(work.now for work in works)  # one moment for the group, committed at once
        ready: list[tuple[int, completion.LinkClick]] = []
        for n, work in enumerate(works):
            claim = work.claim
            # The plan's start is checked by the statement (the general path then says so).
            state = validate("done", work.fields, today=work.today, plan_start=date.min)
            if claim.occurrence_id is None or claim.version is None or state.errors:
                continue
            v = state.values
            click = completion.LinkClick(
                occurrence_id=claim.occurrence_id,
                person_id=claim.person_id,
                version=claim.version,
                on=date.fromisoformat(v["done_on"]),
                comment=v.get("comment", ""),
                result_note=v.get("result", ""),
            )
            ready.append((n, click))
        out: list[_Done | None] = [None] * len(works)
        if not ready:
            return out
        rows = completion.record_link_clicks(connection, [click for _, click in ready], now)
        for (n, click), row in zip(ready, rows, strict=True):
            if row is not None:
                record = _DoneRecord(click.on, now, click.comment, click.result_note)
                out[n] = _Done(row, record)
        return out


def _done_receipt(web: Web, done: _Done) -> Response:
    """The receipt from what the transaction wrote; an open occurrence has no follow-ups yet,
    and its item has no relative children (or the general path would have answered)."""
    web.metrics.item_posts.labels(action="done", outcome="done").inc()
    row = done.view
    person = {"name": row.name}
    return page(
        "receipt.html.j2",
        200,
        kind="done",
        occ=done.record,
        plan={"title": row.plan_title},
        area={"position": row.area_position, "title": row.area_title},
        item={"number": row.item_number, "title": row.item_title},
        person=person,
        done_by=person,
        deferred_by=None,
        status=Status(DONE),  # done today or earlier: a done date in the future is refused
        children=[],
    )


def _done_view() -> Select[Any]:
    occ, item, area, plan, person = (
        cast(Table, m.__table__) for m in (Occurrence, Item, Area, Plan, Person)
    )
    child = item.alias("child")
    # Marking an item with relative children ("på nästkommande APT") done makes them due:
    # the general path syncs then, so the quick one must know before it writes anything.
    relative_children = (
        exists()
        .where(
            child.c.parent_id == item.c.id,
            child.c.deadline_kind == DeadlineKind.RELATIVE.value,
            child.c.active.is_(True),
        )
        .label("relative_children")
    )
    return (
        select(
            occ.c.id,
            occ.c.person_id,
            occ.c.version,
            occ.c.status,
            occ.c.due,
            occ.c.postponed_to,
            item.c.number.label("item_number"),
            item.c.title.label("item_title"),
            area.c.position.label("area_position"),
            area.c.title.label("area_title"),
            plan.c.title.label("plan_title"),
            plan.c.start.label("plan_start"),
            person.c.name,
            person.c.email,
            relative_children,
        )
        .join(item, item.c.id == occ.c.item_id)
        .join(area, area.c.id == item.c.area_id)
        .join(plan, plan.c.id == item.c.plan_id)
        .join(person, person.c.id == occ.c.person_id)
        .where(occ.c.id == bindparam("id"))
    )


# Built once: the statement's cache key is computed on first use and kept with it.
_DONE_VIEW = _done_view()


def _receipt(session: Session, occ: Occurrence, web: Web, kind: str) -> Response:
    ctx = item_context(session, occ, web, FormState(), with_history=False)
    return page("receipt.html.j2", 200, kind=kind, **ctx)


def validate(action: str, fields: dict[str, str], *, today: date, plan_start: date) -> FormState:
    """Checks one form; every message says what to do, in Swedish."""
    state = FormState(action=action)
    v, errors = state.values, state.errors

    def text(name: str, *, required: str = "") -> None:
        value = fields.get(name, "").strip()
        v[name] = value
        if required and not value:
            errors[name] = required
        elif len(value) > MAX_TEXT:
            errors[name] = f"Texten får vara högst {MAX_TEXT} tecken; nu är den {len(value)}."

    if action == "done":
        raw = fields.get("done_on", "").strip()
        v["done_on"] = raw
        on = _parse_date(raw)
        if on is None:
            errors["done_on"] = "Ange datumet då aktiviteten blev klar, till exempel 2024-12-02."
        elif on > today:
            errors["done_on"] = (
                f"Datumet kan inte vara i framtiden. Ange i dag ({today.isoformat()}) "
                "eller ett tidigare datum."
            )
        elif on < plan_start:
            errors["done_on"] = (
                f"Datumet kan inte vara före planens start ({i18n.format_date_sv(plan_start)})."
            )
        text("comment")
        text("result")
    elif action == "postpone":
        raw = fields.get("postpone_to", "").strip()
        v["postpone_to"] = raw
        to = _parse_date(raw)
        if to is None:
            errors["postpone_to"] = "Ange det nya datumet, till exempel 2025-01-31."
        elif to <= today:
            errors["postpone_to"] = "Det nya datumet måste vara efter i dag."
        elif to > today + MAX_POSTPONE:
            errors["postpone_to"] = "Det nya datumet kan ligga högst två år fram i tiden."
        text("postpone_reason", required="Skriv kort varför aktiviteten behöver skjutas upp.")
    elif action == "not_applicable":
        text("na_reason", required="Skriv kort varför aktiviteten inte är aktuell.")
    return state


def _parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None
