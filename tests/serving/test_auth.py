"""API keys: shown once, stored hashed, mapped to a principal, revocable, every change receipted."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from loopwright.errors import InvalidInput, NotFound
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.serving.auth import AuthError, Authenticator, create_key, list_keys, revoke_key


def test_a_key_maps_to_its_principal(workspace):
    key, principal = create_key(workspace, tenant="larkspur-retail", role="customer", scopes=("staff", "retail"), subject="cus_001")
    assert key.startswith("lw-") and len(key) > 40
    assert principal.key_id.startswith("key_")
    found = Authenticator(workspace).authenticate(f"Bearer {key}")
    assert found == principal
    assert (found.tenant, found.role, found.scopes, found.subject, found.key_id) == (
        "larkspur-retail", "customer", ("retail", "staff"), "cus_001", principal.key_id,
    )
    assert Authenticator(workspace).authenticate(f"bearer   {key}  ").key_id == principal.key_id  # scheme case, spacing


def test_only_the_hash_is_stored_and_listing_never_shows_it(workspace):
    key, principal = create_key(workspace, tenant="acme", role="app")
    other, _ = create_key(workspace, tenant="acme", role="app")
    assert key != other
    with workspace.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM api_keys"))]
    assert len(rows) == 2
    dumped = json.dumps(rows, default=str)
    assert key not in dumped and other not in dumped
    assert hashlib.sha256(key.encode()).hexdigest() in {r["key_hash"] for r in rows}
    listed = list_keys(workspace)
    assert [k["id"] for k in listed] == [principal.key_id, listed[1]["id"]]
    assert set(listed[0]) == {"id", "tenant", "role", "scopes", "subject", "created_at", "revoked_at"}
    assert key not in json.dumps(listed) and rows[0]["key_hash"] not in json.dumps(listed)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing API key"),
        ("", "missing API key"),
        ("Basic dXNlcjpwYXNz", "malformed Authorization header"),
        ("Bearer", "malformed Authorization header"),
        ("Token lw-abc", "malformed Authorization header"),
        ("Bearer lw-not-a-key", "invalid or revoked API key"),
    ],
)
def test_missing_malformed_and_unknown_keys_are_refused(workspace, header, message):
    create_key(workspace, tenant="acme", role="app")
    with pytest.raises(AuthError) as raised:
        Authenticator(workspace).authenticate(header)
    assert raised.value.message == message


def test_revoked_keys_are_refused_at_the_next_revocation_check_well_within_the_ttl(workspace):
    key, principal = create_key(workspace, tenant="acme", role="app")
    keep, _ = create_key(workspace, tenant="acme", role="app")
    authenticator = Authenticator(workspace, ttl_s=3600)
    authenticator.check_revocations()  # what the deployment watcher runs on every poll
    assert authenticator.authenticate(f"Bearer {key}").key_id == principal.key_id
    assert authenticator.cached(f"Bearer {key}").key_id == principal.key_id  # served without the store now
    revoke_key(workspace, principal.key_id)

    with pytest.raises(AuthError):  # a fresh lookup sees the revocation at once
        Authenticator(workspace).authenticate(f"Bearer {key}")
    assert authenticator.cached(f"Bearer {key}").key_id == principal.key_id  # still cached...
    authenticator.check_revocations()  # ...until the next poll, not the hour-long TTL
    assert authenticator.cached(f"Bearer {key}") is None
    with pytest.raises(AuthError, match="invalid or revoked"):
        authenticator.authenticate(f"Bearer {key}")
    with pytest.raises(AuthError, match="invalid or revoked"):  # now cached as refused
        authenticator.cached(f"Bearer {key}")
    assert authenticator.authenticate(f"Bearer {keep}")  # the other key is untouched

    expiring = Authenticator(workspace, ttl_s=0.0)  # and without any check, the TTL bounds it
    expiring.authenticate(f"Bearer {keep}")
    assert expiring.cached(f"Bearer {keep}") is None
    revoked = {k["id"]: k["revoked_at"] for k in list_keys(workspace)}
    assert revoked[principal.key_id] and len(revoked) == 2
    with pytest.raises(NotFound):
        revoke_key(workspace, principal.key_id)  # already revoked
    with pytest.raises(NotFound, match="key_nope"):
        revoke_key(workspace, "key_nope")


def test_a_key_refused_before_it_existed_works_once_created(workspace):
    authenticator = Authenticator(workspace, ttl_s=3600)
    authenticator.check_revocations()
    with pytest.raises(AuthError):
        authenticator.authenticate("Bearer lw-unknown")
    key, principal = create_key(workspace, tenant="acme", role="app")
    authenticator.authenticate(f"Bearer {key}")  # a key never asked about: looked up
    authenticator.check_revocations()  # a new key also empties the cache, so no refusal outlives it
    assert authenticator.cached(f"Bearer {key}") is None
    assert authenticator.authenticate(f"Bearer {key}").key_id == principal.key_id

    other = Authenticator(workspace)
    for header in ("", "Token x"):
        with pytest.raises(AuthError):
            other.cached(header)  # a bad header is refused without a cache entry too


def test_key_changes_are_receipted_without_the_secret(workspace):
    key, principal = create_key(workspace, tenant="acme", role="admin", scopes=("ops",))
    revoke_key(workspace, principal.key_id)
    with workspace.session() as s:
        receipts = list_receipts(s, subject=f"key/{principal.key_id}")
        assert verify_chain(s, workspace).ok
    assert [r.action for r in receipts] == ["key.create", "key.revoke"]
    assert receipts[0].after == {"tenant": "acme", "role": "admin", "scopes": ["ops"], "subject": None}
    assert receipts[1].before == {"tenant": "acme", "role": "admin"}
    assert key not in json.dumps([r.__dict__ for r in receipts], default=str)


@pytest.mark.parametrize(("tenant", "role"), [("", "app"), ("acme corp", "app"), ("acme", "ad min"), ("acme", ""), ("a/b", "app")])
def test_invalid_tenant_or_role_is_refused(workspace, tenant, role):
    with pytest.raises(InvalidInput):
        create_key(workspace, tenant=tenant, role=role)
    assert list_keys(workspace) == []
