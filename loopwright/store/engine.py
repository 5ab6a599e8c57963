"""Engines and transactions.

SQLite runs in WAL mode; every write transaction starts with BEGIN IMMEDIATE
so two writers queue on the database lock instead of failing half-way when a
read lock cannot be upgraded. On PostgreSQL a transaction-scoped advisory lock
plays the same part. Writes are therefore serialised, which is what keeps the
receipt hash chain linear across threads and processes; reads are not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Arbitrary constant naming loopwright's write lock among PostgreSQL advisory locks.
_PG_WRITE_LOCK = 0x6C77_7269


def create_engine(url: str) -> Engine:
    """An engine for `url` with the write serialisation above (no connection is made yet)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA secure_delete=ON")  # freed pages are zeroed: erased data does not linger in the file
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            immediate = conn.get_execution_options().get("loopwright_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


CHECKPOINT_WAIT_MS = 2000


def checkpoint_wal(engine: Engine) -> bool:
    """On SQLite, copy the write-ahead log into the database and truncate it (after an erase, so erased
    rows leave the log too); True when the log is empty afterwards. A no-op elsewhere.

    A reader still holding an older snapshot (a running server mid-request) can keep part of the log;
    the call then returns False and the next checkpoint finishes the job.
    """
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        # TRUNCATE waits for readers through the busy handler (60 s for writes): an erase should not hang that
        # long behind a server's open read, so it waits briefly and leaves the rest to the next checkpoint.
        waits = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
        try:
            busy, _log_pages, _moved = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(waits)}")
    if busy:
        log.warning("WAL checkpoint after an erase was blocked by a reader; the next checkpoint completes it")
    return not busy


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; it never writes."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A serialised write transaction: committed on success, rolled back on any error."""
    bind = engine.execution_options(loopwright_write=True)
    with Session(bind, expire_on_commit=False) as session, session.begin():
        if engine.dialect.name == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
        yield session


def alembic_config(connection) -> Config:
    """The Alembic configuration of the core revisions, bound to `connection` (None to read scripts only)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("loopwright.store") / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def locked_begin(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction that holds the store's write lock (for migrations)."""
    with engine.execution_options(loopwright_write=True).begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
        yield conn


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"
