"""`bevakning run`: APScheduler triggers the tick and the digest; uvicorn serves the web page.

APScheduler keeps nothing: its in-memory job store only says *when*. What has been planned and
sent lives in our tables, so a missed or doubled fire changes nothing (the tick is idempotent).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import InterfaceError, OperationalError

from service.app import App
from service.availability import explain
from service.pipeline import tick, transport_of

log = logging.getLogger(__name__)


def safe_tick(app: App) -> None:
    # A failing tick is logged and retried at the next fire; it must never stop the scheduler.
    try:
        result = tick(app, datetime.now(UTC))
        if result.mails:
            log.info("tick sent %d mail(s)", len(result.mails))
    except (OperationalError, InterfaceError) as exc:
        message = explain(exc, app.config.database_url)
        if message is None:
            log.exception("tick failed; the next one will catch up")
        else:
            # The operator's own words, not a traceback: a locked or absent store is theirs
            # to fix, and the next tick catches up.
            log.error("tick gave up, the next one will catch up: %s", message)
    except Exception:
        log.exception("tick failed; the next one will catch up")


def safe_read_inbox(app: App) -> None:
    # Like the tick: a failing run is logged, and the next one picks up what is left.
    from service.inbox.reader import read_inbox
    from service.pipeline import dispatch_outbox, worker_name

    try:
        now = datetime.now(UTC)
        run = read_inbox(app, now, worker=worker_name())
        if run.handled:
            log.info("inbox: handled %d mail(s)", len(run.handled))
            dispatch_outbox(app, now)  # the answers go out now, not at the next tick
    except Exception:
        log.exception("reading the inbox failed; the next run will catch up")


def safe_directory_sync(app: App) -> None:
    # A refused or failed sync changes nothing and is logged; the next day's run tries again.
    from service.people.roster import SyncRefused
    from service.people.sources import SourceError
    from service.people.sync import sync_people

    try:
        summary = sync_people(app, datetime.now(UTC))
        log.info(
            "directory sync: %d added, %d changed, %d deactivated, %d not placed",
            len(summary["added"]),
            len(summary["changed"]),
            len(summary["deactivated"]),
            len(summary["unmatched"]),
        )
    except (SyncRefused, SourceError) as exc:
        log.error("directory sync changed nothing: %s", exc)
    except Exception:
        log.exception("directory sync failed; the next run will try again")


def build_scheduler(app: App) -> BackgroundScheduler:
    s = app.config.section("schedule")
    d = app.config.section("digest")
    scheduler = BackgroundScheduler(timezone=app.tz)
    common: dict[str, Any] = {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": int(s.get("misfire_grace_seconds", 600)),
        "replace_existing": True,
    }
    scheduler.add_job(
        safe_tick,
        IntervalTrigger(minutes=int(s.get("tick_minutes", 5)), timezone=app.tz),
        args=[app],
        id="tick",
        next_run_time=datetime.now(app.tz),  # the first tick at once, not in five minutes
        **common,
    )
    from service.inbox.reader import enabled

    if enabled(app):
        scheduler.add_job(
            safe_read_inbox,
            IntervalTrigger(
                minutes=int(app.config.get("mail.inbox", "every_minutes", 3)), timezone=app.tz
            ),
            args=[app],
            id="inbox",
            **common,
        )
    if d.get("enabled", True):
        hour, minute = str(d.get("time", "07:00")).split(":")
        scheduler.add_job(
            safe_tick,
            CronTrigger(
                day_of_week=str(d.get("day", "mon")),
                hour=int(hour),
                minute=int(minute),
                timezone=app.tz,
            ),
            args=[app],
            id="digest",
            **common,
        )
    if app.config.get("directory", "source", ""):
        hour, minute = str(app.config.get("directory", "sync_time", "05:30")).split(":")
        scheduler.add_job(
            safe_directory_sync,
            CronTrigger(hour=int(hour), minute=int(minute), timezone=app.tz),
            args=[app],
            id="directory-sync",
            **common,
        )
    return scheduler


def run(app: App, *, with_web: bool = True) -> int:
    from service.inbox.reader import enabled, source_of

    try:
        # A mail set-up that cannot work should stop the start, not fail every tick.
        transport_of(app)
        if enabled(app):
            source_of(app)
    except ValueError as exc:
        print(f"Fel i e-postinställningarna: {exc}", file=sys.stderr)
        return 2
    app.init(datetime.now(UTC))
    scheduler = build_scheduler(app)
    scheduler.start()
    web = app.config.section("web")
    log.info("Bevakning started; the web page is at %s", app.public_url)
    print(
        f"Bevakning körs. Webbsidan: http://{web.get('host')}:{web.get('port')}/  "
        f"Utkorg: {app.config.path('mail.files', 'folder')}  Avsluta med Ctrl+C.",
        flush=True,
    )
    try:
        if with_web:
            _serve_web(app)
        else:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        app.engine.dispose()
        log.info("Bevakning stopped")
    return 0


def _serve_web(app: App) -> None:
    from service.web.server import serve

    # uvicorn handles SIGTERM and SIGINT itself and returns here; then the scheduler stops.
    serve(app)
