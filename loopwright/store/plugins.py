"""Plugin schemas: a plugin's tables come from its own Alembic revisions, never from the core's.

    BANK = PluginSchema("bank", Path(__file__).parent / "versions", BankBase.metadata)
    upgrade_plugin(ws.engine, BANK)       # when the plugin is installed in a workspace
    plugin_installed(ws.engine, BANK)     # its version table exists

Each plugin keeps its own version table (`alembic_version_NAME`), so a
workspace holds a plugin's tables only once the plugin was installed in it
(`loopwright init --sample bank`), and the core's history never mentions
them. A package exposes its schema under the `loopwright.migrations`
entry-point group; `open_engine` then brings every schema already installed in
a database to its head, as it does the core's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from loopwright.store.engine import alembic_config, locked_begin

log = logging.getLogger(__name__)

GROUP = "loopwright.migrations"


@dataclass(frozen=True)
class PluginSchema:
    """A plugin's revisions (a folder of Alembic revision files) and the metadata they build."""

    name: str
    versions: Path
    metadata: sa.MetaData

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"


def installed_schemas() -> list[PluginSchema]:
    """Every schema exposed by an installed package under `loopwright.migrations`."""
    schemas = []
    for ep in entry_points(group=GROUP):
        schema = ep.load()
        if not isinstance(schema, PluginSchema):
            raise TypeError(f"entry point {ep.name} = {ep.value} in {GROUP} is not a PluginSchema")
        schemas.append(schema)
    return schemas


def plugin_installed(bind: Engine | Connection, schema: PluginSchema) -> bool:
    """Whether `schema` was installed in this database (its version table exists)."""
    return sa.inspect(bind).has_table(schema.version_table)


def upgrade_plugin(engine: Engine, schema: PluginSchema) -> None:
    """Create or bring `schema`'s tables to its newest revision, under the store's write lock."""
    heads = set(ScriptDirectory.from_config(_config(None, schema)).get_heads())
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": schema.version_table})
        if set(context.get_current_heads()) == heads:
            return
    with locked_begin(engine) as conn:
        log.info("migrating plugin schema %s to %s", schema.name, ",".join(sorted(heads)))
        command.upgrade(_config(conn, schema), "heads")


def upgrade_installed(engine: Engine) -> None:
    """Bring every installed plugin schema that this database already holds to its head."""
    for schema in installed_schemas():
        if plugin_installed(engine, schema):
            upgrade_plugin(engine, schema)


def _config(connection, schema: PluginSchema):
    cfg = alembic_config(connection)
    cfg.set_main_option("path_separator", "os")  # one folder; no splitting on spaces
    cfg.set_main_option("version_locations", str(schema.versions))
    cfg.attributes.update(version_table=schema.version_table, target_metadata=schema.metadata)
    return cfg
