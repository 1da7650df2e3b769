from __future__ import annotations

import tomllib
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.app import App
from service.calendar import APT, NAMND, AptRule, Calendars, TermSpan, parse_calendars
from service.completion import mark_done
from service.db import transaction
from service.directory import Directory, PersonRecord, UnitRecord
from service.models import Area, Item, Occurrence, Person, Plan
from service.plans.phrases import parse_phrase
from service.schedule import DoneParent, ScheduleItem, Slot, expand
from tests.support import ROOT, at, d

# A small directory: one förvaltningschef, two verksamhetschefer, four enhetschefer (one unit
# with its own APT dates, one with its own APT rule), two ledamöter and a chair.
FC = PersonRecord("fc@example.se", "Eva Förvaltning", "förvaltningschef", id=1)
VC_AO = PersonRecord("vc.ao@example.se", "Anna Äldre", "verksamhetschef", division="ÄO", id=2)
VC_LSS = PersonRecord("vc.lss@example.se", "Per LSS", "verksamhetschef", division="LSS", id=3)
EC_NORR = PersonRecord("norr@example.se", "Lina Norr", "enhetschef", unit="norr", id=4)
EC_SODER = PersonRecord("soder@example.se", "Mika Söder", "enhetschef", unit="soder", id=5)
EC_DAGLIG = PersonRecord("daglig@example.se", "Sara Daglig", "enhetschef", unit="daglig", id=6)
EC_GRUPP = PersonRecord("grupp@example.se", "Jonas Grupp", "enhetschef", unit="grupp", id=7)
UC = PersonRecord("uc@example.se", "Johan Utveckling", "utvecklingschef", id=8)
ORD = PersonRecord("ord@example.se", "Gunnar Ordförande", "ordförande", id=9)
LED_1 = PersonRecord("led1@example.se", "Annika Ledamot", "ledamot", id=10)
LED_2 = PersonRecord("led2@example.se", "Bengt Ledamot", "ledamot", id=11)

ENHETSCHEFER = (EC_NORR, EC_SODER, EC_DAGLIG, EC_GRUPP)
DIRECTORY = Directory(
    people=(FC, VC_AO, VC_LSS, *ENHETSCHEFER, UC, ORD, LED_1, LED_2),
    units={
        "norr": UnitRecord("norr", "Hemtjänst norr", "ÄO"),
        "soder": UnitRecord("soder", "Hemtjänst söder", "ÄO"),
        "daglig": UnitRecord("daglig", "Daglig verksamhet", "LSS"),
        "grupp": UnitRecord("grupp", "Gruppbostäder", "LSS"),
    },
    divisions={"ÄO": "Äldreomsorg", "LSS": "LSS"},
)

HT_2024 = TermSpan("HT 2024", d("2024-08-19"), d("2024-12-20"))
VT_2025 = TermSpan("VT 2025", d("2025-01-08"), d("2025-06-13"))
NAMND_DATES = (d("2024-09-25"), d("2024-10-23"), d("2024-11-20"), d("2024-12-04"), d("2025-01-22"))
SODER_APT = (d("2024-10-03"), d("2024-11-14"), d("2024-12-12"))
CALENDARS = Calendars(
    terms=(HT_2024, VT_2025),
    meetings={
        (NAMND, ""): NAMND_DATES,
        (APT, ""): tuple(AptRule().dates(d("2024-01-01"), d("2025-12-31"))),
        (APT, "soder"): SODER_APT,
        (APT, "daglig"): tuple(AptRule(4, 3).dates(d("2024-01-01"), d("2025-12-31"))),
    },
)


def item(
    phrase: str,
    *roles: str,
    id: int = 1,
    follow_from: str = "2024-08-01",
    plan_start: str = "2024-01-01",
    plan_end: str = "2025-12-31",
    parent_id: int | None = None,
) -> ScheduleItem:
    return ScheduleItem(
        id=id,
        roles=roles or ("förvaltningschef",),
        deadline=parse_phrase(phrase),
        plan_start=d(plan_start),
        plan_end=d(plan_end),
        follow_from=d(follow_from),
        parent_id=parent_id,
    )


def run(
    *items: ScheduleItem,
    until: str = "2025-12-31",
    directory: Directory = DIRECTORY,
    calendars: Calendars = CALENDARS,
    done_parents: tuple[DoneParent, ...] = (),
    checkin_every: str = "term",
) -> list[Slot]:
    return expand(
        items,
        directory,
        calendars,
        d(until),
        done_parents=done_parents,
        checkin_every=checkin_every,
    )


