"""A simulated autumn 2024 on the bundled plans, recorded through the real completion calls:
the store a head has on the day of the SON meeting, 4 December 2024."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from service.app import App
from service.completion import mark_done, mark_not_applicable, postpone
from service.db import transaction
from service.models import Occurrence, Person
from tests.support import at

AUTUMN_START = "2024-08-15"
MEETING = date(2024, 12, 4)


def simulate_autumn(app: App) -> None:
    """Each occurrence due by the meeting gets a fate by its id: mostly done on time, some
    late, some "inte aktuell", some postponed, some left open."""
    app.init(at(AUTUMN_START))
    with transaction(app.sessions) as session:
        app.sync(session, at(AUTUMN_START))
        app.sync(session, at(MEETING.isoformat()))
        people = {p.id: p for p in session.scalars(select(Person))}
        due = session.scalars(
            select(Occurrence)
            .where(Occurrence.due.is_not(None), Occurrence.due <= MEETING)
            .order_by(Occurrence.id)
        ).all()
        for occ in due:
            assert occ.due is not None
            fate = occ.id % 10
            who = people[occ.person_id]
            moment = at(min(occ.due, MEETING).isoformat(), "16:00")
            if fate <= 5:
                on = max(occ.due - timedelta(days=2), occ.window_start or occ.due)
                mark_done(session, occ.id, by=who, on=on, via="link", now=moment,
                          result_note="Genomfört enligt planen." if fate == 0 else "")  # fmt: skip
            elif fate == 6 and occ.due + timedelta(days=5) <= MEETING:
                on = occ.due + timedelta(days=5)
                mark_done(session, occ.id, by=who, on=on, via="link", now=at(on.isoformat()))
            elif fate == 7:
                mark_not_applicable(session, occ.id, by=who, reason="Ingår i annat arbete.",
                                    now=moment)  # fmt: skip
            elif fate == 8:
                postpone(session, occ.id, by=who, to=occ.due + timedelta(days=30),
                         reason="Väntar på nämndens beslut.", now=moment)  # fmt: skip
