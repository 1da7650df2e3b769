"""The `memory` transport: keeps mails in a list. For simulations and tests, never for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, register


@register("memory")
class MemoryTransport(Transport):
    shareable = False  # its list lives in this process

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(settings or {})
        self.sent: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)
