"""The daily directory sync job of `bevakning run`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import App
from service.models import AuditEntry
from service.scheduler import build_scheduler, safe_directory_sync
from tests.fakes.graph_server import FakeGraphServer
from tests.people.test_entra_sync import graph_users
from tests.support import STOCKHOLM, at


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[FakeGraphServer]:
    with FakeGraphServer(tmp_path / "tls") as server:
        server.users = graph_users()
        yield server


def entra_app(app: App, graph: FakeGraphServer) -> App:
    return App(
        app.config.with_overrides(
            {
                "directory": {"source": "entra", "sync_time": "05:30"},
                "mail.graph": graph.settings(),
            }
        )
    )


def test_there_is_no_sync_job_without_a_source(sqlite_app: App) -> None:
    scheduler = build_scheduler(sqlite_app)
    assert scheduler.get_job("directory-sync") is None


def test_the_sync_job_runs_daily_at_the_configured_time(
    sqlite_app: App, graph: FakeGraphServer
) -> None:
    scheduler = build_scheduler(entra_app(sqlite_app, graph))
    job = scheduler.get_job("directory-sync")
    assert job is not None
    after = datetime(2024, 11, 4, 6, 0, tzinfo=STOCKHOLM)
    fire = job.trigger.get_next_fire_time(None, after)
    assert fire == datetime(2024, 11, 5, 5, 30, tzinfo=STOCKHOLM)


def test_the_sync_job_applies_the_source_and_logs_a_refusal_without_changing_anything(
    sqlite_app: App, graph: FakeGraphServer, caplog: pytest.LogCaptureFixture
) -> None:
    synced = entra_app(sqlite_app, graph)
    synced.init(at("2024-11-01"))
    graph.users[0]["jobTitle"] = "Socialdirektör"
    safe_directory_sync(synced)
    with synced.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("person.changed") == 1

    graph.users = graph.users[:3]
    with caplog.at_level(logging.ERROR, logger="service.scheduler"):
        safe_directory_sync(synced)
    assert "directory sync changed nothing" in caplog.text
    with synced.sessions() as session:
        assert list(session.scalars(select(AuditEntry.action))).count("person.deactivated") == 0
