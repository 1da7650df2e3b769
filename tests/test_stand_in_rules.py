"""The stand-in rules: who may act on an absent colleague's items, and on which days."""

from __future__ import annotations

from datetime import date

from service.i18n import acted_by_sv
from service.preferences import Cover, covered_owners, covers

AWAY = Cover(owner_id=1, starts=date(2025, 7, 1), ends=date(2025, 7, 31), stand_in_id=2)


def test_a_stand_in_acts_for_the_owner_only_while_the_absence_lasts() -> None:
    assert covers([AWAY], owner_id=1, stand_in_id=2, day=date(2025, 7, 1))
    assert covers([AWAY], owner_id=1, stand_in_id=2, day=date(2025, 7, 31))
    assert not covers([AWAY], owner_id=1, stand_in_id=2, day=date(2025, 6, 30))
    assert not covers([AWAY], owner_id=1, stand_in_id=2, day=date(2025, 8, 1))


def test_nobody_else_acts_for_the_owner_and_the_stand_in_acts_for_nobody_else() -> None:
    day = date(2025, 7, 10)
    assert not covers([AWAY], owner_id=1, stand_in_id=3, day=day)
    assert not covers([AWAY], owner_id=4, stand_in_id=2, day=day)
    no_stand_in = Cover(owner_id=1, starts=AWAY.starts, ends=AWAY.ends, stand_in_id=None)
    assert not covers([no_stand_in], owner_id=1, stand_in_id=2, day=day)


def test_a_stand_in_sees_each_absent_colleague_once_with_the_latest_end() -> None:
    longer = Cover(owner_id=1, starts=date(2025, 7, 5), ends=date(2025, 8, 15), stand_in_id=2)
    other = Cover(owner_id=5, starts=date(2025, 7, 7), ends=date(2025, 7, 20), stand_in_id=2)
    ended = Cover(owner_id=6, starts=date(2025, 6, 1), ends=date(2025, 7, 6), stand_in_id=2)
    found = covered_owners([AWAY, longer, other, ended], stand_in_id=2, day=date(2025, 7, 10))
    assert [(c.owner_id, c.ends) for c in found] == [(5, date(2025, 7, 20)), (1, date(2025, 8, 15))]
    assert covered_owners([AWAY], stand_in_id=2, day=date(2025, 8, 1)) == []


def test_the_record_names_the_stand_in_and_the_owner() -> None:
    assert acted_by_sv("Anna Berg", "Maria Sjöberg") == "Anna Berg (ersättare för Maria Sjöberg)"
    assert acted_by_sv("Anna Berg", "Anna Berg") == "Anna Berg"
    assert acted_by_sv("Anna Berg") == "Anna Berg"
