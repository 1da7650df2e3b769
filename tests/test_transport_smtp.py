from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.mail.message import OutgoingMail
from service.mail.transports.base import TransportError, make_transport
from tests.fakes.mails import SENDER, make_mail, parts
from tests.fakes.smtp_server import FakeSMTPServer
from tests.fakes.tls import Certificates, make_certificates


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-tls"))


def refused(server: FakeSMTPServer, mail: OutgoingMail) -> TransportError:
    """The error sending `mail` through `server` ends in; fails the test if it is sent."""
    with (
        make_transport("smtp", server.settings()) as transport,
        pytest.raises(TransportError) as caught,
    ):
        transport.send(mail)
    return caught.value


def test_it_sends_a_batch_over_one_connection(smtp_server: FakeSMTPServer) -> None:
    with make_transport("smtp", smtp_server.settings()) as transport:
        for number in (1, 2, 3):
            transport.send(make_mail(number))

    assert smtp_server.connections == 1
    received = smtp_server.messages
    assert [m.message["Message-ID"] for m in received] == [
        f"<reminder.{n}.2024-12-02@bevakning.example.se>" for n in (1, 2, 3)
    ]
    assert {m.connection for m in received} == {1}


def test_it_sends_both_parts_and_our_message_id(smtp_server: FakeSMTPServer) -> None:
    with make_transport("smtp", smtp_server.settings()) as transport:
        transport.send(make_mail(7, cc=("verksamhetschef@example.se",)))

    (received,) = smtp_server.messages
    assert received.mail_from == SENDER.email
    assert received.rcpt_tos == ("enhetschef@example.se", "verksamhetschef@example.se")
    assert received.message["Message-ID"] == "<reminder.7.2024-12-02@bevakning.example.se>"
    assert received.message["Subject"] == "Påminnelse 7: åtgärd förfaller"
    bodies = parts(received.message)
    assert "Åtgärd 7 ska vara klar" in bodies["text/plain"]
    assert "<b>7</b>" in bodies["text/html"]


def test_it_sends_without_open_and_close_too(smtp_server: FakeSMTPServer) -> None:
    transport = make_transport("smtp", smtp_server.settings())
    transport.send(make_mail())
    transport.close()

    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA"])
def test_a_4xx_reply_is_a_temporary_error(smtp_server: FakeSMTPServer, command: str) -> None:
    smtp_server.reply(command, "451 4.3.0 try later")

    error = refused(smtp_server, make_mail())

    assert error.permanent is False
    assert "451" in str(error)
    assert smtp_server.messages == []


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA"])
def test_a_5xx_reply_is_a_permanent_error(smtp_server: FakeSMTPServer, command: str) -> None:
    smtp_server.reply(command, "550 5.1.1 unknown user")

    error = refused(smtp_server, make_mail())

    assert error.permanent is True
    assert "550 5.1.1 unknown user" in str(error)


def test_the_connection_stays_usable_after_a_refused_mail(smtp_server: FakeSMTPServer) -> None:
    smtp_server.reply("RCPT", "451 4.3.0 try later", times=1)

    with make_transport("smtp", smtp_server.settings()) as transport:
        with pytest.raises(TransportError):
            transport.send(make_mail(1))
        transport.send(make_mail(2))

    assert smtp_server.connections == 1
    assert [m.message["Message-ID"] for m in smtp_server.messages] == [
        "<reminder.2.2024-12-02@bevakning.example.se>"
    ]


def test_a_mail_reaching_one_of_two_recipients_counts_as_sent(
    smtp_server: FakeSMTPServer,
) -> None:
    # Retrying would send it to the first recipient again; the refusal is logged instead.
    smtp_server.reply("RCPT", "550 5.1.1 unknown user", address="gone@example.se")

    with make_transport("smtp", smtp_server.settings()) as transport:
        transport.send(make_mail(cc=("gone@example.se",)))

    (received,) = smtp_server.messages
    assert received.rcpt_tos == ("enhetschef@example.se",)


def test_a_bcc_line_in_the_subject_adds_no_header_and_no_recipient(
    smtp_server: FakeSMTPServer,
) -> None:
    mail = make_mail(subject="Handlingsplan\r\nBcc: x@evil.example\r\nX-Injected: yes")

    with make_transport("smtp", smtp_server.settings()) as transport:
        transport.send(mail)

    (received,) = smtp_server.messages
    assert received.rcpt_tos == ("enhetschef@example.se",)
    assert received.message["Bcc"] is None
    assert received.message["X-Injected"] is None
    header_lines = received.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.lower().startswith((b"bcc:", b"x-injected:")) for line in header_lines)
    assert "\n" not in str(received.message["Subject"])
    assert not any("evil" in arg for _, _, arg in smtp_server.commands)


def test_an_address_with_a_line_break_is_refused_before_any_smtp_command(
    smtp_server: FakeSMTPServer,
) -> None:
    mail = make_mail(to="chef@example.se>\r\nRCPT TO:<x@evil.example")

    assert refused(smtp_server, mail).permanent is True
    assert smtp_server.commands == []


