"""Sample mails for transport tests."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from service.mail.message import Address, OutgoingMail

SENDER = Address("bevakning@example.se", "Bevakning Socialförvaltningen")


def make_mail(
    number: int = 1,
    *,
    to: str = "enhetschef@example.se",
    cc: tuple[str, ...] = (),
    subject: str | None = None,
) -> OutgoingMail:
    return OutgoingMail(
        message_id=f"reminder.{number}.2024-12-02@bevakning.example.se",
        sender=SENDER,
        to=(Address(to, "Åsa Enhetschef"),),
        cc=tuple(Address(a) for a in cc),
        subject=subject if subject is not None else f"Påminnelse {number}: åtgärd förfaller",
        text=f"Hej!\n\nÅtgärd {number} ska vara klar den 4 december 2024.\n",
        html=f"<p>Hej!</p><p>Åtgärd <b>{number}</b> ska vara klar den 4 december 2024.</p>",
        date=datetime(2024, 12, 2, 6, 30, tzinfo=UTC),
    )


def parts(message: EmailMessage) -> dict[str, str]:
    """The text bodies of a parsed mail by content type: {"text/plain": ..., "text/html": ...}."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            assert isinstance(part, EmailMessage)
            found[part.get_content_type()] = str(part.get_content())
    return found
