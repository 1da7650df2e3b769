"""Enough of Entra ID and Microsoft Graph for msal and the graph transport, over HTTPS.

- GET  /{tenant}/v2.0/.well-known/openid-configuration   (msal's tenant discovery)
- POST /{tenant}/oauth2/v2.0/token                        (client credentials -> "token-N")
- POST /v1.0/users/{mailbox}/sendMail                     (MIME, base64, text/plain -> 202)
- GET  /v1.0/users?$select=…&$expand=manager&$top=N       (the directory, paged by @odata.nextLink)
- GET  /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user   (a group's user members, paged)
- the mailbox, for the inbox: GET mailFolders/{id}/messages, GET messages/{id}/$value,
  POST messages/{id}/move, PATCH messages/{id}, GET and POST mailFolders

sendMail checks the bearer token and records each accepted mail as a `GraphMail`. Replies
are scriptable: `script_send(401)` answers the next sendMail with 401, and so on; `script_read(429,
headers={"Retry-After": "7"})` throttles the next directory read. `users` (dicts as Graph has
them, with "manager" as the manager's id) and `groups` (id -> member ids) are the directory.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode

from tests.fakes.http_server import HTTPReply, HTTPRequest, LocalHTTPServer
from tests.fakes.tls import Certificates, make_certificates

TENANT = "00000000-0000-0000-0000-0000000000aa"
CLIENT_ID = "11111111-1111-1111-1111-1111111111bb"
CLIENT_SECRET = "hemligt-klientlosen"


@dataclass
class StoredMessage:
    id: str
    folder: str  # a folder id; "inbox" is the well-known inbox
    mime: bytes
    categories: list[str]
    is_read: bool = False


@dataclass(frozen=True)
class GraphMail:
    mailbox: str
    token: str
    mime: bytes
    message: EmailMessage


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> HTTPReply:
    return HTTPReply(status, json.dumps(payload).encode(), "application/json", headers or {})


def _graph_error(status: int, code: str, message: str) -> HTTPReply:
    return _json(status, {"error": {"code": code, "message": message}})


class FakeGraphServer(LocalHTTPServer):
    def __init__(self, certificate_folder: Path) -> None:
        self.certificates: Certificates = make_certificates(certificate_folder)
        super().__init__(tls=self.certificates.server_context())
        self.issued_tokens: list[str] = []
        self.mails: list[GraphMail] = []
        self.send_attempts: list[str] = []  # the bearer token of every sendMail, accepted or not
        self._send_script: list[tuple[int, dict[str, str]]] = []
        self._token_script: list[HTTPReply] = []
        self._read_script: list[tuple[int, dict[str, str]]] = []
        self.users: list[dict[str, object]] = []
        self.groups: dict[str, list[str]] = {}
        self.stored: list[StoredMessage] = []  # the mailbox's messages, oldest first
        self.folders: dict[str, str] = {}  # display name -> id (besides the inbox)
        self.requests_seen: list[str] = []  # "GET /messages/…", for the inbox's calls

    # -- what tests use ------------------------------------------------------------------------

    def settings(self, **overrides: object) -> dict[str, object]:
        """[mail.graph] settings that point at this server."""
        values: dict[str, object] = {
            "tenant_id": TENANT,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "sender_mailbox": "bevakning@example.se",
            "save_to_sent_items": True,
            "authority_host": self.base_url,
            "api_base": f"{self.base_url}/v1.0",
            "timeout": 10,
            "ca_bundle": str(self.certificates.ca_file),
        }
        values.update(overrides)
        return values

    def deliver(self, mime: bytes, folder: str = "inbox") -> str:
        with self.lock:
            message = StoredMessage(f"msg-{len(self.stored) + 1}", folder, mime, [])
            self.stored.append(message)
            return message.id

    def in_folder(self, name: str) -> list[StoredMessage]:
        folder = "inbox" if name == "inbox" else self.folders.get(name, "")
        return [m for m in self.stored if m.folder == folder]

    def script_send(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` sendMail requests with `status` (a Graph error body)."""
        with self.lock:
            self._send_script.extend([(status, headers or {})] * times)

    def script_read(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` directory reads (users, group members) with `status`."""
        with self.lock:
            self._read_script.extend([(status, headers or {})] * times)

    def script_token(self, status: int, error: str, description: str = "scripted") -> None:
        """Answer the next token request with an OAuth error."""
        with self.lock:
            self._token_script.append(
                _json(status, {"error": error, "error_description": description})
            )

    # -- protocol ------------------------------------------------------------------------------

    def handle(self, request: HTTPRequest) -> HTTPReply:
        path = request.path.split("?", 1)[0]
        if request.method == "GET" and path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return _json(200, self._openid_configuration())
        if request.method == "POST" and path == f"/{TENANT}/oauth2/v2.0/token":
            return self._token(request)
        if request.method == "GET" and path == "/v1.0/users":
            return self._read(request, self.users)
        group_prefix, group_suffix = "/v1.0/groups/", "/transitiveMembers/microsoft.graph.user"
        if (
            request.method == "GET"
            and path.startswith(group_prefix)
            and path.endswith(group_suffix)
        ):
            group = unquote(path[len(group_prefix) : -len(group_suffix)])
            if group not in self.groups:
                return _graph_error(404, "Request_ResourceNotFound", f"no group {group}")
            members = set(self.groups[group])
            return self._read(request, [u for u in self.users if u["id"] in members])
        prefix, suffix = "/v1.0/users/", "/sendMail"
        if request.method == "POST" and path.startswith(prefix) and path.endswith(suffix):
            return self._send_mail(request, unquote(path[len(prefix) : -len(suffix)]))
        if path.startswith(prefix):
            return self._mailbox(request, path[len(prefix) :].split("/", 1)[1])
        return _graph_error(404, "NotFound", f"no fake for {request.method} {path}")

    def _mailbox(self, request: HTTPRequest, path: str) -> HTTPReply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            if token not in self.issued_tokens:
                return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
            self.requests_seen.append(f"{request.method} /{path}")
            query = {k: v[0] for k, v in parse_qs(request.path.partition("?")[2]).items()}
            parts = path.split("/")
            body = json.loads(request.body or b"null")
            if request.method == "GET" and parts[0] == "mailFolders" and len(parts) == 3:
                folder = parts[1]
                listed = [m for m in self.stored if m.folder == folder]
                top = int(query.get("$top", "10"))
                values = [{"id": m.id, "categories": m.categories} for m in listed[:top]]
                return _json(200, {"value": values})
            if request.method == "GET" and parts == ["mailFolders"]:
                name = query.get("$filter", "").split("'")[1]
                found = (
                    [{"id": self.folders[name], "displayName": name}]
                    if name in self.folders
                    else []
                )
                return _json(200, {"value": found})
            if request.method == "POST" and parts == ["mailFolders"]:
                name = body["displayName"]
                self.folders[name] = f"folder-{len(self.folders) + 1}"
                return _json(201, {"id": self.folders[name], "displayName": name})
            message = next((m for m in self.stored if len(parts) > 1 and m.id == parts[1]), None)
            if parts[0] != "messages" or message is None:
                return _graph_error(404, "ErrorItemNotFound", "The specified object was not found")
            if request.method == "GET" and parts[2:] == ["$value"]:
                return HTTPReply(200, message.mime, "text/plain")
            if request.method == "POST" and parts[2:] == ["move"]:
                target = body["destinationId"]
                if target not in self.folders.values():
                    return _graph_error(404, "ErrorFolderNotFound", "no such folder")
                # Graph gives a moved message a new id.
                message.folder, message.id = target, f"{message.id}-moved"
                return _json(201, {"id": message.id})
            if request.method == "PATCH" and len(parts) == 2:
                message.categories = list(body.get("categories", message.categories))
                message.is_read = bool(body.get("isRead", message.is_read))
                return _json(200, {"id": message.id})
        return _graph_error(400, "BadRequest", f"no fake for {request.method} {path}")

    def _openid_configuration(self) -> dict[str, object]:
        base = f"{self.base_url}/{TENANT}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def _token(self, request: HTTPRequest) -> HTTPReply:
        with self.lock:
            scripted = self._token_script.pop(0) if self._token_script else None
        if scripted is not None:
            return scripted
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _json(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"}
            )
        if form.get("scope") != "https://graph.microsoft.com/.default":
            return _json(400, {"error": "invalid_scope"})
        with self.lock:
            token = f"token-{len(self.issued_tokens) + 1}"
            self.issued_tokens.append(token)
        return _json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def _send_mail(self, request: HTTPRequest, mailbox: str) -> HTTPReply:
        authorization = request.headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ")
        with self.lock:
            self.send_attempts.append(token)
            scripted = self._send_script.pop(0) if self._send_script else None
            known = token in self.issued_tokens
        if scripted is not None:
            status, headers = scripted
            reply = _graph_error(status, f"Scripted{status}", "scripted failure")
            reply.headers.update(headers)
            return reply
        if not authorization.startswith("Bearer ") or not known:
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if request.headers.get("content-type", "").split(";")[0] != "text/plain":
            return _graph_error(400, "ErrorInvalidMimeContent", "expected MIME as text/plain")
        try:
            mime = base64.b64decode(request.body, validate=True)
        except binascii.Error:
            return _graph_error(
                400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME"
            )
        parsed = email.message_from_bytes(mime, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.mails.append(GraphMail(mailbox=mailbox, token=token, mime=mime, message=parsed))
        return HTTPReply(202, b"", "text/plain")

    def _read(self, request: HTTPRequest, rows: list[dict[str, object]]) -> HTTPReply:
        """One page of `rows` as Graph serves a collection: $select, $expand=manager, $top and
        an opaque $skiptoken in @odata.nextLink."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            scripted = self._read_script.pop(0) if self._read_script else None
            known = token in self.issued_tokens
        if scripted is not None:
            status, headers = scripted
            reply = _graph_error(status, "TooManyRequests", "scripted throttling")
            reply.headers.update(headers)
            return reply
        if not known:
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        path, _, query = request.path.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        top = int(params.get("$top", "100"))
        skip = int(params.get("$skiptoken", "0"))
        selected = params.get("$select", "id").split(",")
        by_id = {u["id"]: u for u in self.users}
        page = []
        for row in rows[skip : skip + top]:
            out = {k: row.get(k) for k in selected}
            if params.get("$expand", "").startswith("manager"):
                manager = by_id.get(row.get("manager"))
                out["manager"] = (
                    {"id": manager["id"], "mail": manager.get("mail")} if manager else None
                )
            page.append(out)
        body: dict[str, object] = {"value": page}
        if skip + top < len(rows):
            rest = {k: v for k, v in params.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = (
                f"{self.base_url}{path}?{urlencode({**rest, '$skiptoken': skip + top})}"
            )
        return _json(200, body)
