"""A test's Config written out as a TOML file, for `bevakning --config` in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.config import Config

# Settings that name files: relative ones are resolved here, since the file moves to tmp_path.
PATH_SETTINGS = {("plans", "folder"), ("plans", "directory"), ("plans", "calendars")}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a valid TOML basic string


def write_config_file(config: Config, path: Path) -> Path:
    lines: list[str] = []
    for name, values in sorted(config.sections.items()):
        lines.append(f"[{name}]")
        for key, value in values.items():
            if (name, key) in PATH_SETTINGS:
                value = str(config.path(name, key))
            if key == "url" and name == "database":
                value = config.database_url
            lines.append(f"{key} = {_value(value)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
