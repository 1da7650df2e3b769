"""Dashboard pages: the personal read-only link, the signed-in person's own overview, and the
signed-in admin, who may act."""

from __future__ import annotations

import hmac
import logging
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service import completion, scope
from service.db import stored_id, transaction
from service.directory import stored_organisation
from service.links import DASHBOARD
from service.models import Occurrence, Person
from service.report.model import municipality_figures
from service.report.writers import COLUMNS, cell
from service.web import dashboard, reports, signin
from service.web.context import Web, page, web_of
from service.web.forms import form_fields
from service.web.items import validate
from service.web.security import CSRF_FIELD, client_address
from service.web.urls import activities_path
from service.web.viewer import Viewer, viewer_of

log = logging.getLogger(__name__)

ADMIN_COOKIE = "bv_admin"
LOGOUT_PATH = "/admin/logout"
ADMIN_MAX_AGE = 8 * 3600  # a working day; then sign in again


def _serializer(web: Web) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(web.session_key, salt="bevakning-admin")


def admin_user(request: Request) -> str | None:
    """Who is signed in: the trusted proxy header, else the signed session cookie."""
    web = web_of(request)
    if web.trusted_user_header:
        user = request.headers.get(web.trusted_user_header, "").strip()
        if user:
            return user
    signed_in = signin.current(request)
    if signed_in is not None and signed_in.admin:
        return signed_in.email
    raw = request.cookies.get(ADMIN_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(web).loads(raw, max_age=ADMIN_MAX_AGE)
    except BadSignature:
        return None
    return str(data.get("u")) if isinstance(data, dict) and data.get("u") else None


def _with_csrf(
    request: Request, web: Web, response: HTMLResponse, cookie: str, fresh: bool
) -> HTMLResponse:
    if fresh:
        web.csrf.set_cookie(response, cookie)
    return response


def dashboard_holder(request: Request, web: Web, session: Session) -> Person | Response:
    """The active person a personal dashboard link names, or the page that refuses the link."""
    if (limited := web.rate_limited(request)) is not None:
        return limited
    claim = web.read_claim(request, DASHBOARD)
    if isinstance(claim, HTMLResponse):
        return claim
    person = session.get(Person, claim.person_id)
    if person is None or not person.active:
        return web.bad_link(request, "stale")
    return person


def link_viewer(request: Request, web: Web, session: Session) -> Viewer | Response:
    """What the holder of a personal dashboard link may see, or the page refusing the link."""
    person = dashboard_holder(request, web, session)
    return viewer_of(session, person) if isinstance(person, Person) else person


def personal_dashboard(request: Request) -> Response:
    """The read-only link from the digest: what its holder oversees (service/scope.py); a head
    also enters indicator values there."""
    web = web_of(request)
    with web.app.sessions() as session:
        seen = link_viewer(request, web, session)
        if not isinstance(seen, Viewer):
            return seen
        return _dashboard_page(
            request,
            web,
            session,
            viewer=seen.person.name,
            admin=False,
            view=seen.view,
            scope_text=seen.scope_text,
        )


def admin_dashboard(request: Request) -> Response:
    web = web_of(request)
    user = admin_user(request)
    if user is None:
        return RedirectResponse("/admin/login", status_code=303)
    with web.app.sessions() as session:
        return _dashboard_page(request, web, session, viewer=user, admin=True)


def _dashboard_page(
    request: Request,
    web: Web,
    session: Session,
    *,
    viewer: str,
    admin: bool,
    view: scope.View | None = None,
    scope_text: str = "",
    mine: dict[str, Any] | None = None,
) -> HTMLResponse:
    today = web.today()
    filters = dashboard.Filters.parse(dict(request.query_params))
    if view is not None:
        full = view.administration if view.kind == scope.ADMINISTRATION else None
        filters = replace(filters, people=view.people, full_administration=full)
    board = dashboard.build(session, today, filters, web.app.calendars(session))
    # The whole municipality's view: progress per administration above the plans.
    municipality = admin or (view is not None and view.kind == scope.MUNICIPALITY)
    several = len(stored_organisation(session).administrations) > 1
    per_administration = (
        municipality_figures(session, today, tz=web.app.tz) if municipality and several else None
    )
    cookie, fresh = web.csrf.cookie_value(request)
    # Admins enter indicator values at /admin/indikator; a head on their own link's page.
    heads = view is not None and view.heads
    indicator_url = f"{request.url.path}/indikator" if heads else ""
    if admin:
        indicator_url = "/admin/indikator"
    response = page(
        "dashboard.html.j2",
        200,
        viewer=viewer,
        admin=admin,
        scope_text=scope_text,
        action_url=request.url.path,
        here=_without_notice(request.url.path, request.url.query),
        csrf=web.csrf.field_value(cookie, "/admin/klarmarkera") if admin else "",
        logout_csrf=web.csrf.field_value(cookie, LOGOUT_PATH) if admin else "",
        notice=request.query_params.get("klar", ""),
        indicator_notice=request.query_params.get("indikator", ""),
        report_base="/admin/rapport/" if admin else f"{request.url.path}/rapport/",
        # A report covers the whole plan: offered for the plans the viewer sees in full.
        may_report=lambda plan: view is None or view.covers_plan(plan.administration),
        may_enter=lambda plan: (
            bool(indicator_url) and (view is None or view.covers_plan(plan.administration))
        ),
        indicator_url=indicator_url,
        indicator_csrf=web.csrf.field_value(cookie, indicator_url) if indicator_url else "",
        report_formats=reports.LINKS,
        per_administration=per_administration,
        municipality_url=(
            f"/admin/{reports.MUNICIPALITY_FILE}"
            if admin
            else f"{request.url.path}/{reports.MUNICIPALITY_FILE}"
        ),
        figure_columns=COLUMNS,
        figure_cell=cell,
        # The signed-in person's own overview: their scope, links and the sign-out form.
        mine={**mine, "csrf": web.csrf.field_value(cookie, signin.SIGN_OUT_PATH)} if mine else None,
        **dashboard.template_context(board, today),
    )
    return _with_csrf(request, web, response, cookie, fresh)


def my_overview(request: Request) -> Response:
    """/mitt: what the signed-in person oversees (service/scope.py) and their own items."""
    web = web_of(request)
    user = signin.current(request)
    if user is None:
        return RedirectResponse(signin.SIGN_IN_PATH, status_code=303)
    with web.app.sessions() as session:
        person = signed_in_person(session, user.email)
        mine: dict[str, Any] = {"name": user.name, "admin": user.admin, "activities_url": ""}
        view: scope.View | None = None
        if person is None and not user.admin:  # deactivated since signing in
            return signin.not_in_directory()
        if person is None:  # an administrator who holds no items
            mine["scope"] = "hela förvaltningen"
        else:
            seen = viewer_of(session, person)
            view, mine["scope"] = seen.view, seen.scope_text
            mine["activities_url"] = activities_path(web.app, person.id, web.now())
        return _dashboard_page(
            request, web, session, viewer=user.name, admin=False, view=view, mine=mine
        )


def signed_in_person(session: Session, email: str) -> Person | None:
    return session.scalars(
        select(Person).where(func.lower(Person.email) == email.lower(), Person.active.is_(True))
    ).first()


def login_form(request: Request) -> Response:
    web = web_of(request)
    if admin_user(request):
        return RedirectResponse("/admin/oversikt", status_code=303)
    return _login_page(request, web, error="", status=200)


def _login_page(request: Request, web: Web, *, error: str, status: int) -> HTMLResponse:
    cookie, fresh = web.csrf.cookie_value(request)
    response = page(
        "login.html.j2",
        status,
        csrf=web.csrf.field_value(cookie, "/admin/login"),
        error=error,
        # With the municipality's sign-in, that is the way in; the password is for a store
        # without it.
        enabled=bool(web.admin_password) and web.signin is None,
        oidc=web.signin is not None,
    )
    return _with_csrf(request, web, response, cookie, fresh)


async def login(request: Request) -> Response:
    web = web_of(request)
    if (limited := web.rate_limited(request)) is not None:
        return limited
    fields = await form_fields(request)
    password = fields.get("password")
    submitted = fields.get(CSRF_FIELD, "")
    if not web.csrf.valid(request, submitted):
        return _login_page(request, web, error="Sidan var för gammal. Försök igen.", status=403)
    if not web.admin_password or web.signin is not None:
        return _login_page(request, web, error="Inloggning med lösenord är avstängd.", status=403)
    if not isinstance(password, str) or not hmac.compare_digest(
        password.encode(), web.admin_password.encode()
    ):
        # Wrong passwords count like bad tokens: the same limiter slows guessing down.
        web.limiter.record(client_address(request), web.now())
        log.warning("admin sign-in failed")
        return _login_page(request, web, error="Fel lösenord. Försök igen.", status=401)
    response = RedirectResponse("/admin/oversikt", status_code=303)
    response.set_cookie(
        ADMIN_COOKIE,
        _serializer(web).dumps({"u": "admin"}),
        max_age=ADMIN_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=web.app.public_url.startswith("https://"),
        path="/admin",
    )
    log.info("admin signed in")
    return response


async def logout(request: Request) -> Response:
    """POST only, with the CSRF field, as the sign-out of the municipality's account."""
    if (refused := await signin.sign_out_refused(request)) is not None:
        return refused
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/admin")
    if "session" in request.scope:
        request.session.clear()  # signed in with the municipality's account
    return response


async def admin_mark_done(request: Request) -> Response:
    web = web_of(request)
    user = admin_user(request)
    if user is None:
        return RedirectResponse("/admin/login", status_code=303)
    fields = await form_fields(request)
    if not web.csrf.valid(request, fields.get(CSRF_FIELD, "")):
        return page(
            "error.html.j2",
            403,
            title="Formuläret kunde inte skickas",
            message="Sidan var för gammal. Ladda om översikten och försök igen.",
            back_url="/admin/oversikt",
        )
    back = fields.get("next", "")
    if not back.startswith("/admin/oversikt"):
        back = "/admin/oversikt"  # never redirect off the site
    return await web.write(_admin_done, web, user, fields, back)


def _admin_done(web: Web, user: str, fields: dict[str, str], back: str) -> Response:
    occurrence_id = fields.get("occurrence_id", "")
    now, today = web.now(), web.today()
    with transaction(web.app.sessions) as session:
        wanted = stored_id(occurrence_id)
        occ = session.get(Occurrence, wanted) if wanted is not None else None
        if occ is None:
            return page(
                "error.html.j2",
                404,
                title="Aktiviteten finns inte",
                message="Den valda aktiviteten finns inte. Ladda om översikten.",
                back_url="/admin/oversikt",
            )
        state = validate("done", fields, today=today, plan_start=occ.item.plan.start)
        if state.errors:
            return page(
                "error.html.j2",
                400,
                title="Datumet behöver rättas",
                message=next(iter(state.errors.values())),
                back_url=back,
            )
        person = occ.person
        outcome = completion.mark_done(
            session,
            occ.id,
            by=person,
            on=date.fromisoformat(state.values["done_on"]),
            via="admin",
            now=now,
            comment=state.values.get("comment", ""),
            actor=f"admin:{user}",
        )
        if outcome.needs_sync:
            web.app.sync(session, now)
        web.metrics.item_posts.labels(
            action="done", outcome="admin" if outcome.changed else "already"
        ).inc()
    back = _without_notice(urlsplit(back).path, urlsplit(back).query)
    sep = "&" if "?" in back else "?"
    result = "ja" if outcome.changed else "redan"
    return RedirectResponse(f"{back}{sep}{urlencode({'klar': result})}", status_code=303)


def _without_notice(path: str, query: str) -> str:
    kept = [(k, v) for k, v in parse_qsl(query) if k != "klar"]
    return f"{path}?{urlencode(kept)}" if kept else path
