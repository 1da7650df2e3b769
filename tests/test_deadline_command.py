"""`bevakning deadline`: how a phrase is read, in Swedish and as JSON, before an import."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.calendar import Calendars, TermDefaults
from service.plans.phrases import parse_phrase
from service.plans.reading import reading
from tests.calendar_town import CALENDARS, DIRECTORY, plan_text
from tests.cli_support import Cli

PLAN = ("--plan-start", "2025-01-01", "--plan-end", "2025-12-31")
KINDS = {
    "date", "month", "week", "term", "quarter", "year", "period", "recurring", "per_meeting",
    "relative", "continuous", "as_needed",
}  # fmt: skip


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        (
            "senast i oktober varje år",
            {"kind": "recurring", "due": "2025-10-31", "period": "year", "interval": 1,
             "times": 1, "month": 10,
             "text": "Varje år, senast i slutet av oktober; första gången 2025-10-31"},
        ),
        (
            "vart femte år",
            {"kind": "recurring", "due": "2029-12-31", "period": "year", "interval": 5,
             "text": "Vart femte år; första gången 2029-12-31"},
        ),
        (
            "en gång per mandatperiod",
            {"kind": "recurring", "due": "2026-12-31", "period": "year", "interval": 4},
        ),
        (
            "varannan termin",
            {"kind": "recurring", "period": "term", "interval": 2,
             "text": "Varannan termin; första gången 2025-12-19"},
        ),
        (
            "2 ggr/termin",
            {"kind": "recurring", "period": "term", "times": 2, "interval": 1},
        ),
        ("inom 30 dagar", {"kind": "relative", "after": "P30D", "due": "2025-01-31"}),
        ("inom tre veckor efter", {"kind": "relative", "after": "P3W"}),
        ("på nästkommande APT", {"kind": "relative", "due": None, "calendar": "apt"}),
        ("i maj", {"kind": "month", "due": "2025-05-31",
                   "text": "Senast i slutet av maj 2025 (2025-05-31)"}),
        ("senast 15 mars", {"kind": "date", "due": "2025-03-15"}),
        ("v. 42", {"kind": "week", "due": "2025-10-19"}),
        ("HT-25", {"kind": "term", "term": "HT 2025"}),
        ("Q3 2026", {"kind": "quarter", "due": "2026-09-30"}),
        ("Under 2026", {"kind": "year", "due": "2026-12-31",
                        "text": "Senast vid årets slut 2026 (2026-12-31)"}),
        ("2025–2026", {"kind": "period", "due": "2026-12-31", "start": "2025-01-01",
                       "end": "2026-12-31"}),
        ("Tillsvidare", {"kind": "continuous", "due": None}),
        ("vid behov", {"kind": "as_needed", "due": None,
                       "text": "Vid behov; inga påminnelser"}),
        ("varje nämndsmöte", {"kind": "per_meeting", "calendar": "nämnd"}),
    ],
)  # fmt: skip
def test_it_shows_the_reading_as_json(cli: Cli, phrase: str, expected: dict[str, Any]) -> None:
    out = cli.json("deadline", phrase, *PLAN)
    assert {"kind", "due", "period", "interval", "times", "after", "text"} <= out.keys()
    assert out["kind"] in KINDS
    assert {k: out[k] for k in expected} == expected
    assert out["text"]


def test_it_prints_the_reading_in_swedish(cli: Cli) -> None:
    code, out, _ = cli("deadline", "senast 15 mars varje år", *PLAN)
    assert code == 0
    assert out.strip() == "Varje år, senast 15 mars; första gången 2025-03-15"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("i maj",), "årtal saknas"),
        (("i maj", "--plan-start", "2025-01-01", "--plan-end", "2026-12-31"), "rymmer ”maj”"),
        (("snart",), "okänd frist"),
    ],
)
def test_a_refused_phrase_exits_non_zero_with_the_reason(
    cli: Cli, args: tuple[str, ...], reason: str
) -> None:
    code, out, err = cli("deadline", *args)
    assert code == 1
    assert reason in err and "går inte att läsa" in err and not out
    code, out, _ = cli("deadline", *args, "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and reason in data["reason"]


def test_the_reading_uses_the_configured_term_ends() -> None:
    calendars = Calendars(terms=(), term_defaults=TermDefaults(vt_end=(6, 10)))
    data = reading(parse_phrase("varje vår"), today=date(2025, 3, 1), calendars=calendars)
    assert data["due"] == "2025-06-10"
    assert data["text"] == "Varje vår (VT), senast vid terminens slut; första gången 2025-06-10"


def test_a_relative_child_is_read_from_its_parents_completion() -> None:
    deadline = parse_phrase("inom tre veckor efter")
    data = reading(deadline, today=date(2025, 3, 1), plan_start=date(2025, 1, 1), has_parent=True)
    assert data["due"] is None
    assert data["text"] == "Inom 3 veckor efter att föregående aktivitet är klar"


PLAN_WITH_NEW_FORMS = """\
[plan]
id = "skolplan"
title = "Handlingsplan för skolan"
start = 2025-08-01
end = 2026-07-31

[[area]]
title = "Trygghet"

[[area.item]]
number = "1"
title = "Kartlägg tryggheten"
responsible = ["Enhetschef"]
deadline = "i oktober"

