"""The `graph` transport: Exchange Online through Microsoft Graph's sendMail.

An Entra ID app with the Mail.Send application permission gets a token by client credentials
(msal), and posts each mail as MIME: Content-Type text/plain, the body the base64 of the whole
RFC 5322 message. MIME rather than Graph's JSON message keeps our Message-ID (the outbox
derives it from the row key) and both the text and the HTML part.

One limitation comes with MIME: Graph's MIME sendMail takes no saveToSentItems flag and always
keeps a copy in Sent Items. We keep MIME even when save_to_sent_items is false, and say so in
the log once per batch: a stable Message-ID and the text part matter more than a tidy Sent
Items folder, which a retention policy on the mailbox can keep short.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msal
import msal.exceptions
import requests

from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, TransportError, register

log = logging.getLogger(__name__)

SCOPES = ["https://graph.microsoft.com/.default"]

# Token errors (OAuth 2 error codes) that mean the app registration or secret is wrong.
PERMANENT_TOKEN_ERRORS = frozenset(
    {
        "invalid_client",
        "unauthorized_client",
        "invalid_request",
        "invalid_scope",
        "invalid_grant",
        "unsupported_grant_type",
    }
)

# Graph answers worth another try later; other 4xx mean the request itself is wrong.
TEMPORARY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _graph_error(response: requests.Response) -> str:
    """Graph's own error code and message, for the log and the digest."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    return str(body)[:300]


class _Session(requests.Session):
    """A requests session that always uses our TLS trust and timeout.

    requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the environment override
    Session.verify; only a per-request value wins, so every request gets one here.
    """

    def __init__(self, verify: str | bool, timeout: float) -> None:
        super().__init__()
        self.fixed_verify = verify
        self.fixed_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.fixed_verify
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.fixed_timeout
        return super().request(method, url, *args, **kwargs)


