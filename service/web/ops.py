"""/healthz and /metrics for whoever runs the service."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.availability import explain, sqlite_write_locked
from service.models import OutboxMessage, State
from service.web.context import web_of

log = logging.getLogger(__name__)
# How long the health check waits for the write lock: our own writes are short commits, so a
# lock held longer than this belongs to a stuck or foreign writer.
_LOCK_PROBE_SECONDS = 1.0


def healthz(request: Request) -> Response:
    web = web_of(request)
    try:
        with web.app.sessions() as session:
            last_tick = session.get(State, "last_tick")
            backlog = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            )
        # Reads go on under WAL while another process holds the write lock, and then no tick
        # can record anything: that is not healthy.
        locked = sqlite_write_locked(web.app.engine, _LOCK_PROBE_SECONDS)
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return JSONResponse(
            {
                "database": "error",
                "last_tick": None,
                "outbox_backlog": None,
                "message": explain(exc, web.app.config.database_url),
            },
            status_code=503,
        )
    if locked:
        log.warning("health check: the SQLite store is write-locked by another process")
        return JSONResponse(
            {
                "database": "locked",
                "last_tick": last_tick.value if last_tick else None,
                "outbox_backlog": int(backlog or 0),
                "message": "Databasen är låst för skrivning av en annan process; kontrollera "
                "vilken process som håller SQLite-filen öppen.",
            },
            status_code=503,
        )
    return JSONResponse(
        {
            "database": "ok",
            "last_tick": last_tick.value if last_tick else None,
            "outbox_backlog": int(backlog or 0),
        }
    )


def metrics(request: Request) -> Response:
    web = web_of(request)
    try:
        body = generate_latest(web.metrics.registry)
    except SQLAlchemyError:
        return Response("database unreachable\n", status_code=503, media_type="text/plain")
    return Response(body, media_type=CONTENT_TYPE_LATEST)
