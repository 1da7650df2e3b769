"""The transport interface: one small class per way of delivering mail."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from service.mail.message import OutgoingMail


class TransportError(Exception):
    """A failed delivery; `permanent` says whether retrying can help.

    `retry_after` (seconds) is the server's own hint for a temporary error, e.g. from an
    HTTP Retry-After header; the dispatcher may wait at least that long before retrying.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Transport(ABC):
    """Delivers mails. Used as a context manager around a batch so connections are reused."""

    name: str = ""
    # Whether another process can make the same transport from `name` and `settings` (and its
    # mails then go where this one's would): helper processes of a dispatch need that.
    shareable: bool = True

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings

    def open(self) -> None:  # noqa: B027 - optional hook
        """Open a connection for a batch (optional)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Close the batch connection (optional)."""

    @abstractmethod
    def send(self, mail: OutgoingMail) -> None:
        """Deliver one mail or raise TransportError."""

    def send_overlapping(
        self, mail: OutgoingMail, meanwhile: Sequence[Callable[[], object]]
    ) -> None:
        """Deliver one mail like `send`, doing the batch's other work (`meanwhile`, in order,
        each piece once) while the server is busy with it: one piece in each wait for the
        server's answer where the protocol has such waits, and the first piece before the
        message itself goes out. Transports without such waits do it all first."""
        for work in meanwhile:
            work()
        self.send(mail)

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_REGISTRY: dict[str, Callable[[Mapping[str, Any]], Transport]] = {}


def register(name: str) -> Callable[[type[Transport]], type[Transport]]:
    def deco(cls: type[Transport]) -> type[Transport]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def transport_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def make_transport(name: str, settings: Mapping[str, Any]) -> Transport:
    """The transport called `name`, configured from its [mail.<name>] settings."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown mail transport {name!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(settings)


def _load_builtin() -> None:
    # Imported lazily so that e.g. exchangelib is only loaded when configured.
    import importlib

    for module in ("files", "smtp", "ews", "graph", "memory"):
        try:
            importlib.import_module(f"service.mail.transports.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"service.mail.transports.{module}":
                raise
