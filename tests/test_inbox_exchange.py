"""Replies read from Exchange with the transports' own account settings: Exchange Online
through Microsoft Graph (the real msal and requests code against the local Graph fake) and
Exchange Server through EWS (the real exchangelib against the local EWS fake)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import App
from service.inbox.process import handle
from service.inbox.reader import read_inbox, source_of
from service.occurrences import DONE
from tests.fakes import replies
from tests.fakes.ews_server import FakeEWSServer
from tests.fakes.graph_server import FakeGraphServer
from tests.support import make_config
from tests.test_inbox_replies import LATER, Sent, occurrences_of, sender_of

MAILBOX = "bevakning-svar@example.se"


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[FakeGraphServer]:
    with FakeGraphServer(tmp_path / "tls").start() as server:
        yield server


def exchange_app(
    sqlite_url: str, tmp_path: Path, source: str, settings: dict[str, object], **inbox: object
) -> App:
    """An app reading its inbox from `source` ("graph" or "ews") with that transport's
    settings, as a municipality would configure it."""
    config = make_config(sqlite_url, tmp_path).with_overrides(
        {
            f"mail.{source}": settings,
            "mail.inbox": {"source": source, "mailbox": MAILBOX, **inbox},
        }
    )
    return App(config)


def graph_app(sqlite_url: str, tmp_path: Path, graph: FakeGraphServer, **inbox: object) -> App:
    return exchange_app(sqlite_url, tmp_path, "graph", graph.settings(), **inbox)


def test_replies_are_read_over_graph_and_moved_to_the_processed_folder(
    sqlite_url: str, tmp_path: Path, graph: FakeGraphServer
) -> None:
    moved_to_the_processed_folder(graph_app(sqlite_url, tmp_path, graph), graph, 1)


def test_over_graph_without_a_processed_folder_a_mail_gets_a_category(
    sqlite_url: str, tmp_path: Path, graph: FakeGraphServer
) -> None:
    app = graph_app(sqlite_url, tmp_path, graph, processed_folder="")
    kept_with_a_category(app, graph)


def test_a_graph_mailbox_the_app_may_not_read_is_reported(
    sqlite_url: str, tmp_path: Path, graph: FakeGraphServer
) -> None:
    app = graph_app(sqlite_url, tmp_path, graph, remote_folder="Finns inte")
    Sent(app)

    run = read_inbox(app, LATER)

    assert run.handled == [] and "no folder Finns inte" in run.errors[0]
    app.engine.dispose()


def moved_to_the_processed_folder(
    app: App, server: FakeGraphServer | FakeEWSServer, number: int
) -> None:
    """A reply "klar N" from Outlook marks item N done and moves to the processed folder."""
    mail = Sent(app).with_items(lambda n: n >= number)
    server.deliver(replies.outlook(mail, f"klar {number}", sender_of(mail)))

    run = read_inbox(app, LATER)

    assert [h.outcome for h in run.handled] == ["applied"] and run.errors == []
    assert occurrences_of(app, mail)[number].status == DONE
    assert server.in_folder("inbox") == [] and len(server.in_folder("Behandlade")) == 1
    app.engine.dispose()


def kept_with_a_category(app: App, server: FakeGraphServer | FakeEWSServer) -> None:
    """Without a processed folder, a handled reply stays in the inbox, read and categorised,
    and is not handled again."""
    mail = Sent(app).with_items(lambda n: n >= 1)
    server.deliver(replies.gmail(mail, "klar 1", sender_of(mail)))

    assert len(read_inbox(app, LATER).handled) == 1
    assert read_inbox(app, LATER).handled == []
    (kept,) = server.in_folder("inbox")
    assert kept.categories == ["Bevakning"] and kept.is_read
    app.engine.dispose()


@pytest.fixture
def ews() -> Iterator[FakeEWSServer]:
    with FakeEWSServer() as server:
        yield server


def ews_app(sqlite_url: str, tmp_path: Path, ews: FakeEWSServer, **inbox: object) -> App:
    return exchange_app(sqlite_url, tmp_path, "ews", ews.settings(), **inbox)


def test_replies_are_read_over_ews_and_moved_to_the_processed_folder(
    sqlite_url: str, tmp_path: Path, ews: FakeEWSServer
) -> None:
    moved_to_the_processed_folder(ews_app(sqlite_url, tmp_path, ews), ews, 2)
    assert {"FindItem", "GetItem", "CreateFolder", "MoveItem"} <= set(ews.operations)


def test_over_ews_without_a_processed_folder_a_mail_gets_a_category(
    sqlite_url: str, tmp_path: Path, ews: FakeEWSServer
) -> None:
    app = ews_app(sqlite_url, tmp_path, ews, processed_folder="")
    kept_with_a_category(app, ews)


def test_two_instances_reading_one_graph_mailbox_apply_a_reply_once(
    sqlite_url: str, tmp_path: Path, graph: FakeGraphServer
) -> None:
    app = graph_app(sqlite_url, tmp_path, graph)
    sent = Sent(app)
    mail = sent.with_items(lambda n: n >= 1)
    graph.deliver(replies.outlook(mail, "klar 1", sender_of(mail)))
    first, second = source_of(app), source_of(app)
    (fetched,) = list(first.unread(10))
    assert [f.ref for f in second.unread(10)] == [fetched.ref]  # both saw it

    results = [handle(app, fetched.raw, LATER), handle(app, fetched.raw, LATER)]
    first.done(fetched.ref)
    second.done(fetched.ref)  # already moved by the first: not an error

    assert [r is None for r in results] == [False, True]
    assert len(graph.in_folder("Behandlade")) == 1
    app.engine.dispose()