def test_it_reconnects_once_when_the_server_hung_up(smtp_server: FakeSMTPServer) -> None:
    with make_transport("smtp", smtp_server.settings()) as transport:
        transport.send(make_mail(1))
        smtp_server.hang_up()
        transport.send(make_mail(2))

    assert smtp_server.connections == 2
    assert [m.connection for m in smtp_server.messages] == [1, 2]


def test_an_unreachable_server_is_a_temporary_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    settings = {"host": "127.0.0.1", "port": free_port, "timeout": 5}

    with pytest.raises(TransportError) as caught:
        make_transport("smtp", settings).open()

    assert caught.value.permanent is False
    assert f"127.0.0.1:{free_port}" in str(caught.value)


def test_it_logs_in_when_given_a_username() -> None:
    with FakeSMTPServer(credentials=("bevakning", "hemligt")) as server:
        settings = server.settings(username="bevakning", password="hemligt")
        with make_transport("smtp", settings) as transport:
            transport.send(make_mail())

        assert server.logins == ["bevakning"]
        assert len(server.messages) == 1


def test_a_refused_login_is_a_permanent_error_that_says_so() -> None:
    with FakeSMTPServer(credentials=("bevakning", "hemligt")) as server:
        settings = server.settings(username="bevakning", password="fel")
        with pytest.raises(TransportError) as caught:
            make_transport("smtp", settings).open()

    assert caught.value.permanent is True
    assert "login" in str(caught.value)
    assert "bevakning" in str(caught.value)


def test_it_sends_over_starttls(certificates: Certificates) -> None:
    with FakeSMTPServer(
        starttls_context=certificates.server_context(), require_starttls=True
    ) as server:
        settings = server.settings(security="starttls", ca_file=str(certificates.ca_file))
        with make_transport("smtp", settings) as transport:
            transport.send(make_mail())

        assert len(server.messages) == 1


def test_it_sends_over_implicit_tls(certificates: Certificates) -> None:
    with FakeSMTPServer(implicit_tls_context=certificates.server_context()) as server:
        settings = server.settings(security="tls", ca_file=str(certificates.ca_file))
        with make_transport("smtp", settings) as transport:
            transport.send(make_mail())

        assert len(server.messages) == 1


def test_an_untrusted_certificate_is_a_temporary_error(
    certificates: Certificates, tmp_path: Path
) -> None:
    other_ca = make_certificates(tmp_path / "other").ca_file
    with FakeSMTPServer(starttls_context=certificates.server_context()) as server:
        settings = server.settings(security="starttls", ca_file=str(other_ca))
        with pytest.raises(TransportError) as caught:
            make_transport("smtp", settings).open()

    assert caught.value.permanent is False
    assert "TLS" in str(caught.value)


def test_an_unknown_security_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="starttls"):
        make_transport("smtp", {"host": "127.0.0.1", "security": "ssl"})


def test_it_does_the_batch_work_while_the_server_answers(smtp_server: FakeSMTPServer) -> None:
    seen: list[tuple[str, int]] = []

    def note(name: str) -> Callable[[], None]:
        return lambda: seen.append((name, len(smtp_server.messages)))

    with make_transport("smtp", smtp_server.settings()) as transport:
        transport.send_overlapping(make_mail(1), [note("a")])
        transport.send_overlapping(make_mail(2), [note("b"), note("c")])

    # Each piece once and in order, all of it before the server has the message itself.
    assert seen == [("a", 0), ("b", 1), ("c", 1)]
    assert len(smtp_server.messages) == 2


def test_work_beyond_the_server_turns_is_done_after_the_mail(
    smtp_server: FakeSMTPServer,
) -> None:
    seen: list[str] = []
    pieces = [lambda n=n: seen.append(f"{n}:{len(smtp_server.messages)}") for n in range(6)]

    with make_transport("smtp", smtp_server.settings()) as transport:
        transport.send_overlapping(make_mail(1), pieces)

    # MAIL, RCPT, DATA and the final "." give four turns; the rest follows the mail. In the
    # last turn the server may already have stored the message (it works in its own thread).
    assert seen[:3] == ["0:0", "1:0", "2:0"] and seen[3] in ("3:0", "3:1")
    assert seen[4:] == ["4:1", "5:1"]


def test_work_is_done_at_most_once_when_the_mail_fails(smtp_server: FakeSMTPServer) -> None:
    smtp_server.reply("MAIL", "550 5.7.1 sender refused")
    seen: list[int] = []
    pieces = [lambda n=n: seen.append(n) for n in range(6)]

    with (
        make_transport("smtp", smtp_server.settings()) as transport,
        pytest.raises(TransportError),
    ):
        transport.send_overlapping(make_mail(1), pieces)

    # Done in the turns the failed session had (MAIL, RSET); the caller does the rest.
    assert seen == list(range(len(seen))) and 1 <= len(seen) < 6
