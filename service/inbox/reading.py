"""What an incoming mail is: a reply (its own new text, whom it answers), an automatic mail,
or a delivery report about one of ours. Pure: bytes in, a Received out."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parseaddr
from hashlib import sha256
from html.parser import HTMLParser

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification (RFC 3464) about a mail we sent."""

    message_id: str  # of our mail, without angle brackets ("" when the report omits it)
    reason: str  # the server's own words: "5.1.1 … User unknown"
    permanent: bool


@dataclass(frozen=True)
class Received:
    message_id: str  # without angle brackets; a digest of the bytes when the mail had none
    sender: str  # lower-cased address from From
    subject: str
    answers: tuple[str, ...]  # In-Reply-To, then References newest first (without brackets)
    text: str  # the writer's own lines, quoted text and signature removed
    automatic: str = ""  # why it is an automatic mail ("" for a person's reply)
    authentication: bool | None = None  # None: no Authentication-Results header
    bounce: Bounce | None = None


def read(raw: bytes) -> Received:
    """The mail as Bevakning reads it. One the email package cannot parse (a "Message-ID: <>",
    an unknown charset) is read as an unreadable automatic mail: claimed and moved away like
    one, where it had failed on every run and, fifty of them, stopped every reply behind."""
    try:
        return _read(raw)
    except Exception as exc:  # whatever the bytes make the parser raise
        log.warning("unreadable mail (%s: %s)", type(exc).__name__, exc)
        return Received(
            message_id="sha256." + sha256(raw).hexdigest(),
            sender="",
            subject="",
            answers=(),
            text="",
            automatic=f"unreadable: {type(exc).__name__}",
        )


def _read(raw: bytes) -> Received:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    message_id = _bare(str(message.get("Message-ID", "") or ""))
    if not message_id:
        message_id = "sha256." + sha256(raw).hexdigest()
    sender = parseaddr(str(message.get("From", "") or ""))[1].strip().lower()
    answers = [_bare(str(message.get("In-Reply-To", "") or ""))]
    answers += reversed(re.findall(r"<([^<>\s]+)>", str(message.get("References", "") or "")))
    return Received(
        message_id=message_id,
        sender=sender,
        subject=str(message.get("Subject", "") or ""),
        answers=tuple(dict.fromkeys(a for a in answers if a)),
        text=own_text(body_text(message)),
        automatic=automatic(message, sender),
        authentication=authenticated(message),
        bounce=bounce(message),
    )


def _bare(value: str) -> str:
    value = value.strip()
    found = re.search(r"<([^<>\s]+)>", value)
    return found[1] if found else value.split()[0] if value.split() else ""


# -- automatic mail ----------------------------------------------------------------------------

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatiskt svar|autosvar|frånvaro|out of office|automatic reply|auto[- ]?reply|"
    r"abwesenheit|undeliverable|olevererbart|kan inte levereras|delivery status notification|"
    r"mail delivery failed|returned mail)",
    re.IGNORECASE,
)


