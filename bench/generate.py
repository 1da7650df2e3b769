"""Generates a large store for the benchmarks: N occurrences of which about `due_now` are open
and due within the reminder horizon; the rest are done (past) or due far ahead.

SQLite gets batched INSERTs; PostgreSQL gets COPY, which is what makes stores of several million
rows quick to build there."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, create_engine, insert, text

from service.app import App
from service.cli.progress import counted, progress
from service.config import Config, load_config
from service.db import create_schema
from service.deadlines import Deadline, DeadlineKind
from service.models import Area, Division, Item, Occurrence, Person, Plan, State, Unit

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "BEVAKNING_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def pg_schema() -> Iterator[str]:
    """An empty schema of its own on the PostgreSQL server, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def bench_config(db: Path | str, outbox: Path) -> Config:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return load_config(ROOT / "config.toml", environ={}).with_overrides(
        {
            "database": {"url": url},
            "mail.files": {"folder": str(outbox), "preview": False},
            "web": {"secret_keys": "bench-key"},
        }
    )


def generate(
    db: Path | str,
    *,
    occurrences: int,
    due_now: int,
    today: date,
    people: int = 1000,
    seed: int = 7,
    outbox: Path | None = None,
) -> App:
    """A store at `db`: a SQLite file (replaced) or the URL of an empty PostgreSQL schema."""
    if isinstance(db, Path):
        db.unlink(missing_ok=True)
        outbox = outbox or db.parent / "outbox"
    assert outbox is not None, "a PostgreSQL store needs an outbox folder"
    app = App(bench_config(db, outbox))
    create_schema(app.engine)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    items_count = 1000
    with app.engine.begin() as conn:
        conn.execute(insert(Division), [{"code": "ÄO", "name": "Äldreomsorg"}])
        conn.execute(
            insert(Unit), [{"code": "u1", "name": "Enhet 1", "division_code": "ÄO", "address": ""}]
        )
        conn.execute(
            insert(Person),
            [
                {
                    "id": i + 1,
                    "email": f"person{i + 1}@example.se",
                    "name": f"Person {i + 1}",
                    "role": "enhetschef",
                    "role_title": "Enhetschef",
                    "unit_code": "u1",
                    "division_code": "ÄO",
                    "active": True,
                }
                for i in range(people)
            ],
        )
        conn.execute(
            insert(Plan),
            [
                {
                    "id": 1,
                    "slug": "bench",
                    "title": "Benchmarkplan",
                    "organisation": "",
                    "source": "",
                    "background": "",
                    "start": today - timedelta(days=3650),
                    "end": today + timedelta(days=3650),
                    "follow_from": today,
                    "source_file": "",
                    "source_hash": "",
                    "imported_at": now,
                }
            ],
        )
        conn.execute(
            insert(Area),
            [{"id": 1, "plan_id": 1, "position": 1, "title": "Område", "description": ""}],
        )
        due = today + timedelta(days=7)
        deadline = Deadline(DeadlineKind.DATE, due=due)
        conn.execute(
            insert(Item),
            [
                {
                    "id": i + 1,
                    "plan_id": 1,
                    "area_id": 1,
                    "parent_id": None,
                    "number": str(i + 1),
                    "position": i + 1,
                    "title": f"Aktivitet {i + 1}",
                    "responsible": ["Enhetschef"],
                    "deadline_phrase": due.isoformat(),
                    "cadence_phrase": "",
                    "deadline_kind": "date",
                    "deadline_json": deadline.to_json(),
                    "checked": "",
                    "note": "",
                    "active": True,
                }
                for i in range(items_count)
            ],
        )
        rows = _occurrences(occurrences, due_now, people, items_count, today, rng, now)
        with progress("Skapar förekomster", occurrences) as advance:
            write_occurrences(conn, counted(rows, advance))
        conn.execute(insert(State), [{"key": "data_version", "value": "1"}])
    return app


OCCURRENCE_COLUMNS = (
    "item_id", "person_id", "window_key", "window_start", "window_end", "due", "is_apt", "status",
    "version", "deferral_reason", "done_on", "done_via", "comment", "result_note", "created_at",
)  # fmt: skip


def _occurrences(
    count: int,
    due_now: int,
    people: int,
    items_count: int,
    today: date,
    rng: random.Random,
    now: datetime,
) -> Iterator[tuple[object, ...]]:
    for n in range(count):
        person_id = n % people + 1
        item_id = n // people % items_count + 1
        if n < due_now:
            status, occ_due = "open", today + timedelta(days=rng.choice([0, 1, 7, 30]))
        elif n % 2:
            status, occ_due = "done", today - timedelta(days=rng.randint(1, 2000))
        else:
            status, occ_due = "open", today + timedelta(days=rng.randint(120, 3000))
        done_on = occ_due if status == "done" else None
        yield (
            item_id, person_id, f"w{n}", None, occ_due, occ_due, False, status,
            1, "", done_on, "", "", "", now,
        )  # fmt: skip


def write_occurrences(conn: Connection, rows: Iterable[tuple[object, ...]]) -> None:
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        names = ", ".join(OCCURRENCE_COLUMNS)
        with cursor.copy(f"COPY occurrences ({names}) FROM STDIN") as copy:
            for row in rows:  # COPY bypasses UTCDateTime: created_at goes as naive UTC
                copy.write_row((*row[:-1], row[-1].replace(tzinfo=None)))  # type: ignore[union-attr]
        return
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(dict(zip(OCCURRENCE_COLUMNS, row, strict=True)))
        if len(batch) == 20000:
            conn.execute(insert(Occurrence.__table__), batch)
            batch = []
    if batch:
        conn.execute(insert(Occurrence.__table__), batch)
