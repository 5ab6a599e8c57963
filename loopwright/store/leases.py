"""Leases: one holder at a time for a named job among processes sharing the store (replicas).

A lease is a row (`leases`) naming its holder and when it expires. Taking or
renewing it is one serialised write transaction (see `engine.write_session`),
so two replicas cannot both hold it; a holder that dies simply stops renewing
and another takes over once `expires_at` passes. Times are each process's
wall clock: replicas are expected to run NTP, and the TTL (seconds) dwarfs
their skew.
"""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from loopwright.digests import utc_now
from loopwright.store.engine import write_session
from loopwright.store.schema import LeaseRow


def acquire(engine: Engine, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew lease `name` for `holder` until now + `ttl_s`; False while someone else holds it."""
    now = time.time()
    with write_session(engine) as s:
        row = s.get(LeaseRow, name)
        if row is None:
            s.add(LeaseRow(name=name, holder=holder, expires_at=now + ttl_s, acquired_at=utc_now()))
            return True
        if row.holder != holder and row.expires_at > now:
            return False
        if row.holder != holder:
            row.holder, row.acquired_at = holder, utc_now()
        row.expires_at = now + ttl_s
        return True


def release(engine: Engine, name: str, holder: str) -> None:
    """Give lease `name` up now, if `holder` holds it, so another replica need not wait for it to expire."""
    with write_session(engine) as s:
        row = s.get(LeaseRow, name)
        if row is not None and row.holder == holder:
            s.delete(row)


def holder_of(engine: Engine, name: str) -> str | None:
    """Who holds lease `name` now, or None."""
    with engine.connect() as conn:
        row = conn.execute(LeaseRow.__table__.select().where(LeaseRow.name == name)).first()
    return row.holder if row is not None and row.expires_at > time.time() else None
