"""The undo link in the answer to a reply: GET shows the change, only POST takes it back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from service.db import transaction
from service.inbox import undo
from service.links import UNDO, Claim
from service.models import Area, Item, Person, Plan
from service.web.context import Web, page, stale_form, web_of
from service.web.forms import form_fields
from service.web.security import CSRF_FIELD, form_path

VIA = "ångra-länk"
_WHAT = {
    "occurrence.done": "Klar",
    "occurrence.not_applicable": "Inte aktuell",
    "occurrence.postponed": "Nytt datum",
}


def show_undo(request: Request) -> Response:
    web = web_of(request)
    claim = web.read_claim(request, UNDO)
    if isinstance(claim, HTMLResponse):
        return claim
    with web.app.sessions() as session:
        change = undo.find(session, claim)
        if change is None:
            return web.bad_link(request, "stale")
        return _render(request, web, session, change, "")


async def post_undo(request: Request) -> Response:
    web = web_of(request)
    claim = web.read_claim(request, UNDO)
    if isinstance(claim, HTMLResponse):
        return claim
    fields = await form_fields(request)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        return stale_form(back_url=request.url.path)
    return await web.write(_undo, request, web, claim)


def _undo(request: Request, web: Web, claim: Claim) -> Response:
    with transaction(web.app.sessions) as session:
        change = undo.find(session, claim)
        if change is None:
            return web.bad_link(request, "stale")
        done = undo.undo(session, change, now=web.now(), via=VIA)
        if done is not None:
            session.refresh(change.occurrence)
        removed = len(done.removed_children) if done is not None else 0
        outcome = "undone" if done is not None else ""
        return _render(request, web, session, change, outcome, removed)


def _render(
    request: Request,
    web: Web,
    session: Session,
    change: undo.Change,
    outcome: str,
    removed: int = 0,
) -> Response:
    item = session.get(Item, change.occurrence.item_id)
    assert item is not None
    owner = session.get(Person, change.occurrence.person_id)
    context: dict[str, Any] = {
        "plan": session.get(Plan, item.plan_id),
        "area": session.get(Area, item.area_id),
        "item": item,
        "person": change.person,
        "owner": owner or change.person,
        "removed": removed,
        "what": _WHAT[change.entry.action],
        "at": web.app.local_date(change.entry.at),
        "action": change.entry.action,
        "blocked": "" if outcome else change.blocked,
        "outcome": outcome,
    }
    cookie, fresh = web.csrf.cookie_value(request)
    response = page(
        "undo.html.j2",
        csrf=web.csrf.field_value(cookie, form_path(request)),
        action_url=request.url.path,
        **context,
    )
    if fresh:
        web.csrf.set_cookie(response, cookie)
    return response
