"""Alembic's entry point. Only ever run by service/schema.py, which hands over a connection
inside its own transaction (so every revision of one upgrade shares it)."""

from __future__ import annotations

from alembic import context

from service import models  # noqa: F401  (registers the tables)
from service.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
