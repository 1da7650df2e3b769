"""The plan's own columns beyond ours (Samverkanspartner, Status, …) show on the item's page."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from service.app import App
from service.db import transaction
from tests.plan_files.builders import HEADER, write, xlsx_bytes
from tests.web.conftest import NOW, done_path, find_occurrence


def test_extra_columns_of_an_imported_plan_show_on_the_item_page(
    started: App, client: TestClient, tmp_path: Path
) -> None:
    rows = [
        ["Område ett", "1. Studiebesök i verksamheterna.", "Förvaltningschef", "Maj 2026",
         "Regionen & kommunerna", "Två studiedagar"],
    ]  # fmt: skip
    header = [*HEADER, "Samverkanspartner", "Resurs/Kostnad"]
    path = write(tmp_path, "prov-plan.xlsx", xlsx_bytes(rows=rows, header=header))
    with transaction(started.sessions) as session:
        started.import_plan(session, path, NOW)
        started.sync(session, NOW)
    occ = find_occurrence(started, "prov-plan", 1, "1")
    html = client.get(done_path(started, occ)).text
    assert "<dt>Samverkanspartner</dt>" in html
    assert "<dd>Regionen &amp; kommunerna</dd>" in html
    assert "<dt>Resurs/Kostnad</dt>" in html and "Två studiedagar" in html


def test_an_item_without_extra_columns_shows_none(started: App, client: TestClient) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    html = client.get(done_path(started, occ)).text
    assert "Samverkanspartner" not in html and "<dt>Status</dt>" in html
