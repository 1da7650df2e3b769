"""A re-import or calendar edit reaches the stored occurrences; instances expand side by side."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from service import occurrences
from service.app import App
from service.completion import mark_done, postpone
from service.db import transaction
from service.mail.transports.memory import MemoryTransport
from service.models import AuditEntry, Item, Occurrence, Person, Plan, State
from service.occurrences import (
    CANCELLED_REASON,
    DONE,
    NOT_APPLICABLE,
    OPEN,
    OUTSIDE_REASON,
    RETIRED_REASON,
)
from service.pipeline import TickResult, tick
from service.plans.importer import match_areas
from tests.reliability.plans import PlanItem, import_plan, occurrence_ids, write_plan
from tests.support import ROOT, at, d, make_config

HR = "maria.sjoberg@example.se"  # the HR-chef of the fictional directory
HEAD = "eva.ekstrom@example.se"  # the förvaltningschef
START = at("2024-11-01")


@pytest.fixture
def ready(app: App) -> App:
    app.init(START)
    return app


def occurrence(app: App, occ_id: int) -> Occurrence:
    with app.sessions() as session:
        found = session.get(Occurrence, occ_id)
        assert found is not None
        return found


def audit(app: App, occ_id: int, action: str) -> list[AuditEntry]:
    with app.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.occurrence_id == occ_id, AuditEntry.action == action
                )
            )
        )


def done(app: App, occ_id: int, email: str, now: Any) -> None:
    with transaction(app.sessions) as session:
        by = session.scalar(select(Person).where(Person.email == email))
        assert by is not None
        mark_done(session, occ_id, by=by, on=app.local_date(now), via="web", now=now)


def items_mailed(result: TickResult, to: str | None = None) -> set[int]:
    """The occurrences in a tick's mails (to one address, or to anyone)."""
    return {i for m in result.mails if to is None or to in m["to"] for i in m["items"]}


def test_a_reimport_that_moves_a_deadline_moves_the_open_occurrence_only(
    ready: App, tmp_path: Path
) -> None:
    folder = tmp_path / "plans"
    items = [
        PlanItem("1", "Flyttas", "December 2024"),
        PlanItem("2", "Redan klar", "December 2024"),
    ]
    import_plan(ready, write_plan(folder, "test-flytt", items), at("2024-11-04"))
    moving = occurrence_ids(ready, "test-flytt", "1")[HR]
    finished = occurrence_ids(ready, "test-flytt", "2")[HR]
    done(ready, finished, HR, at("2024-11-05"))

    items = [PlanItem("1", "Flyttas", "Juni 2025"), PlanItem("2", "Redan klar", "Juni 2025")]
    import_plan(ready, write_plan(folder, "test-flytt", items), at("2024-11-15"))

    assert occurrence(ready, moving).due == d("2025-06-30")
    assert occurrence(ready, moving).status == OPEN
    (entry,) = audit(ready, moving, "occurrence.rescheduled")
    assert entry.actor == "schedule"
    assert entry.detail["from"]["due"] == "2024-12-31"
    assert entry.detail["to"]["due"] == "2025-06-30"
    kept = occurrence(ready, finished)
    assert (kept.status, kept.due) == (DONE, d("2024-12-31"))
    assert audit(ready, finished, "occurrence.rescheduled") == []
    assert occurrence_ids(ready, "test-flytt", "1") == {HR: moving}  # moved, not duplicated


