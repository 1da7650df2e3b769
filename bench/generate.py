"""Generates a large store for the benchmarks: N occurrences of which about `due_now` are open
and due within the reminder horizon; the rest are done (past) or due far ahead."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from service.app import App
from service.config import Config, load_config
from service.db import create_schema
from service.deadlines import Deadline, DeadlineKind
from service.models import Area, Division, Item, Occurrence, Person, Plan, State, Unit

ROOT = Path(__file__).resolve().parents[1]


def bench_config(db_path: Path, outbox: Path) -> Config:
    return load_config(ROOT / "config.toml", environ={}).with_overrides(
        {
            "database": {"url": f"sqlite:///{db_path}"},
            "mail.files": {"folder": str(outbox), "preview": False},
            "web": {"secret_keys": "bench-key"},
        }
    )


def generate(
    db_path: Path, *, occurrences: int, due_now: int, today: date, people: int = 1000, seed: int = 7
) -> App:
    if db_path.exists():
        db_path.unlink()
    app = App(bench_config(db_path, db_path.parent / "outbox"))
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
        batch = []
        for n in range(occurrences):
            person_id = n % people + 1
            item_id = n // people % items_count + 1
            if n < due_now:
                status, occ_due = "open", today + timedelta(days=rng.choice([0, 1, 7, 30]))
            elif n % 2:
                status, occ_due = "done", today - timedelta(days=rng.randint(1, 2000))
            else:
                status, occ_due = "open", today + timedelta(days=rng.randint(120, 3000))
            batch.append(
                {
                    "item_id": item_id,
                    "person_id": person_id,
                    "window_key": f"w{n}",
                    "window_start": None,
                    "window_end": occ_due,
                    "due": occ_due,
                    "is_apt": False,
                    "status": status,
                    "version": 1,
                    "deferral_reason": "",
                    "done_on": occ_due if status == "done" else None,
                    "done_via": "",
                    "comment": "",
                    "result_note": "",
                    "created_at": now,
                }
            )
            if len(batch) == 20000:
                conn.execute(insert(Occurrence), batch)
                batch = []
        if batch:
            conn.execute(insert(Occurrence), batch)
        conn.execute(insert(State), [{"key": "data_version", "value": "1"}])
    return app
