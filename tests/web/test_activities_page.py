""" "Mina aktiviteter": every open item of a person on one page, changed in one POST."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from service.app import App
from service.models import AuditEntry, Occurrence
from service.web.urls import activities_url, done_url
from tests.web.conftest import NOW, csrf_of, find_occurrence, path_of, reload, snapshot


def person_with_items(started: App) -> tuple[int, str]:
    """An enhetschef with two overdue and several open items, and their page's path."""
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    return occ.person_id, path_of(started, activities_url(started, occ.person_id, NOW))


def open_ids(started: App, person_id: int) -> list[int]:
    with started.sessions() as session:
        return list(
            session.scalars(
                select(Occurrence.id).where(
                    Occurrence.person_id == person_id, Occurrence.status == "open"
                )
            )
        )


def test_get_lists_the_open_items_overdue_first_and_changes_nothing(
    started: App, client: TestClient
) -> None:
    _person_id, path = person_with_items(started)
    before = snapshot(started)
    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 200
        assert client.head(path).status_code == 200
    assert snapshot(started) == before
    html = response.text
    assert "<h1>Mina aktiviteter</h1>" in html and "de försenade först" in html
    # Both overdue items (June and November 2024) come before the first one still open.
    first_open = html.index("den 4 december 2024")
    assert html.index("Juni 2024") < first_open and html.index("November 2024") < first_open
    assert html.count('type="checkbox"') == 15  # next term's windows are not listed yet
    assert "Markera valda som klara" in html and "varav 2 försenade" in html


def test_one_post_marks_ticked_items_done_and_postpones_and_closes_others(
    started: App, client: TestClient
) -> None:
    person_id, path = person_with_items(started)
    overdue = find_occurrence(started, "starka-enhetschefer", 1, "1")
    other = find_occurrence(started, "starka-enhetschefer", 1, "2", person_id=person_id)
    later = find_occurrence(started, "tillitsfull-dialog", 1, "2", person_id=person_id)
    gone = find_occurrence(started, "tillitsfull-dialog", 8, "1", person_id=person_id)
    csrf = csrf_of(client.get(path).text)
    response = client.post(
        path,
        data={
            "csrf": csrf,
            f"klar-{overdue.id}": "1",
            f"klar-{other.id}": "1",
            "done_on": "2024-11-29",
            "comment": "Klart på ledningsgruppen.",
            "result": "Mentorer utsedda.",
            f"annat-{later.id}": "postpone",
            f"nytt_datum-{later.id}": "2026-09-30",
            f"skal-{later.id}": "Väntar på budgeten.",
            f"annat-{gone.id}": "not_applicable",
            f"skal-{gone.id}": "Enheten är nedlagd.",
        },
    )
    assert response.status_code == 200, response.text
    assert "Tack! Det är registrerat" in response.text
    assert "2 aktiviteter markerade som klara" in response.text
    for occ in (overdue, other):
        stored = reload(started, occ.id)
        assert (stored.status, str(stored.done_on), stored.done_via) == (
            "done",
            "2024-11-29",
            "list",
        )
        assert stored.comment == "Klart på ledningsgruppen."
        assert stored.result_note == "Mentorer utsedda."
    postponed = reload(started, later.id)
    assert postponed.status == "open" and str(postponed.postponed_to) == "2026-09-30"
    assert reload(started, gone.id).status == "not_applicable"
    with started.sessions() as session:
        audited = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.occurrence_id.in_([overdue.id, other.id, later.id, gone.id])
            )
        ).all()
    assert sorted(audited) == [
        "occurrence.done",
        "occurrence.done",
        "occurrence.not_applicable",
        "occurrence.postponed",
    ]


def test_the_same_form_sent_twice_changes_nothing_the_second_time(
    started: App, client: TestClient
) -> None:
    person_id, path = person_with_items(started)
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    later = find_occurrence(started, "tillitsfull-dialog", 1, "2", person_id=person_id)
    form = {
        "csrf": csrf_of(client.get(path).text),
        f"klar-{occ.id}": "1",
        "done_on": "2024-12-02",
        f"annat-{later.id}": "postpone",
        f"nytt_datum-{later.id}": "2026-09-30",
        f"skal-{later.id}": "Väntar på budgeten.",
    }
    assert client.post(path, data=form).status_code == 200
    after_first = snapshot(started)
    again = client.post(path, data=form)
    assert again.status_code == 200
    assert "Det var redan registrerat" in again.text
    assert snapshot(started) == after_first


