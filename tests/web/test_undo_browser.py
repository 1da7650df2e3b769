"""The undo page in a real browser: reached from the answer to a reply, accessible (axe-core),
and its button takes the change back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import App
from service.inbox.reader import read_inbox
from service.occurrences import OPEN
from service.web.app import create_app
from service.web.server import BackgroundServer
from tests.fakes import replies
from tests.support import make_config
from tests.test_inbox_replies import LATER, Sent, deliver, occurrences_of, sender_of, sent_answers
from tests.web.conftest import Clock, path_of, reload
from tests.web.test_browser import (  # noqa: F401  (the module's browser fixture)
    CHROMIUM,
    DESKTOP,
    PHONE,
    assert_accessible,
    browser,
    new_page,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium"
    ),
]

if CHROMIUM.exists():
    from playwright.sync_api import Browser


@pytest.fixture
def answered(tmp_path: Path) -> Iterator[tuple[App, str, int]]:
    """A reply "klar 1" recorded; the undo link of its answer and the occurrence."""
    app = App(make_config(f"sqlite:///{tmp_path / 'undo.db'}", tmp_path))
    sent = Sent(app)
    mail = sent.with_items(lambda n: n >= 1)
    deliver(app, replies.gmail(mail, "klar 1: workshopen hölls", sender_of(mail)))
    read_inbox(app, LATER)
    (answer,) = sent_answers(app)
    (link,) = re.findall(r"Ångra: (\S+)", answer.text)
    yield app, path_of(app, link), occurrences_of(app, mail)[1].id
    app.engine.dispose()


def test_the_undo_page_passes_axe_and_its_button_reopens_the_item(
    browser: Browser,  # noqa: F811
    answered: tuple[App, str, int],
) -> None:
    app, path, occurrence_id = answered
    with BackgroundServer(create_app(app, clock=Clock(LATER))) as server:
        for viewport_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page = new_page(browser, viewport)
            page.goto(server.url + path)
            assert_accessible(page, f"undo-{viewport_name}")
            page.context.close()
        page = new_page(browser)
        page.goto(server.url + path)
        page.get_by_role("button", name="Ångra").click()
        page.wait_for_selector("text=Ändringen är ångrad")
        assert_accessible(page, "undo-done-phone")
    assert reload(app, occurrence_id).status == OPEN
