"""Whether the store can be used, and what to tell a person when it cannot.

A database that is down, refuses the login or is locked by another process is something the
person running Bevakning can fix; they get one Swedish line saying what is wrong and what to
check, never a traceback.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

__all__ = ["explain", "sqlite_write_locked"]

_SETTING = "[database] url (eller BEVAKNING_DATABASE_URL)"


def explain(exc: BaseException, url: str) -> str | None:
    """The Swedish line for a database error that a person must fix, or None if `exc` is not
    about reaching the store (then it is a defect and deserves its traceback)."""
    # The DB-API's words for "could not connect", "locked", "server closed the connection";
    # other database errors (integrity, data) are defects.
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    lines = str(exc.orig or exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    lowered = reason.lower()
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"Databasen går inte att använda ({reason}); kontrollera {_SETTING}."
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ":memory:"
        if "locked" in lowered or "busy" in lowered:
            return (
                f"Databasen {path} är låst av en annan process; kontrollera att ingen annan "
                "process (en annan bevakning, ett verktyg som har filen öppen) håller låset, "
                "och försök igen."
            )
        if "unable to open" in lowered:
            return (
                f"SQLite-filen {path} går inte att öppna; kontrollera sökvägen i {_SETTING} "
                "och rättigheterna till mappen."
            )
        return (
            f"SQLite-filen {path} går inte att använda ({reason}); kontrollera att det är rätt fil."
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        return (
            f"Databasen på {where} nekade inloggningen för {parsed.username or '(ingen)'}; "
            f"kontrollera användare och lösenord i {_SETTING}."
        )
    if "does not exist" in lowered and "database" in lowered:
        return (
            f"Databasen {parsed.database} finns inte på {where}; kontrollera databasnamnet i "
            f"{_SETTING}."
        )
    if "lock" in lowered:
        return (
            f"Databasen på {where} är låst av en annan process; kontrollera vilken process som "
            "håller låset, och försök igen."
        )
    return (
        f"Databasen på {where} svarar inte; kontrollera adressen i {_SETTING} och att "
        "databasservern är igång."
    )


def sqlite_write_locked(engine: Engine, wait_seconds: float) -> bool:
    """Whether another process holds the SQLite store's write lock for longer than
    `wait_seconds` (False for any other database)."""
    if engine.dialect.name != "sqlite":
        return False
    path = engine.url.database
    if not path or path == ":memory:":
        return False
    # A connection of its own: the pool's connections wait much longer on a lock.
    probe = sqlite3.connect(path, timeout=wait_seconds, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc).lower() or "busy" in str(exc).lower()
    finally:
        probe.close()
