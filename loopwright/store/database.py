"""Opening the store: an engine that answers, with the core schema and every installed plugin's schema
migrated to their newest revisions (`loopwright.store.plugins`)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from loopwright.errors import StoreUnavailable
from loopwright.store.engine import alembic_config, create_engine, locked_begin, safe_url
from loopwright.store.plugins import upgrade_installed

log = logging.getLogger(__name__)


def open_engine(url: str) -> Engine:
    """Create an engine for `url`, check that it answers, and migrate it to the latest schema."""
    try:
        engine = create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise StoreUnavailable(f"invalid database URL {safe_url(url)}: {exc}") from None
    try:
        _migrate(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreUnavailable(
            f"database {safe_url(url)} does not answer: {reason}",
            hint="check the URL in loopwright.toml or LOOPWRIGHT_DATABASE_URL, and that the server runs",
        ) from None
    return engine


def _migrate(engine: Engine) -> None:
    """Bring the core schema, and every plugin schema installed here, to the newest revision; cheap when there."""
    heads = set(ScriptDirectory.from_config(alembic_config(None)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        with locked_begin(engine) as conn:
            log.info("migrating database schema to %s", ",".join(sorted(heads)))
            command.upgrade(alembic_config(conn), "head")
    upgrade_installed(engine)
