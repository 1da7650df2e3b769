from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.mail.transports.base import TransportError, make_transport
from tests.fakes.ews_server import FakeEWSServer
from tests.fakes.mails import make_mail, parts


@pytest.fixture
def ews_server() -> Iterator[FakeEWSServer]:
    with FakeEWSServer() as server:
        yield server


def test_it_sends_the_mail_as_mime_with_both_parts_and_our_message_id(
    ews_server: FakeEWSServer,
) -> None:
    with make_transport("ews", ews_server.settings()) as transport:
        transport.send(make_mail(3, cc=("verksamhetschef@example.se",)))

    (sent,) = ews_server.sent
    assert sent.message["Message-ID"] == "<reminder.3.2024-12-02@bevakning.example.se>"
    assert sent.message["Subject"] == "Påminnelse 3: åtgärd förfaller"
    bodies = parts(sent.message)
    assert "Åtgärd 3 ska vara klar" in bodies["text/plain"]
    assert "<b>3</b>" in bodies["text/html"]
    assert b"\r\n" in sent.mime  # RFC 5322 line ends on the wire
    assert sent.to_recipients == ("enhetschef@example.se",)
    assert sent.cc_recipients == ("verksamhetschef@example.se",)
    assert ews_server.errors == []


def test_it_keeps_a_copy_in_sent_items_when_save_copy_is_on(ews_server: FakeEWSServer) -> None:
    with make_transport("ews", ews_server.settings(save_copy=True)) as transport:
        transport.send(make_mail(1))
        transport.send(make_mail(2))

    assert [s.disposition for s in ews_server.sent] == ["SendAndSaveCopy", "SendAndSaveCopy"]
    assert {s.saved_item_folder for s in ews_server.sent} == {"sentitems"}
    # exchangelib looks the Sent Items folder up once per batch, not once per mail.
    assert ews_server.operations == ["GetFolder", "GetFolder", "CreateItem", "CreateItem"]


def test_it_only_sends_when_save_copy_is_off(ews_server: FakeEWSServer) -> None:
    with make_transport("ews", ews_server.settings(save_copy=False)) as transport:
        transport.send(make_mail())

    (sent,) = ews_server.sent
    assert sent.disposition == "SendOnly"
    assert sent.saved_item_folder is None
    assert ews_server.operations == ["CreateItem"]


def test_with_impersonation_it_acts_as_the_sender_mailbox(ews_server: FakeEWSServer) -> None:
    settings = ews_server.settings(impersonation=True, save_copy=False)

    with make_transport("ews", settings) as transport:
        transport.send(make_mail())

    (sent,) = ews_server.sent
    assert sent.impersonated == "bevakning@example.se"


@pytest.mark.parametrize(
    "code", ["ErrorInvalidRecipients", "ErrorMailRecipientNotFound", "ErrorSendAsDenied"]
)
def test_an_ews_recipient_or_rights_error_is_permanent(
    ews_server: FakeEWSServer, code: str
) -> None:
    ews_server.fail_create(code, "At least one recipient isn't valid.")

    with (
        make_transport("ews", ews_server.settings(save_copy=False)) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(make_mail())

    assert caught.value.permanent is True
    assert code in str(caught.value)


def test_a_busy_server_is_a_temporary_error(ews_server: FakeEWSServer) -> None:
    ews_server.fail_create("ErrorServerBusy", "The server cannot service this request right now.")

    with (
        make_transport("ews", ews_server.settings(save_copy=False)) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(make_mail())

    assert caught.value.permanent is False


def test_http_503_is_a_temporary_error_and_the_next_mail_goes_through(
    ews_server: FakeEWSServer,
) -> None:
    ews_server.fail_http(503)

    with make_transport("ews", ews_server.settings(save_copy=False)) as transport:
        with pytest.raises(TransportError) as caught:
            transport.send(make_mail(1))
        transport.send(make_mail(2))

    assert caught.value.permanent is False
    assert caught.value.retry_after is None
    # exchangelib's fail-fast policy: no retry of its own, no sleeping.
    assert [s.message["Message-ID"] for s in ews_server.sent] == [
        "<reminder.2.2024-12-02@bevakning.example.se>"
    ]


def test_a_retry_after_header_travels_with_the_temporary_error(
    ews_server: FakeEWSServer,
) -> None:
    ews_server.fail_http(503, retry_after=120)

    with (
        make_transport("ews", ews_server.settings(save_copy=False)) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(make_mail())

    assert caught.value.permanent is False
    assert caught.value.retry_after == 120


def test_wrong_credentials_are_a_permanent_error_that_says_so(
    ews_server: FakeEWSServer,
) -> None:
    settings = ews_server.settings(password="fel", save_copy=False)

    with (
        make_transport("ews", settings) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(make_mail())

    assert caught.value.permanent is True
    assert "password" in str(caught.value)
    assert ews_server.sent == []


def test_a_wrong_endpoint_is_a_permanent_error(ews_server: FakeEWSServer) -> None:
    settings = ews_server.settings(
        service_endpoint=f"{ews_server.base_url}/EWS/Fel.asmx", save_copy=False
    )

    with (
        make_transport("ews", settings) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(make_mail())

    assert caught.value.permanent is True
    assert "404" in str(caught.value)


def test_an_unreachable_server_is_a_temporary_error() -> None:
    with FakeEWSServer() as server:
        settings = server.settings(save_copy=False)
    # The server is gone now; nothing listens on its port.

    with (
        make_transport("ews", settings) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(make_mail())

    assert caught.value.permanent is False


def test_settings_without_an_endpoint_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="service_endpoint"):
        make_transport("ews", {"sender_mailbox": "bevakning@example.se"})
