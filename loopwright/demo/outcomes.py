"""The outcome phase: first-contact resolution, time-to-valid and CSAT of every earlier phase's traffic, beside the
case study's claims (customer satisfaction +8 points, first-contact resolution +19%).

No traffic of its own: it reads the conversations the other phases served (`DemoContext.samples`) back from the
store through `loopwright.observe.outcomes.outcome_report`, the call `loopwright report` makes, on the simulated
clock (`Driver.clock`: turns minutes apart, come-backs days later). Each sample is compared with the baseline:
FCR as a relative change, CSAT as the change in the satisfied (top-two-box) share, in points, each with its
bootstrap interval, and the claim is said to be inside, above or below it, whatever the figures come to. The
releases the canary analysis judged on first-contact resolution are listed with their evidence.
"""

from __future__ import annotations

from dataclasses import asdict
from html import escape
from typing import TYPE_CHECKING, Any

from loopwright.observe.outcomes import Change, OutcomeMetrics, outcome_report
from loopwright.policy.loader import deployed_policy
from loopwright.release import releases

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext

CLAIMS = {"csat_points": 0.08, "fcr_relative": 0.19}
"""The case study: "customer satisfaction rose eight points, first-contact resolution improved by 19%"."""


def outcomes(ctx: DemoContext) -> None:
    start = ctx.now()
    rules = deployed_policy(ctx.ws).outcomes
    clock = ctx.driver.clock
    measured: dict[str, OutcomeMetrics] = {}
    for name, rows in ctx.samples.items():
        if not rows:
            continue
        report = outcome_report(ctx.ws, ids=[r.trace_id for r in rows], rules=rules, segments=(),
                                clock=lambda t: clock.get(t.id, 0.0))
        measured[name] = report.overall
        m = report.overall.to_dict()
        ctx.row("outcomes", f"{name}: first-contact resolution", _share(m["fcr"]), "", traces=rows)
        ctx.row("outcomes", f"{name}: time to valid", f"{_mean(m['time_to_valid_s'], ' s')}, {_mean(m['time_to_valid_turns'], ' turns')} "
                f"({_share(m['reached_valid'])} got there)", "", traces=rows)
        ctx.row("outcomes", f"{name}: CSAT", f"{_mean(m['csat'], '')} of 5; satisfied {_share(m['csat_satisfied'])}", "", traces=rows)
    changes = {}
    base = measured.get("baseline")
    for name, m in measured.items():
        if base is None or name == "baseline":
            continue
        fcr = Change.of(base.fcr, m.fcr, rules.confidence, relative=True)
        csat = Change.of(base.csat_satisfied, m.csat_satisfied, rules.confidence)
        changes[name] = {"fcr_relative": fcr, "csat_points": csat}
        rows = ctx.samples["baseline"] + ctx.samples[name]
        ctx.row("outcomes", f"FCR change, baseline -> {name}", _change(fcr, CLAIMS["fcr_relative"], points=False), "",
                target="+19% (case study)", traces=rows)
        ctx.row("outcomes", f"CSAT change, baseline -> {name}", _change(csat, CLAIMS["csat_points"], points=True), "",
                target="+8 points (case study)", traces=rows)
    judged = _judged_on_fcr(ctx)
    for j in judged:
        ctx.row("outcomes", f"release {j['candidate']} judged on FCR", f"{j['stable']:.0%} stable vs {j['canary']:.0%} canary "
                f"({j['n_stable']} and {j['n_canary']} conversations, p={j['p_value']:.2g}): {j['state']}", "",
                receipts=[j["receipt"]])
    final = "router + cache" if "router + cache" in changes else next(iter(changes), None)
    headline = changes.get(final, {})
    ctx.phases.append({
        "name": "outcomes", "title": "Outcomes: FCR, time-to-valid, CSAT", "start_t": start, "end_t": ctx.now(),
        "metrics": {f"{name}: {k}": v for name, m in measured.items()
                    for k, v in (("fcr", m.fcr.value), ("csat", m.csat.value))},
        "outcomes": {"samples": {k: m.to_dict() for k, m in measured.items()},
                     "changes": {k: {c: asdict(v) for c, v in cs.items()} for k, cs in changes.items()},
                     "judged_on_fcr": judged, "rules": rules.model_dump(mode="json"), "claims": CLAIMS},
        "summary": (f"Per conversation, on the simulated clock (repeat window {rules.repeat_window_days:g} days). "
                    + (f"Baseline FCR {_share(asdict(base.fcr))}, CSAT satisfied {_share(asdict(base.csat_satisfied))}. " if base else "")
                    + (f"Baseline -> {final}: FCR {_change(headline['fcr_relative'], CLAIMS['fcr_relative'], points=False)} "
                       f"(claim +19%); CSAT {_change(headline['csat_points'], CLAIMS['csat_points'], points=True)} (claim +8 points). "
                       if headline else "")
                    + (f"{len(judged)} release step(s) judged on first-contact resolution." if judged else
                       "No release had the conversations on each side to be judged on first-contact resolution.")),
        "trace_ids": [r.trace_id for rows in ctx.samples.values() for r in rows], "receipt_ids": [j["receipt"] for j in judged],
    })


