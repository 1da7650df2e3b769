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
            # The tick plans reminders only; bench.scale times the digests on their own
            # (`bevakning digest`'s plan_digests, then their dispatch).
            "digest": {"enabled": False},
        }
    )


def _plan_row(
    plan_id: int,
    slug: str,
    title: str,
    organisation: str,
    administration: str,
    today: date,
    now: datetime,
) -> dict[str, object]:
    """A plan followed from today, its period ten years either side (never what a bench
    measures)."""
    return {
        "id": plan_id,
        "slug": slug,
        "title": title,
        "organisation": organisation,
        "administration": administration,
        "source": "",
        "background": "",
        "start": today - timedelta(days=3650),
        "end": today + timedelta(days=3650),
        "follow_from": today,
        "source_file": "",
        "source_hash": "",
        "imported_at": now,
    }


def _empty_store(db: Path | str, outbox: Path | None) -> App:
    """An app on a new, empty store: a SQLite file (replaced) or an empty PostgreSQL schema."""
    if isinstance(db, Path):
        db.unlink(missing_ok=True)
        outbox = outbox or db.parent / "outbox"
    assert outbox is not None, "a PostgreSQL store needs an outbox folder"
    app = App(bench_config(db, outbox))
    create_schema(app.engine)
    return app


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
    app = _empty_store(db, outbox)
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
            [_plan_row(1, "bench", "Benchmarkplan", "", "", today, now)],
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


# -- the national store: 290 municipalities × 6 administrations, one store ---------------------
# A store's organisation is one municipality's (the kommundirektör's digest covers every plan
# in it), so a provider's national store is modelled as 1,740 administrations side by side,
# each with its head, two areas, six units, its people and one plan of its own.
MUNICIPALITIES = 290
ADMINISTRATIONS_EACH = 6
ITEMS_PER_PLAN = 10


def administration_code(n: int) -> str:
    municipality, administration = divmod(n, ADMINISTRATIONS_EACH)
    return f"K{municipality + 1:03}F{administration + 1}"


def national_directory(people: int, administrations: int) -> dict[str, list[dict[str, str]]]:
    """The directory document (as plans/directory.toml would hold it) of the national store:
    per administration a förvaltningschef, a verksamhetschef per area and enhetschefer spread
    over the units; person p works in administration p % administrations."""
    doc: dict[str, list[dict[str, str]]] = {
        "administration": [],
        "area": [],
        "unit": [],
        "person": [],
    }
    for a in range(administrations):
        code = administration_code(a)
        doc["administration"].append({"code": code, "name": f"Förvaltning {code}"})
        for o in (1, 2):
            area = f"{code}O{o}"
            doc["area"].append({"code": area, "name": f"Område {area}", "administration": code})
            for e in (1, 2, 3):
                unit = f"{area}E{e}"
                doc["unit"].append({"code": unit, "name": f"Enhet {unit}", "area": area})
    for p in range(people):
        code, rank = administration_code(p % administrations), p // administrations
        person = {"name": f"Person {p + 1}", "email": f"person{p + 1}@example.se"}
        if rank == 0:
            person |= {"role": "Förvaltningschef", "administration": code}
        elif rank in (1, 2):
            person |= {"role": "Verksamhetschef", "area": f"{code}O{rank}"}
        else:
            o, e = rank % 2 + 1, rank % 3 + 1
            person |= {"role": "Enhetschef", "unit": f"{code}O{o}E{e}"}
        doc["person"].append(person)
    return doc


