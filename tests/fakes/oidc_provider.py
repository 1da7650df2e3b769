"""Enough of an OpenID Connect provider (as Entra ID speaks it) for the sign-in tests.

- GET  /.well-known/openid-configuration   discovery
- GET  /jwks                                the signing key's public half
- POST /token                               code -> access token + an RS256-signed id_token
- GET  /authorize                           signs `next_sign_in` in at once (browser tests)

The browser's visit to the authorization endpoint is `authorize(url, ...)`: it reads the
request as a provider would (client id, redirect URI, state, nonce, PKCE challenge), and
returns the redirect back to the app with a one-time code. The token endpoint checks the
client's secret and the PKCE verifier against that challenge. What goes into the id_token can
be bent per sign-in (`claims=`, `nonce=`) to test what the app must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.http_server import HTTPReply, HTTPRequest, LocalHTTPServer

CLIENT_ID = "bevakning-test-klient"
CLIENT_SECRET = "hemligt-klientlosen"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    claims: dict[str, Any]
    used: bool = False


class OidcProvider(LocalHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.grants: dict[str, _Grant] = {}
        # Who the browser "is" at GET /authorize (a real browser test signs in as them).
        self.next_sign_in: dict[str, Any] = {}

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def settings(self, **extra: object) -> dict[str, object]:
        """An app's [web.oidc] section for this provider."""
        return {
            "discovery_url": self.discovery_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            **extra,
        }

    def authorize(
        self,
        url: str,
        *,
        email: str,
        name: str = "",
        groups: list[str] | None = None,
        nonce: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """The provider's answer to the browser: the app's redirect URI with code and state."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(f"{self.base_url}/authorize?")
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
        assert "openid" in query["scope"].split()
        now = int(time.time())
        minted = {
            "iss": self.issuer,
            "sub": hashlib.sha256(email.encode()).hexdigest()[:20],
            "aud": query["client_id"],
            "iat": now,
            "exp": now + 600,
            "nonce": query["nonce"] if nonce is None else nonce,
            "email": email,
            "name": name or email,
            "groups": groups or [],
            **(claims or {}),
        }
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.grants[code] = _Grant(
                query["client_id"], query["redirect_uri"], query["code_challenge"], minted
            )
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def handle(self, request: HTTPRequest) -> HTTPReply:
        path = request.path.split("?")[0]
        if request.method == "GET" and path == "/.well-known/openid-configuration":
            return _json(
                200,
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.base_url}/authorize",
                    "token_endpoint": f"{self.base_url}/token",
                    "jwks_uri": f"{self.base_url}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                },
            )
        if request.method == "GET" and path == "/authorize" and self.next_sign_in:
            back = self.authorize(self.base_url + request.path, **self.next_sign_in)
            return HTTPReply(302, b"", "text/plain", {"Location": back})
        if request.method == "GET" and path == "/jwks":
            return _json(200, {"keys": [self.key.as_dict(private=False)]})
        if request.method == "POST" and path == "/token":
            return self._token(request)
        return _json(404, {"error": "not_found"})

    def _token(self, request: HTTPRequest) -> HTTPReply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id, secret = _client(request, form)
        with self.lock:
            grant = self.grants.get(form.get("code", ""))
            if grant is None or grant.used:
                return _json(400, {"error": "invalid_grant"})
            grant.used = True
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET) or client_id != grant.client_id:
            return _json(401, {"error": "invalid_client"})
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json(400, {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return _json(400, {"error": "invalid_grant", "error_description": "PKCE"})
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, grant.claims, self.key)
        return _json(
            200,
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": id_token,
            },
        )


def _client(request: HTTPRequest, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic (authlib's default) or client_secret_post."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        raw = base64.b64decode(header[6:]).decode()
        client_id, _, secret = raw.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _json(status: int, payload: object) -> HTTPReply:
    return HTTPReply(status, json.dumps(payload).encode(), "application/json")
