"""A small threaded HTTP(S) server on 127.0.0.1 for protocol fakes (EWS, Graph).

Subclasses implement `handle(request) -> HTTPReply`; every request is recorded first.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

_S = TypeVar("_S", bound="LocalHTTPServer")


@dataclass(frozen=True)
class HTTPRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class HTTPReply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # stop() closes clients' keep-alive connections itself instead of waiting for them.
    block_on_close = False
    fake: LocalHTTPServer
    open_connections: set[socket.socket]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.fake.lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.fake.lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services; clients reuse connections
    timeout = 10  # an idle keep-alive connection ends its thread after this long
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = HTTPRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(request)
        try:
            reply = fake.handle(request)
        except Exception as exc:  # a bug in the fake must show up as a failed test, not a hang
            reply = HTTPReply(500, f"fake server error: {exc!r}".encode(), "text/plain")
            with fake.lock:
                fake.errors.append(exc)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; requests are recorded instead


class LocalHTTPServer:
    """Base for the fakes; `tls` (a server SSLContext) makes it HTTPS."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.lock = threading.Lock()
        self.requests: list[HTTPRequest] = []
        self.errors: list[Exception] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: HTTPRequest) -> HTTPReply:
        raise NotImplementedError

    def start(self: _S) -> _S:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        server.open_connections = set()
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self.lock:
                connections = list(self._server.open_connections)
            for connection in connections:
                # Wakes the handler threads blocked on idle keep-alive connections.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"
