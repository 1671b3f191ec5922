"""Alembic environment: always run programmatically with a connection handed in."""

from alembic import context

from orderdesk.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
