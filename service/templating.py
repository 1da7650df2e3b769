"""One Jinja2 set-up for mails (templates/mail) and pages (templates/web)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from service import i18n

TEMPLATE_ROOT = Path(__file__).resolve().parents[1] / "templates"

# Templates whose output is plain text: a mail's subject and text part.
_TEXT_ENDINGS = (".txt", ".txt.j2", ".subject.j2")


def autoescape_for(name: str | None) -> bool:
    """Escape everything but plain-text templates.

    select_autoescape() looks at the last suffix only and would leave "item.html.j2"
    unescaped; plan text is untrusted, so a template escapes unless it is named as text, and a
    forgotten suffix cannot open a hole.
    """
    return not (name or "").endswith(_TEXT_ENDINGS)


def make_environment(folder: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=autoescape_for,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates do not change while the service runs; checking each file's mtime on every
        # render was a third of the time it takes to render a mail.
        auto_reload=False,
    )
    env.filters.update(
        datum=i18n.format_date_sv,
        datum_kort=i18n.format_date_short_sv,
        tidpunkt=i18n.format_datetime_sv,
        relativt=i18n.format_relative_sv,
        dagar=i18n.format_days_late_sv,
        veckodag=i18n.weekday_name_sv,
        vecka=i18n.iso_week_sv,
        period=i18n.format_period_sv,
        antal=i18n.plural_sv,
        lista=i18n.join_sv,
        roll=i18n.role_plural_sv,
        halsning=i18n.greeting_sv,
        ersattare=i18n.acted_by_sv,
    )
    return env
