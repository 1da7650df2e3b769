"""The digest's index on occurrences gains done_on: (item_id, status, done_on) in place of
(item_id, status), so "done last week" reads the week's rows, not every done row of the items

Revision ID: scale_occurrence_done_on
Revises: scale_occurrence_item_status
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "scale_occurrence_done_on"
down_revision: str | None = "scale_occurrence_item_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new index answers every query the old one did (its first two columns are the old
    # index), so the old one goes: two indexes would cost every write twice for nothing.
    op.create_index(
        "ix_occurrences_item_status_done", "occurrences", ["item_id", "status", "done_on"]
    )
    op.drop_index("ix_occurrences_item_status", table_name="occurrences")


def downgrade() -> None:
    op.create_index("ix_occurrences_item_status", "occurrences", ["item_id", "status"])
    op.drop_index("ix_occurrences_item_status_done", table_name="occurrences")
