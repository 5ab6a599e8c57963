"""Real parts for every test: a workspace on SQLite in tmp_path and the same on PostgreSQL.

PostgreSQL tests get a schema of their own (search_path in the URL) and drop it
afterwards. When the server does not answer they skip on a developer's machine
and fail under CI (CI=true), so a green CI always counts them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PG_URL = os.environ.get("LOOPWRIGHT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # the reason is shown in the skip or failure
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    problem = _pg_available()
    if problem:
        message = f"PostgreSQL at {PG_URL} does not answer: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the PostgreSQL tests)")
        pytest.skip(message)
    return PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in tmp_path, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = request.getfixturevalue("pg_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{base}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch):
    """An empty workspace on each database engine."""
    from loopwright.workspace import init_workspace

    monkeypatch.setenv("LOOPWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("LOOPWRIGHT_ACTOR", "tester")
    ws = init_workspace(tmp_path / "ws")
    yield ws
    ws.close()
