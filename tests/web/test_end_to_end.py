"""The whole way round, with real parts: a tick mails a reminder through a real SMTP server
(aiosmtpd), the "Markera som klar" link is taken from the captured mail, opened in Debian's
chromium, the button is clicked, the store shows the occurrence done, and the next ticks do not
remind it again. A variant lets a mail security scanner open the link first: nothing changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from service.app import App
from service.links import DONE as DONE_LINK
from service.models import AuditEntry, Notice, Occurrence, OutboxMessage, Person
from service.pipeline import tick
from service.web.app import create_app
from service.web.server import BackgroundServer
from tests.fakes.mails import parts
from tests.fakes.smtp_server import FakeSMTPServer, ReceivedMail
from tests.reliability.plans import PlanItem, import_plan, occurrence_ids, write_plan
from tests.support import at, make_config
from tests.web.conftest import Clock, reload, snapshot
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, PHONE, SCREENSHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium"
    ),
]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, sync_playwright

HR = "maria.sjoberg@example.se"  # the HR-chef of the fictional directory
SLUG = "e2e"
DONE_TITLE = "Följ upp introduktionen av nya chefer"  # due Wednesday: marked done from the mail
OPEN_TITLE = "Sammanställ medarbetarenkäten"  # due Tuesday: left open, still reminded
INIT = at("2024-12-02", "06:00")
SEND = at("2024-12-02", "07:30")  # a Monday, at the send time
NEXT_DAY = at("2024-12-03", "07:30")  # DONE_TITLE's 1-day stage and OPEN_TITLE's due day
DUE_DAY = at("2024-12-04", "07:30")  # DONE_TITLE's own due day
NUMBER = {DONE_TITLE: "1", OPEN_TITLE: "2"}
ACTION = "Markera som klar"
TOKEN_PATH = re.compile(r"^/k/[A-Za-z0-9_.\-]+$")


class LateASGI:
    """An ASGI app set after the server has started: the server's port must be known before
    the App (whose config holds public_url, the start of every mailed link) can be made."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "a request came before the web app was set"
        await self.target(scope, receive, send)


@dataclass
class World:
    app: App
    smtp: FakeSMTPServer
    url: str  # where the web app listens, = [web] public_url
    clock: Clock
    done_occ: int  # the HR-chef's occurrence of DONE_TITLE
    open_occ: int  # ... and of OPEN_TITLE


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    late = LateASGI()
    clock = Clock(SEND)  # the web app's "today" is the day the mail went out
    with FakeSMTPServer() as smtp, BackgroundServer(late) as server:
        config = make_config(
            db_url,
            tmp_path,
            mail={"transport": "smtp"},
            mail__smtp=smtp.settings(),
            web={"public_url": server.url},
        )
        app = App(config)
        try:
            app.init(INIT)
            plan = write_plan(
                tmp_path / "plans",
                SLUG,
                [
                    PlanItem(NUMBER[DONE_TITLE], DONE_TITLE, "2024-12-04"),
                    PlanItem(NUMBER[OPEN_TITLE], OPEN_TITLE, "2024-12-03"),
                ],
            )
            import_plan(app, plan, INIT)
            late.target = create_app(app, clock=clock)
            yield World(
                app,
                smtp,
                server.url,
                clock,
                occurrence_ids(app, SLUG, "1")[HR],
                occurrence_ids(app, SLUG, "2")[HR],
            )
        finally:
            app.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


# -- reading the captured mails -----------------------------------------------------------


