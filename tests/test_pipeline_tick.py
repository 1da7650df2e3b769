"""One tick (expand, plan, dispatch) on SQLite and PostgreSQL, with time passed in as `now`."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.app import App
from service.completion import mark_done
from service.db import transaction
from service.mail.message import OutgoingMail
from service.mail.transports.base import TransportError
from service.mail.transports.memory import MemoryTransport
from service.models import Absence, OutboxMessage, Person
from service.pipeline import dispatch_outbox, tick
from tests.reliability.plans import PlanItem, import_plan, occurrence_ids, write_plan
from tests.support import at

HR = "maria.sjoberg@example.se"  # the HR-chef of the fictional directory
HEAD = "eva.ekstrom@example.se"  # the förvaltningschef: gets the digest
UNIT_HEAD = "linnea.forsberg@example.se"  # an enhetschef
START = at("2024-11-25", "06:00")  # a Monday


class RefusingTransport(MemoryTransport):
    """Keeps mails like the memory transport, but refuses one address for good."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    def send(self, mail: OutgoingMail) -> None:
        if self.refused in mail.recipients:
            raise TransportError("550 5.1.1 unknown user", permanent=True)
        super().send(mail)


@pytest.fixture
def ready(app: App) -> App:
    app.init(START)
    return app


def to(mails: list[dict[str, Any]], address: str, *kinds: str) -> list[dict[str, Any]]:
    return [m for m in mails if address in m["to"] and (not kinds or m["kind"] in kinds)]


def outbox(app: App) -> list[OutboxMessage]:
    with app.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def person(app: App, email: str) -> Person:
    with app.sessions() as session:
        found = session.scalar(select(Person).where(Person.email == email))
        assert found is not None
        session.expunge(found)
        return found


def test_a_tick_at_the_send_time_sends_one_bundled_mail_per_person(ready: App) -> None:
    transport = MemoryTransport()

    result = tick(ready, at("2024-11-25", "07:30"), transport=transport)

    reminders = [m for m in result.mails if m["kind"] in ("reminder", "checkin")]
    assert len(reminders) > 10
    assert all(m["status"] == "sent" for m in result.mails)
    per_person = Counter(address for m in reminders for address in m["to"])
    assert set(per_person.values()) == {1}
    # Bundled: most people have several items in their one mail.
    assert max(len(m["items"]) for m in reminders) > 1
    assert len(transport.sent) == len(result.mails)
    assert {m.message_id for m in transport.sent} == {m["message_id"] for m in result.mails}
    assert all(m.text and m.html for m in transport.sent)
    assert {row.status for row in outbox(ready)} == {"sent"}
    assert all(m["at"].startswith("2024-11-25T07:30") for m in reminders)


def test_it_sends_nothing_on_a_second_tick_at_the_same_moment(ready: App) -> None:
    transport = MemoryTransport()
    now = at("2024-11-25", "07:30")
    first = tick(ready, now, transport=transport)
    rows = len(outbox(ready))

    second = tick(ready, now, transport=transport)

    assert first.mails
    assert second.planned == [] and second.mails == []
    assert len(transport.sent) == len(first.mails)
    assert len(outbox(ready)) == rows


def test_it_sends_nothing_before_the_send_time(ready: App) -> None:
    transport = MemoryTransport()
    tick(ready, at("2024-11-25", "07:30"), transport=transport)
    before = len(transport.sent)

    # Friday 29 November has reminders due (30 days before "December 2024"), from 07:30 on.
    early = [
        tick(ready, at("2024-11-29", clock), transport=transport) for clock in ("07:00", "07:29")
    ]
    on_time = tick(ready, at("2024-11-29", "07:30"), transport=transport)

    assert all(r.planned == [] and r.mails == [] for r in early)
    assert len(transport.sent) - before == len(on_time.mails) > 0


@pytest.mark.parametrize(
    "day",
    [
        pytest.param("2024-11-30", id="saturday"),
        pytest.param("2024-12-01", id="sunday"),
        pytest.param("2024-12-24", id="julafton"),
        pytest.param("2024-12-25", id="juldagen"),
        pytest.param("2024-12-26", id="annandag-jul"),
    ],
)
def test_it_sends_nothing_on_a_weekend_or_holiday(ready: App, day: str) -> None:
    transport = MemoryTransport()
    tick(ready, at("2024-11-25", "07:30"), transport=transport)
    before = len(transport.sent)

    results = [tick(ready, at(day, clock), transport=transport) for clock in ("07:00", "07:30")]
    results.append(tick(ready, at(day, "15:00"), transport=transport))

    assert all(r.planned == [] and r.mails == [] for r in results)
    assert len(transport.sent) == before


