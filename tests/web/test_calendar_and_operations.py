"""The personal calendar feed, /healthz and /metrics."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from icalendar import Calendar
from sqlalchemy import select
from starlette.testclient import TestClient

from service.app import App
from service.db import transaction
from service.models import Occurrence, OutboxMessage, Person, State
from service.web.app import create_app
from service.web.urls import calendar_url
from tests.calendar_town import BUF_NAMND, DEFAULT_NAMND, town_app
from tests.support import at, d, make_config
from tests.web.conftest import NOW, Clock, csrf_of, done_path, find_occurrence, path_of
from tests.web.test_dashboard import sign_in


def test_the_calendar_feed_lists_the_persons_open_deadlines_as_all_day_events(
    started: App, client: TestClient
) -> None:
    person_id = 1  # förvaltningschef
    response = client.get(path_of(started, calendar_url(started, person_id, NOW)))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    feed = Calendar.from_ical(response.content)
    events = list(feed.walk("VEVENT"))
    with started.sessions() as session:
        expected = session.scalars(
            select(Occurrence).where(
                Occurrence.person_id == person_id,
                Occurrence.status == "open",
                Occurrence.due.is_not(None),
            )
        ).all()
    assert {str(e["uid"]) for e in events} == {f"occurrence-{o.id}@127.0.0.1" for o in expected}
    event = events[0]
    start = event.decoded("dtstart")
    assert isinstance(start, date) and event.decoded("dtend") == start + timedelta(days=1)
    assert f"{started.public_url}/k/" in str(event["description"])


def test_a_done_occurrence_leaves_the_feed_and_uids_stay_stable(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    feed_path = path_of(started, calendar_url(started, occ.person_id, NOW))
    before = {
        str(e["uid"]) for e in Calendar.from_ical(client.get(feed_path).content).walk("VEVENT")
    }
    path = done_path(started, occ)
    client.post(path, data={"csrf": csrf_of(client.get(path).text), "action": "done",
                            "done_on": "2024-12-02"})  # fmt: skip
    after = {
        str(e["uid"]) for e in Calendar.from_ical(client.get(feed_path).content).walk("VEVENT")
    }
    assert after == before - {f"occurrence-{occ.id}@127.0.0.1"}


def test_a_done_link_does_not_open_the_calendar(started: App, client: TestClient) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    token = done_path(started, occ).removeprefix("/k/")
    assert client.get(f"/kalender/{token}.ics").status_code == 400


def test_healthz_reports_database_last_tick_and_outbox_backlog(
    started: App, client: TestClient
) -> None:
    with transaction(started.sessions) as session:
        session.add(State(key="last_tick", value="2024-12-02T07:55:00+00:00"))
        for n in range(3):
            session.add(
                OutboxMessage(
                    key=f"test-{n}", kind="reminder", to_addrs=["a@example.se"],
                    local_date=date(2024, 12, 2), payload={}, status="pending" if n else "sent",
                    next_attempt_at=NOW, created_at=NOW,
                )
            )  # fmt: skip
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "last_tick": "2024-12-02T07:55:00+00:00",
        "outbox_backlog": 2,
    }


def test_healthz_answers_503_when_the_database_is_unreachable(clock: Clock, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "deeper" / "x.db"
    config = make_config(f"sqlite:///{missing}", tmp_path)
    app = App(config)
    app.engine  # noqa: B018  (creates the parent folder; remove it so connecting fails)
    missing.parent.rmdir()
    with TestClient(create_app(app, clock=clock)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "error"


def test_metrics_count_occurrences_outbox_posts_and_bad_tokens(
    started: App, client: TestClient
) -> None:
    occ = find_occurrence(started, "starka-enhetschefer", 1, "1")
    path = done_path(started, occ)
    client.post(path, data={"csrf": csrf_of(client.get(path).text), "action": "done",
                            "done_on": "2024-12-02"})  # fmt: skip
    client.get("/k/trasig")
    text = client.get("/metrics").text
    assert 'bevakning_occurrences{status="done"} 1.0' in text
    assert 'bevakning_occurrences{status="overdue"}' in text
    assert 'bevakning_outbox_messages{status="pending"} 0.0' in text
    assert 'bevakning_web_item_posts_total{action="done",outcome="done"} 1.0' in text
    assert 'bevakning_web_bad_tokens_total{reason="forged"} 1.0' in text


def test_the_dashboard_offers_each_plan_for_its_own_committees_next_meeting(
    db_url: str, tmp_path: Path
) -> None:
    app = town_app(db_url, tmp_path, web={"admin_password": "rätt lösen"})
    app.init(at("2024-09-02", "06:00"))
    with TestClient(create_app(app, clock=Clock(at("2024-09-02")))) as browser:
        assert sign_in(browser, "rätt lösen") == 303
        html = browser.get("/admin/oversikt").text
        # BUF's committee meets on 18 September; the default committee (socialnämnden) on the 25th.
        assert "Rapport till Barn- och utbildningsnämnden för Plan buf" in html
        assert "Underlag till Barn- och utbildningsnämnden 18 september 2024" in html
        assert 'href="/admin/rapport/buf.docx?mote=2024-09-18"' in html
        assert "Rapport till socialnämnden för Plan soc" in html
        assert 'href="/admin/rapport/soc.docx?mote=2024-09-25"' in html
        assert 'href="/admin/rapport/kommun.docx?mote=2024-09-25"' in html
        assert "Underlag till Kultur- och fritidsnämnden 25 september 2024" in html
        report = browser.get("/admin/rapport/buf.html?mote=2024-09-18").text
        # The head of BUF subscribes to her deadlines: her committee's dates, not the default's.
        with app.sessions() as session:
            bodil = session.scalars(select(Person).where(Person.email == "bodil@example.se")).one()
        feed = browser.get(path_of(app, calendar_url(app, bodil.id, at("2024-09-02"))))
        events = Calendar.from_ical(feed.content).walk("VEVENT")
        days = {
            plan: {e.decoded("dtstart") for e in events if str(e["description"]).startswith(plan)}
            for plan in ("Plan buf", "Plan kommun")
        }
    assert "Underlag till Barn- och utbildningsnämnden 18 september 2024" in report
    assert days == {
        "Plan buf": {d(day) for day in BUF_NAMND},
        "Plan kommun": {d(day) for day in DEFAULT_NAMND},  # the municipality's plan: the default
    }
    app.engine.dispose()
