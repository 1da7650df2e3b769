"""The preview on "Mina inställningar" ("see which mails will come when") is the planner run
ahead: it must show exactly what the simulated days then send, absences and bundling included."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select

from service.app import App
from service.db import transaction
from service.models import Absence, Person, Preference
from service.pipeline import PREVIEW_DAYS, coming_mails, preview_until
from service.reminders import Notice, PlannedMail
from service.simulation import run_days
from service.web.own_settings import by_week
from tests.support import at

START = date(2024, 11, 4)  # a Monday; eight weeks on reach into the quiet period at Christmas
END = START + timedelta(days=PREVIEW_DAYS - 1)

Sent = list[tuple[date, str, tuple[int, ...]]]


def test_the_preview_shows_what_the_simulated_weeks_then_send_to_everyone(app: App) -> None:
    app.init(at(START.isoformat(), "06:00"))
    with app.sessions() as session:
        people = list(session.scalars(select(Person).where(Person.active.is_(True))))
        by_email = {p.email.lower(): p.id for p in people}
        ids = sorted(by_email.values())
        before = {pid: coming_mails(app, session, pid, START, PREVIEW_DAYS - 1) for pid in ids}

    def mailed(pid: int, first: date, last: date) -> bool:
        return any(first <= m.day <= last and m.kind == "reminder" for m in before[pid])

    # Someone away for a week with a stand-in, someone away with none, someone bundling on
    # Thursdays, each chosen where it makes a difference: the preview must foresee it.
    away = next(p for p in ids if mailed(p, date(2024, 11, 25), date(2024, 12, 1)))
    quiet = next(p for p in ids if p != away and mailed(p, date(2024, 11, 11), date(2024, 11, 22)))
    stand_in = next(p for p in ids if p not in (away, quiet))
    thursday = next(
        p
        for p in ids
        if p not in (away, quiet, stand_in)
        and any(m.day.weekday() != 3 and m.kind == "reminder" for m in before[p])
    )
    with transaction(app.sessions) as session:
        session.add_all(
            [
                Absence(
                    person_id=away,
                    starts=date(2024, 11, 25),
                    ends=date(2024, 12, 1),
                    stand_in_id=stand_in,
                    created_at=at("2024-11-01"),
                ),
                Absence(
                    person_id=quiet,
                    starts=date(2024, 11, 11),
                    ends=date(2024, 11, 22),
                    stand_in_id=None,
                    created_at=at("2024-11-01"),
                ),
                Preference(person_id=thursday, bundle_weekday=3, updated_at=at("2024-11-01")),
            ]
        )
    planned: dict[int, list[PlannedMail]] = {}
    with app.sessions() as session:
        for person_id in ids:
            planned[person_id] = coming_mails(app, session, person_id, START, PREVIEW_DAYS - 1)
    previews: dict[int, Sent] = {
        person_id: [
            (m.day, m.kind, tuple(sorted(n.occurrence_id for n in m.notices))) for m in mails
        ]
        for person_id, mails in planned.items()
    }

    sent: dict[int, Sent] = defaultdict(list)
    for mail in run_days(app, START, END):
        for address in mail["to"]:
            sent[by_email[address.lower()]].append(
                (date.fromisoformat(mail["at"][:10]), mail["kind"], tuple(sorted(mail["items"])))
            )

    assert sum(len(s) for s in sent.values()) > 50, "the weeks should hold plenty of mail"
    for person_id in ids:
        assert previews[person_id] == sent.get(person_id, []), person_id
    # The effects the preview had to foresee.
    assert not [m for m in sent[quiet] if date(2024, 11, 11) <= m[0] <= date(2024, 11, 22)]
    away_items = {
        n.occurrence_id
        for m in before[away]
        if date(2024, 11, 25) <= m.day <= date(2024, 12, 1)
        for n in m.notices
    }
    assert away_items
    during = [m for m in sent[away] if date(2024, 11, 25) <= m[0] <= date(2024, 12, 1)]
    assert not [m for m in during if away_items & set(m[2])]
    assert any(
        date(2024, 11, 25) <= m[0] <= date(2024, 12, 1) and away_items & set(m[2])
        for m in sent[stand_in]
    )
    assert planned[thursday]
    for mail in planned[thursday]:
        urgent = all(n.stage.startswith(("before-1@", "before-0@")) for n in mail.notices)
        assert mail.day.weekday() == 3 or urgent, mail


def test_the_preview_reaches_the_next_deadline_and_at_least_eight_weeks(app: App) -> None:
    app.init(at(START.isoformat(), "06:00"))
    with app.sessions() as session:
        until = {
            p.id: preview_until(session, p.id, START)
            for p in session.scalars(select(Person).where(Person.active.is_(True)))
        }
    assert min(until.values()) == START + timedelta(days=PREVIEW_DAYS)
    assert max(until.values()) > START + timedelta(days=PREVIEW_DAYS), (
        "someone's next deadline lies further than eight weeks ahead"
    )


def test_the_preview_lists_every_week_and_counts_a_stand_ins_items_apart() -> None:
    today, until = date(2024, 11, 6), date(2024, 11, 27)
    mails = [
        PlannedMail("reminder", 1, date(2024, 11, 7), (Notice(10, "s", "upcoming"),)),
        PlannedMail(
            "reminder",
            1,
            date(2024, 11, 26),
            (Notice(10, "t", "overdue"), Notice(20, "u", "upcoming")),
        ),
    ]
    weeks = by_week(mails, {10: 1, 20: 2}, 1, today, until)
    assert [w.number for w in weeks] == [45, 46, 47, 48]
    assert [len(w.mails) for w in weeks] == [1, 0, 0, 1]
    assert weeks[3].mails[0]["count"] == 2 and weeks[3].mails[0]["for_others"] == 1