def test_after_the_christmas_quiet_period_it_catches_up_with_one_mail_per_person(
    ready: App,
) -> None:
    transport = MemoryTransport()
    tick(ready, at("2024-12-20", "07:30"), transport=transport)
    # 23 December to 6 January is quiet (config.toml's default): working days included.
    for day in ("2024-12-23", "2024-12-27", "2024-12-30", "2025-01-02", "2025-01-03"):
        assert tick(ready, at(day, "07:30"), transport=transport).mails == []

    result = tick(ready, at("2025-01-07", "07:30"), transport=transport)

    reminders = [m for m in result.mails if m["kind"] in ("reminder", "checkin")]
    assert reminders
    assert set(Counter(a for m in reminders for a in m["to"]).values()) == {1}


def test_after_a_three_day_outage_a_person_gets_one_bundled_mail_without_stale_stages(
    ready: App, tmp_path: Path
) -> None:
    plan = write_plan(
        tmp_path / "plans",
        "test-avbrott",
        [
            PlanItem("1", "Alfa: klar onsdag", "2024-12-04"),
            PlanItem("2", "Beta: klar torsdag", "2024-12-05"),
            PlanItem("3", "Gamma: klar veckan efter", "2024-12-12"),
        ],
    )
    import_plan(ready, plan, START)
    alfa, beta, gamma = (occurrence_ids(ready, "test-avbrott", n)[HR] for n in ("1", "2", "3"))
    transport = MemoryTransport()
    monday = tick(ready, at("2024-12-02", "07:30"), transport=transport)
    assert {alfa, beta, gamma} <= set(to(monday.mails, HR, "reminder")[0]["items"])

    # Down Tuesday to Wednesday: Alfa's "tomorrow" and "today" and Beta's "tomorrow" pass unsent.
    thursday = tick(ready, at("2024-12-05", "07:30"), transport=transport)

    (mail,) = to(thursday.mails, HR)
    (row,) = [r for r in outbox(ready) if r.message_id == mail["message_id"]]
    sections = row.payload["sections"]
    assert alfa in sections.get("overdue", [])
    assert alfa not in sections.get("upcoming", []) + sections.get("due_today", [])
    assert beta in sections.get("due_today", [])
    assert gamma in sections.get("upcoming", [])
    (sent,) = [m for m in transport.sent if m.message_id == mail["message_id"]]
    overdue_part, _, rest = sent.text.partition("KLART I DAG")
    assert "Alfa" in overdue_part and "Alfa" not in rest
    assert "Gamma" in rest.partition("KOMMANDE")[2]
    # And nothing of the missed days is sent late.
    assert to(tick(ready, at("2024-12-06", "07:30"), transport=transport).mails, HR) == []


def test_an_item_marked_done_between_planning_and_sending_is_left_out(
    ready: App, tmp_path: Path
) -> None:
    plan = write_plan(
        tmp_path / "plans",
        "test-klar",
        [PlanItem("1", "Delta: snart klar", "2024-12-04"), PlanItem("2", "Epsilon", "2024-12-04")],
    )
    import_plan(ready, plan, START)
    delta = occurrence_ids(ready, "test-klar", "1")[HR]
    epsilon = occurrence_ids(ready, "test-klar", "2")[HR]
    now = at("2024-12-03", "07:30")
    planned = tick(ready, now, dispatch=False)
    assert planned.planned and planned.mails == []
    owner = person(ready, HR)
    with transaction(ready.sessions) as session:
        mark_done(session, delta, by=owner, on=ready.local_date(now), via="web", now=now)

    transport = MemoryTransport()
    mails = dispatch_outbox(ready, now, transport=transport)

    (mail,) = to(mails, HR)
    assert mail["status"] == "sent"
    (sent,) = [m for m in transport.sent if m.message_id == mail["message_id"]]
    assert "Epsilon" in sent.text and "Delta" not in sent.text
    assert "Epsilon" in sent.html and "Delta" not in sent.html
    assert epsilon in mail["items"]


