"""The plan report as a download from the dashboard: the head's link and the signed-in admin."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.directory import load_directory
from service.models import Person, Plan
from service.report.model import UnknownPlan
from service.report.service import render_for, report_for
from service.report.writers import FORMATS, MEDIA_TYPES, file_name
from service.web.context import Web, page, web_of

REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The links above each plan on the dashboard, in this order.
LINKS = (
    ("docx", "Word"),
    ("pdf", "PDF"),
    ("xlsx", "Excel"),
    ("html", "Webbsida"),
    ("json", "JSON"),
)


def personal_report(request: Request) -> Response:
    from service.web.admin import dashboard_holder  # admin links to these downloads

    web = web_of(request)
    with web.app.sessions() as session:
        person = dashboard_holder(request, web, session)
        if not isinstance(person, Person):
            return person
        administration = load_directory(session).plans_of(person.email)
    return _download(request, web, administration)


def admin_report(request: Request) -> Response:
    from service.web.admin import admin_user

    web = web_of(request)
    if admin_user(request) is None:
        return RedirectResponse("/admin/login", status_code=303)
    return _download(request, web)


def signed_in_report(request: Request) -> Response:
    """From /mitt: anyone signed in with the municipality's account."""
    from service.web.signin import SIGN_IN_PATH, current

    web = web_of(request)
    user = current(request)
    if user is None:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    with web.app.sessions() as session:
        administration = load_directory(session).plans_of(user.email)
    return _download(request, web, administration)


def _download(request: Request, web: Web, administration: str | None = None) -> Response:
    """`administration`: only that administration's plans (the viewer's own); None: all."""
    fmt = str(request.path_params.get("fmt", ""))
    meeting_text = request.query_params.get("mote", "")
    try:
        meeting = date.fromisoformat(meeting_text) if meeting_text else None
    except ValueError:
        meeting = None
    if fmt not in FORMATS or (meeting_text and meeting is None):
        return _not_found(
            "Rapporten finns som docx, pdf, xlsx, html eller json; mötesdatum som ÅÅÅÅ-MM-DD."
        )
    with web.app.sessions() as session:
        slug = str(request.path_params["plan"])
        owner = session.scalar(select(Plan.administration).where(Plan.slug == slug))
        # Another administration's plan is not the viewer's to see: as if it did not exist.
        unknown = _not_found("Planen finns inte; välj en plan på översikten.")
        if administration is not None and owner != administration:
            return unknown
        try:
            report = report_for(web.app, session, slug, web.today(), meeting)
        except UnknownPlan:
            return unknown
    body = render_for(web.app, report, fmt)
    disposition = "inline" if fmt == "html" else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{file_name(report, fmt)}"',
        "Cache-Control": "no-store",
    }
    if fmt == "html":
        # The printable page is one file with its own print CSS (it is also saved and mailed),
        # so it needs inline styles; it has no script, and every text in it is escaped.
        headers["Content-Security-Policy"] = REPORT_CSP
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _not_found(message: str) -> HTMLResponse:
    return page("error.html.j2", 404, title="Rapporten finns inte", message=message)
