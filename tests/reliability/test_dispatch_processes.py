"""A backlog shared with helper processes ([mail] dispatch_processes): every mail goes out once,
and the helper really takes part."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.app import App
from service.models import OutboxMessage
from service.pipeline import dispatch_outbox, plan_reminders
from tests.fakes.smtp_server import FakeSMTPServer
from tests.reliability.due_store import due_store
from tests.reliability.test_crash import received
from tests.support import STOCKHOLM

NOW = datetime(2025, 3, 4, 7, 30, tzinfo=STOCKHOLM)  # a Tuesday at the send time
MAILS = 1500


def _store(db_url: str, tmp_path: Path) -> App:
    db: Path | str = tmp_path / "store.db" if db_url.startswith("sqlite") else db_url
    return due_store(db, tmp_path, MAILS, NOW)


def test_two_dispatch_processes_send_each_mail_of_a_backlog_once(
    db_url: str, tmp_path: Path
) -> None:
    planned = _store(db_url, tmp_path)
    assert len(plan_reminders(planned, NOW)) == MAILS
    with FakeSMTPServer() as server:
        app = App(
            planned.config.with_overrides(
                {
                    "mail": {"transport": "smtp", "batch_size": 50, "dispatch_processes": 2},
                    "mail.smtp": server.settings(),
                }
            )
        )
        sent = dispatch_outbox(app, NOW, worker="main", max_batches=1000)
        got = received(server)
    with app.sessions() as session:
        statuses = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            .tuples()
            .all()
        )
        ids = set(session.scalars(select(OutboxMessage.message_id)))
        workers = {
            token.split(":")[0] for token in session.scalars(select(OutboxMessage.claimed_by))
        }
    planned.engine.dispose()
    app.engine.dispose()

    assert statuses == {"sent": MAILS}
    assert sorted(m["message_id"] for m in sent) == sorted(ids)  # each reported once
    assert got == Counter({f"<{message_id}>": 1 for message_id in ids})
    assert workers == {"main", "main-1"}  # the helper process sent batches of its own


@pytest.mark.parametrize("processes", [1, 2])
def test_a_transport_kept_in_this_process_is_not_shared(
    sqlite_url: str, tmp_path: Path, processes: int
) -> None:
    from service.mail.transports.memory import MemoryTransport

    app = _store(sqlite_url, tmp_path)
    plan_reminders(app, NOW)
    app = App(app.config.with_overrides({"mail": {"batch_size": 50}}))
    memory = MemoryTransport()
    sent = dispatch_outbox(app, NOW, transport=memory, max_batches=1000, processes=processes)
    app.engine.dispose()

    # A helper could not put its mails in this list: everything is sent here.
    assert len(sent) == len(memory.sent) == MAILS
