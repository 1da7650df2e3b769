"""Enough of Exchange Web Services for exchangelib to send mail through it.

Speaks SOAP on POST /EWS/Exchange.asmx with Basic auth:
- GetFolder for distinguished folders (exchangelib looks up Sent Items for SendAndSaveCopy),
- CreateItem with MessageDisposition SendOnly / SendAndSaveCopy / SaveOnly,
- a mailbox for the inbox: FindItem, GetItem (MimeContent, Categories), MoveItem, UpdateItem,
  FindFolder (by display name) and CreateFolder.

Every CreateItem is recorded as a `SentItem` with the decoded <t:MimeContent>. Failures are
scripted: `fail_create(code)` answers the next CreateItem with an EWS error ResponseMessage,
`fail_http(status)` answers the next request(s) with a bare HTTP status.
"""

from __future__ import annotations

import base64
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from tests.fakes.http_server import HTTPReply, HTTPRequest, LocalHTTPServer

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
PATH = "/EWS/Exchange.asmx"


@dataclass
class StoredItem:
    id: str
    folder: str  # a distinguished id ("inbox") or a FolderId Id
    mime: bytes
    categories: list[str]
    is_read: bool = False


@dataclass(frozen=True)
class SentItem:
    disposition: str  # SendOnly, SendAndSaveCopy or SaveOnly
    saved_item_folder: str | None  # the FolderId Id (or distinguished id) of SavedItemFolderId
    mime: bytes
    message: EmailMessage
    to_recipients: tuple[str, ...]
    cc_recipients: tuple[str, ...]
    impersonated: str | None  # PrimarySmtpAddress in the ExchangeImpersonation header


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}">'
        "<s:Header>"
        f'<h:ServerVersionInfo xmlns:h="{T}" MajorVersion="15" MinorVersion="1" '
        'MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11"/>'
        "</s:Header>"
        f'<s:Body xmlns:m="{M}" xmlns:t="{T}">{body}</s:Body>'
        "</s:Envelope>"
    ).encode()


def _error(operation: str, code: str) -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Error">'
        f"<m:MessageText>{code}</m:MessageText><m:ResponseCode>{code}</m:ResponseCode>"
        f"<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:{operation}ResponseMessage>"
    )


def _addresses(item: ET.Element, tag: str) -> tuple[str, ...]:
    return tuple(
        (mailbox.findtext(f"{{{T}}}EmailAddress") or "")
        for mailbox in item.findall(f"{{{T}}}{tag}/{{{T}}}Mailbox")
    )


