"""The command speaks Swedish: argparse's own words, plurals, statuses and kinds."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from service.cli import build_parser, main
from service.cli.translation import catalogue
from tests.cli_support import Cli
from tests.test_cli import GOOD_PLAN

ENGLISH = ("usage:", "options:", "show this help", "positional arguments", "error:", "expected")


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.mark.parametrize("command", ["", *commands()])
def test_the_help_of_every_command_is_swedish(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *([command] if command else []), "--help")
    assert code == 0
    assert out.startswith("användning: bevakning")
    assert "flaggor:" in out and "visa den här hjälptexten och avsluta" in out
    for english in ENGLISH:
        assert english not in out
    parser = build_parser()
    if command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[command]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue  # the commands, listed with their own help above
        # Every argument says what it is for, and names its value in Swedish.
        assert action.help, f"{command or 'bevakning'}: {action.dest} has no help text"
        if action.nargs != 0:
            shown = (
                action.metavar or action.dest.upper()
                if action.option_strings
                else (action.metavar or action.dest)
            )
            assert shown not in ("file", "FILE", "START", "END", "AT", "OUTPUT", "SEED"), (
                f"{command}: {shown}"
            )


def test_a_missing_argument_is_named_in_swedish(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate")
    assert code == 2
    assert "bevakning simulate: fel: de här argumenten behövs: --from, --to" in err
    assert err.startswith("användning: ")


def test_a_bad_date_says_how_to_write_one(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "items", "--at", "igår")
    assert "argumentet --at: 'igår' är inget datum; skriv det som 2024-12-02" in err


def test_a_share_outside_0_to_1_is_refused_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, err = run(capsys, "simulate", "--from", "2024-08-01", "--to", "2024-09-01",
                    "--done-rate", "60")  # fmt: skip
    assert "'60' är ingen andel; skriv ett tal mellan 0 och 1" in err


def test_an_unknown_command_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "skicka")
    assert "fel: argumentet KOMMANDO: ogiltigt val: 'skicka' (välj bland 'init'," in err


def test_an_unknown_option_is_named_in_swedish(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "items", "--igar")
    assert "fel: okända argument: --igar" in err


def test_the_catalogue_has_every_message_this_pythons_argparse_asks_for() -> None:
    """A newer Python with new argparse messages fails here instead of speaking English."""
    asked = {
        message if isinstance(message, str) else message[0]
        for _, message, _, _ in extract_from_file(
            "python", argparse.__file__, keywords={"_": None, "ngettext": (1, 2)}
        )
    }
    translated = catalogue()
    missing = sorted(m for m in asked if translated.gettext(m) == m)
    assert not missing


def test_counts_agree_with_their_nouns(cli_ready: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD_PLAN, encoding="utf-8")
    _, out, _ = cli_ready("import", str(good), "--dry-run")
    assert "1 område, 1 aktivitet." in out
    _, out, _ = cli_ready("import", str(good))
    assert "1 ny, 0 uppdaterade och 0 borttagna aktiviteter." in out


def test_mails_on_the_terminal_show_kind_and_status_in_swedish(cli_ready: Cli) -> None:
    code, out, _ = cli_ready("tick", "--now", "2024-12-02T07:30")
    assert code == 0
    kinds = out.splitlines()[2:]
    assert kinds and all("påminnelse" in line or "eskalering" in line or
                         "veckosammanfattning" in line or "avstämning" in line
                         for line in kinds)  # fmt: skip
    assert "reminder" not in out and " sent" not in out
    assert "skickat" in out
