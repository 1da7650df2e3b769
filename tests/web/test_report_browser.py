"""The printable report and the dashboard's area charts in Chromium: axe passes, and the
charts are drawn (their pixels carry the colours of the figures)."""

from __future__ import annotations

import io

from PIL import Image
from playwright.sync_api import Browser

from service.app import App
from service.completion import mark_done
from service.db import transaction
from service.models import Occurrence
from service.web.server import BackgroundServer
from service.web.urls import dashboard_url
from tests.web.conftest import NOW, path_of
from tests.web.test_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    DESKTOP,
    assert_accessible,
    browser,
    browser_app,
    new_page,
    pytestmark,
    server,
)

GREEN = (0, 158, 115)  # "klara i tid" in service/report/chart.py
ORANGE_RED = (213, 94, 0)  # "försenade"


def colours(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {pixel for _, pixel in image.getcolors(maxcolors=1 << 20) or []}


def near(found: set[tuple[int, int, int]], colour: tuple[int, int, int]) -> bool:
    return any(all(abs(a - b) <= 6 for a, b in zip(p, colour, strict=True)) for p in found)


def finish_some(app: App) -> None:
    """Mark the earliest due occurrences done on their day, so a chart has on-time parts."""
    with transaction(app.sessions) as session:
        occs = session.query(Occurrence).filter(Occurrence.due.is_not(None)).order_by(
            Occurrence.due, Occurrence.id
        ).limit(3).all()  # fmt: skip
        for occ in occs:
            assert occ.due is not None
            on = min(occ.due, NOW.date())
            mark_done(session, occ.id, by=occ.person, on=on, via="link", now=NOW)


def test_the_printable_report_passes_axe_and_draws_its_chart(
    browser: Browser,  # noqa: F811
    browser_app: App,  # noqa: F811
    server: BackgroundServer,  # noqa: F811
) -> None:
    finish_some(browser_app)
    base = path_of(browser_app, dashboard_url(browser_app, 1, NOW))
    page = new_page(browser, DESKTOP)
    response = page.goto(f"{server.url}{base}/rapport/tillitsfull-dialog.html")
    assert response is not None and response.status == 200
    assert_accessible(page, "report-html")
    chart = page.locator("section.summary svg").first
    assert chart.get_attribute("aria-label", timeout=5000)
    assert near(colours(chart.screenshot()), GREEN) or near(colours(chart.screenshot()), ORANGE_RED)
    page.emulate_media(media="print")
    assert page.locator("table").count() >= 2


def test_the_dashboard_area_charts_pass_axe_and_are_drawn(
    browser: Browser,  # noqa: F811
    browser_app: App,  # noqa: F811
    server: BackgroundServer,  # noqa: F811
) -> None:
    finish_some(browser_app)
    page = new_page(browser, DESKTOP)
    page.goto(server.url + path_of(browser_app, dashboard_url(browser_app, 1, NOW)))
    assert_accessible(page, "dashboard-figures")
    charts = page.locator(".area-figures svg")
    assert charts.count() >= 1
    drawn = colours(charts.first.screenshot())
    assert near(drawn, GREEN) or near(drawn, ORANGE_RED)
    assert "förekomster med frist" in page.locator(".area-figures").first.inner_text()
