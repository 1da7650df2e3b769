"""Helpers for tests: configs on a given database, and local Stockholm times."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from service.app import App
from service.config import Config, load_config
from service.directory import Directory
from service.models import Item, Occurrence, Person, Plan

ROOT = Path(__file__).resolve().parents[1]
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def make_config(db_url: str, tmp_path: Path, **sections: dict[str, object]) -> Config:
    base = load_config(ROOT / "config.toml", environ={})
    overrides: dict[str, dict[str, object]] = {
        "database": {"url": db_url},
        "mail.files": {"folder": str(tmp_path / "outbox"), "preview": False},
        "mail.inbox": {"folder": str(tmp_path / "inbox")},
        "web": {"secret_keys": "test-key-1"},
    }
    for name, values in sections.items():
        overrides.setdefault(name.replace("__", "."), {}).update(values)
    return base.with_overrides(overrides)


def at(day: str, clock: str = "08:00") -> datetime:
    """A moment given as local Stockholm date and time, in UTC."""
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=STOCKHOLM)
    return local.astimezone(UTC)


def d(text_: str) -> date:
    return date.fromisoformat(text_)


def folder_app(db_url: str, tmp_path: Path, folder: Path, **sections: dict[str, object]) -> App:
    """An app whose plans, directory.toml and calendars.toml are the files in `folder` (and
    other config `sections` as make_config takes them)."""
    return App(
        make_config(
            db_url,
            tmp_path,
            plans={
                "folder": str(folder),
                "directory": str(folder / "directory.toml"),
                "calendars": str(folder / "calendars.toml"),
            },
            **sections,
        )
    )


def reached_per_plan(app: App) -> dict[str, set[str]]:
    """Each plan's slug with the addresses its occurrences reach."""
    with app.sessions() as session:
        rows = session.execute(
            select(Plan.slug, Person.email)
            .join(Item, Item.plan_id == Plan.id)
            .join(Occurrence, Occurrence.item_id == Item.id)
            .join(Person, Occurrence.person_id == Person.id)
        ).all()
    reached: dict[str, set[str]] = defaultdict(set)
    for slug, email in rows:
        reached[slug].add(email)
    return reached


def escalation_chain(directory: Directory, email: str) -> list[str]:
    """The person and everyone their escalation climbs to, in order."""
    person = directory.by_email(email)
    out = []
    while person is not None:
        out.append(person.email)
        person = directory.manager_of(person)
    return out
