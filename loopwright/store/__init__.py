"""The store: one SQLAlchemy engine per workspace, its schema and its migrations."""

from loopwright.store.database import open_engine
from loopwright.store.engine import read_session, write_session

__all__ = ["open_engine", "read_session", "write_session"]
