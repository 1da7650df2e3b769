"""Dashboard links in a municipality of two administrations, in Chromium: the head's indicator
form and the kommundirektör's figures per administration pass axe, and a value typed into the
form is recorded under the head's name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from service.app import App
from service.models import IndicatorValue
from service.web.app import create_app
from service.web.server import BackgroundServer
from tests.municipality import town_app
from tests.web.conftest import NOW, Clock
from tests.web.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    assert_accessible,
    browser,
    new_page,
    pytestmark,
)
from tests.web.test_dashboard_scope import link


@pytest.fixture
def town(tmp_path: Path) -> Iterator[App]:
    instance = town_app(f"sqlite:///{tmp_path / 'town.db'}", tmp_path)
    instance.init(NOW)
    yield instance
    instance.engine.dispose()


@pytest.fixture
def town_server(town: App) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(town, clock=Clock(NOW))) as running:
        yield running


def test_the_head_records_an_indicator_value_in_chromium(
    browser: Browser,  # noqa: F811
    town: App,
    town_server: BackgroundServer,
) -> None:
    page = new_page(browser, DESKTOP)
    page.goto(f"{town_server.url}{link(town, 'eva@example.se')}")
    assert_accessible(page, "dashboard-head-indicator")
    page.get_by_label("Nytt värde för Tillitsindex SOC").fill("66,5")
    page.get_by_label("Mätdag").fill("2024-11-29")
    page.get_by_role("button", name="Spara värdet").click()
    page.get_by_text("Mätvärdet är sparat.").wait_for(timeout=5000)
    assert page.get_by_text("Tillitsindex SOC 66,5, mål 70").count() == 1
    with town.sessions() as session:
        recorded = session.execute(select(IndicatorValue.value, IndicatorValue.recorded_by)).all()
    assert [tuple(r) for r in recorded] == [(66.5, "eva@example.se")]


def test_the_kommundirektors_dashboard_with_figures_per_administration_passes_axe(
    browser: Browser,  # noqa: F811
    town: App,
    town_server: BackgroundServer,
) -> None:
    page = new_page(browser, DESKTOP)
    page.goto(f"{town_server.url}{link(town, 'klas@example.se')}")
    table = page.get_by_role("table", name="Nyckeltal per förvaltning")
    assert table.get_by_role("rowheader").all_inner_texts() == [
        "Socialförvaltningen",
        "Kultur- och fritidsförvaltningen",
        "Hela kommunen",
    ]
    assert page.get_by_role("button", name="Spara värdet").count() == 2
    assert_accessible(page, "dashboard-kommundirektor")