class _ActionLinks(HTMLParser):
    """(item title line, button label, href) for every button in a reminder's HTML part."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []
        self._title: str = ""
        self._in_title = False
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "p" and "item-title" in classes:
            self._in_title, self._title = True, ""
        elif tag == "a" and "btn" in classes:
            self._href, self._text = a.get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._in_title:
            self._in_title = False
            self._title = " ".join(self._title.split())
        elif tag == "a" and self._href is not None:
            self.found.append((self._title, " ".join("".join(self._text).split()), self._href))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title += data
        if self._href is not None:
            self._text.append(data)


def html_links(html: str) -> dict[str, str]:
    """Item title line ("1 Följ upp …") → its "Markera som klar" link, from the HTML part."""
    parser = _ActionLinks()
    parser.feed(html)
    parser.close()
    return {title: href for title, label, href in parser.found if label == ACTION}


def text_links(text: str) -> dict[str, str]:
    """The same from the plain-text part: "- 1 Följ upp …" then "  Markera som klar: URL"."""
    links: dict[str, str] = {}
    title = ""
    for line in text.splitlines():
        if line.startswith("- "):
            title = " ".join(line[2:].split())
        elif line.strip().startswith(f"{ACTION}: "):
            links[title] = line.strip().removeprefix(f"{ACTION}: ").strip()
    return links


def mails_to(smtp: FakeSMTPServer, address: str, since: int = 0) -> list[ReceivedMail]:
    return [m for m in smtp.messages[since:] if address in m.rcpt_tos]


def done_link(world: World, mail: ReceivedMail, title: str) -> str:
    """The item's "Markera som klar" link; the HTML and the text part carry the same one."""
    bodies = parts(mail.message)
    from_html = html_links(bodies["text/html"])
    from_text = text_links(bodies["text/plain"])
    assert from_html == from_text, "the HTML and text parts disagree about the links"
    link = from_html[f"{NUMBER[title]} {title}"]
    assert link.startswith(world.url + "/k/"), link
    assert TOKEN_PATH.match(link[len(world.url) :]), link
    return link


def first_reminder(world: World) -> tuple[ReceivedMail, str]:
    """Tick at the send time; the HR-chef's reminder through SMTP, and DONE_TITLE's link."""
    result = tick(world.app, SEND)
    assert any(m["status"] == "sent" for m in result.mails)
    (mail,) = mails_to(world.smtp, HR)
    assert mail.message["To"].addresses[0].addr_spec == HR
    bodies = parts(mail.message)
    for body in bodies.values():
        assert DONE_TITLE in body and OPEN_TITLE in body
    return mail, done_link(world, mail, DONE_TITLE)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def click_done(browser: Browser, world: World, link: str, shot_prefix: str) -> None:
    """A person on a phone: open the link, write a comment and the result, click the button."""
    context = browser.new_context(viewport=PHONE, locale="sv-SE")  # type: ignore[arg-type]
    try:
        page = context.new_page()
        response = page.goto(link)
        assert response is not None and response.status == 200
        assert DONE_TITLE in page.locator("h1").inner_text()
        shot(page, f"{shot_prefix}-item")
        assert page.input_value("#done_on") == "2024-12-02"  # the web app's today
        page.fill("#comment", "Gick igenom introduktionen på ledningsgruppen.")
        page.fill("#result", "Två nya chefer har fått en mentor.")
        page.get_by_role("button", name=ACTION).click()
        page.wait_for_selector("text=Tack! Aktiviteten är klarmarkerad")
        assert page.evaluate("document.documentElement.lang") == "sv"
        receipt = page.locator("main").inner_text()
        assert DONE_TITLE in receipt and "Du kan stänga sidan." in receipt
        assert "Gick igenom introduktionen på ledningsgruppen." in receipt
        shot(page, f"{shot_prefix}-receipt")
    finally:
        context.close()


def assert_done_by_link(world: World) -> None:
    occ = reload(world.app, world.done_occ)
    with world.app.sessions() as session:
        hr = session.scalar(select(Person).where(Person.email == HR))
        assert hr is not None
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.occurrence_id == world.done_occ)
        ).all()
    assert occ.status == "done"
    assert occ.done_via == "link"
    assert occ.done_by_id == hr.id == occ.person_id
    assert str(occ.done_on) == "2024-12-02"
    assert occ.comment == "Gick igenom introduktionen på ledningsgruppen."
    assert occ.result_note == "Två nya chefer har fått en mentor."
    assert [(a.action, a.actor) for a in audits] == [("occurrence.done", HR)]
    assert reload(world.app, world.open_occ).status == "open"


def rows_on(app: App, moment: datetime) -> list[OutboxMessage]:
    """The outbox rows planned for the local day of `moment`."""
    with app.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.local_date == app.local_date(moment))
                .order_by(OutboxMessage.id)
            )
        )


def sectioned(rows: list[OutboxMessage]) -> set[int]:
    return {i for r in rows for ids in r.payload.get("sections", {}).values() for i in ids}


