"""A real SMTP server (aiosmtpd) for tests, with scriptable replies.

    with FakeSMTPServer() as server:
        server.reply("RCPT", "451 4.3.0 try later", times=2)   # then 250 again
        server.reply("RCPT", "550 5.1.1 unknown user", address="nobody@example.se")
        ... send to 127.0.0.1:server.port ...
        server.messages[0].message["Subject"]

It listens on 127.0.0.1 on an ephemeral port, counts TCP connections, can require STARTTLS
or implicit TLS and a login, and can hang up on every open connection to test reconnects.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

COMMANDS = ("MAIL", "RCPT", "DATA")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # exactly what came after DATA
    message: EmailMessage  # `data` parsed with the modern email policy
    connection: int  # 1 for the first connection the server saw, 2 for the next, ...


@dataclass
class _Rule:
    command: str
    reply: str
    remaining: int | None  # None = for ever
    address: str | None  # only for this MAIL FROM/RCPT TO address (case-insensitive)


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: list[_Rule] = field(default_factory=list)
    messages: list[ReceivedMail] = field(default_factory=list)
    commands: list[tuple[int, str, str]] = field(default_factory=list)  # (connection, cmd, arg)
    connections: int = 0
    logins: list[str] = field(default_factory=list)
    # Called (in the server's thread) as each message arrives, before it is accepted.
    on_data: Callable[[], None] | None = None

    def scripted(self, command: str, address: str | None) -> str | None:
        with self.lock:
            for rule in self.rules:
                if rule.command != command:
                    continue
                if rule.address is not None and (address or "").lower() != rule.address:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self.rules.remove(rule)
                return rule.reply
        return None


class _Handler:
    """aiosmtpd hooks: answer from the script, otherwise accept and record."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def _log(self, session: Session, command: str, arg: str) -> None:
        with self.state.lock:
            self.state.commands.append((_connection_of(session), command, arg))

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        self._log(session, "MAIL", address)
        reply = self.state.scripted("MAIL", address)
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        self._log(session, "RCPT", address)
        reply = self.state.scripted("RCPT", address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._log(session, "DATA", "")
        if self.state.on_data is not None:
            self.state.on_data()
        reply = self.state.scripted("DATA", None)
        if reply is not None:
            return reply
        data = envelope.original_content or b""
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.state.lock:
            self.state.messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=data,
                    message=parsed,
                    connection=_connection_of(session),
                )
            )
        return "250 2.0.0 Message accepted for delivery"


def _connection_of(session: Session) -> int:
    return int(getattr(session, "fake_connection_number", 0))


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP session, numbered per TCP connection."""

    def __init__(self, handler: Any, *, fake_state: _State, **kwargs: Any) -> None:
        with warnings.catch_warnings():
            # aiosmtpd warns about AUTH over plain TCP, which the tests do on purpose.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            super().__init__(handler, **kwargs)
        self._fake_state = fake_state
        self._fake_number = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self._fake_number == 0:  # STARTTLS calls this again on the same connection
            with self._fake_state.lock:
                self._fake_state.connections += 1
                self._fake_number = self._fake_state.connections
        if self.session is not None:
            self.session.fake_connection_number = self._fake_number  # type: ignore[attr-defined]


class _Controller(Controller):
    def __init__(self, state: _State, **kwargs: Any) -> None:
        self._fake_state = state
        self.protocols: list[_CountingSMTP] = []
        super().__init__(**kwargs)

    def factory(self) -> SMTP:
        protocol = _CountingSMTP(self.handler, fake_state=self._fake_state, **self.SMTP_kwargs)
        self.protocols.append(protocol)
        return protocol

    def _trigger_server(self) -> None:
        # Bound to port 0: learn the real port before aiosmtpd's own start-up probe connects.
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSMTPServer:
    """An SMTP server on 127.0.0.1:<ephemeral>; see the module docstring."""

    def __init__(
        self,
        *,
        starttls_context: Any = None,  # ssl.SSLContext: offer STARTTLS
        implicit_tls_context: Any = None,  # ssl.SSLContext: TLS from the first byte (port 465)
        require_starttls: bool = False,
        credentials: tuple[str, str] | None = None,  # require this login
    ) -> None:
        self.state = _State()
        self.credentials = credentials
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": 0,
            # A fixed greeting name: aiosmtpd would otherwise ask DNS (socket.getfqdn).
            "server_hostname": "fake-smtp.test",
            "ready_timeout": 10.0,
        }
        if starttls_context is not None:
            kwargs["tls_context"] = starttls_context
            kwargs["require_starttls"] = require_starttls
        if implicit_tls_context is not None:
            kwargs["ssl_context"] = implicit_tls_context
        if credentials is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            # Tests log in over plain TCP too; production servers should not allow it.
            kwargs["auth_require_tls"] = False
        self._controller = _Controller(self.state, handler=_Handler(self.state), **kwargs)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> FakeSMTPServer:
        self._controller.start()
        with self.state.lock:
            # aiosmtpd's start-up probe is not a client connection.
            self.state.connections = 0
            self.state.commands.clear()
        self._controller.protocols.clear()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> FakeSMTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests use ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """[mail.smtp] settings that point at this server."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": "none",
            "username": "",
            "password": "",
            "timeout": 10,
            "local_hostname": "bevakning.test",
        }
        values.update(overrides)
        return values

    @property
    def messages(self) -> list[ReceivedMail]:
        with self.state.lock:
            return list(self.state.messages)

    @property
    def connections(self) -> int:
        with self.state.lock:
            return self.state.connections

    @property
    def commands(self) -> list[tuple[int, str, str]]:
        with self.state.lock:
            return list(self.state.commands)

    @property
    def logins(self) -> list[str]:
        with self.state.lock:
            return list(self.state.logins)

    def reply(
        self, command: str, reply: str, *, times: int | None = None, address: str | None = None
    ) -> None:
        """Answer `command` (MAIL, RCPT or DATA) with `reply` the next `times` times (None: always).

        With `address`, only MAIL FROM/RCPT TO that address is affected. Rules are tried in the
        order they were added; without a matching rule the server accepts.
        """
        command = command.upper()
        if command not in COMMANDS:
            raise ValueError(f"can only script {', '.join(COMMANDS)}, not {command!r}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        with self.state.lock:
            self.state.rules.append(
                _Rule(command, reply, times, address.lower() if address else None)
            )

    def clear_replies(self) -> None:
        with self.state.lock:
            self.state.rules.clear()

    def hang_up(self) -> None:
        """Close every open client connection, as a server does with idle sessions."""

        def close_all() -> None:
            for protocol in self._controller.protocols:
                if protocol.transport is not None:
                    protocol.transport.close()

        done = threading.Event()

        def run() -> None:
            try:
                close_all()
            finally:
                done.set()

        self._controller.loop.call_soon_threadsafe(run)
        if not done.wait(5):
            raise TimeoutError("the SMTP server's loop did not close the connections")

    # -- auth --------------------------------------------------------------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        ok = (login, auth_data.password.decode()) == self.credentials
        if ok:
            with self.state.lock:
                self.state.logins.append(login)
        return AuthResult(success=ok, handled=False)
