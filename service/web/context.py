"""What every handler needs: the service, the clock, CSRF, the limiter, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from service.app import App
from service.links import BadLink, Claim
from service.web.metrics import WebMetrics
from service.web.quick import GroupStore
from service.web.security import BadTokenLimiter, Csrf, client_address, form_path
from service.web.templating import render

if TYPE_CHECKING:
    from service.web.signin import SignIn

Clock = Callable[[], datetime]
T = TypeVar("T")

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
    "stand_in_over": (
        410,
        "Frånvaron är över",
        "Du fick länken som ersättare under en kollegas frånvaro. Frånvaron är slut, så "
        "länken gäller inte längre för kollegans aktiviteter: den ansvariga tar hand om dem "
        "själv igen. Kontakta kollegan om något behöver göras.",
    ),
}
LINK_PROBLEMS["kind"] = LINK_PROBLEMS["forged"]
GUESSES = frozenset({"forged", "kind"})


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
    # turns a queue of clicks into a long latency tail; one writer thread in the process
    # takes them in order instead (and spares 40 threads fighting over a lock and the GIL).
    # None, for PostgreSQL: its row locks already do the right thing, so any thread writes.
    writer: Executor | None = None
    # The common click's writes, with group commit (see service/web/quick.py).
    quick: GroupStore | None = None
    # Sign-in with the municipality's account, when [web.oidc] is set.
    signin: SignIn | None = None

    async def write(self, work: Callable[..., T], *args: Any) -> T:
        """Runs `work(*args)`, a function that writes to the store, off the event loop."""
        if self.writer is None:
            return await run_in_threadpool(work, *args)
        return await asyncio.get_running_loop().run_in_executor(self.writer, work, *args)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.app.local_date(self.clock())

    def rate_limited(self, request: Request) -> HTMLResponse | None:
        """429 while the client is over the limit; for requests without a link token.

        A token request is checked only once its token fails (in `bad_link`): someone guessing
        from the same address (one NAT, one proxy) must not lock out a valid link.
        """
        if "token" in request.path_params:
            return None
        if self.limiter.blocked(client_address(request), self.now()):
            return too_many()
        return None

    def bad_link(self, request: Request, reason: str) -> HTMLResponse:
        """Counts a guess against the client and answers with the matching page, or 429."""
        self.metrics.bad_tokens.labels(reason=reason).inc()
        client, now = client_address(request), self.now()
        if self.limiter.blocked(client, now):
            return too_many()
        # Expired and stale links are what honest people hold; only forgeries look like guessing.
        if reason in GUESSES:
            self.limiter.record(client, now)
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


def too_many() -> HTMLResponse:
    return page(
        "error.html.j2",
        429,
        title="För många felaktiga länkar",
        message="Vänta en minut och försök sedan igen med länken från mejlet.",
    )


def web_of(request: Request) -> Web:
    web = request.app.state.web
    assert isinstance(web, Web)
    return web


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return render(name, status_code, **context)


def form_page(
    request: Request, web: Web, name: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page whose forms post back to its own path, with their CSRF field (and cookie)."""
    cookie, fresh = web.csrf.cookie_value(request)
    response = page(
        name,
        status_code,
        csrf=web.csrf.field_value(cookie, form_path(request)),
        action_url=request.url.path,
        **context,
    )
    if fresh:
        web.csrf.set_cookie(response, cookie)
    return response


def stale_form(
    back_url: str = "",
    message: str = "Sidan var för gammal eller öppnades i en annan webbläsare. "
    "Öppna länken igen och skicka formuläret en gång till.",
) -> HTMLResponse:
    """The answer to a form whose CSRF field does not fit: nothing changed, try again."""
    return page(
        "error.html.j2",
        403,
        title="Formuläret kunde inte skickas",
        message=message,
        back_url=back_url,
    )
