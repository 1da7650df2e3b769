"""A calendar feed for a person whose stored name holds a line break (issue 15)."""

from __future__ import annotations

from icalendar import Calendar
from starlette.testclient import TestClient

from service.app import App
from service.db import transaction
from service.models import Person
from service.web.urls import calendar_url
from tests.web.conftest import NOW, path_of


def test_a_name_with_a_line_break_gives_a_feed_with_a_one_line_name(
    started: App, client: TestClient
) -> None:
    # Stored before names were normalised on reading the directory.
    with transaction(started.sessions) as session:
        person = session.get(Person, 1)
        assert person is not None
        person.name = "Eva\r\nEkström\nBcc: x"
    response = client.get(path_of(started, calendar_url(started, 1, NOW)))
    assert response.status_code == 200
    feed = Calendar.from_ical(response.content)
    assert str(feed["x-wr-calname"]) == "Bevakning – Eva Ekström Bcc: x"
    assert b"\r\nBcc" not in response.content
