"""One rendered mail, ready for any transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr


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
        return formataddr((clean_header(self.name), clean_header(self.email)))


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

    def to_mime(self) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = clean_header(self.subject)
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
        msg.set_content(self.text, subtype="plain", charset="utf-8")
        msg.add_alternative(self.html, subtype="html", charset="utf-8")
        return msg

    def to_wire_bytes(self) -> bytes:
        """The whole MIME message with CRLF line ends, as RFC 5322 wants it on the wire.

        For the transports that hand over a finished message (EWS MimeContent, Graph MIME);
        smtplib does the CRLF conversion itself.
        """
        return self.to_mime().as_bytes(policy=SMTP)
