"""Running the `bevakning` command in-process against a throwaway SQLite store."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from service.cli import main
from service.models import AuditEntry, Item, Occurrence, Person, Plan
from tests.support import ROOT


class Cli:
    def __init__(self, config: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config, self.db, self.capsys = config, db, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def dry_run(self, path: Path) -> Any:
        """`import --dry-run --json` of `path`; asserts it changed nothing in the store."""
        before = self.counts()
        result = self.json("import", str(path), "--dry-run")
        assert self.counts() == before
        return result

    def counts(self) -> dict[str, int]:
        engine = create_engine(f"sqlite:///{self.db}")
        try:
            with engine.connect() as conn:
                return {
                    model.__name__: int(conn.scalar(select(func.count()).select_from(model)) or 0)
                    for model in (Plan, Item, Person, Occurrence, AuditEntry)
                }
        finally:
            engine.dispose()


def write_config(tmp_path: Path, db: Path, plans: Path = ROOT / "plans") -> Path:
    """The repo's config.toml with the database in tmp_path and absolute plan paths (`plans`:
    a folder with the plans, directory.toml and calendars.toml)."""
    replace = {
        ("database", "url"): f"sqlite:///{db}",
        ("plans", "folder"): str(plans),
        ("plans", "directory"): str(plans / "directory.toml"),
        ("plans", "calendars"): str(plans / "calendars.toml"),
        ("web", "secret_keys"): "test-key-1",
    }
    section, lines = "", []
    for line in (ROOT / "config.toml").read_text(encoding="utf-8").splitlines():
        header = re.fullmatch(r"\[([\w.]+)\]", line.strip())
        if header:
            section = header[1]
        key = re.match(r"(\w+)\s*=", line)
        if key and (section, key[1]) in replace:
            line = f"{key[1]} = {json.dumps(replace[(section, key[1])])}"
        lines.append(line)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
