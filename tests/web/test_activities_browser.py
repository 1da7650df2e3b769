""" "Mina aktiviteter" in Chromium, with the keyboard only, checked by axe-core."""

from __future__ import annotations

import pytest

from service.app import App
from service.web.server import BackgroundServer
from service.web.urls import activities_url
from tests.web.conftest import NOW, find_occurrence, path_of, reload
from tests.web.test_browser import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    assert_accessible,
    browser,
    browser_app,
    new_page,
    server,
)

__all__ = ["browser", "browser_app", "server"]  # the fixtures this module uses

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium"
    ),
]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page


def tab_to(page: Page, element_id: str, limit: int = 200) -> None:
    """Presses Tab until the element with `element_id` has the focus, as a keyboard user would."""
    tab_until(page, f"#{element_id}", limit)


def tab_until(page: Page, selector: str, limit: int = 200) -> None:
    """Presses Tab until the element `selector` names has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} cannot be reached with Tab")


def tab_to_text(page: Page, text: str, limit: int = 200) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.textContent")
        if focused and " ".join(focused.split()) == text:
            return
    pytest.fail(f"{text!r} cannot be reached with Tab")


def test_a_person_ticks_two_items_closes_one_and_sends_it_all_with_the_keyboard(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    overdue = find_occurrence(browser_app, "starka-enhetschefer", 1, "1")
    person_id = overdue.person_id
    other = find_occurrence(browser_app, "starka-enhetschefer", 1, "2", person_id=person_id)
    later = find_occurrence(browser_app, "tillitsfull-dialog", 1, "2", person_id=person_id)
    page = new_page(browser, DESKTOP)
    url = server.url + path_of(browser_app, activities_url(browser_app, person_id, NOW))
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert_accessible(page, "activities-desktop")

    tab_to(page, f"klar-{overdue.id}")
    page.keyboard.press("Space")
    tab_to(page, f"klar-{other.id}")
    page.keyboard.press("Space")
    # The alternatives of another item: open them with Enter, choose with the arrow keys.
    tab_until(page, f"details:has(#annat-{later.id}) > summary")
    page.keyboard.press("Enter")
    tab_to(page, f"annat-{later.id}-inget")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.is_checked(f"#annat-{later.id}-not_applicable")
    tab_to(page, f"skal-{later.id}")
    page.keyboard.type("Ingår i den nya planen.")
    tab_to(page, "comment")
    page.keyboard.type("Klart på ledningsgruppen.")
    tab_to_text(page, "Markera valda som klara")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focused button shows where the keyboard is
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Tack! Det är registrerat")
    assert_accessible(page, "activities-receipt-desktop")

    for occ in (overdue, other):
        stored = reload(browser_app, occ.id)
        assert stored.status == "done" and stored.done_via == "list"
        assert stored.comment == "Klart på ledningsgruppen."
    closed = reload(browser_app, later.id)
    assert closed.status == "not_applicable"
    assert closed.deferral_reason == "Ingår i den nya planen."


def test_the_page_with_errors_passes_axe_on_a_phone_and_leads_to_each_field(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    occ = find_occurrence(browser_app, "starka-enhetschefer", 1, "1")
    later = find_occurrence(browser_app, "tillitsfull-dialog", 1, "2", person_id=occ.person_id)
    page = new_page(browser, PHONE)
    page.goto(server.url + path_of(browser_app, activities_url(browser_app, occ.person_id, NOW)))
    assert_accessible(page, "activities-phone")
    page.check(f"#klar-{occ.id}")
    page.locator(f"details:has(#annat-{later.id}) summary").click()
    page.check(f"#annat-{later.id}-postpone")
    page.get_by_role("button", name="Markera valda som klara").click()
    page.wait_for_selector("text=Något behöver rättas")
    assert_accessible(page, "activities-errors-phone")
    assert reload(browser_app, occ.id).status == "open"  # nothing changed
    page.get_by_role("link", name="Aktivitet 2: Ange det nya datumet").click()
    assert page.evaluate("location.hash") == f"#nytt_datum-{later.id}"


def test_a_stand_in_ticks_an_absent_colleagues_item_in_its_own_section_with_the_keyboard(
    browser: Browser, browser_app: App, server: BackgroundServer
) -> None:
    from sqlalchemy import select

    from service.db import transaction
    from service.models import Absence, Person

    occ = find_occurrence(browser_app, "starka-enhetschefer", 1, "1")
    with transaction(browser_app.sessions) as session:
        stand_in = session.scalars(
            select(Person).where(Person.id != occ.person_id).order_by(Person.id.desc())
        ).first()
        owner = session.get(Person, occ.person_id)
        assert stand_in is not None and owner is not None
        stand_in_id, owner_name = stand_in.id, owner.name
        session.add(
            Absence(
                person_id=occ.person_id,
                starts=NOW.date(),
                ends=NOW.date(),
                stand_in_id=stand_in_id,
                created_at=NOW,
            )
        )
    page = new_page(browser, DESKTOP)
    page.goto(server.url + path_of(browser_app, activities_url(browser_app, stand_in_id, NOW)))
    page.wait_for_selector(f"text=Som ersättare för {owner_name}")
    assert_accessible(page, "activities-stand-in-desktop")

    tab_to(page, f"klar-{occ.id}")
    page.keyboard.press("Space")
    tab_to_text(page, "Markera valda som klara")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Tack! Det är registrerat")

    stored = reload(browser_app, occ.id)
    assert (stored.status, stored.done_by_id, stored.person_id) == (
        "done",
        stand_in_id,
        occ.person_id,
    )
