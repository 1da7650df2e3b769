from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import pytest

from service.i18n import (
    format_date_short_sv,
    format_date_sv,
    format_datetime_sv,
    format_days_late_sv,
    format_period_sv,
    format_relative_sv,
    greeting_sv,
    join_sv,
    plural_sv,
    role_plural_sv,
    weekday_name_sv,
)
from service.inbox.answers import AnswerContext, AnswerLine
from service.mail.context import (
    ContinuousRow,
    DeferredRow,
    DigestContext,
    DoneRow,
    EscalationContext,
    FailedDelivery,
    MailItem,
    ProgressRow,
    ReminderContext,
)
from service.mail.render import KINDS, RenderedMail, make_environment, render

TODAY = date(2024, 12, 24)
PLAN = "Handlingsplan tillitsfull dialog"


def item(n: int, **changes: object) -> MailItem:
    base = MailItem(
        occurrence_id=n,
        plan_title=PLAN,
        area_title="Dialog och delaktighet",
        number=f"1.{n}",
        title=f"Aktivitet nummer {n}",
        deadline_phrase="December 2024",
        due=date(2024, 12, 31),
        done_url=f"https://bevakning.example.se/klar/token-{n}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def reminder(**changes: object) -> ReminderContext:
    base = ReminderContext(
        person_name="Anna Andersson",
        today=TODAY,
        overdue=(item(1, due=date(2024, 11, 30), deadline_phrase="November 2024", days_late=24),),
        due_today=(),
        upcoming=(item(2),),
        checkins=(),
        public_url="https://bevakning.example.se/",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def answer() -> AnswerContext:
    line = AnswerLine(1, "2.1", "Workshop", "Tillitsfull dialog", "done", undo_url="https://x/u")
    return AnswerContext("Anna Berg", TODAY, "applied", (line,), (), (), "https://x")


def escalation() -> EscalationContext:
    return EscalationContext(
        manager_name="Bo Berg",
        today=TODAY,
        items=(
            item(
                1, person_name="Anna Andersson", days_late=24, due=date(2024, 11, 30), done_url=""
            ),
            item(
                2, person_name="Cecilia Cederlund", days_late=15, due=date(2024, 12, 9), done_url=""
            ),
            item(
                3, person_name="Anna Andersson", days_late=14, due=date(2024, 12, 10), done_url=""
            ),
        ),
        escalate_after_days=14,
        public_url="https://bevakning.example.se/",
    )


def digest() -> DigestContext:
    page = "https://bevakning.example.se/aktivitet/"
    return DigestContext(
        recipient_name="Doris Dahl",
        today=date(2024, 12, 9),
        week_start=date(2024, 12, 2),
        week_end=date(2024, 12, 8),
        overdue=(
            item(
                1,
                person_name="Anna Andersson",
                days_late=9,
                due=date(2024, 11, 30),
                item_url=page + "1",
                done_url="",
            ),
        ),
        due_soon=(item(2, person_name="Bo Berg", item_url=page + "2", done_url=""),),
        due_soon_days=14,
        done_last_week=(
            DoneRow(
                item=item(3, item_url=page + "3", done_url=""),
                done_on=date(2024, 12, 4),
                done_by="Cecilia Cederlund",
                comment="Genomfört på APT.",
                result_note="Fler medarbetare tar upp frågor direkt.",
            ),
        ),
        deferred=(
            DeferredRow(
                item=item(4, item_url=page + "4", done_url=""),
                kind="postponed",
                proposed_date=date(2025, 3, 31),
                reason="Ny chef börjar i februari.",
                by="Bo Berg",
            ),
            DeferredRow(
                item=item(5, done_url=""),
                kind="not_applicable",
                proposed_date=None,
                reason="Enheten är nedlagd.",
                by="Bo Berg",
            ),
        ),
        continuous=(
            ContinuousRow(
                plan_title=PLAN,
                number="2.1",
                title="Dialog i vardagen",
                person_name="Anna Andersson",
                last_checkin=date(2024, 9, 2),
                item_url=page + "21",
            ),
            ContinuousRow(
                plan_title=PLAN,
                number="2.2",
                title="Öppen dörr",
                person_name="Bo Berg",
                last_checkin=None,
            ),
        ),
        progress=(
            ProgressRow(
                plan_title=PLAN,
                area_title="Dialog och delaktighet",
                number="1.1",
                title="Workshop om tillit",
                role="enhetschef",
                done=3,
                total=12,
            ),
            ProgressRow(
                plan_title=PLAN,
                area_title="Dialog och delaktighet",
                number="1.2",
                title="Medarbetarsamtal",
                role="verksamhetschef",
                done=1,
                total=1,
            ),
        ),
        failed=(
            FailedDelivery(
                to="okand@example.se",
                subject="Bevakning: 1 kommande aktivitet",
                error="550 5.1.1 User unknown",
                failed_at=datetime(2024, 12, 5, 6, 30),
            ),
        ),
        dashboard_url="https://bevakning.example.se/oversikt",
        public_url="https://bevakning.example.se/",
    )


def visible(html: str) -> str:
    """The HTML's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    body = html.split("<body", 1)[1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split()).replace(" ,", ",")


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


# --- Swedish formatting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "long", "short", "weekday"),
    [
        (date(2024, 12, 31), "31 december 2024", "31 dec. 2024", "tisdag"),
        (date(2025, 1, 1), "1 januari 2025", "1 jan. 2025", "onsdag"),
        (date(2025, 6, 6), "6 juni 2025", "6 juni 2025", "fredag"),
    ],
)
def test_it_formats_dates_in_swedish(d: date, long: str, short: str, weekday: str) -> None:
    assert format_date_sv(d) == long
    assert format_date_short_sv(d) == short
    assert weekday_name_sv(d) == weekday


# Choices: the nearest days get words; under two weeks counts days (a vague "om 1 vecka" for
# six days would be unkind to someone planning); then weeks, months and years from Babel.
@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, "i dag"),
        (1, "i morgon"),
        (-1, "i går"),
        (2, "om 2 dagar"),
        (7, "om 7 dagar"),
        (13, "om 13 dagar"),
        (14, "om 2 veckor"),
        (21, "om 3 veckor"),
        (30, "om 4 veckor"),
        (60, "om 2 månader"),
        (-12, "för 12 dagar sedan"),
        (-21, "för 3 veckor sedan"),
        (-90, "för 3 månader sedan"),
        (-700, "för 23 månader sedan"),
        (-720, "för 2 år sedan"),  # never "för 24 månader sedan" beside "för 2 år sedan"
        (-740, "för 2 år sedan"),
        (400, "om 13 månader"),
    ],
)
def test_it_says_how_far_away_a_date_is(days: int, expected: str) -> None:
    today = date(2024, 12, 1)
    due = date.fromordinal(today.toordinal() + days)
    assert format_relative_sv(due, today) == expected


@pytest.mark.parametrize(
    ("days", "expected"), [(0, "0 dagar"), (1, "1 dag"), (2, "2 dagar"), (12, "12 dagar")]
)
def test_it_counts_days_late_in_swedish(days: int, expected: str) -> None:
    assert format_days_late_sv(days) == expected


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0 aktiviteter"), (1, "1 aktivitet"), (2, "2 aktiviteter")]
)
def test_it_chooses_the_plural_form(n: int, expected: str) -> None:
    assert plural_sv(n, "aktivitet", "aktiviteter") == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [([], ""), (["a"], "a"), (["a", "b"], "a och b"), (["a", "b", "c"], "a, b och c")],
)
def test_it_joins_lists_without_serial_comma(parts: list[str], expected: str) -> None:
    assert join_sv(parts) == expected


@pytest.mark.parametrize(
    ("role", "n", "expected"),
    [
        ("enhetschef", 12, "enhetschefer"),
        ("enhetschef", 1, "enhetschef"),
        ("HR-chef", 2, "HR-chefer"),
        ("medarbetare", 5, "medarbetare"),
        ("ledamot", 9, "ledamöter"),
    ],
)
def test_it_puts_role_titles_in_plural(role: str, n: int, expected: str) -> None:
    assert role_plural_sv(role, n) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2024, 12, 2), date(2024, 12, 8), "2–8 december 2024"),
        (date(2024, 11, 25), date(2024, 12, 1), "25 november – 1 december 2024"),
        (date(2024, 12, 30), date(2025, 1, 5), "30 december 2024 – 5 januari 2025"),
    ],
)
def test_it_formats_a_week_as_a_period(start: date, end: date, expected: str) -> None:
    assert format_period_sv(start, end) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 12, 5, 6, 30), "5 december 2024 kl. 07:30"),  # naive = UTC, CET +1
        (datetime(2024, 7, 1, 5, 0), "1 juli 2024 kl. 07:00"),  # CEST +2
        (datetime(2024, 7, 1, 5, 0, 59, 999), "1 juli 2024 kl. 07:00"),  # minutes, not rounded
        (datetime(2024, 10, 27, 0, 30, tzinfo=UTC), "27 oktober 2024 kl. 02:30"),  # DST night
        (datetime(2024, 10, 27, 1, 30, tzinfo=UTC), "27 oktober 2024 kl. 02:30"),
    ],
)
def test_it_shows_stored_utc_times_in_stockholm_time(moment: datetime, expected: str) -> None:
    assert format_datetime_sv(moment) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Anna Andersson", "Hej Anna!"), ("  Ann-Marie  Berg ", "Hej Ann-Marie!"), ("", "Hej!")],
)
def test_it_greets_by_first_name(name: str, expected: str) -> None:
    assert greeting_sv(name) == expected


# --- Rendering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "context"),
    [("reminder", reminder()), ("escalation", escalation()), ("digest", digest())],
)
def test_it_renders_each_kind_with_swedish_dates(kind: str, context: object) -> None:
    mail = render(kind, context)
    assert isinstance(mail, RenderedMail)
    assert mail.subject.startswith("Bevakning")
    assert "30 november 2024" in mail.text or "31 december 2024" in mail.text
    assert "30 november 2024" in mail.html or "31 december 2024" in mail.html
    for part in (mail.text, visible(mail.html)):
        assert "Hej " in part


def test_it_shows_due_dates_with_a_relative_phrase() -> None:
    mail = render("reminder", reminder())
    for part in (mail.text, visible(mail.html)):
        assert "31 december 2024, om 7 dagar" in part
        assert "30 november 2024, för 3 veckor sedan" in part
        assert "Klart när? December 2024" in part and "Klart när?:" not in part


def test_it_bundles_sections_in_order_and_omits_empty_ones() -> None:
    ctx = reminder(
        due_today=(item(3, due=TODAY, deadline_phrase="2024-12-24"),),
        checkins=(item(4, due=None, deadline_phrase="Fortlöpande"),),
    )
    mail = render("reminder", ctx)
    for part in (mail.text, visible(mail.html)):
        titles = ["Försenat", "Klart i dag", "Kommande", "Avstämning av löpande aktiviteter"]
        positions = [part.upper().index(t.upper()) for t in titles]
        assert positions == sorted(positions)

    only_upcoming = render("reminder", reminder(overdue=()))
    for part in (only_upcoming.text, visible(only_upcoming.html)):
        assert "Kommande" in part or "KOMMANDE" in part
        assert "Försenat" not in part and "FÖRSENAT" not in part
        assert "Avstämning av löpande" not in part and "AVSTÄMNING AV" not in part


def test_it_offers_a_check_in_rather_than_done_for_continuous_items() -> None:
    ctx = reminder(
        overdue=(), upcoming=(), checkins=(item(4, due=None, deadline_phrase="Fortlöpande"),)
    )
    mail = render("reminder", ctx)
    assert "Rapportera läget" in mail.html
    assert "Markera som klar" not in mail.html
    assert mail.subject == "Bevakning: hur går det med 1 löpande aktivitet?"


@pytest.mark.parametrize(
    ("counts", "subject"),
    [
        ((1, 0, 0, 0), "Bevakning: 1 försenad aktivitet"),
        ((2, 0, 1, 0), "Bevakning: 2 försenade aktiviteter och 1 kommande"),
        ((0, 1, 0, 0), "Bevakning: 1 aktivitet att klara i dag"),
        ((1, 2, 3, 0), "Bevakning: 1 försenad aktivitet, 2 att klara i dag och 3 kommande"),
        ((0, 0, 1, 0), "Bevakning: 1 kommande aktivitet"),
        ((0, 0, 2, 1), "Bevakning: 2 kommande aktiviteter och 1 avstämning"),
        ((0, 0, 0, 2), "Bevakning: hur går det med 2 löpande aktiviteter?"),
    ],
)
def test_reminder_subject_says_what_matters_most_with_right_plural(
    counts: tuple[int, int, int, int], subject: str
) -> None:
    o, t, u, c = counts
    ctx = reminder(
        overdue=tuple(item(10 + i, days_late=3) for i in range(o)),
        due_today=tuple(item(20 + i, due=TODAY) for i in range(t)),
        upcoming=tuple(item(30 + i) for i in range(u)),
        checkins=tuple(item(40 + i, due=None) for i in range(c)),
    )
    assert render("reminder", ctx).subject == subject


def test_escalation_lists_each_persons_overdue_items_with_days_late() -> None:
    mail = render("escalation", escalation())
    assert mail.subject == "Bevakning: 3 aktiviteter försenade i minst 14 dagar"
    for part in (mail.text, visible(mail.html)):
        assert "Anna Andersson och Cecilia Cederlund" in part
        assert "24 dagar sent" in part and "15 dagar sent" in part
    # grouped: Anna's two items come under one heading
    assert mail.html.count("Anna Andersson</h2>") == 1


def test_digest_has_every_section_and_links_to_the_dashboard_and_items() -> None:
    mail = render("digest", digest())
    assert mail.subject == "Bevakning: veckosammanfattning vecka 50 – 1 försenad aktivitet"
    for part in (mail.text, visible(mail.html)):
        for section in (
            "Försenat",
            "Klart inom 14 dagar",
            "Klarmarkerat förra veckan",
            "Uppskjutet / Inte aktuellt",
            "Löpande aktiviteter och senaste avstämning",
            "Framsteg per plan och område",
            "Misslyckade utskick",
        ):
            assert section.upper() in part.upper()
        assert "Anna Andersson · 9 dagar sent" in part
        assert "3 av 12 enhetschefer klara" in part
        assert "1 av 1 verksamhetschef klar" in part
        assert "Vad blev resultatet? Fler medarbetare" in part
        assert "Uppskjuten till 31 mars 2025" in part
        assert "Inte aktuell" in part
        assert "senast avstämd 2 september 2024" in part
        assert "ingen avstämning ännu" in part
        assert "5 december 2024 kl. 07:30" in part
        assert "2–8 december 2024" in part
    links = hrefs(mail.html)
    assert "https://bevakning.example.se/oversikt" in links
    for n in ("1", "2", "3", "4", "21"):
        assert f"https://bevakning.example.se/aktivitet/{n}" in links


def test_digest_says_so_when_nothing_is_overdue() -> None:
    mail = render("digest", replace(digest(), overdue=(), failed=()))
    assert mail.subject == "Bevakning: veckosammanfattning vecka 50 – inget försenat"
    assert "Inga försenade aktiviteter." in mail.text
    assert "Misslyckade utskick" not in mail.html


def test_an_html_title_is_escaped_in_html() -> None:
    evil = "<script>alert(1)</script>"
    ctx = reminder(
        upcoming=(item(2, title=evil, plan_title=evil, person_name=evil),), person_name=evil
    )
    for kind, context in (
        ("reminder", ctx),
        (
            "escalation",
            replace(escalation(), items=(item(1, title=evil, person_name=evil, days_late=20),)),
        ),
    ):
        html = render(kind, context).html
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_title_with_cr_lf_never_puts_a_line_break_in_the_subject() -> None:
    evil = "Aktivitet\r\nBcc: x@evil.example"
    ctx = reminder(upcoming=(item(2, title=evil),), person_name=evil)
    mail = render("reminder", ctx)
    assert "\r" not in mail.subject and "\n" not in mail.subject
    # and the title stays on one line in the body too
    assert "Aktivitet Bcc: x@evil.example" in mail.text
    assert "\nBcc:" not in mail.text
    for kind, context in (
        ("escalation", replace(escalation(), manager_name=evil)),
        ("digest", replace(digest(), recipient_name=evil)),
    ):
        subject = render(kind, context).subject
        assert "\r" not in subject and "\n" not in subject


@pytest.mark.parametrize("kind", KINDS)
def test_html_is_outlook_safe_with_inline_styles(kind: str) -> None:
    context = {
        "reminder": reminder(),
        "escalation": escalation(),
        "digest": digest(),
        "answer": answer(),
    }[kind]
    html = render(kind, context).html
    assert '<html lang="sv"' in html
    assert 'role="presentation"' in html
    assert 'class="preheader" style="' in html
    assert len(re.findall(r'<(?:td|h1|h2|p|a)\b[^>]*style="', html)) > 5
    # what stays in <style> is only the @media rule for narrow screens, never the look itself
    for block in re.findall(r"<style>(.*?)</style>", html, flags=re.S):
        assert block.strip().startswith("@media")
    for forbidden in ("display: flex", "display:flex", "grid", "<script", "<link"):
        assert forbidden not in html


def test_each_items_done_url_appears_as_a_link() -> None:
    ctx = reminder(
        due_today=(item(3, due=TODAY),),
        checkins=(item(4, due=None, deadline_phrase="Fortlöpande"),),
    )
    mail = render("reminder", ctx)
    links = hrefs(mail.html)
    for it in (*ctx.overdue, *ctx.due_today, *ctx.upcoming, *ctx.checkins):
        assert it.done_url in links
        assert it.done_url in mail.text


def test_an_item_without_a_done_link_gets_no_button() -> None:
    mail = render("reminder", reminder(overdue=(), upcoming=(item(2, done_url=""),)))
    assert "Markera som klar" not in mail.html


def test_apt_items_tell_the_manager_to_raise_them_at_apt() -> None:
    mail = render("reminder", reminder(upcoming=(item(2, is_apt=True),)))
    assert "APT" in mail.text and "APT" in mail.html


def test_the_footer_says_why_and_how_often() -> None:
    ctx = reminder(calendar_url="https://bevakning.example.se/kalender/abc.ics")
    mail = render("reminder", ctx)
    for part in (mail.text, visible(mail.html)):
        assert "Du får det här mejlet för att" in part
        assert "högst ett per dag" in part
    assert "https://bevakning.example.se/kalender/abc.ics" in hrefs(mail.html)
    assert "kalender" not in render("reminder", reminder()).text.lower()


def test_autoescape_applies_to_files_named_html_j2(tmp_path: Path) -> None:
    (tmp_path / "x.html.j2").write_text("<p>{{ v }}</p>", encoding="utf-8")
    (tmp_path / "x.html").write_text("<p>{{ v }}</p>", encoding="utf-8")
    (tmp_path / "x.txt.j2").write_text("{{ v }}", encoding="utf-8")
    env = make_environment(tmp_path)
    assert env.get_template("x.html.j2").render(v="<b>") == "<p>&lt;b&gt;</p>"
    assert env.get_template("x.html").render(v="<b>") == "<p>&lt;b&gt;</p>"
    assert env.get_template("x.txt.j2").render(v="<b>") == "<b>"


def test_a_missing_value_is_an_error_not_an_empty_string(tmp_path: Path) -> None:
    for name in ("reminder.subject.j2", "reminder.txt.j2", "reminder.html.j2"):
        (tmp_path / name).write_text("{{ no_such_field }}", encoding="utf-8")
    with pytest.raises(Exception, match="no_such_field"):
        render("reminder", reminder(), template_dir=tmp_path)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mail kind"):
        render("newsletter", reminder())


def test_contexts_reject_impossible_values() -> None:
    with pytest.raises(ValueError):
        item(1, days_late=-1)
    with pytest.raises(ValueError):
        ProgressRow(
            plan_title=PLAN,
            area_title="A",
            number="1",
            title="t",
            role="enhetschef",
            done=5,
            total=3,
        )
    with pytest.raises(ValueError):
        DeferredRow(
            item=item(1),
            kind="later",  # type: ignore[arg-type]
            proposed_date=None,
            reason="",
            by="",
        )


# --- "Mina aktiviteter" and Outlook buttons ---------------------------------------------------

MINA = "https://bevakning.example.se/mina/token-anna"


def test_a_reminder_with_several_items_says_to_tick_them_off_on_one_page() -> None:
    mail = render("reminder", reminder(activities_url=MINA))
    for part in (mail.text, visible(mail.html)):
        assert "Öppna sidan och bocka i det som är klart" in part
    assert MINA in hrefs(mail.html) and MINA in mail.text


def test_a_reminder_with_one_item_keeps_the_one_click_wording_and_links_the_page_below() -> None:
    mail = render("reminder", reminder(overdue=(), activities_url=MINA))
    assert "räcker det med ett klick" in visible(mail.html)
    assert "bocka i" not in visible(mail.html)
    assert MINA in hrefs(mail.html) and MINA in mail.text


@pytest.mark.parametrize("kind", ["escalation", "digest"])
def test_escalations_and_digests_link_the_recipients_own_page(kind: str) -> None:
    context = {"escalation": escalation(), "digest": digest()}[kind]
    mail = render(kind, replace(context, activities_url=MINA))  # type: ignore[type-var]
    assert MINA in hrefs(mail.html) and MINA in mail.text
    assert "Mina aktiviteter" in visible(mail.html)


_VML = re.compile(
    r"<!--\[if mso\]><v:roundrect [^>]*href=\"([^\"]+)\"[^>]*>.*?<center[^>]*>([^<]+)</center>"
    r"</v:roundrect><!\[endif\]--><!--\[if !mso\]><!-->(.*?)<!--<!\[endif\]-->",
    re.S,
)


@pytest.mark.parametrize("kind", KINDS)
def test_every_button_is_drawn_for_outlook_in_vml_with_the_same_link_and_label(kind: str) -> None:
    if kind == "answer":  # links only, no buttons: the answer to a reply asks nothing
        html = render(kind, answer()).html
    else:
        context = {"reminder": reminder(), "escalation": escalation(), "digest": digest()}[kind]
        html = render(kind, replace(context, activities_url=MINA)).html  # type: ignore[type-var]
    buttons = re.findall(r'<a class="btn" href="([^"]+)"[^>]*>([^<]+)</a>', html)
    drawn = _VML.findall(html)
    assert len(drawn) == len(buttons)
    assert buttons or kind in ("escalation", "answer")  # an escalation asks nothing either
    for (vml_href, vml_label, other), (href, label) in zip(drawn, buttons, strict=True):
        # Outlook reads the VML and skips the table; every other client the other way round.
        assert (unescape(vml_href), unescape(vml_label)) == (unescape(href), unescape(label))
        assert f'href="{href}"' in other
    assert 'xmlns:v="urn:schemas-microsoft-com:vml"' in html and "<o:PixelsPerInch>" in html


def test_a_button_label_or_link_with_markup_is_escaped_in_the_vml_too() -> None:
    evil = item(2, done_url='https://x/"><script>alert(1)</script>')
    html = render("reminder", reminder(overdue=(), upcoming=(evil,))).html
    assert "<script>" not in html