def test_a_retired_item_is_closed_and_not_reminded(ready: App, tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    items = [
        PlanItem("1", "Finns kvar", "2024-12-04"),
        PlanItem("2", "Stryks ur planen", "2024-12-04"),
        PlanItem("3", "Stryks men var klar", "2024-12-04"),
    ]
    import_plan(ready, write_plan(folder, "test-stryk", items), at("2024-11-04"))
    kept = occurrence_ids(ready, "test-stryk", "1")[HR]
    retired = occurrence_ids(ready, "test-stryk", "2")[HR]
    finished = occurrence_ids(ready, "test-stryk", "3")[HR]
    done(ready, finished, HR, at("2024-11-05"))

    import_plan(ready, write_plan(folder, "test-stryk", items[:1]), at("2024-11-15"))

    closed = occurrence(ready, retired)
    assert (closed.status, closed.deferral_reason) == (NOT_APPLICABLE, RETIRED_REASON)
    assert len(audit(ready, retired, "occurrence.retired")) == 1
    assert occurrence(ready, finished).status == DONE
    assert audit(ready, finished, "occurrence.retired") == []

    reminded = items_mailed(tick(ready, at("2024-12-03", "07:30"), transport=MemoryTransport()), HR)
    assert kept in reminded
    assert retired not in reminded and finished not in reminded


def test_an_item_put_back_in_its_plan_is_reminded_again(ready: App, tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    items = [
        PlanItem("1", "Finns kvar", "Februari 2025"),
        PlanItem("2", "Tillbaka", "Februari 2025"),
        PlanItem("3", "Tillbaka men passerad", "2024-11-10"),
    ]
    import_plan(ready, write_plan(folder, "test-tillbaka", items), at("2024-11-04"))
    back = occurrence_ids(ready, "test-tillbaka", "2")[HR]
    passed = occurrence_ids(ready, "test-tillbaka", "3")[HR]
    import_plan(ready, write_plan(folder, "test-tillbaka", items[:1]), at("2024-11-05"))
    assert occurrence(ready, back).status == NOT_APPLICABLE

    import_plan(ready, write_plan(folder, "test-tillbaka", items), at("2024-11-20"))

    reopened = occurrence(ready, back)
    assert (reopened.status, reopened.deferral_reason) == (OPEN, "")
    assert len(audit(ready, back, "occurrence.reopened")) == 1
    assert occurrence_ids(ready, "test-tillbaka", "2") == {HR: back}  # the same, not a copy
    # Its date passed while it was out of the plan: it stays closed, no pile of overdue mail.
    assert occurrence(ready, passed).status == NOT_APPLICABLE
    assert audit(ready, passed, "occurrence.reopened") == []
    thirty_days_before = tick(ready, at("2025-01-29", "07:30"), transport=MemoryTransport())
    assert back in items_mailed(thirty_days_before, HR)


def two_areas(folder: Path, areas: list[tuple[str, str]]) -> Path:
    """A plan of one item per area, (area title, item title), each numbered 1."""
    lines = [
        '[plan]\nid = "test-omraden"\ntitle = "Testplan områden"\nadministration = "SOC"',
        "start = 2024-01-01\nend = 2026-12-31",
    ]
    for area, title in areas:
        lines.append(f'[[area]]\ntitle = "{area}"')
        lines.append(
            f'[[area.item]]\nnumber = "1"\ntitle = "{title}"\nresponsible = ["HR-chef"]\n'
            'deadline = "Februari 2025"'
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test-omraden.toml"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_area_taken_out_leaves_the_done_records_of_the_next_on_their_activity(
    ready: App, tmp_path: Path
) -> None:
    # Areas had been matched by position: without "Rekrytering", "Arbetsmiljö" took its
    # place and its done skyddsrond went with the retired item, to be reminded again.
    folder = tmp_path / "plans"
    both = [("Rekrytering", "Ta fram rekryteringsplan"), ("Arbetsmiljö", "Genomför skyddsrond")]
    import_plan(ready, two_areas(folder, both), at("2024-11-04"))
    with ready.sessions() as session:
        rounds = session.execute(
            select(Occurrence.id, Person.email)
            .join(Item, Occurrence.item_id == Item.id)
            .join(Person, Occurrence.person_id == Person.id)
            .where(Item.title == "Genomför skyddsrond")
        ).all()
    assert rounds
    for occ_id, email in rounds:
        done(ready, occ_id, email, at("2024-11-05"))

    import_plan(ready, two_areas(folder, both[1:]), at("2024-11-06"))

    with ready.sessions() as session:
        items = {i.title: i for i in session.scalars(select(Item).join(Plan).where(
            Plan.slug == "test-omraden"))}  # fmt: skip
        assert items["Genomför skyddsrond"].active and not items["Ta fram rekryteringsplan"].active
        assert items["Genomför skyddsrond"].area.position == 1
        kept = session.scalars(
            select(Occurrence).where(Occurrence.item_id == items["Genomför skyddsrond"].id)
        ).all()
        assert {o.id for o in kept} == {occ_id for occ_id, _ in rounds}
        assert {o.status for o in kept} == {DONE}


@pytest.mark.parametrize(
    ("stored", "wanted", "matched"),
    [
        (["A", "B", "C"], ["B", "C"], {0: 1, 1: 2}),  # A taken out
        (["A", "B"], ["B", "A"], {0: 1, 1: 0}),  # reordered
        (["A", "B"], ["A nytt namn", "b"], {0: 0, 1: 1}),  # renamed, and case
        (["A", "B"], ["A", "Ny", "B"], {0: 0, 2: 1}),  # one put in between
    ],
)
def test_areas_are_matched_by_title_then_by_place(
    stored: list[str], wanted: list[str], matched: dict[int, int]
) -> None:
    assert match_areas(stored, wanted) == matched


def test_a_postponed_item_taken_out_and_put_back_keeps_the_postponement(
    ready: App, tmp_path: Path
) -> None:
    # The retirement wrote over the person's reason, and her name on the postponement kept
    # the occurrence closed for good once the item was back.
    folder = tmp_path / "plans"
    items = [PlanItem("1", "Finns kvar", "Februari 2025"), PlanItem("2", "Skjuts upp", "Mars 2025")]
    import_plan(ready, write_plan(folder, "test-uppskjuten", items), at("2024-11-04"))
    later = occurrence_ids(ready, "test-uppskjuten", "2")[HR]
    with transaction(ready.sessions) as session:
        by = session.scalar(select(Person).where(Person.email == HR))
        assert by is not None
        postpone(session, later, by=by, to=d("2025-04-30"), reason="Väntar på budgetbeslut",
                 now=at("2024-11-05"))  # fmt: skip
    import_plan(ready, write_plan(folder, "test-uppskjuten", items[:1]), at("2024-11-06"))
    assert occurrence(ready, later).status == NOT_APPLICABLE

    import_plan(ready, write_plan(folder, "test-uppskjuten", items), at("2024-11-20"))

    back = occurrence(ready, later)
    assert (back.status, back.postponed_to, back.deferral_reason) == (
        OPEN,
        d("2025-04-30"),
        "Väntar på budgetbeslut",
    )
    assert back.deferred_by_id == by.id and back.deferred_at == at("2024-11-05")


@pytest.fixture
def own_calendars(db_url: str, tmp_path: Path) -> Iterator[tuple[App, Path]]:
    path = tmp_path / "calendars.toml"
    shutil.copy(ROOT / "plans" / "calendars.toml", path)
    instance = App(make_config(db_url, tmp_path, plans={"calendars": str(path)}))
    instance.init(START)
    yield instance, path
    instance.engine.dispose()


def meetings(app: App, slug: str) -> dict[str, tuple[int, str]]:
    with app.sessions() as session:
        rows = session.scalars(
            select(Occurrence)
            .join(Occurrence.item)
            .join(Plan)
            .where(Plan.slug == slug, Occurrence.window_key.startswith("möte "))
        )
        return {o.window_key: (o.id, o.status) for o in rows}


def move_meeting(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_moved_committee_meeting_moves_its_occurrence(
    own_calendars: tuple[App, Path], tmp_path: Path
) -> None:
    app, path = own_calendars
    series = "en verksamhet per nämnd, start i januari 2025 och färdigt mars 2025"
    plan = write_plan(
        tmp_path / "plans", "test-mote", [PlanItem("1", "Besök", series, "Förvaltningschef")]
    )
    import_plan(app, plan, at("2024-11-04"))
    before = meetings(app, "test-mote")
    assert set(before) == {"möte 2025-01-22", "möte 2025-02-26", "möte 2025-03-26"}
    january, february = before["möte 2025-01-22"][0], before["möte 2025-02-26"][0]
    done(app, january, HEAD, at("2025-01-22"))

    move_meeting(path, "2025-02-26", "2025-02-19")
    move_meeting(path, "2025-01-22", "2025-01-29")
    app.reload(at("2025-01-23"))

    after = meetings(app, "test-mote")
    # February's occurrence follows its meeting; January's, done, keeps its record and stands
    # for the moved meeting: no second one.
    assert after == {
        "möte 2025-01-22": (january, DONE),
        "möte 2025-02-19": (february, OPEN),
        "möte 2025-03-26": before["möte 2025-03-26"],
    }
    moved = occurrence(app, february)
    assert (moved.due, moved.window_end) == (d("2025-02-19"), d("2025-02-19"))
    (entry,) = audit(app, february, "occurrence.rescheduled")
    assert entry.detail["from"]["window"] == "möte 2025-02-26"
    assert entry.detail["to"]["window"] == "möte 2025-02-19"


def test_a_meeting_taken_out_of_the_calendar_closes_its_occurrence(
    own_calendars: tuple[App, Path], tmp_path: Path
) -> None:
    app, path = own_calendars
    series = "en verksamhet per nämnd, start i januari 2025 och färdigt mars 2025"
    plan = write_plan(
        tmp_path / "plans", "test-installt", [PlanItem("1", "Besök", series, "Förvaltningschef")]
    )
    import_plan(app, plan, at("2024-11-04"))
    before = meetings(app, "test-installt")
    february = before["möte 2025-02-26"][0]

    move_meeting(path, "2025-02-26, ", "")  # cancelled, and no meeting near it instead
    app.reload(at("2025-01-23"))

    after = meetings(app, "test-installt")
    assert after["möte 2025-02-26"] == (february, NOT_APPLICABLE)
    assert occurrence(app, february).deferral_reason == CANCELLED_REASON
    assert len(audit(app, february, "occurrence.meeting_cancelled")) == 1
    assert after["möte 2025-01-22"] == before["möte 2025-01-22"]  # the others stand
    assert after["möte 2025-03-26"] == before["möte 2025-03-26"]
    day_before = tick(app, at("2025-02-25", "07:30"), transport=MemoryTransport())
    assert february not in items_mailed(day_before)


def test_a_reimport_that_ends_a_meeting_series_earlier_closes_the_later_ones(
    ready: App, tmp_path: Path
) -> None:
    folder = tmp_path / "plans"
    series = "en verksamhet per nämnd, start i januari 2025 och färdigt mars 2025"
    import_plan(
        ready,
        write_plan(folder, "test-kortare", [PlanItem("1", "Besök", series, "Förvaltningschef")]),
        at("2024-11-04"),
    )
    before = meetings(ready, "test-kortare")
    march = before["möte 2025-03-26"][0]

    shorter = series.replace("mars 2025", "februari 2025")
    import_plan(
        ready,
        write_plan(folder, "test-kortare", [PlanItem("1", "Besök", shorter, "Förvaltningschef")]),
        at("2024-11-15"),
    )

    after = meetings(ready, "test-kortare")
    assert after["möte 2025-03-26"] == (march, NOT_APPLICABLE)
    assert occurrence(ready, march).deferral_reason == OUTSIDE_REASON
    assert len(audit(ready, march, "occurrence.meeting_dropped")) == 1
    assert after["möte 2025-01-22"] == before["möte 2025-01-22"]
    assert after["möte 2025-02-26"] == before["möte 2025-02-26"]


def run_together(*calls: Callable[[], object]) -> list[object]:
    """Start the calls in threads at the same moment; their results, or the exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.postgres
def test_two_instances_expanding_at_once_both_succeed(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (App(make_config(postgres_url, tmp_path)) for _ in range(2))
    try:
        first.init(START)
        now = at("2024-11-04")
        items = [PlanItem(str(n), f"Aktivitet {n}", "2024-12-04") for n in range(1, 21)]
        plan = write_plan(tmp_path / "plans", "test-samtidigt", items)
        with transaction(first.sessions) as session:
            first.import_plan(session, plan, now)  # stored, not yet expanded
            session.execute(delete(State).where(State.key == "expanded"))

        # Both have read what is stored before either inserts: the moment the race is about.
        real = occurrences.insert_missing
        gate = threading.Barrier(2, timeout=30)

        def after_both_expanded(*args: Any, **kwargs: Any) -> int:
            gate.wait()
            return real(*args, **kwargs)

        monkeypatch.setattr(occurrences, "insert_missing", after_both_expanded)

        def sync(app: App) -> int:
            with transaction(app.sessions) as session:
                return app.sync(session, now, force=True)

        results = run_together(lambda: sync(first), lambda: sync(second))

        assert all(isinstance(r, int) for r in results), results
        assert sum(r for r in results if isinstance(r, int)) == len(items)
        with first.sessions() as session:
            keys = session.execute(
                select(Occurrence.item_id, Occurrence.person_id, Occurrence.window_key)
            ).all()
            assert len(keys) == len(set(keys))
            assert session.scalar(select(State.value).where(State.key == "expanded"))
        assert (
            len({n for n in range(1, 21) if occurrence_ids(first, "test-samtidigt", str(n))}) == 20
        )
    finally:
        first.engine.dispose()
        second.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_instances_initialising_a_fresh_database_at_once_both_succeed(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}" if kind == "sqlite" else None
    url = url or str(request.getfixturevalue("postgres_url"))
    first, second = (App(make_config(url, tmp_path)) for _ in range(2))
    try:
        results = run_together(lambda: first.init(START), lambda: second.init(START))

        assert all(isinstance(r, list) for r in results), results
        assert sorted(bool(r) for r in results) == [False, True]  # one loaded, one found it done
        with first.sessions() as session:
            slugs = session.scalars(select(Plan.slug)).all()
        assert slugs and len(slugs) == len(set(slugs))
    finally:
        first.engine.dispose()
        second.engine.dispose()
