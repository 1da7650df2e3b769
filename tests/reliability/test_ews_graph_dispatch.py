"""A whole tick through Exchange (EWS) and Microsoft Graph, the real client code against local
endpoints that speak enough of each protocol."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.models import OutboxMessage
from service.pipeline import tick
from tests.fakes.ews_server import FakeEWSServer
from tests.fakes.graph_server import FakeGraphServer
from tests.fakes.mails import parts
from tests.support import at, make_config

START = at("2024-11-25", "06:00")
SEND = at("2024-11-29", "07:30")  # a Friday with reminders for many people


@pytest.fixture
def ews_server() -> Iterator[FakeEWSServer]:
    with FakeEWSServer() as server:
        yield server


@pytest.fixture
def graph_server(tmp_path: Path) -> Iterator[FakeGraphServer]:
    with FakeGraphServer(tmp_path / "tls") as server:
        yield server


def app_with(sqlite_url: str, tmp_path: Path, transport: str, settings: dict[str, object]) -> App:
    app = App(
        make_config(
            sqlite_url,
            tmp_path,
            mail={"transport": transport},
            **{f"mail__{transport}": settings},
        )
    )
    app.init(START)
    return app


def outbox(app: App) -> list[OutboxMessage]:
    with app.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def check_arrived(app: App, arrived: list[EmailMessage]) -> None:
    rows = outbox(app)
    assert len(rows) > 10
    assert {r.status for r in rows} == {"sent"}
    assert sorted(str(m["Message-ID"]).strip() for m in arrived) == sorted(
        f"<{r.message_id}>" for r in rows
    )
    by_id = {str(m["Message-ID"]).strip(): m for m in arrived}
    for row in rows:
        message = by_id[f"<{row.message_id}>"]
        bodies = parts(message)
        assert set(bodies) == {"text/plain", "text/html"}
        assert bodies["text/plain"].strip() and "<table" in bodies["text/html"]
        assert message.get_content_type() == "multipart/alternative"
        assert row.to_addrs[0] in str(message["To"])
        assert message["Subject"] == row.subject


def test_a_tick_sends_every_mail_through_ews_with_both_parts(
    sqlite_url: str, tmp_path: Path, ews_server: FakeEWSServer
) -> None:
    app = app_with(sqlite_url, tmp_path, "ews", ews_server.settings())

    result = tick(app, SEND)

    assert result.mails and {m["status"] for m in result.mails} == {"sent"}
    check_arrived(app, [s.message for s in ews_server.sent])
    assert {s.disposition for s in ews_server.sent} == {"SendAndSaveCopy"}
    assert ews_server.errors == []
    # A second tick at the same moment sends nothing more.
    assert tick(app, SEND).mails == []
    assert len(ews_server.sent) == len(result.mails)
    app.engine.dispose()


def test_a_tick_sends_every_mail_through_graph_with_both_parts(
    sqlite_url: str, tmp_path: Path, graph_server: FakeGraphServer
) -> None:
    app = app_with(sqlite_url, tmp_path, "graph", graph_server.settings())

    result = tick(app, SEND)

    assert result.mails and {m["status"] for m in result.mails} == {"sent"}
    check_arrived(app, [m.message for m in graph_server.mails])
    assert {m.mailbox for m in graph_server.mails} == {"bevakning@example.se"}
    assert graph_server.issued_tokens == ["token-1"]  # one token for the whole batch
    assert graph_server.errors == []
    assert tick(app, SEND).mails == []
    assert len(graph_server.mails) == len(result.mails)
    app.engine.dispose()
