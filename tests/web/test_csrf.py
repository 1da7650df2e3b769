"""The forms only accept posts that carry the page's CSRF value and cookie."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from service.app import App
from service.web.security import CSRF_COOKIE
from tests.web.conftest import csrf_of, done_path, find_occurrence, reload, snapshot


def test_a_post_without_a_csrf_value_is_refused(started: App, client: TestClient) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    path = done_path(started, occ)
    client.get(path)
    before = snapshot(started)
    response = client.post(path, data={"action": "done", "done_on": "2024-12-02"})
    assert response.status_code == 403
    assert "Formuläret kunde inte skickas" in response.text
    assert snapshot(started) == before


@pytest.mark.parametrize(
    ("wrong", "status"),
    [("0" * 64, 403), ("å", 403), ("\x00", 400)],  # a NUL is no form of ours (forms.py)
)
def test_a_post_with_a_wrong_csrf_value_is_refused(
    started: App, client: TestClient, wrong: str, status: int
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    path = done_path(started, occ)
    client.get(path)
    before = snapshot(started)
    response = client.post(path, data={"csrf": wrong, "action": "done", "done_on": "2024-12-02"})
    assert response.status_code == status
    assert snapshot(started) == before


def test_a_csrf_value_from_another_items_page_does_not_fit(
    started: App, client: TestClient
) -> None:
    one = done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    other = done_path(started, find_occurrence(started, "starka-enhetschefer", 2, "1"))
    csrf_for_other = csrf_of(client.get(other).text)
    client.get(one)
    before = snapshot(started)
    response = client.post(
        one, data={"csrf": csrf_for_other, "action": "done", "done_on": "2024-12-02"}
    )
    assert response.status_code == 403
    assert snapshot(started) == before


def test_a_post_from_another_browser_without_the_cookie_is_refused(
    started: App, web: Starlette, client: TestClient
) -> None:
    path = done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    csrf = csrf_of(client.get(path).text)
    before = snapshot(started)
    with TestClient(web) as stranger:  # has the page's value, not its cookie
        response = stranger.post(
            path, data={"csrf": csrf, "action": "done", "done_on": "2024-12-02"}
        )
    assert response.status_code == 403
    assert snapshot(started) == before


def test_a_post_from_another_origin_is_refused(started: App, client: TestClient) -> None:
    path = done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    csrf = csrf_of(client.get(path).text)
    before = snapshot(started)
    response = client.post(
        path,
        data={"csrf": csrf, "action": "done", "done_on": "2024-12-02"},
        headers={"Origin": "https://angripare.example"},
    )
    assert response.status_code == 403
    assert snapshot(started) == before


def test_the_csrf_cookie_is_httponly_and_samesite_lax(started: App, client: TestClient) -> None:
    path = done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    cookie = client.get(path).headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_links_opened_in_several_tabs_from_webmail_each_mark_done(
    started: App, client: TestClient
) -> None:
    one_occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    one = done_path(started, one_occ)
    other = done_path(started, find_occurrence(started, "starka-enhetschefer", 2, "1"))
    first = client.get(one)  # the first tab: no cookie yet, one is set
    csrf_for_one = csrf_of(first.text)
    # TestClient sends every cookie; a browser following a link from webmail (a cross-site
    # top-level GET) leaves a SameSite=Strict cookie out, so the server would issue a new one.
    if "samesite=strict" in first.headers["set-cookie"].lower():
        client.cookies.delete(CSRF_COOKIE)
    second = client.get(other)
    assert second.status_code == 200 and "set-cookie" not in second.headers
    response = client.post(
        one, data={"csrf": csrf_for_one, "action": "done", "done_on": "2024-12-02"}
    )
    assert response.status_code == 200
    assert reload(started, one_occ.id).status == "done"
