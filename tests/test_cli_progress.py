"""Long commands show a progress bar on a terminal and print nothing extra elsewhere."""

from __future__ import annotations

import io
import os
import pty
import select
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import pytest

from service.app import App
from service.cli import main
from service.cli.progress import counted, phases, progress
from service.people.sync import SYNC_PHASES, sync_people
from service.people.update import UPDATE_PHASES
from tests.cli_support import Cli
from tests.fakes.graph_server import FakeGraphServer
from tests.people.exports import bundled_directory, export_rows, write_csv
from tests.people.test_entra_sync import graph, synced_app
from tests.support import ROOT, at

__all__ = ["graph"]  # the fake Graph server fixture, for the sync's phases


def chunks(fd: int, wait: float | None = 0) -> Iterator[bytes]:
    """What the terminal shows, as it comes: until nothing more within `wait` seconds, or
    (wait=None) until the other end is closed."""
    while select.select([fd], [], [], wait)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        yield data


def read_all(fd: int) -> str:
    return b"".join(chunks(fd)).decode("utf-8", "replace")


def drawn(draw: Callable[[TextIO], None]) -> str:
    """What `draw` shows on a pseudo-terminal."""
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        draw(terminal)
        terminal.flush()
        shown = read_all(leader)
    os.close(leader)
    return shown


def test_on_a_terminal_the_bar_counts_the_steps() -> None:
    def draw(terminal: TextIO) -> None:
        with progress("Simulerar dag för dag", 3, stream=terminal) as advance:
            for _ in range(3):
                advance()

    shown = drawn(draw)
    assert "Simulerar dag för dag" in shown and "3/3" in shown


def test_not_on_a_terminal_it_prints_nothing() -> None:
    stream = io.StringIO()
    with progress("Simulerar dag för dag", 3, stream=stream) as advance:
        for _ in range(3):
            advance()
    assert stream.getvalue() == ""


def test_simulate_piped_prints_only_its_json(cli_ready: Cli) -> None:
    code, out, err = cli_ready("simulate", "--from", "2024-11-25", "--to", "2024-11-29", "--json")
    assert code == 0 and err == ""
    assert out.lstrip().startswith("{")


def test_simulate_on_the_terminal_names_its_figures_in_swedish(cli_ready: Cli) -> None:
    code, out, _ = cli_ready("simulate", "--from", "2024-11-25", "--to", "2024-11-29")
    assert code == 0
    assert "Mejl på helger och helgdagar: 0" in out
    by_kind = next(line for line in out.splitlines() if line.startswith("Per sort: "))
    assert "påminnelse " in by_kind and "reminder" not in by_kind
    assert "mails_on_weekends_or_holidays" not in out


def test_counted_rows_advance_the_bar_in_steps_and_arrive_unchanged() -> None:
    steps: list[int] = []
    rows = list(counted(iter(range(25)), lambda n=1: steps.append(n), every=10))
    assert rows == list(range(25))
    assert steps == [10, 10, 5]


def on_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """The command run with stderr on a pseudo-terminal, as a person at a terminal runs it;
    what the terminal showed is read as it comes, so a long bar never fills the buffer."""
    leader, follower = pty.openpty()
    shown: list[bytes] = []

    def drain() -> None:
        shown.extend(chunks(leader, None))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        code = main(["--config", str(cli.config), *args])
        terminal.flush()
        monkeypatch.undo()
    reader.join(timeout=5)
    os.close(leader)
    return code, b"".join(shown).decode("utf-8", "replace")


def test_on_a_terminal_phases_are_named_and_counted() -> None:
    def draw(terminal: TextIO) -> None:
        with phases(3, stream=terminal) as step:
            for name in ("Läser planfilen", "Sparar planen", "Skapar förekomster"):
                step(name)

    shown = drawn(draw)
    assert "Skapar förekomster" in shown and "3/3" in shown


def test_phases_not_on_a_terminal_print_nothing() -> None:
    stream = io.StringIO()
    with phases(2, stream=stream) as step:
        step("Läser planen och förekomsterna")
        step("Skriver rapporten (xlsx)")
    assert stream.getvalue() == ""


def test_import_report_and_directory_import_show_their_phases_on_a_terminal(
    cli_ready: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = str(ROOT / "plans" / "tillitsfull-dialog.toml")
    code, shown = on_terminal(cli_ready, monkeypatch, "import", plan)
    assert code == 0 and "Skapar förekomster" in shown and "4/4" in shown

    output = str(tmp_path / "rapport.xlsx")
    code, shown = on_terminal(cli_ready, monkeypatch, "report", "tillitsfull-dialog", "-o", output)
    assert code == 0 and "Skriver rapporten (xlsx)" in shown and "2/2" in shown

    people = write_csv(tmp_path / "hr.csv", export_rows(bundled_directory()))
    code, shown = on_terminal(cli_ready, monkeypatch, "directory", "import", str(people))
    assert (
        code == 0 and "Skapar förekomster" in shown and f"{UPDATE_PHASES}/{UPDATE_PHASES}" in shown
    )


def test_import_report_and_directory_import_piped_print_no_bar(
    cli_ready: Cli, tmp_path: Path
) -> None:
    plan = str(ROOT / "plans" / "tillitsfull-dialog.toml")
    assert cli_ready("import", plan)[2] == ""
    assert cli_ready("import", plan, "--dry-run")[2] == ""
    assert cli_ready("report", "tillitsfull-dialog", "-o", str(tmp_path / "r.xlsx"))[2] == ""
    people = write_csv(tmp_path / "hr.csv", export_rows(bundled_directory()))
    assert cli_ready("directory", "import", str(people))[2] == ""


def test_directory_sync_names_each_of_its_phases(app: App, graph: FakeGraphServer) -> None:
    synced = synced_app(app, graph)
    synced.init(at("2024-11-01"))
    steps: list[str] = []
    sync_people(synced, at("2024-11-04"), sleep=lambda _s: None, step=steps.append)
    assert steps == [
        "Hämtar katalogen",
        "Läser katalogen",
        "Uppdaterar personerna",
        "Skapar förekomster",
    ]
    assert len(steps) == SYNC_PHASES
