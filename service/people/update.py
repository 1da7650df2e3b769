"""One run of a people source against the store: all or nothing, or checked and rolled back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from service.app import App
from service.config import ConfigError
from service.people.roster import Places, Roster, apply_roster, role_for


def max_deactivate_share(app: App) -> float:
    """The safety limit as a share between 0 and 1. Anything else is refused, not read: "20"
    meant as 20 % would have let a broken filter deactivate everyone."""
    raw = app.config.get("directory", "max_deactivate_share", 0.2)
    try:
        share = float(raw)
    except (TypeError, ValueError):
        share = -1.0
    if not 0 <= share <= 1:
        raise ConfigError(
            f"[directory] max_deactivate_share = {raw!r}: ange en andel mellan 0 och 1, till "
            "exempel 0.2 för 20 %."
        )
    return share


def keep_roles(app: App) -> set[str]:
    """The role keys of [directory] keep_roles (roles as written)."""
    written = [str(w) for w in app.config.get("directory", "keep_roles", [])]
    keys = {w: role_for(w) for w in written}
    unknown = [w for w, key in keys.items() if key is None]
    if unknown:
        raise ConfigError(
            f"[directory] keep_roles: {', '.join(unknown)} är ingen roll i katalogen; ange roller "
            "som katalogen känner (t.ex. Ledamot)."
        )
    return {key for key in keys.values() if key}


UPDATE_PHASES = 3  # the `step` calls update_people makes


def update_people(
    app: App,
    read: Callable[[Places], Roster],
    now: datetime,
    *,
    actor: str,
    dry_run: bool = False,
    step: Callable[[str], None] = lambda name: None,
) -> dict[str, Any]:
    """Read a roster against the store's units and areas, apply it and expand occurrences.
    `step(name)` is called as each phase begins (the command's progress bar).

    `read` runs inside the transaction, so a source's InputError or a SyncRefused leaves the
    store as it was; with dry_run everything is computed and rolled back.
    """
    app.init(now)
    session = app.sessions()
    try:
        session.begin()
        step("Läser katalogen")
        roster = read(Places.from_store(session))
        step("Uppdaterar personerna")
        summary = apply_roster(
            session,
            roster,
            now,
            actor=actor,
            max_deactivate_share=max_deactivate_share(app),
            keep_roles=keep_roles(app),
        )
        step("Skapar förekomster")
        app.sync(session, now)
        if dry_run:
            session.rollback()
        else:
            session.commit()
        return {"ok": True, "dry_run": dry_run, **summary}
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
