"""Bad input, described so a person can find and fix it: what, and where."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Problem:
    file: str
    where: str  # "område 3, aktivitet 1.1, kolumn Klart när?" or "rad 7, cell D7"
    message: str

    def __str__(self) -> str:
        where = f", {self.where}" if self.where else ""
        return f"{self.file}{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "where": self.where, "message": self.message}


class InputError(Exception):
    """One or more problems in an input file; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_toml(path: Path, display: str) -> dict[str, Any]:
    """A reference file (directory, calendars) as TOML; missing or broken: an InputError."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError([Problem(display, "", "filen finns inte.")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(display, "", f"ogiltig TOML: {exc}.")]) from None
