"""A run over the mailbox: each new mail handled once, then moved away (or flagged)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.app import App
from service.inbox.answers import reply_address
from service.inbox.process import Handled, handle
from service.inbox.sources import Source, SourceError, make_source

log = logging.getLogger(__name__)


@dataclass
class InboxRun:
    handled: list[Handled] = field(default_factory=list)
    skipped: int = 0  # handled before (by this or another instance); only tidied away now
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "handled": [h.as_json() for h in self.handled],
            "skipped": self.skipped,
            "errors": self.errors,
        }


def enabled(app: App) -> bool:
    return bool(reply_address(app))


def source_of(app: App) -> Source:
    settings = app.config.section("mail.inbox")
    name = str(settings.get("source") or "maildir")
    if name == "maildir":
        settings["folder"] = str(app.config.path("mail.inbox", "folder"))
    elif name in ("ews", "graph"):
        # The transport's account settings, read as the configured mailbox.
        account = app.config.section(f"mail.{name}")
        mailbox = str(settings.get("mailbox") or "").strip()
        settings = {**account, **settings, "mailbox": mailbox or account.get("sender_mailbox")}
    return make_source(name, settings)


def read_inbox(
    app: App, now: datetime, *, source: Source | None = None, worker: str = ""
) -> InboxRun:
    """Handle the new mails. A mail is moved (or flagged) only after its changes are
    committed; one that fails stays for the next run, and the others go on."""
    run = InboxRun()
    chosen = source or source_of(app)
    limit = int(app.config.get("mail.inbox", "batch_size", 50))
    try:
        chosen.open()
        for fetched in list(chosen.unread(limit)):
            try:
                handled = handle(app, fetched.raw, now, worker=worker)
            except Exception as exc:  # one bad mail must not stop the others
                log.exception("could not handle mail %s", fetched.ref)
                run.errors.append(f"{fetched.ref}: {type(exc).__name__}: {exc}")
                continue
            if handled is None:
                run.skipped += 1
            else:
                run.handled.append(handled)
            chosen.done(fetched.ref)
    except SourceError as exc:
        log.warning("reading replies failed: %s", exc)
        run.errors.append(str(exc))
    finally:
        chosen.close()
    return run
