"""`loopwright demo --quick` end to end, as a new user runs it: exit 0, the table, results.json, report.html."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _demo(folder, cache_dir, seed=7):
    env = {k: v for k, v in os.environ.items() if k not in ("LOOPWRIGHT_DATABASE_URL", "LOOPWRIGHT_WORKSPACE")}
    env["LOOPWRIGHT_CACHE_DIR"] = str(cache_dir)
    return subprocess.run(
        [sys.executable, "-m", "loopwright", "demo", "--quick", "--seed", str(seed), "--workspace", str(folder), "--json"],
        capture_output=True, text=True, env=env, timeout=900,
    )


def _rows(results):
    return {(r["phase"], r["metric"]): r for r in results["table"]}


def test_quick_demo_runs_and_reports(tmp_path, cache_dir, triage_fit):
    proc = _demo(tmp_path / "demo", cache_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    results = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert summary["table"] == results["table"]
    report = (tmp_path / "demo" / "report.html").read_text()
    assert len(report) > 100_000 and "<h2>Outcomes</h2>" in report and "claim +19%" in report
    rows = _rows(results)
    assert [p["name"] for p in results["phases"]] == ["baseline", "inference_first", "economics", "self_learning", "incident",
                                                      "training", "outcomes", "governance"]
    # The properties the story must show, whatever the accuracy figures turn out to be.
    assert rows[("incident", "gate caught the bad commit")]["met"] is True
    assert rows[("incident", "failed requests during the switch")]["value"] == 0
    assert rows[("incident", "rollback took effect in")]["value"] < 1.0
    assert rows[("incident", "other slots unchanged")]["met"] is True
    assert rows[("governance", "raw PII found (database, cache, logs, exported traces)")]["value"] == 0
    assert rows[("governance", "audit chain verified")]["met"] is True
    assert rows[("governance", "artifacts, blobs, indexes and deployment verified against their digests and receipts")]["met"] is True
    # Quarter 2: the training cycle is judged on the held-out set, and its decision has a signed note either way.
    training = next(p for p in results["phases"] if p["name"] == "training")["metrics"]
    assert training["comparison"]["decision"] in ("promote", "refuse") and training["note"].startswith("note/triage@")
    assert rows[("training", "held-out triage accuracy vi, before")]["value"] < rows[("training", "held-out triage accuracy en, before")]["value"]
    # The FlexPay figure comes with the interval its sample size allows, recomputable from its traces.
    after = next(p for p in results["phases"] if p["name"] == "inference_first")["metrics"]["after"]
    low, high = after["flexpay_accuracy_ci95"]
    assert low <= after["flexpay_accuracy"] <= high and high - low > 0
    interval = rows[("inference_first", "FlexPay accuracy after, 95% interval")]
    assert f"({after['flexpay_questions']} questions)" in interval["value"]
    assert interval["trace_ids"] == rows[("inference_first", "FlexPay accuracy after")]["trace_ids"]
    assert len(interval["trace_ids"]) == after["flexpay_questions"]
    # Economics: the arms compared on each request's first answer, the change with its paired interval, and the
    # router's answers per tier (the reader on the small tier), each row backed by exactly its traces.
    econ = next(p for p in results["phases"] if p["name"] == "economics")["metrics"]
    assert rows[("economics", "requests compared (first answers)")]["value"] == econ["always_large"]["requests"]
    assert rows[("economics", "accuracy change vs always-large (per call, rephrasings included)")]
    if econ["release"]["state"] == "promoted":
        low, high = econ["paired"]["accuracy_change_ci95"]
        assert low <= econ["paired"]["accuracy_change"] <= high
        assert sum(t["share"] for t in econ["tiers"].values()) == pytest.approx(1.0) and "small" in econ["tiers"]
        assert len(rows[("economics", "small tier: accuracy")]["trace_ids"]) == econ["tiers"]["small"]["requests"]
    # Outcomes per conversation for every phase's traffic, with intervals, beside the case study's claims.
    outcomes = next(p for p in results["phases"] if p["name"] == "outcomes")["outcomes"]
    assert {"baseline", "always-large"} <= set(outcomes["samples"])  # the others exist when their release was promoted
    for name, m in outcomes["samples"].items():
        assert m["conversations"] <= m["turns"] and m["fcr"]["n"] == m["conversations"], name
        if m["fcr"]["n"]:
            assert m["fcr"]["low"] <= m["fcr"]["value"] <= m["fcr"]["high"], name
        assert rows[("outcomes", f"{name}: first-contact resolution")]["trace_ids"]
    assert max(t["turn"] for t in results["timeline"]) > 1  # multi-turn conversations
    claim = rows[("outcomes", "FCR change, baseline -> always-large")]
    assert claim["target"] == "+19% (case study)" and "the claim is" in claim["value"]
    assert rows[("outcomes", "CSAT change, baseline -> always-large")]["target"] == "+8 points (case study)"
    assert outcomes["judged_on_fcr"]  # a release the canary analysis judged on first-contact resolution
    # The advisor is asked in each phase that pulls a lever, over what the phase observed; its call is on the card
    # and recorded as an advisor.call receipt.
    for phase in ("inference_first", "economics", "self_learning", "training"):
        row = rows[(phase, "advisor's lever")]
        card = next(p for p in results["phases"] if p["name"] == phase)
        assert row["trace_ids"] and card["advice"]["calls"] == len(row["trace_ids"])
        assert row["met"] is (card["advice"]["lever"] in card["advice"]["phase_levers"])
        assert row["receipt_ids"] == [card["advice"]["receipt_id"]]
    assert f"Receipt <code>{row['receipt_ids'][0]}</code>" in report  # report.html shows the call per phase
    # Every figure traces back to stored traces or receipts.
    traced = [r for r in results["table"] if r["trace_ids"] or r["receipt_ids"]]
    assert len(traced) >= len(results["table"]) // 2
    assert len(results["timeline"]) > 300 and results["events"]


@pytest.mark.slow
def test_same_seed_same_decisions(tmp_path, cache_dir, triage_fit):
    first, second = _demo(tmp_path / "a", cache_dir), _demo(tmp_path / "b", cache_dir)
    assert first.returncode == 0 and second.returncode == 0
    a = json.loads((tmp_path / "a" / "results.json").read_text())
    b = json.loads((tmp_path / "b" / "results.json").read_text())
    decisions = lambda r: [(t["request_id"], t["channel"], t["tier"], t["cache_hit"], t["outcome"], t["accepted"]) for t in r["timeline"]]  # noqa: E731
    assert decisions(a) == decisions(b)
    # Accuracy figures repeat exactly; costs may differ in the last digits (tool tickets are random ids, counted as tokens).
    accuracy = lambda r: {k: v["value"] for k, v in _rows(r).items() if "accuracy" in k[1] or k[1] == "accepted answers"}  # noqa: E731
    assert accuracy(a) == accuracy(b) and len(accuracy(a)) >= 4
