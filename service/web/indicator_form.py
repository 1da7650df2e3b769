"""An indicator's measured value, recorded on the dashboard (POST with CSRF): by the signed-in
admin, or by a head (a head role, or a municipality-level one) on their personal dashboard link
for the plans they oversee. Both are audited under the person who entered the value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service import indicators
from service.db import transaction
from service.models import Indicator, Plan
from service.web.context import Web, page, web_of
from service.web.forms import form_fields
from service.web.security import CSRF_FIELD
from service.web.viewer import Viewer, viewer_of

PATH = "/admin/indikator"
BACK = "/admin/oversikt"
PERSONAL_PATH = "/oversikt/{token}/indikator"
SIGNED_IN_PATH, SIGNED_IN_BACK = "/mitt/indikator", "/mitt"


async def post_value(request: Request) -> Response:
    from service.web.admin import admin_user

    web = web_of(request)
    user = admin_user(request)
    if user is None:
        return RedirectResponse("/admin/login", status_code=303)
    fields = await form_fields(request)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        return _error(403, "Sidan var för gammal. Ladda om översikten och försök igen.", BACK)
    return await web.write(_record, web, f"admin:{user}", fields, BACK, lambda _plan: True)


async def post_personal_value(request: Request) -> Response:
    """From the head's own dashboard link: the same form, checked against what she oversees."""
    from service.web.admin import link_viewer

    web = web_of(request)
    back = request.url.path.removesuffix("/indikator")
    with web.app.sessions() as session:
        seen = link_viewer(request, web, session)
        if not isinstance(seen, Viewer):
            return seen
    return await _personal(request, web, seen, back)


async def post_signed_in_value(request: Request) -> Response:
    """From /mitt: a head signed in with the municipality's account, as on her own link."""
    from service.web.admin import signed_in_person
    from service.web.signin import SIGN_IN_PATH, current

    web = web_of(request)
    user = current(request)
    if user is None:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    with web.app.sessions() as session:
        person = signed_in_person(session, user.email)
        seen = viewer_of(session, person) if person is not None else None
    return await _personal(request, web, seen, SIGNED_IN_BACK)


async def _personal(request: Request, web: Web, seen: Viewer | None, back: str) -> Response:
    """The value a head entered on her own dashboard, checked against what she oversees."""
    fields = await form_fields(request)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        return _error(403, "Sidan var för gammal. Ladda om översikten och försök igen.", back)
    if seen is None or not seen.view.heads:
        return _error(
            403,
            "Mätvärden förs in av förvaltningens chef eller av administratören; "
            "be någon av dem föra in värdet.",
            back,
        )
    view = seen.view
    return await web.write(
        _record,
        web,
        seen.person.email,
        fields,
        back,
        lambda plan: view.covers_plan(plan.administration),
    )


def _record(
    web: Web,
    actor: str,
    fields: dict[str, str],
    back: str,
    may_enter: Callable[[Plan], bool],
) -> Response:
    raw_id = fields.get("indicator_id", "")
    try:
        on = date.fromisoformat(fields.get("measured_on", ""))
    except ValueError:
        return _error(400, "Datumet för mätvärdet behöver skrivas som ÅÅÅÅ-MM-DD.", back)
    if on > web.today():
        return _error(400, "Datumet för mätvärdet kan inte ligga i framtiden; välj mätdagen.", back)
    value = indicators.parse_number(fields.get("value", ""))
    if value is None:
        return _error(400, "Värdet behöver vara ett tal, t.ex. 67 eller 67,5.", back)
    with transaction(web.app.sessions) as session:
        wellformed = raw_id.isdecimal() and len(raw_id) <= 9
        indicator = session.get(Indicator, int(raw_id)) if wellformed else None
        plan = session.get(Plan, indicator.plan_id) if indicator is not None else None
        if indicator is None or plan is None or not may_enter(plan):
            # Another administration's indicator reads as unknown: its existence is not told.
            return _error(404, "Indikatorn finns inte. Ladda om översikten.", back)
        added = indicators.add_value(
            session,
            indicator,
            on,
            value,
            fields.get("comment", "")[:2000],
            actor=actor,
            now=web.now(),
            audit=True,
        )
    return RedirectResponse(f"{back}?indikator={'ja' if added else 'redan'}", status_code=303)


def _error(status: int, message: str, back: str) -> Response:
    return page(
        "error.html.j2", status, title="Mätvärdet sparades inte", message=message, back_url=back
    )