def test_a_mail_whose_items_were_all_done_before_sending_is_skipped(
    ready: App, tmp_path: Path
) -> None:
    # An enhetschef's check-ins are all they get that day: marking them done empties the mail.
    now = at("2024-11-25", "07:30")
    planned = tick(ready, now, dispatch=False)
    (row,) = [r for r in outbox(ready) if r.to_addrs == [UNIT_HEAD] and r.id in planned.planned]
    owner = person(ready, UNIT_HEAD)
    with transaction(ready.sessions) as session:
        for ids in row.payload["sections"].values():
            for occurrence_id in ids:
                mark_done(
                    session, occurrence_id, by=owner, on=ready.local_date(now), via="web", now=now
                )

    transport = MemoryTransport()
    mails = dispatch_outbox(ready, now, transport=transport)

    assert [m["status"] for m in to(mails, UNIT_HEAD)] == ["skipped"]
    assert not [m for m in transport.sent if UNIT_HEAD in m.recipients]
    assert {r.status for r in outbox(ready) if r.id == row.id} == {"skipped"}
    assert tick(ready, at("2024-11-25", "08:00"), transport=transport).mails == []


def digests(mails: list[dict[str, Any]], recipient: str = HEAD) -> list[dict[str, Any]]:
    """Socialförvaltningen's head's digests (BUF's head and the kommundirektör get theirs
    alike, see tests/test_municipality.py)."""
    return [m for m in mails if m["kind"] == "digest" and recipient in m["to"]]


def test_the_digest_goes_out_once_a_week_from_monday_0700(ready: App) -> None:
    transport = MemoryTransport()

    def sent_at(day: str, clock: str) -> list[dict[str, Any]]:
        return digests(tick(ready, at(day, clock), transport=transport).mails)

    assert sent_at("2024-11-25", "06:59") == []
    (first,) = sent_at("2024-11-25", "07:00")
    assert first["to"] == [HEAD] and first["status"] == "sent"
    assert sent_at("2024-11-25", "07:30") == []
    assert sent_at("2024-11-25", "16:00") == []
    assert sent_at("2024-11-26", "07:30") == []
    assert sent_at("2024-11-29", "07:30") == []
    assert sent_at("2024-12-02", "06:59") == []
    (second,) = sent_at("2024-12-02", "07:00")
    assert second["message_id"] != first["message_id"]
    assert sent_at("2024-12-02", "07:05") == []


def test_a_digest_monday_that_is_a_holiday_moves_to_tuesday(ready: App) -> None:
    transport = MemoryTransport()
    assert len(digests(tick(ready, at("2025-04-14", "07:00"), transport=transport).mails)) == 1

    on_easter_monday = tick(ready, at("2025-04-21", "07:00"), transport=transport)
    later_that_day = tick(ready, at("2025-04-21", "12:00"), transport=transport)
    tuesday = tick(ready, at("2025-04-22", "07:00"), transport=transport)
    wednesday = tick(ready, at("2025-04-23", "07:00"), transport=transport)

    assert digests(on_easter_monday.mails) == [] and digests(later_that_day.mails) == []
    assert len(digests(tuesday.mails)) == 1
    assert digests(wednesday.mails) == []


def test_a_digest_missed_during_downtime_is_caught_up_once_that_week(ready: App) -> None:
    transport = MemoryTransport()
    tick(ready, at("2024-11-25", "07:30"), transport=transport)

    wednesday = tick(ready, at("2024-12-04", "07:30"), transport=transport)
    thursday = tick(ready, at("2024-12-05", "07:30"), transport=transport)

    assert len(digests(wednesday.mails)) == 1
    assert digests(thursday.mails) == []


def test_an_absent_heads_digest_goes_out_on_her_first_day_back(ready: App) -> None:
    with transaction(ready.sessions) as session:
        session.add(
            Absence(
                person_id=person(ready, HEAD).id,
                starts=date(2024, 11, 25),
                ends=date(2024, 11, 26),
                stand_in_id=None,
                created_at=START,
            )
        )
    transport = MemoryTransport()

    def sent_on(day: str) -> list[dict[str, Any]]:
        return digests(tick(ready, at(day, "07:30"), transport=transport).mails)

    assert sent_on("2024-11-25") == [] and sent_on("2024-11-26") == []
    assert len(sent_on("2024-11-27")) == 1
    assert sent_on("2024-11-28") == []


