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


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/test", "nosuchdb://x", "sqlite:////nonexistent-dir/x/y.db"],
)
def test_unreachable_database_is_one_clear_error(url):
    with pytest.raises(StoreUnavailable) as err:
        open_engine(url)
    assert "\n" not in err.value.one_line()
