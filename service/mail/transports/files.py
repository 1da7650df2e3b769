"""The `files` transport: every mail becomes one RFC 5322 file in a local Maildir.

Meant for development, demonstrations and a municipality that wants to look at the mails
before switching on real delivery. Any mail client that reads Maildir (or a plain text
editor: each file is the complete .eml) shows exactly what would have been sent.
"""

from __future__ import annotations

import logging
import mailbox
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, TransportError, register

log = logging.getLogger(__name__)


@register("files")
class FilesTransport(Transport):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        folder = str(settings.get("folder") or "").strip()
        if not folder:
            raise ValueError("[mail.files] folder is empty; give the Maildir folder for the mails")
        self.folder = Path(folder)
        self._maildir: mailbox.Maildir | None = None

    def open(self) -> None:
        try:
            # mailbox.Maildir(create=True) makes cur/, new/ and tmp/ only when the folder itself
            # is new; an existing empty folder (made by an installer, say) would break add().
            for sub in ("tmp", "new", "cur"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
            self._maildir = mailbox.Maildir(self.folder, factory=None, create=True)
        except OSError as exc:
            raise TransportError(
                f"cannot create the Maildir {self.folder}: {exc}", permanent=False
            ) from exc

    def close(self) -> None:
        self._maildir = None

    def send(self, mail: OutgoingMail) -> None:
        if self._maildir is None:
            self.open()
        assert self._maildir is not None
        try:
            # Bytes, not the Message object: the file must hold exactly what a wire transport sends.
            key = self._maildir.add(mail.to_mime().as_bytes())
        except OSError as exc:
            # A full disk or a permissions problem can be fixed without touching the mail.
            raise TransportError(
                f"cannot write the mail to the Maildir {self.folder}: {exc}", permanent=False
            ) from exc
        log.info("Wrote mail %s to Maildir %s (key %s)", mail.message_id, self.folder, key)
