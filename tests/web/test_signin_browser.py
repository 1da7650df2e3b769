"""Signing in with the municipality's account in Chromium, against a local provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import App
from service.web.app import create_app
from service.web.server import BackgroundServer
from service.web.signin import CALLBACK_PATH
from tests.fakes.oidc_provider import OidcProvider
from tests.support import make_config
from tests.web.conftest import NOW, Clock
from tests.web.test_browser import CHROMIUM, DESKTOP, assert_accessible, browser, new_page

__all__ = ["browser"]  # the fixture this module uses

HEAD = "eva.ekstrom@example.se"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium"
    ),
]

if CHROMIUM.exists():
    from playwright.sync_api import Browser


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as running:
        yield running


@pytest.fixture
def server(tmp_path: Path, provider: OidcProvider) -> Iterator[BackgroundServer]:
    config = make_config(
        f"sqlite:///{tmp_path / 'oidc-browser.db'}",
        tmp_path,
        web__oidc=provider.settings(),
    )
    app = App(config)
    app.init(NOW)
    asgi = create_app(app, clock=Clock(NOW))
    with BackgroundServer(asgi) as running:
        # The server's port is known only now; in production [web] public_url names it.
        asgi.state.web.signin.callback_url = running.url + CALLBACK_PATH
        yield running
    app.engine.dispose()


def test_a_head_signs_in_sees_her_overview_and_her_activities_and_signs_out(
    browser: Browser, provider: OidcProvider, server: BackgroundServer
) -> None:
    provider.next_sign_in = {"email": HEAD, "name": "Eva Ekström"}
    page = new_page(browser, DESKTOP)
    page.goto(server.url + "/")
    assert_accessible(page, "home-oidc-desktop")
    page.get_by_role("link", name="Logga in med kommunens konto").click()
    page.wait_for_selector("text=Min översikt")
    assert page.url == server.url + "/mitt"
    assert "Översikten visar Socialförvaltningen." in page.content()
    assert_accessible(page, "my-overview-desktop")
    page.get_by_role("link", name="Mina aktiviteter").click()
    page.wait_for_selector("h1:has-text('Mina aktiviteter')")
    page.go_back()
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(server.url + "/")
    page.goto(server.url + "/mitt")
    # Signed out: /mitt starts a new sign-in, which the provider answers at once.
    page.wait_for_selector("text=Min översikt")
    assert len([r for r in provider.requests if r.path == "/token"]) == 2
