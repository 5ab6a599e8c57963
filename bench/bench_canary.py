"""Canary analysis: false rollback rate on A/A traffic, and power to catch a 5-point defect-rate rise.

Each trial runs a whole release schedule the way `release.releases.tick` does:
at every step with a share below 100%, the analysis looks once at that step's
traffic (canary and stable drawn from the same distribution for A/A, or with
the canary's defect rate raised by `--rise` for power), and any look that says
`rollback` ends the trial as rolled back.

    python bench/bench_canary.py            # 1,000 A/A trials per sample size
    python bench/bench_canary.py --quick    # 200
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from loopwright.release.analysis import analyse
from loopwright.serving.router import CanaryRules

RESULTS = Path(__file__).parent / "results" / "canary.json"


def _traces(rng: np.random.Generator, n: int, defect_rate: float) -> list[dict]:
    """Synthetic traces with a sample-bank-like shape: gamma latency, per-request cost, 20% escalated."""
    defects = rng.random(n) < defect_rate
    latency = rng.gamma(2.0, 12.0, n)
    cost = rng.gamma(3.0, 0.0004, n)
    escalated = rng.random(n) < 0.2
    return [
        {"outcome": "defect" if d else "accepted", "latency_ms": float(l), "cost": float(c), "route": {"escalated": bool(e)}, "validators": []}
        for d, l, c, e in zip(defects, latency, cost, escalated, strict=True)
    ]


def trial(rng: np.random.Generator, rules: CanaryRules, base: float, rise: float) -> bool:
    """One release through every step; True when it was rolled back."""
    for share in (s for s in rules.steps if s < 1.0):
        n_canary = rules.min_samples
        n_stable = max(rules.min_samples, int(round(n_canary * (1 - share) / share)))
        result = analyse(_traces(rng, n_canary, base + rise), _traces(rng, n_stable, base), rules)
        if result.decision == "rollback":
            return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 trials per point instead of 1,000")
    parser.add_argument("--base", type=float, default=0.05, help="stable defect rate")
    parser.add_argument("--rise", type=float, default=0.05, help="defect-rate rise to detect (absolute)")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    trials = 200 if args.quick else 1000
    sizes = (50, 100, 150, 300, 600)
    rng = np.random.default_rng(args.seed)
    rows = []
    t0 = time.perf_counter()
    for n in sizes:
        rules = CanaryRules(min_samples=n, alpha=args.alpha, steps=(0.1, 0.5, 1.0), critical=("defect_rate", "decline_rate", "latency_ms"))
        false_rollbacks = sum(trial(rng, rules, args.base, 0.0) for _ in range(trials))
        detected = sum(trial(rng, rules, args.base, args.rise) for _ in range(trials))
        rows.append({
            "min_samples": n,
            "trials": trials,
            "false_rollback_rate": false_rollbacks / trials,
            "power": detected / trials,
        })
        print(f"min_samples {n:4d}: A/A false rollback {false_rollbacks / trials:6.1%} (alpha {args.alpha:.0%}), "
              f"power for +{args.rise:.0%} defects {detected / trials:6.1%}", flush=True)
    result = {
        "benchmark": "canary",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "alpha": args.alpha,
        "base_defect_rate": args.base,
        "rise": args.rise,
        "steps": [0.1, 0.5, 1.0],
        "rows": rows,
        "max_false_rollback_rate": max(r["false_rollback_rate"] for r in rows),
        "false_rollback_under_alpha": all(r["false_rollback_rate"] <= args.alpha for r in rows),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
