"""Names that end up in headers (issue 15): a line break from the directory never reaches a
header or a calendar's name, and an ASCII display name shaped like an RFC 2047 encoded-word
is encoded so that no client decodes it into a header break."""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header, make_header

import pytest

from service.directory import parse_directory
from service.mail.message import Address, OutgoingMail
from tests.test_directory import small_directory

ENCODED_LOOKALIKES = [
    "=?utf-8?q?Eva=0D=0ABcc:_evil@example.com?=",
    "=?utf-8?b?RXZhDQpCY2M6IGV2aWxAZXhhbXBsZS5jb20=?=",
    "Eva =?iso-8859-1?q?=0ABcc:x@example.com?= Ek",
    "=?utf-8?b?" + "QQ" * 60 + "?=",  # long: more than one encoded word
]


def test_line_breaks_in_directory_names_become_spaces() -> None:
    data = small_directory()
    data["person"][0]["name"] = "Eva\r\nChef"
    data["unit"][0]["name"] = "Hemtjänst\nnorr"
    data["area"][0]["name"] = " Äldre-\t omsorg\n"
    directory = parse_directory(data, "katalog.toml")
    assert directory.by_email("eva@example.se").name == "Eva Chef"  # type: ignore[union-attr]
    assert directory.units["norr"].name == "Hemtjänst norr"
    assert directory.divisions["ÄO"] == "Äldre- omsorg"


def mail_to(name: str) -> OutgoingMail:
    return OutgoingMail(
        message_id="test.1@bevakning.example.se",
        sender=Address("bevakning@example.se", "Bevakning"),
        to=(Address("eva@example.se", name),),
        subject="Påminnelse",
        text="Hej",
        html="<p>Hej</p>",
    )


@pytest.mark.parametrize("name", ENCODED_LOOKALIKES)
def test_an_encoded_word_lookalike_display_name_decodes_to_itself(name: str) -> None:
    wire = mail_to(name).to_wire_bytes()
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    # A modern parser decodes the header once and finds the name as written, no new header.
    (address,) = parsed["To"].addresses
    shown = address.display_name
    if len(name) > 60:
        # Several encoded words: CPython's address parser puts a space between them.
        shown = shown.replace(" ", "")
    assert (shown, address.addr_spec) == (name, "eva@example.se")
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    # A client that decodes encoded words anywhere in the raw header gets the text too.
    raw_to = email.message_from_bytes(wire)["To"]
    assert str(make_header(decode_header(raw_to))) == f"{name} <eva@example.se>"
    assert b"\r\nBcc" not in wire and b"\nBcc" not in wire


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("Eva Ekstrom", "Eva Ekstrom <eva@example.se>"),
        ("Ekström, Eva", "=?utf-8?"),  # non-ASCII: RFC 2047 as before
    ],
)
def test_ordinary_display_names_are_formatted_as_before(name: str, header: str) -> None:
    assert Address("eva@example.se", name).formatted().startswith(header)
