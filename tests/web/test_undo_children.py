"""Taking back a "klar" also takes back the follow-ups it created ("vid nästkommande
nämndsmöte"), unless someone has acted on one: what a person recorded is never removed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from starlette.testclient import TestClient

from service.app import App
from service.completion import mark_done
from service.db import transaction
from service.inbox.undo import untouched
from service.models import AuditEntry, Item, Occurrence, Person
from service.web.urls import undo_url
from tests.web.conftest import NOW, csrf_of, done_path, find_occurrence, path_of, reload


def test_only_children_nobody_acted_on_are_taken_back() -> None:
    assert untouched([1, 2, 3], [2, None]) == [1, 3]
    assert untouched([1], []) == [1]
    assert untouched([], [1]) == []


def children_of(app: App, parent_id: int) -> list[Occurrence]:
    with app.sessions() as session:
        found = list(
            session.scalars(
                select(Occurrence)
                .where(Occurrence.parent_occurrence_id == parent_id)
                .order_by(Occurrence.id)
            )
        )
        session.expunge_all()
        return found


def test_undoing_a_done_removes_its_untouched_follow_ups_and_keeps_one_acted_on(
    started: App, client: TestClient
) -> None:
    # Tillitsfull dialog 1/2 (studiebesök), done → 2.1 for each ledamot at the next meeting.
    parent = find_occurrence(started, "tillitsfull-dialog", 1, "2")
    path = done_path(started, parent)
    csrf = csrf_of(client.get(path).text)
    client.post(path, data={"csrf": csrf, "action": "done", "done_on": "2024-12-02"})
    children = children_of(started, parent.id)
    assert len(children) == 6
    # One ledamot has already reported back on theirs.
    with transaction(started.sessions) as session:
        ledamot = session.get(Person, children[0].person_id)
        assert ledamot is not None
        mark_done(session, children[0].id, by=ledamot, on=date(2024, 12, 2), via="link", now=NOW)
        entry_id = session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.occurrence_id == parent.id, AuditEntry.action == "occurrence.done"
            )
        )
        assert entry_id is not None

    undo = path_of(started, undo_url(started, entry_id, parent.id, parent.person_id, NOW))
    page = client.get(undo)
    response = client.post(undo, data={"csrf": csrf_of(page.text)})

    assert response.status_code == 200 and "Ändringen är ångrad" in response.text
    assert "5 uppföljningar som klarmarkeringen skapade" in response.text
    assert reload(started, parent.id).status == "open"
    left = children_of(started, parent.id)
    assert [c.id for c in left] == [children[0].id] and left[0].status == "done"
    with started.sessions() as session:
        undone = session.scalars(
            select(AuditEntry).where(
                AuditEntry.occurrence_id == parent.id, AuditEntry.action == "occurrence.undone"
            )
        ).one()
        assert sorted(undone.detail["removed_children"]) == [c.id for c in children[1:]]
        # The next sync does not bring them back: the parent is open again.
        with transaction(started.sessions) as writing:
            started.sync(writing, NOW)
        item = session.scalars(select(Item).where(Item.id == children[0].item_id)).one()
        assert item.number == "2.1"
    assert [c.id for c in children_of(started, parent.id)] == [children[0].id]
