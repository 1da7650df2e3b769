"""Items keep the plan's own columns beyond ours (Samverkanspartner, Status, …)

Revision ID: readers_item_extra
Revises: 0001_initial
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "readers_item_extra"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, so the rows of an earlier release upgrade as they are (no extra columns).
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("extra", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("extra")
