"""`loopwright promote MODEL`: a candidate triage model replaces the incumbent only on evidence.

    evaluate(candidate), evaluate(incumbent)             # stored evals, reused when their inputs match
      -> pair them on the items both scored (an item either model trained on is left out of both)
      -> composite: paired bootstrap of the delta over items and goldens   # improved: delta > min_gain at alpha
      -> each critical metric: the drop against its threshold, McNemar's exact test on the items that disagree
         (a share of items), else the paired bootstrap                       # blocked: beyond it, and significant
      -> a signed release note (what changed, lineage, deltas, decision, why) + `model.promote` receipt
      -> promote: the release plane (`releases.start`: golden gate, then canary)

A critical metric blocks only when its drop is both beyond its threshold and
significant: with 18 items an intent could lose 3 and be noise, so that drop is
listed in the note as unconfirmed instead of blocking. The threshold makes the
rule strict where a team needs it (0 for safety: any significant drop blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.errors import ConfigError, ConflictError
from loopwright.policy.loader import deployed_policy
from loopwright.policy.schema import EvaluationRules
from loopwright.registry.artifacts import Artifact, resolve
from loopwright.registry.deployment import get_deployment
from loopwright.registry.payloads import ModelPromote, PromoteDecision, PromoteEvidence, PromoteFrom
from loopwright.registry.receipts import Receipt, append_receipt
from loopwright.serving.triage import SLOT
from loopwright.training.evaluate import Evaluation, Progress, evaluate
from loopwright.training.notes import register_note
from loopwright.training.scores import Outcomes, composite

if TYPE_CHECKING:
    from loopwright.serving.pipeline import Gateway
    from loopwright.workspace import Workspace


@dataclass(frozen=True)
class MetricTest:
    """One critical metric: both values, the allowed drop, and the paired test of the drop."""

    metric: str
    incumbent: float
    candidate: float
    allowed: float
    test: str  # mcnemar | bootstrap
    p: float
    discordant: tuple[int, int] | None = None  # (incumbent right only, candidate right only), for McNemar
    alpha: float = 0.05

    @property
    def delta(self) -> float:
        return self.candidate - self.incumbent

    @property
    def beyond(self) -> bool:
        return -self.delta > self.allowed + 1e-12

    @property
    def blocks(self) -> bool:
        return self.beyond and self.p < self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "incumbent": self.incumbent, "candidate": self.candidate, "delta": self.delta,
                "allowed_drop": self.allowed, "test": self.test, "p": self.p, "discordant": self.discordant,
                "beyond_threshold": self.beyond, "blocks": self.blocks}


@dataclass(frozen=True)
class Comparison:
    """A candidate's evaluation against the incumbent's, paired on the same items, and what promote decides."""

    candidate: Evaluation
    incumbent: Evaluation | None
    rules: EvaluationRules
    items: int = 0
    goldens: int = 0
    composite: dict[str, Any] = field(default_factory=dict)
    deltas: dict[str, dict[str, float]] = field(default_factory=dict)
    tests: list[MetricTest] = field(default_factory=list)

    @property
    def improved(self) -> bool:
        return self.incumbent is None or (self.composite["delta"] > self.rules.min_gain and self.composite["p"] < self.rules.alpha)

    @property
    def blockers(self) -> list[MetricTest]:
        return [t for t in self.tests if t.blocks]

    @property
    def decision(self) -> str:
        return "promote" if self.improved and not self.blockers else "refuse"

    def reason(self) -> str:
        """The decision in one line: what a refused promotion prints."""
        cand = self.candidate.model.ref
        if self.incumbent is None:
            return f"{cand}: no incumbent on {SLOT}, so nothing to beat; handed to the release plane"
        c = self.composite
        head = (f"composite {c['incumbent']:.3f} -> {c['candidate']:.3f} ({c['delta']:+.3f}, "
                f"95% interval {c['ci'][0]:+.3f} to {c['ci'][1]:+.3f}, p={c['p']:.3g}, {self.items} items)")
        if self.blockers:
            worst = "; ".join(f"{t.metric} {t.incumbent:.3f} -> {t.candidate:.3f} (allowed drop {t.allowed:.2f}, "
                              f"{t.test} p={t.p:.3g})" for t in self.blockers)
            return f"refused {cand}: a critical metric regressed: {worst}; {head}"
        if not self.improved:
            why = "does not beat" if c["delta"] <= self.rules.min_gain else "is not significantly better than"
            return f"refused {cand}: it {why} {self.incumbent.model.ref}: {head}"
        return f"promote {cand} over {self.incumbent.model.ref}: {head}"

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate.model.ref, "candidate_eval": self.candidate.artifact.ref,
                "incumbent": self.incumbent.model.ref if self.incumbent else None,
                "incumbent_eval": self.incumbent.artifact.ref if self.incumbent else None,
                "items": self.items, "goldens": self.goldens, "composite": self.composite, "deltas": self.deltas,
                "tests": [t.to_dict() for t in self.tests], "decision": self.decision,
                "blockers": [t.metric for t in self.blockers], "reason": self.reason()}


def _mcnemar(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple[int, int]]:
    """One-sided exact McNemar: p that the candidate (b) is no worse, given the pairs where the two disagree."""
    from scipy.stats import binomtest

    lost, gained = int((a & ~b).sum()), int((~a & b).sum())
    p = binomtest(lost, lost + gained, 0.5, alternative="greater").pvalue if lost + gained else 1.0
    return float(p), (lost, gained)


def _bootstrap(cand: Outcomes, inc: Outcomes, rules: EvaluationRules, metrics: list[str]) -> dict[str, np.ndarray]:
    """Resampled deltas (candidate - incumbent) of the composite and of `metrics`: items and goldens resampled
    with replacement, the same indices for both models (paired), seeded by the policy."""
    rng = np.random.default_rng(rules.seed)
    n, g = len(cand.ids), len(cand.golden_ids)
    detail = any(m.startswith(("accuracy.", "robustness.")) or m == "goldens.critical" for m in metrics)
    out: dict[str, list[float]] = {name: [] for name in ["composite", *metrics]}
    for _ in range(rules.bootstrap):
        rows, grows = rng.integers(0, n, n), rng.integers(0, max(g, 1), g)
        mc = cand.metrics(rules.bins, rows, grows, detail=detail)
        mi = inc.metrics(rules.bins, rows, grows, detail=detail)
        out["composite"].append(composite(mc, rules.weights) - composite(mi, rules.weights))
        for name in metrics:
            out[name].append(mc.get(name, 0.0) - mi.get(name, 0.0))
    return {k: np.asarray(v) for k, v in out.items()}


def compare(candidate: Evaluation, incumbent: Evaluation | None, rules: EvaluationRules) -> Comparison:
    """Pair two evaluations on their common items and run the tests (see the module notes)."""
    if incumbent is None:
        return Comparison(candidate, None, rules)
    for key in ("heldout_digest", "suite_digest"):
        if candidate.report[key] != incumbent.report[key]:
            raise ConflictError(f"{candidate.artifact.ref} and {incumbent.artifact.ref} were scored on different "
                                f"{key.removesuffix('_digest')} sets, so they cannot be paired", hint="evaluate both again")
    a, b = Outcomes.from_records(incumbent.items, incumbent.goldens), Outcomes.from_records(candidate.items, candidate.goldens)
    ids, gids = set(a.ids) & set(b.ids), set(a.golden_ids) & set(b.golden_ids)
    inc, cand = a.restricted(ids, gids), b.restricted(ids, gids)
    mi, mc = inc.metrics(rules.bins), cand.metrics(rules.bins)
    unknown = sorted(m for m in rules.critical if m not in mi or m not in mc)
    if unknown:
        raise ConfigError(f"the policy's [evaluation.critical] names {', '.join(unknown)}, which these evaluations do not "
                          f"both measure", hint=f"measured: {', '.join(k for k in sorted(mi) if k in mc)}")
    critical = list(rules.critical)
    boot = _bootstrap(cand, inc, rules, [m for m in critical if cand.per_item(m) is None])
    deltas_c = boot["composite"]
    ci, ci_i = composite(mc, rules.weights), composite(mi, rules.weights)
    lo, hi = np.quantile(deltas_c, [rules.alpha / 2, 1 - rules.alpha / 2]) if len(deltas_c) else (0.0, 0.0)
    summary = {"candidate": ci, "incumbent": ci_i, "delta": ci - ci_i, "ci": [float(lo), float(hi)],
               "p": float(((deltas_c <= rules.min_gain).sum() + 1) / (len(deltas_c) + 1)), "test": "paired bootstrap",
               "resamples": rules.bootstrap}
    tests = []
    for metric in critical:
        which = cand.per_item(metric)
        if which is not None:
            mask, outcome = which
            p, discordant = _mcnemar(getattr(inc, outcome)[mask], getattr(cand, outcome)[mask])
            tests.append(MetricTest(metric, mi.get(metric, 0.0), mc.get(metric, 0.0), rules.critical[metric], "mcnemar",
                                    p, discordant, rules.alpha))
        else:
            p = float(((boot[metric] >= 0).sum() + 1) / (len(boot[metric]) + 1))  # p that the candidate is no worse
            tests.append(MetricTest(metric, mi.get(metric, 0.0), mc.get(metric, 0.0), rules.critical[metric], "bootstrap",
                                    p, None, rules.alpha))
    deltas = {k: {"incumbent": mi[k], "candidate": mc[k], "delta": mc[k] - mi[k]} for k in sorted(set(mi) & set(mc))}
    return Comparison(candidate, incumbent, rules, len(cand.ids), len(cand.golden_ids), summary, deltas, tests)


def incumbent_ref(ws: Workspace, against: str | None) -> Artifact | None:
    """`against`, else the model live on model:triage's stable channel (None on an empty slot)."""
    return resolve(ws, against, kind="model") if against else get_deployment(ws).stable(SLOT)


