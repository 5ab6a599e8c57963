"""Alembic environment: loopwright always hands it an open connection."""

from alembic import context

from loopwright.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
context.run_migrations()
