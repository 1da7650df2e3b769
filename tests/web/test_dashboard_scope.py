"""Personal dashboard links in a municipality of two administrations: each head sees her own
administration and enters its indicator values there, the kommundirektör sees all, and report
downloads follow the same scope."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from service.app import App
from service.models import AuditEntry, Indicator, IndicatorValue, Person
from service.web.app import create_app
from service.web.urls import dashboard_url
from tests.municipality import town_app
from tests.web.conftest import NOW, Clock, csrf_of, path_of


@pytest.fixture
def town(db_url: str, tmp_path: Path) -> Iterator[App]:
    instance = town_app(db_url, tmp_path)
    instance.init(NOW)
    yield instance
    instance.engine.dispose()


@pytest.fixture
def browser(town: App) -> Iterator[TestClient]:
    with TestClient(create_app(town, clock=Clock(NOW))) as client:
        yield client


def link(app: App, email: str) -> str:
    with app.sessions() as session:
        person_id = session.scalar(select(Person.id).where(Person.email == email))
    assert person_id is not None
    return path_of(app, dashboard_url(app, person_id, NOW))


def tables(html: str) -> set[str]:
    return set(re.findall(r"<caption>Plan ([\w-]+)</caption>", html))


def report_links(html: str) -> set[str]:
    return set(re.findall(r'/rapport/([\w-]+)\.json"', html))


def values(app: App) -> list[tuple[str, float, str]]:
    with app.sessions() as session:
        rows = session.execute(
            select(Indicator.name, IndicatorValue.value, IndicatorValue.recorded_by)
            .join(Indicator, IndicatorValue.indicator_id == Indicator.id)
            .order_by(IndicatorValue.id)
        ).all()
    return [tuple(r) for r in rows]


def indicator_id(app: App, name: str) -> int:
    with app.sessions() as session:
        found = session.scalar(select(Indicator.id).where(Indicator.name == name))
    assert found is not None
    return found


def test_a_heads_link_shows_her_administration_and_the_kommundirektors_shows_all(
    town: App, browser: TestClient
) -> None:
    eva = browser.get(link(town, "eva@example.se")).text
    # Her administration's plan, and the municipality's plan only for her own item in it.
    assert tables(eva) == {"soc", "kommun"}
    assert report_links(eva) == {"soc"}
    assert "Personlig översikt för Eva Social: Socialförvaltningen." in eva
    assert "Aktivitet i kff" not in eva and "Karl Kultur" not in eva

    karl = browser.get(link(town, "karl@example.se")).text
    assert tables(karl) == {"kff", "kff-extern", "kommun"}
    assert report_links(karl) == {"kff", "kff-extern"}

    klas = browser.get(link(town, "klas@example.se")).text
    assert tables(klas) == {"soc", "kff", "kff-extern", "kommun"}
    assert report_links(klas) == {"soc", "kff", "kff-extern", "kommun"}
    assert "hela kommunen" in klas

    anna = browser.get(link(town, "anna@example.se")).text  # verksamhetschef, ÄO in SOC
    assert tables(anna) == {"soc"} and "området Äldreomsorg" in anna
    assert "Helena Sol" in anna


def test_a_head_cannot_download_another_administrations_report(
    town: App, browser: TestClient
) -> None:
    eva, klas = link(town, "eva@example.se"), link(town, "klas@example.se")
    assert browser.get(f"{eva}/rapport/soc.json").json()["plan"] == "soc"
    for other in ("kff", "kff-extern", "kommun"):
        refused = browser.get(f"{eva}/rapport/{other}.json")
        assert refused.status_code == 404, other
        assert "Planen finns inte" in refused.text
    assert browser.get(f"{klas}/rapport/kff.json").json()["plan"] == "kff"
    assert browser.get(f"{klas}/rapport/kommun.docx").status_code == 200


def test_the_head_enters_an_indicator_value_from_her_own_link(
    town: App, browser: TestClient
) -> None:
    board = link(town, "eva@example.se")
    html = browser.get(board).text
    assert browser.get(board).text == html and values(town) == []  # GET changes nothing
    assert html.count(f'action="{board}/indikator"') == 1  # SOC's indicator, not KFF's
    assert "Nytt värde för Tillitsindex SOC" in html
    fields = {
        "indicator_id": str(indicator_id(town, "Tillitsindex SOC")),
        "measured_on": "2024-11-29",
        "value": "64,5",
        "comment": "Pulsenkät",
    }

    stale = browser.post(f"{board}/indikator", data={**fields, "csrf": "fel"})
    assert stale.status_code == 403 and values(town) == []
    csrf = csrf_of(html)
    for text in ("hög", "nan", "inf", "-inf"):  # float() reads the last three
        wrong = browser.post(f"{board}/indikator", data={**fields, "value": text, "csrf": csrf})
        assert wrong.status_code == 400 and "Värdet behöver vara ett tal" in wrong.text, text
    future = browser.post(
        f"{board}/indikator", data={**fields, "measured_on": "2024-12-03", "csrf": csrf}
    )
    assert future.status_code == 400 and "kan inte ligga i framtiden" in future.text
    assert values(town) == []

    done = browser.post(f"{board}/indikator", data={**fields, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{board}?indikator=ja"
    assert values(town) == [("Tillitsindex SOC", 64.5, "eva@example.se")]
    shown = browser.get(done.headers["location"]).text
    assert "Tillitsindex SOC 64,5, mål 70" in shown and "Mätvärdet är sparat." in shown
    with town.sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "indicator.value"))
        assert [(a.actor, a.detail["indicator"], a.detail["value"]) for a in audit] == [
            ("eva@example.se", "Tillitsindex SOC", 64.5)
        ]

    again = browser.post(
        f"{board}/indikator", data={**fields, "value": "99", "csrf": csrf}, follow_redirects=False
    )
    assert again.headers["location"] == f"{board}?indikator=redan"
    assert values(town) == [("Tillitsindex SOC", 64.5, "eva@example.se")]  # the first is kept


def test_a_head_cannot_enter_another_administrations_indicator(
    town: App, browser: TestClient
) -> None:
    board = link(town, "eva@example.se")
    csrf = csrf_of(browser.get(board).text)
    fields = {
        "indicator_id": str(indicator_id(town, "Besökare KFF")),
        "measured_on": "2024-11-29",
        "value": "120",
        "csrf": csrf,
    }
    refused = browser.post(f"{board}/indikator", data=fields)
    assert refused.status_code == 404 and "Indikatorn finns inte" in refused.text
    assert values(town) == []


def test_the_kommundirektor_enters_values_for_every_administration(
    town: App, browser: TestClient
) -> None:
    board = link(town, "klas@example.se")
    html = browser.get(board).text
    assert html.count(f'action="{board}/indikator"') == 2
    fields = {
        "indicator_id": str(indicator_id(town, "Besökare KFF")),
        "measured_on": "2024-11-29",
        "value": "120",
        "csrf": csrf_of(html),
    }
    assert browser.post(f"{board}/indikator", data=fields).status_code == 200
    assert values(town) == [("Besökare KFF", 120.0, "klas@example.se")]


def test_other_links_show_the_values_but_no_form_and_cannot_post(
    town: App, browser: TestClient
) -> None:
    board = link(town, "anna@example.se")
    html = browser.get(board).text
    assert "Tillitsindex SOC inga mätvärden ännu, mål 70" in html
    assert "/indikator" not in html and "kan inte ändra något" in html
    # Even with a CSRF value that fits the path, a verksamhetschef's link records nothing.
    web = browser.app.state.web  # type: ignore[attr-defined]
    cookie = browser.cookies.get("bv_csrf") or ""
    fields = {
        "indicator_id": str(indicator_id(town, "Tillitsindex SOC")),
        "measured_on": "2024-11-29",
        "value": "70",
        "csrf": web.csrf.field_value(cookie, f"{board}/indikator"),
    }
    refused = browser.post(f"{board}/indikator", data=fields)
    assert refused.status_code == 403 and "förvaltningens chef" in refused.text
    assert values(town) == []
