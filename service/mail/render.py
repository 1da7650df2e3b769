"""Turn a mail context into subject, plain text and Outlook-safe HTML from templates/mail/."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment

from service import templating
from service.mail.buttons import outlook_button_end, outlook_button_start
from service.mail.inlining import INLINER, InliningLoader
from service.mail.message import clean_header

KINDS = ("reminder", "escalation", "digest", "answer")

TEMPLATE_DIR = templating.TEMPLATE_ROOT / "mail"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _one_line(value: object) -> str:
    # Plan text comes from PDF and Word extractions with stray line breaks; an item title
    # should read as one line in every part of the mail.
    return clean_header(str(value))


def make_environment(template_dir: Path | None = None, *, inline_css: bool = True) -> Environment:
    """The mail templates' environment; with `inline_css`, HTML templates come with their CSS
    inlined (see service.mail.inlining)."""
    env = templating.make_environment(template_dir or TEMPLATE_DIR)
    env.filters["enrad"] = _one_line
    env.globals.update(
        outlook_button_start=outlook_button_start, outlook_button_end=outlook_button_end
    )
    if inline_css and env.loader is not None:
        env.loader = InliningLoader(env.loader)
    return env


@lru_cache(maxsize=8)
def get_environment(template_dir: Path | None = None) -> Environment:
    return make_environment(template_dir)


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy_text(text: str) -> str:
    # Optional sections leave blank lines behind; one empty line between blocks is enough.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)) + "\n"


def _variables(context: object) -> dict[str, Any]:
    if not is_dataclass(context) or isinstance(context, type):
        raise TypeError(f"context must be a dataclass instance, got {type(context).__name__}")
    variables = {f.name: getattr(context, f.name) for f in fields(context)}
    variables["ctx"] = context  # for properties such as ReminderContext.item_count
    return variables


def render(kind: str, context: object, template_dir: Path | None = None) -> RenderedMail:
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind!r}; expected one of {', '.join(KINDS)}")
    env = get_environment(template_dir)
    variables = _variables(context)
    subject = clean_header(env.get_template(f"{kind}.subject.j2").render(variables))
    text = _tidy_text(env.get_template(f"{kind}.txt.j2").render(variables))
    html = env.get_template(f"{kind}.html.j2").render(variables)
    if isinstance(env.loader, InliningLoader) and env.loader.fallback:
        html = INLINER.inline(html)  # not inlined in the templates: the whole mail, as it is
    return RenderedMail(subject=subject, text=text, html=html)
