"""Sign-in with the municipality's account (OpenID Connect), the session, and sign-out.

Authlib does the protocol: discovery, PKCE (S256), state and nonce, and the id_token's
signature (the provider's JWKS), issuer, audience and expiry. A sign-in's state, nonce and code
verifier wait in the session (a signed cookie) and are used once, so a replayed answer, or a
token minted for another sign-in, is refused. The session then names who signed in and when;
it ends [web.oidc] session_hours after the sign-in, however often the cookie is renewed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc.errors import JoseError
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.config import Config
from service.models import Person
from service.web.context import page, stale_form, web_of

log = logging.getLogger(__name__)

SESSION_USER = "konto"
SIGN_IN_PATH = "/logga-in"
CALLBACK_PATH = "/logga-in/svar"
SIGN_OUT_PATH = "/logga-ut"
PROVIDER = "kommun"


@dataclass(frozen=True)
class OidcSettings:
    discovery_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: str = "openid email profile"
    email_claims: tuple[str, ...] = ("email", "preferred_username", "upn")
    admin_group_claim: str = "groups"
    admin_groups: frozenset[str] = frozenset()
    admin_emails: frozenset[str] = frozenset()
    session_hours: int = 8

    @classmethod
    def from_config(cls, config: Config) -> OidcSettings:
        s = config.section("web.oidc")
        return cls(
            discovery_url=str(s.get("discovery_url", "")).strip(),
            client_id=str(s.get("client_id", "")).strip(),
            client_secret=str(s.get("client_secret", "")),
            scopes=str(s.get("scopes", cls.scopes)),
            email_claims=tuple(str(c) for c in s.get("email_claims", cls.email_claims)),
            admin_group_claim=str(s.get("admin_group_claim", cls.admin_group_claim)),
            admin_groups=frozenset(str(g) for g in s.get("admin_groups", [])),
            admin_emails=frozenset(str(e).strip().lower() for e in s.get("admin_emails", [])),
            session_hours=int(s.get("session_hours", cls.session_hours)),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.discovery_url and self.client_id)


@dataclass(frozen=True)
class SignedIn:
    """Who the session names."""

    email: str
    name: str
    admin: bool
    at: int  # when they signed in, in Unix seconds


def email_of(claims: Mapping[str, Any], settings: OidcSettings) -> str:
    for name in settings.email_claims:
        value = claims.get(name)
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()
    return ""


def is_admin(claims: Mapping[str, Any], email: str, settings: OidcSettings) -> bool:
    """An administrator by a group in the configured claim, or by address."""
    if email and email in settings.admin_emails:
        return True
    groups = claims.get(settings.admin_group_claim) if settings.admin_group_claim else None
    if isinstance(groups, str):
        groups = [groups]
    return isinstance(groups, list) and any(str(g) in settings.admin_groups for g in groups)


class SignIn:
    """The provider's client, made once per app: it keeps the discovery document and JWKS."""

    def __init__(self, settings: OidcSettings, public_url: str) -> None:
        self.settings = settings
        self.callback_url = public_url.rstrip("/") + CALLBACK_PATH
        oauth = OAuth()
        oauth.register(
            name=PROVIDER,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=settings.discovery_url,
            client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256"},
        )
        self.client = oauth.create_client(PROVIDER)


def current(request: Request) -> SignedIn | None:
    """The signed-in person, or None; a session older than session_hours is ended here."""
    web = web_of(request)
    if web.signin is None or "session" not in request.scope:
        return None
    raw = request.session.get(SESSION_USER)
    if not isinstance(raw, dict):
        return None
    try:
        user = SignedIn(str(raw["e"]), str(raw["n"]), bool(raw["a"]), int(raw["t"]))
    except (KeyError, TypeError, ValueError):
        request.session.pop(SESSION_USER, None)
        return None
    age = web.now().timestamp() - user.at
    if not 0 <= age <= web.signin.settings.session_hours * 3600:
        request.session.pop(SESSION_USER, None)
        return None
    return user


