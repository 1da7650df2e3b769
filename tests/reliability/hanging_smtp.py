"""The SMTP fake, but the first DATA never gets its answer: the client sits between having
handed the mail over and hearing that it was taken, the moment a crash is most costly.

A mail whose DATA got no 250 was not accepted (RFC 5321 §4.1.1.4), so it is not recorded.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.fakes.smtp_server import FakeSMTPServer, _Handler


class _HangingHandler(_Handler):
    def __init__(self, server: HangingSMTPServer) -> None:
        super().__init__(server.state)
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.server.take_hang():
            return await super().handle_DATA(server, session, envelope)
        self.server.hanging.set()
        while not self.server.released.is_set():
            await asyncio.sleep(0.05)
        return "421 4.3.2 Shutting down"


class HangingSMTPServer(FakeSMTPServer):
    def __init__(self, *, hang_times: int = 1) -> None:
        super().__init__()
        self._hangs_left = hang_times
        self._lock = threading.Lock()
        self.hanging = threading.Event()  # set once a client is stuck after its DATA
        self.released = threading.Event()
        self._controller.handler = _HangingHandler(self)

    def take_hang(self) -> bool:
        with self._lock:
            if self._hangs_left <= 0:
                return False
            self._hangs_left -= 1
            return True

    def __enter__(self) -> HangingSMTPServer:
        self.start()
        return self

    def stop(self) -> None:
        self.released.set()
        super().stop()
