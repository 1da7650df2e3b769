"""Serving with uvicorn: the client address comes from a trusted proxy only."""

from __future__ import annotations

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from service.app import App
from service.web import server
from service.web.server import BackgroundServer


def test_serve_trusts_the_proxies_named_in_the_config(
    started: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: seen.append(self.config))
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
            assert httpx.get(f"{running.url}/k/gissning-{n}", headers=guesser).status_code == 400
        assert httpx.get(f"{running.url}/k/gissning", headers=guesser).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.2"}
        assert httpx.get(f"{running.url}/k/gissning", headers=other).status_code == 400
