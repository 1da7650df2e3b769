"""The undo link in the answer to a reply: GET only shows, POST takes the change back once,
and a change made since (a click, another reply) is never overwritten by an old link."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from service.app import App
from service.db import transaction
from service.inbox.reader import read_inbox
from service.models import AuditEntry
from service.occurrences import DONE, OPEN
from service.web.app import create_app
from tests.fakes import replies
from tests.test_inbox_replies import (
    LATER,
    Sent,
    deliver,
    occurrences_of,
    sender_of,
    sent_answers,
)
from tests.web.conftest import Clock, TestClient, csrf_of, path_of, reload, snapshot


@pytest.fixture
def replied(app: App) -> Iterator[tuple[App, TestClient, dict[int, str], int]]:
    """A reply "klar 1" and "skjut upp 2 …" recorded; the undo paths from the answer."""
    sent = Sent(app)
    mail = sent.with_items(lambda n: n >= 2)
    deliver(app, replies.outlook(mail, "klar 1\nskjut upp 2 till 15 januari", sender_of(mail)))
    read_inbox(app, LATER)
    (answer,) = sent_answers(app)
    links = re.findall(r"Ångra: (\S+)", answer.text)
    occ = occurrences_of(app, mail)
    paths = {1: path_of(app, links[0]), 2: path_of(app, links[1])}
    with TestClient(create_app(app, clock=Clock(LATER))) as client:
        yield app, client, paths, occ[1].id


def test_opening_the_undo_link_changes_nothing(
    replied: tuple[App, TestClient, dict[int, str], int],
) -> None:
    app, client, paths, _ = replied
    before = snapshot(app)

    page = client.get(paths[1])

    assert page.status_code == 200 and "Ångra ändringen" in page.text
    assert snapshot(app) == before


def test_posting_it_reopens_the_item_and_is_audited_once(
    replied: tuple[App, TestClient, dict[int, str], int],
) -> None:
    app, client, paths, occurrence_id = replied
    csrf = csrf_of(client.get(paths[1]).text)

    done = client.post(paths[1], data={"csrf": csrf})
    again = client.post(paths[1], data={"csrf": csrf})

    assert "Ändringen är ångrad" in done.text and "redan ångrad" in again.text
    occ = reload(app, occurrence_id)
    assert occ.status == OPEN and occ.done_on is None and occ.done_via == ""
    with app.sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.occurrence_id == occurrence_id)
            .order_by(AuditEntry.id)
        ).all()
    assert actions == ["occurrence.done", "occurrence.undone"]


def test_undoing_a_postponement_brings_back_the_date_before_it(
    replied: tuple[App, TestClient, dict[int, str], int],
) -> None:
    app, client, paths, _ = replied
    csrf = csrf_of(client.get(paths[2]).text)

    client.post(paths[2], data={"csrf": csrf})

    with app.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "occurrence.undone")
        ).one()
        assert entry.detail["action"] == "occurrence.postponed"
        assert entry.occurrence_id is not None
    assert reload(app, entry.occurrence_id).postponed_to is None


def test_a_change_made_since_is_not_overwritten(
    replied: tuple[App, TestClient, dict[int, str], int],
) -> None:
    app, client, paths, occurrence_id = replied
    csrf = csrf_of(client.get(paths[1]).text)
    # Something else happened to the occurrence after the reply (here: an admin's audited
    # change): the old link must leave it alone.
    with transaction(app.sessions) as session:
        session.add(
            AuditEntry(
                at=LATER,
                actor="admin@example.se",
                action="occurrence.reopened",
                occurrence_id=occurrence_id,
                detail={},
            )
        )
    before = snapshot(app)

    page = client.post(paths[1], data={"csrf": csrf})

    assert "kan inte ångras längre" in page.text
    assert snapshot(app) == before
    assert reload(app, occurrence_id).status == DONE


def test_a_forged_undo_link_is_refused(
    replied: tuple[App, TestClient, dict[int, str], int],
) -> None:
    _, client, paths, _ = replied
    assert client.get(paths[1][:-3] + "xyz").status_code in (400, 403, 404)