def people(slots: list[Slot]) -> list[int]:
    return sorted(s.person_id for s in slots)


def day_after(day: date | None) -> date:
    assert day is not None
    return day + timedelta(days=1)


def ids(*records: PersonRecord) -> list[int]:
    return sorted(r.id for r in records if r.id is not None)


# -- fan-out ------------------------------------------------------------------------------


def test_it_fans_out_to_every_enhetschef() -> None:
    slots = run(item("December 2024", "enhetschef"))
    assert people(slots) == ids(*ENHETSCHEFER)
    assert {s.due for s in slots} == {d("2024-12-31")}
    assert len({s.key for s in slots}) == len(slots)  # each done separately
    assert not any(s.is_apt for s in slots)


def test_medarbetare_go_to_every_enhetschef_to_raise_at_apt() -> None:
    slots = run(item("December 2024", "medarbetare"))
    assert people(slots) == ids(*ENHETSCHEFER)
    assert all(s.is_apt for s in slots)


def test_chefer_are_the_forvaltningschef_verksamhetschefer_and_enhetschefer() -> None:
    slots = run(item("December 2024", "chefer"))
    assert people(slots) == ids(FC, VC_AO, VC_LSS, *ENHETSCHEFER)
    assert UC.id not in people(slots) and ORD.id not in people(slots)


def test_a_person_holding_two_listed_roles_gets_one_occurrence() -> None:
    slots = run(item("December 2024", "förvaltningschef", "chefer"))
    assert people(slots) == ids(FC, VC_AO, VC_LSS, *ENHETSCHEFER)
    assert sum(1 for s in slots if s.person_id == FC.id) == 1


def test_several_single_roles_each_get_their_holder() -> None:
    slots = run(item("VT 2025", "förvaltningschef", "utvecklingschef"))
    assert people(slots) == ids(FC, UC)


def test_a_role_nobody_holds_gives_no_occurrences() -> None:
    empty = Directory(people=(FC,))
    assert run(item("December 2024", "enhetschef"), directory=empty) == []


# -- one-off deadlines --------------------------------------------------------------------


def single(phrase: str, follow_from: str = "2024-08-01") -> Slot:
    slots = run(item(phrase, follow_from=follow_from))
    assert len(slots) == 1, slots
    return slots[0]


def test_a_date_is_due_that_day() -> None:
    slot = single("den 4 december 2024")
    assert (slot.due, slot.window_end, slot.window_key) == (
        d("2024-12-04"),
        d("2024-12-04"),
        "frist",
    )


def test_a_month_is_due_on_its_last_day() -> None:
    assert single("Juni 2024").due == d("2024-06-30")


def test_a_week_is_due_on_its_sunday() -> None:
    assert single("v. 42 2025").due == d("2025-10-19")


def test_a_quarter_is_due_on_its_last_day() -> None:
    assert single("Q3 2025").due == d("2025-09-30")


def test_a_term_is_due_on_the_end_the_calendar_gives_it() -> None:
    assert single("HT 2024").due == d("2024-12-20")
    assert single("VT 2025").due == d("2025-06-13")


def test_a_term_the_calendar_does_not_list_uses_the_configured_default() -> None:
    # TermDefaults: VT ends 15 June, HT ends 20 December.
    assert single("VT 2030").due == d("2030-06-15")
    assert single("HT 2029").due == d("2029-12-20")


def test_one_off_deadlines_appear_even_before_follow_from() -> None:
    # An item that was already late when Bevakning started following the plan is still late.
    slot = single("Juni 2024", follow_from="2024-10-01")
    assert slot.due == d("2024-06-30")


def test_one_off_deadlines_appear_even_beyond_until() -> None:
    assert run(item("Maj 2026"), until="2024-12-31")[0].due == d("2026-05-31")


# -- recurring ----------------------------------------------------------------------------


def test_twice_per_term_gives_two_windows_per_term_each_with_its_own_deadline() -> None:
    slots = run(item("två gånger per termin", follow_from="2024-08-01"), until="2025-06-30")
    assert [s.window_key for s in slots] == [
        "HT 2024 #1/2",
        "HT 2024 #2/2",
        "VT 2025 #1/2",
        "VT 2025 #2/2",
    ]
    for first, second, term in ((slots[0], slots[1], HT_2024), (slots[2], slots[3], VT_2025)):
        assert first.window_start == term.start
        assert first.due == first.window_end
        assert second.window_start == day_after(first.due)
        assert second.due == second.window_end == term.end


