"""Jinja2 for the web pages: templates/web/*.html.j2, always autoescaped."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from starlette.responses import HTMLResponse

from service import templating

TEMPLATE_DIR = templating.TEMPLATE_ROOT / "web"


@lru_cache(maxsize=4)
def environment(template_dir: Path = TEMPLATE_DIR) -> Environment:
    return templating.make_environment(template_dir)


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)