[[area.item]]
number = "1.1"
title = "Återkoppla till eleverna"
responsible = ["Enhetschef"]
deadline = "inom tre veckor efter"

[[area.item]]
number = "2"
title = "Följ upp planen"
responsible = ["Förvaltningschef"]
deadline = "varje vår"
"""


def test_the_import_dry_run_shows_the_same_reading(cli_ready: Cli, tmp_path: Path) -> None:
    path = tmp_path / "skolplan.toml"
    path.write_text(PLAN_WITH_NEW_FORMS, encoding="utf-8")
    entries = {e["number"]: e["deadline"] for e in cli_ready.dry_run(path)["entries"]}
    assert entries["1"]["kind"] == "month" and entries["1"]["due"] == "2025-10-31"
    assert entries["1"]["phrase"] == "i oktober"
    assert entries["1.1"]["after"] == "P3W" and entries["1.1"]["due"] is None
    assert entries["1.1"]["text"] == "Inom 3 veckor efter att föregående aktivitet är klar"
    assert entries["2"]["text"].startswith("Varje vår (VT), senast vid terminens slut")
    assert entries["2"]["due"] == "2026-06-12"  # VT 2026 in plans/calendars.toml
    standalone = cli_ready.json("deadline", "i oktober", "--plan-start", "2025-08-01",
                          "--plan-end", "2026-07-31")  # fmt: skip
    assert {k: standalone[k] for k in ("kind", "due", "text")} == {
        k: entries["1"][k] for k in ("kind", "due", "text")
    }


def test_an_import_refuses_a_month_its_period_holds_twice(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "skolplan.toml"
    path.write_text(
        PLAN_WITH_NEW_FORMS.replace("end = 2026-07-31", "end = 2027-07-31"), encoding="utf-8"
    )
    code, _, err = cli("import", str(path), "--dry-run")
    assert code == 1
    assert "kolumn Klart när?" in err and "rymmer ”oktober” flera år (2025, 2026)" in err


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("senast 15 mars 2025", "Senast 15 mars 2025 (2025-03-15)"),
        ("maj 2025", "Senast i slutet av maj 2025 (2025-05-31)"),
        ("v. 42 2025", "Senast söndag vecka 42 2025 (2025-10-19)"),
        ("Q3 2026", "Senast i slutet av kvartal 3 2026 (2026-09-30)"),
        ("2026", "Senast vid årets slut 2026 (2026-12-31)"),
        ("HT 2025", "Senast vid terminens slut, HT 2025 (2025-12-20)"),
        ("2025–2026", "Under perioden 2025-01-01–2026-12-31, klart senast 2026-12-31; "
                      "avstämning varje termin under tiden"),
        ("vart tredje år", "Vart tredje år; första gången 2027-12-31"),
        ("var 13:e vecka", "Var 13:e vecka; första gången 2025-03-30"),
        ("två gånger varannan termin", None),
        ("3 gånger per år", "3 gånger per år; första gången 2025-05-01"),
        ("på nästkommande APT", "Vid nästa APT efter att föregående aktivitet är klar"),
        ("inom ett år", "Inom ett år från planens start (2026-01-01)"),
        ("Pågående", "Fortlöpande, ingen slutfrist; avstämning varje termin"),
    ],
)  # fmt: skip
def test_the_swedish_reading_of_each_kind(phrase: str, text: str | None) -> None:
    start = date(2025, 1, 1)
    try:
        deadline = parse_phrase(phrase, plan_start=start, plan_end=date(2027, 12, 31))
    except ValueError:
        assert text is None  # not a form we read: refused, not guessed
        return
    assert reading(deadline, today=start, plan_start=start)["text"] == text


def test_a_plan_period_written_backwards_is_refused(cli: Cli) -> None:
    code, out, err = cli(
        "deadline", "i maj", "--plan-start", "2026-01-01", "--plan-end", "2025-01-01"
    )
    assert (code, out) == (2, "")
    assert "byt plats på --plan-start och --plan-end" in err


def test_a_phrase_is_read_with_the_named_administrations_calendar(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in (("directory.toml", DIRECTORY), ("calendars.toml", CALENDARS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        monkeypatch.setenv(
            f"BEVAKNING_PLANS_{name.removesuffix('.toml').upper()}", str(tmp_path / name)
        )
    period = ("--plan-start", "2024-08-01", "--plan-end", "2024-12-31")

    def read(*args: str) -> tuple[int, str, str]:
        return cli("deadline", "vid varje nämndsmöte", *period, *args)

    assert read("--administration", "BUF")[1].strip() == (
        "En gång per nämndsmöte; första gången 2024-09-18"
    )
    assert read()[1].strip() == "En gång per nämndsmöte; första gången 2024-09-25"
    code, _, err = read("--administration", "KUL")
    assert code == 2
    assert err.strip() == "Förvaltningen ”KUL” finns inte i katalogen; ange en av: SOC, KFF, BUF."
    # An import's dry run reads a plan's phrases with its own administration's calendar.
    plan = tmp_path / "buf.toml"
    plan.write_text(plan_text("buf", "BUF"), encoding="utf-8")
    entries = {
        e["number"]: e["deadline"] for e in cli.json("import", str(plan), "--dry-run")["entries"]
    }
    assert entries["1"]["due"] == "2024-09-18"
    assert entries["3"]["due"] == "2024-12-18"  # BUF's own HT 2024
