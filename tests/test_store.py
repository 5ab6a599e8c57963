"""The store opens, migrates and refuses a database that does not answer."""

import pytest
import sqlalchemy as sa

from loopwright.errors import StoreUnavailable
from loopwright.store import open_engine


def test_migrates_to_head_once(database_url):
    engine = open_engine(database_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert {"artifacts", "receipts", "deployment", "deployment_version", "alembic_version"} <= tables
    engine.dispose()
    # Opening again is a no-op, not a second migration.
    engine = open_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM deployment_version")).scalar() == 1
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_a_wal_checkpoint_blocked_by_a_reader_says_so_and_a_later_one_completes(tmp_path, caplog):
    from loopwright.store.engine import checkpoint_wal

    engine = open_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    reader = engine.connect()
    try:
        reader.exec_driver_sql("SELECT count(*) FROM receipts").scalar()  # in a transaction: holds a snapshot of the log
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE deployment_version SET version = version + 1")
        assert checkpoint_wal(engine) is False
        assert "blocked by a reader" in caplog.text
    finally:
        reader.close()
    assert checkpoint_wal(engine) is True
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/test", "nosuchdb://x", "sqlite:////nonexistent-dir/x/y.db"],
)
def test_unreachable_database_is_one_clear_error(url):
    with pytest.raises(StoreUnavailable) as err:
        open_engine(url)
    assert "\n" not in err.value.one_line()


def _tables(ws) -> set[str]:
    with ws.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_a_workspace_without_the_sample_has_no_bank_tables(workspace):
    tables = _tables(workspace)
    assert "tool_calls" in tables
    assert not {t for t in tables if t.startswith("bank_") or t == "alembic_version_bank"}


def test_installing_the_bank_applies_its_own_migration(workspace):
    from loopwright.samples.bank.migrations import SCHEMA
    from loopwright.samples.bank.tools.book import load_bank_book
    from loopwright.store.plugins import installed_schemas, plugin_installed

    assert SCHEMA in installed_schemas(), "the bank's schema is read from the installed entry points"
    assert not plugin_installed(workspace.engine, SCHEMA)
    load_bank_book(workspace)
    tables = _tables(workspace)
    assert {"bank_customers", "bank_accounts", "bank_cards", "bank_transactions", "bank_disputes", "bank_escalations"} <= tables
    with workspace.engine.connect() as conn:
        # Two histories: the core's head is untouched, the bank's has its own table.
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version_bank")).scalar() == "bank_0001"
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() != "bank_0001"
    # Opening the database again finds the plugin installed and at its head: nothing to do, nothing lost.
    engine = open_engine(workspace.database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM bank_customers")).scalar() > 0
    engine.dispose()


def test_a_workspace_made_before_the_bank_was_a_plugin_keeps_its_book(workspace):
    from loopwright.samples.bank.tools.book import load_bank_book
    from loopwright.samples.bank.tools.schema import BankBase

    # Core revision 0004 used to create the bank's tables in every workspace: the plugin adopts them.
    BankBase.metadata.create_all(workspace.engine)
    assert load_bank_book(workspace)["customers"] > 0
    with workspace.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version_bank")).scalar() == "bank_0001"
