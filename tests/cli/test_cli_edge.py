"""The CLI refuses keys for principals the policy does not define, and prints usage errors as one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from loopwright.errors import InvalidInput
from loopwright.policy.loader import deployed_policy
from loopwright.serving.auth import check_principal, list_keys

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def run(ws, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOOPWRIGHT_WORKSPACE": str(ws.root)}
    return subprocess.run([sys.executable, "-m", "loopwright", *args], capture_output=True, text=True, env=env, timeout=120)


def test_keys_create_refuses_undefined_tenants_roles_and_scopes_in_one_line(bank):
    cases = [
        (["--tenant", "larkspur-retial", "--role", "customer"], "error: unknown tenant 'larkspur-retial' (hint: tenants in the live policy: larkspur-retail, larkspur-staff)"),
        (["--tenant", "larkspur-retail", "--role", "superuser"], "error: unknown role 'superuser'"),
        (["--tenant", "larkspur-retail", "--role", "customer", "--scope", "staff"], "error: scope 'staff' is not one of tenant 'larkspur-retail''s"),
        (["--tenant", "larkspur-retail", "--role", "customer", "--scope", "retail", "--scope", "root"], "error: scope 'root'"),
    ]
    for args, expected in cases:
        proc = run(bank, "keys", "create", *args)
        assert proc.returncode == 1 and proc.stderr.startswith(expected) and proc.stderr.count("\n") == 1, (args, proc.stderr)
    assert list_keys(bank) == []  # nothing was created
    made = run(bank, "keys", "create", "--tenant", "larkspur-staff", "--role", "agent", "--scope", "retail", "--scope", "staff")
    assert made.returncode == 0 and made.stdout.startswith("lw-"), made.stderr


def test_check_principal_reads_the_policy(bank):
    policy = deployed_policy(bank)
    check_principal(policy, tenant="larkspur-retail", role="admin", scopes=("retail",))
    with pytest.raises(InvalidInput, match="unknown role"):
        check_principal(policy, tenant="larkspur-retail", role="root", scopes=())


def test_usage_errors_are_one_line(bank):
    for args, expected in [
        (["trace", "list", "--limit", "0"], "error: Invalid value for '--limit'"),
        (["trace", "list", "--limit", "99999999999999999999"], "error: Invalid value for '--limit'"),
        (["trace", "list", "--bogus"], "error: No such option: --bogus"),
        (["keys", "create", "--role", "customer"], "error: Missing option '--tenant'"),
        (["nonsense"], "error: No such command 'nonsense'"),
    ]:
        proc = run(bank, *args)
        assert proc.returncode == 2 and proc.stderr.startswith(expected) and proc.stderr.count("\n") == 1, (args, proc.stderr)
        assert "╭" not in proc.stderr and "Traceback" not in proc.stderr
    assert run(bank, "trace", "--help").returncode == 0
