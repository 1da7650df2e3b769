"""The plan report from the dashboard: the head's link and the admin view, with the figures
beside each area."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from docx import Document
from sqlalchemy import select
from starlette.testclient import TestClient

from service.app import App
from service.db import transaction
from service.models import Person
from tests.web.conftest import NOW
from tests.web.test_dashboard import (  # noqa: F401 (fixtures)
    admin_client,
    board_path,
    mark_done,
    sign_in,
)


def test_the_heads_dashboard_offers_the_report_in_every_format(
    started: App, client: TestClient
) -> None:
    base = board_path(started)
    html = client.get(base).text
    links = re.findall(rf'href="({re.escape(base)}/rapport/tillitsfull-dialog\.(\w+))"', html)
    assert {fmt for _, fmt in links} == {"docx", "pdf", "xlsx", "html", "json"}
    docx = client.get(f"{base}/rapport/tillitsfull-dialog.docx?mote=2024-12-04")
    assert docx.status_code == 200
    assert 'filename="tillitsfull-dialog-2024-12-02.docx"' in docx.headers["content-disposition"]
    doc = Document(io.BytesIO(docx.content))
    assert (
        "Underlag till socialnämnden 4 december 2024" in doc.sections[0].header.paragraphs[0].text
    )
    assert doc.tables[-1].rows[0].cells[4].text == "Kontroll utfört. Datum."


def test_a_done_item_shows_in_the_downloaded_report_and_the_area_figures(
    started: App, client: TestClient
) -> None:
    mark_done(client, started, "starka-enhetschefer", 1, "1")
    base = board_path(started)
    data = client.get(f"{base}/rapport/starka-enhetschefer.json").json()
    first = data["areas"][0]["items"][0]
    assert first["status"] == "done" and "28 november 2024" in first["check"]
    html = client.get(base).text
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Av ' in html
    assert "aktiviteter klara" in html


def test_a_report_link_with_a_forged_token_or_unknown_plan_gives_nothing(
    started: App, client: TestClient
) -> None:
    base = board_path(started)
    assert client.get(f"{base}x/rapport/tillitsfull-dialog.pdf").status_code in (400, 403, 404, 410)
    assert client.get(f"{base}/rapport/finns-inte.pdf").status_code == 404
    assert client.get(f"{base}/rapport/tillitsfull-dialog.exe").status_code == 404
    # A NUL, which PostgreSQL refuses even in a query, is just another unknown plan.
    nul = client.get(f"{base}/rapport/tillitsfull%00dialog.json")
    assert nul.status_code == 404 and "Planen finns inte" in nul.text


def test_a_heads_report_link_gives_only_her_own_administrations_plans(
    started: App, client: TestClient
) -> None:
    with started.sessions() as session:
        ids = dict(
            session.execute(
                select(Person.email, Person.id).where(
                    Person.email.in_(["ulrika.falk@example.se", "magnus.lindahl@example.se"])
                )
            ).all()
        )
    buf = board_path(started, ids["ulrika.falk@example.se"])
    assert client.get(f"{buf}/rapport/utbildning-tillitsfull-dialog.json").status_code == 200
    assert client.get(f"{buf}/rapport/tillitsfull-dialog.json").status_code == 404
    kommun = board_path(started, ids["magnus.lindahl@example.se"])
    for plan in ("utbildning-tillitsfull-dialog", "tillitsfull-dialog"):
        assert client.get(f"{kommun}/rapport/{plan}.json").status_code == 200


def test_the_admin_downloads_the_report_after_signing_in(admin_client: TestClient) -> None:  # noqa: F811
    response = admin_client.get("/admin/rapport/tillitsfull-dialog.pdf", follow_redirects=False)
    assert response.status_code == 303
    assert sign_in(admin_client, "rätt lösen") == 303
    html = admin_client.get("/admin/oversikt").text
    assert 'href="/admin/rapport/tillitsfull-dialog.pdf"' in html
    pdf = admin_client.get("/admin/rapport/tillitsfull-dialog.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    data = json.loads(admin_client.get("/admin/rapport/tillitsfull-dialog.json").content)
    assert data["plan"] == "tillitsfull-dialog"


def test_the_admin_records_an_indicator_value_on_the_dashboard(
    started: App,
    admin_client: TestClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.test_indicators import write

    with transaction(started.sessions) as session:
        started.import_plan(session, write(tmp_path / "ind-plans"), NOW)
        started.sync(session, NOW)
    assert sign_in(admin_client, "rätt lösen") == 303
    html = admin_client.get("/admin/oversikt?plan=tillit-matt").text
    assert "Tillitsindex i medarbetarenkäten 61 → 67, mål 70" in html
    assert "Sjukfrånvaro inga mätvärden ännu, mål 6,5" in html  # the whole plan's
    form = next(
        f for f in html.split('action="/admin/indikator"')[1:] if "Nytt värde för Tillitsindex" in f
    )
    indicator_id = re.search(r'name="indicator_id" value="(\d+)"', form)
    assert indicator_id
    fields = {"indicator_id": indicator_id.group(1), "measured_on": "2024-11-29", "value": "69"}
    refused = admin_client.post("/admin/indikator", data={**fields, "csrf": "fel"})
    assert refused.status_code == 403
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    done = admin_client.post(
        "/admin/indikator", data={**fields, "csrf": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303
    html = admin_client.get("/admin/oversikt?plan=tillit-matt").text
    assert "Tillitsindex i medarbetarenkäten 61 → 67 → 69, mål 70" in html
