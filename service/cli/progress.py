"""A progress bar for long commands, on a terminal only.

On a terminal (stderr is a TTY) a rich bar shows how far a command has come and how long is
left; piped, redirected or run from cron it prints nothing, so logs and --json output stay
clean. The bar goes to stderr and disappears when done: the command's own output is what stays.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

Advance = Callable[..., None]  # advance(steps=1)
T = TypeVar("T")


Step = Callable[[str], None]  # step(name): the named phase begins


def _bar(stream: TextIO | None) -> Progress | None:
    """A transient bar on stderr (or `stream`), or None when that is not a terminal."""
    console = Console(file=stream or sys.stderr)
    if not console.is_terminal:
        return None
    # Only numbers and a bar: rich's default columns have no words, so nothing in English.
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def progress(description: str, total: int, *, stream: TextIO | None = None) -> Iterator[Advance]:
    """Yields `advance(steps=1)`, to call as the work goes; a no-op when not on a terminal."""
    bar = _bar(stream)
    if bar is None or total <= 0:
        yield lambda steps=1: None
        return
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda steps=1: bar.advance(task, steps)


@contextmanager
def phases(total: int, *, stream: TextIO | None = None) -> Iterator[Step]:
    """A bar over a command's `total` phases, naming the one under way: yields `step(name)`,
    to call as each phase begins (reading a file, storing, scheduling, writing a document),
    for commands whose work has no count of its own to show. A no-op off a terminal."""
    bar = _bar(stream)
    if bar is None:
        yield lambda name: None
        return
    with bar:
        task = bar.add_task("", total=total)
        begun = 0

        def step(name: str) -> None:
            nonlocal begun
            bar.update(task, description=name, completed=begun)
            begun += 1

        yield step
        bar.update(task, completed=total)


def counted(rows: Iterable[T], advance: Advance, every: int = 10_000) -> Iterator[T]:
    """`rows` as they come, advancing the bar every `every` rows (not each: a million calls
    into the bar would cost seconds)."""
    n = 0
    for n, row in enumerate(rows, 1):
        if n % every == 0:
            advance(every)
        yield row
    advance(n % every)