def test_the_bundled_workshop_cadence_splits_each_bundled_term_in_two() -> None:
    calendars = bundled_calendars()
    slots = run(
        item("två gånger per termin", follow_from="2024-08-01"),
        until="2024-12-31",
        calendars=calendars,
    )
    assert [(s.window_key, s.due) for s in slots] == [
        ("HT 2024 #1/2", d("2024-10-19")),
        ("HT 2024 #2/2", d("2024-12-20")),
    ]


def test_once_per_year_is_due_on_each_new_years_eve() -> None:
    slots = run(item("en gång per år", follow_from="2024-03-01"), until="2025-12-31")
    assert [(s.window_key, s.window_start, s.due) for s in slots] == [
        ("2024", d("2024-01-01"), d("2024-12-31")),
        ("2025", d("2025-01-01"), d("2025-12-31")),
    ]


def test_a_couple_of_times_per_year_gives_two_windows_per_year() -> None:
    slots = run(item("ett par gånger per år", follow_from="2025-01-01"), until="2025-12-31")
    assert [s.window_key for s in slots] == ["2025 #1/2", "2025 #2/2"]
    assert slots[0].window_start == d("2025-01-01")
    assert slots[1].window_start == day_after(slots[0].due)
    assert slots[1].due == d("2025-12-31")


def test_every_month_is_due_on_each_months_last_day() -> None:
    slots = run(item("varje månad", follow_from="2024-10-01"), until="2025-01-31")
    assert [(s.window_key, s.due) for s in slots] == [
        ("2024-10", d("2024-10-31")),
        ("2024-11", d("2024-11-30")),
        ("2024-12", d("2024-12-31")),
        ("2025-01", d("2025-01-31")),
    ]


def test_every_week_is_due_on_each_sunday() -> None:
    slots = run(item("varje vecka", follow_from="2024-11-04"), until="2024-11-24")
    assert [(s.window_key, s.window_start, s.due) for s in slots] == [
        ("2024-v45", d("2024-11-04"), d("2024-11-10")),
        ("2024-v46", d("2024-11-11"), d("2024-11-17")),
        ("2024-v47", d("2024-11-18"), d("2024-11-24")),
    ]


def test_series_start_at_follow_from_not_at_the_plans_start() -> None:
    slots = run(
        item("varje månad", plan_start="2023-01-01", follow_from="2024-11-01"), until="2024-12-31"
    )
    assert [s.window_key for s in slots] == ["2024-11", "2024-12"]


def test_series_stop_at_the_plans_end_and_at_until() -> None:
    assert [s.window_key for s in run(item("varje månad", plan_end="2024-09-30"))] == [
        "2024-08",
        "2024-09",
    ]
    assert [s.window_key for s in run(item("varje månad"), until="2024-09-15")] == [
        "2024-08",
        "2024-09",
    ]


def test_recurring_windows_fan_out_per_person() -> None:
    slots = run(item("varje månad", "enhetschef", follow_from="2024-11-01"), until="2024-12-31")
    assert len(slots) == 2 * len(ENHETSCHEFER)
    assert len({s.key for s in slots}) == len(slots)


# -- per meeting --------------------------------------------------------------------------


PER_NAMND = "en verksamhet per nämnd, start i september 2023 och färdigt december 2024"


def bundled_calendars() -> Calendars:
    with (ROOT / "plans" / "calendars.toml").open("rb") as fh:
        data = tomllib.load(fh)
    parsed = parse_calendars(data, "plans/calendars.toml")
    return parsed.calendars((d("2023-01-01"), d("2030-12-31")))


def test_per_meeting_items_get_one_occurrence_per_namnd_meeting_in_their_range() -> None:
    calendars = bundled_calendars()
    slots = run(
        item(PER_NAMND, plan_start="2023-09-01", plan_end="2026-12-31", follow_from="2023-09-01"),
        until="2026-12-31",
        calendars=calendars,
    )
    expected = [
        day for day in calendars.meeting_dates(NAMND) if d("2023-09-01") <= day <= d("2024-12-31")
    ]
    assert len(expected) == 14  # four in HT 2023, ten in 2024
    assert [s.due for s in slots] == expected
    assert slots[-1].due == d("2024-12-04")
    assert slots[0].due == d("2023-09-27")
    assert {s.person_id for s in slots} == {FC.id}
    assert len({s.window_key for s in slots}) == len(slots)


def test_per_meeting_series_start_at_follow_from() -> None:
    slots = run(
        item(PER_NAMND, plan_start="2023-09-01", follow_from="2024-11-01"),
        calendars=bundled_calendars(),
    )
    assert [s.due for s in slots] == [d("2024-11-20"), d("2024-12-04")]


