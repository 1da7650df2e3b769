"""`bevakning directory sync` and its daily job: people from Entra ID or Active Directory."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from service.app import App
from service.config import ConfigError
from service.people.mapping import DirectoryEntry, PeopleMapping
from service.people.update import UPDATE_PHASES, update_people

SOURCES = ("entra", "ldap")


def read_source(app: App, *, sleep: Callable[[float], None] = time.sleep) -> list[DirectoryEntry]:
    """Every user of the configured source ([directory] source); raises SourceError."""
    source = str(app.config.get("directory", "source", "") or "")
    if source == "entra":
        from service.people.entra import EntraDirectory, entra_settings

        settings = entra_settings(
            app.config.section("directory.entra"), app.config.section("mail.graph")
        )
        return EntraDirectory(settings, sleep=sleep).entries()
    if source == "ldap":
        from service.people.active_directory import ActiveDirectory

        return ActiveDirectory(app.config.section("directory.ldap")).entries()
    raise ConfigError(
        f'[directory] source är {source!r}; ange "entra" eller "ldap" för att synkronisera.'
    )


SYNC_PHASES = UPDATE_PHASES + 1  # fetching the source, then update_people's


def sync_people(
    app: App,
    now: datetime,
    *,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    step: Callable[[str], None] = lambda name: None,
) -> dict[str, Any]:
    """Read the source (before any transaction: it may take a while), then apply its roster.
    `step(name)` is called as each phase begins (SYNC_PHASES of them)."""
    mapping = PeopleMapping.from_settings(app.config.section("directory.mapping"))
    source = str(app.config.get("directory", "source", ""))
    step("Hämtar katalogen")
    entries = read_source(app, sleep=sleep)
    return update_people(
        app,
        lambda places: mapping.roster(source, entries, places),
        now,
        actor=f"directory-sync:{source}",
        dry_run=dry_run,
        step=step,
    )
