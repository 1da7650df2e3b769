"""Replies from Exchange: Exchange Online through Microsoft Graph, on-premises Exchange
through EWS (exchangelib). Both read the mailbox with the account settings of their transport
([mail.graph], [mail.ews]); the app or service account needs read and write rights on it."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from service.inbox.sources import Fetched, Source, SourceError
from service.mail.transports.base import TransportError

log = logging.getLogger(__name__)

CATEGORY = "Bevakning"  # the category of a handled mail when there is no processed folder
_INBOX_NAMES = ("", "inbox")


class GraphSource(Source):
    """Needs the Mail.ReadWrite application permission (limited to the mailbox by an
    application access policy)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        from service.mail.transports.graph import GraphTransport

        self.mailbox = str(settings.get("mailbox") or "").strip()
        self.graph = GraphTransport({**settings, "sender_mailbox": self.mailbox})
        self.folder = str(settings.get("remote_folder") or "INBOX")
        self._folder_ids: dict[str, str] = {}

    def _call(
        self, method: str, path: str, what: str, *, gone_ok: bool = False, **kwargs: Any
    ) -> requests.Response:
        try:
            response = self.graph.request(method, path, **kwargs)
        except TransportError as exc:
            raise SourceError(f"Graph, mailbox {self.mailbox}: {what}: {exc}") from exc
        if gone_ok and response.status_code == 404:
            return response
        if response.status_code >= 400:
            raise SourceError(
                f"Graph, mailbox {self.mailbox}: {what} failed with {response.status_code}: "
                f"{response.text[:300]}; check the app's Mail.ReadWrite permission"
            )
        return response

    def close(self) -> None:
        self.graph.close()

    def _folder_id(self, name: str, *, create: bool) -> str:
        if name.lower() in _INBOX_NAMES:
            return "inbox"  # Graph's well-known name
        if name in self._folder_ids:
            return self._folder_ids[name]
        escaped = name.replace("'", "''")
        found = self._call(
            "GET",
            "/mailFolders",
            f"find folder {name}",
            params={"$filter": f"displayName eq '{escaped}'", "$select": "id,displayName"},
        ).json()
        values = found.get("value", [])
        if values:
            folder_id = str(values[0]["id"])
        elif create:
            created = self._call(
                "POST", "/mailFolders", f"create folder {name}", json={"displayName": name}
            ).json()
            folder_id = str(created["id"])
        else:
            raise SourceError(f"Graph, mailbox {self.mailbox}: there is no folder {name}")
        self._folder_ids[name] = folder_id
        return folder_id

    def unread(self, limit: int) -> Iterator[Fetched]:
        folder = self._folder_id(self.folder, create=False)
        listing = self._call(
            "GET",
            f"/mailFolders/{folder}/messages",
            f"list {self.folder}",
            params={
                "$select": "id,categories",
                "$orderby": "receivedDateTime",
                "$top": str(limit),
            },
        ).json()
        for message in listing.get("value", []):
            if not self.processed and CATEGORY in (message.get("categories") or []):
                continue
            message_id = str(message["id"])
            raw = self._call("GET", f"/messages/{message_id}/$value", "read a mail").content
            yield Fetched(message_id, raw)

    def done(self, ref: str) -> None:
        if not self.processed:
            self._call(
                "PATCH",
                f"/messages/{ref}",
                "flag a mail",
                json={"categories": [CATEGORY], "isRead": True},
            )
            return
        target = self._folder_id(self.processed, create=True)
        # 404: another instance, which read it at the same time, has moved it already.
        self._call(
            "POST",
            f"/messages/{ref}/move",
            "move a mail",
            gone_ok=True,
            json={"destinationId": target},
        )


class EwsSource(Source):
    """The service account needs full access to the mailbox (or impersonation)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        from service.mail.transports.ews import EwsTransport

        self.mailbox = str(settings.get("mailbox") or "").strip()
        self.ews = EwsTransport({**settings, "sender_mailbox": self.mailbox})
        self.folder_name = str(settings.get("remote_folder") or "INBOX")

    def _where(self) -> str:
        return f"EWS, mailbox {self.mailbox}"

    def open(self) -> None:
        try:
            self.ews.open()
        except TransportError as exc:
            raise SourceError(f"{self._where()}: {exc}") from exc

    def close(self) -> None:
        self.ews.close()

    def _folder(self, name: str, *, create: bool) -> Any:
        """The inbox, or a folder by name at the top of the mailbox (beside the inbox)."""
        from exchangelib import Folder, Q
        from exchangelib.folders import FolderCollection

        account = self.ews.account
        if name.lower() in _INBOX_NAMES:
            return account.inbox
        top = account.msg_folder_root
        # One FindFolder on the top level, not exchangelib's walk of the whole folder tree.
        found = FolderCollection(account=account, folders=[top]).find_folders(
            q=Q(name=name), depth="Shallow"
        )
        for folder in found:
            if isinstance(folder, Folder):
                return folder
            if isinstance(folder, Exception):
                raise folder
        if not create:
            raise SourceError(f"{self._where()}: there is no folder {name}")
        folder = Folder(parent=top, name=name)
        folder.save()
        return folder

    def unread(self, limit: int) -> Iterator[Fetched]:
        from exchangelib import Message

        try:
            folder = self._folder(self.folder_name, create=False)
            items = (
                folder.all()
                .order_by("datetime_received")
                .only("mime_content", "categories")[:limit]
            )
            for item in items:
                if not isinstance(item, Message) or item.mime_content is None:
                    continue
                if not self.processed and CATEGORY in (item.categories or []):
                    continue
                yield Fetched(f"{item.id}\n{item.changekey}", bytes(item.mime_content))
        except SourceError:
            raise
        except Exception as exc:  # exchangelib's errors, and requests'
            raise SourceError(f"{self._where()}: cannot read {self.folder_name}: {exc}") from exc

    def done(self, ref: str) -> None:
        from exchangelib import Message
        from exchangelib.errors import ErrorItemNotFound

        item_id, changekey = ref.split("\n", 1)
        try:
            item = Message(account=self.ews.account, id=item_id, changekey=changekey)
            if not self.processed:
                item.categories = [CATEGORY]
                item.is_read = True
                item.save(update_fields=["categories", "is_read"])
                return
            item.move(self._folder(self.processed, create=True))
        except ErrorItemNotFound:
            return  # another instance, which read it at the same time, has moved it already
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"{self._where()}: cannot move a mail: {exc}") from exc