def test_per_apt_items_follow_each_units_own_apt_calendar() -> None:
    slots = run(item("vid varje APT", "enhetschef", follow_from="2024-10-01"), until="2024-11-30")
    by_person: dict[int | None, list[date | None]] = {
        p.id: [s.due for s in slots if s.person_id == p.id] for p in ENHETSCHEFER
    }
    assert by_person[EC_NORR.id] == [d("2024-10-01"), d("2024-11-05")]
    assert by_person[EC_SODER.id] == [d("2024-10-03"), d("2024-11-14")]
    assert by_person[EC_DAGLIG.id] == [d("2024-10-17"), d("2024-11-21")]


# -- relative -----------------------------------------------------------------------------


PARENT_ID = 1
CHILD_ID = 2


def parent_done(on: str, occurrence_id: int = 100, person: PersonRecord = FC) -> DoneParent:
    assert person.id is not None
    return DoneParent(occurrence_id, PARENT_ID, person.id, d(on))


def child(phrase: str, *roles: str) -> ScheduleItem:
    return item(phrase, *roles, id=CHILD_ID, parent_id=PARENT_ID)


def test_relative_items_do_not_appear_while_the_parent_is_open() -> None:
    assert run(child("på nästkommande APT", "enhetschef")) == []
    other = DoneParent(100, 99, 1, d("2024-10-02"))  # a different item was done
    assert run(child("på nästkommande APT", "enhetschef"), done_parents=(other,)) == []


def test_relative_items_are_due_at_the_next_apt_of_each_persons_own_unit() -> None:
    slots = run(
        child("på nästkommande APT", "enhetschef"), done_parents=(parent_done("2024-10-02"),)
    )
    due: dict[int | None, date | None] = {s.person_id: s.due for s in slots}
    assert due == {
        EC_NORR.id: d("2024-11-05"),  # first Tuesday of November
        EC_GRUPP.id: d("2024-11-05"),
        EC_SODER.id: d("2024-10-03"),  # the unit's own dates
        EC_DAGLIG.id: d("2024-10-17"),  # the unit's own rule: third Thursday
    }
    assert all(s.parent_occurrence_id == 100 for s in slots)
    assert all(s.window_start == d("2024-10-02") for s in slots)


def test_nastkommande_means_strictly_after_the_day_the_parent_was_done() -> None:
    # Done on the day of an APT: that APT has passed, the next one is due.
    slots = run(
        child("på nästkommande APT", "enhetschef"), done_parents=(parent_done("2024-10-03"),)
    )
    due: dict[int | None, date | None] = {s.person_id: s.due for s in slots}
    assert due[EC_SODER.id] == d("2024-11-14")


def test_relative_items_for_the_committee_are_due_at_the_next_namnd() -> None:
    slots = run(
        child("vid nästkommande nämndsmöte", "ledamot"),
        done_parents=(parent_done("2024-11-20"),),
    )
    assert people(slots) == ids(LED_1, LED_2)
    assert {s.due for s in slots} == {d("2024-12-04")}


def test_each_done_parent_occurrence_gives_its_own_child_occurrence() -> None:
    slots = run(
        child("vid nästkommande nämndsmöte", "ledamot"),
        done_parents=(parent_done("2024-09-30", 100), parent_done("2024-11-20", 101)),
    )
    assert len(slots) == 4
    assert sorted({(s.parent_occurrence_id, s.due) for s in slots}) == [
        (100, d("2024-10-23")),
        (101, d("2024-12-04")),
    ]


def test_a_relative_item_after_the_last_known_meeting_has_no_due_date_yet() -> None:
    slots = run(
        child("vid nästkommande nämndsmöte", "ledamot"),
        done_parents=(parent_done("2025-02-01"),),
    )
    assert len(slots) == 2 and {s.due for s in slots} == {None}


# -- continuous and as needed ---------------------------------------------------------------


def test_continuous_items_get_one_check_in_window_per_term() -> None:
    slots = run(item("Fortlöpande", follow_from="2024-09-01"), until="2025-06-30")
    assert [(s.window_key, s.window_start, s.window_end, s.due) for s in slots] == [
        ("avstämning HT 2024", HT_2024.start, HT_2024.end, None),
        ("avstämning VT 2025", VT_2025.start, VT_2025.end, None),
    ]


