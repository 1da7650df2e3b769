"""CSS inlined into the HTML mail templates once, as they are loaded, instead of into each mail.

Outlook renders only inline styles, so every element needs its style attribute (css_inline
writes them). Done on each rendered mail, that was the costliest step of sending one. Done on
the templates, it is done once: the Jinja tags are hidden in HTML comments while css_inline
works on the template's HTML, then put back. The layout is inlined as a document with its own
<style>; the other templates (blocks, macros) as fragments with the layout's stylesheet.

A template whose tags do not come back unchanged and in order, or that computes a class or an
id (its styles are known only when rendering), is left as it was, and
`InliningLoader.fallback` says that its mails must be inlined one by one as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import css_inline
from jinja2 import BaseLoader, Environment, TemplateNotFound

log = logging.getLogger(__name__)

LAYOUT = "_layout.html.j2"

_TAG = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.DOTALL)
# A comment where HTML allows one; in <title> (text only) it comes back escaped.
_MARK = re.compile(r"(?:<!--|&lt;!--)bevakning-jinja-(\d+)(?:-->|--&gt;)")
_COMPUTED_SELECTOR = re.compile(
    r"""\b(?:class|id)\s*=\s*(?:"[^"]*|'[^']*)<!--bevakning-jinja-""", re.IGNORECASE
)
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)

# The @media rule for narrow screens cannot be inlined; it stays in the layout's <style>,
# which clients without support (Outlook desktop) simply ignore.
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def inline_template(source: str, stylesheet: str) -> str | None:
    """The template with its CSS inlined, or None when its Jinja tags would not survive.

    A template with <html> is inlined with its own stylesheet; any other as a fragment with
    `stylesheet`.
    """
    tags: list[str] = []

    def hide(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"<!--bevakning-jinja-{len(tags) - 1}-->"

    hidden = _TAG.sub(hide, source)
    if _COMPUTED_SELECTOR.search(hidden):
        return None  # a class or id known only when rendering: inlining now would miss it
    try:
        inlined = _inline(hidden, stylesheet)
    except css_inline.InlineError:
        return None
    order = [int(n) for n in _MARK.findall(inlined)]
    if order != list(range(len(tags))):
        return None  # a tag was dropped, doubled or moved by the HTML parser
    return _MARK.sub(lambda m: tags[int(m.group(1))], inlined)


def _inline(html: str, stylesheet: str) -> str:
    if "<html" in html.lower():
        return INLINER.inline(html)
    return INLINER.inline_fragment(html, stylesheet)


def layout_stylesheet(layout_source: str) -> str:
    return "\n".join(_STYLE.findall(layout_source))


class InliningLoader(BaseLoader):
    """Wraps a loader: *.html.j2 templates come with their CSS already inlined."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner
        self.fallback = False  # some template could not be inlined: inline each mail instead
        self._stylesheet: str | None = None

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        if not template.endswith(".html.j2"):
            return source, filename, uptodate
        inlined = inline_template(source, self._layout_stylesheet(environment))
        if inlined is None:
            log.warning("mail template %s is inlined per mail: its tags did not survive", template)
            self.fallback = True
            return source, filename, uptodate
        return inlined, filename, uptodate

    def _layout_stylesheet(self, environment: Environment) -> str:
        if self._stylesheet is None:
            try:
                layout = self.inner.get_source(environment, LAYOUT)[0]
            except TemplateNotFound:
                layout = ""  # templates of their own, without our layout
            self._stylesheet = layout_stylesheet(layout)
        return self._stylesheet