def evaluate_pair(ws: Workspace, model: str, against: str | None = None, *, suite: str | None = None,
                  gateway: Gateway | None = None, progress: Progress | None = None) -> Comparison:
    """Evaluate `model` and the incumbent (or `against`) and compare them: `loopwright eval --against`."""
    rules = deployed_policy(ws).evaluation
    candidate = evaluate(ws, model, suite=suite, gateway=gateway, progress=progress)
    other = incumbent_ref(ws, against)
    if other is not None and other.digest == candidate.model.digest:
        raise ConflictError(f"{candidate.model.ref} is the incumbent itself", hint="pass --against another model")
    incumbent = evaluate(ws, other.ref, suite=suite, gateway=gateway, progress=progress) if other is not None else None
    return compare(candidate, incumbent, rules)


@dataclass(frozen=True)
class Promotion:
    """What `promote` did: the comparison, the signed note, its receipt, and the release it started (if any)."""

    comparison: Comparison
    note: Artifact
    receipt: Receipt
    release: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.comparison.to_dict(), "note": self.note.ref, "note_digest": self.note.digest,
                "receipt": self.receipt.id, "release": self.release}


def promote(ws: Workspace, model: str, against: str | None = None, *, canary: float = 0.1, suite: str | None = None,
            gateway: Gateway | None = None, progress: Progress | None = None, actor: str | None = None) -> Promotion:
    """Decide on `model` against the incumbent, record the decision with a signed release note, and on `promote`
    hand the model to the release plane (golden gate, then a canary of `canary`)."""
    from loopwright.release.releases import active, start

    if active(ws, SLOT):  # checked first: a decision that could not be handed over would be recorded for nothing
        raise ConflictError(f"slot {SLOT} already has a release in progress", hint="`loopwright release status`")
    comparison = evaluate_pair(ws, model, against, suite=suite, gateway=gateway, progress=progress)
    candidate = comparison.candidate.model
    incumbent = comparison.incumbent.model if comparison.incumbent else None
    with ws.write() as s:
        note = register_note(ws, comparison, session=s, actor=actor)
        payload = ModelPromote(
            before=PromoteFrom(slot=SLOT, incumbent=incumbent.ref if incumbent else None,
                               digest=incumbent.digest if incumbent else None),
            after=PromoteDecision(slot=SLOT, candidate=candidate.ref, digest=candidate.digest,
                                  decision=comparison.decision, note=note.ref, note_digest=note.digest),
            details=PromoteEvidence(reason=comparison.reason(), composite=comparison.composite,
                                    blockers=[t.metric for t in comparison.blockers],
                                    evals={"candidate": comparison.candidate.artifact.ref,
                                           **({"incumbent": comparison.incumbent.artifact.ref} if comparison.incumbent else {})}),
        )
        receipt = append_receipt(s, ws, payload, subject=candidate.ref, actor=actor)
    release = None
    if comparison.decision == "promote":
        started, report = start(ws, SLOT, candidate.ref, canary=canary, gateway=gateway, actor=actor, suite=suite,
                                reason=f"promoted on evidence: {note.ref} ({receipt.id})")
        release = {**started.to_dict(), "gate_report": report}
    return Promotion(comparison, note, receipt, release)
