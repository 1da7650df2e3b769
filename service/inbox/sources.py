"""Where replies are read: a local Maildir, an IMAP mailbox (IMAPS), Exchange (EWS) or
Exchange Online (Microsoft Graph). Each lists the mails not yet handled and, once a mail's
changes are committed, moves it to the processed folder (or flags it)."""

from __future__ import annotations

import logging
import mailbox
import ssl
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOURCES = ("maildir", "imap", "ews", "graph")
KEYWORD = "$Bevakning"  # the IMAP keyword of a handled mail when there is no processed folder


class SourceError(Exception):
    """The mailbox cannot be read (unreachable, refused login, missing folder)."""


@dataclass(frozen=True)
class Fetched:
    ref: str  # the source's own handle: a Maildir key, an IMAP UID, an EWS or Graph id
    raw: bytes  # the whole RFC 5322 message


class Source(ABC):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings
        self.processed = str(settings.get("processed_folder") or "").strip()

    def open(self) -> None:  # noqa: B027  (most sources connect on open; Maildir needs nothing)
        pass

    def close(self) -> None:  # noqa: B027
        pass

    @abstractmethod
    def unread(self, limit: int) -> Iterator[Fetched]:
        """Up to `limit` mails not yet moved away or flagged, oldest first."""

    @abstractmethod
    def done(self, ref: str) -> None:
        """Move the mail to the processed folder, or flag it where there is none."""


class MaildirSource(Source):
    """A local Maildir: the embedded default, beside the files transport."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        folder = str(settings.get("folder") or "").strip()
        if not folder:
            raise ValueError("[mail.inbox] folder is empty; give the Maildir to read replies from")
        self.folder = Path(folder)
        self._box: mailbox.Maildir | None = None

    def open(self) -> None:
        try:
            self._box = mailbox.Maildir(self.folder, factory=None, create=True)
        except OSError as exc:
            raise SourceError(f"cannot open the Maildir {self.folder}: {exc}") from exc

    @property
    def box(self) -> mailbox.Maildir:
        if self._box is None:
            self.open()
        assert self._box is not None
        return self._box

    def unread(self, limit: int) -> Iterator[Fetched]:
        # Maildir keys start with the delivery time, so sorting gives the oldest first.
        count = 0
        for key in sorted(self.box.iterkeys()):
            if count >= limit:
                return
            if not self.processed and "F" in self.box.get_message(key).get_flags():
                continue
            count += 1
            yield Fetched(key, self.box.get_bytes(key))

    def done(self, ref: str) -> None:
        box = self.box
        if not self.processed:
            message = box.get_message(ref)
            message.set_subdir("cur")
            message.add_flag("SF")
            box[ref] = message
            return
        try:
            target = box.get_folder(self.processed)
        except mailbox.NoSuchMailboxError:
            target = box.add_folder(self.processed)
        # Added there before it is removed here: a crash between the two leaves a copy in
        # both, and the claim on its Message-ID keeps the copy from being applied twice.
        target.add(box.get_bytes(ref))
        box.discard(ref)


def make_source(name: str, settings: Mapping[str, Any]) -> Source:
    if name == "maildir":
        return MaildirSource(settings)
    if name == "imap":
        from service.inbox.imap import ImapSource

        return ImapSource(settings)
    if name == "ews":
        from service.inbox.exchange import EwsSource

        return EwsSource(settings)
    if name == "graph":
        from service.inbox.exchange import GraphSource

        return GraphSource(settings)
    raise ValueError(f"[mail.inbox] source is {name!r}; choose one of {', '.join(SOURCES)}")


def tls_context(ca_file: str) -> ssl.SSLContext:
    """Certificate and host name checked; a private CA when one is given."""
    return ssl.create_default_context(cafile=ca_file or None)
