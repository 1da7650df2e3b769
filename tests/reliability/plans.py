"""Small plans written in a test, for mails whose content and dates the test controls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from service.app import App
from service.db import transaction
from service.models import Item, Occurrence, Person, Plan


@dataclass(frozen=True)
class PlanItem:
    number: str
    title: str
    deadline: str  # as written in the plan: "2024-12-04", "December 2024", ...
    responsible: str = "HR-chef"


def write_plan(folder: Path, slug: str, items: Sequence[PlanItem]) -> Path:
    """A one-area plan TOML; titles are written as escaped strings, so any text goes in."""

    def quoted(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a valid TOML basic string

    lines = [
        "[plan]",
        f"id = {quoted(slug)}",
        f"title = {quoted('Testplan ' + slug)}",
        'organisation = "Socialförvaltningen"',
        'administration = "SOC"',  # the bundled directory's Socialförvaltningen
        "start = 2024-01-01",
        "end = 2026-12-31",
        "",
        "[[area]]",
        'title = "Område för test"',
    ]
    for item in items:
        lines += [
            "",
            "[[area.item]]",
            f"number = {quoted(item.number)}",
            f"title = {quoted(item.title)}",
            f"responsible = [{quoted(item.responsible)}]",
            f"deadline = {quoted(item.deadline)}",
            'checked = ""',
        ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_plan(app: App, path: Path, now: datetime) -> None:
    """Into an initialised store, then expand its occurrences."""
    with transaction(app.sessions) as session:
        app.import_plan(session, path, now)
        app.sync(session, now)


def occurrence_ids(app: App, slug: str, number: str) -> dict[str, int]:
    """The item's occurrences by the responsible person's address."""
    with app.sessions() as session:
        rows = session.execute(
            select(Person.email, Occurrence.id)
            .join(Occurrence, Occurrence.person_id == Person.id)
            .join(Item, Occurrence.item_id == Item.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Plan.slug == slug, Item.number == number)
        ).all()
    return {email: occ_id for email, occ_id in rows}
