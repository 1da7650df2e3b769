"""Serving the web app with uvicorn: in the foreground for `bevakning run`, or in a thread."""

from __future__ import annotations

import gc
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from service.app import App
from service.web.app import create_app
from service.web.security import install_log_redaction


def uvicorn_config(asgi: ASGIApp, host: str, port: int, **kwargs: object) -> uvicorn.Config:
    return uvicorn.Config(
        asgi,
        host=host,
        port=port,
        lifespan="off",
        # The real client address comes from the reverse proxy, if the proxy is trusted.
        proxy_headers=True,
        server_header=False,
        **kwargs,  # type: ignore[arg-type]
    )


def freeze_startup_objects() -> None:
    """Takes everything allocated while starting (modules, the ORM's mappings, the app) out of
    the garbage collector's sight. A full collection walked all of it each time, stalling every
    request on the event loop for 50-70 ms, a few times a minute under load; now it walks only
    what requests and ticks allocate."""
    gc.collect()
    gc.freeze()


def serve(app: App) -> None:
    """Blocks; host and port from [web]. Access logs keep paths but never the tokens."""
    web = app.config.section("web")
    install_log_redaction()
    config = uvicorn_config(
        create_app(app),
        str(web.get("host", "127.0.0.1")),
        int(web.get("port", 8080)),
        forwarded_allow_ips=str(web.get("forwarded_allow_ips", "127.0.0.1")),
    )
    freeze_startup_objects()
    uvicorn.Server(config).run()


class BackgroundServer:
    """uvicorn on 127.0.0.1 and a free port, in a thread; for tests and benchmarks."""

    def __init__(self, asgi: ASGIApp, *, host: str = "127.0.0.1", **kwargs: object) -> None:
        kwargs.setdefault("log_level", "warning")
        self.server = uvicorn.Server(uvicorn_config(asgi, host, 0, **kwargs))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.host = host

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        # Waiting for a socket to be bound, not for time to pass.
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
