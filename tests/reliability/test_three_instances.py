"""Several instances on one PostgreSQL store: three processes tick (plan and dispatch) at once
over 10,000 due mails, and every mail goes out exactly once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.models import OutboxMessage
from tests.fakes.smtp_server import FakeSMTPServer
from tests.reliability.configfile import write_config_file
from tests.reliability.due_store import due_store
from tests.reliability.test_crash import bevakning_tick, received
from tests.support import STOCKHOLM

NOW = datetime(2025, 3, 4, 7, 30, tzinfo=STOCKHOLM)  # a Tuesday at the send time
PEOPLE = 10_000


@pytest.mark.postgres
def test_three_processes_ticking_one_store_send_each_of_10000_mails_once(
    postgres_url: str, tmp_path: Path
) -> None:
    app = due_store(postgres_url, tmp_path, PEOPLE, NOW)
    with FakeSMTPServer() as server:
        config = app.config.with_overrides(
            {"mail": {"transport": "smtp", "batch_size": 200}, "mail.smtp": server.settings()}
        )
        path = write_config_file(config, tmp_path / "config.toml")

        workers = [bevakning_tick(path, NOW, tmp_path, f"worker{n}") for n in (1, 2, 3)]
        for n, worker in enumerate(workers, start=1):
            assert worker.wait(timeout=600) == 0, (tmp_path / f"worker{n}.err").read_text()

        outputs = [json.loads((tmp_path / f"worker{n}.out").read_text()) for n in (1, 2, 3)]
        got = received(server)
    with app.sessions() as session:
        statuses = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        ids = set(session.scalars(select(OutboxMessage.message_id)))
    app.engine.dispose()

    assert statuses == {"sent": PEOPLE}  # one mail per person, planned once
    reported = [m["message_id"] for out in outputs for m in out["mails"]]
    assert sorted(reported) == sorted(ids)  # each mail reported by exactly one process
    assert got == Counter({f"<{message_id}>": 1 for message_id in ids})
    assert sum(1 for out in outputs if out["mails"]) >= 2  # the work really was shared