def test_continuous_check_ins_fan_out_like_any_other_item() -> None:
    slots = run(item("Löpande", "enhetschef", follow_from="2024-09-01"), until="2024-12-31")
    assert people(slots) == ids(*ENHETSCHEFER)
    assert {s.window_key for s in slots} == {"avstämning HT 2024"}


def test_continuous_items_get_no_check_ins_when_configured_never() -> None:
    assert run(item("Fortlöpande"), checkin_every="never") == []


def test_continuous_check_ins_can_be_monthly() -> None:
    slots = run(
        item("Fortlöpande", follow_from="2024-11-01"), until="2024-12-31", checkin_every="month"
    )
    assert [s.window_key for s in slots] == ["avstämning 2024-11", "avstämning 2024-12"]


def test_as_needed_items_get_no_occurrences() -> None:
    assert run(item("Vid behov", "enhetschef")) == []


# -- in the store, on SQLite and PostgreSQL ---------------------------------------------------


def tillit_item(session: Session, area: int, number: str) -> int:
    item_id = session.scalar(
        select(Item.id)
        .join(Area, Item.area_id == Area.id)
        .join(Plan, Item.plan_id == Plan.id)
        .where(Plan.slug == "tillitsfull-dialog", Area.position == area, Item.number == number)
    )
    assert item_id is not None
    return item_id


def stored_occurrences(session: Session, area: int, number: str) -> list[tuple[str, date | None]]:
    rows = session.execute(
        select(Person.email, Occurrence.due)
        .join(Occurrence, Occurrence.person_id == Person.id)
        .where(Occurrence.item_id == tillit_item(session, area, number))
        .order_by(Person.email, Occurrence.due)
    ).tuples()
    return list(rows)


def in_socialforvaltningen(directory: Directory, role: str) -> list[PersonRecord]:
    """The holders of `role` whom Socialförvaltningen's plan reaches (BUF has its own)."""
    return [p for p in directory.with_role(role) if directory.administration_of(p) == "SOC"]


def test_the_store_gives_each_enhetschef_an_occurrence_of_their_own(app: App) -> None:
    app.init(at("2024-11-01"))
    with app.sessions() as session:
        routines = stored_occurrences(session, 6, "1.2")
        enhetschefer = in_socialforvaltningen(app.directory(session), "enhetschef")
    assert len(enhetschefer) >= 12
    assert routines == sorted((p.email, d("2024-12-31")) for p in enhetschefer)


def test_the_store_creates_relative_children_only_once_the_parent_is_done(app: App) -> None:
    app.init(at("2024-11-01"))
    with app.sessions() as session:
        assert stored_occurrences(session, 1, "2.1") == []  # the study visits are not done yet
        assert [due for _, due in stored_occurrences(session, 1, "2")] == [d("2026-05-31")]
    with transaction(app.sessions) as session:
        occurrence = session.scalar(
            select(Occurrence).where(Occurrence.item_id == tillit_item(session, 1, "2"))
        )
        assert occurrence is not None
        person = session.get(Person, occurrence.person_id)
        assert person is not None
        mark_done(
            session, occurrence.id, by=person, on=d("2024-11-20"), via="test", now=at("2024-11-20")
        )
        app.sync(session, at("2024-11-20"))
    with app.sessions() as session:
        children = stored_occurrences(session, 1, "2.1")
        ledamoter = in_socialforvaltningen(app.directory(session), "ledamot")
    # The visit was reported done on a nämnd day: "nästkommande" is the meeting after it.
    assert children == sorted((p.email, d("2024-12-04")) for p in ledamoter)


def test_a_person_listed_also_through_medarbetare_raises_it_at_apt_whatever_the_order() -> None:
    for written in (("enhetschef", "medarbetare"), ("medarbetare", "enhetschef")):
        slots = run(item("December 2024", *written))
        assert people(slots) == ids(*ENHETSCHEFER)
        assert all(s.is_apt for s in slots), written


def test_a_relative_item_follows_the_persons_own_parent_when_they_hold_both() -> None:
    # "Enhetschef: gör X" with "- återrapportera på nästkommande APT" (also Enhetschef): when one
    # enhetschef is done, only that enhetschef reports back, not every unit.
    slots = run(
        child("på nästkommande APT", "enhetschef"),
        done_parents=(
            parent_done("2024-10-02", 100, EC_NORR),
            parent_done("2024-10-09", 101, EC_SODER),
        ),
    )
    assert sorted((s.person_id, s.parent_occurrence_id, s.due) for s in slots) == [
        (EC_NORR.id, 100, d("2024-11-05")),
        (EC_SODER.id, 101, d("2024-11-14")),
    ]
