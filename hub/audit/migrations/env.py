"""Alembic environment for the audit store; run by ``hub.audit.migrate.upgrade``."""

from __future__ import annotations

from alembic import context

from hub.audit.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
