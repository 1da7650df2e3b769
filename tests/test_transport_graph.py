from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.mail.transports.base import TransportError, make_transport
from service.mail.transports.graph import retry_after_seconds
from tests.fakes.graph_server import TENANT, FakeGraphServer
from tests.fakes.mails import make_mail, parts


@pytest.fixture
def graph_server(tmp_path: Path) -> Iterator[FakeGraphServer]:
    with FakeGraphServer(tmp_path / "tls") as server:
        yield server


def send_one(server: FakeGraphServer, **overrides: object) -> None:
    with make_transport("graph", server.settings(**overrides)) as transport:
        transport.send(make_mail())


def test_it_sends_the_mail_as_mime_with_a_bearer_token(graph_server: FakeGraphServer) -> None:
    with make_transport("graph", graph_server.settings()) as transport:
        transport.send(make_mail(5, cc=("verksamhetschef@example.se",)))

    (mail,) = graph_server.mails
    assert mail.mailbox == "bevakning@example.se"
    assert mail.token == "token-1"
    assert mail.message["Message-ID"] == "<reminder.5.2024-12-02@bevakning.example.se>"
    assert mail.message["Cc"] == "verksamhetschef@example.se"
    bodies = parts(mail.message)
    assert "Åtgärd 5 ska vara klar" in bodies["text/plain"]
    assert "<b>5</b>" in bodies["text/html"]
    assert graph_server.errors == []


def test_one_token_serves_a_whole_batch(graph_server: FakeGraphServer) -> None:
    with make_transport("graph", graph_server.settings()) as transport:
        for number in (1, 2, 3):
            transport.send(make_mail(number))

    assert graph_server.issued_tokens == ["token-1"]
    assert len(graph_server.mails) == 3


def test_no_request_goes_anywhere_but_the_configured_endpoints(
    graph_server: FakeGraphServer,
) -> None:
    send_one(graph_server)

    assert {(r.method, r.path) for r in graph_server.requests} == {
        ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration"),
        ("POST", f"/{TENANT}/oauth2/v2.0/token"),
        ("POST", "/v1.0/users/bevakning@example.se/sendMail"),
    }


def test_a_401_fetches_one_new_token_and_delivers_once(graph_server: FakeGraphServer) -> None:
    graph_server.script_send(401)

    send_one(graph_server)

    assert graph_server.issued_tokens == ["token-1", "token-2"]
    assert graph_server.send_attempts == ["token-1", "token-2"]
    (mail,) = graph_server.mails
    assert mail.token == "token-2"


def test_a_second_401_is_a_temporary_error(graph_server: FakeGraphServer) -> None:
    graph_server.script_send(401, times=2)

    with pytest.raises(TransportError) as caught:
        send_one(graph_server)

    assert caught.value.permanent is False
    assert len(graph_server.send_attempts) == 2
    assert graph_server.mails == []


def test_429_is_temporary_and_carries_retry_after(graph_server: FakeGraphServer) -> None:
    graph_server.script_send(429, headers={"Retry-After": "30"})

    with pytest.raises(TransportError) as caught:
        send_one(graph_server)

    assert caught.value.permanent is False
    assert caught.value.retry_after == 30
    assert "429" in str(caught.value)


@pytest.mark.parametrize("status", [500, 503, 504])
def test_server_errors_are_temporary(graph_server: FakeGraphServer, status: int) -> None:
    graph_server.script_send(status)

    with pytest.raises(TransportError) as caught:
        send_one(graph_server)

    assert caught.value.permanent is False


@pytest.mark.parametrize("status", [400, 403, 404])
def test_request_errors_are_permanent(graph_server: FakeGraphServer, status: int) -> None:
    graph_server.script_send(status)

    with pytest.raises(TransportError) as caught:
        send_one(graph_server)

    assert caught.value.permanent is True
    assert f"Scripted{status}" in str(caught.value)


def test_a_wrong_client_secret_is_a_permanent_error_that_says_so(
    graph_server: FakeGraphServer,
) -> None:
    with pytest.raises(TransportError) as caught:
        send_one(graph_server, client_secret="fel")

    assert caught.value.permanent is True
    assert "invalid_client" in str(caught.value)
    assert "client_secret" in str(caught.value)


def test_an_unavailable_token_endpoint_is_a_temporary_error(
    graph_server: FakeGraphServer,
) -> None:
    graph_server.script_token(503, "temporarily_unavailable")

    with pytest.raises(TransportError) as caught:
        send_one(graph_server)

    assert caught.value.permanent is False
    assert graph_server.mails == []


def test_an_unreachable_graph_is_a_temporary_error(tmp_path: Path) -> None:
    with FakeGraphServer(tmp_path) as server:
        settings = server.settings()
    # The server is gone now; nothing listens on its port.

    with pytest.raises(TransportError) as caught:
        make_transport("graph", settings).send(make_mail())

    assert caught.value.permanent is False


def test_without_save_to_sent_items_it_still_sends_mime_and_warns(
    graph_server: FakeGraphServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="service.mail.transports.graph"):
        send_one(graph_server, save_to_sent_items=False)

    assert len(graph_server.mails) == 1
    assert "save_to_sent_items" in caplog.text


def test_missing_settings_are_named_at_start() -> None:
    with pytest.raises(ValueError, match="client_secret"):
        make_transport(
            "graph",
            {"tenant_id": "t", "client_id": "c", "sender_mailbox": "bevakning@example.se"},
        )


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
