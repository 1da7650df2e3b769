"""Bad input, described so a person can find and fix it: what, and where."""

from __future__ import annotations

from dataclasses import dataclass


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
