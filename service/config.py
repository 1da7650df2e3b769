"""Settings: config.toml plus BEVAKNING_<SECTION>_<KEY> environment overrides."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ENV_PREFIX = "BEVAKNING_"
DEFAULT_PATH = "config.toml"


class ConfigError(Exception):
    """A configuration problem, described for the person running the service."""


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """{"mail": {"transport": .., "smtp": {...}}} -> {"mail": {...}, "mail.smtp": {...}}."""
    sections: dict[str, dict[str, Any]] = {}
    own: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            sections.update(_flatten(value, f"{prefix}{key}."))
        else:
            own[key] = value
    if prefix:
        sections[prefix.rstrip(".")] = own
    return sections


def _coerce(raw: str, default: Any, where: str) -> Any:
    try:
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "ja", "on"):
                return True
            if lowered in ("0", "false", "no", "nej", "off", ""):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            text = raw.strip()
            if text.startswith("["):
                return list(json.loads(text))
            items = [part.strip() for part in text.split(",") if part.strip()]
            if default and isinstance(default[0], int):
                return [int(item) for item in items]
            return items
    except ValueError:
        raise ConfigError(
            f"Miljövariabeln {where} har värdet {raw!r}, som inte går att tolka "
            f"som {type(default).__name__}."
        ) from None
    return raw


@dataclass
class Config:
    sections: dict[str, dict[str, Any]]
    base_dir: Path
    source: Path | None = None

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.sections.get(section, {}).get(key, default)

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.sections.get(name, {}))

    def path(self, section: str, key: str) -> Path:
        """A path setting, resolved against the config file's folder."""
        value = Path(str(self.get(section, key)))
        return value if value.is_absolute() else self.base_dir / value

    @property
    def database_url(self) -> str:
        url = str(self.get("database", "url"))
        # The driver we ship is psycopg 3; a plain postgresql:// URL would ask for psycopg2.
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                url = "postgresql+psycopg://" + url[len(plain) :]
        # A relative SQLite path is relative to the config file, not the current directory.
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:" and not rest.startswith("file:"):
                return prefix + str(self.base_dir / rest)
        return url

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(str(self.get("schedule", "timezone", "Europe/Stockholm")))

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> Config:
        sections = {name: dict(values) for name, values in self.sections.items()}
        for name, values in overrides.items():
            sections.setdefault(name, {}).update(values)
        return Config(sections, self.base_dir, self.source)


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    environ = os.environ if environ is None else environ
    chosen = Path(path or environ.get("BEVAKNING_CONFIG") or DEFAULT_PATH)
    try:
        with chosen.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"Konfigurationsfilen {chosen} finns inte. Ange en annan med --config "
            "eller miljövariabeln BEVAKNING_CONFIG."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Konfigurationsfilen {chosen} går inte att läsa: {exc}.") from None
    sections = _flatten(data)
    _apply_environment(sections, environ)
    return Config(sections, chosen.resolve().parent, chosen.resolve())


def _apply_environment(sections: dict[str, dict[str, Any]], environ: Mapping[str, str]) -> None:
    # Longest section names first so BEVAKNING_MAIL_SMTP_PORT goes to [mail.smtp], not [mail].
    by_prefix = sorted(
        ((name.upper().replace(".", "_") + "_", name) for name in sections),
        key=lambda pair: -len(pair[0]),
    )
    for var, raw in environ.items():
        if not var.startswith(ENV_PREFIX) or var == "BEVAKNING_CONFIG":
            continue
        rest = var[len(ENV_PREFIX) :]
        for prefix, name in by_prefix:
            if rest.startswith(prefix):
                key = rest[len(prefix) :].lower()
                if key in sections[name]:
                    sections[name][key] = _coerce(raw, sections[name][key], var)
                    break
