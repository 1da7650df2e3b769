"""Long commands show a progress bar on a terminal and print nothing extra elsewhere."""

from __future__ import annotations

import io
import os
import pty
import select

from service.cli.progress import counted, progress
from tests.cli_support import Cli


def read_all(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_the_bar_counts_the_steps() -> None:
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        with progress("Simulerar dag för dag", 3, stream=terminal) as advance:
            for _ in range(3):
                advance()
        terminal.flush()
        shown = read_all(leader)
    os.close(leader)
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
