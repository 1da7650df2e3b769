"""A validly signed token whose numbers do not fit (issue 15): a 400 page, never a 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer
from starlette.testclient import TestClient

from service.app import App
from service.links import CALENDAR, DASHBOARD, DONE
from tests.web.conftest import NOW, Clock, find_occurrence

PATHS = {DONE: "/k/{}", CALENDAR: "/kalender/{}.ics", DASHBOARD: "/oversikt/{}"}


def signed(payload: dict[str, Any]) -> str:
    # Signed with the test configuration's key, as a holder of a leaked key could.
    return str(URLSafeSerializer(["test-key-1"], salt="bevakning-link").dumps(payload))


CHANGES: list[dict[str, Any]] = [
    {"t": 1e30}, {"t": 10**30}, {"t": -(10**30)}, {"t": "igår"}, {"t": None},
    {"p": 10**30}, {"p": 2**31}, {"p": -1}, {"p": 1.5}, {"p": True}, {"p": "1"},
    {"o": 10**30}, {"v": 10**30}, {"o": [1]},
]  # fmt: skip


@pytest.mark.parametrize("kind", [DONE, CALENDAR, DASHBOARD])
def test_a_signed_token_with_numbers_out_of_range_is_a_400(
    started: App, client: TestClient, clock: Clock, kind: str
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    for n, change in enumerate(CHANGES):
        # Past the bad-link rate limit's window each time: this is about the answer, not it.
        clock.now = NOW + timedelta(minutes=10 * n)
        payload: dict[str, Any] = {"k": kind, "p": occ.person_id, "t": int(NOW.timestamp())}
        if kind == DONE:
            payload.update(o=occ.id, v=occ.version)
        payload.update(change)
        response = client.get(PATHS[kind].format(signed(payload)))
        assert response.status_code == 400, change
        assert "Länken är felaktig" in response.text


@pytest.mark.parametrize("missing", ["p", "t"])
def test_a_signed_token_without_a_number_is_a_400(
    started: App, client: TestClient, missing: str
) -> None:
    payload: dict[str, Any] = {"k": CALENDAR, "p": 1, "t": int(NOW.timestamp())}
    del payload[missing]
    assert client.get(PATHS[CALENDAR].format(signed(payload))).status_code == 400


def test_the_same_token_with_fitting_numbers_opens(started: App, client: TestClient) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    payload = {"k": DONE, "p": occ.person_id, "t": int(NOW.timestamp()), "o": occ.id,
               "v": occ.version}  # fmt: skip
    assert client.get(PATHS[DONE].format(signed(payload))).status_code == 200
