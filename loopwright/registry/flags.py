"""Feature flags: boolean, or a sticky percentage of callers, changed with receipts.

Evaluation follows OpenFeature: `FlagProvider` is an OpenFeature provider over
the workspace's flags, so router policies and prompt bundles ask an ordinary
OpenFeature client (`targeting_key` = the caller) and get the spec's reasons
(STATIC, SPLIT, DISABLED, or an error with the default). A flag change bumps
the deployment version, so running servers pick it up like any release.

A release may put its canary behind a flag (`canary_flag(slot)`, a sticky
percentage of callers): while the flag exists, it, not the slot's own split,
says which callers the canary serves; the release plane keeps its percentage
at the canary's share and deletes it when the release ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata
from sqlalchemy.orm import Session

from loopwright.digests import utc_now
from loopwright.errors import InvalidInput, NotFound
from loopwright.registry.payloads import DeployNote, FlagDelete, FlagSet, FlagState
from loopwright.registry.receipts import Receipt, append_receipt
from loopwright.registry.counter import bump_version
from loopwright.registry.sticky import sticky_fraction
from loopwright.store.schema import FlagRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Flag:
    name: str
    kind: Literal["boolean", "percentage"]
    enabled: bool
    percentage: float
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "enabled": self.enabled, "percentage": self.percentage, "description": self.description}

    def state(self) -> FlagState:
        """The flag as its receipts record it."""
        return FlagState(**self.to_dict())


def load_flags(session: Session) -> dict[str, Flag]:
    rows = session.scalars(sa.select(FlagRow).order_by(FlagRow.name))
    return {r.name: Flag(r.name, r.kind, r.enabled, r.percentage, r.description) for r in rows}


def set_flag(
    ws: Workspace,
    name: str,
    *,
    enabled: bool,
    percentage: float | None = None,
    description: str | None = None,
    actor: str | None = None,
    reason: str = "",
    session: Session | None = None,
) -> Receipt:
    """Create or change a flag: boolean, or on for `percentage` (0-100) of callers, sticky by caller.
    Pass `session` to change it inside a caller's write transaction (a release step)."""
    if not _NAME.match(name):
        raise InvalidInput(f"invalid flag name {name!r}", hint="lowercase letters, digits, '.', '_' and '-'")
    if percentage is not None and not 0 <= percentage <= 100:
        raise InvalidInput(f"percentage must be between 0 and 100, not {percentage}")
    if session is not None:
        return _set(session, ws, name, enabled, percentage, description, actor, reason)
    with ws.write() as s:
        return _set(s, ws, name, enabled, percentage, description, actor, reason)


def _set(s: Session, ws: Workspace, name: str, enabled: bool, percentage: float | None, description: str | None,
         actor: str | None, reason: str) -> Receipt:
    row = s.get(FlagRow, name)
    before = Flag(row.name, row.kind, row.enabled, row.percentage, row.description).state() if row else None
    if row is None:
        row = FlagRow(name=name, description="", percentage=100.0, kind="boolean", enabled=False, updated_at=utc_now())
        s.add(row)
    row.enabled = enabled
    if percentage is not None:
        row.kind, row.percentage = ("boolean", 100.0) if percentage == 100 else ("percentage", float(percentage))
    if description is not None:
        row.description = description
    row.updated_at = utc_now()
    s.flush()
    version = bump_version(s)
    after = Flag(row.name, row.kind, row.enabled, row.percentage, row.description).state()
    payload = FlagSet(before=before, after=after, details=DeployNote(reason=reason, deployment_version=version))
    return append_receipt(s, ws, payload, subject=f"flag/{name}", actor=actor)


def delete_flag(ws: Workspace, name: str, *, actor: str | None = None, reason: str = "", session: Session | None = None) -> Receipt:
    if session is not None:
        return _delete(session, ws, name, actor, reason)
    with ws.write() as s:
        return _delete(s, ws, name, actor, reason)


def _delete(s: Session, ws: Workspace, name: str, actor: str | None, reason: str) -> Receipt:
    row = s.get(FlagRow, name)
    if row is None:
        raise NotFound(f"no flag {name!r}", hint="`loopwright flags list`")
    before = Flag(row.name, row.kind, row.enabled, row.percentage, row.description).state()
    s.delete(row)
    version = bump_version(s)
    payload = FlagDelete(before=before, details=DeployNote(reason=reason, deployment_version=version))
    return append_receipt(s, ws, payload, subject=f"flag/{name}", actor=actor)


class FlagProvider(AbstractProvider):
    """An OpenFeature provider over a snapshot of the workspace's flags (boolean flags only)."""

    def __init__(self, flags: dict[str, Flag]):
        self.flags = flags

    def get_metadata(self) -> Metadata:
        return Metadata(name="loopwright")

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        flag = self.flags.get(flag_key)
        if flag is None:
            return FlagResolutionDetails(default_value, reason=Reason.ERROR, error_code=ErrorCode.FLAG_NOT_FOUND,
                                         error_message=f"no flag {flag_key!r}")
        if not flag.enabled:
            return FlagResolutionDetails(False, reason=Reason.DISABLED, variant="off")
        if flag.kind == "boolean":
            return FlagResolutionDetails(True, reason=Reason.STATIC, variant="on")
        key = evaluation_context.targeting_key if evaluation_context else None
        if not key:
            return FlagResolutionDetails(default_value, reason=Reason.ERROR, error_code=ErrorCode.TARGETING_KEY_MISSING,
                                         error_message="a percentage flag needs a targeting key")
        on = sticky_fraction(key, f"flag:{flag_key}") * 100 < flag.percentage
        return FlagResolutionDetails(on, reason=Reason.SPLIT, variant="on" if on else "off")

    def _unsupported(self, flag_key, default_value, evaluation_context=None):
        return FlagResolutionDetails(default_value, reason=Reason.ERROR, error_code=ErrorCode.TYPE_MISMATCH,
                                     error_message="loopwright flags are boolean")

    resolve_string_details = _unsupported
    resolve_integer_details = _unsupported
    resolve_float_details = _unsupported
    resolve_object_details = _unsupported


def evaluate(flags: dict[str, Flag], name: str, caller: str) -> bool:
    """Whether `name` is on for `caller`, by the provider's OpenFeature semantics (off when it does not exist).

    To use an OpenFeature client instead, register `FlagProvider` with `openfeature.api.set_provider`.
    """
    return FlagProvider(flags).resolve_boolean_details(name, False, EvaluationContext(targeting_key=caller)).value


def canary_flag(slot: str) -> str:
    """The flag that, while it exists, decides which callers a slot's canary serves (`release start --flag`)."""
    return "canary." + slot.replace(":", ".")
