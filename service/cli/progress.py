"""A progress bar for long commands, on a terminal only.

On a terminal (stderr is a TTY) a rich bar shows how far a command has come and how long is
left; piped, redirected or run from cron it prints nothing, so logs and --json output stay
clean. The bar goes to stderr and disappears when done: the command's own output is what stays.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

Advance = Callable[[], None]


@contextmanager
def progress(description: str, total: int, *, stream: TextIO | None = None) -> Iterator[Advance]:
    """Yields a function to call once per step of `total`; a no-op when not on a terminal."""
    console = Console(file=stream or sys.stderr)
    if not console.is_terminal or total <= 0:
        yield lambda: None
        return
    # Only numbers and a bar: rich's default columns have no words, so nothing in English.
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)
