"""`loopwright eval MODEL`: a triage model scored on held-out items it never trained on, and on the goldens.

    held-out items (the policy's [evaluation] heldout: a dataset artifact's heldout.jsonl)
      - those near a text of the model's training data (its lineage's datasets) left out, and counted
      -> each item as typed, and rewritten by each perturbation (loopwright.training.perturb, seeded)
      -> the policy's PII masking, as on the request path       # the model sees what serving shows it
      -> TriageModel.load(ws, model).predict(texts)
      -> per item: correct, calibrated confidence, safe (an adversarial item reaches no action but the
         policy's safe tools), correct under each rewrite
    golden suite -> run through the real request path with the model on model:triage
      -> scores.Outcomes -> metrics, reliability bins, the composite (the policy's weights)

The result is an `eval/<model name>` artifact (`metrics.json`, `items.jsonl`,
`goldens.jsonl`, `reliability.svg`) with an `eval.run` receipt; it is keyed by its
inputs (the model, the held-out set, the suite, the rest of the stable bundle, the
rules), so evaluating the same model again reuses it and `promote` reads it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.dedup import near_pairs
from loopwright.digests import canonical_json, digest_of
from loopwright.policy.loader import deployed_policy
from loopwright.policy.pii import PiiVault, mask_text
from loopwright.policy.schema import EvaluationRules
from loopwright.registry.artifacts import Artifact, lineage, list_artifacts, read_file, register, resolve
from loopwright.registry.deployment import get_deployment
from loopwright.registry.payloads import EvalRun
from loopwright.serving.router import RouterPolicy
from loopwright.serving.triage import SLOT, TriageModel
from loopwright.training.heldout import read_heldout
from loopwright.training.perturb import perturb
from loopwright.training.reliability import diagram
from loopwright.training.scores import Outcomes, composite, reliability

if TYPE_CHECKING:
    from loopwright.serving.pipeline import Gateway
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

FORMAT = "loopwright.eval/1"
TRAINING_FILES = ("utterances.jsonl", "examples.jsonl", "train.jsonl")  # a dataset's labelled texts, by producer
Progress = Callable[[str, int, int], None]  # (step, done, total)


def training_texts(ws: Workspace, model: Artifact) -> list[str]:
    """Every labelled text of the datasets in the model's lineage: what it may have learnt by heart."""
    texts = []
    for _, ancestor in lineage(ws, model.ref):
        for name in TRAINING_FILES if ancestor.kind == "dataset" else ():
            if name in ancestor.files:
                raw = read_file(ws, ancestor, name).decode("utf-8")
                texts += [json.loads(line).get("text", "") for line in raw.splitlines() if line.strip()]
    return [t for t in texts if isinstance(t, str) and t.strip()]


@dataclass(frozen=True)
class Evaluation:
    """One stored evaluation: the `eval` artifact, the model it scored, and what it holds."""

    artifact: Artifact
    model: Artifact
    report: dict[str, Any]  # metrics.json
    items: list[dict[str, Any]]  # items.jsonl
    goldens: list[dict[str, Any]]  # goldens.jsonl
    reused: bool = False

    @cached_property
    def outcomes(self) -> Outcomes:
        return Outcomes.from_records(self.items, self.goldens)

    @classmethod
    def load(cls, ws: Workspace, artifact: Artifact, model: Artifact, *, reused: bool = False) -> Evaluation:
        lines = lambda name: [json.loads(x) for x in read_file(ws, artifact, name).decode().splitlines() if x.strip()]  # noqa: E731
        return cls(artifact, model, json.loads(read_file(ws, artifact, "metrics.json")), lines("items.jsonl"),
                   lines("goldens.jsonl"), reused)

    def to_dict(self) -> dict[str, Any]:
        return {"eval": self.artifact.ref, "digest": self.artifact.digest, "reused": self.reused, **self.report}


def _inputs(ws: Workspace, model: Artifact, heldout: Artifact, suite: Artifact, rules: EvaluationRules) -> dict[str, Any]:
    """Everything an evaluation's figures depend on (the policy among the bundle: PII masking, validators): its cache key."""
    bundle = {slot: s.stable.digest for slot, s in get_deployment(ws).slots.items() if s.stable and slot != SLOT}
    return {"format": FORMAT, "model": model.digest, "heldout": heldout.digest, "suite": suite.digest,
            "bundle": bundle, "rules": rules.model_dump(mode="json")}


def _stored(ws: Workspace, model: Artifact, key: str) -> Evaluation | None:
    for artifact in reversed(list_artifacts(ws, kind="eval", name=model.name)):
        if artifact.config.get("key") == key:
            return Evaluation.load(ws, artifact, model, reused=True)
    return None


def _triage_items(ws: Workspace, triage: TriageModel, items: list[dict[str, str]], rules: EvaluationRules,
                  unsafe: Callable[[str], bool], progress: Progress | None) -> list[dict[str, Any]]:
    """Predict every item and its rewrites (each masked by the policy first); one record per item."""
    policy = deployed_policy(ws)
    variants = [(i, None, item["text"]) for i, item in enumerate(items)]
    variants += [(i, kind, perturb(kind, item["text"], item["language"], seed=rules.seed, key=item["id"]))
                 for kind in rules.perturbations for i, item in enumerate(items)]
    masked = {t: mask_text(t, policy.pii, PiiVault()).text for _, _, t in variants}  # what serving would show the model
    texts = sorted(set(masked.values()))
    predicted: dict[str, Any] = {}
    step = 64
    for start in range(0, len(texts), step):
        chunk = texts[start : start + step]
        predicted.update(zip(chunk, triage.predict(chunk), strict=True))
        if progress:
            progress("triage", min(start + step, len(texts)), len(texts))
    records = [{"id": it["id"], "language": it["language"], "intent": it["intent"], "kind": it["kind"], "perturbed": {}}
               for it in items]
    for i, kind, text in variants:
        result = predicted[masked[text]]
        record, correct = records[i], result.intent == items[i]["intent"]
        if kind is None:
            record.update(predicted=result.intent, confidence=round(result.confidence, 6), correct=correct,
                          safe=not unsafe(result.intent))
        else:
            record["perturbed"][kind] = {"text": masked[text], "changed": text != items[i]["text"], "predicted": result.intent,
                                         "correct": correct}
    return records


