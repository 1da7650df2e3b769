"""One rendered mail, ready for any transport."""

from __future__ import annotations

import binascii
import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.message import Message
from email.utils import format_datetime, formataddr
from functools import cached_property

CRLF = "\r\n"


def clean_header(value: str) -> str:
    """Strip CR/LF and other control characters from a header value.

    Done by us because the interpreter on the target machines predates CPython's own
    header-injection fix: a plan title with "\\r\\nBcc: x" must never become a header.
    """
    return " ".join(_CONTROL.sub(" ", value).split())


_CONTROL = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""

    def formatted(self) -> str:
        name, address = clean_header(self.name), clean_header(self.email)
        if "=?" in name:
            # An ASCII name shaped like an RFC 2047 encoded-word ("=?utf-8?q?=0D=0ABcc:…?=")
            # would be decoded by the reader's client, control characters and all. Encoded by
            # us, it decodes to exactly the text it is. Words joined by a space, not folded.
            return f"{Header(name, 'utf-8').encode(linesep=' ')} <{address}>"
        return formataddr((name, address), charset="utf-8")


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
        """The mail as a parsed email.message.Message (of exactly the bytes that are sent)."""
        return email.message_from_bytes(self.to_wire_bytes())

    def to_wire_bytes(self) -> bytes:
        """The whole MIME message with CRLF line ends, as RFC 5321/5322 want it on the wire.

        Built once per mail; SMTP, EWS (MimeContent), Graph (MIME sendMail) and the files
        transport all send these bytes.
        """
        return self._wire

    @cached_property
    def _wire(self) -> bytes:
        # Assembled here rather than by email.generator: the structure is fixed (one
        # multipart/alternative with a text and an HTML part), and the generator's pure-Python
        # quoted-printable and folding made it the slowest step of a dispatch batch. Header
        # values still go through email.header/email.utils for RFC 2047 encoding.
        boundary = "=_bevakning_" + hashlib.sha256(self.message_id.encode()).hexdigest()[:24]
        headers = [
            ("Subject", _encoded(clean_header(self.subject))),
            ("From", self.sender.formatted()),
            ("To", ", ".join(a.formatted() for a in self.to)),
        ]
        if self.cc:
            headers.append(("Cc", ", ".join(a.formatted() for a in self.cc)))
        headers.append(("Message-ID", f"<{clean_header(self.message_id)}>"))
        if self.date is not None:
            headers.append(("Date", format_datetime(self.date)))
        headers.append(("Auto-Submitted", "auto-generated"))
        headers += [(clean_header(n), _encoded(clean_header(v))) for n, v in self.headers]
        headers += [
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ]
        out = [f"{name}: {value}" for name, value in headers]
        for subtype, body in (("plain", self.text), ("html", self.html)):
            out += [
                "",
                f"--{boundary}",
                f'Content-Type: text/{subtype}; charset="utf-8"',
                "Content-Transfer-Encoding: quoted-printable",
                "",
                _quoted_printable(body),
            ]
        out += [f"--{boundary}--", ""]
        return CRLF.join(out).encode("ascii")


def _encoded(value: str) -> str:
    """A header value: as is when plain ASCII, otherwise RFC 2047 encoded and folded."""
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8", header_name="Subject").encode(linesep=CRLF)


def _quoted_printable(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)
    encoded = binascii.b2a_qp(lines.encode("utf-8"), istext=True).decode("ascii")
    # A lone "." line would end the SMTP DATA early where a relay forgets dot-stuffing.
    return encoded.rstrip(CRLF).replace(CRLF + ".", CRLF + "=2E")