def refused(status: int = 403) -> Response:
    return page(
        "error.html.j2",
        status,
        title="Inloggningen gick inte igenom",
        message="Inloggningen kunde inte bekräftas. Försök igen från början; om det inte "
        "går, kontakta den som driftar Bevakning.",
        back_url=SIGN_IN_PATH,
    )


async def sign_in(request: Request) -> Response:
    web = web_of(request)
    if web.signin is None:
        return RedirectResponse("/admin/login", status_code=303)
    try:
        response: Response = await web.signin.client.authorize_redirect(
            request, web.signin.callback_url
        )
    except Exception:  # the provider's discovery document could not be read
        log.exception("OIDC sign-in could not start")
        return unavailable()
    return response


def unavailable() -> Response:
    return page(
        "error.html.j2",
        503,
        title="Inloggningen är inte tillgänglig",
        message="Kommunens inloggning svarar inte just nu. Försök igen om en stund.",
        back_url=SIGN_IN_PATH,
    )


async def callback(request: Request) -> Response:
    web = web_of(request)
    if web.signin is None:
        return RedirectResponse("/admin/login", status_code=303)
    if (limited := web.rate_limited(request)) is not None:
        return limited
    settings = web.signin.settings
    try:
        token = await web.signin.client.authorize_access_token(request)
    except (OAuthError, JoseError, ValueError) as exc:
        # A wrong issuer, audience or nonce, an expired or forged token, a replayed state.
        log.warning("OIDC sign-in refused: %s", type(exc).__name__)
        web.limiter.record(request.client.host if request.client else "unknown", web.now())
        return refused()
    except httpx2.HTTPError as exc:
        # The provider's token or key endpoint did not answer: its fault, not the person's,
        # so no mark against the address, and a page that says to try again.
        log.warning("OIDC provider unreachable at sign-in: %s", type(exc).__name__)
        return unavailable()
    claims = dict(token.get("userinfo") or {})
    email = email_of(claims, settings)
    admin = is_admin(claims, email, settings)
    with web.app.sessions() as session:
        person = (
            session.scalars(
                select(Person).where(func.lower(Person.email) == email, Person.active.is_(True))
            ).first()
            if email
            else None
        )
        name = person.name if person else str(claims.get("name") or email)
    if person is None and not admin:
        log.warning("OIDC sign-in of someone not in the directory")
        return not_in_directory()
    request.session.clear()  # nothing of an earlier session carries over
    request.session[SESSION_USER] = {
        "e": email,
        "n": name,
        "a": admin,
        "t": int(web.now().timestamp()),
    }
    log.info("signed in with OIDC%s", " as administrator" if admin else "")
    return RedirectResponse("/mitt", status_code=303)


async def sign_out_refused(request: Request) -> Response | None:
    """The stale-form page when a sign-out's form lacks its CSRF field, else None: neither a
    link nor another site's form can sign anyone out (this one or the administrator's)."""
    from service.web.forms import form_fields
    from service.web.security import CSRF_FIELD

    fields = await form_fields(request)
    if web_of(request).csrf.valid(request, fields.get(CSRF_FIELD, "")):
        return None
    return stale_form(message="Sidan var för gammal. Ladda om sidan och logga ut igen.")


async def sign_out(request: Request) -> Response:
    """POST only, with the CSRF field."""
    if (refused_page := await sign_out_refused(request)) is not None:
        return refused_page
    if "session" in request.scope:
        request.session.clear()
    return RedirectResponse("/", status_code=303)


def not_in_directory() -> Response:
    """The page for an account the directory does not hold (or no longer holds: someone
    deactivated while signed in sees nothing more than a stranger would)."""
    return page(
        "error.html.j2",
        403,
        title="Du finns inte i Bevakning",
        message="Inloggningen lyckades, men ditt konto finns inte i Bevakningens katalog. "
        "Kontakta den som driftar Bevakning om du ska ha aktiviteter här.",
    )