def automatic(message: Message, sender: str) -> str:
    """Why this mail was written by a machine, or "" for one a person wrote.

    Answering a machine can start a loop (two autoresponders answering each other), so any of
    these signs is enough (RFC 3834 and what Exchange, Gmail and list servers set).
    """
    submitted = str(message.get("Auto-Submitted", "") or "").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Me"):
        if message.get(name) is not None:
            return name
    suppress = str(message.get("X-Auto-Response-Suppress", "") or "").lower()
    if "all" in suppress or "oof" in suppress or "autoreply" in suppress:
        return f"X-Auto-Response-Suppress: {suppress}"
    precedence = str(message.get("Precedence", "") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None:
        return "List-Id"
    if message.get_content_type() == "multipart/report":
        return "multipart/report"
    if str(message.get("Return-Path", "") or "").strip() == "<>":
        return "Return-Path: <>"
    local = sender.split("@")[0]
    if local in ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply"):
        return f"From: {sender}"
    if _AUTO_SUBJECT.match(str(message.get("Subject", "") or "")):
        return "Subject"
    return ""


def authenticated(message: Message) -> bool | None:
    """Whether the receiving server vouched for the sender (RFC 8601): None when it said
    nothing; with DMARC its verdict, else DKIM or SPF passing. Only the topmost header counts,
    the one the receiving server added last: the ones below it came with the mail, and a
    sender could write "dmarc=pass" into one of them."""
    values = message.get_all("Authentication-Results") or []
    if not values:
        return None
    text = str(values[0]).lower()
    dmarc = re.findall(r"\bdmarc=(\w+)", text)
    if dmarc:
        return all(v == "pass" for v in dmarc)
    return bool(re.search(r"\b(dkim|spf)=pass\b", text)) and not re.search(
        r"\b(dkim|spf)=(fail|softfail|permerror)\b", text
    )


# -- bounces -----------------------------------------------------------------------------------


def bounce(message: Message) -> Bounce | None:
    """The report of a failed delivery, if this is one (multipart/report; delivery-status)."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "") or "").lower() != "delivery-status":
        return None  # a read receipt (disposition-notification), a complaint: nothing failed
    status = diagnostic = ""
    action = ""
    original = ""
    reported = False
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            reported = True
            for block in _status_blocks(part):
                action = action or block.get("action", "").lower()
                status = status or block.get("status", "")
                diagnostic = diagnostic or block.get("diagnostic-code", "")
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            inner = _inner_headers(part)
            original = original or _bare(str(inner.get("Message-ID", "") or ""))
    if not reported or (action and action not in ("failed",)):
        return None  # "delayed", "delivered", "relayed": not a failure
    reason = " ".join(x for x in (status, _after_type(diagnostic)) if x).strip()
    return Bounce(original, reason or "okänt fel", not status.startswith("4"))


def _status_blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):  # the email package parses delivery-status into header blocks
        for block in payload:
            if isinstance(block, Message):
                blocks.append({k.lower(): " ".join(str(v).split()) for k, v in block.items()})
        return blocks
    data = part.get_payload(decode=True)
    text = data if isinstance(data, bytes) else b""
    for chunk in re.split(r"\r?\n\r?\n", text.decode("utf-8", "replace")):
        parsed = message_from_bytes(chunk.encode(), policy=policy.compat32)
        blocks.append({k.lower(): " ".join(str(v).split()) for k, v in parsed.items()})
    return blocks


def _inner_headers(part: Message) -> Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    data = part.get_payload(decode=True)
    return message_from_bytes(data if isinstance(data, bytes) else b"", policy=policy.compat32)


def _after_type(diagnostic: str) -> str:
    # "smtp; 550 5.1.1 <x@example.se>: User unknown" -> "550 5.1.1 …"
    return diagnostic.split(";", 1)[1].strip() if ";" in diagnostic else diagnostic


# -- the writer's own text ---------------------------------------------------------------------


def body_text(message: EmailMessage) -> str:
    """The plain-text body, or the HTML body as text (some clients send only HTML)."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except LookupError:  # a charset Python does not know: the person's words, mostly ASCII
        payload = part.get_payload(decode=True)
        content = payload.decode("latin-1") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        return html_text(content)
    return content


class _TextOfHtml(HTMLParser):
    """HTML to text, with blockquotes and the clients' quote containers marked as quoted."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "table", "hr"})
    VOID = frozenset({"br", "hr", "img", "meta", "input", "link", "col", "area", "base", "wbr"})
    SKIP = frozenset({"style", "script", "head", "title"})
    # Gmail's and Thunderbird's quote containers; Apple Mail and others use <blockquote>.
    QUOTE = re.compile(r"gmail_quote|moz-cite-prefix")
    # Outlook puts its "Från: … Skickat: …" block and the whole original below, unquoted.
    ORIGINAL = re.compile(r"divRplyFwdMsg|appendonsend|OutlookMessageHeader")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.open: list[tuple[str, bool]] = []  # open elements: (tag, opened a quote)
        self.quotes = 0
        self.skipping = 0
        self.cut = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.cut:
            return
        marks = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        if self.ORIGINAL.search(marks):
            self.cut = True
            return
        if tag in self.BLOCKS:
            self._newline()
        if tag in self.VOID:
            return
        quote = tag == "blockquote" or bool(self.QUOTE.search(marks))
        self.open.append((tag, quote))
        self.quotes += quote
        self.skipping += tag in self.SKIP

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self._newline()
        if not any(open_tag == tag for open_tag, _ in self.open):
            return  # a stray end tag
        while self.open:
            open_tag, quote = self.open.pop()
            self.quotes -= quote
            self.skipping -= open_tag in self.SKIP
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.cut or self.skipping:
            return
        text = " ".join(data.split())
        if not text:
            return
        if not self.lines[-1]:
            self.lines[-1] = "> " * self.quotes
        self.lines[-1] += (" " if self.lines[-1].strip(" >") else "") + text

    def _newline(self) -> None:
        if self.lines[-1]:
            self.lines.append("")


def html_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return "\n".join(line.rstrip() for line in parser.lines)


# Lines that start the quoted original in the clients' plain text.
_ORIGINAL = re.compile(
    r"^\s*(?:-{2,}\s*(?:ursprungligt meddelande|original message|originalmeddelande|"
    r"vidarebefordrat meddelande|forwarded message)\s*-{2,}|_{10,})\s*$",
    re.IGNORECASE,
)
_HEADER_BLOCK = re.compile(r"^\s*\*?(från|from|von|fra)\s*:\*?\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(skickat|sent|datum|date|gesendet|till|to|ämne|subject)\s*:", re.IGNORECASE
)
# "On Tue, 3 Dec 2024 at 08:00, Bevakning <…> wrote:", "Den tis 3 dec. 2024 kl 08:00 skrev …:",
# "3 dec. 2024 kl. 08:00 skrev Bevakning <…>:" (Apple Mail); clients wrap it over up to 3 lines.
_ATTRIBUTION_START = re.compile(r"^\s*(on|den|am|le|\d{1,2}\s+\w+\.?\s+\d{4})\b", re.IGNORECASE)
_ATTRIBUTION_VERB = re.compile(r"\b(wrote|skrev|schrieb|a écrit|kirjoitti)\b", re.IGNORECASE)


def own_text(text: str) -> str:
    """The writer's own lines: what a client quoted (above or below) and the signature go."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.rstrip() == "--" or line == "-- ":
            break  # the signature delimiter
        if _ORIGINAL.match(line):
            break
        if _HEADER_BLOCK.match(line) and any(
            _HEADER_NEXT.match(following) for following in lines[index + 1 : index + 4]
        ):
            break  # Outlook's "Från: … Skickat: …" block: the original follows, unquoted
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    out: list[str] = []
    skip_to = -1
    for index, line in enumerate(kept):
        if index <= skip_to:
            continue
        end = _attribution_end(kept, index)
        if end is not None:
            skip_to = end
            continue
        out.append(line)
    return "\n".join(out).strip()


def _attribution_end(lines: list[str], index: int) -> int | None:
    """The last line of an attribution ("… skrev:") starting at `index`, or None."""
    if not _ATTRIBUTION_START.match(lines[index]):
        return None
    joined = ""
    for end in range(index, min(index + 3, len(lines))):
        joined += " " + lines[end].strip()
        if joined.rstrip().endswith(":") and _ATTRIBUTION_VERB.search(joined):
            return end
    return None
