"""Prometheus metrics, in a registry of the web app's own (several apps may share a process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from service.app import App
from service.models import Occurrence, OutboxMessage
from service.occurrences import DONE, NOT_APPLICABLE, OPEN, OVERDUE


class StoreCollector(Collector):
    """Counts read from the store at scrape time, so every instance reports the same truth."""

    def __init__(self, app: App, today: Callable[[], date]) -> None:
        self._app = app
        self._today = today

    def describe(self) -> list[GaugeMetricFamily]:
        # Without this, registering would query the store, which may not exist yet.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        occurrences = GaugeMetricFamily(
            "bevakning_occurrences", "Occurrences by status", labels=["status"]
        )
        outbox = GaugeMetricFamily(
            "bevakning_outbox_messages", "Outbox rows by status", labels=["status"]
        )
        today = self._today()
        with self._app.sessions() as session:
            by_status: dict[str, int] = dict(
                session.execute(select(Occurrence.status, func.count()).group_by(Occurrence.status))
                .tuples()
                .all()
            )
            overdue = (
                session.scalar(
                    select(func.count())
                    .select_from(Occurrence)
                    .where(
                        Occurrence.status == OPEN,
                        func.coalesce(Occurrence.postponed_to, Occurrence.due) < today,
                    )
                )
                or 0
            )
            mail: dict[str, int] = dict(
                session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
                .tuples()
                .all()
            )
        counts = {
            OPEN: by_status.get(OPEN, 0) - overdue,
            OVERDUE: overdue,
            DONE: by_status.get(DONE, 0),
            NOT_APPLICABLE: by_status.get(NOT_APPLICABLE, 0),
        }
        for status, n in counts.items():
            occurrences.add_metric([status], n)
        for status in ("pending", "sending", "sent", "failed"):
            outbox.add_metric([status], mail.get(status, 0))
        yield occurrences
        yield outbox


class WebMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.item_posts = Counter(
            "bevakning_web_item_posts",
            "Form posts on item pages (action done = mark-done) by outcome",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.bad_tokens = Counter(
            "bevakning_web_bad_tokens",
            "Links refused: forged, expired, kind or stale",
            ["reason"],
            registry=self.registry,
        )

    def watch_store(self, collector: Collector) -> None:
        self.registry.register(collector)