@register("graph")
class GraphTransport(Transport):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.tenant_id = str(settings.get("tenant_id") or "").strip()
        self.client_id = str(settings.get("client_id") or "").strip()
        self.client_secret = str(settings.get("client_secret") or "")
        self.sender_mailbox = str(settings.get("sender_mailbox") or "").strip()
        missing = [
            key
            for key, value in (
                ("tenant_id", self.tenant_id),
                ("client_id", self.client_id),
                ("client_secret", self.client_secret),
                ("sender_mailbox", self.sender_mailbox),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"[mail.graph] needs {', '.join(missing)}")
        self.save_to_sent_items = bool(settings.get("save_to_sent_items", True))
        self.authority_host = str(
            settings.get("authority_host") or "https://login.microsoftonline.com"
        ).rstrip("/")
        self.api_base = str(settings.get("api_base") or "https://graph.microsoft.com/v1.0").rstrip(
            "/"
        )
        self.timeout = float(settings.get("timeout") or 30)
        # A CA bundle path for a private CA (and the tests' self-signed one); else the default.
        ca_bundle = str(settings.get("ca_bundle") or "")
        self.verify: str | bool = ca_bundle or True
        self._app: Any = None  # msal.ConfidentialClientApplication, made on first use
        self._session: requests.Session | None = None

    @property
    def send_url(self) -> str:
        return f"{self.api_base}/users/{quote(self.sender_mailbox, safe='@')}/sendMail"

    # -- token ---------------------------------------------------------------------------

    def _client_app(self) -> Any:
        if self._app is None:
            try:
                # Building the app fetches the tenant's OpenID configuration. Instance discovery
                # (a call to login.microsoftonline.com to vet the host) is off: the authority
                # host is configured by us, and national clouds and tests use other hosts.
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self.client_secret,
                    authority=f"{self.authority_host}/{self.tenant_id}",
                    validate_authority=False,
                    instance_discovery=False,
                    # Our session, not msal's own, so that ca_bundle is really used.
                    http_client=_Session(self.verify, self.timeout),
                )
            except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
                # Network trouble, or a 5xx from tenant discovery.
                raise TransportError(
                    f"cannot reach the Entra ID authority {self.authority_host}: {exc}",
                    permanent=False,
                ) from exc
            except ValueError as exc:
                # msal's answer to a 4xx from tenant discovery: a wrong tenant or authority.
                raise TransportError(
                    f"Entra ID refused the authority {self.authority_host}/{self.tenant_id}: "
                    f"{exc}; check [mail.graph] tenant_id and authority_host",
                    permanent=True,
                ) from exc
        return self._app

    def _token(self) -> str:
        app = self._client_app()
        try:
            # msal serves a cached token until shortly before it expires.
            result = app.acquire_token_for_client(scopes=SCOPES)
        except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError) as exc:
            # Network trouble, a 5xx (msal raises for those), or a non-JSON answer such as
            # a proxy's error page.
            raise TransportError(
                f"cannot get a token from Entra ID: {type(exc).__name__}: {exc}", permanent=False
            ) from exc
        token = result.get("access_token") if isinstance(result, dict) else None
        if token:
            return str(token)
        error = str(result.get("error", "")) if isinstance(result, dict) else ""
        description = str(result.get("error_description", "")) if isinstance(result, dict) else ""
        raise TransportError(
            f"Entra ID gave no token for client {self.client_id}: {error} {description}".strip()
            + (
                "; check [mail.graph] client_id, client_secret and the Mail.Send permission"
                if error in PERMANENT_TOKEN_ERRORS
                else ""
            ),
            permanent=error in PERMANENT_TOKEN_ERRORS,
        )

    def _drop_token(self) -> None:
        if self._app is not None:
            self._app.remove_tokens_for_client()

    # -- batch ---------------------------------------------------------------------------

    def open(self) -> None:
        if self._session is not None:
            return
        if not self.save_to_sent_items:
            log.warning(
                "[mail.graph] save_to_sent_items = false cannot be honoured: Graph's MIME "
                "sendMail always keeps a copy in Sent Items of %s",
                self.sender_mailbox,
            )
        self._session = _Session(self.verify, self.timeout)

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # -- sending -------------------------------------------------------------------------

    def send(self, mail: OutgoingMail) -> None:
        self.open()
        body = base64.b64encode(mail.to_wire_bytes())
        response = self._post(body)
        if response.status_code == 401:
            # A revoked or rotated token that msal's cache still believes in: one fresh token.
            log.info("Graph answered 401 for %s; fetching a new token once", mail.message_id)
            self._drop_token()
            response = self._post(body)
            if response.status_code == 401:
                raise TransportError(
                    f"Graph refused a fresh token for {self.sender_mailbox} (401: "
                    f"{_graph_error(response)})",
                    permanent=False,
                )
        status = response.status_code
        if status in (200, 202):
            log.info("Sent mail %s via Graph as %s", mail.message_id, self.sender_mailbox)
            return
        detail = f"Graph sendMail as {self.sender_mailbox} failed with {status}: " + _graph_error(
            response
        )
        if status in TEMPORARY_STATUSES or status >= 500:
            raise TransportError(
                detail,
                permanent=False,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        # 400 (bad MIME, bad address), 403 (no Mail.Send on this mailbox), 404 (no such user).
        raise TransportError(detail, permanent=True)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A Graph call on the mailbox (`path` after /users/{mailbox}), with this app's token;
        one fresh token after a 401. For the inbox, which reads the same mailbox."""
        self.open()
        assert self._session is not None
        url = f"{self.api_base}/users/{quote(self.sender_mailbox, safe='@')}{path}"
        extra = kwargs.pop("headers", {})
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token()}", **extra}
            try:
                response = self._session.request(method, url, headers=headers, **kwargs)
            except requests.RequestException as exc:
                raise TransportError(
                    f"cannot reach Graph at {self.api_base}: {exc}", permanent=False
                ) from exc
            if response.status_code != 401 or attempt == 2:
                return response
            self._drop_token()
        raise AssertionError("unreachable")

    def _post(self, body: bytes) -> requests.Response:
        assert self._session is not None
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "Content-Type": "text/plain",
        }
        try:
            return self._session.post(self.send_url, data=body, headers=headers)
        except requests.RequestException as exc:
            raise TransportError(
                f"cannot reach Graph at {self.api_base}: {exc}", permanent=False
            ) from exc
