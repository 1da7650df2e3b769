"""A stand-in acts as the stand-in: their mails carry links of their own, and what they do is
recorded as done by them for the absent colleague, for as long as the absence lasts."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from service.app import App
from service.links import DONE
from service.mail.transports.memory import MemoryTransport
from service.models import Absence, AuditEntry, Item, Occurrence, Person, Plan
from service.pipeline import tick
from service.report.model import build_report
from service.web.urls import activities_url, done_url, settings_url
from tests.web.conftest import NOW, Clock, csrf_of, find_occurrence, path_of, reload, snapshot
from tests.web.test_settings_page import someone_mailed_today

TODAY = date(2024, 12, 2)


def another_person(app: App, *person_ids: int) -> Person:
    with app.sessions() as session:
        found = session.scalars(
            select(Person)
            .where(Person.id.not_in(person_ids), Person.active.is_(True))
            .order_by(Person.id)
        ).first()
        assert found is not None
        session.expunge(found)
        return found


def register_absence(app: App, owner_id: int, stand_in_id: int, starts: date, ends: date) -> None:
    with app.sessions() as session, session.begin():
        session.add(
            Absence(
                person_id=owner_id,
                starts=starts,
                ends=ends,
                stand_in_id=stand_in_id,
                created_at=NOW,
            )
        )


def owner_and_stand_in(app: App) -> tuple[Occurrence, Person, Person]:
    """An open item, its owner away this week and a colleague standing in for them."""
    occ = find_occurrence(app, "starka-enhetschefer", 1, "1")
    with app.sessions() as session:
        owner = session.get(Person, occ.person_id)
        assert owner is not None
        session.expunge(owner)
    stand_in = another_person(app, owner.id)
    register_absence(app, owner.id, stand_in.id, TODAY, TODAY + timedelta(days=4))
    return occ, owner, stand_in


def test_the_stand_ins_mail_links_act_for_the_owner_and_the_record_shows_both_names(
    started: App, client: TestClient
) -> None:
    owner, items = someone_mailed_today(started)
    stand_in = another_person(started, owner.id)
    # The owner registers the absence on their own settings page, naming the stand-in.
    path = path_of(started, settings_url(started, owner.id, NOW))
    csrf = csrf_of(client.get(path).text)
    client.post(
        path,
        data={
            "csrf": csrf,
            "action": "absence",
            "starts": TODAY.isoformat(),
            "ends": (TODAY + timedelta(days=4)).isoformat(),
            "stand_in": stand_in.email,
        },
    )

    transport = MemoryTransport()
    tick(started, NOW, transport=transport)
    (mail,) = [m for m in transport.sent if stand_in.email in {a.email for a in m.to}]
    assert f"Du är ersättare för {owner.name}, som är borta." in mail.text
    tokens = re.findall(rf"{re.escape(started.public_url)}/k/(\S+)", mail.text)
    claims = [started.signer.read(t, DONE, NOW) for t in tokens]
    for_owner = [c for c in claims if c.occurrence_id in items]
    assert for_owner and all(c.person_id == stand_in.id for c in for_owner)
    occurrence_id = for_owner[0].occurrence_id
    assert occurrence_id is not None
    link = path_of(started, f"{started.public_url}/k/{tokens[claims.index(for_owner[0])]}")

    page = client.get(link)
    assert page.status_code == 200
    assert f"Du är ersättare för {owner.name} under frånvaron." in page.text
    response = client.post(
        link, data={"csrf": csrf_of(page.text), "action": "done", "done_on": TODAY.isoformat()}
    )
    both = f"{stand_in.name} (ersättare för {owner.name})"
    assert response.status_code == 200 and both in response.text

    done = reload(started, occurrence_id)
    assert (done.status, done.person_id, done.done_by_id) == ("done", owner.id, stand_in.id)
    with started.sessions() as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(
                AuditEntry.occurrence_id == occurrence_id, AuditEntry.action == "occurrence.done"
            )
        ).all()
        assert entry.actor == stand_in.email
        assert entry.detail["stand_in_for"] == owner.email
        slug = session.scalar(
            select(Plan.slug)
            .join(Item, Item.plan_id == Plan.id)
            .join(Occurrence, Occurrence.item_id == Item.id)
            .where(Occurrence.id == occurrence_id)
        )
        assert slug is not None
        report = build_report(session, slug, TODAY)
    # The owner's own page for the item says who did it, and for whom, in the record and history.
    own_link = done_url(started, occurrence_id, owner.id, done.version, NOW)
    own = client.get(path_of(started, own_link))
    assert own.text.count(both) >= 2
    # The committee's report: "Kontroll utfört" names both.
    assert any(f"markerad klar av {both}" in row.check_text for row in report.rows)


def test_the_stand_ins_link_stops_acting_when_the_absence_ends(
    started: App, client: TestClient, clock: Clock
) -> None:
    occ, _owner, stand_in = owner_and_stand_in(started)
    link = path_of(started, done_url(started, occ.id, stand_in.id, occ.version, NOW))
    assert client.get(link).status_code == 200
    csrf = csrf_of(client.get(link).text)

    clock.now = NOW + timedelta(days=5)  # the day after the absence's last day
    before = snapshot(started)
    page = client.get(link)
    assert page.status_code == 410 and "Frånvaron är över" in page.text
    refused = client.post(link, data={"csrf": csrf, "action": "done", "done_on": "2024-12-06"})
    assert refused.status_code == 410 and "Frånvaron är över" in refused.text
    assert snapshot(started) == before


def test_someone_who_is_not_the_stand_in_cannot_act_on_the_owners_item(
    started: App, client: TestClient
) -> None:
    occ, owner, stand_in = owner_and_stand_in(started)
    stranger = another_person(started, owner.id, stand_in.id)
    link = path_of(started, done_url(started, occ.id, stranger.id, occ.version, NOW))
    before = snapshot(started)
    page = client.get(link)
    assert page.status_code == 410 and "Länken gäller inte längre" in page.text
    assert "Frånvaron är över" not in page.text
    assert snapshot(started) == before


def test_a_stand_in_postpones_for_the_owner_and_the_history_says_so(
    started: App, client: TestClient
) -> None:
    occ, owner, stand_in = owner_and_stand_in(started)
    link = path_of(started, done_url(started, occ.id, stand_in.id, occ.version, NOW))
    csrf = csrf_of(client.get(link).text)
    response = client.post(
        link,
        data={
            "csrf": csrf,
            "action": "postpone",
            "postpone_to": "2025-01-31",
            "postpone_reason": "Väntar på underlag",
        },
    )
    assert response.status_code == 200
    after = reload(started, occ.id)
    assert (after.postponed_to, after.deferred_by_id) == (date(2025, 1, 31), stand_in.id)
    own = client.get(path_of(started, done_url(started, occ.id, owner.id, occ.version, NOW)))
    assert f"av {stand_in.name} (ersättare för {owner.name})" in own.text


def test_the_stand_ins_own_page_lists_the_absent_colleagues_items_while_the_absence_lasts(
    started: App, client: TestClient, clock: Clock
) -> None:
    occ, owner, stand_in = owner_and_stand_in(started)
    path = path_of(started, activities_url(started, stand_in.id, NOW))
    page = client.get(path)
    assert page.status_code == 200
    assert f"Som ersättare för {owner.name}" in page.text
    assert f'name="klar-{occ.id}"' in page.text

    response = client.post(
        path,
        data={"csrf": csrf_of(page.text), f"klar-{occ.id}": "1", "done_on": TODAY.isoformat()},
    )
    assert response.status_code == 200 and "Tack! Det är registrerat" in response.text
    done = reload(started, occ.id)
    assert (done.status, done.done_by_id, done.done_via) == ("done", stand_in.id, "list")

    clock.now = NOW + timedelta(days=5)
    later = client.get(path)
    assert f"Som ersättare för {owner.name}" not in later.text
    other = find_occurrence(started, "starka-enhetschefer", 1, "2", person_id=owner.id)
    before = snapshot(started)
    client.post(
        path,
        data={"csrf": csrf_of(later.text), f"klar-{other.id}": "1", "done_on": "2024-12-06"},
    )
    assert snapshot(started) == before  # no longer the stand-in: the owner's item is left alone


def test_the_stand_ins_settings_page_shows_the_colleagues_mails_coming_to_them(
    started: App, client: TestClient
) -> None:
    owner, _items = someone_mailed_today(started)
    stand_in = another_person(started, owner.id)
    register_absence(started, owner.id, stand_in.id, TODAY, TODAY + timedelta(days=4))
    page = client.get(path_of(started, settings_url(started, stand_in.id, NOW)))
    assert page.status_code == 200
    assert f"Du är ersättare för {owner.name} 2 december 2024 – 6 december 2024" in page.text
    assert "som ersättare)" in page.text  # today's mail holds the colleague's items
    assert "<strong>Vecka 49</strong>" in page.text
    assert page.text.count("<strong>Vecka ") >= 9  # at least eight weeks ahead, week by week
    assert "till och med" in page.text
