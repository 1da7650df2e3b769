"""Headers, CSRF, bad-token rate limiting and token redaction in logs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
CSRF_COOKIE = "bv_csrf"
CSRF_FIELD = "csrf"


class SecurityHeaders:
    """Adds the headers every response needs; pure ASGI so it costs little per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = [
                    (b"content-security-policy", CSP.encode()),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    # Token pages carry personal data and a bearer URL: no cache may keep them.
                    (b"cache-control", b"public, max-age=3600" if static else b"no-store"),
                ]
                headers.extend((k, v) for k, v in wanted if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    """Double-submit protection: a random cookie plus a form field bound to it and the path.

    The cookie is SameSite=Lax, so a form posted from another site arrives without it, while
    a link followed from webmail still carries it: under Strict each such link got a new
    cookie, and forms in tabs opened before it failed. The field is an HMAC of cookie and
    path, so a value lifted from one page does not fit another. The mark-done token in the
    URL is a secret too, but it travels in mail and through scanners, so it is not enough on
    its own.
    """

    def __init__(self, key: str, *, secure: bool) -> None:
        self._key = hashlib.sha256(b"bevakning-csrf|" + key.encode()).digest()
        self._secure = secure

    def cookie_value(self, request: Request) -> tuple[str, bool]:
        """The client's cookie value, or a new one (True: it must be set on the response)."""
        current = request.cookies.get(CSRF_COOKIE, "")
        if re.fullmatch(r"[A-Za-z0-9_\-]{32,64}", current):
            return current, False
        return secrets.token_urlsafe(32), True

    def field_value(self, cookie: str, path: str) -> str:
        return hmac.new(self._key, f"{cookie}|{path}".encode(), hashlib.sha256).hexdigest()

    def set_cookie(self, response: Response, cookie: str) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            httponly=True,
            samesite="lax",
            secure=self._secure,
            path="/",
        )

    def valid(self, request: Request, submitted: str) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not submitted or not same_origin(request):
            return False
        # As bytes: compare_digest refuses a str that is not ASCII, and a form may send any.
        expected = self.field_value(cookie, form_path(request)).encode()
        return hmac.compare_digest(expected, submitted.encode("utf-8", "replace"))


def form_path(request: Request) -> str:
    """The path a form is bound to. From the scope: building request.url for it took longer
    than checking the CSRF value itself."""
    return str(request.scope["path"])


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another origin."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # Under Referrer-Policy: no-referrer, Chromium sends "Origin: null" even for our own
        # forms, and old clients send none; the SameSite cookie check still applies then.
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


class BadTokenLimiter:
    """Counts bad tokens per client address over the last minute; over the limit means 429."""

    def __init__(self, limit: int, *, window: timedelta = timedelta(minutes=1)) -> None:
        self.limit = limit
        self.window = window
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_clients = 10_000  # a flood from many addresses must not grow memory forever

    def blocked(self, client: str, now: datetime) -> bool:
        if self.limit <= 0:
            return False
        with self._lock:
            hits = self._seen.get(client)
            if hits is None:
                return False
            self._prune(hits, now)
            return len(hits) >= self.limit

    def record(self, client: str, now: datetime) -> None:
        with self._lock:
            hits = self._seen.setdefault(client, deque())
            self._seen.move_to_end(client)
            self._prune(hits, now)
            hits.append(now)
            while len(self._seen) > self._max_clients:
                self._seen.popitem(last=False)

    def _prune(self, hits: deque[datetime], now: datetime) -> None:
        while hits and now - hits[0] >= self.window:
            hits.popleft()


# /k/<token>, /mina/<token>, /oversikt/<token>, /kalender/<token>.ics: the token is a bearer
# secret.
_TOKEN_PATH = re.compile(r"(/(?:k|mina|oversikt|kalender)/)[^/?#\s\"']+")


# The provider's answer carries a one-time code and the state: not for the logs either.
_SIGN_IN_ANSWER = re.compile(r"(/logga-in/svar\?)[^\s\"']+")


def redact(text: str) -> str:
    return _SIGN_IN_ANSWER.sub(r"\1[dolt]", _TOKEN_PATH.sub(r"\1[dolt]", text))


class RedactTokens(logging.Filter):
    """Rewrites token paths in log records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


_REDACTING_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "service.web")


def install_log_redaction() -> None:
    """Idempotent: the filter sits on the loggers uvicorn and this package write to."""
    for name in _REDACTING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def client_address(request: Request) -> str:
    # uvicorn's proxy_headers put the real client here when the proxy is in
    # [web] forwarded_allow_ips.
    return request.client.host if request.client else "unknown"


Clock = Callable[[], datetime]
