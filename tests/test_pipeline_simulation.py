"""A simulated winter 2024/25 over the bundled plans: the rhythm of the mails as people see it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import holidays
import pytest
from sqlalchemy import select

from service import simulation
from service.app import App
from service.models import Item, Occurrence, Person, Plan
from service.reminders import QuietPeriods
from tests.reliability.configfile import write_config_file
from tests.support import make_config

START, END = date(2024, 11, 1), date(2025, 1, 31)
DEADLINE = date(2024, 12, 31)
ROUTINES = "Säkerställ att alla enhetens rutiner"  # tillitsfull-dialog, area 6, item 1.2


@dataclass(frozen=True)
class SimOccurrence:
    """An occurrence of the simulation's throwaway store, as it stood at the end."""

    id: int
    plan: str
    number: str
    title: str
    person: str
    due: date | None
    status: str


@dataclass(frozen=True)
class Simulation:
    mails: list[dict[str, Any]]
    summary: dict[str, Any]
    occurrences: dict[int, SimOccurrence]


def closed_days() -> set[date]:
    # Straight from the holidays package: public holidays plus julafton, nyårsafton and
    # midsommarafton ("de_facto"), when the offices are closed.
    days = holidays.country_holidays(
        "SE", years=range(START.year, END.year + 1), categories=("public", "de_facto")
    )
    return set(days.keys())


def is_working_day(day: date) -> bool:
    return day.isoweekday() < 6 and day not in closed_days()


def day_of(mail: dict[str, Any]) -> date:
    return date.fromisoformat(mail["at"][:10])


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulation]:
    """One run, shared by the tests below. The simulation's store is thrown away when it ends,
    so its occurrences are read just before that, to tell which mail is about what."""
    tmp_path = tmp_path_factory.mktemp("simulation")
    app = App(make_config(f"sqlite:///{tmp_path / 'bevakning.db'}", tmp_path))
    occurrences: dict[int, SimOccurrence] = {}
    run = simulation._run

    def recording_run(source: App, sim: App, *args: Any) -> dict[str, Any]:
        result = run(source, sim, *args)
        with sim.sessions() as session:
            rows = session.execute(
                select(Occurrence, Item, Plan, Person)
                .join(Item, Occurrence.item_id == Item.id)
                .join(Plan, Item.plan_id == Plan.id)
                .join(Person, Occurrence.person_id == Person.id)
            ).all()
            for occ, item, plan, person in rows:
                occurrences[occ.id] = SimOccurrence(
                    occ.id, plan.slug, item.number, item.title, person.email, occ.due, occ.status
                )
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simulation, "_run", recording_run)
        result = simulation.simulate(app, START, END, done_rate=0.5, seed=1)
    app.engine.dispose()
    yield Simulation(result["mails"], result["summary"], occurrences)


def routine_occurrences(sim: Simulation) -> list[SimOccurrence]:
    found = [
        o
        for o in sim.occurrences.values()
        if o.plan == "tillitsfull-dialog" and o.number == "1.2" and o.title.startswith(ROUTINES)
    ]
    assert found, "the bundled plan should have the routines item for every enhetschef"
    assert {o.due for o in found} == {DEADLINE}
    return found


def test_it_sends_mail(simulated: Simulation) -> None:
    kinds = Counter(m["kind"] for m in simulated.mails)
    assert kinds["reminder"] > 0 and kinds["digest"] > 0
    assert all(m["status"] == "sent" for m in simulated.mails)


def test_it_sends_nothing_on_a_weekend_or_a_public_holiday(simulated: Simulation) -> None:
    off = sorted({day_of(m) for m in simulated.mails if not is_working_day(day_of(m))})
    assert off == []
    assert simulated.summary["mails_on_weekends_or_holidays"] == 0


def test_it_sends_nothing_on_christmas_eve_or_new_years_eve(simulated: Simulation) -> None:
    days = {day_of(m) for m in simulated.mails}
    assert date(2024, 12, 24) not in days
    assert date(2024, 12, 31) not in days


def test_a_person_gets_at_most_one_reminder_mail_a_day(simulated: Simulation) -> None:
    per_person_day = Counter(
        (address, day_of(m))
        for m in simulated.mails
        if m["kind"] in ("reminder", "checkin")
        for address in m["to"]
    )
    assert per_person_day
    assert max(per_person_day.values()) == 1
    assert simulated.summary["max_reminder_mails_per_person_per_day"] == 1


def test_the_digest_goes_out_once_every_week_on_its_first_open_day(
    simulated: Simulation,
) -> None:
    quiet = QuietPeriods.from_settings({})  # config.toml's defaults

    def is_open(day: date) -> bool:
        return is_working_day(day) and not quiet.contains(day)

    digests = [m for m in simulated.mails if m["kind"] == "digest"]
    # Each head and the kommundirektör at most once a week; Socialförvaltningen's head (never
    # a calm week there) every week.
    per_recipient = Counter((day_of(m).isocalendar()[:2], a) for m in digests for a in m["to"])
    assert set(per_recipient.values()) == {1}
    by_week = Counter(
        day_of(m).isocalendar()[:2] for m in digests if "eva.ekstrom@example.se" in m["to"]
    )
    monday = START - timedelta(days=START.weekday())
    expected = {}
    while monday <= END:
        first = monday
        while not is_open(first) and first < monday + timedelta(days=6):
            first += timedelta(days=1)
        # Not in a week that is quiet throughout, nor in the week the store started in
        # after its digest day (START is a Friday).
        if is_open(first) and first >= START:
            expected[monday.isocalendar()[:2]] = first
        monday += timedelta(days=7)
    assert set(by_week) == set(expected)
    assert set(by_week.values()) == {1}
    for mail in digests:
        assert day_of(mail) == expected[day_of(mail).isocalendar()[:2]]


