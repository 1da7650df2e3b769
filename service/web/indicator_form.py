"""The admin records an indicator's measured value on the dashboard (POST with CSRF)."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service import indicators
from service.db import transaction
from service.models import Indicator
from service.web.context import Web, page, web_of
from service.web.forms import form_fields
from service.web.security import CSRF_FIELD

PATH = "/admin/indikator"
BACK = "/admin/oversikt"


async def post_value(request: Request) -> Response:
    from service.web.admin import admin_user

    web = web_of(request)
    user = admin_user(request)
    if user is None:
        return RedirectResponse("/admin/login", status_code=303)
    fields = await form_fields(request)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        return _error(403, "Sidan var för gammal. Ladda om översikten och försök igen.")
    return await web.write(_record, web, user, fields)


def _record(web: Web, user: str, fields: dict[str, str]) -> Response:
    raw_id = fields.get("indicator_id", "")
    try:
        on = date.fromisoformat(fields.get("measured_on", ""))
    except ValueError:
        return _error(400, "Datumet för mätvärdet behöver skrivas som ÅÅÅÅ-MM-DD.")
    if on > web.today():
        return _error(400, "Datumet för mätvärdet kan inte ligga i framtiden; välj mätdagen.")
    value = indicators.parse_number(fields.get("value", ""))
    if value is None:
        return _error(400, "Värdet behöver vara ett tal, t.ex. 67 eller 67,5.")
    with transaction(web.app.sessions) as session:
        wellformed = raw_id.isdecimal() and len(raw_id) <= 9
        indicator = session.get(Indicator, int(raw_id)) if wellformed else None
        if indicator is None:
            return _error(404, "Indikatorn finns inte. Ladda om översikten.")
        added = indicators.add_value(
            session,
            indicator,
            on,
            value,
            fields.get("comment", "")[:2000],
            actor=f"admin:{user}",
            now=web.now(),
        )
    return RedirectResponse(f"{BACK}?indikator={'ja' if added else 'redan'}", status_code=303)


def _error(status: int, message: str) -> Response:
    return page(
        "error.html.j2", status, title="Mätvärdet sparades inte", message=message, back_url=BACK
    )
