"""API keys and the principal they stand for.

Keys are random, shown once, and stored only as their sha256. A key maps to a
principal: tenant, role, scopes, and optionally the customer it acts for.
Lookups are cached in-process for a few seconds so authentication stays off the
database on the hot path; a revocation empties every process's cache within one
deployment-watcher poll (`Authenticator.check_revocations`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.digests import canonical_json, sha256_hex, utc_now
from loopwright.errors import InvalidInput, LoopwrightError, NotFound
from loopwright.policy.principal import Principal
from loopwright.registry.payloads import KeyCreate, KeyGrant, KeyOwner, KeyRevoke
from loopwright.registry.receipts import append_receipt
from loopwright.store.schema import ApiKeyRow

if TYPE_CHECKING:
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace

KEY_PREFIX = "lw-"
_CACHE_TTL_S = 5.0


class AuthError(LoopwrightError):
    """A missing, malformed, unknown or revoked API key."""


class PermissionDenied(LoopwrightError):
    """A valid key whose role may not do this (HTTP 403)."""


def create_key(
    ws: Workspace,
    *,
    tenant: str,
    role: str,
    scopes: tuple[str, ...] = (),
    subject: str | None = None,
    policy: PolicySet | None = None,
) -> tuple[str, Principal]:
    """Make a key for a principal; returns the plaintext key (shown once) and the principal.

    With `policy` (what `loopwright keys create` passes: the live one), the tenant, the role
    and every scope must be ones it defines; see `check_principal`.
    """
    for label, value in (("tenant", tenant), ("role", role)):
        if not value or not value.replace("-", "").replace("_", "").isalnum():
            raise InvalidInput(f"invalid {label} {value!r}", hint="letters, digits, '-' and '_'")
    if policy is not None:
        check_principal(policy, tenant=tenant, role=role, scopes=scopes)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(8)
    with ws.write() as s:
        s.add(
            ApiKeyRow(
                id=key_id,
                key_hash=sha256_hex(secret),
                tenant=tenant,
                role=role,
                scopes=canonical_json(sorted(scopes)),
                subject=subject,
                created_at=utc_now(),
            )
        )
        grant = KeyGrant(tenant=tenant, role=role, scopes=sorted(scopes), subject=subject)
        append_receipt(s, ws, KeyCreate(after=grant), subject=f"key/{key_id}")
    return secret, Principal(tenant, role, tuple(sorted(scopes)), subject, key_id)


def check_principal(policy: PolicySet, *, tenant: str, role: str, scopes: tuple[str, ...]) -> None:
    """Refuse a tenant the policy does not define, a role it does not name, or a scope the tenant lacks."""
    tenants = policy.tenants()
    if tenant not in tenants:
        raise InvalidInput(f"unknown tenant {tenant!r}", hint=f"tenants in the live policy: {', '.join(sorted(tenants)) or 'none'}")
    roles = policy.roles()
    if role not in roles:
        raise InvalidInput(f"unknown role {role!r}", hint=f"roles in the live policy: {', '.join(sorted(roles))}")
    access = policy.retrieval.tenants.get(tenant)
    allowed = set(access.scopes) if access else set()
    extra = sorted(set(scopes) - allowed)
    if extra:
        raise InvalidInput(
            f"scope {extra[0]!r} is not one of tenant {tenant!r}'s", hint=f"its scopes: {', '.join(sorted(allowed)) or 'none'}"
        )


def revoke_key(ws: Workspace, key_id: str) -> None:
    with ws.write() as s:
        row = s.get(ApiKeyRow, key_id)
        if row is None or row.revoked_at:
            raise NotFound(f"no active key {key_id!r}", hint="`loopwright keys list` shows them")
        row.revoked_at = utc_now()
        append_receipt(s, ws, KeyRevoke(before=KeyOwner(tenant=row.tenant, role=row.role)), subject=f"key/{key_id}")


def list_keys(ws: Workspace) -> list[dict[str, Any]]:
    with ws.session() as s:
        rows = s.scalars(sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at)).all()
    return [
        {
            "id": r.id,
            "tenant": r.tenant,
            "role": r.role,
            "scopes": json.loads(r.scopes),
            "subject": r.subject,
            "created_at": r.created_at,
            "revoked_at": r.revoked_at,
        }
        for r in rows
    ]


def principal_of_key(ws: Workspace, key_id: str) -> Principal | None:
    """The principal of an active key, by its id (a console session holds the id, never the key); None if revoked or unknown."""
    with ws.session() as s:
        row = s.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at:
        return None
    return Principal(row.tenant, row.role, tuple(json.loads(row.scopes)), row.subject, row.id)


class Authenticator:
    """Resolves bearer keys to principals, with a short in-process cache (`ttl_s`) that keeps the store off
    the hot path.

    A revocation is honoured well within the TTL: `check_revocations`, which the deployment watcher runs on
    every poll in every worker and replica, counts the keys and the revoked keys and empties the cache when
    either moved. A revoked key is refused within one poll (0.2 s by default); the TTL bounds what a store
    outage could leave stale.
    """

    def __init__(self, ws: Workspace, *, ttl_s: float = _CACHE_TTL_S):
        self.ws = ws
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        self._keys_seen: tuple[int, int] | None = None

    def cached(self, authorization: str | None) -> Principal | None:
        """The principal of a key resolved within the TTL, without the store; None when it must be asked
        (`authenticate`). An AuthError for a malformed header, or a key known to be unknown or revoked."""
        hit = self._fresh(_digest(authorization))
        if hit is None:
            return None
        if hit[1] is None:
            raise AuthError("invalid or revoked API key")
        return hit[1]

    def authenticate(self, authorization: str | None) -> Principal:
        digest = _digest(authorization)
        hit = self._fresh(digest)
        if hit is None:
            hit = (time.monotonic(), self._lookup(digest))
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = hit
        if hit[1] is None:
            raise AuthError("invalid or revoked API key")
        return hit[1]

    def _fresh(self, digest: str) -> tuple[float, Principal | None] | None:
        """The cache's entry for `digest` while within the TTL, else None."""
        hit = self._cache.get(digest)
        return hit if hit is not None and time.monotonic() - hit[0] <= self.ttl_s else None

    def check_revocations(self) -> None:
        """Empty the cache if a key was created or revoked since the last check (one small query)."""
        with self.ws.session() as s:
            seen = tuple(s.execute(sa.select(sa.func.count(), sa.func.count(ApiKeyRow.revoked_at))).one())
        if seen != self._keys_seen:
            with self._lock:
                self._cache.clear()
                self._keys_seen = seen

    def _lookup(self, digest: str) -> Principal | None:
        with self.ws.session() as s:
            row = s.scalars(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == digest)).first()
        if row is None or row.revoked_at:
            return None
        return Principal(row.tenant, row.role, tuple(json.loads(row.scopes)), row.subject, row.id)


def _digest(authorization: str | None) -> str:
    """The sha256 of the bearer key in an Authorization header; an AuthError when there is none."""
    if not authorization:
        raise AuthError("missing API key", hint="send 'Authorization: Bearer <key>'")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError("malformed Authorization header", hint="send 'Authorization: Bearer <key>'")
    return sha256_hex(key.strip())