def _summary(outcomes: Outcomes, records: list[dict[str, Any]], rules: EvaluationRules) -> dict[str, Any]:
    metrics = outcomes.metrics(rules.bins)
    task = ~outcomes.adversarial
    counts = lambda values: {str(v): int(n) for v, n in zip(*np.unique(values[task], return_counts=True), strict=True)}  # noqa: E731
    return {
        "composite": composite(metrics, rules.weights),
        "weights": dict(rules.weights),
        "metrics": metrics,
        "ece": 1.0 - metrics["calibration"],
        "drops": outcomes.drops(),
        "reliability": reliability(outcomes.confidence[task], outcomes.correct[task], rules.bins),
        "n_by_language": counts(outcomes.language),
        "n_by_intent": counts(outcomes.intent),
        "adversarial": int(outcomes.adversarial.sum()),
        "contaminated": sorted(r["id"] for r in records if r.get("contaminated")),
    }


def evaluate(ws: Workspace, ref: str, *, suite: str | None = None, gateway: Gateway | None = None,
             progress: Progress | None = None, use_cache: bool = True) -> Evaluation:
    """Score the triage model `ref` (see the module notes) with golden suite `suite` (default: the workspace's
    only one); a stored evaluation of the same inputs is reused."""
    from loopwright.release.goldens import load_suite, run_suite

    started = time.perf_counter()
    rules = deployed_policy(ws).evaluation
    model = resolve(ws, ref, kind="model")
    triage = TriageModel.load(ws, model)  # a model that is not a triage model fails here, naming why
    heldout, items = read_heldout(ws, rules.heldout)
    suite, goldens = load_suite(ws, suite)
    inputs = _inputs(ws, model, heldout, suite, rules)
    key = digest_of(inputs)
    if use_cache and (found := _stored(ws, model, key)) is not None:
        return found

    router = get_deployment(ws).stable("router")
    tools = RouterPolicy.from_artifact(ws, router).routing.tool_intents if router else {}
    unsafe = lambda intent: intent in tools and tools[intent] not in rules.safe_tools  # noqa: E731
    records = _triage_items(ws, triage, items, rules, unsafe, progress)
    seen = near_pairs([it["text"] for it in items], training_texts(ws, model), threshold=rules.contamination, shingle=3)
    for i in {i for i, _ in seen}:
        records[i]["contaminated"] = True

    own = gateway is None
    if own:
        from loopwright.serving.pipeline import Gateway

        gateway = Gateway(ws, watch=False)
    try:
        if progress:
            progress("goldens", 0, len(goldens))
        golden_report = run_suite(gateway, goldens, suite=suite.ref, overrides={SLOT: model})
    finally:
        if own:
            gateway.close()
    golden_records = [{"id": r.id, "critical": r.critical, "passed": r.passed, "failures": r.failures, "trace_id": r.trace_id}
                      for r in golden_report.results]
    if progress:
        progress("goldens", len(goldens), len(goldens))

    outcomes = Outcomes.from_records(records, golden_records)
    report = {"format": FORMAT, "model": model.ref, "model_digest": model.digest, "heldout": heldout.ref,
              "heldout_digest": heldout.digest, "suite": suite.ref, "suite_digest": suite.digest, "key": key,
              "items": len(outcomes.ids), **_summary(outcomes, records, rules)}
    files = {
        "metrics.json": (json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(),
        "items.jsonl": "".join(canonical_json(r) + "\n" for r in records).encode(),
        "goldens.jsonl": "".join(canonical_json(g) + "\n" for g in golden_records).encode(),
        "reliability.svg": diagram(report["reliability"], title=f"{model.ref}: ECE {report['ece']:.3f}").encode(),
    }
    by_language = {k.removeprefix("accuracy."): v for k, v in report["metrics"].items()
                   if k.count(".") == 1 and k.startswith("accuracy.")}
    artifact = register(
        ws, "eval", model.name, files, parents=[model.digest, heldout.digest, suite.digest],
        provenance={"source": f"`loopwright eval {model.ref}`", "creator": "loopwright.training.evaluate",
                    "sensitivity": model.provenance.get("sensitivity", "internal")},
        config={"format": FORMAT, "key": key, "inputs": inputs}, receipt=EvalRun,
        details={"model": model.ref, "model_digest": model.digest, "heldout": heldout.ref, "heldout_digest": heldout.digest,
                 "suite": suite.ref, "items": report["items"], "contaminated": len(report["contaminated"]),
                 "composite": report["composite"], "accuracy": report["metrics"]["accuracy"], "by_language": by_language,
                 "seconds": round(time.perf_counter() - started, 3)},
    )
    log.info("%s: composite %.3f on %d items", artifact.ref, report["composite"], report["items"])
    return Evaluation(artifact, model, report, records, golden_records)
