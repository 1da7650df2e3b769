"""Signed personal URLs for the digest and reminder mails to link to."""

from __future__ import annotations

from datetime import datetime

from service.app import App
from service.links import ACTIVITIES, CALENDAR, DASHBOARD, SETTINGS, UNDO, Claim


def done_url(app: App, occurrence_id: int, person_id: int, version: int, now: datetime) -> str:
    """The person's own mark-done link for one occurrence (names its version, so reassigning
    the occurrence makes old links invalid)."""
    token = app.signer.done_token(occurrence_id, person_id, version, now)
    return f"{app.public_url}/k/{token}"


def activities_url(app: App, person_id: int, now: datetime) -> str:
    """ "Mina aktiviteter": all the person's open items on one page, to tick off together."""
    return f"{app.public_url}{activities_path(app, person_id, now)}"


def activities_path(app: App, person_id: int, now: datetime) -> str:
    """The same, for a link on our own pages."""
    token = app.signer.issue(Claim(ACTIVITIES, person_id, now))
    return f"/mina/{token}"


def dashboard_url(app: App, person_id: int, now: datetime) -> str:
    """The person's read-only dashboard; expires after dashboard_link_max_age_days."""
    token = app.signer.issue(Claim(DASHBOARD, person_id, now))
    return f"{app.public_url}/oversikt/{token}"


def item_url(app: App, person_id: int, item_id: int, now: datetime) -> str:
    """One item on the person's dashboard, with its history (for the digest's item links)."""
    return f"{dashboard_url(app, person_id, now)}#{item_anchor(item_id)}"


def item_anchor(item_id: int) -> str:
    """The id of an item's row on the dashboard."""
    return f"aktivitet-{item_id}"


def calendar_url(app: App, person_id: int, now: datetime) -> str:
    """The person's iCalendar feed of open deadlines, to subscribe to in Outlook."""
    token = app.signer.issue(Claim(CALENDAR, person_id, now))
    return f"{app.public_url}/kalender/{token}.ics"


def undo_url(app: App, audit_id: int, occurrence_id: int, person_id: int, now: datetime) -> str:
    """The person's link that takes back one change made by a reply (see service.inbox.undo)."""
    claim = Claim(UNDO, person_id, now, occurrence_id, audit_id=audit_id)
    return f"{app.public_url}/angra/{app.signer.issue(claim)}"


def settings_url(app: App, person_id: int, now: datetime) -> str:
    """The person's own settings ("Mina inställningar"), linked from every mail's footer."""
    token = app.signer.issue(Claim(SETTINGS, person_id, now))
    return f"{app.public_url}/installningar/{token}"
