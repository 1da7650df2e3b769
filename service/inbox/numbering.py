"""The numbers a reminder shows beside its items, to answer with ("klar 1 3").

Derived from the outbox row's payload alone, so the mail and the reading of its reply agree
without storing anything more: the planned sections in their fixed order (a manager's copy
of escalated items has no numbers), and within each the occurrence ids ascending.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.reminders import CHECKIN, CONFIRM, DUE_TODAY, ESCALATION, OVERDUE, UPCOMING

_ORDER = (CONFIRM, OVERDUE, DUE_TODAY, UPCOMING, CHECKIN)  # as the reminder shows them


def reply_numbers(payload: Mapping[str, Any]) -> dict[int, int]:
    """Answer number → occurrence id, numbered from 1."""
    sections = payload.get("sections", {}) or {}
    ordered = [name for name in _ORDER if name in sections]
    # A manager's copy of their people's late items is not theirs to answer for.
    ordered += sorted(name for name in sections if name not in (*_ORDER, ESCALATION))
    ids: list[int] = []
    for name in ordered:
        ids += sorted(int(i) for i in sections[name] if int(i) not in ids)
    return {number: occurrence_id for number, occurrence_id in enumerate(ids, start=1)}
