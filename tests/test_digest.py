"""What the weekly digest says about the bundled plan."""

from __future__ import annotations

from sqlalchemy import select

from service.app import App
from service.digest import digest_context
from service.mail.render import render
from service.models import Person
from tests.support import at

HEAD = "eva.ekstrom@example.se"


def test_an_item_fanned_out_to_many_is_one_line_naming_everyone(sqlite_app: App) -> None:
    sqlite_app.init(at("2024-11-01"))
    now = at("2025-01-13", "07:00")
    with sqlite_app.sessions() as session:
        head = session.scalar(select(Person).where(Person.email == HEAD))
        context = digest_context(sqlite_app, session, head, now=now, today=now.date())
    routines = [i for i in context.overdue if i.title.startswith("Säkerställ att alla enhetens")]
    assert len(routines) == 1
    assert routines[0].person_name.startswith("14 personer: ")
    assert routines[0].days_late == 13
    text = render("digest", context).text
    assert text.count("14 personer: ") == 1  # the progress section names no one


def test_it_lists_what_is_due_soon_and_links_each_item_to_the_dashboard(sqlite_app: App) -> None:
    sqlite_app.init(at("2024-11-01"))
    now = at("2024-12-23", "07:00")
    with sqlite_app.sessions() as session:
        head = session.scalar(select(Person).where(Person.email == HEAD))
        context = digest_context(sqlite_app, session, head, now=now, today=now.date())
    assert context.due_soon
    assert all(i.due and i.due <= now.date().replace(day=31) for i in context.due_soon)
    assert all(
        i.item_url.startswith(context.dashboard_url + "#aktivitet-") for i in context.due_soon
    )


def test_a_progress_line_for_two_roles_counts_the_people_not_the_first_role(
    sqlite_app: App,
) -> None:
    """ "Koppla aktiviteterna till budgetarbetet" is for the förvaltningschef and the HR-chef."""
    sqlite_app.init(at("2024-11-01"))
    now = at("2024-12-02", "07:00")
    with sqlite_app.sessions() as session:
        head = session.scalar(select(Person).where(Person.email == HEAD))
        context = digest_context(sqlite_app, session, head, now=now, today=now.date())
    both = [
        p for p in context.progress if p.title.startswith("Koppla aktiviteterna till budgetarbetet")
    ]
    assert [(p.role, p.total) for p in both] == [("ansvarig", 2)]
    text = render("digest", context).text
    assert "0 av 2 ansvariga klara" in text
    assert "förvaltningschefer" not in text


def test_after_left_out_calm_weeks_the_digest_speaks_of_the_time_since_the_last_one() -> None:
    from datetime import date

    from service.digest import since_previous

    monday = date(2024, 11, 25)
    assert since_previous(date(2024, 11, 18), monday).period == "förra veckan"
    assert since_previous(date(2024, 11, 18), monday).change == "sedan förra veckan"
    three = since_previous(date(2024, 11, 4), monday)
    assert three.period == "de senaste tre veckorna"
    assert three.change == "sedan förra brevet 4 november 2024"
    # A digest that went out on a Tuesday (Monday was a holiday): not whole weeks.
    odd = since_previous(date(2024, 11, 5), monday)
    assert odd.period == odd.change == "sedan förra brevet 5 november 2024"


def test_a_digest_after_skipped_weeks_counts_and_names_the_whole_period(sqlite_app: App) -> None:
    from datetime import timedelta

    from service.db import transaction
    from service.models import Occurrence, OutboxMessage

    sqlite_app.init(at("2024-11-01"))
    now = at("2025-01-13", "07:00")
    today = now.date()
    previous = today - timedelta(days=21)
    with transaction(sqlite_app.sessions) as session:
        head = session.scalar(select(Person).where(Person.email == HEAD))
        assert head is not None
        session.add(
            OutboxMessage(
                key=f"reminder:{head.id}:{previous.isoformat()}",
                kind="digest",
                person_id=head.id,
                to_addrs=[HEAD],
                local_date=previous,
                payload={},
                status="sent",
                next_attempt_at=now,
                created_at=now,
            )
        )
        # Done two weeks ago: in the weeks no digest told of.
        occ = session.scalars(select(Occurrence).where(Occurrence.status == "open")).first()
        assert occ is not None
        occ.status, occ.done_on, occ.done_by_id = "done", today - timedelta(days=14), occ.person_id
    with sqlite_app.sessions() as session:
        head = session.scalar(select(Person).where(Person.email == HEAD))
        context = digest_context(sqlite_app, session, head, now=now, today=today)
    assert context.week_start == previous and context.since == "de senaste tre veckorna"
    assert occ.id in {d.item.occurrence_id for d in context.done_last_week}
    assert context.plan_lines
    assert all("förra veckan" not in line for line in context.plan_lines)
    assert any("sedan förra brevet 23 december 2024" in line for line in context.plan_lines)
    mail = render("digest", context)
    assert "förra veckan" not in mail.text and "förra veckan" not in mail.html
    assert "KLARMARKERAT DE SENASTE TRE VECKORNA" in mail.text
    assert "Klarmarkerat de senaste tre veckorna" in mail.html
    assert "Klarmarkeringar gäller de senaste tre veckorna, 23 december 2024" in mail.text