def test_the_digest_lists_failed_deliveries(ready: App) -> None:
    transport = RefusingTransport(UNIT_HEAD)
    first = tick(ready, at("2024-11-25", "07:30"), transport=transport)
    (failed,) = to(first.mails, UNIT_HEAD)
    assert failed["status"] == "failed"
    (row,) = [r for r in outbox(ready) if r.message_id == failed["message_id"]]
    assert row.status == "failed" and "550" in row.last_error

    monday = tick(ready, at("2024-12-02", "07:00"), transport=transport)

    (digest,) = digests(monday.mails)
    (mail,) = [m for m in transport.sent if m.message_id == digest["message_id"]]
    failures = mail.text.partition("MISSLYCKADE UTSKICK")[2]
    assert UNIT_HEAD in failures and "550 5.1.1 unknown user" in failures
    assert UNIT_HEAD in mail.html


def test_the_night_clocks_go_back_changes_nothing_about_once_a_day(ready: App) -> None:
    # Sunday 2024-10-27 has 25 hours in Stockholm. Ticks every 20 minutes from Saturday
    # evening to Monday noon: mail goes out on Monday only, once per person, one digest.
    from datetime import UTC, datetime, timedelta

    transport = MemoryTransport()
    mails: list[dict[str, Any]] = []
    moment = datetime(2024, 10, 26, 18, 0, tzinfo=UTC)
    while moment <= datetime(2024, 10, 28, 11, 0, tzinfo=UTC):
        mails += tick(ready, moment, transport=transport).mails
        moment += timedelta(minutes=20)
    assert mails
    assert {m["at"][:10] for m in mails} == {"2024-10-28"}
    per_person = Counter(
        (address, m["kind"]) for m in mails for address in m["to"] if m["kind"] != "escalation"
    )
    assert max(per_person.values()) == 1
    every = [m for m in mails if m["kind"] == "digest"]
    assert len(every) == len({a for m in every for a in m["to"]})  # one each
    assert len(digests(mails)) == 1


def test_a_postponed_check_in_does_not_cost_the_person_their_mail(ready: App) -> None:
    # A continuous item's occurrence with a postponed date matches two candidate queries;
    # it must be planned once, and the person's other reminders still go out.
    from datetime import date

    from service.models import Occurrence

    with transaction(ready.sessions) as session:
        checkin = session.scalars(
            select(Occurrence).where(Occurrence.due.is_(None), Occurrence.window_start.is_not(None))
        ).first()
        assert checkin is not None
        checkin.postponed_to = date(2024, 12, 2)
        owner = checkin.person_id
    mails = tick(ready, at("2024-12-02", "07:30"), transport=MemoryTransport()).mails
    with ready.sessions() as session:
        email = session.get(Person, owner).email  # type: ignore[union-attr]
    assert len(to(mails, email, "reminder", "checkin")) == 1


def test_the_heads_own_items_ride_at_the_top_of_her_digest_and_nothing_else_comes_that_day(
    ready: App, tmp_path: Path
) -> None:
    plan = write_plan(
        tmp_path / "plans",
        "test-egna",
        [PlanItem("1", "Egen aktivitet för förvaltningschefen", "2024-12-12", "Förvaltningschef")],
    )
    import_plan(ready, plan, START)
    (own,) = occurrence_ids(ready, "test-egna", "1").values()
    transport = MemoryTransport()
    # Thursday 5 December would be the 7-day reminder; bundled, it comes on Monday the 2nd.
    days = [
        tick(ready, at(day, clock), transport=transport)
        for day in ("2024-12-02",)
        for clock in ("07:00", "07:30", "12:00")
    ]
    to_her = [m for r in days for m in to(r.mails, HEAD)]
    (digest,) = to_her
    assert digest["kind"] == "digest" and own in digest["items"]
    (sent,) = [m for m in transport.sent if HEAD in m.recipients]
    assert sent.text.index("DET HÄR GÄLLER DIG I DAG") < sent.text.index("FÖRSENAT")
    assert "Egen aktivitet för förvaltningschefen" in sent.text
    # Not again until the day before (other mails to her that week are her other items'
    # day-before and due-day reminders, which keep their day).
    for day in ("2024-12-03", "2024-12-04", "2024-12-05", "2024-12-06", "2024-12-09", "2024-12-10"):
        later = to(tick(ready, at(day, "07:30"), transport=transport).mails, HEAD)
        assert not [m for m in later if own in m["items"]], day
    (day_before,) = to(tick(ready, at("2024-12-11", "07:30"), transport=transport).mails, HEAD)
    assert own in day_before["items"]
