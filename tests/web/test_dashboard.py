"""The dashboard: the plan table filled in from the store, via a digest link or as admin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from service.app import App
from service.directory import load_directory
from service.models import AuditEntry, Person
from service.web.app import create_app
from service.web.urls import dashboard_url, item_url
from tests.support import make_config
from tests.web.conftest import NOW, Clock, csrf_of, done_path, find_occurrence, path_of, reload

HEADERS = ("Område", "Åtgärd/aktivitet", "Ansvarig", "Klart när?", "Kontroll utfört. Datum.")


def board_path(app: App, person_id: int = 1) -> str:
    return path_of(app, dashboard_url(app, person_id, NOW))


def mark_done(client: TestClient, app: App, plan: str, area: int, number: str, **kw: int) -> None:
    occ = find_occurrence(app, plan, area, number, **kw)
    path = done_path(app, occ)
    csrf = csrf_of(client.get(path).text)
    response = client.post(
        path, data={"csrf": csrf, "action": "done", "done_on": "2024-11-28", "comment": "Ok"}
    )
    assert response.status_code == 200


def test_the_digest_link_shows_each_plan_as_the_municipalitys_table(
    started: App, client: TestClient
) -> None:
    response = client.get(board_path(started))
    assert response.status_code == 200
    html = response.text
    for header in HEADERS:
        assert f'<th scope="col">{header}</th>' in html
    assert "Handlingsplan tillitsfull dialog" in html
    assert "Skapa ett närmare band mellan politik och verksamhet." in html
    assert "Eva Ekström" in html  # the viewer
    assert '<form method="post"' not in html.split("</form>", 1)[-1]  # read-only: no actions


def test_done_dates_fill_the_last_column_and_history_shows_who(
    started: App, client: TestClient
) -> None:
    mark_done(client, started, "starka-enhetschefer", 1, "1")
    html = client.get(board_path(started)).text
    assert "28 november 2024" in html
    assert "Klarmarkerad av" in html and "via länken i mejlet" in html


def test_fan_out_items_show_per_person_progress(started: App, client: TestClient) -> None:
    with started.sessions() as session:
        directory = load_directory(session)
    # Socialförvaltningen's plan reaches its own enhetschefer (BUF's elevhälsa has one too).
    chefs = [
        p.id for p in directory.with_role("enhetschef") if directory.administration_of(p) == "SOC"
    ]
    for person_id in chefs[:3]:
        mark_done(client, started, "tillitsfull-dialog", 6, "1.2", person_id=person_id)
    html = client.get(board_path(started)).text
    assert f"3 av {len(chefs)} klara" in html


def test_filters_narrow_the_table_by_plan_role_and_status(started: App, client: TestClient) -> None:
    base = board_path(started)
    only_one = client.get(f"{base}?plan=starka-enhetschefer").text
    assert "Handlingsplan tillitsfull dialog</caption>" not in only_one
    overdue = client.get(f"{base}?status=overdue").text.split("<table", 1)[1]
    assert "status-overdue" in overdue and 'status-done"' not in overdue
    ledamot = client.get(f"{base}?roll=ledamot").text
    rows = re.findall(r'<tr id="aktivitet-\d+">', ledamot)
    assert rows and "Vid nästkommande nämndsmöte" in ledamot
    assert "Nämnden ska följa fastställt regelverk" not in ledamot  # an ordförande item
    areas = client.get(f"{base}?plan=tillitsfull-dialog&omrade=999999").text
    assert "Inga aktiviteter matchar filtret." in areas


@pytest.mark.parametrize("area", ["²", "٣x", "99999999999999999999"])
def test_a_malformed_area_filter_is_ignored(started: App, client: TestClient, area: str) -> None:
    response = client.get(board_path(started), params={"omrade": area})
    assert response.status_code == 200 and "Inga aktiviteter matchar filtret." not in response.text


def test_status_is_never_shown_by_colour_alone(started: App, client: TestClient) -> None:
    html = client.get(board_path(started)).text
    for match in re.finditer(
        r'<span class="status status-(\w+)">(.*?)</span> ([^<]+)</span>', html
    ):
        assert match.group(3).strip(), f"status {match.group(1)} without a word"


def test_an_expired_dashboard_link_is_refused(
    started: App, client: TestClient, clock: Clock
) -> None:
    path = board_path(started)
    clock.now = NOW + timedelta(days=15)
    response = client.get(path)
    assert response.status_code == 410 and "Länken har gått ut" in response.text


def test_item_url_points_at_the_row_on_the_dashboard(started: App) -> None:
    url = item_url(started, 1, 42, NOW)
    assert url.startswith(f"{started.public_url}/oversikt/") and url.endswith("#aktivitet-42")


@pytest.fixture
def admin_client(started: App, clock: Clock, tmp_path: Path) -> Iterator[TestClient]:
    config = make_config(
        started.config.database_url, tmp_path, web={"admin_password": "rätt lösen"}
    )
    with TestClient(create_app(App(config), clock=clock)) as client:
        yield client


def sign_in(client: TestClient, password: str) -> int:
    csrf = csrf_of(client.get("/admin/login").text)
    response = client.post(
        "/admin/login", data={"csrf": csrf, "password": password}, follow_redirects=False
    )
    return response.status_code


def test_the_admin_dashboard_needs_a_sign_in(admin_client: TestClient) -> None:
    response = admin_client.get("/admin/oversikt", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert sign_in(admin_client, "fel") == 401
    assert admin_client.get("/admin/oversikt", follow_redirects=False).status_code == 303


def test_admin_session_cookie_is_httponly_and_samesite_strict(admin_client: TestClient) -> None:
    csrf = csrf_of(admin_client.get("/admin/login").text)
    response = admin_client.post(
        "/admin/login", data={"csrf": csrf, "password": "rätt lösen"}, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "bv_admin=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_an_admin_can_mark_done_on_behalf_of_someone(
    started: App, admin_client: TestClient
) -> None:
    assert sign_in(admin_client, "rätt lösen") == 303
    html = admin_client.get("/admin/oversikt").text
    assert "Logga ut" in html
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    response = admin_client.post(
        "/admin/klarmarkera",
        data={
            "csrf": csrf_of(html, "/admin/klarmarkera"),
            "occurrence_id": str(occ.id),
            "done_on": "2024-12-01",
            "next": "/admin/oversikt?plan=starka-enhetschefer",
        },
    )
    assert response.status_code == 200 and "Aktiviteten är klarmarkerad." in response.text
    stored = reload(started, occ.id)
    assert stored.status == "done" and stored.done_via == "admin"
    assert stored.done_by_id == occ.person_id
    with started.sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.occurrence_id == occ.id)).one()
    assert audit.actor == "admin:admin" and audit.detail["via"] == "admin"


@pytest.mark.parametrize("occurrence_id", ["²", "99999999999999999999", "-1"])
def test_admin_mark_done_of_a_malformed_occurrence_id_is_not_found(
    admin_client: TestClient, occurrence_id: str
) -> None:
    assert sign_in(admin_client, "rätt lösen") == 303
    csrf = csrf_of(admin_client.get("/admin/oversikt").text, "/admin/klarmarkera")
    response = admin_client.post(
        "/admin/klarmarkera",
        data={"csrf": csrf, "occurrence_id": occurrence_id, "done_on": "2024-12-01"},
    )
    assert response.status_code == 404 and "Aktiviteten finns inte" in response.text


def test_admin_mark_done_without_csrf_is_refused(started: App, admin_client: TestClient) -> None:
    assert sign_in(admin_client, "rätt lösen") == 303
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    response = admin_client.post(
        "/admin/klarmarkera", data={"occurrence_id": str(occ.id), "done_on": "2024-12-01"}
    )
    assert response.status_code == 403
    assert reload(started, occ.id).status == "open"


def test_a_trusted_proxy_header_signs_the_admin_in(
    started: App, clock: Clock, tmp_path: Path
) -> None:
    config = make_config(
        started.config.database_url, tmp_path, web={"trusted_user_header": "X-Remote-User"}
    )
    with TestClient(create_app(App(config), clock=clock)) as client:
        assert client.get("/admin/oversikt", follow_redirects=False).status_code == 303
        response = client.get(
            "/admin/oversikt", headers={"X-Remote-User": "eva.ekstrom@example.se"}
        )
        assert response.status_code == 200 and "eva.ekstrom@example.se" in response.text


SOC_PLANS = {"Handlingsplan tillitsfull dialog", "Plan för att stärka enhetschefer 2024–2027"}
BUF_PLANS = {"Handlingsplan tillitsfull dialog Barn- och utbildningsförvaltningen"}


@pytest.mark.parametrize(
    ("email", "plans"),
    [
        # Each head sees her administration's plans; the kommundirektör every plan.
        ("eva.ekstrom@example.se", SOC_PLANS),
        ("ulrika.falk@example.se", BUF_PLANS),
        ("malin.hagstrom@example.se", BUF_PLANS),  # a verksamhetschef in BUF
        ("magnus.lindahl@example.se", SOC_PLANS | BUF_PLANS),
    ],
)
def test_a_digest_link_shows_the_plans_of_the_holders_own_administration(
    started: App, client: TestClient, email: str, plans: set[str]
) -> None:
    with started.sessions() as session:
        person = session.scalar(select(Person).where(Person.email == email))
        assert person is not None
    html = client.get(board_path(started, person.id)).text
    captions = re.findall(r'<table class="plan">\s*<caption>(.*?)</caption>', html)
    assert {c.rsplit(", ", 1)[0] for c in captions} == plans


def test_the_admin_sign_out_needs_the_forms_csrf_field(admin_client: TestClient) -> None:
    assert sign_in(admin_client, "rätt lösen") == 303
    html = admin_client.get("/admin/oversikt").text
    # Another site's form (no field) signs no one out.
    refused = admin_client.post("/admin/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "logga ut igen" in refused.text
    assert admin_client.get("/admin/oversikt", follow_redirects=False).status_code == 200
    out = admin_client.post(
        "/admin/logout", data={"csrf": csrf_of(html, "/admin/logout")}, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    assert admin_client.get("/admin/oversikt", follow_redirects=False).status_code == 303
