"""A generated store with one due mail per person today, as the dispatch tests need it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bench.generate import generate
from service.app import App
from service.db import transaction
from service.occurrences import mark_expanded


def due_store(db: Path | str, tmp_path: Path, mails: int, now: datetime) -> App:
    """`mails` people with one occurrence each, due within the reminder stages of `now`'s day,
    in a SQLite file (a Path) or an empty PostgreSQL schema (its URL)."""
    app = generate(
        db,
        occurrences=mails,
        due_now=mails,
        today=now.date(),
        people=mails,
        outbox=tmp_path / "outbox",
    )
    with transaction(app.sessions) as session:
        # The generated occurrences stand for today's expansion (see bench/generate.py).
        schedule = app.config.section("schedule")
        mark_expanded(
            session, now.date(), int(schedule["horizon_days"]), str(schedule["checkin_every"])
        )
    return app
