"""An index on occurrences (item_id, status): a head's digest reads their administration's
open, done and deferred occurrences, not the store's

Revision ID: scale_occurrence_item_status
Revises: inbox_replies
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "scale_occurrence_item_status"
down_revision: str | None = "calendars_per_administration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_occurrences_item_status", "occurrences", ["item_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_occurrences_item_status", table_name="occurrences")
