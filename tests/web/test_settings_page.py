"""'Mina inställningar': the page behind the link in every mail's footer, and what a change
does to the next mails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from service.app import App
from service.mail.transports.memory import MemoryTransport
from service.models import Absence, AuditEntry, Person, Preference
from service.pipeline import coming_mails, tick
from service.web.urls import settings_url
from tests.web.conftest import NOW, csrf_of, path_of


def someone_mailed_today(app: App) -> tuple[Person, set[int]]:
    """A person the planner would mail today, and the occurrences that mail would hold."""
    today = app.local_date(NOW)
    with app.sessions() as session:
        for person in session.scalars(select(Person).order_by(Person.id)):
            for mail in coming_mails(app, session, person.id, today, days=0):
                if mail.day == today and mail.kind == "reminder":
                    session.expunge(person)
                    return person, {n.occurrence_id for n in mail.notices}
    raise AssertionError("the bundled plans should give someone a reminder on 2 December")


def settings_path(app: App, person_id: int) -> str:
    return path_of(app, settings_url(app, person_id, NOW))


def counts(app: App) -> tuple[int, int, int]:
    with app.sessions() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Preference, Absence, AuditEntry)
        )


def test_the_page_shows_the_settings_and_the_coming_mails_and_changes_nothing(
    started: App, client: TestClient
) -> None:
    person, _ = someone_mailed_today(started)
    before = counts(started)
    response = client.get(settings_path(started, person.id))
    assert response.status_code == 200
    assert "Mina inställningar" in response.text and person.name in response.text
    assert "När de blir aktuella (standard)" in response.text
    assert "måndag 2 december" in response.text.lower()  # today's mail in the preview
    assert counts(started) == before


def test_an_absence_holds_the_persons_mail(started: App, client: TestClient) -> None:
    person, _ = someone_mailed_today(started)
    path = settings_path(started, person.id)
    csrf = csrf_of(client.get(path).text)
    today = started.local_date(NOW)
    response = client.post(
        path,
        data={
            "csrf": csrf,
            "action": "absence",
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=7)).isoformat(),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Dina inställningar är sparade" in page.text
    assert "påminnelserna väntar" in page.text

    result = tick(started, NOW, transport=MemoryTransport())
    assert result.mails, "others still get their mail"
    assert not [m for m in result.mails if person.email in m["to"]]
    with started.sessions() as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "absence_added")
        ).all()
        assert entry.actor == person.email


def test_a_stand_in_gets_the_items_while_the_person_is_away(
    started: App, client: TestClient
) -> None:
    person, items = someone_mailed_today(started)
    with started.sessions() as session:
        stand_in = session.scalars(
            select(Person).where(Person.id != person.id, Person.active.is_(True))
        ).first()
        assert stand_in is not None
    path = settings_path(started, person.id)
    csrf = csrf_of(client.get(path).text)
    today = started.local_date(NOW)
    client.post(
        path,
        data={
            "csrf": csrf,
            "action": "absence",
            "starts": today.isoformat(),
            "ends": today.isoformat(),
            "stand_in": stand_in.email.upper(),
        },
    )
    result = tick(started, NOW, transport=MemoryTransport())
    assert not [m for m in result.mails if person.email in m["to"]]
    (to_stand_in,) = [m for m in result.mails if stand_in.email in m["to"]]
    assert items <= set(to_stand_in["items"])


def test_a_bundle_weekday_is_stored_audited_and_holds_mail_until_that_day(
    started: App, client: TestClient
) -> None:
    person, _ = someone_mailed_today(started)
    path = settings_path(started, person.id)
    csrf = csrf_of(client.get(path).text)
    client.post(path, data={"csrf": csrf, "action": "rhythm", "bundle_weekday": "3"})
    with started.sessions() as session:
        pref = session.get(Preference, person.id)
        assert pref is not None and pref.bundle_weekday == 3
        mails = coming_mails(started, session, person.id, started.local_date(NOW))
    # Thursday's bundle, or a day-before or due-day reminder on its own day.
    for mail in mails:
        urgent = all(n.stage.startswith(("before-1@", "before-0@")) for n in mail.notices)
        assert mail.day.weekday() == 3 or urgent, mail


def test_a_wrong_form_says_what_to_fix_and_stores_nothing(started: App, client: TestClient) -> None:
    person, _ = someone_mailed_today(started)
    path = settings_path(started, person.id)
    csrf = csrf_of(client.get(path).text)
    before = counts(started)
    response = client.post(
        path,
        data={
            "csrf": csrf,
            "action": "absence",
            "starts": "2024-12-10",
            "ends": "2024-12-09",
            "stand_in": "ingen@example.se",
        },
    )
    assert response.status_code == 400
    assert "Sista dagen kan inte vara före första dagen." in response.text
    assert "Ingen i katalogen har adressen ingen@example.se" in response.text
    assert counts(started) == before


@pytest.mark.parametrize("absence_id", ["²", "99999999999999999999", "-1", ""])
def test_removing_an_absence_by_a_malformed_id_says_so_and_changes_nothing(
    started: App, client: TestClient, absence_id: str
) -> None:
    person, _ = someone_mailed_today(started)
    path = settings_path(started, person.id)
    csrf = csrf_of(client.get(path).text)
    before = counts(started)
    response = client.post(
        path, data={"csrf": csrf, "action": "remove_absence", "absence_id": absence_id}
    )
    assert response.status_code == 400 and "Frånvaron finns inte" in response.text
    assert counts(started) == before


def test_a_post_without_csrf_or_with_a_forged_link_changes_nothing(
    started: App, client: TestClient
) -> None:
    person, _ = someone_mailed_today(started)
    path = settings_path(started, person.id)
    client.get(path)
    before = counts(started)
    refused = client.post(path, data={"action": "rhythm", "bundle_weekday": "0"})
    assert refused.status_code == 403
    forged = client.post(path[:-3] + "abc", data={"action": "rhythm", "bundle_weekday": "0"})
    assert forged.status_code == 400
    assert counts(started) == before


def test_every_reminder_carries_the_settings_link(started: App) -> None:
    transport = MemoryTransport()
    tick(started, NOW, transport=transport)
    assert transport.sent
    for mail in transport.sent:
        assert f"{started.public_url}/installningar/" in mail.text
        assert "Mina inställningar" in mail.html
