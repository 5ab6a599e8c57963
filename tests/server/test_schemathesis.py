"""schemathesis against a live `loopwright serve` with a customer key: no 5xx, and every answer as the schema says.

Before issue 14, this found 28 server errors (`?offset=99999999999999999999`) and every 400
violated a schema that declared only 422. It runs schemathesis's own CLI, with a fixed seed
and at most 60 examples per operation (about 25 s here, server start included), so a failure reproduces.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loopwright.server.process import ServeProcess
from loopwright.serving.auth import create_key

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(triaged_bank, tmp_path):
    key, _ = create_key(triaged_bank, tenant="larkspur-retail", role="customer", subject="cus_001")
    report = tmp_path / "schemathesis.json"
    with ServeProcess(triaged_bank.root, env={"HF_HUB_OFFLINE": "1"}) as server:
        proc = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "run", server.url + "/openapi.json",
                "--header", f"Authorization: Bearer {key}",
                "--checks", ",".join(CHECKS),
                "--phases", "examples,coverage,fuzzing",
                "--max-examples", "60", "--seed", "14", "--workers", "1",
                "--report", "ndjson", "--report-ndjson-path", str(report),
                "--output-truncate", "true",
            ],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Tested: 11" in proc.stdout, proc.stdout[-3000:]  # every operation of the schema was exercised
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    assert events, "schemathesis reported nothing"
