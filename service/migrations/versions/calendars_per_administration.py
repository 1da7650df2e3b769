"""Calendars per administration: its committee's name, its own terms and meeting series

Revision ID: calendars_per_administration
Revises: inbox_replies
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "calendars_per_administration"
down_revision: str | None = "inbox_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # New tables only: the stored default calendar (terms, meetings) stays as it is, and a
    # store without administration sections reads exactly as before.
    op.create_table(
        "administration_calendars",
        sa.Column("administration", sa.String(length=40), nullable=False),
        sa.Column("committee", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("administration"),
    )
    op.create_table(
        "administration_terms",
        sa.Column("administration", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("administration", "name"),
    )
    op.create_table(
        "administration_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("administration", sa.String(length=40), nullable=False),
        sa.Column("calendar", sa.String(length=20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("administration", "calendar", "on"),
    )


def downgrade() -> None:
    op.drop_table("administration_meetings")
    op.drop_table("administration_terms")
    op.drop_table("administration_calendars")
