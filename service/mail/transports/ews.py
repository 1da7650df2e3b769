"""The `ews` transport: on-premises Exchange Server through Exchange Web Services (exchangelib).

The mail goes over as MIME (CreateItem with <t:MimeContent>), so the recipient sees exactly the
text and HTML parts and the Message-ID that every other transport sends. exchangelib's own
`Message.send()` picks the disposition: SendAndSaveCopy into the sender's Sent Items when
`save_copy` is on (it looks up the Sent Items folder once per batch with GetFolder), SendOnly
otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    UTC,
    Account,
    BaseProtocol,
    Build,
    Configuration,
    Credentials,
    FailFast,
    Identity,
    Mailbox,
    Message,
    NoVerifyHTTPAdapter,
    OAuth2Credentials,
    Version,
)
from exchangelib import errors as ews_errors

from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, TransportError, register

log = logging.getLogger(__name__)

AUTH_TYPES = {"basic": BASIC, "ntlm": NTLM, "oauth2": OAUTH2}

# Exchange 2016 (15.1) speaks every EWS element we use and Exchange 2019 accepts it too.
# Naming it up front spares exchangelib its version-guessing requests.
DEFAULT_BUILD = Build(15, 1)

# Seconds for one EWS request; exchangelib's own default (120) holds a batch too long.
DEFAULT_TIMEOUT = 60

# Answers that will be the same on every retry: bad recipients, refused rights, a mail the
# server cannot take. Everything else from Exchange (busy, timeouts, store or AD hiccups) is
# worth another try.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    ews_errors.UnauthorizedError,
    ews_errors.ErrorInvalidRecipients,
    ews_errors.ErrorMailRecipientNotFound,
    ews_errors.ErrorInvalidSmtpAddress,
    ews_errors.ErrorMissingEmailAddress,
    ews_errors.ErrorNonExistentMailbox,
    ews_errors.ErrorAccessDenied,
    ews_errors.ErrorAccountDisabled,
    ews_errors.ErrorSendAsDenied,
    ews_errors.ErrorNotDelegate,
    ews_errors.ErrorImpersonateUserDenied,
    ews_errors.ErrorImpersonationDenied,
    ews_errors.ErrorInvalidExchangeImpersonationHeaderData,
    ews_errors.ErrorMessageSizeExceeded,
    ews_errors.ErrorMimeContentConversionFailed,
    ews_errors.ErrorMimeContentInvalid,
    ews_errors.ErrorMimeContentInvalidBase64String,
    ews_errors.ErrorSchemaValidation,
)


class EwsHttpError(ews_errors.TransportError):
    """An HTTP status that says the request itself is wrong (bad URL, forbidden)."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


class ServerAskedToWait(ews_errors.ErrorServerBusy):
    """HTTP 503 (or a busy signal) that came with a Retry-After header."""


class _FailFastPolicy(FailFast):
    """exchangelib's fail-fast policy (never sleeps), with two additions.

    403/404 are named as such: plain FailFast reports them as a generic MalformedResponseError
    that reads as temporary, but a wrong endpoint or a forbidden mailbox will not heal by
    itself. And a Retry-After header is kept, so the outbox can honour it.
    """

    def raise_response_errors(self, response: requests.Response) -> None:
        if response.status_code in (400, 403, 404, 405):
            raise EwsHttpError(response.status_code, response.url)
        try:
            super().raise_response_errors(response)
        except (ews_errors.ErrorInternalServerTransientError, ews_errors.ErrorServerBusy) as exc:
            value = response.headers.get("Retry-After", "")
            if value.isdigit() and int(value) > 0:
                raise ServerAskedToWait(str(exc), back_off=int(value)) from exc
            raise


def classify(exc: Exception, where: str) -> TransportError:
    """Our TransportError for an exception from exchangelib or requests."""
    if isinstance(exc, PERMANENT_ERRORS):
        hint = ""
        if isinstance(exc, ews_errors.UnauthorizedError):
            hint = "; check [mail.ews] username, password and auth_type"
        return TransportError(f"{where}: {type(exc).__name__}: {exc}{hint}", permanent=True)
    if isinstance(exc, EwsHttpError):
        return TransportError(
            f"{where}: {exc}; check [mail.ews] service_endpoint/server and the account's rights",
            permanent=True,
        )
    if isinstance(exc, ews_errors.CASError):
        # The client access server refused to proxy us; its codes are about the mailbox or
        # the account (locked, not found), not about load.
        return TransportError(f"{where}: {exc}", permanent=True)
    if isinstance(exc, ServerAskedToWait):
        return TransportError(f"{where}: server busy: {exc}", retry_after=float(exc.back_off))
    # ErrorTimeoutExpired, ErrorInternalServerTransientError, SOAP/HTTP glitches,
    # unknown response codes, connection errors.
    return TransportError(f"{where}: {type(exc).__name__}: {exc}", permanent=False)


