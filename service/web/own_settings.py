"""'Mina inställningar': a person's own rhythm and absences, behind the signed link in every
mail's footer. GET only shows (mail scanners open links); the form's POST changes, with CSRF."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service import preferences
from service.links import SETTINGS, Claim
from service.models import Person
from service.pipeline import coming_mails
from service.reminders import CHECKIN_KIND, DIGEST_KIND, ESCALATION_KIND
from service.web.context import Web, page, stale_form, web_of
from service.web.forms import form_fields
from service.web.security import CSRF_FIELD, form_path

KIND_SV = {
    DIGEST_KIND: "Veckosammanfattning",
    ESCALATION_KIND: "Kopia som chef",
    CHECKIN_KIND: "Avstämning",
}


def show_settings(request: Request) -> Response:
    web = web_of(request)
    claim = web.read_claim(request, SETTINGS)
    if isinstance(claim, HTMLResponse):
        return claim
    return _render(
        request, web, claim, preferences.Change(), saved=request.query_params.get("sparat") == "1"
    )


async def post_settings(request: Request) -> Response:
    web = web_of(request)
    claim = web.read_claim(request, SETTINGS)
    if isinstance(claim, HTMLResponse):
        return claim
    fields = await form_fields(request)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        return stale_form(back_url=request.url.path)
    return await web.write(_save, request, web, claim, fields)


def _save(request: Request, web: Web, claim: Claim, fields: dict[str, str]) -> Response:
    with web.app.sessions() as session, session.begin():
        person = session.get(Person, claim.person_id)
        if person is None or not person.active:
            return web.bad_link(request, "stale")
        change = preferences.validate(
            fields,
            today=web.today(),
            person=person,
            stand_ins=preferences.people_by_address(session),
        )
        if not change.errors:
            preferences.apply(session, person, change, web.now())
    if change.errors:
        return _render(request, web, claim, change, values=fields, status_code=400)
    # Post/redirect/get: a reload does not send the form again.
    return RedirectResponse(f"{request.url.path}?sparat=1", status_code=303)


def _render(
    request: Request,
    web: Web,
    claim: Claim,
    change: preferences.Change,
    *,
    values: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    today = web.today()
    with web.app.sessions() as session:
        person = session.get(Person, claim.person_id)
        if person is None or not person.active:
            return web.bad_link(request, "stale")
        people = {p.id: p for p in preferences.people_by_address(session).values()}
        absences = [
            {
                "id": a.id,
                "starts": a.starts,
                "ends": a.ends,
                "stand_in": people[a.stand_in_id].name if a.stand_in_id in people else "",
            }
            for a in preferences.absences_of(session, person.id, today)
        ]
        coming: list[dict[str, Any]] = [
            {
                "day": mail.day,
                "kind": KIND_SV.get(mail.kind, "Påminnelse"),
                "count": len({n.occurrence_id for n in mail.notices}),
            }
            for mail in coming_mails(web.app, session, person.id, today)
        ]
        weekday = preferences.bundle_weekday_of(session, person.id)
    cookie, fresh = web.csrf.cookie_value(request)
    response = page(
        "settings.html.j2",
        status_code,
        person=person,
        today=today,
        weekdays=preferences.WEEKDAYS_SV,
        bundle_weekday=weekday,
        absences=absences,
        coming=coming,
        errors=change.errors,
        values=values or {},
        saved=saved,
        csrf=web.csrf.field_value(cookie, form_path(request)),
        action_url=request.url.path,
    )
    if fresh:
        web.csrf.set_cookie(response, cookie)
    return response