@pytest.mark.parametrize("new_date", [None, "snart"])
def test_postponing_an_item_closed_meanwhile_says_it_was_registered_and_changes_nothing(
    started: App, client: TestClient, new_date: str | None
) -> None:
    # An old tab: the item was marked done since, and this form asks to put it off with a
    # date missing or unreadable, which nothing checks for an item no longer open.
    _, path = person_with_items(started)
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    csrf = csrf_of(client.get(path).text)
    done = {"csrf": csrf, f"klar-{occ.id}": "1", "done_on": "2024-12-02"}
    assert client.post(path, data=done).status_code == 200
    after_done = snapshot(started)
    old_tab = {"csrf": csrf, f"annat-{occ.id}": "postpone", f"skal-{occ.id}": "Senare."}
    if new_date is not None:
        old_tab[f"nytt_datum-{occ.id}"] = new_date
    response = client.post(path, data=old_tab)
    assert response.status_code == 200 and "Det var redan registrerat" in response.text
    assert snapshot(started) == after_done


def test_a_form_with_a_mistake_changes_nothing_and_keeps_what_was_typed(
    started: App, client: TestClient
) -> None:
    person_id, path = person_with_items(started)
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    later = find_occurrence(started, "tillitsfull-dialog", 1, "2", person_id=person_id)
    before = snapshot(started)
    response = client.post(
        path,
        data={
            "csrf": csrf_of(client.get(path).text),
            f"klar-{occ.id}": "1",
            "done_on": "2024-12-02",
            "comment": "Det här ska stå kvar.",
            f"annat-{later.id}": "postpone",
            f"nytt_datum-{later.id}": "",
            f"skal-{later.id}": "",
        },
    )
    assert response.status_code == 400
    assert snapshot(started) == before
    html = response.text
    assert "Ingenting har ändrats än." in html
    assert f'href="#nytt_datum-{later.id}"' in html and f'href="#skal-{later.id}"' in html
    assert (
        "Det här ska stå kvar." in html
        and f'id="klar-{occ.id}" name="klar-{occ.id}" value="1" checked' in html
    )


def test_nothing_chosen_asks_to_choose(started: App, client: TestClient) -> None:
    _, path = person_with_items(started)
    before = snapshot(started)
    response = client.post(
        path, data={"csrf": csrf_of(client.get(path).text), "done_on": "2024-12-02"}
    )
    assert response.status_code == 400 and "Välj minst en aktivitet" in response.text
    assert snapshot(started) == before


def test_a_future_date_or_both_done_and_postponed_is_refused(
    started: App, client: TestClient
) -> None:
    _person_id, path = person_with_items(started)
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    before = snapshot(started)
    response = client.post(
        path,
        data={
            "csrf": csrf_of(client.get(path).text),
            f"klar-{occ.id}": "1",
            f"annat-{occ.id}": "not_applicable",
            f"skal-{occ.id}": "Vet inte.",
            "done_on": (NOW.date() + timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "Datumet kan inte vara i framtiden" in response.text
    assert "både ibockad som klar" in response.text
    assert snapshot(started) == before


def test_someone_elses_item_in_the_form_is_left_alone(started: App, client: TestClient) -> None:
    person_id, path = person_with_items(started)
    with started.sessions() as session:
        foreign = session.scalars(
            select(Occurrence).where(Occurrence.person_id != person_id, Occurrence.status == "open")
        ).first()
        assert foreign is not None
    mine = find_occurrence(started, "starka-enhetschefer", 1, "1")
    response = client.post(
        path,
        data={
            "csrf": csrf_of(client.get(path).text),
            f"klar-{foreign.id}": "1",
            f"klar-{mine.id}": "1",
            "done_on": "2024-12-02",
        },
    )
    assert response.status_code == 200
    assert reload(started, foreign.id).status == "open"
    assert reload(started, mine.id).status == "done"


def test_a_post_without_the_csrf_field_changes_nothing(started: App, client: TestClient) -> None:
    _, path = person_with_items(started)
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    client.get(path)
    before = snapshot(started)
    response = client.post(path, data={f"klar-{occ.id}": "1", "done_on": "2024-12-02"})
    assert response.status_code == 403
    assert snapshot(started) == before


def test_a_mark_done_token_does_not_open_the_page_and_a_forged_one_is_refused(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    done_token = path_of(started, done_url(started, occ.id, occ.person_id, occ.version, NOW))
    token = done_token.removeprefix("/k/")
    assert client.get(f"/mina/{token}").status_code == 400
    _, path = person_with_items(started)
    assert client.get(path[:-3] + "xyz").status_code == 400


def test_the_link_expires_like_a_mark_done_link(started: App, client: TestClient) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    old = NOW - timedelta(days=61)
    path = path_of(started, activities_url(started, occ.person_id, old))
    assert client.get(path).status_code == 410


def test_a_person_with_nothing_open_reads_so(started: App, client: TestClient) -> None:
    person_id, path = person_with_items(started)
    ids = open_ids(started, person_id)
    with started.sessions() as session:
        for occ in session.scalars(select(Occurrence).where(Occurrence.id.in_(ids))):
            occ.status = "not_applicable"
        session.commit()
    assert "Du har inga öppna aktiviteter just nu." in client.get(path).text
