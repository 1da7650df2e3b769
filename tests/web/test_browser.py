"""The pages in a real browser: Debian's chromium driven by Playwright, checked by axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.app import App
from service.models import Occurrence, Preference
from service.web.app import create_app
from service.web.server import BackgroundServer
from service.web.urls import dashboard_url, settings_url
from tests.support import ROOT, make_config
from tests.web.conftest import NOW, Clock, done_path, find_occurrence, path_of, reload

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium"
    ),
]

if CHROMIUM.exists():
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser, Page, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def browser_app(tmp_path: Path) -> Iterator[App]:
    config = make_config(
        f"sqlite:///{tmp_path / 'browser.db'}", tmp_path, web={"admin_password": "lösen"}
    )
    app = App(config)
    app.init(NOW)
    yield app
    app.engine.dispose()


@pytest.fixture
def server(browser_app: App) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(browser_app, clock=Clock(NOW))) as running:
        yield running


def new_page(browser: Browser, viewport: dict[str, int] = PHONE) -> Page:
    context = browser.new_context(viewport=viewport, locale="sv-SE")  # type: ignore[arg-type]
    return context.new_page()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page: Page, name: str) -> None:
    """axe-core (bundled with axe-playwright-python, so it runs offline) finds no violations."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations: list[dict[str, Any]] = results.response["violations"]
    shot(page, name)
    assert page.evaluate("document.documentElement.lang") == "sv"
    assert not violations, f"{name}: " + results.generate_report()


def test_a_person_marks_an_item_done_from_the_link(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    occ = find_occurrence(browser_app, "starka-enhetschefer", 1, "1")
    page = new_page(browser)
    response = page.goto(server.url + done_path(browser_app, occ))
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text().startswith("Aktivitet 1")
    assert_accessible(page, "item-phone")
    page.fill("#done_on", "2024-11-29")
    page.fill("#comment", "Klart på ledningsgruppen.")
    page.fill("#result", "Tre mentorer utsedda.")
    page.get_by_role("button", name="Markera som klar").click()
    page.wait_for_selector("text=Tack! Aktiviteten är klarmarkerad")
    assert_accessible(page, "receipt-phone")
    stored = reload(browser_app, occ.id)
    assert stored.status == "done" and str(stored.done_on) == "2024-11-29"
    assert stored.comment == "Klart på ledningsgruppen." and stored.done_via == "link"


def test_keyboard_only_tab_to_the_button_and_press_enter(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    occ = find_occurrence(browser_app, "starka-enhetschefer", 2, "1")
    page = new_page(browser, DESKTOP)
    page.goto(server.url + done_path(browser_app, occ))
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.textContent")
        if focused and focused.strip() == "Markera som klar":
            break
    else:
        pytest.fail("the button cannot be reached with Tab")
    # The focused button shows a visible focus ring.
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Tack! Aktiviteten är klarmarkerad")
    assert reload(browser_app, occ.id).status == "done"


def test_a_second_submit_from_an_old_tab_says_already_done(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    occ = find_occurrence(browser_app, "starka-enhetschefer", 1, "1")
    url = server.url + done_path(browser_app, occ)
    context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    first, second = context.new_page(), context.new_page()
    first.goto(url)
    second.goto(url)
    first.fill("#comment", "Först")
    first.get_by_role("button", name="Markera som klar").click()
    first.wait_for_selector("text=Tack! Aktiviteten är klarmarkerad")
    second.get_by_role("button", name="Markera som klar").click()
    second.wait_for_selector("text=Aktiviteten är redan klarmarkerad")
    assert "Först" in second.content()
    assert_accessible(second, "already-done-phone")


def test_every_page_passes_axe_on_phone_and_desktop(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    occ = find_occurrence(browser_app, "tillitsfull-dialog", 1, "2")
    item = server.url + done_path(browser_app, occ)
    with browser_app.sessions() as session:
        other = session.scalars(
            select(Occurrence).where(Occurrence.person_id != occ.person_id)
        ).first()
        assert other is not None
    pages = {
        "item": item,
        "error-forged": server.url + "/k/felaktig-lank",
        "error-expired": server.url + done_path(browser_app, occ, NOW - timedelta(days=90)),
        "error-stale": server.url + done_path(browser_app, occ, person_id=other.person_id),
        "error-404": server.url + "/finns-inte",
        "dashboard": server.url + path_of(browser_app, dashboard_url(browser_app, 1, NOW)),
        "admin-login": server.url + "/admin/login",
        "home": server.url + "/",
    }
    for viewport_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_page(browser, viewport)
        for name, url in pages.items():
            page.goto(url)
            assert_accessible(page, f"{name}-{viewport_name}")
        # A form with errors: the summary, the messages and aria-invalid fields.
        page.goto(item)
        page.fill("#done_on", "2031-01-01")
        page.get_by_role("button", name="Markera som klar").click()
        page.wait_for_selector("text=Något behöver rättas")
        assert_accessible(page, f"item-errors-{viewport_name}")
        page.context.close()


def test_the_admin_signs_in_and_the_dashboard_passes_axe(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    page = new_page(browser, DESKTOP)
    page.goto(server.url + "/admin/login")
    page.fill("#password", "lösen")
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_selector("text=Inloggad som administratör")
    page.locator("details.people summary").first.click()
    assert_accessible(page, "admin-dashboard-desktop")
    page.goto(server.url + "/admin/login")  # signed in: straight on to the dashboard
    assert page.url.endswith("/admin/oversikt")


def test_the_settings_page_passes_axe_and_works_with_the_keyboard_only(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    occ = find_occurrence(browser_app, "starka-enhetschefer", 1, "1")
    url = server.url + path_of(browser_app, settings_url(browser_app, occ.person_id, NOW))
    for viewport_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_page(browser, viewport)
        page.goto(url)
        assert page.locator("h1").inner_text() == "Mina inställningar"
        assert_accessible(page, f"settings-{viewport_name}")
        page.context.close()
    page = new_page(browser, DESKTOP)
    page.goto(url)
    # Keyboard only: Tab to the weekday list, choose Thursday, Tab to "Spara", Enter.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "bundle_weekday":
            break
    else:
        pytest.fail("the weekday list cannot be reached with Tab")
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Spara"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Dina inställningar är sparade")
    assert_accessible(page, "settings-saved-desktop")
    with browser_app.sessions() as session:
        pref = session.get(Preference, occ.person_id)
        assert pref is not None and pref.bundle_weekday == 3