@register("ews")
class EwsTransport(Transport):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.service_endpoint = str(settings.get("service_endpoint") or "").strip()
        self.server = str(settings.get("server") or "").strip()
        if not self.service_endpoint and not self.server:
            raise ValueError(
                "[mail.ews] needs service_endpoint (https://mail.example.se/EWS/Exchange.asmx) "
                "or server"
            )
        auth_type = str(settings.get("auth_type") or "ntlm").lower()
        if auth_type not in AUTH_TYPES:
            raise ValueError(
                f"[mail.ews] auth_type is {auth_type!r}; choose one of {', '.join(AUTH_TYPES)}"
            )
        self.auth_type = auth_type
        self.sender_mailbox = str(settings.get("sender_mailbox") or "").strip()
        if "@" not in self.sender_mailbox:
            raise ValueError("[mail.ews] sender_mailbox must be the sending mailbox's address")
        self.impersonation = bool(settings.get("impersonation", False))
        self.save_copy = bool(settings.get("save_copy", True))
        self.verify_tls = bool(settings.get("verify_tls", True))
        self.timeout = float(settings.get("timeout") or DEFAULT_TIMEOUT)
        self._account: Account | None = None

    def _where(self) -> str:
        return f"EWS {self.service_endpoint or self.server} as {self.sender_mailbox}"

    def _config(self) -> Configuration:
        if self.auth_type == "oauth2":
            if not self.impersonation:
                log.warning(
                    "[mail.ews] auth_type oauth2 (app-only) normally needs impersonation = true"
                )
            credentials: Any = OAuth2Credentials(
                client_id=str(self.settings.get("client_id") or ""),
                client_secret=str(self.settings.get("client_secret") or ""),
                tenant_id=str(self.settings.get("tenant_id") or ""),
                identity=Identity(primary_smtp_address=self.sender_mailbox),
            )
        else:
            credentials = Credentials(
                username=str(self.settings.get("username") or ""),
                password=str(self.settings.get("password") or ""),
            )
        endpoint: dict[str, str] = (
            {"service_endpoint": self.service_endpoint}
            if self.service_endpoint
            else {"server": self.server}
        )
        return Configuration(
            credentials=credentials,
            auth_type=AUTH_TYPES[self.auth_type],
            version=Version(build=DEFAULT_BUILD),
            # Never let exchangelib wait out an outage: the outbox retries with its own backoff.
            retry_policy=_FailFastPolicy(),
            **endpoint,
        )

    def open(self) -> None:
        if self._account is not None:
            return
        if not self.verify_tls:
            # exchangelib offers this only process-wide; for tests and self-signed lab servers.
            log.warning("TLS certificate verification is off for all EWS connections")
            BaseProtocol.HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter
        try:
            account = Account(
                primary_smtp_address=self.sender_mailbox,
                config=self._config(),
                autodiscover=False,
                access_type=IMPERSONATION if self.impersonation else DELEGATE,
                # Given, so exchangelib does not probe the host's locale/zone; we send no dates.
                default_timezone=UTC,
                locale="sv_SE",
            )
            # An instance attribute, so only this endpoint's cached protocol gets the timeout.
            account.protocol.TIMEOUT = self.timeout
        except (ews_errors.EWSError, requests.RequestException) as exc:
            raise classify(exc, self._where()) from exc
        self._account = account

    @property
    def account(self) -> Account:
        """The connected account (opened on first use); the inbox reads through it too."""
        self.open()
        assert self._account is not None
        return self._account

    def close(self) -> None:
        account, self._account = self._account, None
        if account is not None:
            # Frees the pooled HTTP sessions; exchangelib keeps the protocol object cached.
            account.protocol.close()

    def send(self, mail: OutgoingMail) -> None:
        self.open()
        assert self._account is not None
        message = Message(
            account=self._account,
            mime_content=mail.to_wire_bytes(),
            # Exchange takes the recipients from the MIME headers anyway; naming them here
            # makes the envelope explicit, as for SMTP, and equal to mail.recipients.
            to_recipients=[Mailbox(email_address=a.email) for a in mail.to],
            cc_recipients=[Mailbox(email_address=a.email) for a in mail.cc] or None,
        )
        try:
            message.send(save_copy=self.save_copy)
        except (ews_errors.EWSError, requests.RequestException, OSError) as exc:
            error = classify(exc, self._where())
            if not error.permanent:
                # The session may be half-dead; the next mail starts with fresh ones.
                self.close()
            raise error from exc
        log.info(
            "Sent mail %s via EWS (%s)",
            mail.message_id,
            "copy in Sent Items" if self.save_copy else "no copy",
        )
