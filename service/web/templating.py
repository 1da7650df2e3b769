"""Jinja2 for the web pages: templates/web/*.html.j2, always autoescaped."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from service import i18n

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "web"


def autoescape_for(name: str | None) -> bool:
    # select_autoescape() looks at the last suffix only and would leave "item.html.j2"
    # unescaped; plan text is untrusted, so every page template escapes. Anything that is
    # not named like a text template escapes too: a forgotten suffix must not open a hole.
    return not (name or "").endswith((".txt", ".txt.j2"))


@lru_cache(maxsize=4)
def environment(template_dir: Path = TEMPLATE_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(template_dir)),
        autoescape=autoescape_for,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        datum=i18n.format_date_sv,
        datum_kort=i18n.format_date_short_sv,
        tidpunkt=i18n.format_datetime_sv,
        relativt=i18n.format_relative_sv,
        antal=i18n.plural_sv,
        lista=i18n.join_sv,
    )
    return env


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)
