"""Bad links get a clear Swedish page, a 4xx status, and change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from service.app import App
from service.db import transaction
from service.links import CALENDAR, DASHBOARD, Claim
from service.models import Occurrence
from service.web.security import CSRF_COOKIE
from tests.support import make_config
from tests.web.conftest import (
    NOW,
    Clock,
    csrf_of,
    done_path,
    find_occurrence,
    path_of,
    reload,
    snapshot,
)


def post_done(client: TestClient, path: str, csrf: str) -> tuple[int, str]:
    response = client.post(path, data={"csrf": csrf, "action": "done", "done_on": "2024-12-02"})
    return response.status_code, response.text


def valid_csrf(web: Starlette, client: TestClient, path: str) -> str:
    """The CSRF value the server would accept for `path`, so only the token is wrong."""
    client.get("/admin/login")  # any form page sets the cookie
    cookie = client.cookies[CSRF_COOKIE]
    return str(web.state.web.csrf.field_value(cookie, path))


def test_a_forged_token_gets_a_page_saying_the_link_is_wrong(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    path = done_path(started, occ)
    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    before = snapshot(started)
    for method in ("get", "post"):
        response = getattr(client, method)(forged)
        assert response.status_code == 400
        assert "Länken är felaktig" in response.text
    assert snapshot(started) == before


def test_a_token_signed_with_another_key_is_forged(started: App, client: TestClient) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    stranger = App(make_config(started.config.database_url, started.config.base_dir,
                               web={"secret_keys": "someone-elses-key"}))  # fmt: skip
    token = stranger.signer.done_token(occ.id, occ.person_id, occ.version, NOW)
    response = client.get(f"/k/{token}")
    assert response.status_code == 400 and "Länken är felaktig" in response.text


def test_an_expired_token_gets_a_page_saying_the_link_has_expired(
    started: App, web: Starlette, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    old = done_path(started, occ, NOW - timedelta(days=61))
    before = snapshot(started)
    response = client.get(old)
    assert response.status_code == 410 and "Länken har gått ut" in response.text
    status, text = post_done(client, old, valid_csrf(web, client, old))
    assert status == 410 and "Länken har gått ut" in text
    assert snapshot(started) == before


def test_another_persons_token_for_the_occurrence_is_refused(
    started: App, web: Starlette, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    foreign = done_path(started, occ, person_id=occ.person_id + 1)
    before = snapshot(started)
    response = client.get(foreign)
    assert response.status_code == 410 and "Länken gäller inte längre" in response.text
    status, text = post_done(client, foreign, valid_csrf(web, client, foreign))
    assert status == 410 and "Länken gäller inte längre" in text
    assert snapshot(started) == before


@pytest.mark.parametrize("kind", [DASHBOARD, CALENDAR])
def test_a_token_of_another_kind_is_refused(started: App, client: TestClient, kind: str) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    token = started.signer.issue(Claim(kind, occ.person_id, NOW, occ.id, occ.version))
    before = snapshot(started)
    response = client.get(f"/k/{token}")
    assert response.status_code == 400 and "Länken är felaktig" in response.text
    assert snapshot(started) == before


def test_a_link_replayed_after_the_item_was_reassigned_is_refused(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    path = done_path(started, occ)
    csrf = csrf_of(client.get(path).text)  # the page was open before the reassignment
    with transaction(started.sessions) as session:
        stored = session.get(Occurrence, occ.id)
        assert stored is not None
        stored.version += 1
    before = snapshot(started)
    status, text = post_done(client, path, csrf)
    assert status == 410 and "Länken gäller inte längre" in text
    assert client.get(path).status_code == 410
    assert snapshot(started) == before
    assert reload(started, occ.id).status == "open"
    # The new link works.
    fresh = done_path(started, reload(started, occ.id))
    assert client.get(fresh).status_code == 200


def test_repeated_bad_tokens_from_one_client_are_rate_limited(
    started: App, web: Starlette, clock: Clock
) -> None:
    limit = int(started.config.get("web", "bad_token_limit_per_minute"))
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    good = done_path(started, occ)
    with TestClient(web) as client:
        for n in range(limit):
            assert client.get(f"/k/gissning-{n}").status_code == 400
        blocked = client.get("/k/gissning-till")
        assert blocked.status_code == 429 and "För många felaktiga länkar" in blocked.text
        # Only the guesses are limited: a good link from the same address (one NAT, one
        # proxy) still works, so a guesser cannot lock everyone else out.
        assert client.get(good).status_code == 200
        clock.now = NOW + timedelta(seconds=61)
        assert client.get("/k/gissning-igen").status_code == 400
    # Another client address is not affected.
    clock.now = NOW
    with TestClient(web, client=("203.0.113.7", 50000)) as other:
        assert other.get("/k/gissning-annan").status_code == 400


def test_expired_and_stale_links_do_not_count_towards_the_limit(
    started: App, web: Starlette
) -> None:
    limit = int(started.config.get("web", "bad_token_limit_per_minute"))
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    expired = done_path(started, occ, NOW - timedelta(days=61))
    stale = done_path(started, occ, version=occ.version + 1)
    with TestClient(web) as client:
        for _ in range(limit):
            assert client.get(expired).status_code == 410
            assert client.get(stale).status_code == 410
        assert client.get("/k/gissning").status_code == 400


def test_a_calendar_token_does_not_open_the_dashboard(started: App, client: TestClient) -> None:
    url = path_of(started, f"{started.public_url}/oversikt/" + started.signer.issue(
        Claim(CALENDAR, 1, NOW)))  # fmt: skip
    assert client.get(url).status_code == 400
