"""Signed in with the municipality's account in a municipality of two administrations: /mitt
and its report downloads follow the same scope as the dashboard links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.web.app import create_app
from tests.fakes.oidc_provider import OidcProvider
from tests.municipality import town_app
from tests.web.conftest import NOW, Clock, TestClient
from tests.web.test_signin import provider, sign_in  # noqa: F401 (fixture)


@pytest.fixture
def signed_in_town(tmp_path: Path, provider: OidcProvider) -> Iterator[TestClient]:  # noqa: F811
    app = town_app(f"sqlite:///{tmp_path / 'town.db'}", tmp_path, web__oidc=provider.settings())
    app.init(NOW)
    with TestClient(create_app(app, clock=Clock(NOW)), follow_redirects=False) as client:
        yield client
    app.engine.dispose()


def test_a_signed_in_head_sees_and_downloads_only_her_administration(
    signed_in_town: TestClient,
    provider: OidcProvider,  # noqa: F811
) -> None:
    sign_in(signed_in_town, provider, "eva@example.se")
    page = signed_in_town.get("/mitt").text
    assert "förvaltningen Socialförvaltningen" in page
    assert 'href="/mitt/rapport/soc.json"' in page and "/mitt/rapport/kff." not in page
    assert signed_in_town.get("/mitt/rapport/soc.json").json()["plan"] == "soc"
    refused = signed_in_town.get("/mitt/rapport/kff.json")
    assert refused.status_code == 404 and "Planen finns inte" in refused.text


def test_the_signed_in_kommundirektor_downloads_every_report(
    signed_in_town: TestClient,
    provider: OidcProvider,  # noqa: F811
) -> None:
    sign_in(signed_in_town, provider, "klas@example.se")
    assert "hela kommunen" in signed_in_town.get("/mitt").text
    for plan in ("soc", "kff", "kommun"):
        assert signed_in_town.get(f"/mitt/rapport/{plan}.json").status_code == 200, plan
