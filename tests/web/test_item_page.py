"""The item page behind a mark-done link: shows on GET, changes only on a valid POST."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from starlette.testclient import TestClient

from service import completion
from service.app import App
from service.db import transaction
from service.directory import load_directory
from service.links import DONE as DONE_LINK
from service.links import Claim
from service.models import AuditEntry, Item, Occurrence, Person
from service.web.items import _Done, _DoneClick
from service.web.quick import LoopGroupStore
from tests.support import make_config
from tests.web.conftest import NOW, csrf_of, done_path, find_occurrence, reload, snapshot


def open_form(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return csrf_of(response.text)


def opened_item(started: App, client: TestClient) -> tuple[Occurrence, str, str]:
    """An open occurrence of "Starka enhetschefer" 1.1, its link's path and its form's CSRF."""
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    path = done_path(started, occ)
    return occ, path, open_form(client, path)


def test_get_shows_plan_area_item_deadline_person_and_status(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    response = client.get(done_path(started, occ))
    assert response.status_code == 200
    html = response.text
    assert '<html lang="sv">' in html
    with started.sessions() as session:
        item = session.get(Item, occ.item_id)
        person = session.get(Person, occ.person_id)
        assert item is not None and person is not None
        assert item.plan.title in html and item.area.title in html
        assert item.title in html and person.name in html
    assert "Klart när?" in html and "November 2024" in html and "30 november 2024" in html
    # Overdue on 2 December: the word and the symbol are there, not only a colour.
    assert "status-overdue" in html and "Försenad" in html
    for label in ("Markera som klar", "Skjut upp", "Inte aktuell", "Vad blev resultatet?"):
        assert label in html
    assert 'value="2024-12-02"' in html and 'max="2024-12-02"' in html


def test_ten_gets_and_heads_like_a_mail_scanner_change_nothing(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "tillitsfull-dialog", 1, "2")
    path = done_path(started, occ)
    before = snapshot(started)
    for _ in range(10):
        assert client.get(path).status_code == 200
        head = client.head(path)
        assert head.status_code == 200 and head.content == b""
    assert snapshot(started) == before


def test_post_done_records_who_when_how_comment_and_result(
    started: App, client: TestClient
) -> None:
    occ, path, csrf = opened_item(started, client)
    response = client.post(
        path,
        data={
            "csrf": csrf,
            "action": "done",
            "done_on": "2024-11-28",
            "comment": "Genomfört på ledningsgruppen.",
            "result": "Alla nya chefer har en mentor.",
        },
    )
    assert response.status_code == 200
    assert "Tack! Aktiviteten är klarmarkerad" in response.text
    stored = reload(started, occ.id)
    assert stored.status == "done"
    assert stored.done_on == date(2024, 11, 28)
    assert stored.done_at == NOW
    assert stored.done_by_id == occ.person_id
    assert stored.done_via == "link"
    assert stored.comment == "Genomfört på ledningsgruppen."
    assert stored.result_note == "Alla nya chefer har en mentor."
    with started.sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.occurrence_id == occ.id)).one()
        assert audit.action == "occurrence.done" and audit.detail["via"] == "link"


def test_a_second_done_post_answers_already_done_with_the_first_record(
    started: App, client: TestClient
) -> None:
    _, path, csrf = opened_item(started, client)
    first = {"csrf": csrf, "action": "done", "done_on": "2024-11-29", "comment": "Först!"}
    assert client.post(path, data=first).status_code == 200
    before = snapshot(started)
    second = client.post(
        path, data={"csrf": csrf, "action": "done", "done_on": "2024-12-02", "comment": "Igen"}
    )
    assert second.status_code == 200
    assert "redan klarmarkerad" in second.text
    assert "Först!" in second.text and "29 november 2024" in second.text
    assert "Igen" not in second.text
    assert snapshot(started) == before


def test_a_done_date_in_the_future_is_refused_with_a_swedish_message(
    started: App, client: TestClient
) -> None:
    _, path, csrf = opened_item(started, client)
    before = snapshot(started)
    response = client.post(
        path,
        data={"csrf": csrf, "action": "done", "done_on": "2024-12-03"},
    )
    assert response.status_code == 400
    assert "Datumet kan inte vara i framtiden" in response.text
    assert 'aria-invalid="true"' in response.text
    assert snapshot(started) == before


def test_a_malformed_done_date_is_refused(started: App, client: TestClient) -> None:
    occ, path, csrf = opened_item(started, client)
    response = client.post(path, data={"csrf": csrf, "action": "done", "done_on": "igår"})
    assert response.status_code == 400
    assert "Ange datumet då aktiviteten blev klar" in response.text
    assert reload(started, occ.id).status == "open"


def test_postpone_records_the_new_date_and_reason(started: App, client: TestClient) -> None:
    occ, path, csrf = opened_item(started, client)
    response = client.post(
        path,
        data={
            "csrf": csrf,
            "action": "postpone",
            "postpone_to": "2025-01-31",
            "postpone_reason": "Väntar på HR.",
        },
    )
    assert response.status_code == 200
    assert "Det nya datumet är registrerat" in response.text
    stored = reload(started, occ.id)
    assert stored.status == "open"
    assert stored.postponed_to == date(2025, 1, 31)
    assert stored.deferral_reason == "Väntar på HR."
    assert stored.deferred_by_id == occ.person_id


def test_postpone_needs_a_later_date_and_a_reason(started: App, client: TestClient) -> None:
    _, path, csrf = opened_item(started, client)
    before = snapshot(started)
    response = client.post(
        path,
        data={
            "csrf": csrf,
            "action": "postpone",
            "postpone_to": "2024-12-01",
            "postpone_reason": " ",
        },
    )
    assert response.status_code == 400
    assert "måste vara efter i dag" in response.text
    assert "varför aktiviteten behöver skjutas upp" in response.text
    assert snapshot(started) == before


def test_not_applicable_records_the_reason(started: App, client: TestClient) -> None:
    occ, path, csrf = opened_item(started, client)
    response = client.post(
        path,
        data={
            "csrf": csrf,
            "action": "not_applicable",
            "na_reason": "Inga nya chefer i år.",
        },
    )
    assert response.status_code == 200
    assert "markerad som inte aktuell" in response.text
    stored = reload(started, occ.id)
    assert stored.status == "not_applicable" and stored.deferral_reason == "Inga nya chefer i år."


def test_an_unknown_action_changes_nothing(started: App, client: TestClient) -> None:
    _, path, csrf = opened_item(started, client)
    before = snapshot(started)
    response = client.post(path, data={"csrf": csrf, "action": "delete"})
    assert response.status_code == 400
    assert snapshot(started) == before


def test_an_item_title_with_html_is_shown_as_text(started: App, client: TestClient) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    with transaction(started.sessions) as session:
        item = session.get(Item, occ.item_id)
        assert item is not None
        item.title = "Granska <script>alert(1)</script> & <b>fetstil</b>"
    response = client.get(done_path(started, occ))
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<b>fetstil</b>" not in response.text


def test_a_comment_with_html_is_stored_as_written_and_shown_as_text(
    started: App, client: TestClient
) -> None:
    occ, path, csrf = opened_item(started, client)
    comment = '<img src=x onerror="alert(1)">'
    response = client.post(
        path,
        data={
            "csrf": csrf,
            "action": "done",
            "done_on": "2024-12-02",
            "comment": comment,
        },
    )
    assert comment not in response.text and "&lt;img src=x" in response.text
    assert reload(started, occ.id).comment == comment


def test_marking_a_parent_done_creates_its_relative_children(
    started: App, client: TestClient
) -> None:
    # Tillitsfull dialog, område 1, aktivitet 2 (studiebesök) → 2.1 at the next nämnd meeting.
    parent = find_occurrence(started, "tillitsfull-dialog", 1, "2")
    with started.sessions() as session:
        child_item = session.scalars(
            select(Item).where(Item.parent_id == parent.item_id, Item.number == "2.1")
        ).one()
        directory = load_directory(session)
        ledamoter = [  # Socialnämnden's: the plan is Socialförvaltningen's
            p.id for p in directory.with_role("ledamot") if directory.administration_of(p) == "SOC"
        ]
        assert not session.scalars(
            select(Occurrence).where(Occurrence.item_id == child_item.id)
        ).all()
    path = done_path(started, parent)
    response = client.post(
        path, data={"csrf": open_form(client, path), "action": "done", "done_on": "2024-12-02"}
    )
    assert response.status_code == 200
    assert "Nästa steg" in response.text and "4 december 2024" in response.text
    with started.sessions() as session:
        children = session.scalars(
            select(Occurrence).where(Occurrence.item_id == child_item.id)
        ).all()
    assert sorted(c.person_id for c in children) == sorted(ledamoter)
    assert len(children) == 6
    assert {c.due for c in children} == {date(2024, 12, 4)}
    assert {c.parent_occurrence_id for c in children} == {parent.id}


def test_a_multipart_form_is_read_too(started: App, client: TestClient) -> None:
    occ, path, csrf = opened_item(started, client)
    fields = {"csrf": csrf, "action": "done", "done_on": "2024-11-28"}
    response = client.post(path, files={name: (None, value) for name, value in fields.items()})
    assert response.status_code == 200 and "klarmarkerad" in response.text
    assert reload(started, occ.id).status == "done"


def test_an_oversized_form_gets_a_swedish_page_and_changes_nothing(
    started: App, client: TestClient
) -> None:
    _, path, csrf = opened_item(started, client)
    before = snapshot(started)
    too_long = client.post(
        path,
        data={"csrf": csrf, "action": "done", "done_on": "2024-11-28", "comment": "x" * 70_000},
    )
    too_many = client.post(
        path, data={"csrf": csrf, "action": "done", **{f"f{n}": "" for n in range(60)}}
    )
    assert too_long.status_code == 413 and "För mycket text" in too_long.text
    assert too_many.status_code == 400 and "Formuläret kunde inte läsas" in too_many.text
    assert '<html lang="sv">' in too_long.text
    assert snapshot(started) == before


def test_a_click_the_quick_path_must_not_keep_is_answered_by_the_general_path(
    started: App, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative children added by another process between the click's SELECT and its UPDATE:
    # the UPDATE says they are there, so the click must be synced, which only the general
    # path does.
    real = completion.record_done

    def children_appeared(*args: Any, **kwargs: Any) -> completion.Recorded:
        return completion.Recorded(real(*args, **kwargs).changed, needs_sync=True)

    monkeypatch.setattr(completion, "record_done", children_appeared)
    occ, path, csrf = opened_item(started, client)

    response = client.post(path, data={"csrf": csrf, "action": "done", "done_on": "2024-11-28"})

    assert response.status_code == 200 and "Tack! Aktiviteten är klarmarkerad" in response.text
    assert reload(started, occ.id).status == "done"


def test_a_huge_form_is_refused_as_it_arrives(started: App, client: TestClient) -> None:
    _, path, csrf = opened_item(started, client)
    before = snapshot(started)

    def body() -> Iterator[bytes]:  # sent chunked: no Content-Length to refuse it by
        yield f"csrf={csrf}&action=done&comment=".encode()
        for _ in range(1_000):
            yield b"x" * 10_000

    response = client.post(
        path, content=body(), headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 413 and "För mycket text" in response.text
    assert snapshot(started) == before


def test_the_deadline_and_its_date_read_as_two_facts_not_a_range(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "tillitsfull-dialog", 7, "2")
    html = client.get(done_path(started, occ)).text
    assert "<dd>Juni 2024</dd>" in html
    assert "<dt>Datum</dt>" in html and "30 juni 2024 (för 5 månader sedan)" in html
    assert "Juni 2024 –" not in html


def test_the_responsible_person_is_shown_with_the_role_they_hold_only(
    started: App, client: TestClient
) -> None:
    with started.sessions() as session:
        hr = session.scalars(select(Person).where(Person.role == "hr-chef")).one()
        hr_id, hr_name = hr.id, hr.name
    occ = find_occurrence(started, "starka-enhetschefer", 3, "1", person_id=hr_id)
    html = client.get(done_path(started, occ)).text
    assert f"{hr_name} (HR-chef)" in html
    assert "Förvaltningschef, HR-chef" not in html


@pytest.mark.postgres
def test_clicks_that_arrive_together_are_written_in_one_statement_each_as_alone(
    postgres_url: str, tmp_path: Path
) -> None:
    # On PostgreSQL the clicks of one turn of the event loop go to the store together: one
    # statement for all of them, yet each is applied only as the quick path applies a click
    # alone. The others get None and go to the general path, which answers them in full.
    app = App(make_config(postgres_url, tmp_path))
    app.init(NOW)
    with app.sessions() as session:
        parents = select(Item.parent_id).where(Item.parent_id.is_not(None))
        candidates = session.scalars(
            select(Occurrence)
            .join(Item, Occurrence.item_id == Item.id)
            .where(Occurrence.status == "open", Occurrence.due.is_not(None))
            .where(Item.id.not_in(parents))
            .order_by(Occurrence.id)
        ).all()
        by_person = {o.person_id: o for o in reversed(candidates)}  # one each, four people
        opened = sorted(by_person.values(), key=lambda o: o.id)[:4]
        plan_start = {o.id: o.item.plan.start for o in opened}
        title = {o.id: o.item.title for o in opened}
        owner = {o.id: o.person.email for o in opened}
    first, second, third, fourth = opened
    today = NOW.date()

    def click(occ: Occurrence, on: date, *, person_id: int | None = None) -> _DoneClick:
        claim = Claim(DONE_LINK, person_id or occ.person_id, NOW, occ.id, occ.version)
        fields = {"action": "done", "done_on": on.isoformat(), "comment": " Klart. "}
        return _DoneClick(claim, fields, NOW, today)

    clicks = [
        click(first, today),
        click(first, today),  # a double click: the general path says "redan klarmarkerad"
        click(second, plan_start[second.id] - timedelta(days=1)),  # before the plan began
        click(third, today),
        click(fourth, today, person_id=third.person_id),  # not the owner's link
    ]
    statements: list[str] = []
    store = LoopGroupStore(app)

    def executed(_c: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    async def together() -> list[_Done | None]:
        engine = store.engine().sync_engine  # the loop's own
        event.listen(engine, "before_cursor_execute", executed)
        try:
            return await asyncio.gather(*(store.write(c) for c in clicks))
        finally:
            event.remove(engine, "before_cursor_execute", executed)

    answers = asyncio.run(together())

    assert [a is not None for a in answers] == [True, False, False, True, False]
    assert sum("UPDATE occurrences" in s for s in statements) == 1
    for occ, answer in ((first, answers[0]), (third, answers[3])):
        stored = reload(app, occ.id)
        assert (stored.status, stored.done_on, stored.done_via) == ("done", today, "link")
        assert (stored.done_by_id, stored.comment, stored.done_at) == (occ.person_id, "Klart.", NOW)
        assert answer is not None and answer.view.item_title == title[occ.id]
    assert {reload(app, o.id).status for o in (second, fourth)} == {"open"}
    with app.sessions() as session:
        audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        done = [
            (a.occurrence_id, a.actor, a.detail) for a in audit if a.action == "occurrence.done"
        ]
    detail = {"on": today.isoformat(), "via": "link", "comment": "Klart.", "result": ""}
    assert done == [(o.id, owner[o.id], detail) for o in (first, third)]
    app.engine.dispose()


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_a_nul_in_a_field_gets_a_swedish_page_and_changes_nothing(
    started: App, client: TestClient, multipart: bool
) -> None:
    # PostgreSQL refuses to store a NUL: the write had failed with a server error.
    _, path, csrf = opened_item(started, client)
    before = snapshot(started)
    fields = {"csrf": csrf, "action": "done", "done_on": "2024-11-28", "comment": "a\x00b"}
    if multipart:
        response = client.post(path, files={n: (None, v) for n, v in fields.items()})
    else:
        response = client.post(path, data=fields)
    assert response.status_code == 400 and "Formuläret kunde inte läsas" in response.text
    assert snapshot(started) == before
