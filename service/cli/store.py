"""The store itself: schema upgrades and backups."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from service import schema
from service.app import App
from service.backup import backup_sqlite, sqlite_path
from service.cli.common import JSON_HELP

PG_BACKUP_HINT = (
    "För PostgreSQL: pg_dump --format=custom --file=bevakning.dump DATABAS, och tillbaka med "
    "pg_restore --clean --if-exists --dbname=DATABAS bevakning.dump (se README, Uppgradera)."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "migrate",
        help="uppgradera databasens schema till den här versionen av Bevakning",
        description="Uppgraderar databasen till kodens schemaversion och behåller varje rad. "
        "En SQLite-databas säkerhetskopieras först, bredvid filen.",
    )
    p.add_argument("--dry-run", action="store_true", help="visa bara vad som skulle göras")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser(
        "backup",
        help="säkerhetskopiera SQLite-databasen (går bra medan tjänsten kör)",
    )
    p.add_argument("file", type=Path, metavar="FIL", help="ny fil att skriva kopian till")
    p.set_defaults(handler=cmd_backup)


def cmd_migrate(app: App, args: argparse.Namespace) -> int:
    result = schema.upgrade(app.engine, dry_run=args.dry_run, now=datetime.now())
    before = result.before
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "dry_run": result.dry_run,
                    "from": before.revision,
                    "standing": before.standing.value,
                    "to": before.head if result.changes else before.revision,
                    "revisions": result.ran,
                    "backup": str(result.backup) if result.backup else None,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(describe(result))
    return 0


def describe(result: schema.Upgrade) -> str:
    """What `migrate` did (or would do), in Swedish."""
    before = result.before
    if not result.changes:
        return f"Databasen har redan den senaste schemaversionen ({before.head}); inget ändrades."
    steps = ", ".join(result.ran) or "inga fler steg"
    if before.standing is schema.Standing.EMPTY:
        start = "Databasen var tom"
    elif before.standing is schema.Standing.UNVERSIONED:
        start = (
            "Databasen kommer från första versionen av Bevakning (utan schemaversion); dess "
            f"tabeller stämmer med {schema.FIRST} och den tas över därifrån"
        )
    else:
        start = f"Databasen hade schemaversion {before.revision}"
    if result.dry_run:
        return (
            f"{start}. Med migrate skulle den uppgraderas till {before.head} ({steps}). "
            "Inget ändrades (--dry-run)."
        )
    saved = f" Säkerhetskopia före uppgraderingen: {result.backup}." if result.backup else ""
    return f"{start}; nu har den {result.after} ({steps}).{saved}"


def cmd_backup(app: App, args: argparse.Namespace) -> int:
    target: Path = args.file
    if sqlite_path(app.engine) is None:
        print(f"backup gäller en SQLite-databas. {PG_BACKUP_HINT}")
        return 2
    if target.exists():
        print(f"Filen {target} finns redan; välj ett nytt namn så att ingen kopia skrivs över.")
        return 2
    backup_sqlite(app.engine, target)
    print(f"Säkerhetskopian är skriven till {target}.")
    return 0
