"""The `bevakning` command, run in-process against a SQLite file of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.cli import main
from tests.cli_support import Cli, write_config
from tests.support import ROOT

ITEM_KEYS = {
    "plan", "area", "number", "title", "responsible", "deadline_phrase", "deadline_kind", "due",
    "open", "done", "overdue",
}  # fmt: skip
OCCURRENCE_KEYS = {"id", "plan", "number", "title", "person", "due", "status"}
KINDS = {
    "date", "month", "week", "term", "quarter", "recurring", "per_meeting", "relative",
    "continuous", "as_needed",
}  # fmt: skip
ENHETSCHEF = "linnea.forsberg@example.se"
AREA_6 = "Tydliggör ramarna för varje enskild chef"

GOOD_PLAN = """\
[plan]
id = "ny-plan"
title = "Ny plan"
start = 2025-01-01
end = 2025-12-31

[[area]]
title = "Område A"

[[area.item]]
number = "1"
title = "Gör något"
responsible = ["Enhetschef"]
deadline = "December 2025"
"""

BAD_PLAN = (
    GOOD_PLAN
    + """
[[area.item]]
number = "2"
title = "Gör mer"
responsible = ["Enhetschef"]
deadline = "snart"
"""
)


def test_the_written_config_points_at_the_temporary_database(cli: Cli) -> None:
    text = cli.config.read_text(encoding="utf-8")
    assert f'url = "sqlite:///{cli.db}"' in text
    assert f'folder = "{ROOT / "plans"}"' in text


def test_init_creates_the_store_and_loads_the_bundled_plans(cli: Cli) -> None:
    code, out, _ = cli("init")
    assert code == 0
    assert "Databasen är skapad och 3 planer är inlästa." in out
    assert "tillitsfull-dialog: Handlingsplan tillitsfull dialog (27 aktiviteter)" in out
    assert "starka-enhetschefer" in out and "(5 aktiviteter)" in out
    assert "utbildning-tillitsfull-dialog" in out and "(10 aktiviteter)" in out
    counts = cli.counts()
    assert counts["Plan"] == 3 and counts["Item"] == 42 and counts["Occurrence"] > 0


def test_init_twice_says_nothing_changed_and_changes_nothing(cli_ready: Cli) -> None:
    before = cli_ready.counts()
    code, out, _ = cli_ready("init")
    assert code == 0
    assert "Databasen fanns redan; ingenting ändrades." in out
    assert cli_ready.counts() == before


def test_items_json_has_one_entry_per_item_with_the_documented_keys(cli_ready: Cli) -> None:
    items = cli_ready.json("items", "--at", "2024-11-15")
    assert len(items) == 27 + 5 + 10
    assert sum(1 for i in items if i["plan"] == "utbildning-tillitsfull-dialog") == 10
    assert sum(1 for i in items if i["plan"] == "tillitsfull-dialog") == 27
    assert sum(1 for i in items if i["plan"] == "starka-enhetschefer") == 5
    for entry in items:
        assert set(entry) >= ITEM_KEYS
        # Beyond the keys the command adds only the area's position and the cadence.
        assert set(entry) - ITEM_KEYS <= {"area_number", "cadence"}
        assert entry["deadline_kind"] in KINDS
        assert isinstance(entry["responsible"], list) and entry["responsible"]
        assert all(isinstance(entry[k], int) for k in ("open", "done", "overdue"))


def find(items: list[dict[str, Any]], plan: str, area: str, number: str) -> dict[str, Any]:
    found = [
        i
        for i in items
        if i["plan"] == plan and i["area"].startswith(area) and i["number"] == number
    ]
    assert len(found) == 1, (plan, area, number)
    return found[0]


def test_items_counts_the_enhetschef_occurrences_open_and_then_overdue(cli_ready: Cli) -> None:
    before = find(
        cli_ready.json("items", "--at", "2024-11-15"), "tillitsfull-dialog", AREA_6, "1.2"
    )
    assert before["responsible"] == ["Enhetschef"]
    assert before["deadline_phrase"] == "December 2024"
    assert before["deadline_kind"] == "month"
    assert before["due"] == "2024-12-31"
    assert (before["open"], before["done"], before["overdue"]) == (14, 0, 0)
    after = find(cli_ready.json("items", "--at", "2025-01-15"), "tillitsfull-dialog", AREA_6, "1.2")
    assert (after["open"], after["done"], after["overdue"]) == (0, 0, 14)
    assert after["due"] is None


def test_items_shows_the_report_to_son_on_4_december_2024(cli_ready: Cli) -> None:
    items = cli_ready.json("items", "--at", "2024-11-15")
    report = [i for i in items if i["plan"] == "starka-enhetschefer" and "SON den 4" in i["title"]]
    assert len(report) == 1
    assert report[0]["deadline_kind"] == "date"
    assert report[0]["due"] == "2024-12-04"
    assert (report[0]["open"], report[0]["overdue"]) == (1, 0)


def test_items_keeps_the_deadline_phrase_as_written(cli_ready: Cli) -> None:
    items = cli_ready.json("items", "--at", "2024-11-15")
    workshop = find(items, "tillitsfull-dialog", "Skapa ett närmare band mellan verksamhet", "1")
    assert workshop["deadline_phrase"] == "Fortlöpande"
    assert workshop["deadline_kind"] == "recurring"
    assert find(items, "tillitsfull-dialog", "Hur pratar", "1.1")["deadline_kind"] == "as_needed"
    assert find(items, "tillitsfull-dialog", "Hur pratar", "1.1")["due"] is None


def test_occurrences_for_a_person_have_the_documented_keys(cli_ready: Cli) -> None:
    entries = cli_ready.json("occurrences", "--person", ENHETSCHEF, "--at", "2024-11-15")
    assert entries
    for entry in entries:
        assert set(entry) >= OCCURRENCE_KEYS
        assert set(entry) - OCCURRENCE_KEYS <= {"window"}
        assert entry["person"] == ENHETSCHEF
        assert isinstance(entry["id"], int)
    routines = [e for e in entries if e["plan"] == "tillitsfull-dialog" and e["number"] == "1.2"]
    assert {(e["due"], e["status"]) for e in routines} >= {("2024-12-31", "open")}


def test_occurrences_status_follows_at(cli_ready: Cli) -> None:
    entries = cli_ready.json("occurrences", "--person", ENHETSCHEF, "--at", "2025-01-15")
    december = [e for e in entries if e["due"] == "2024-12-31"]
    assert december and {e["status"] for e in december} == {"overdue"}


def test_occurrences_person_is_matched_case_insensitively(cli_ready: Cli) -> None:
    assert cli_ready.json("occurrences", "--person", ENHETSCHEF.upper()) == cli_ready.json(
        "occurrences", "--person", ENHETSCHEF
    )


def test_a_bad_plan_exits_1_names_file_area_item_and_text_and_changes_nothing(
    cli_ready: Cli, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_PLAN, encoding="utf-8")
    before = cli_ready.counts()
    code, out, _ = cli_ready("import", str(bad), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["ok"] is False
    [problem] = result["problems"]
    assert problem["file"].endswith("bad.toml")
    assert "område 1, aktivitet 2" in problem["where"]
    assert "Klart när?" in problem["where"]
    assert "'snart'" in problem["message"]
    assert cli_ready.counts() == before


def test_a_bad_plan_without_json_explains_in_swedish_on_stderr(
    cli_ready: Cli, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_PLAN, encoding="utf-8")
    code, out, err = cli_ready("import", str(bad))
    assert code == 1 and out == ""
    assert "Inget ändrades" in err and "bad.toml" in err and "'snart'" in err


def test_dry_run_checks_a_good_plan_and_changes_nothing(cli_ready: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD_PLAN, encoding="utf-8")
    before = cli_ready.counts()
    code, out, _ = cli_ready("import", str(good), "--dry-run")
    assert code == 0
    assert "ny-plan" in out and "Inget ändrades (--dry-run)" in out
    assert cli_ready.counts() == before
    result = cli_ready.dry_run(good)
    counts = {k: result[k] for k in ("ok", "dry_run", "plan", "areas", "items")}
    assert counts == {"ok": True, "dry_run": True, "plan": "ny-plan", "areas": 1, "items": 1}


def test_import_adds_a_good_plan_and_its_occurrences(cli_ready: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD_PLAN, encoding="utf-8")
    before = cli_ready.counts()
    result = cli_ready.json("import", str(good))
    assert result["ok"] is True and result["created"] is True and result["added"] == 1
    after = cli_ready.counts()
    assert (after["Plan"], after["Item"]) == (before["Plan"] + 1, before["Item"] + 1)
    items = cli_ready.json("items", "--at", "2025-06-01")
    new = [i for i in items if i["plan"] == "ny-plan"]
    # A plan without `administration` is the whole municipality's: Socialförvaltningen's 14
    # enhetschefer and the one at BUF's elevhälsa.
    assert [(i["number"], i["due"], i["open"]) for i in new] == [("1", "2025-12-31", 15)]
    again = cli_ready.json("import", str(good))
    assert again["created"] is False and again["added"] == 0 and again["updated"] == 1


def test_items_without_json_prints_a_swedish_table(cli_ready: Cli) -> None:
    code, out, _ = cli_ready("items", "--at", "2024-11-15")
    assert code == 0
    header = out.splitlines()[0].split()
    for word in ("Plan", "Område", "Nr", "Aktivitet", "Ansvarig", "Klart", "när?", "Nästa",
                 "frist", "Öppna", "Klara", "Försenade"):  # fmt: skip
        assert word in header
    assert "tillitsfull-dialog" in out and "December 2024" in out
    assert len(out.splitlines()) == 2 + 42


def test_occurrences_without_json_prints_a_swedish_table(cli_ready: Cli) -> None:
    code, out, _ = cli_ready("occurrences", "--person", ENHETSCHEF, "--at", "2024-11-15")
    assert code == 0
    assert out.splitlines()[0].split() == ["Id", "Plan", "Nr", "Aktivitet", "Person", "Frist",
                                           "Status"]  # fmt: skip
    statuses = {line.rsplit("  ", 1)[-1].strip() for line in out.splitlines()[2:]}
    assert "öppen" in statuses
    assert statuses <= {"öppen", "klar", "försenad", "inte aktuell"}


def test_a_missing_config_file_is_a_swedish_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(tmp_path / "saknas.toml"), "items"])
    assert code == 2
    assert "Fel i konfigurationen" in capsys.readouterr().err


def test_without_a_command_the_help_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "kommandon" in capsys.readouterr().out


def test_occurrences_finds_a_person_whose_address_the_directory_writes_in_capitals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "directory.toml"
    directory.write_text(
        (ROOT / "plans" / "directory.toml")
        .read_text(encoding="utf-8")
        .replace(f'"{ENHETSCHEF}"', '"Linnea.Forsberg@example.se"'),
        encoding="utf-8",
    )
    db = tmp_path / "cli.db"
    config = write_config(tmp_path, db)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            json.dumps(str(ROOT / "plans" / "directory.toml")), json.dumps(str(directory))
        ),
        encoding="utf-8",
    )
    cli = Cli(config, db, capsys)
    entries = cli.json("occurrences", "--person", ENHETSCHEF, "--at", "2024-11-15")
    assert entries
    assert {e["person"] for e in entries} == {"Linnea.Forsberg@example.se"}
