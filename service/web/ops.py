"""/healthz and /metrics for whoever runs the service."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.models import OutboxMessage, State
from service.web.context import web_of

log = logging.getLogger(__name__)


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
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return JSONResponse(
            {"database": "error", "last_tick": None, "outbox_backlog": None}, status_code=503
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
