"""The inference plane from the command line: keys, ask, trace show/list, report (thin over the library)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.errors import InvalidInput, NotFound
from loopwright.observe.traces import get_trace
from loopwright.registry.deployment import get_deployment
from loopwright.serving.auth import Authenticator

runner = CliRunner()
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def cli(*args: str):
    result = runner.invoke(app, list(args))
    return result


def cli_json(*args: str):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def bank_cli(triaged_bank, monkeypatch):
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(triaged_bank.root))
    return triaged_bank


def test_keys_create_list_revoke(bank_cli):
    made = cli_json("keys", "create", "--tenant", "larkspur-staff", "--role", "agent", "--scope", "staff", "--subject", "agt_7")
    assert made["key"].startswith("lw-") and made["tenant"] == "larkspur-staff" and made["role"] == "agent"
    assert made["scopes"] == ["staff"] and made["subject"] == "agt_7" and made["key_id"].startswith("key_")
    assert Authenticator(bank_cli).authenticate(f"Bearer {made['key']}").tenant == "larkspur-staff"

    human = cli("keys", "create", "--tenant", "larkspur-retail", "--role", "customer")
    assert human.exit_code == 0 and human.stdout.startswith("lw-") and "shown once" in human.stdout

    listed = cli_json("keys", "list")
    assert [k["tenant"] for k in listed] == ["larkspur-staff", "larkspur-retail"]
    assert made["key"] not in json.dumps(listed) and all("key" not in k for k in listed)
    table = cli("keys", "list")
    assert table.exit_code == 0 and made["key_id"] in table.stdout and made["key"] not in table.stdout  # ids never cut

    revoked = cli("keys", "revoke", made["key_id"])
    assert revoked.exit_code == 0 and revoked.stdout.strip() == f"revoked {made['key_id']}"
    assert {k["id"]: k["revoked_at"] for k in cli_json("keys", "list")}[made["key_id"]]
    again = cli("keys", "revoke", made["key_id"])
    assert again.exit_code != 0 and isinstance(again.exception, NotFound)


def test_ask_prints_the_answer_citations_and_trace(bank_cli):
    answer = cli_json("ask", "What is the APY on the Larkspur Saver?")
    assert "3.80%" in answer["answer"]
    assert "savings-rates-2026-10" in [c["doc_id"] for c in answer["citations"]]
    assert answer["intent"] == "savings_rates" and answer["tier"] == "large" and answer["trace_id"].startswith("tr_")
    record = get_trace(bank_cli, answer["trace_id"], tenant="larkspur-retail")  # the in-process path traced it, drained
    assert record["principal"]["tenant"] == "larkspur-retail" and record["output"] == answer["answer"]

    staff = cli_json("ask", "What is the APY on the Larkspur Saver?", "--tenant", "larkspur-staff", "--role", "agent")
    assert get_trace(bank_cli, staff["trace_id"], tenant=None)["principal"]["tenant"] == "larkspur-staff"

    human = cli("ask", "What is the late fee for FlexPay 2.0?")
    assert human.exit_code == 0
    assert "certified" in human.stdout and "trace tr_" in human.stdout and "intent flexpay" in human.stdout

    cited = cli("ask", "What is the APY on the Larkspur Saver?")
    assert "3.80%" in cited.stdout and "savings-rates-2026-10" in cited.stdout


def test_trace_show_list_and_report(bank_cli):
    ids = [cli_json("ask", q)["trace_id"] for q in (
        "What is the APY on the Larkspur Saver?",
        "What is the late fee for FlexPay 2.0?",
        "What are the branch hours on Saturday?",
    )]

    shown = cli_json("trace", "show", ids[1])
    for field in ("principal", "channel", "bundle", "retrieval", "triage", "route", "cache", "tools", "validators",
                  "policies", "stages", "tokens", "cost", "outcome", "latency_ms"):
        assert field in shown, field
    assert shown["outcome"] == "declined" and "stale" in shown["retrieval"]["reason"]
    live = get_deployment(bank_cli)
    assert shown["bundle"]["corpus"]["ref"] == live.stable("corpus").ref
    assert shown["bundle"]["model:triage"]["ref"] == live.stable("model:triage").ref
    human = cli("trace", "show", ids[0])
    assert human.exit_code == 0 and json.loads(human.stdout)["id"] == ids[0]  # people get the same record, pretty-printed
    missing = cli("trace", "show", "tr_nope")
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFound)

    listed = cli_json("trace", "list")
    assert [t["id"] for t in listed] == ids[::-1]
    assert [t["id"] for t in cli_json("trace", "list", "--outcome", "declined")] == [ids[1]]
    assert [t["id"] for t in cli_json("trace", "list", "--intent", "savings_rates")] == [ids[0]]
    assert [t["id"] for t in cli_json("trace", "list", "--limit", "2")] == ids[:0:-1]
    assert cli_json("trace", "list", "--tenant", "larkspur-staff") == []
    assert cli_json("trace", "list", "--since", "2999-01-01T00:00:00Z") == []
    table = cli("trace", "list")
    assert table.exit_code == 0 and all(i in table.stdout for i in ids)  # whole ids, even at 80 columns

    follow_up = cli_json("ask", "And on Sunday?", "--conversation", shown["conversation"])
    assert follow_up["conversation_id"] == shown["conversation"]
    assert {t["id"] for t in cli_json("trace", "list", "--conversation", shown["conversation"])} == {ids[1], follow_up["trace_id"]}
    bad = cli("ask", "hello", "--conversation", "not ok!")
    assert bad.exit_code != 0 and isinstance(bad.exception, InvalidInput) and "conversation_id may hold only" in str(bad.exception)
    ids.append(follow_up["trace_id"])

    data = cli_json("report")
    overall = data["overall"]
    assert overall["requests"] == 5 and overall["decline_rate"] == pytest.approx(2 / 5, abs=1e-4)  # the bad one is an error
    outcomes = data["outcomes"]["overall"]
    assert outcomes["conversations"] == 3 and outcomes["turns"] == 4  # the refused call is no turn
    assert outcomes["fcr"]["n"] == 3 and outcomes["fcr"]["k"] == 0  # nothing accepted: require_valid
    assert overall["escalation_rate"] == pytest.approx(4 / 5) and overall["total_cost"] > 0 and overall["defect_rate"] is None
    assert [d["channel"] for d in data["deployments"]] == ["stable"]
    stages = data["stages"]
    fit = next(j for j in stages["jobs"] if j["action"] == "triage.fit")
    assert fit["calls"] == overall["requests"] and fit["compute_s"] > 0 and fit["per_call"] == pytest.approx(fit["cost"] / fit["calls"])
    assert stages["cost"]["inference"] == pytest.approx(overall["total_cost"]) and stages["cost"]["training"] == pytest.approx(fit["cost"])
    assert stages["accepted"] == 0 and stages["per_accepted"]["total"] is None  # nothing graded yet
    assert cli_json("report", "--since", "2999-01-01T00:00:00Z")["overall"] == {"requests": 0}
    table = cli("report")
    assert table.exit_code == 0 and "p95" in table.stdout and "all" in table.stdout and "FCR" in table.stdout
    assert "cost across the stages" in table.stdout and "self-learning" in table.stdout
    assert "no traces in this window" in cli("report", "--since", "2999-01-01T00:00:00Z").stdout


@SQLITE
def test_cli_errors_are_one_line(bank_cli):
    env = {**os.environ, "LOOPWRIGHT_WORKSPACE": str(bank_cli.root)}
    for args, expected in [
        (["trace", "show", "tr_nope"], "error: no trace 'tr_nope'"),
        (["keys", "revoke", "key_nope"], "error: no active key 'key_nope'"),
        (["keys", "create", "--tenant", "bad tenant", "--role", "x"], "error: invalid tenant 'bad tenant'"),
        (["trace", "list", "--outcome", "great"], "error: unknown outcome 'great'"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "loopwright", *args], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode != 0 and proc.stderr.startswith(expected) and proc.stderr.count("\n") == 1, proc.stderr
