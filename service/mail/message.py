"""One rendered mail, ready for any transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email import charset as email_charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from functools import cached_property

# UTF-8 bodies as quoted-printable: readable in an .eml file, safe for 7-bit relays, and no
# line longer than 76 characters however long the inlined HTML lines are.
_UTF8_QP = email_charset.Charset("utf-8")
_UTF8_QP.header_encoding = email_charset.QP
_UTF8_QP.body_encoding = email_charset.QP
_WIRE = compat32.clone(linesep="\r\n")


def clean_header(value: str) -> str:
    """Strip CR/LF and other control characters from a header value.

    Done by us because the interpreter on the target machines predates CPython's own
    header-injection fix: a plan title with "\\r\\nBcc: x" must never become a header.
    """
    return " ".join("".join(ch if ch >= " " and ch != "\x7f" else " " for ch in value).split())


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""

    def formatted(self) -> str:
        return formataddr((clean_header(self.name), clean_header(self.email)), charset="utf-8")


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str  # without angle brackets, e.g. "reminder.42.2024-12-02@bevakning.example.se"
    sender: Address
    to: tuple[Address, ...]
    subject: str
    text: str
    html: str
    cc: tuple[Address, ...] = ()
    date: datetime | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def recipients(self) -> list[str]:
        return [a.email for a in (*self.to, *self.cc)]

    def to_mime(self) -> Message:
        # The compat32 classes, not EmailMessage: they build a message several times faster,
        # which matters when a dispatch batch renders hundreds of mails.
        msg = MIMEMultipart("alternative")
        msg["Subject"] = Header(clean_header(self.subject), _UTF8_QP)  # type: ignore[assignment]
        msg["From"] = self.sender.formatted()
        msg["To"] = ", ".join(a.formatted() for a in self.to)
        if self.cc:
            msg["Cc"] = ", ".join(a.formatted() for a in self.cc)
        msg["Message-ID"] = f"<{clean_header(self.message_id)}>"
        if self.date is not None:
            msg["Date"] = format_datetime(self.date)
        msg["Auto-Submitted"] = "auto-generated"
        for name, value in self.headers:
            msg[clean_header(name)] = clean_header(value)
        # MIMEText takes a Charset instance too (typeshed only knows str).
        msg.attach(MIMEText(self.text, "plain", _UTF8_QP))  # type: ignore[arg-type]
        msg.attach(MIMEText(self.html, "html", _UTF8_QP))  # type: ignore[arg-type]
        return msg

    @cached_property
    def _wire(self) -> bytes:
        return self.to_mime().as_bytes(policy=_WIRE)

    def to_wire_bytes(self) -> bytes:
        """The whole MIME message with CRLF line ends, as RFC 5321/5322 want it on the wire.

        Built once per mail: SMTP, EWS (MimeContent) and Graph (MIME sendMail) all send it.
        """
        return self._wire
