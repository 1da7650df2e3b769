"""Signed in with the municipality's account in a municipality of two administrations: /mitt
and its report downloads follow the same scope as the dashboard links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.web.app import create_app
from tests.fakes.oidc_provider import OidcProvider
from tests.municipality import town_app
from tests.web.conftest import NOW, Clock, TestClient, csrf_of
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
    assert "Översikten visar Socialförvaltningen." in page
    assert 'href="/mitt/rapport/soc.json"' in page and "/mitt/rapport/kff." not in page
    assert signed_in_town.get("/mitt/rapport/soc.json").json()["plan"] == "soc"
    refused = signed_in_town.get("/mitt/rapport/kff.json")
    assert refused.status_code == 404 and "Planen finns inte" in refused.text


def test_the_signed_in_kommundirektor_downloads_every_report(
    signed_in_town: TestClient,
    provider: OidcProvider,  # noqa: F811
) -> None:
    sign_in(signed_in_town, provider, "klas@example.se")
    page = signed_in_town.get("/mitt").text
    assert "hela kommunen" in page
    for plan in ("soc", "kff", "kommun"):
        assert signed_in_town.get(f"/mitt/rapport/{plan}.json").status_code == 200, plan
    assert 'href="/mitt/nyckeltal-per-forvaltning.json"' in page
    data = signed_in_town.get("/mitt/nyckeltal-per-forvaltning.json").json()
    assert [a["code"] for a in data["administrations"]] == ["SOC", "KFF"]


def test_a_signed_in_head_enters_indicator_values_on_mitt(
    signed_in_town: TestClient,
    provider: OidcProvider,  # noqa: F811
) -> None:
    sign_in(signed_in_town, provider, "eva@example.se")
    page = signed_in_town.get("/mitt").text
    assert page.count('action="/mitt/indikator"') == 1  # SOC's, not KFF's
    form = page.split('action="/mitt/indikator"', 1)[1]
    indicator_id = re.search(r'name="indicator_id" value="(\d+)"', form)
    assert indicator_id
    fields = {
        "indicator_id": indicator_id.group(1),
        "measured_on": "2024-11-29",
        "value": "63",
        "csrf": csrf_of(form),
    }
    done = signed_in_town.post("/mitt/indikator", data=fields)
    assert done.status_code == 303 and done.headers["location"] == "/mitt?indikator=ja"
    assert "Tillitsindex SOC 63, mål 70" in signed_in_town.get("/mitt").text
    assert signed_in_town.get("/mitt/nyckeltal-per-forvaltning.json").status_code == 404


def test_a_signed_in_verksamhetschef_gets_no_form_and_cannot_post(
    signed_in_town: TestClient,
    provider: OidcProvider,  # noqa: F811
) -> None:
    sign_in(signed_in_town, provider, "anna@example.se")
    page = signed_in_town.get("/mitt").text
    assert "Tillitsindex SOC" in page and "/mitt/indikator" not in page
    fields = {"indicator_id": "1", "measured_on": "2024-11-29", "value": "63"}
    web = signed_in_town.app.state.web  # type: ignore[attr-defined]
    cookie = signed_in_town.cookies.get("bv_csrf") or ""
    fields["csrf"] = web.csrf.field_value(cookie, "/mitt/indikator")
    refused = signed_in_town.post("/mitt/indikator", data=fields)
    assert refused.status_code == 403 and "förvaltningens chef" in refused.text
