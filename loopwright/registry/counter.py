"""The deployment version: one counter that every deployment or flag change bumps, in the change's own
transaction, so a running server learns of any change by polling a single row."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.store.schema import DeploymentVersionRow


def deployment_version(session: Session) -> int:
    """The counter bumped by every deployment change: cheap to poll."""
    return session.scalar(sa.select(DeploymentVersionRow.version).where(DeploymentVersionRow.id == 1)) or 0


def bump_version(session: Session) -> int:
    """Bump the counter running servers watch; every deployment or flag change calls it."""
    session.execute(sa.update(DeploymentVersionRow).where(DeploymentVersionRow.id == 1).values(version=DeploymentVersionRow.version + 1))
    return deployment_version(session)
