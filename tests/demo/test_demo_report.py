"""The demo's `report.html`: self-contained, escaped, every figure with its evidence, and it renders in a browser.

The browser tests open the report in headless Chromium from Debian's packages
(`apt-get install -y chromium`), with every host name unresolvable so that a
page needing the network would show no plots. Without Chromium they fail,
naming the install command; set `LOOPWRIGHT_SKIP_BROWSER=1` to skip them.
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loopwright.demo.report import COLOURS, format_value, render_report, write_report

HOSTILE_SUMMARY = "The stale table came back. <script>alert(1)</script> & nobody noticed"
HOSTILE_METRIC = 'Cost "per" <accepted> answer'
HOSTILE_EVENT = "canary 10% corpus/bank@3 <img src=x onerror=alert(2)>"
PHASES = [
    ("baseline", "Baseline", 0.0, 30.0),
    ("inference_first", "Inference first", 30.0, 75.0),
    ("economics", "Economics", 75.0, 110.0),
    ("incident", "Incident", 110.0, 150.0),
    ("governance", "Governance check", 150.0, 160.0),
]
EVENTS = [
    (40.0, "inference_first", "canary 10% corpus/bank@2"),
    (60.0, "inference_first", "promote corpus/bank@2"),
    (115.0, "incident", "gate rejected corpus/bank@3"),
    (120.0, "incident", HOSTILE_EVENT),
    (128.0, "incident", "auto rollback corpus/bank@3"),
    (135.0, "incident", "corpus/bank@3 on stable"),
    (136.2, "incident", "rollback corpus (by hand)"),
]


def sample_results(seed: int = 7) -> dict[str, Any]:
    """A small demo run in the shape `loopwright demo` writes: ~4 requests a second over 160 s."""
    rng = random.Random(seed)
    timeline: list[dict[str, Any]] = []
    for name, _, start, end in PHASES:
        t = start + rng.expovariate(4.0)
        while t < end:
            on_canary = (name == "inference_first" and 40 <= t < 60 or name == "incident" and 120 <= t < 128) \
                and rng.random() < 0.1
            flexpay = rng.random() < 0.3
            fixed = name != "baseline" and not (name == "inference_first" and t < 40 and not on_canary)
            correct = rng.random() < (0.93 if fixed else 0.68) if flexpay else None
            small = name in ("economics", "incident", "governance") and rng.random() < 0.7
            hit = small and rng.random() < 0.2
            timeline.append({
                "t": round(t, 3), "phase": name, "channel": "canary" if on_canary else "stable",
                "latency_ms": round(rng.lognormvariate(math.log(8 if hit else 35 if small else 90), 0.35), 2),
                "cost": 0.0 if hit else 0.0002 if small else 0.0021,
                "accepted": bool(correct) if flexpay else rng.random() < 0.9, "flexpay": flexpay, "correct": correct,
                "tier": "small" if small else "large", "cache_hit": hit, "trace_id": f"tr_{len(timeline):024x}",
            })
            t += rng.expovariate(4.0)
    events = [{"t": t, "phase": phase, "label": label, "receipt_id": f"rc-{i:012x}"}
              for i, (t, phase, label) in enumerate(EVENTS, 1)]

    def traces(phase: str, n: int = 25) -> list[str]:
        return [r["trace_id"] for r in timeline if r["phase"] == phase][:n]

    table = [
        {"phase": "baseline", "metric": "FlexPay accuracy", "value": 0.6812, "unit": "%", "target": None, "met": None,
         "trace_ids": traces("baseline"), "receipt_ids": []},
        {"phase": "baseline", "metric": "latency p95", "value": 162.37, "unit": "ms", "target": None, "met": None,
         "trace_ids": traces("baseline"), "receipt_ids": []},
        {"phase": "inference_first", "metric": "FlexPay accuracy", "value": 0.925, "unit": "%", "target": ">= 0.90",
         "met": True, "trace_ids": traces("inference_first"), "receipt_ids": ["rc-000000000001", "rc-000000000002"]},
        {"phase": "economics", "metric": HOSTILE_METRIC, "value": 0.0012, "unit": "$", "target": "<= 40% of always-large",
         "met": True, "trace_ids": traces("economics"), "receipt_ids": []},
        {"phase": "economics", "metric": "cache hit rate", "value": 0.14, "unit": "%", "target": None, "met": None,
         "trace_ids": traces("economics"), "receipt_ids": []},
        {"phase": "incident", "metric": "time to roll back", "value": 1.37, "unit": "s", "target": "< 1 s", "met": False,
         "trace_ids": traces("incident", 5), "receipt_ids": ["rc-000000000007"]},
        {"phase": "incident", "metric": "failed requests during the switch", "value": 0, "unit": "", "target": "== 0",
         "met": True, "trace_ids": traces("incident"), "receipt_ids": ["rc-000000000006", "rc-000000000007"]},
        {"phase": "governance", "metric": "audit verify", "value": True, "unit": "", "target": "chain whole", "met": True,
         "trace_ids": [], "receipt_ids": [f"rc-{i:012x}" for i in range(1, 8)]},
    ]
    phases = [{"name": name, "title": title, "start_t": start, "end_t": end,
               "summary": HOSTILE_SUMMARY if name == "incident" else f"What happened in {title.lower()}.",
               "metrics": {"requests": sum(r["phase"] == name for r in timeline), "flexpay_accuracy": 0.9},
               "trace_ids": traces(name, 10), "receipt_ids": [e["receipt_id"] for e in events if e["phase"] == name]}
              for name, title, start, end in PHASES]
    return {"seed": seed, "quick": False, "workspace": "/tmp/demo-workspace", "started_at": "2026-11-20T10:00:00Z",
            "finished_at": "2026-11-20T10:02:41Z", "duration_s": 161.2, "phases": phases, "table": table,
            "timeline": timeline, "events": events}


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return sample_results()


@pytest.fixture(scope="module")
def report(results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(results, tmp_path_factory.mktemp("report") / "out" / "report.html")


@pytest.fixture(scope="module")
def page(report: Path) -> str:
    return report.read_text(encoding="utf-8")


def test_the_report_needs_no_network(page: str):
    external = re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page, re.I)
    assert external == []
    assert "@import" not in page
    assert page.count("Plotly.newPlot") == 4
    assert len(page) > 1_000_000, "plotly.js should be inline"


def test_every_row_is_in_the_table_with_its_evidence(page: str, results: dict[str, Any]):
    table = page[page.index("<table class='results'>"):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr class='(met|missed|na)'>(.*?)</tr>", table, re.S)
    assert [cls for cls, _ in rows] == ["na", "na", "met", "met", "na", "missed", "met", "met"]
    for (_, row), expected in zip(rows, results["table"], strict=True):
        for trace_id in expected["trace_ids"]:
            assert f"<code>{trace_id}</code>" in row
        for receipt_id in expected["receipt_ids"]:
            assert f"<code>{receipt_id}</code>" in row
        assert "<details" in row
    cells = ["68.1%", "162.4 ms", "92.5%", "$0.00120", "1.370 s", ">0<", ">yes<", "Inference first", "&gt;= 0.90"]
    for cell in cells:
        assert cell in table
    assert "7 receipts" in table and "25 traces" in table and "5 traces" in table


def test_every_string_is_escaped(page: str):
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; nobody noticed" in page
    assert "Cost &quot;per&quot; &lt;accepted&gt; answer" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page


def test_figures_are_formatted_by_unit():
    assert format_value(0.41, "%") == "41.0%"
    assert format_value(12.345, "ms") == "12.3 ms"
    assert format_value(0.000123, "$") == "$0.000123"
    assert format_value(12.5, "$") == "$12.50"
    assert format_value(0.4213, "s") == "0.421 s"
    assert format_value(1234, "") == "1,234"
    assert format_value(0.123456, "") == "0.1235"
    assert format_value(0.9, "") == "0.9"
    assert format_value(None, "%") == "—"
    assert format_value(False) == "no"
    assert format_value("n/a", "ms") == "n/a"


def test_missing_optional_keys_still_render(tmp_path: Path):
    page = write_report({}, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No figures recorded." in page and "No requests on the timeline." in page
    assert "Plotly" not in page
    sparse = {"phases": [{"name": "baseline"}], "table": [{"metric": "x", "value": None}],
              "timeline": [{"t": 1.0, "latency_ms": 5.0}, {"t": 2.0, "phase": "baseline"}], "events": [{"label": "no time"}]}
    assert render_report(sparse).count("Plotly.newPlot") == 4


# ---- in a real browser ------------------------------------------------------------------------------------------


def chromium() -> str:
    if os.environ.get("LOOPWRIGHT_SKIP_BROWSER") == "1":
        pytest.skip("LOOPWRIGHT_SKIP_BROWSER=1")
    exe = os.environ.get("LOOPWRIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.fail("Chromium is needed to check that report.html renders: install it with "
                    "`apt-get update && apt-get install -y chromium` (Debian), or set LOOPWRIGHT_SKIP_BROWSER=1 to skip.",
                    pytrace=False)
    return exe


def open_in_chromium(report: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        # No name resolves: a page that needed the network would render without its plots.
        "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp / 'profile'}",
        "--virtual-time-budget=10000", "--window-size=1280,2400", *args, report.as_uri(),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"chromium did not finish in 180 s: {exc.stderr!r}", pytrace=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_plots_render_in_headless_chromium(report: Path, tmp_path: Path):
    dom = open_in_chromium(report, tmp_path, "--dump-dom").stdout
    assert dom.count('class="plot-container') == 4
    assert dom.count('class="main-svg"') >= 8  # plotly draws two layers of svg per plot
    assert "Quality: FlexPay accuracy and accepted rate" in dom
    assert "<img src=" not in dom and "<script>alert" not in dom  # the hostile strings stayed text


def test_screenshot_is_not_blank(report: Path, tmp_path: Path):
    from PIL import Image  # the test extra brings pillow

    shot = tmp_path / "report.png"
    open_in_chromium(report, tmp_path, f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 50_000
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
    assert rgb.size == (1280, 2400)
    colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200, "the page looks blank"
    # The FlexPay accuracy line's markers are drawn in its exact colour: the plots are on screen, not only in the DOM.
    flexpay = tuple(int(COLOURS["flexpay"][i:i + 2], 16) for i in (1, 3, 5))
    assert sum(n for n, c in colours if all(abs(a - b) <= 8 for a, b in zip(c, flexpay, strict=True))) > 50


def test_the_self_learning_table_shows_every_intent_and_language_with_its_paired_interval():
    from loopwright.demo.forgetting import forgetting_section

    scores = {"by_intent": {"fees": {"n": 120, "accuracy": 0.975}, "chargeback_grace": {"n": 120, "accuracy": 0.8}},
              "by_language": {"es": {"n": 270, "accuracy": 0.9}}}
    after = {"by_intent": {"fees": {"n": 120, "accuracy": 0.9667}, "chargeback_grace": {"n": 120, "accuracy": 0.99}},
             "by_language": {"es": {"n": 270, "accuracy": 0.9037}}}
    phase = {"name": "self_learning", "metrics": {"target": {"intent": "chargeback_grace"}, "per_intent_and_language": {
        "rows": "dataset/bank-forgetting@1 (held out), 360 texts", "before": scores, "after": after,
        "drop_points": {"intent:fees": 0.83, "language:es": -0.37}, "drop_ci95": {"intent:fees": [-2.1, 4.0], "language:es": [-2.2, 1.4]},
        "other_intents": {"n": 120, "drop_points": 0.83, "ci95": [-2.1, 4.0]}}}}
    html = forgetting_section([phase])
    assert "dataset/bank-forgetting@1 (held out), 360 texts" in html
    assert "<td>fees</td><td class='num'>120</td><td>97.5%</td><td>96.7%</td><td class='num'>+0.8</td><td>[-2.1, +4.0]</td>" in html
    assert "chargeback_grace (the intent fixed)" in html and "every other intent" in html and "[-2.2, +1.4]" in html
    assert forgetting_section([{"name": "baseline"}]) == ""
