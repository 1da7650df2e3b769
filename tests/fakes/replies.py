"""Replies to one of our mails as Outlook, Gmail and Apple Mail write them, in Swedish and
English clients: where they put the quote, how they head it, HTML-only ones, bounces."""

from __future__ import annotations

import html
import uuid
from email.message import EmailMessage
from email.utils import format_datetime

from service.mail.message import OutgoingMail

INBOX = "bevakning-svar@example.se"


def _envelope(
    original: OutgoingMail, sender: str, subject_prefix: str, headers: dict[str, str]
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Svarande <{sender}>"
    message["To"] = INBOX
    message["Subject"] = f"{subject_prefix}{original.subject}"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.se>"
    message["In-Reply-To"] = f"<{original.message_id}>"
    message["References"] = f"<{original.message_id}>"
    if original.date is not None:
        message["Date"] = format_datetime(original.date)
    for name, value in headers.items():
        message[name] = value
    return message


def _quoted(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def outlook(
    original: OutgoingMail, body: str, sender: str, *, swedish: bool = True, **headers: str
) -> bytes:
    """Outlook: answer on top, then a header block and the original unquoted; text and HTML."""
    if swedish:
        block = (
            f"Från: Bevakning <{original.sender.email}>\nSkickat: den 25 november 2024 07:30\n"
            f"Till: {sender}\nÄmne: {original.subject}"
        )
        prefix = "SV: "
    else:
        block = (
            f"From: Bevakning <{original.sender.email}>\nSent: Monday, November 25, 2024 7:30 AM\n"
            f"To: {sender}\nSubject: {original.subject}"
        )
        prefix = "RE: "
    message = _envelope(original, sender, prefix, headers)
    message.set_content(f"{body}\n\nMed vänlig hälsning\nAnna\n\n{block}\n\n{original.text}")
    message.add_alternative(
        f'<html><body><div>{_html_lines(body)}</div><div id="appendonsend"></div><hr>'
        f'<div id="divRplyFwdMsg"><b>{"Från" if swedish else "From"}:</b> Bevakning</div>'
        f"{original.html}</body></html>",
        subtype="html",
    )
    return bytes(message)


def gmail(
    original: OutgoingMail, body: str, sender: str, *, swedish: bool = True, **headers: str
) -> bytes:
    """Gmail: answer on top, then a wrapped attribution line and the quote (> in the text)."""
    if swedish:
        attribution = (
            "Den mån 25 nov. 2024 kl 07:30 skrev Bevakning Socialförvaltningen <\n"
            f"{original.sender.email}>:"
        )
    else:
        attribution = (
            "On Mon, 25 Nov 2024 at 07:30, Bevakning Socialförvaltningen <\n"
            f"{original.sender.email}> wrote:"
        )
    message = _envelope(original, sender, "Re: ", headers)
    message.set_content(f"{body}\n\n{attribution}\n\n{_quoted(original.text)}\n")
    message.add_alternative(
        f'<div dir="ltr">{_html_lines(body)}</div><br><div class="gmail_quote">'
        f'<div dir="ltr" class="gmail_attr">{html.escape(attribution)}<br></div>'
        f'<blockquote class="gmail_quote">{original.html}</blockquote></div>',
        subtype="html",
    )
    return bytes(message)


def apple_mail_below(
    original: OutgoingMail, body: str, sender: str, *, swedish: bool = False, **headers: str
) -> bytes:
    """Apple Mail, written below the quote (bottom posting); plain text only."""
    attribution = (
        f"25 nov. 2024 kl. 07:30 skrev Bevakning <{original.sender.email}>:"
        if swedish
        else f"On 25 Nov 2024, at 07:30, Bevakning <{original.sender.email}> wrote:"
    )
    message = _envelope(original, sender, "Sv: " if swedish else "Re: ", headers)
    message.set_content(
        f"{attribution}\n\n{_quoted(original.text)}\n\n{body}\n\nSkickat från min iPhone"
    )
    return bytes(message)


def html_only(original: OutgoingMail, body: str, sender: str, **headers: str) -> bytes:
    """Outlook on the web in English, sending only an HTML part."""
    message = _envelope(original, sender, "RE: ", headers)
    message.set_content(
        f"<html><head><style>p {{ margin: 0 }}</style></head><body>"
        f'<div style="font-family: Calibri">{_html_lines(body)}</div>'
        f'<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
        f"<b>From:</b> Bevakning &lt;{original.sender.email}&gt;<br><b>Sent:</b> Monday<br>"
        f"</div>{original.html}</body></html>",
        subtype="html",
    )
    return bytes(message)


def out_of_office(original: OutgoingMail, sender: str) -> bytes:
    message = _envelope(original, sender, "Automatiskt svar: ", {"Auto-Submitted": "auto-replied"})
    message.set_content("Jag är på semester till och med 2 december. klar alla")
    return bytes(message)


def bounce(original: OutgoingMail, recipient: str) -> bytes:
    """A DSN (RFC 3464) from the receiving server: the recipient does not exist."""
    message = EmailMessage()
    message["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.se>"
    message["To"] = original.sender.email
    message["Subject"] = "Undelivered Mail Returned to Sender"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mx.example.se>"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("I'm sorry to have to inform you that your message could not be delivered.")
    raw = (
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\n'
        + "".join(f"{k}: {v}\n" for k, v in message.items() if k not in _BODY_HEADERS)
        + "\n--BOUNDARY\nContent-Type: text/plain; charset=us-ascii\n\n"
        "Your message could not be delivered.\n"
        "\n--BOUNDARY\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.se\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: "
        "User unknown\n"
        "\n--BOUNDARY\nContent-Type: text/rfc822-headers\n\n"
        f"Message-ID: <{original.message_id}>\nSubject: {original.subject}\n"
        "\n--BOUNDARY--\n"
    )
    return raw.encode("utf-8")


_BODY_HEADERS = ("Content-Type", "MIME-Version", "Content-Transfer-Encoding")


def _html_lines(body: str) -> str:
    return "".join(f"<p>{html.escape(line) or '<br>'}</p>" for line in body.splitlines())