def generate_national(
    db: Path | str,
    *,
    occurrences: int,
    due_now: int,
    today: date,
    people: int = 50_000,
    administrations: int = MUNICIPALITIES * ADMINISTRATIONS_EACH,
    seed: int = 7,
    outbox: Path | None = None,
) -> App:
    """The national store at `db` (a SQLite file, replaced, or an empty PostgreSQL schema):
    `administrations` administrations with their heads and people (stored by the real
    store_directory), a plan of ITEMS_PER_PLAN items each naming "Enhetschef", and
    `occurrences` occurrences of those items for the enhetschefer of the plan's own
    administration; about `due_now` open and due within the horizon (some of them overdue),
    the rest done in the past or due far ahead. Occurrences of an item in the same round share
    a window, so the digest's progress lines count "3 av 24 enhetschefer klara"."""
    from service.directory import parse_directory, store_directory

    app = _empty_store(db, outbox)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    directory = parse_directory(national_directory(people, administrations), "national.toml")
    with app.sessions() as session, session.begin():
        store_directory(session, directory)
    with app.engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT email, id FROM people")).tuples().all())
        chefs: list[list[int]] = [[] for _ in range(administrations)]
        for p, record in enumerate(directory.people):
            if record.role == "enhetschef":
                chefs[p % administrations].append(ids[record.email])
        deadline = Deadline(DeadlineKind.DATE, due=today + timedelta(days=7)).to_json()
        conn.execute(
            insert(Plan),
            [
                _plan_row(
                    a + 1,
                    f"plan-{administration_code(a).lower()}",
                    f"Handlingsplan {administration_code(a)}",
                    f"Förvaltning {administration_code(a)}",
                    administration_code(a),
                    today,
                    now,
                )
                for a in range(administrations)
            ],
        )
        conn.execute(
            insert(Area),
            [
                {"id": a + 1, "plan_id": a + 1, "position": 1, "title": "Område", "description": ""}
                for a in range(administrations)
            ],
        )
        conn.execute(
            insert(Item),
            [
                {
                    "id": a * ITEMS_PER_PLAN + i + 1,
                    "plan_id": a + 1,
                    "area_id": a + 1,
                    "parent_id": None,
                    "number": str(i + 1),
                    "position": i + 1,
                    "title": f"Aktivitet {i + 1}",
                    "responsible": ["Enhetschef"],
                    "deadline_phrase": "",
                    "cadence_phrase": "",
                    "deadline_kind": "date",
                    "deadline_json": deadline,
                    "checked": "",
                    "note": "",
                    "active": True,
                }
                for a in range(administrations)
                for i in range(ITEMS_PER_PLAN)
            ],
        )
        rows = _national_occurrences(occurrences, due_now, chefs, today, rng, now)
        with progress("Skapar förekomster", occurrences) as advance:
            write_occurrences(conn, counted(rows, advance))
        conn.execute(insert(State), [{"key": "data_version", "value": "1"}])
        if conn.dialect.name == "postgresql":
            for table in ("plans", "areas", "items"):  # explicit ids: the sequences follow
                serial = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({serial}, max(id)) FROM {table}"))
    return app


def _national_occurrences(
    count: int,
    due_now: int,
    chefs: list[list[int]],
    today: date,
    rng: random.Random,
    now: datetime,
) -> Iterator[tuple[object, ...]]:
    administrations = len(chefs)
    for n in range(count):
        a, k = n % administrations, n // administrations
        mine = chefs[a]
        # People first: the mails due now go to as many people as they would in life.
        person, rest = mine[k % len(mine)], k // len(mine)
        item, window = rest % ITEMS_PER_PLAN, rest // ITEMS_PER_PLAN
        if n < due_now:
            offset = rng.choice([-20, -3, 0, 1, 7, 30])
            status, occ_due = "open", today + timedelta(days=offset)
        elif n % 2:
            status, occ_due = "done", today - timedelta(days=rng.randint(1, 2000))
        else:
            status, occ_due = "open", today + timedelta(days=rng.randint(120, 3000))
        done_on = occ_due if status == "done" else None
        yield (
            a * ITEMS_PER_PLAN + item + 1, person, f"r{window}", None, occ_due, occ_due, False,
            status, 1, "", done_on, "", "", "", now,
        )  # fmt: skip
