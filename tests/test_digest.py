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
