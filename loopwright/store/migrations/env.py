"""Alembic environment: loopwright always hands it an open connection.

The same environment runs the core revisions and a plugin's: a plugin's
`PluginSchema` (see `loopwright.store.plugins`) passes its own metadata and
version table, so its history is tracked apart from the core's.
"""

from alembic import context

from loopwright.store.schema import Base

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=attributes.get("target_metadata", Base.metadata),
    version_table=attributes.get("version_table", "alembic_version"),
    render_as_batch=True,
)
context.run_migrations()