class FakeEWSServer(LocalHTTPServer):
    def __init__(self, *, username: str = "svc-bevakning", password: str = "hemligt") -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.sent: list[SentItem] = []
        self.operations: list[str] = []
        self._create_failures: list[tuple[str, str]] = []
        self._http_failures: list[tuple[int, int | None]] = []
        self.items: list[StoredItem] = []  # the mailbox, oldest first
        self.folders: dict[str, str] = {}  # display name -> FolderId Id (besides the inbox)

    # -- what tests use ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}{PATH}"

    def settings(self, **overrides: object) -> dict[str, object]:
        """[mail.ews] settings that point at this server."""
        values: dict[str, object] = {
            "service_endpoint": self.endpoint,
            "auth_type": "basic",
            "username": self.username,
            "password": self.password,
            "sender_mailbox": "bevakning@example.se",
            "impersonation": False,
            "save_copy": True,
            "verify_tls": True,
            "timeout": 10,
        }
        values.update(overrides)
        return values

    def deliver(self, mime: bytes, folder: str = "inbox") -> str:
        with self.lock:
            item = StoredItem(f"item-{len(self.items) + 1}", folder, mime, [])
            self.items.append(item)
            return item.id

    def in_folder(self, name: str) -> list[StoredItem]:
        folder = "inbox" if name == "inbox" else self.folders.get(name, "")
        return [i for i in self.items if i.folder == folder]

    def fail_create(self, code: str, text: str = "scripted failure", times: int = 1) -> None:
        """Answer the next `times` CreateItem requests with ResponseClass="Error" and `code`."""
        with self.lock:
            self._create_failures.extend([(code, text)] * times)

    def fail_http(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` requests of any kind with a bare HTTP `status`."""
        with self.lock:
            self._http_failures.extend([(status, retry_after)] * times)

    # -- protocol ------------------------------------------------------------------------------

    def handle(self, request: HTTPRequest) -> HTTPReply:
        if request.method != "POST" or request.path != PATH:
            return HTTPReply(404, b"not found", "text/plain")
        with self.lock:
            failure = self._http_failures.pop(0) if self._http_failures else None
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return HTTPReply(status, b"scripted failure", "text/plain", headers)
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return HTTPReply(401, b"", "text/plain", {"WWW-Authenticate": 'Basic realm="ews"'})

        root = ET.fromstring(request.body)
        body = root.find(f"{{{SOAP}}}Body")
        assert body is not None and len(body) == 1, "one operation per SOAP request"
        operation = body[0]
        name = operation.tag.split("}")[1]
        with self.lock:
            self.operations.append(name)
        if name == "GetFolder":
            return HTTPReply(200, self._get_folder(operation), "text/xml; charset=utf-8")
        if name == "CreateItem":
            return HTTPReply(200, self._create_item(root, operation), "text/xml; charset=utf-8")
        mailbox = {
            "FindItem": self._find_item,
            "GetItem": self._get_item,
            "MoveItem": self._move_item,
            "UpdateItem": self._update_item,
            "FindFolder": self._find_folder,
            "CreateFolder": self._create_folder,
        }
        if name in mailbox:
            with self.lock:
                body = mailbox[name](operation)
            return HTTPReply(200, _envelope(body), "text/xml; charset=utf-8")
        raise AssertionError(f"the fake EWS server does not speak {name}")

    # -- the mailbox ---------------------------------------------------------------------------

    @staticmethod
    def _folder_of(element: ET.Element | None) -> str:
        assert element is not None
        for child in element:
            return child.get("Id") or ""
        return ""

    def _item(self, item_id: str) -> StoredItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    @staticmethod
    def _message(item: StoredItem, *, full: bool) -> str:
        extra = ""
        if full:
            mime = base64.b64encode(item.mime).decode()
            categories = "".join(f"<t:String>{escape(c)}</t:String>" for c in item.categories)
            extra = f'<t:MimeContent CharacterSet="UTF-8">{mime}</t:MimeContent>' + (
                f"<t:Categories>{categories}</t:Categories>" if categories else ""
            )
        return f'<t:Message><t:ItemId Id="{item.id}" ChangeKey="ck-{item.id}"/>{extra}</t:Message>'

    def _find_item(self, operation: ET.Element) -> str:
        folder = self._folder_of(operation.find(f"{{{M}}}ParentFolderIds"))
        found = [i for i in self.items if i.folder == folder]
        return (
            "<m:FindItemResponse><m:ResponseMessages>"
            '<m:FindItemResponseMessage ResponseClass="Success">'
            "<m:ResponseCode>NoError</m:ResponseCode>"
            f'<m:RootFolder TotalItemsInView="{len(found)}" IncludesLastItemInRange="true">'
            "<t:Items>"
            + "".join(self._message(i, full=False) for i in found)
            + "</t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages>"
            "</m:FindItemResponse>"
        )

    def _get_item(self, operation: ET.Element) -> str:
        messages = []
        for item_id in operation.iter(f"{{{T}}}ItemId"):
            item = self._item(item_id.get("Id") or "")
            if item is None:
                messages.append(_error("GetItem", "ErrorItemNotFound"))
                continue
            messages.append(
                '<m:GetItemResponseMessage ResponseClass="Success">'
                "<m:ResponseCode>NoError</m:ResponseCode><m:Items>"
                + self._message(item, full=True)
                + "</m:Items></m:GetItemResponseMessage>"
            )
        return (
            "<m:GetItemResponse><m:ResponseMessages>"
            + "".join(messages)
            + "</m:ResponseMessages></m:GetItemResponse>"
        )

    def _move_item(self, operation: ET.Element) -> str:
        target = self._folder_of(operation.find(f"{{{M}}}ToFolderId"))
        messages = []
        for item_id in operation.iter(f"{{{T}}}ItemId"):
            item = self._item(item_id.get("Id") or "")
            if item is None or target not in self.folders.values():
                messages.append(_error("MoveItem", "ErrorItemNotFound"))
                continue
            # Exchange gives a moved item a new id.
            item.folder, item.id = target, f"{item.id}-moved"
            messages.append(
                '<m:MoveItemResponseMessage ResponseClass="Success">'
                "<m:ResponseCode>NoError</m:ResponseCode><m:Items>"
                + self._message(item, full=False)
                + "</m:Items></m:MoveItemResponseMessage>"
            )
        return (
            "<m:MoveItemResponse><m:ResponseMessages>"
            + "".join(messages)
            + "</m:ResponseMessages></m:MoveItemResponse>"
        )

    def _update_item(self, operation: ET.Element) -> str:
        messages = []
        for change in operation.iter(f"{{{T}}}ItemChange"):
            item_id = change.find(f"{{{T}}}ItemId")
            item = self._item(item_id.get("Id") or "") if item_id is not None else None
            if item is None:
                messages.append(_error("UpdateItem", "ErrorItemNotFound"))
                continue
            for message in change.iter(f"{{{T}}}Message"):
                categories = message.find(f"{{{T}}}Categories")
                if categories is not None:
                    item.categories = [c.text or "" for c in categories]
                if message.findtext(f"{{{T}}}IsRead") is not None:
                    item.is_read = message.findtext(f"{{{T}}}IsRead") in ("true", "1")
            messages.append(
                '<m:UpdateItemResponseMessage ResponseClass="Success">'
                "<m:ResponseCode>NoError</m:ResponseCode><m:Items>"
                + self._message(item, full=False)
                + "</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>"
                "</m:UpdateItemResponseMessage>"
            )
        return (
            "<m:UpdateItemResponse><m:ResponseMessages>"
            + "".join(messages)
            + "</m:ResponseMessages></m:UpdateItemResponse>"
        )

    @staticmethod
    def _folder_xml(folder_id: str, name: str) -> str:
        return (
            f'<t:Folder><t:FolderId Id="{folder_id}" ChangeKey="ck-{folder_id}"/>'
            f'<t:ParentFolderId Id="folder-msgfolderroot" ChangeKey="ck-msgfolderroot"/>'
            f"<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>{escape(name)}</t:DisplayName>"
            "<t:TotalCount>0</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>"
            "<t:UnreadCount>0</t:UnreadCount></t:Folder>"
        )

    def _find_folder(self, operation: ET.Element) -> str:
        constant = next(operation.iter(f"{{{T}}}Constant"), None)
        wanted = constant.get("Value", "") if constant is not None else ""
        found = [(i, n) for n, i in self.folders.items() if n.lower() == wanted.lower()]
        return (
            "<m:FindFolderResponse><m:ResponseMessages>"
            '<m:FindFolderResponseMessage ResponseClass="Success">'
            "<m:ResponseCode>NoError</m:ResponseCode>"
            f'<m:RootFolder TotalItemsInView="{len(found)}" IncludesLastItemInRange="true">'
            "<t:Folders>"
            + "".join(self._folder_xml(i, n) for i, n in found)
            + "</t:Folders></m:RootFolder></m:FindFolderResponseMessage></m:ResponseMessages>"
            "</m:FindFolderResponse>"
        )

    def _create_folder(self, operation: ET.Element) -> str:
        name = operation.findtext(f".//{{{T}}}DisplayName") or ""
        folder_id = f"folder-{len(self.folders) + 1}"
        self.folders[name] = folder_id
        return (
            "<m:CreateFolderResponse><m:ResponseMessages>"
            '<m:CreateFolderResponseMessage ResponseClass="Success">'
            "<m:ResponseCode>NoError</m:ResponseCode><m:Folders>"
            f'<t:Folder><t:FolderId Id="{folder_id}" ChangeKey="ck-{folder_id}"/></t:Folder>'
            "</m:Folders></m:CreateFolderResponseMessage></m:ResponseMessages>"
            "</m:CreateFolderResponse>"
        )

    def _get_folder(self, operation: ET.Element) -> bytes:
        messages = []
        for folder_id in operation.iter(f"{{{T}}}DistinguishedFolderId"):
            distinguished = folder_id.get("Id") or ""
            display = {"root": "Root", "sentitems": "Skickat"}.get(distinguished, distinguished)
            messages.append(
                '<m:GetFolderResponseMessage ResponseClass="Success">'
                "<m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder>"
                f'<t:FolderId Id="folder-{distinguished}" ChangeKey="ck-{distinguished}"/>'
                "<t:FolderClass>IPF.Note</t:FolderClass>"
                f"<t:DisplayName>{escape(display)}</t:DisplayName>"
                "<t:TotalCount>0</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>"
                "<t:UnreadCount>0</t:UnreadCount>"
                "</t:Folder></m:Folders></m:GetFolderResponseMessage>"
            )
        return _envelope(
            "<m:GetFolderResponse><m:ResponseMessages>"
            + "".join(messages)
            + "</m:ResponseMessages></m:GetFolderResponse>"
        )

    def _create_item(self, root: ET.Element, operation: ET.Element) -> bytes:
        with self.lock:
            failure = self._create_failures.pop(0) if self._create_failures else None
        if failure is not None:
            code, text = failure
            return _envelope(
                "<m:CreateItemResponse><m:ResponseMessages>"
                '<m:CreateItemResponseMessage ResponseClass="Error">'
                f"<m:MessageText>{escape(text)}</m:MessageText>"
                f"<m:ResponseCode>{escape(code)}</m:ResponseCode>"
                "<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/>"
                "</m:CreateItemResponseMessage>"
                "</m:ResponseMessages></m:CreateItemResponse>"
            )

        saved = operation.find(f"{{{M}}}SavedItemFolderId")
        saved_id = None
        if saved is not None and len(saved):
            saved_id = saved[0].get("Id")
        impersonated = root.findtext(
            f"{{{SOAP}}}Header/{{{T}}}ExchangeImpersonation/{{{T}}}ConnectingSID/"
            f"{{{T}}}PrimarySmtpAddress"
        )
        items = operation.findall(f"{{{M}}}Items/{{{T}}}Message")
        for item in items:
            mime = base64.b64decode(item.findtext(f"{{{T}}}MimeContent") or "")
            parsed = email.message_from_bytes(mime, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            with self.lock:
                self.sent.append(
                    SentItem(
                        disposition=operation.get("MessageDisposition") or "",
                        saved_item_folder=saved_id,
                        mime=mime,
                        message=parsed,
                        to_recipients=_addresses(item, "ToRecipients"),
                        cc_recipients=_addresses(item, "CcRecipients"),
                        impersonated=impersonated,
                    )
                )
        # Send dispositions return no item ids, just success per item.
        return _envelope(
            "<m:CreateItemResponse><m:ResponseMessages>"
            + "".join(
                '<m:CreateItemResponseMessage ResponseClass="Success">'
                "<m:ResponseCode>NoError</m:ResponseCode><m:Items/>"
                "</m:CreateItemResponseMessage>"
                for _ in items
            )
            + "</m:ResponseMessages></m:CreateItemResponse>"
        )
