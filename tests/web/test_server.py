"""Serving with uvicorn: the client address comes from a trusted proxy only."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette

from service.app import App
from service.models import AuditEntry, Item, Occurrence, Plan
from service.web import server
from service.web.server import BackgroundServer
from tests.web.conftest import csrf_of, done_path


def test_serve_trusts_the_proxies_named_in_the_config(
    started: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: seen.append(self.config))
    monkeypatch.setattr(server, "freeze_startup_objects", lambda: None)  # not in the tests' GC
    proxied = started.config.with_overrides({"web": {"forwarded_allow_ips": "10.0.0.5"}})
    monkeypatch.setattr(started, "config", proxied)
    server.serve(started)
    assert seen[0].forwarded_allow_ips == "10.0.0.5"


def test_bad_tokens_count_per_forwarded_client_behind_a_trusted_proxy(
    started: App, web: Starlette
) -> None:
    limit = int(started.config.get("web", "bad_token_limit_per_minute"))
    with BackgroundServer(web, forwarded_allow_ips="127.0.0.1") as running:
        guesser = {"X-Forwarded-For": "198.51.100.1"}
        for n in range(limit):
            assert httpx2.get(f"{running.url}/k/gissning-{n}", headers=guesser).status_code == 400
        assert httpx2.get(f"{running.url}/k/gissning", headers=guesser).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.2"}
        assert httpx2.get(f"{running.url}/k/gissning", headers=other).status_code == 400


def test_concurrent_clicks_are_each_recorded_once_and_a_repeat_answers_already_done(
    started: App, web: Starlette
) -> None:
    with started.sessions() as session:
        occurrences = session.scalars(
            select(Occurrence)
            .join(Item, Occurrence.item_id == Item.id)
            .join(Plan, Item.plan_id == Plan.id)
            .where(Plan.slug == "starka-enhetschefer", Item.number == "1")
            .where(Occurrence.status == "open")
        ).all()
    assert len(occurrences) >= 5
    paths = [done_path(started, occ) for occ in occurrences]

    async def click_all(url: str) -> list[httpx2.Response]:
        async with httpx2.AsyncClient(base_url=url) as client:
            tokens = [csrf_of((await client.get(path)).text) for path in paths]
            form = {"action": "done", "done_on": "2024-11-28"}
            clicks = [
                client.post(path, data={"csrf": token, **form})
                for path, token in zip(paths, tokens, strict=True)
            ]
            clicks.append(client.post(paths[0], data={"csrf": tokens[0], **form}))
            return await asyncio.gather(*clicks)

    with BackgroundServer(web) as running:
        responses = asyncio.run(click_all(running.url))

    assert [r.status_code for r in responses] == [200] * (len(paths) + 1)
    thanked = sum("Tack! Aktiviteten är klarmarkerad" in r.text for r in responses)
    assert thanked == len(paths)
    assert sum("redan klarmarkerad" in r.text for r in responses) == 1
    with started.sessions() as session:
        ids = [occ.id for occ in occurrences]
        statuses = session.scalars(select(Occurrence.status).where(Occurrence.id.in_(ids)))
        assert set(statuses) == {"done"}
        audits = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.occurrence_id.in_(ids))
        )
        assert audits == len(ids)
