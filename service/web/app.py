"""The web app: item pages behind mail links, "Mina aktiviteter", the dashboard, calendar
feeds, health, metrics."""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.app import App
from service.links import signing_keys
from service.web import (
    activities,
    admin,
    feeds,
    indicator_form,
    items,
    ops,
    own_settings,
    reports,
    signin,
    undo,
)
from service.web.context import Clock, Web, page, web_of
from service.web.metrics import StoreCollector, WebMetrics
from service.web.quick import group_store
from service.web.security import (
    BadTokenLimiter,
    Csrf,
    SecurityHeaders,
    install_log_redaction,
    redact,
)

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(app: App, *, clock: Clock | None = None) -> Starlette:
    install_log_redaction()
    settings = app.config.section("web")
    keys = signing_keys(
        str(settings.get("secret_keys", "")), app.config.base_dir / "var" / "secret.key"
    )
    metrics = WebMetrics()
    sqlite = app.engine.dialect.name == "sqlite"
    web = Web(
        app=app,
        clock=clock or utc_now,
        csrf=Csrf(keys[0], secure=app.public_url.startswith("https://")),
        limiter=BadTokenLimiter(int(settings.get("bad_token_limit_per_minute", 10))),
        metrics=metrics,
        admin_password=str(settings.get("admin_password", "")),
        trusted_user_header=str(settings.get("trusted_user_header", "")),
        session_key=keys[0],
        writer=ThreadPoolExecutor(1, thread_name_prefix="bevakning-writer") if sqlite else None,
        quick=group_store(app),
    )
    oidc = signin.OidcSettings.from_config(app.config)
    if oidc.enabled:
        web.signin = signin.SignIn(oidc, app.public_url)
    metrics.watch_store(StoreCollector(app, web.today))
    routes = [
        Route("/", home, methods=["GET"]),
        Route("/k/{token}", items.show_item, methods=["GET"]),  # HEAD comes with GET
        Route("/k/{token}", items.post_item, methods=["POST"]),
        Route("/angra/{token}", undo.show_undo, methods=["GET"]),
        Route("/angra/{token}", undo.post_undo, methods=["POST"]),
        Route("/mina/{token}", activities.show_activities, methods=["GET"]),
        Route("/mina/{token}", activities.post_activities, methods=["POST"]),
        Route("/oversikt/{token}", admin.personal_dashboard, methods=["GET"]),
        Route(signin.SIGN_IN_PATH, signin.sign_in, methods=["GET"]),
        Route(signin.CALLBACK_PATH, signin.callback, methods=["GET"]),
        Route(signin.SIGN_OUT_PATH, signin.sign_out, methods=["POST"]),
        Route("/mitt", admin.my_overview, methods=["GET"]),
        Route("/admin/login", admin.login_form, methods=["GET"]),
        Route("/admin/login", admin.login, methods=["POST"]),
        Route(admin.LOGOUT_PATH, admin.logout, methods=["POST"]),
        Route("/admin/oversikt", admin.admin_dashboard, methods=["GET"]),
        Route("/oversikt/{token}/rapport/{plan}.{fmt}", reports.personal_report, methods=["GET"]),
        Route(
            f"/oversikt/{{token}}/{reports.MUNICIPALITY_FILE}",
            reports.personal_municipality,
            methods=["GET"],
        ),
        Route(f"/admin/{reports.MUNICIPALITY_FILE}", reports.admin_municipality, methods=["GET"]),
        Route(
            f"/mitt/{reports.MUNICIPALITY_FILE}", reports.signed_in_municipality, methods=["GET"]
        ),
        Route("/admin/rapport/{plan}.{fmt}", reports.admin_report, methods=["GET"]),
        Route("/mitt/rapport/{plan}.{fmt}", reports.signed_in_report, methods=["GET"]),
        Route(indicator_form.PATH, indicator_form.post_value, methods=["POST"]),
        Route(indicator_form.PERSONAL_PATH, indicator_form.post_personal_value, methods=["POST"]),
        Route(indicator_form.SIGNED_IN_PATH, indicator_form.post_signed_in_value, methods=["POST"]),
        Route("/admin/klarmarkera", admin.admin_mark_done, methods=["POST"]),
        Route("/kalender/{token}.ics", feeds.calendar_feed, methods=["GET"]),
        Route("/installningar/{token}", own_settings.show_settings, methods=["GET"]),
        Route("/installningar/{token}", own_settings.post_settings, methods=["POST"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/metrics", ops.metrics, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(ErrorPage)]
    if web.signin is not None:
        # Only with sign-in: a mail link's click needs no session and pays nothing for one.
        middleware.append(
            Middleware(
                SessionMiddleware,
                secret_key=hashlib.sha256(b"bevakning-session|" + keys[0].encode()).hexdigest(),
                session_cookie="bv_session",
                max_age=oidc.session_hours * 3600,
                same_site="lax",  # the provider's redirect back is a cross-site GET
                https_only=app.public_url.startswith("https://"),
            )
        )
    starlette = Starlette(
        routes=routes,
        # Headers outermost, so error pages carry them too; errors become a Swedish page.
        middleware=middleware,
        exception_handlers={HTTPException: http_error},
    )
    starlette.state.web = web
    return starlette


def home(request: Request) -> Response:
    return page("home.html.j2", signin=web_of(request).signin is not None)


def no_icon(request: Request) -> Response:
    # Browsers ask for it on every page; an empty answer keeps 404s out of the logs.
    return Response(status_code=204)


HTTP_PAGES = {
    404: ("Sidan finns inte", "Adressen leder inte till någon sida. Kontrollera att hela "
          "länken från mejlet kom med."),
    405: ("Det går inte att göra så här", "Sidan tar inte emot den sortens anrop. "
          "Öppna länken från mejlet i stället."),
    400: ("Formuläret kunde inte läsas", "Det som skickades var inte ett formulär från "
          "Bevakning. Öppna länken från mejlet och försök igen."),
    413: ("För mycket text", "Formuläret innehöll mer text än Bevakning tar emot. Korta "
          "kommentaren och försök igen."),
}  # fmt: skip


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title, message = HTTP_PAGES.get(exc.status_code, ("Något gick fel", "Försök igen om en stund."))
    response = page("error.html.j2", exc.status_code, title=title, message=message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value  # e.g. Allow on 405
    return response


class ErrorPage:
    """Turns an unexpected exception into a plain Swedish page, logged with the path redacted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), redact(scope["path"]))
            if started:
                raise
            response = page(
                "error.html.j2",
                500,
                title="Något gick fel",
                message="Ingenting har ändrats. Försök igen om en stund; "
                "om felet kvarstår, kontakta utvecklingschefen.",
            )
            await response(scope, receive, send)
