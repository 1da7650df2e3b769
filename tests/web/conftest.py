"""Fixtures for the web tests: a started store, a settable clock, a client with cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from service.app import App
from service.models import AuditEntry, Item, Occurrence, Plan
from service.web.app import create_app
from service.web.urls import done_url
from tests.support import at

NOW = at("2024-12-02", "08:00")  # a Monday


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def started(app: App) -> App:
    app.init(NOW)
    return app


@pytest.fixture
def web(started: App, clock: Clock) -> Starlette:
    return create_app(started, clock=clock)


@pytest.fixture
def client(web: Starlette) -> Iterator[TestClient]:
    with TestClient(web) as c:
        yield c


def find_occurrence(
    app: App, plan: str, area: int, number: str, *, person_id: int | None = None
) -> Occurrence:
    """The first open occurrence of an item, named as the plan names it."""
    with app.sessions() as session:
        query = (
            select(Occurrence)
            .join(Item, Occurrence.item_id == Item.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Plan.slug == plan, Item.number == number, Occurrence.status == "open")
            .where(Item.area.has(position=area))
            .order_by(Occurrence.id)
        )
        if person_id is not None:
            query = query.where(Occurrence.person_id == person_id)
        occ = session.scalars(query).first()
        assert occ is not None, f"no open occurrence for {plan} {area}/{number}"
        return occ


def path_of(app: App, url: str) -> str:
    assert url.startswith(app.public_url)
    return url[len(app.public_url) :]


def done_path(app: App, occ: Occurrence, now: datetime = NOW, **overrides: int) -> str:
    person_id = overrides.get("person_id", occ.person_id)
    version = overrides.get("version", occ.version)
    return path_of(app, done_url(app, occ.id, person_id, version, now))


def csrf_of(html: str, action: str = "") -> str:
    """The page's first CSRF field, or that of its first form posting to `action` (each
    field is bound to its form's path)."""
    if action:
        html = html[html.index(f'action="{action}"') :]
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def snapshot(app: App) -> tuple[list[tuple[object, ...]], int]:
    """Every occurrence row and the audit count: equal snapshots mean nothing changed."""
    with app.sessions() as session:
        columns = list(Occurrence.__table__.columns)
        rows = [tuple(r) for r in session.execute(select(*columns).order_by(Occurrence.id))]
        audits = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    return rows, audits


def reload(app: App, occurrence_id: int) -> Occurrence:
    with app.sessions() as session:
        occ = session.get(Occurrence, occurrence_id)
        assert occ is not None
        return occ