def _judged_on_fcr(ctx: DemoContext) -> list[dict[str, Any]]:
    """Each release step whose canary analysis tested first-contact resolution, with that test and the outcome."""
    out = []
    for release in releases.history(ctx.ws):
        if "rollback" in release:
            continue
        for receipt in release["receipts"]:
            evidence = (receipt.get("details") or {}).get("evidence") or {}
            for m in evidence.get("metrics") or []:
                if m.get("metric") == "fcr":
                    out.append({"release": release["id"], "candidate": release["candidate"], "state": release["state"],
                                "receipt": receipt["id"], **{k: m[k] for k in ("stable", "canary", "n_stable", "n_canary", "p_value", "regressed")}})
    return out


def _share(s: dict[str, Any]) -> str:
    return "n/a" if s["value"] is None else f"{s['value']:.0%} [{s['low']:.0%}, {s['high']:.0%}] of {s['n']}"


def _mean(e: dict[str, Any], unit: str) -> str:
    return "n/a" if e["value"] is None else f"{e['value']:.2f}{unit} [{e['low']:.2f}, {e['high']:.2f}]"


def _change(c: Change | dict[str, Any], claim: float, *, points: bool) -> str:
    c = Change(**c) if isinstance(c, dict) else c
    if c.value is None:
        return "n/a"
    if points:
        text = f"{c.value * 100:+.1f} points [{c.low * 100:+.1f}, {c.high * 100:+.1f}]"
    else:
        text = f"{c.value:+.0%} [{c.low:+.0%}, {c.high:+.0%}]"
    where = "inside" if c.low <= claim <= c.high else ("above" if claim > c.high else "below")
    return f"{text}: the claim is {where} the interval"


def outcome_section(phases: list[dict[str, Any]]) -> str:
    """The report's outcomes table: each sample's figures with intervals, its change from the baseline beside the
    case study's claims. Empty when the run has no outcomes phase."""
    phase = next((p for p in phases if p.get("name") == "outcomes" and isinstance(p.get("outcomes"), dict)), None)
    if phase is None:
        return ""
    data = phase["outcomes"]
    changes = data.get("changes") or {}
    rows = []
    for name, m in (data.get("samples") or {}).items():
        change = changes.get(name) or {}
        fcr, csat = change.get("fcr_relative"), change.get("csat_points")
        rows.append(
            f"<tr><td>{escape(name)}</td><td class='num'>{m['conversations']}</td><td class='num'>{m['turns']}</td>"
            f"<td>{escape(_share(m['fcr']))}</td><td>{escape(_mean(m['time_to_valid_s'], ' s'))}</td>"
            f"<td>{escape(_mean(m['time_to_valid_turns'], ''))}</td><td>{escape(_mean(m['csat'], ''))}</td>"
            f"<td>{escape(_share(m['csat_satisfied']))}</td>"
            f"<td>{escape(_change(fcr, CLAIMS['fcr_relative'], points=False) if fcr else '—')}</td>"
            f"<td>{escape(_change(csat, CLAIMS['csat_points'], points=True) if csat else '—')}</td></tr>")
    head = ("<tr><th>traffic</th><th class='num'>conversations</th><th class='num'>turns</th><th>first-contact resolution</th>"
            "<th>time to valid</th><th>turns to valid</th><th>CSAT (1-5)</th><th>satisfied</th>"
            "<th>FCR vs baseline (claim +19%)</th><th>CSAT vs baseline (claim +8 points)</th></tr>")
    rules = data.get("rules") or {}
    note = (f"Per conversation, {rules.get('confidence', 0.95):.0%} intervals (Wilson for shares, bootstrap for means and "
            f"changes); a repeat contact is the same customer on the same intent within {rules.get('repeat_window_days', 7):g} "
            "simulated days. The claims are the case study's; the figures are what this run measured.")
    return (f"<section><h2>Outcomes</h2><p class='muted'>{escape(note)}</p>"
            f"<table class='outcomes'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></section>")

