"""'Mina inställningar': a person's own rhythm and absences, behind the signed link in every
mail's footer. GET only shows (mail scanners open links); the form's POST changes, with CSRF."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service import preferences
from service.links import SETTINGS, Claim
from service.models import Occurrence, Person
from service.pipeline import coming_mails, preview_until
from service.reminders import CHECKIN_KIND, DIGEST_KIND, ESCALATION_KIND, PlannedMail
from service.web.context import Web, page, stale_form, web_of
from service.web.forms import form_fields
from service.web.security import CSRF_FIELD, form_path

KIND_SV = {
    DIGEST_KIND: "Veckosammanfattning",
    ESCALATION_KIND: "Kopia som chef",
    CHECKIN_KIND: "Avstämning",
}


@dataclass(frozen=True)
class ComingWeek:
    """One week of the preview: its Monday and the mails in it (maybe none)."""

    monday: date
    mails: tuple[dict[str, Any], ...]

    @property
    def number(self) -> int:
        return self.monday.isocalendar().week


def by_week(
    mails: Sequence[PlannedMail],
    owners: Mapping[int, int],
    person_id: int,
    today: date,
    until: date,
) -> list[ComingWeek]:
    """Pure: the preview's mails, week by week from this week to the one holding `until`.
    `owners` maps occurrences to their person: items of someone the person stands in for are
    counted apart."""
    weeks: dict[date, list[dict[str, Any]]] = {}
    monday = today - timedelta(days=today.weekday())
    while monday <= until:
        weeks[monday] = []
        monday += timedelta(days=7)
    for mail in mails:
        ids = {n.occurrence_id for n in mail.notices}
        weeks.setdefault(mail.day - timedelta(days=mail.day.weekday()), []).append(
            {
                "day": mail.day,
                "kind": KIND_SV.get(mail.kind, "Påminnelse"),
                "count": len(ids),
                "for_others": sum(1 for i in ids if owners.get(i, person_id) != person_id),
            }
        )
    return [ComingWeek(day, tuple(found)) for day, found in sorted(weeks.items())]


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
        until = preview_until(session, person.id, today)
        mails = coming_mails(web.app, session, person.id, today, (until - today).days)
        ids = {n.occurrence_id for m in mails for n in m.notices}
        owners = dict(
            session.execute(
                select(Occurrence.id, Occurrence.person_id).where(Occurrence.id.in_(ids))
            )
            .tuples()
            .all()
        )
        coming = by_week(mails, owners, person.id, today, until)
        weekday = preferences.bundle_weekday_of(session, person.id)
        covering = [
            {"name": people[c.owner_id].name, "starts": c.starts, "ends": c.ends}
            for c in preferences.standing_in_for_from(session, person.id, today)
            if c.owner_id in people
        ]
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
        until=until,
        covering=covering,
        errors=change.errors,
        values=values or {},
        saved=saved,
        csrf=web.csrf.field_value(cookie, form_path(request)),
        action_url=request.url.path,
    )
    if fresh:
        web.csrf.set_cookie(response, cookie)
    return response
