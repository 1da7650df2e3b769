"""A small IMAP4rev1 server over TLS (IMAPS), enough for imapclient: LOGIN, SELECT, LIST,
CREATE, UID SEARCH/FETCH/STORE/MOVE/COPY, EXPUNGE. Mailboxes live in memory."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import BinaryIO

from tests.fakes.tls import Certificates

_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\()|(\))|([^\s()]+)')


@dataclass
class Stored:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class ImapServer:
    def __init__(
        self,
        certificates: Certificates,
        username: str,
        password: str,
        capabilities: tuple[str, ...] = ("IMAP4rev1", "AUTH=PLAIN", "MOVE", "UIDPLUS"),
    ) -> None:
        self.certificates = certificates
        self.username, self.password = username, password
        self.capabilities = capabilities
        self.folders: dict[str, list[Stored]] = {"INBOX": []}
        self.commands: list[str] = []  # every command received, as "UID FETCH" etc.
        self.lock = threading.Lock()
        self._next_uid = 1
        self._socket: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.port = 0

    def deliver(self, raw: bytes, folder: str = "INBOX") -> int:
        with self.lock:
            uid = self._next_uid
            self._next_uid += 1
            self.folders.setdefault(folder, []).append(Stored(uid, raw))
            return uid

    def start(self) -> ImapServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        self._socket = listener
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _accept(self) -> None:
        context = self.certificates.server_context()
        while self._socket is not None:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection, context), daemon=True)
            thread.start()

    def _serve(self, connection: socket.socket, context: ssl.SSLContext) -> None:
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                stream = tls.makefile("rwb")
                _Session(self, stream).run()
        except (OSError, ssl.SSLError):
            return


class _Session:
    def __init__(self, server: ImapServer, stream: BinaryIO) -> None:
        self.server, self.stream = server, stream
        self.authenticated = False
        self.folder: str | None = None

    def send(self, line: bytes | str) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.stream.write(data + b"\r\n")
        self.stream.flush()

    def read_command(self) -> bytes | None:
        line = self.stream.readline()
        if not line:
            return None
        # A literal {n}: the client waits for "+", then sends n bytes and the rest of the line.
        while (literal := re.search(rb"\{(\d+)\}\r\n$", line)) is not None:
            self.send("+ go ahead")
            data = self.stream.read(int(literal[1]))
            line = line[: literal.start()] + b'"' + data.replace(b'"', b'\\"') + b'"'
            line += self.stream.readline()
        return line.rstrip(b"\r\n")

    def run(self) -> None:
        self.send(f"* OK [CAPABILITY {' '.join(self.server.capabilities)}] test IMAP ready")
        while True:
            line = self.read_command()
            if line is None:
                return
            tokens = [
                (m[1] if m[1] is not None else m[0]).decode("utf-8", "replace")
                for m in _TOKEN.finditer(line)
            ]
            if len(tokens) < 2:
                self.send("* BAD empty command")
                continue
            tag, command, args = tokens[0], tokens[1].upper(), tokens[2:]
            uid = command == "UID"
            if uid:
                command, args = args[0].upper(), args[1:]
            self.server.commands.append(("UID " if uid else "") + command)
            if command == "LOGOUT":
                self.send("* BYE see you")
                self.send(f"{tag} OK LOGOUT completed")
                return
            try:
                self.dispatch(tag, command, args)
            except _No as exc:
                self.send(f"{tag} NO {exc}")

    def dispatch(self, tag: str, command: str, args: list[str]) -> None:
        s = self.server
        if command == "CAPABILITY":
            self.send(f"* CAPABILITY {' '.join(s.capabilities)}")
        elif command == "NOOP":
            pass
        elif command == "LOGIN":
            if args[:2] != [s.username, s.password]:
                raise _No("[AUTHENTICATIONFAILED] Authentication failed.")
            self.authenticated = True
        elif command == "AUTHENTICATE" and args[:1] == ["PLAIN"]:
            self.send("+ ")
            answer = base64.b64decode(self.stream.readline().strip() or b"=")
            _, user, password = answer.decode("utf-8").split("\0")
            if (user, password) != (s.username, s.password):
                raise _No("[AUTHENTICATIONFAILED] Authentication failed.")
            self.authenticated = True
        elif not self.authenticated:
            raise _No("log in first")
        elif command in ("SELECT", "EXAMINE"):
            name = self._folder_name(args[0])
            if name not in s.folders:
                raise _No("[NONEXISTENT] Mailbox doesn't exist")
            self.folder = name
            self.send(f"* {len(s.folders[name])} EXISTS")
            self.send("* 0 RECENT")
            self.send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
            self.send("* OK [UIDVALIDITY 1] UIDs valid")
            self.send(f"* OK [UIDNEXT {s._next_uid}] Predicted next UID")
            self.send(f"{tag} OK [READ-WRITE] {command} completed")
            return
        elif command == "LIST":
            pattern = self._folder_name(args[1])
            for name in s.folders:
                if pattern in ("*", name):
                    self.send(f'* LIST (\\HasNoChildren) "/" "{name}"')
        elif command == "CREATE":
            s.folders.setdefault(self._folder_name(args[0]), [])
        elif command == "SEARCH":
            found = [m.uid for m in self._messages() if _matches(m, [a.upper() for a in args])]
            self.send("* SEARCH" + "".join(f" {u}" for u in found))
        elif command == "FETCH":
            self._fetch(args)
        elif command == "STORE":
            self._store(args)
        elif command in ("MOVE", "COPY"):
            self._copy(args, move=command == "MOVE")
        elif command == "EXPUNGE":
            self._expunge(None)
        else:
            self.send(f"{tag} BAD unknown command {command}")
            return
        self.send(f"{tag} OK {command} completed")

    @staticmethod
    def _folder_name(raw: str) -> str:
        return "INBOX" if raw.upper() == "INBOX" else raw

    def _messages(self) -> list[Stored]:
        if self.folder is None:
            raise _No("no mailbox selected")
        return self.server.folders[self.folder]

    def _selected(self, spec: str) -> list[tuple[int, Stored]]:
        wanted: set[int] = set()
        top = max((m.uid for m in self._messages()), default=0)
        for part in spec.split(","):
            if ":" in part:
                low, high = part.split(":")
                wanted |= set(range(int(low), (top if high == "*" else int(high)) + 1))
            else:
                wanted.add(top if part == "*" else int(part))
        return [(i + 1, m) for i, m in enumerate(self._messages()) if m.uid in wanted]

    def _fetch(self, args: list[str]) -> None:
        items = " ".join(args[1:]).upper()
        for seq, message in self._selected(args[0]):
            parts = [f"UID {message.uid}"]
            if "FLAGS" in items:
                parts.append(f"FLAGS ({' '.join(sorted(message.flags))})")
            if "BODY" in items or "RFC822" in items:
                if "PEEK" not in items:
                    message.flags.add("\\Seen")
                head = f"* {seq} FETCH ({' '.join(parts)} BODY[] {{{len(message.raw)}}}"
                self.stream.write(head.encode() + b"\r\n" + message.raw + b")\r\n")
                self.stream.flush()
            else:
                self.send(f"* {seq} FETCH ({' '.join(parts)})")

    def _store(self, args: list[str]) -> None:
        mode = args[1].upper()
        flags = {a for a in args[2:] if a not in ("(", ")")}
        for seq, message in self._selected(args[0]):
            if mode.startswith("+"):
                message.flags |= flags
            elif mode.startswith("-"):
                message.flags -= flags
            else:
                message.flags = set(flags)
            if ".SILENT" not in mode:
                self.send(
                    f"* {seq} FETCH (FLAGS ({' '.join(sorted(message.flags))}) UID {message.uid})"
                )

    def _copy(self, args: list[str], *, move: bool) -> None:
        target = self._folder_name(args[1])
        if target not in self.server.folders:
            raise _No("[TRYCREATE] Mailbox doesn't exist")
        chosen = self._selected(args[0])
        for _, message in chosen:
            self.server.deliver(message.raw, target)
        if move:
            self._expunge({m.uid for _, m in chosen})

    def _expunge(self, uids: set[int] | None) -> None:
        messages = self._messages()
        for seq in range(len(messages), 0, -1):
            message = messages[seq - 1]
            gone = message.uid in uids if uids is not None else "\\Deleted" in message.flags
            if gone:
                del messages[seq - 1]
                self.send(f"* {seq} EXPUNGE")


class _No(Exception):
    pass


def _matches(message: Stored, criteria: list[str]) -> bool:
    def one(position: int) -> tuple[bool, int]:
        word = criteria[position]
        if word == "NOT":
            result, after = one(position + 1)
            return not result, after
        if word == "ALL":
            return True, position + 1
        if word in ("DELETED", "SEEN", "FLAGGED"):
            return f"\\{word.title()}" in message.flags, position + 1
        if word in ("UNDELETED", "UNSEEN"):
            return f"\\{word[2:].title()}" not in message.flags, position + 1
        if word == "KEYWORD":
            keyword = criteria[position + 1]
            return keyword in {f.upper() for f in message.flags}, position + 2
        raise _No(f"unsupported search key {word}")

    position, result = 0, True
    while position < len(criteria):
        matched, position = one(position)
        result = result and matched
    return result
