"""The plan report as a download from the dashboard: the head's link and the signed-in admin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service import scope
from service.models import Plan
from service.report.model import UnknownPlan, municipality_figures
from service.report.service import render_for, report_for
from service.report.writers import FORMATS, MEDIA_TYPES, file_name, render_municipality_json
from service.web.context import Web, page, web_of
from service.web.viewer import Viewer, viewer_of

REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
MUNICIPALITY_FILE = "nyckeltal-per-forvaltning.json"
# The links above each plan on the dashboard, in this order.
LINKS = (
    ("docx", "Word"),
    ("pdf", "PDF"),
    ("xlsx", "Excel"),
    ("html", "Webbsida"),
    ("json", "JSON"),
)


def personal_report(request: Request) -> Response:
    from service.web.admin import link_viewer  # admin links to these downloads

    web = web_of(request)
    with web.app.sessions() as session:
        seen = link_viewer(request, web, session)
        if not isinstance(seen, Viewer):
            return seen
    return _download(request, web, lambda plan: seen.view.covers_plan(plan.administration))


def admin_report(request: Request) -> Response:
    from service.web.admin import admin_user

    web = web_of(request)
    if admin_user(request) is None:
        return RedirectResponse("/admin/login", status_code=303)
    return _download(request, web, lambda _plan: True)


def _signed_in_view(request: Request, session: Session) -> scope.View | Response | None:
    """What the person signed in with the municipality's account may see: None for an
    administrator (everything), or the page to show instead (sign in; no longer in the
    directory)."""
    from service.web.admin import signed_in_person
    from service.web.signin import SIGN_IN_PATH, current, not_in_directory

    user = current(request)
    if user is None:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    if user.admin:
        return None
    person = signed_in_person(session, user.email)
    if person is None:  # deactivated since signing in
        return not_in_directory()
    return viewer_of(session, person).view


def signed_in_report(request: Request) -> Response:
    """From /mitt: anyone signed in with the municipality's account."""
    web = web_of(request)
    with web.app.sessions() as session:
        view = _signed_in_view(request, session)
    if isinstance(view, Response):
        return view
    return _download(
        request, web, lambda plan: view is None or view.covers_plan(plan.administration)
    )


# Anyone else who asks for the figures per administration (`report --all`) is told where they are.
_FIGURES_ARE_THE_KOMMUNDIREKTORS = (
    "Nyckeltalen per förvaltning finns på kommundirektörens översikt."
)


def personal_municipality(request: Request) -> Response:
    """The figures per administration (`report --all`) from the kommundirektör's link."""
    from service.web.admin import link_viewer

    web = web_of(request)
    with web.app.sessions() as session:
        seen = link_viewer(request, web, session)
        if not isinstance(seen, Viewer):
            return seen
        if seen.view.kind != scope.MUNICIPALITY:
            return _not_found(_FIGURES_ARE_THE_KOMMUNDIREKTORS)
        return _municipality(web, session)


def signed_in_municipality(request: Request) -> Response:
    """From /mitt: the kommundirektör (or an administrator) signed in."""
    web = web_of(request)
    with web.app.sessions() as session:
        view = _signed_in_view(request, session)
        if isinstance(view, Response):
            return view
        if view is not None and view.kind != scope.MUNICIPALITY:
            return _not_found(_FIGURES_ARE_THE_KOMMUNDIREKTORS)
        return _municipality(web, session)


def admin_municipality(request: Request) -> Response:
    from service.web.admin import admin_user

    web = web_of(request)
    if admin_user(request) is None:
        return RedirectResponse("/admin/login", status_code=303)
    with web.app.sessions() as session:
        return _municipality(web, session)


def _municipality(web: Web, session: Session) -> Response:
    today = web.today()
    body = render_municipality_json(municipality_figures(session, today, tz=web.app.tz))
    return Response(
        body,
        media_type=MEDIA_TYPES["json"],
        headers={
            "Content-Disposition": (
                f'attachment; filename="nyckeltal-per-forvaltning-{today.isoformat()}.json"'
            ),
            "Cache-Control": "no-store",
        },
    )


def _download(request: Request, web: Web, may_see: Callable[[Plan], bool]) -> Response:
    """The report of the plan in the path, when `may_see` it; another administration's plan
    reads as unknown, as on the dashboard where it is not listed."""
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
    slug = str(request.path_params["plan"])
    if "\x00" in slug:  # in no plan's name; PostgreSQL refuses it even in a query
        return _not_found(UNKNOWN_PLAN)
    with web.app.sessions() as session:
        plan = session.scalars(select(Plan).where(Plan.slug == slug)).first()
        if plan is not None and not may_see(plan):
            return _not_found(UNKNOWN_PLAN)
        try:
            report = report_for(web.app, session, slug, web.today(), meeting)
        except UnknownPlan:
            return _not_found(UNKNOWN_PLAN)
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


UNKNOWN_PLAN = "Planen finns inte; välj en plan på översikten."


def _not_found(message: str) -> HTMLResponse:
    return page("error.html.j2", 404, title="Rapporten finns inte", message=message)
