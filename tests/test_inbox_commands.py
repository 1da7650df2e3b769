"""The Swedish reply commands and the reading of a reply's own text, as pure functions."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes

import pytest

from service.inbox.commands import Action, parse
from service.inbox.numbering import reply_numbers
from service.inbox.reading import authenticated, bounce, html_text, own_text, read

TODAY = date(2024, 12, 3)


@pytest.mark.parametrize(
    ("text", "action", "numbers", "every"),
    [
        ("klar", Action.DONE, (), False),
        ("Klart!", Action.DONE, (), False),
        ("klar 1 3", Action.DONE, (1, 3), False),
        ("klar 1, 2 och 5", Action.DONE, (1, 2, 5), False),
        ("Klar alla", Action.DONE, (), True),
        ("inte aktuell 4", Action.NOT_APPLICABLE, (4,), False),
        ("skjut upp 2 till 15 januari", Action.POSTPONE, (2,), False),
    ],
)
def test_it_reads_each_command(
    text: str, action: Action, numbers: tuple[int, ...], every: bool
) -> None:
    (command,) = parse(text, TODAY).commands
    assert (command.action, command.numbers, command.every) == (action, numbers, every)


@pytest.mark.parametrize(
    ("text", "to"),
    [
        ("skjut upp 2 till 15 januari", date(2025, 1, 15)),  # the next 15 January
        ("skjut upp 2 till den 20 december", date(2024, 12, 20)),
        ("skjut upp 2 till 15 jan. 2026", date(2026, 1, 15)),
        ("skjut upp 2 till 2025-03-01", date(2025, 3, 1)),
        ("skjut upp 2 till 1/2", date(2025, 2, 1)),
    ],
)
def test_a_new_date_is_read_in_the_ways_people_write_it(text: str, to: date) -> None:
    (command,) = parse(text, TODAY).commands
    assert command.to == to


def test_a_reason_and_a_result_note_are_kept() -> None:
    parsed = parse("klar 1: vi höll workshopen\ninte aktuell 4 eftersom enheten har stängt", TODAY)
    assert [c.note for c in parsed.commands] == ["vi höll workshopen", "enheten har stängt"]


@pytest.mark.parametrize(
    "text",
    ["skjut upp 2", "skjut upp 2 till 31 februari", "skjut upp 2 till i går", "klar med allt nu"],
)
def test_a_command_that_cannot_be_read_is_a_problem_not_a_guess(text: str) -> None:
    parsed = parse(text, TODAY)
    assert not parsed.understood and parsed.problems == (text,)


def test_a_postponement_into_the_past_is_refused() -> None:
    assert not parse("skjut upp 1 till 2024-12-01", TODAY).understood


def test_greetings_and_signatures_around_the_commands_are_passed_over() -> None:
    parsed = parse("Hej!\n\nklar 2\n\nMed vänlig hälsning\nAnna", TODAY)
    assert parsed.understood and parsed.commands[0].numbers == (2,)


def test_a_text_without_commands_is_not_understood() -> None:
    assert not parse("Vad betyder det här?", TODAY).understood


def test_the_numbers_follow_the_sections_then_the_occurrence_ids() -> None:
    payload = {"sections": {"upcoming": [9, 4], "overdue": [7], "checkin": [1]}}
    assert reply_numbers(payload) == {1: 7, 2: 4, 3: 9, 4: 1}


def test_quotes_above_and_below_and_outlooks_header_block_are_removed() -> None:
    assert own_text("klar 1\n\nOn Mon, 2 Dec 2024 at 07:30, B <\nb@x.se> wrote:\n> 1 x") == (
        "klar 1"
    )
    assert own_text("Den 2 dec. 2024 skrev B <b@x.se>:\n> x\n\nklar 2") == "klar 2"
    outlook = "klar 3\n\nFrån: B <b@x.se>\nSkickat: den 2 december 2024\nÄmne: x\n\nklar 1"
    assert own_text(outlook) == "klar 3"
    assert own_text("klar 1\n-----Ursprungligt meddelande-----\nklar 2") == "klar 1"
    assert own_text("klar 1\n-- \nAnna\nklar 2") == "klar 1"


def test_html_quotes_of_gmail_apple_mail_and_outlook_are_marked_or_cut() -> None:
    gmail = (
        '<div>klar 1</div><div class="gmail_quote">Den skrev:<blockquote>klar 2</blockquote></div>'
    )
    assert own_text(html_text(gmail)) == "klar 1"
    apple = '<div>klar 3</div><blockquote type="cite"><div>klar 4</div></blockquote>'
    assert own_text(html_text(apple)) == "klar 3"
    outlook = '<p>klar 5</p><div id="divRplyFwdMsg"><b>Från:</b> B</div><p>klar 6</p>'
    assert own_text(html_text(outlook)) == "klar 5"
    assert html_text("<style>p {}</style><p>a &amp; b</p>").strip() == "a & b"


@pytest.mark.parametrize(
    ("header", "verdict"),
    [
        ("mx; spf=pass smtp.mailfrom=x; dkim=pass; dmarc=pass", True),
        ("mx; spf=pass smtp.mailfrom=x; dmarc=fail", False),
        ("mx; spf=softfail smtp.mailfrom=x", False),
        ("mx; dkim=pass header.d=x", True),
    ],
)
def test_authentication_results_decide_whether_a_sender_is_believed(
    header: str, verdict: bool
) -> None:
    raw = f"From: a@x.se\r\nAuthentication-Results: {header}\r\n\r\nklar\r\n".encode()
    assert read(raw).authentication is verdict


def test_only_the_receiving_servers_own_authentication_results_count() -> None:
    # The topmost header is our server's; the one below came with the mail, written by the
    # sender, and must not vouch for a forged From.
    raw = (
        b"From: anna@example.se\r\n"
        b"Authentication-Results: mx.example.se; spf=fail smtp.mailfrom=x; dkim=none\r\n"
        b"Authentication-Results: mx.example.se; dmarc=pass\r\n\r\nklar\r\n"
    )
    assert read(raw).authentication is False


def test_a_read_receipt_quoting_our_mail_is_no_bounce() -> None:
    raw = (
        b"From: anna@example.se\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="B"\r\n'
        b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nL\xc3\xa4st.\r\n"
        b"--B\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; anna@example.se\r\nDisposition: manual-action/MDN-sent-"
        b"manually; displayed\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <reminder.1.2024-12-02@bevakning.example.se>\r\n--B--\r\n"
    )
    assert bounce(message_from_bytes(raw)) is None


def test_without_authentication_results_nothing_is_claimed() -> None:
    from email import message_from_bytes

    assert authenticated(message_from_bytes(b"From: a@x.se\r\n\r\nklar\r\n")) is None


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "X-Autoreply: yes",
        "Precedence: bulk",
        "Subject: Automatiskt svar: Bevakning",
        "Subject: Out of Office: Bevakning",
        "List-Id: <x.example.se>",
    ],
)
def test_automatic_mail_is_recognised(header: str) -> None:
    raw = f"From: a@x.se\r\n{header}\r\n\r\nklar alla\r\n".encode()
    assert read(raw).automatic


def test_a_persons_reply_is_not_automatic() -> None:
    raw = b"From: a@x.se\r\nSubject: SV: Bevakning\r\nAuto-Submitted: no\r\n\r\nklar\r\n"
    assert read(raw).automatic == ""