def test_a_digest_monday_that_is_a_holiday_moves_to_the_next_working_day(
    simulated: Simulation,
) -> None:
    digest_days = {day_of(m) for m in simulated.mails if m["kind"] == "digest"}
    # 2025-01-06 is trettondedag jul, a Monday.
    assert date(2025, 1, 6) not in digest_days
    assert date(2025, 1, 7) in digest_days


def test_the_december_items_are_reminded_before_their_deadline(simulated: Simulation) -> None:
    routines = routine_occurrences(simulated)
    for occ in routines:
        before = [
            m
            for m in simulated.mails
            if occ.id in m["items"] and occ.person in m["to"] and day_of(m) < DEADLINE
        ]
        assert before, f"{occ.person} got no reminder about the routines before the deadline"
        assert all(m["kind"] == "reminder" for m in before)


def test_someone_who_did_not_mark_it_done_gets_overdue_reminders_after_it(
    simulated: Simulation,
) -> None:
    late = [o for o in routine_occurrences(simulated) if o.status == "open"]
    assert late, "with done_rate 0.5 someone should have left the routines open"
    for occ in late:
        after = [
            day_of(m)
            for m in simulated.mails
            if occ.id in m["items"] and occ.person in m["to"] and m["kind"] == "reminder"
            if day_of(m) > DEADLINE
        ]
        assert after, f"{occ.person} got no overdue reminder about the routines"
    # And the ones who did it hear no more about it after the deadline.
    done = {o.id for o in routine_occurrences(simulated) if o.status == "done"}
    assert done
    assert not [
        m
        for m in simulated.mails
        if m["kind"] == "reminder" and day_of(m) > DEADLINE and done & set(m["items"])
    ]


def test_nobody_gets_two_mails_of_any_kind_on_one_day(simulated: Simulation) -> None:
    per_person_day = Counter((a, day_of(m)) for m in simulated.mails for a in m["to"])
    assert max(per_person_day.values()) == 1
    assert simulated.summary["person_days_with_two_or_more_mails"] == 0
    assert simulated.summary["max_mails_per_person_per_day"] == 1


def test_every_dated_deadline_is_reminded_before_it_falls(simulated: Simulation) -> None:
    summary = simulated.summary
    assert summary["dated_deadlines"] > 0
    assert summary["dated_deadlines_not_reminded_before"] == []
    assert summary["every_dated_deadline_reminded_before"] is True


def test_the_head_gets_her_mail_in_the_digest_except_the_last_two_reminders(
    simulated: Simulation,
) -> None:
    head = "eva.ekstrom@example.se"
    to_her = [m for m in simulated.mails if head in m["to"]]
    assert [m for m in to_her if m["kind"] == "digest"]
    for mail in to_her:
        if mail["kind"] == "digest":
            continue
        # Only the day-before and due-day reminders keep their day; nothing escalates to her
        # outside the digest.
        assert mail["kind"] == "reminder"
        dues = {simulated.occurrences[i].due for i in mail["items"]}
        own = [i for i in mail["items"] if simulated.occurrences[i].person == head]
        assert own, mail
        soonest = min(simulated.occurrences[i].due or date.max for i in own)
        assert soonest <= next_working_day(day_of(mail)), (mail, dues)
    weeks = (END - START).days / 7
    assert simulated.summary["mails_per_person"][head] <= weeks + 4
    role = simulated.summary["mails_per_role_per_year"]["förvaltningschef"]
    assert role["max"] == simulated.summary["mails_per_person_per_year"][head]


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def test_the_summary_adds_up(simulated: Simulation) -> None:
    summary = simulated.summary
    assert summary["from"] == START.isoformat() and summary["to"] == END.isoformat()
    assert summary["mails"] == len(simulated.mails)
    assert summary["digests"] == Counter(m["kind"] for m in simulated.mails)["digest"]
    assert summary["marked_done"] > 0


def test_the_simulate_command_prints_mails_and_a_summary_as_json(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'bevakning.db'}"
    config = write_config_file(make_config(sqlite_url, tmp_path), tmp_path / "config.toml")
    bevakning = Path(sys.executable).with_name("bevakning")
    done = subprocess.run(
        [
            str(bevakning),
            "--config",
            str(config),
            "simulate",
            "--from",
            "2024-11-25",
            "--to",
            "2024-12-06",
            "--done-rate",
            "0.5",
            "--seed",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("BEVAKNING_")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"mails", "summary"}
    assert result["mails"]
    for mail in result["mails"]:
        assert {"at", "to", "cc", "kind", "subject", "items", "message_id"} <= set(mail)
        assert isinstance(mail["to"], list) and isinstance(mail["cc"], list)
        assert isinstance(mail["items"], list)
        assert mail["kind"] in ("reminder", "escalation", "checkin", "digest")
        assert mail["message_id"] and mail["subject"]
        date.fromisoformat(mail["at"][:10])
    assert result["summary"]["mails"] == len(result["mails"])
    assert result["summary"]["mails_on_weekends_or_holidays"] == 0
