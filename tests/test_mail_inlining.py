"""CSS inlined into the mail templates once, when they load, gives the very mails that inlining
each rendered mail gave, and a template that cannot be done so is inlined per mail."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from service.mail.inlining import INLINER, InliningLoader, inline_template
from service.mail.render import make_environment, render
from tests.test_mail_render import TODAY, digest, escalation, item, reminder

Structure = list[tuple[object, ...]]


class _Shape(HTMLParser):
    """Tags, attributes (style split into its declarations, in order) and text, spaces aside."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shape: Structure = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        normal = {
            name: tuple(d.strip() for d in (value or "").split(";") if d.strip())
            if name == "style"
            else value
            for name, value in attrs
        }
        self.shape.append(("<", tag, tuple(sorted(normal.items()))))

    def handle_endtag(self, tag: str) -> None:
        self.shape.append((">", tag))

    def handle_data(self, data: str) -> None:
        if text := " ".join(data.split()):
            self.shape.append(("text", text))


def shape(html: str) -> Structure:
    parser = _Shape()
    parser.feed(html)
    parser.close()
    return parser.shape


def inlined_per_mail(kind: str, context: object) -> str:
    """The mail as it was made before: rendered from the plain templates, then inlined."""
    from service.mail.render import _variables

    env = make_environment(inline_css=False)
    return INLINER.inline(env.get_template(f"{kind}.html.j2").render(_variables(context)))


CASES = {
    "reminder, every section": (
        "reminder",
        reminder(
            overdue=(item(1, due=date(2024, 11, 30), days_late=24), item(5, is_apt=True)),
            due_today=(item(3, due=TODAY),),
            upcoming=(item(2), item(6, done_url="")),
            checkins=(item(4, due=None, deadline_phrase="Fortlöpande"),),
            calendar_url="https://bevakning.example.se/kalender/abc.ics",
        ),
    ),
    "reminder, only a check-in": (
        "reminder",
        reminder(overdue=(), upcoming=(), checkins=(item(4, due=None),)),
    ),
    "escalation": ("escalation", escalation()),
    "digest, every section": ("digest", digest()),
    "digest, nothing to report": (
        "digest",
        replace(
            digest(),
            overdue=(),
            due_soon=(),
            done_last_week=(),
            deferred=(),
            continuous=(),
            progress=(),
            failed=(),
        ),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_it_gives_the_same_mail_as_inlining_each_mail(case: str) -> None:
    kind, context = CASES[case]
    assert shape(render(kind, context).html) == shape(inlined_per_mail(kind, context))


def test_progress_bars_at_nought_and_full_keep_their_shape() -> None:
    base = digest()
    bars = tuple(replace(row, done=done) for row, done in zip(base.progress, (0, 1), strict=True))
    context = replace(base, progress=bars)
    assert shape(render("digest", context).html) == shape(inlined_per_mail("digest", context))


def test_jinja_tags_come_back_unchanged() -> None:
    source = (
        '{# note #}<table>{% for x in xs %}<tr><td class="c">{{ x }}</td></tr>{% endfor %}'
        '</table><p title="{{ t }}">{%- if a -%}ja{%- endif -%}</p>'
    )
    inlined = inline_template(source, ".c { color: red } p { margin: 0 }")
    assert inlined is not None
    for tag in ("{# note #}", "{% for x in xs %}", "{{ x }}", "{% endfor %}", '"{{ t }}"'):
        assert tag in inlined
    assert 'style="color: red;"' in inlined and 'style="margin: 0;"' in inlined


def test_a_template_whose_tags_would_not_survive_is_inlined_per_mail(tmp_path: Path) -> None:
    # A tag inside an element's start tag cannot be hidden in a comment.
    (tmp_path / "reminder.subject.j2").write_text("Ämne", encoding="utf-8")
    (tmp_path / "reminder.txt.j2").write_text("Hej", encoding="utf-8")
    (tmp_path / "reminder.html.j2").write_text(
        "<html><head><style>p { color: red }</style></head>"
        '<body><p {% if person_name %}title="t"{% endif %}>Hej</p></body></html>',
        encoding="utf-8",
    )
    assert inline_template((tmp_path / "reminder.html.j2").read_text(), "") is None

    html = render("reminder", reminder(), template_dir=tmp_path).html

    assert '<p title="t" style="color: red;">Hej</p>' in html


def test_every_mail_template_of_ours_is_inlined_once() -> None:
    env = make_environment()
    for kind in ("reminder", "escalation", "digest"):
        env.get_template(f"{kind}.html.j2")
    for name in ("_layout.html.j2", "_macros.html.j2"):
        env.get_template(name)
    assert isinstance(env.loader, InliningLoader) and env.loader.fallback is False


def test_a_computed_class_is_left_to_inlining_per_mail() -> None:
    stylesheet = "h2.overdue { color: red } h2 { margin: 0 }"
    assert inline_template('<h2 class="{{ tone }}">Försenat</h2>', stylesheet) is None
    assert inline_template("<h2 id='{{ tone }}'>Försenat</h2>", stylesheet) is None
    kept = inline_template('<h2 class="overdue" title="{{ tone }}">Försenat</h2>', stylesheet)
    assert kept is not None and "color: red" in kept and 'title="{{ tone }}"' in kept
