"""The `files` transport: every mail becomes one RFC 5322 file in a local Maildir.

Meant for development, demonstrations and a municipality that wants to look at the mails
before switching on real delivery. Any mail client that reads Maildir (or a plain text
editor: each file is the complete .eml) shows exactly what would have been sent.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.mail.message import OutgoingMail
from service.mail.transports.base import Transport, TransportError, register

log = logging.getLogger(__name__)
_COUNTER = itertools.count(1)
_HOST = socket.gethostname().replace("/", "_").replace(":", "_")


@register("files")
class FilesTransport(Transport):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        folder = str(settings.get("folder") or "").strip()
        if not folder:
            raise ValueError("[mail.files] folder is empty; give the Maildir folder for the mails")
        self.folder = Path(folder)
        self._opened = False

    def open(self) -> None:
        try:
            for sub in ("tmp", "new", "cur"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(
                f"cannot create the Maildir {self.folder}: {exc}", permanent=False
            ) from exc
        self._opened = True

    def send(self, mail: OutgoingMail) -> None:
        if not getattr(self, "_opened", False):
            self.open()
        # Maildir delivery: write under tmp/, then rename into new/, so a reader never sees a
        # half-written file. The unique name ends in .eml so a desktop opens it in a mail client.
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(_COUNTER)}.{_HOST}.eml"
        tmp, final = self.folder / "tmp" / name, self.folder / "new" / name
        try:
            # The bytes a wire transport would send, CRLF line ends included.
            tmp.write_bytes(mail.to_wire_bytes())
            os.replace(tmp, final)
        except OSError as exc:
            # A full disk or a permissions problem can be fixed without touching the mail.
            raise TransportError(
                f"cannot write the mail to the Maildir {self.folder}: {exc}", permanent=False
            ) from exc
        log.info("Wrote mail %s to %s", mail.message_id, final)
