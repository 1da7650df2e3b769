"""Every response carries the security headers; tokens never reach the logs."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from service.app import App
from service.web.security import RedactTokens, redact
from tests.web.conftest import done_path, find_occurrence


@pytest.mark.parametrize(
    "path", ["/", "/k/felaktig", "/finns-inte", "/healthz", "/static/bevakning.css", "/admin/login"]
)
def test_every_response_has_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    for part in (
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ):
        assert part in csp
    assert "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_token_pages_are_not_cached(started: App, client: TestClient) -> None:
    path = done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    assert client.get(path).headers["cache-control"] == "no-store"


def test_the_item_page_has_no_inline_style_or_script(started: App, client: TestClient) -> None:
    html = client.get(
        done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    ).text
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert '<link rel="stylesheet" href="/static/bevakning.css">' in html


def test_an_unknown_address_gets_a_swedish_404_page(client: TestClient) -> None:
    response = client.get("/inget-har")
    assert response.status_code == 404
    assert "Sidan finns inte" in response.text and 'lang="sv"' in response.text


def test_an_unexpected_error_shows_a_plain_page_without_a_stack_trace(
    started: App,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from service.web import items

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("databasen brann upp")

    monkeypatch.setattr(items, "item_context", broken)
    path = done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    with caplog.at_level(logging.ERROR):
        response = client.get(path)
    assert response.status_code == 500
    assert "Något gick fel" in response.text
    assert "Traceback" not in response.text and "brann upp" not in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    token = path.removeprefix("/k/")
    assert token not in caplog.text and "/k/[dolt]" in caplog.text


def test_access_log_lines_have_the_token_redacted(started: App) -> None:
    path = done_path(started, find_occurrence(started, "starka-enhetschefer", 1, "1"))
    token = path.removeprefix("/k/")
    # uvicorn's access logger passes the path as an argument of the record.
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1,
        '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    assert RedactTokens().filter(record)
    assert token not in record.getMessage() and "/k/[dolt]" in record.getMessage()
    assert redact(f"/oversikt/{token}?plan=x") == "/oversikt/[dolt]?plan=x"
    assert redact(f"/kalender/{token}.ics") == "/kalender/[dolt]"
    assert redact(f"/mina/{token}") == "/mina/[dolt]"
    assert redact('"GET /logga-in/svar?code=abc&state=xyz HTTP/1.1"') == (
        '"GET /logga-in/svar?[dolt] HTTP/1.1"'
    )
