"""The personal iCalendar feed: open deadlines as all-day events, to subscribe to in Outlook."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from service.links import CALENDAR
from service.models import Item, Occurrence, Person
from service.occurrences import OPEN
from service.web.context import web_of
from service.web.urls import done_url


def calendar_feed(request: Request) -> Response:
    web = web_of(request)
    if (limited := web.rate_limited(request)) is not None:
        return limited
    claim = web.read_claim(request, CALENDAR)
    if isinstance(claim, HTMLResponse):
        return claim
    now = web.now()
    host = urlsplit(web.app.public_url).hostname or "bevakning"
    with web.app.sessions() as session:
        person = session.get(Person, claim.person_id)
        if person is None or not person.active:
            return web.bad_link(request, "stale")
        occurrences = session.scalars(
            select(Occurrence)
            .where(
                Occurrence.person_id == person.id,
                Occurrence.status == OPEN,
                (Occurrence.due.is_not(None)) | (Occurrence.postponed_to.is_not(None)),
            )
            .options(selectinload(Occurrence.item).selectinload(Item.plan))
            .order_by(Occurrence.due, Occurrence.id)
        ).all()
        cal = Calendar()
        cal.add("prodid", "-//Bevakning//Socialförvaltningen//SV")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        # One line whatever is stored: a name from before names were normalised may hold one.
        cal.add("x-wr-calname", " ".join(f"Bevakning – {person.name}".split()))
        cal.add("x-published-ttl", "PT6H")
        for occ in occurrences:
            due = occ.effective_due
            assert due is not None
            item = occ.item
            done_link = done_url(web.app, occ.id, occ.person_id, occ.version, now)
            event = Event()
            # Stable per occurrence, so a postponed date moves the event instead of adding one.
            event.add("uid", f"occurrence-{occ.id}@{host}")
            event.add("dtstamp", now)
            event.add("dtstart", due)
            event.add("dtend", due + timedelta(days=1))
            event.add("summary", f"{item.number} {item.title}")
            event.add(
                "description",
                f"{item.plan.title}\nKlart när? {item.deadline_phrase}\n\n"
                f"Markera som klar: {done_link}",
            )
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)
    return Response(
        cal.to_ical(),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="bevakning.ics"'},
    )
