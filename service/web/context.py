"""What every handler needs: the service, the clock, CSRF, the limiter, metrics."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from service.app import App
from service.links import BadLink, Claim
from service.web.metrics import WebMetrics
from service.web.security import BadTokenLimiter, Csrf, client_address
from service.web.templating import render

Clock = Callable[[], datetime]

# Why a link does not work, in the words the page uses. Forged and wrong-kind tokens read
# the same: telling them apart would only help someone guessing.
LINK_PROBLEMS: dict[str, tuple[int, str, str]] = {
    "forged": (
        400,
        "Länken är felaktig",
        "Länken går inte att läsa. Kontrollera att hela adressen från mejlet kom med, "
        "eller använd länken i nästa påminnelse.",
    ),
    "expired": (
        410,
        "Länken har gått ut",
        "Länken är för gammal för att användas. Nästa mejl från Bevakning innehåller en ny länk.",
    ),
    "stale": (
        410,
        "Länken gäller inte längre",
        "Aktiviteten har ändrats eller fått en ny ansvarig sedan länken skickades. "
        "Använd länken i det senaste mejlet.",
    ),
}
LINK_PROBLEMS["kind"] = LINK_PROBLEMS["forged"]


@dataclass
class Web:
    app: App
    clock: Clock
    csrf: Csrf
    limiter: BadTokenLimiter
    metrics: WebMetrics
    admin_password: str
    trusted_user_header: str
    session_key: str
    # SQLite lets one writer in at a time and makes the others sleep and retry, which
    # turns a queue of clicks into a long latency tail; a lock in the process queues them
    # fairly instead. PostgreSQL gets no lock: its row locks already do the right thing.
    write_lock: AbstractContextManager[object] = field(default_factory=nullcontext)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.app.local_date(self.clock())

    def rate_limited(self, request: Request) -> HTMLResponse | None:
        if self.limiter.blocked(client_address(request), self.now()):
            return page(
                "error.html.j2",
                429,
                title="För många felaktiga länkar",
                message="Vänta en minut och försök sedan igen med länken från mejlet.",
            )
        return None

    def bad_link(self, request: Request, reason: str) -> HTMLResponse:
        """Counts the failure against the client and answers with the matching page."""
        self.limiter.record(client_address(request), self.now())
        self.metrics.bad_tokens.labels(reason=reason).inc()
        status, title, message = LINK_PROBLEMS[reason]
        return page("error.html.j2", status, title=title, message=message)

    def read_claim(self, request: Request, kind: str) -> Claim | HTMLResponse:
        token = str(request.path_params.get("token", ""))
        try:
            return self.app.signer.read(token, kind, self.now())
        except BadLink as exc:
            return self.bad_link(request, exc.reason)
        except (ValueError, KeyError, TypeError):
            # A validly signed payload of an unexpected shape: ours, but not for this page.
            return self.bad_link(request, "forged")


def web_of(request: Request) -> Web:
    web = request.app.state.web
    assert isinstance(web, Web)
    return web


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return render(name, status_code, **context)
