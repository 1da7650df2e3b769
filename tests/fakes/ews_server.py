"""Enough of Exchange Web Services for exchangelib to send mail through it.

Speaks SOAP on POST /EWS/Exchange.asmx with Basic auth:
- GetFolder for distinguished folders (exchangelib looks up Sent Items for SendAndSaveCopy),
- CreateItem with MessageDisposition SendOnly / SendAndSaveCopy / SaveOnly.

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
        raise AssertionError(f"the fake EWS server does not speak {name}")

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
