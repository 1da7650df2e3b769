"""The `smtp` transport: plain SMTP submission with smtplib, one connection per batch."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, TransportError, register

log = logging.getLogger(__name__)

SECURITY_CHOICES = ("none", "starttls", "tls")


def _reply_text(message: bytes | str) -> str:
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return message


def _by_code(code: int, what: str, message: bytes | str) -> TransportError:
    """A TransportError for an SMTP reply: 5xx is final, anything else may pass later."""
    return TransportError(f"{what}: {code} {_reply_text(message)}".strip(), permanent=code >= 500)


_NOT_IN_ENVELOPE = re.compile(r"[\x00-\x20\x7f<>]")  # controls, space, DEL, angle brackets


def envelope_address(address: str) -> str:
    """The address as it may stand in MAIL FROM/RCPT TO, or a permanent error.

    smtplib on the target interpreter does not refuse CR/LF in addresses, so a crafted address
    could smuggle extra SMTP commands (another RCPT TO); we refuse it ourselves.
    """
    if not address or "@" not in address or _NOT_IN_ENVELOPE.search(address):
        raise TransportError(
            f"refusing to send to the malformed address {address!r}", permanent=True
        )
    return address


class _OverlappingSMTP(smtplib.SMTP):
    """smtplib's session with one change: before it waits for the server's reply to a command,
    it does one piece of the batch's other work handed in for the mail. A dispatcher otherwise
    only waits there (four times per mail: MAIL, RCPT, DATA, and the message's final ".")."""

    meanwhile: list[Callable[[], object]] | None = None

    def getreply(self) -> tuple[int, bytes]:
        if self.meanwhile:
            self.meanwhile.pop(0)()
        return super().getreply()


class _OverlappingSMTPSSL(_OverlappingSMTP, smtplib.SMTP_SSL):
    pass


@register("smtp")
class SmtpTransport(Transport):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.host = str(settings.get("host") or "localhost")
        self.port = int(settings.get("port") or 0)
        self.security = str(settings.get("security") or "none").lower()
        if self.security not in SECURITY_CHOICES:
            raise ValueError(
                f"[mail.smtp] security is {self.security!r}; choose one of "
                f"{', '.join(SECURITY_CHOICES)}"
            )
        if not self.port:
            self.port = 465 if self.security == "tls" else 25
        self.username = str(settings.get("username") or "")
        self.password = str(settings.get("password") or "")
        self.timeout = float(settings.get("timeout") or 30)
        # Optional, mostly for tests and private CAs: a CA file, or no verification at all.
        self.ca_file = str(settings.get("ca_file") or "") or None
        self.tls_verify = bool(settings.get("tls_verify", True))
        # The name we give in EHLO; smtplib's default (socket.getfqdn) can stall on bad DNS.
        self.local_hostname = str(settings.get("local_hostname") or "") or None
        self._conn: _OverlappingSMTP | None = None

    # -- connection -----------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.tls_verify:
            log.warning("TLS certificate verification is off for SMTP server %s", self.host)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> _OverlappingSMTP:
        where = f"SMTP server {self.host}:{self.port}"
        conn: _OverlappingSMTP | None = None
        try:
            if self.security == "tls":
                conn = _OverlappingSMTPSSL(
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                    context=self._ssl_context(),
                )
            else:
                conn = _OverlappingSMTP(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
                )
            conn.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                conn.starttls(context=self._ssl_context())
                conn.ehlo()  # the capabilities before TLS no longer count (RFC 3207)
            if self.username:
                conn.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(conn)
            raise TransportError(
                f"{where} refused the login as {self.username!r} ({exc.smtp_code} "
                f"{_reply_text(exc.smtp_error)}); check [mail.smtp] username and the password",
                permanent=True,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            _quietly_close(conn)
            raise TransportError(
                f"{where} does not support what [mail.smtp] asks for: {exc}", permanent=True
            ) from exc
        except smtplib.SMTPResponseException as exc:
            _quietly_close(conn)
            raise _by_code(exc.smtp_code, f"{where} refused the session", exc.smtp_error) from exc
        except ssl.SSLError as exc:
            # Temporary: a certificate mix-up is fixed by an administrator, and the mails
            # should go out once it is, not be given up.
            _quietly_close(conn)
            raise TransportError(f"TLS with {where} failed: {exc}", permanent=False) from exc
        except (OSError, smtplib.SMTPException) as exc:
            # Refused connections, timeouts, DNS errors, early disconnects.
            _quietly_close(conn)
            raise TransportError(f"cannot talk to {where}: {exc}", permanent=False) from exc
        log.debug("Connected to %s", where)
        return conn

    def open(self) -> None:
        if self._conn is None:
            self._conn = self._connect()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            # The server may already have hung up; the mails of the batch are sent anyway.
            conn.close()

    # -- sending --------------------------------------------------------------------------

    def send(self, mail: OutgoingMail) -> None:
        self.send_overlapping(mail, ())

    def send_overlapping(
        self, mail: OutgoingMail, meanwhile: Sequence[Callable[[], object]]
    ) -> None:
        # The envelope comes from the mail's own fields, never from headers, so nothing in
        # a header (a Bcc line smuggled in through a title, say) can add a recipient.
        sender = envelope_address(mail.sender.email)
        recipients = [envelope_address(address) for address in mail.recipients]
        if not recipients:
            raise TransportError(f"mail {mail.message_id} has no recipients", permanent=True)
        message = mail.to_wire_bytes()
        work = list(meanwhile)  # shared by a retry on a fresh connection: done once only

        self.open()
        try:
            refused = self._send_once(message, sender, recipients, work)
        except smtplib.SMTPServerDisconnected:
            # The server dropped our idle batch connection (or restarted): one fresh attempt.
            # Should the drop have come right after the server took the DATA, this sends the
            # mail twice; that is rare and the better side to err on than losing it.
            log.info("SMTP server %s:%s hung up; reconnecting once", self.host, self.port)
            _quietly_close(self._conn)
            self._conn = None
            self.open()
            try:
                refused = self._send_once(message, sender, recipients, work)
            except smtplib.SMTPServerDisconnected as exc:
                _quietly_close(self._conn)
                self._conn = None
                raise TransportError(
                    f"SMTP server {self.host}:{self.port} hung up twice while sending "
                    f"{mail.message_id}: {exc}",
                    permanent=False,
                ) from exc
        while work:  # a session with fewer turns than work (not so with smtplib today)
            work.pop(0)()
        if refused:
            # Some recipients got the mail; retrying would send it to them again.
            log.warning(
                "Mail %s accepted, but these recipients were refused: %s",
                mail.message_id,
                "; ".join(
                    f"{addr} ({code} {_reply_text(text)})" for addr, (code, text) in refused.items()
                ),
            )
        log.info("Sent mail %s via SMTP to %d recipient(s)", mail.message_id, len(recipients))

    def _send_once(
        self,
        message: bytes,
        sender: str,
        recipients: list[str],
        work: list[Callable[[], object]],
    ) -> dict[str, tuple[int, bytes]]:
        conn = self._conn
        assert conn is not None
        where = f"SMTP server {self.host}:{self.port}"
        conn.meanwhile = work
        try:
            return conn.sendmail(sender, recipients, message)
        except smtplib.SMTPServerDisconnected:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(
                f"{addr}: {code} {_reply_text(text)}"
                for addr, (code, text) in exc.recipients.items()
            )
            # Only final when every refusal is final: one 4xx means a later try can reach someone.
            raise TransportError(
                f"{where} refused every recipient ({detail})",
                permanent=bool(codes) and all(code >= 500 for code in codes),
            ) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _by_code(
                exc.smtp_code, f"{where} refused the sender {exc.sender}", exc.smtp_error
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise _by_code(exc.smtp_code, f"{where} refused the message", exc.smtp_error) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportError(f"{where} cannot take this mail: {exc}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, f"{where} answered", exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            # A timeout or reset mid-transaction leaves the session unusable: start afresh.
            _quietly_close(conn)
            self._conn = None
            raise TransportError(f"sending via {where} failed: {exc}", permanent=False) from exc
        finally:
            conn.meanwhile = None  # what is left is done by the caller, not in a later session


def _quietly_close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()
