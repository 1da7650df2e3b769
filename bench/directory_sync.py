"""A directory sync of one municipality: 2,000 people in the store, an HR export with 50 changes
(20 new titles or names, 15 who left, 15 newcomers), on SQLite and PostgreSQL.

Measures reading the export, and the diff and its application (audit, reassignment of the
leavers' open occurrences) in one transaction. The re-expansion that follows is the tick's
(bench/tick.py); the generated store, where every person holds every item, would overstate it.
Run:
python -m bench.directory_sync [--occurrences N] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench.generate import generate, pg_schema
from service.app import App
from service.db import transaction
from service.models import Person
from service.people.hr_file import read_people_file
from service.people.roster import Places, apply_roster

PEOPLE = 2000


def write_export(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["Namn", "E-post", "Befattning", "Enhet", "Verksamhetsområde", "Chef"])
        for i in range(1, PEOPLE + 1):
            if i <= 15:
                continue  # left
            name = f"Person {i}" + (" Andersson" if i <= 35 else "")
            out.writerow([name, f"person{i}@example.se", "Enhetschef", "u1", "ÄO", ""])
        for i in range(15):
            out.writerow([f"Ny {i}", f"ny{i}@example.se", "Enhetschef", "u1", "ÄO", ""])


def run(app: App, export: Path) -> dict[str, float]:
    now = datetime.now(UTC)
    figures: dict[str, float] = {}
    with transaction(app.sessions) as session:
        t0 = time.perf_counter()
        roster = read_people_file(export, export.name, Places.from_store(session))
        t1 = time.perf_counter()
        summary = apply_roster(
            session, roster, now, actor="bench", max_deactivate_share=0.2, keep_roles=()
        )
        t2 = time.perf_counter()
    assert len(summary["deactivated"]) == 15 and len(summary["added"]) == 15
    assert len(summary["changed"]) == 20, len(summary["changed"])
    figures["read"], figures["diff+apply"] = t1 - t0, t2 - t1
    with app.sessions() as session:
        assert session.query(Person).filter(Person.active.is_(True)).count() == PEOPLE
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--occurrences", type=int, default=200_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory(prefix="bevakning-bench-") as folder, ExitStack() as stack:
        export = Path(folder) / "personal.csv"
        write_export(export)
        targets: list[tuple[str, Path | str]] = []
        if args.database in ("sqlite", "both"):
            targets.append(("SQLite", Path(folder) / "bench.db"))
        if args.database in ("postgresql", "both"):
            targets.append(("PostgreSQL", stack.enter_context(pg_schema())))
        for label, db in targets:
            app = generate(
                db,
                occurrences=args.occurrences,
                due_now=1000,
                today=today,
                people=PEOPLE,
                outbox=Path(folder) / "outbox",
            )
            if app.engine.dialect.name == "postgresql":
                # The generator writes explicit ids; let the sequence follow them.
                with app.engine.begin() as conn:
                    conn.execute(
                        text(
                            "SELECT setval(pg_get_serial_sequence('people', 'id'), max(id)) "
                            "FROM people"
                        )
                    )
            figures = run(app, export)
            app.engine.dispose()
            print(
                f"{label}: {PEOPLE:,} people, 50 changed, {args.occurrences:,} occurrences: "
                + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures.items())
            )


if __name__ == "__main__":
    main()
