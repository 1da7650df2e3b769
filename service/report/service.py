"""The report with the municipality's settings applied: one entry for the CLI and the web."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.app import App
from service.models import Plan
from service.report.model import PlanReport, build_report
from service.report.writers import render


def report_for(
    app: App,
    session: Session,
    slug: str,
    at: date,
    meeting: date | None = None,
    start: date | None = None,
) -> PlanReport:
    # The plan's own committee: an administration's section in the calendars file names it.
    administration = session.scalar(select(Plan.administration).where(Plan.slug == slug))
    return build_report(
        session,
        slug,
        at,
        meeting=meeting,
        start=start,
        committee=app.calendars(session).of(administration).committee,
        tz=app.tz,
    )


def render_for(app: App, report: PlanReport, fmt: str) -> bytes:
    template: Path | None = None
    if str(app.config.get("report", "word_template", "")):
        template = app.config.path("report", "word_template")
    return render(report, fmt, word_template=template)
