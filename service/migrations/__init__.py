"""Alembic revisions of the store's schema; service/schema.py runs them."""
