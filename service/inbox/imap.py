"""Replies from an IMAP mailbox over implicit TLS (IMAPS), with imapclient."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator, Mapping
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from service.inbox.sources import KEYWORD, Fetched, Source, SourceError, tls_context

log = logging.getLogger(__name__)

_ERRORS = (IMAPClientError, OSError, ssl.SSLError, socket.timeout, UnicodeError)


class ImapSource(Source):
    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.host = str(settings.get("imap_host") or "").strip()
        if not self.host:
            raise ValueError("[mail.inbox] imap_host is empty; give the IMAP server's name")
        self.port = int(settings.get("imap_port") or 993)
        self.username = str(settings.get("imap_username") or "")
        self.password = str(settings.get("imap_password") or "")
        self.folder = str(settings.get("remote_folder") or "INBOX")
        self.ca_file = str(settings.get("imap_ca_file") or "")
        self.timeout = float(settings.get("timeout") or 30)
        self._client: IMAPClient | None = None

    def _where(self) -> str:
        return f"IMAP {self.host}:{self.port} as {self.username}"

    def open(self) -> None:
        if self._client is not None:
            return
        try:
            client = IMAPClient(
                self.host,
                port=self.port,
                ssl=True,
                ssl_context=tls_context(self.ca_file),
                timeout=self.timeout,
            )
            if (self.username + self.password).isascii():
                client.login(self.username, self.password)
            else:
                # LOGIN takes ASCII only; SASL PLAIN carries the password as UTF-8 ("lösen").
                client.plain_login(self.username, self.password)
            client.select_folder(self.folder)
        except _ERRORS as exc:
            raise SourceError(
                f"{self._where()}: {exc}; check [mail.inbox] imap_host, imap_port, "
                "imap_username, the password and remote_folder"
            ) from exc
        self._client = client

    @property
    def client(self) -> IMAPClient:
        self.open()
        assert self._client is not None
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except _ERRORS:
                log.warning("IMAP logout failed", exc_info=True)

    def unread(self, limit: int) -> Iterator[Fetched]:
        criteria: list[Any] = ["NOT", "DELETED"]
        if not self.processed:
            criteria += ["NOT", "KEYWORD", KEYWORD]
        try:
            uids = sorted(self.client.search(criteria))[:limit]
            for start in range(0, len(uids), 20):
                chunk = uids[start : start + 20]
                # BODY.PEEK[]: reading must not mark the mail as read for the people who
                # share the mailbox; only a handled mail is moved or flagged.
                fetched = self.client.fetch(chunk, ["BODY.PEEK[]"])
                for uid in chunk:
                    data = fetched.get(uid, {})
                    raw = data.get(b"BODY[]")
                    if isinstance(raw, bytes):
                        yield Fetched(str(uid), raw)
        except _ERRORS as exc:
            raise SourceError(f"{self._where()}: cannot read {self.folder}: {exc}") from exc

    def done(self, ref: str) -> None:
        uid = int(ref)
        client = self.client
        try:
            if not self.processed:
                client.add_flags([uid], [KEYWORD.encode(), b"\\Seen"])
                return
            if not client.folder_exists(self.processed):
                client.create_folder(self.processed)
            if client.has_capability("MOVE"):
                client.move([uid], self.processed)
            else:
                client.copy([uid], self.processed)
                client.delete_messages([uid])
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge([uid])
                else:
                    client.expunge()
        except _ERRORS as exc:
            raise SourceError(
                f"{self._where()}: cannot move mail {uid} to {self.processed}: {exc}"
            ) from exc
