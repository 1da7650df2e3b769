"""The spring DST switch (issue 15), beside the autumn test in test_pipeline_tick.py: Sunday
2026-03-29 has 23 hours in Stockholm (02:00 becomes 03:00)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.app import App
from service.mail.transports.memory import MemoryTransport
from service.pipeline import tick
from tests.reliability.plans import PlanItem, import_plan, write_plan
from tests.support import at


def test_the_night_clocks_go_forward_changes_nothing_about_once_a_day(
    app: App, tmp_path: Path
) -> None:
    app.init(at("2026-03-23", "06:00"))
    # Due the Monday after (on the day), a week later (7 days before) and on Tuesday (1 day
    # before): each holder gets one bundled mail on Monday 2026-03-30, not on the short Sunday.
    plan = write_plan(
        tmp_path,
        "varvag",
        [
            PlanItem("1", "Lämna in rapporten", "2026-03-30", responsible="Enhetschef"),
            PlanItem("2", "Boka workshop", "2026-04-06", responsible="HR-chef"),
            PlanItem("3", "Svara på remissen", "2026-03-31", responsible="Förvaltningschef"),
        ],
    )
    import_plan(app, plan, at("2026-03-23", "06:00"))
    transport = MemoryTransport()
    mails: list[dict[str, object]] = []
    # Ticks every 20 minutes from Saturday evening to Monday noon, across the missing hour.
    moment = datetime(2026, 3, 28, 17, 0, tzinfo=UTC)
    while moment <= datetime(2026, 3, 30, 10, 0, tzinfo=UTC):
        mails += tick(app, moment, transport=transport).mails
        moment += timedelta(minutes=20)
    assert mails
    assert {str(m["at"])[:10] for m in mails} == {"2026-03-30"}
    # Not before the send time in local (summer) time: 07:30 CEST is 05:30 UTC.
    first = min(datetime.fromisoformat(str(m["at"])) for m in mails)
    assert first.astimezone(UTC) >= datetime(2026, 3, 30, 5, 30, tzinfo=UTC)
    per_person = Counter(
        (address, m["kind"])
        for m in mails
        for address in m["to"]  # type: ignore[attr-defined]
        if m["kind"] != "escalation"
    )
    assert max(per_person.values()) == 1
    for title in ("Lämna in rapporten", "Boka workshop", "Svara på remissen"):
        assert any(title in mail.text for mail in transport.sent), title
    # One digest to each head and to the kommundirektör (three in the bundled municipality).
    digests = [a for m in mails if m["kind"] == "digest" for a in m["to"]]  # type: ignore[attr-defined]
    assert len(digests) == len(set(digests)) and "eva.ekstrom@example.se" in digests