def assert_not_reminded_again(world: World, link: str) -> None:
    """The next ticks: nothing about the done occurrence; the open one is reminded on its day."""
    seen = len(world.smtp.messages)
    tick(world.app, NEXT_DAY)
    next_day = rows_on(world.app, NEXT_DAY)
    assert next_day, "the next day's tick planned nothing at all"
    assert world.done_occ not in sectioned(next_day)
    (hr_row,) = [r for r in next_day if r.to_addrs == [HR]]
    assert hr_row.status == "sent"
    assert world.open_occ in hr_row.payload["sections"].get("due_today", [])

    (mail,) = mails_to(world.smtp, HR, since=seen)
    for body in parts(mail.message).values():
        assert OPEN_TITLE in body
        assert DONE_TITLE not in body and link not in body
    open_link = done_link(world, mail, OPEN_TITLE)
    assert f"1 {DONE_TITLE}" not in html_links(parts(mail.message)["text/html"])

    seen = len(world.smtp.messages)
    tick(world.app, DUE_DAY)  # the done item's own due day
    assert world.done_occ not in sectioned(rows_on(world.app, DUE_DAY))
    for received in world.smtp.messages[seen:]:
        for body in parts(received.message).values():
            assert DONE_TITLE not in body and link not in body

    with world.app.sessions() as session:
        notices = session.execute(
            select(Notice.stage, Notice.planned_on).where(Notice.occurrence_id == world.done_occ)
        ).all()
    assert [(stage, str(day)) for stage, day in notices] == [("before-7@2024-12-04", "2024-12-02")]
    # The open item's new link from the next day's mail still opens its page.
    world.clock.now = NEXT_DAY
    page = httpx2.get(open_link, timeout=10)
    assert page.status_code == 200 and OPEN_TITLE in page.text


# -- the tests -----------------------------------------------------------------------------


def test_a_reminder_link_from_a_real_mail_is_clicked_in_chromium_and_not_reminded_again(
    browser: Browser, world: World
) -> None:
    _, link = first_reminder(world)
    assert reload(world.app, world.done_occ).status == "open"

    click_done(browser, world, link, f"e2e-{world.app.engine.dialect.name}")

    assert_done_by_link(world)
    assert_not_reminded_again(world, link)


def test_a_mail_scanner_opening_the_link_first_changes_nothing(
    browser: Browser, world: World
) -> None:
    _, link = first_reminder(world)
    before = snapshot(world.app)
    scanner = {"User-Agent": "Mozilla/5.0 (compatible; SafeLinks scanner)"}
    with httpx2.Client(timeout=10, follow_redirects=True, headers=scanner) as client:
        for _ in range(10):
            got = client.get(link)
            assert got.status_code == 200 and DONE_TITLE in got.text
            head = client.head(link)
            assert head.status_code == 200
    assert snapshot(world.app) == before
    occ = reload(world.app, world.done_occ)
    assert occ.status == "open" and occ.done_by_id is None and occ.done_via == ""
    with world.app.sessions() as session:
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.occurrence_id == world.done_occ)
        ).all()
    assert audits == []  # and snapshot() above compared the whole audit log's size

    # The human comes after the scanner, and it works as if the scanner had never been there.
    click_done(browser, world, link, f"e2e-after-scanner-{world.app.engine.dialect.name}")
    assert_done_by_link(world)


def test_the_mailed_links_are_the_same_in_both_parts_and_name_the_occurrence(
    world: World,
) -> None:
    mail, link = first_reminder(world)
    token = link.rsplit("/", 1)[1]
    claim = world.app.signer.read(token, DONE_LINK, SEND)
    assert (claim.occurrence_id, claim.version) == (
        world.done_occ,
        reload(world.app, world.done_occ).version,
    )
    with world.app.sessions() as session:
        hr = session.scalar(select(Person).where(Person.email == HR))
        assert hr is not None and claim.person_id == hr.id
        occ = session.get(Occurrence, world.done_occ)
        assert occ is not None and occ.person_id == hr.id
    assert world.app.public_url == world.url
    # The mail went through SMTP to the HR-chef alone, with the link in both parts.
    assert mail.rcpt_tos == (HR,)
    assert all(link in body for body in parts(mail.message).values())
