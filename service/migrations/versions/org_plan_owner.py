"""A plan's owner: its administration, and the coordinator who follows up items that name
only external parties

Revision ID: org_plan_owner
Revises: burdenmail_preferences
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "org_plan_owner"
down_revision: str | None = "burdenmail_preferences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing plans get "" = the head of the administration, which is who followed them up,
    # and the administration "" = the one (default) administration a store held until now.
    with op.batch_alter_table("plans") as batch:
        batch.add_column(
            sa.Column("coordinator", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("administration", sa.String(length=40), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("administration")
        batch.drop_column("coordinator")
