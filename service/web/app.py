"""The web app: item pages behind mail links, the dashboard, calendar feeds, health, metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.app import App
from service.db import make_engine
from service.links import signing_keys
from service.web import admin, feeds, items, ops
from service.web.context import Clock, GeneralPath, Web, page
from service.web.metrics import StoreCollector, WebMetrics
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
        quick=QuickStore(app) if sqlite else None,
    )
    metrics.watch_store(StoreCollector(app, web.today))
    routes = [
        Route("/", home, methods=["GET"]),
        Route("/k/{token}", items.show_item, methods=["GET"]),  # HEAD comes with GET
        Route("/k/{token}", items.post_item, methods=["POST"]),
        Route("/oversikt/{token}", admin.personal_dashboard, methods=["GET"]),
        Route("/admin/login", admin.login_form, methods=["GET"]),
        Route("/admin/login", admin.login, methods=["POST"]),
        Route("/admin/logout", admin.logout, methods=["POST"]),
        Route("/admin/oversikt", admin.admin_dashboard, methods=["GET"]),
        Route("/admin/klarmarkera", admin.admin_mark_done, methods=["POST"]),
        Route("/kalender/{token}.ics", feeds.calendar_feed, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/metrics", ops.metrics, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    starlette = Starlette(
        routes=routes,
        # Headers outermost, so error pages carry them too; errors become a Swedish page.
        middleware=[Middleware(SecurityHeaders), Middleware(ErrorPage)],
        exception_handlers={HTTPException: http_error},
    )
    starlette.state.web = web
    return starlette


T = TypeVar("T")


@dataclass
class _Group:
    """The writes of one turn of the event loop: one transaction, committed together."""

    connection: Connection
    transaction: RootTransaction
    committed: asyncio.Future[bool]
    writes: int = 0
    failed: bool = False


class QuickStore:
    """SQLite writes made on the event loop itself (the common click, see items.post_item).

    Clicks handled in the same turn of the loop share one transaction, committed once at the
    end of the turn (group commit); each answer waits for that commit. A commit and a
    connection per click had cost as much as all of the click's statements together. Should
    anything in a group fail, nothing of it stands: the transaction is rolled back and every
    click in it goes to the general path, which redoes it in a transaction of its own.

    Its connections never wait for the write lock (busy_timeout=0: a busy store sends the click
    to the writer thread instead), and never checkpoint the WAL either: a checkpoint copies the
    log into the database file and syncs it, and on the loop that stalled every request for
    tens of milliseconds. A thread does it instead, every `checkpoint_every` writes, without
    blocking readers or writers (PASSIVE).
    """

    def __init__(self, app: App, *, checkpoint_every: int = 500) -> None:
        self.engine = make_engine(app.config.database_url)
        self.checkpoint_every = checkpoint_every
        self._checkpoint_engine = app.engine  # connections that wait for locks: off the loop
        self._writes = 0
        self._running: asyncio.Future[None] | None = None
        self._group: _Group | None = None

        @event.listens_for(self.engine, "connect")
        def no_waiting(dbapi_connection: Any, _record: Any) -> None:
            # Runs after make_engine's own pragmas, so these win.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

    async def write(self, work: Callable[[Connection], T | None]) -> T | None:
        """Runs `work` in this turn's transaction; its result once that is committed.

        `work` returns None when it wrote nothing; then so does this, at once. None too when
        the group could not be committed: the caller then takes the general path.
        """
        group = self._group or self._open()
        if group is None or group.failed:
            return None
        try:
            result = work(group.connection)
        except Exception as exc:
            # Its statements may have written half: nobody's writes in this group stand.
            group.failed = True
            if isinstance(exc, SQLAlchemyError | GeneralPath):
                log.info("quick write failed (%s); the general path takes it", type(exc).__name__)
                return None
            raise
        if result is None:
            return None
        group.writes += 1
        # Shielded: the group's clicks share this future, and one request cancelled (a client
        # gone, a shutdown) must not cancel the answer of the others.
        return result if await asyncio.shield(group.committed) else None

    def _open(self) -> _Group | None:
        loop = asyncio.get_running_loop()
        try:
            connection = self.engine.connect()
        except SQLAlchemyError:
            log.warning("cannot open the store for a quick write", exc_info=True)
            return None
        group = _Group(connection, connection.begin(), loop.create_future())
        self._group = group
        # Callbacks already due in this turn run first: the clicks among them join the group.
        loop.call_soon(self._commit, group)
        return group

    def _commit(self, group: _Group) -> None:
        self._group = None
        committed = False
        try:
            if group.failed or not group.writes:
                group.transaction.rollback()
            else:
                group.transaction.commit()
                committed = True
        except SQLAlchemyError:
            log.warning("quick writes not committed; the general path takes them", exc_info=True)
        finally:
            group.connection.close()
        if not group.committed.done():
            group.committed.set_result(committed)
        if committed:
            self.wrote(group.writes)

    def wrote(self, count: int = 1) -> asyncio.Future[None] | None:
        """Counts committed writes; called on the event loop. Returns the checkpoint it
        started, if it started one."""
        self._writes += count
        if self._writes < self.checkpoint_every:
            return None
        if self._running is not None and not self._running.done():
            return None
        self._writes = 0
        self._running = asyncio.get_running_loop().run_in_executor(None, self.checkpoint)
        return self._running

    def checkpoint(self) -> None:
        try:
            with self._checkpoint_engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next one catches up; other connections checkpoint too
            log.warning("WAL checkpoint failed", exc_info=True)


def home(request: Request) -> Response:
    return page("home.html.j2")


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
