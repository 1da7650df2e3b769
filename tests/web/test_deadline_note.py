"""The word an item page gives on deadlines without a single date, for the new kinds too."""

from __future__ import annotations

import pytest

from service.models import Item
from service.web.dashboard import deadline_note


@pytest.mark.parametrize(
    ("kind", "parent_id", "note"),
    [
        ("relative", 7, "Skapas när föregående aktivitet är klar."),
        ("relative", None, ""),  # "inom 30 dagar" from the plan's start has its own date
        ("period", None, "Under perioden: avstämning varje termin, klart vid periodens slut."),
        ("continuous", None, "Fortlöpande: avstämning varje termin."),
        ("year", None, ""),
    ],
)
def test_the_note_follows_the_kind_and_whether_there_is_a_parent(
    kind: str, parent_id: int | None, note: str
) -> None:
    assert deadline_note(Item(deadline_kind=kind, parent_id=parent_id)) == note
