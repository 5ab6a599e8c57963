"""Preference optimisation of the generator, from a curated dataset to a registered `adapter` with its receipt.

    dataset/curated-generator (examples.jsonl: thumbs as labels; pairs.jsonl: a good and a bad answer to one prompt)
      -> refused before any work: a request over the [adapters] caps, no hf checkpoint to adapt, the spot-check
         quota not met or too many rejections, an unconsented or erased trace, raw PII, nothing to learn from
         (no pairs for DPO, not both kinds of thumbs for KTO), training data sharing a prompt with the held-out set
      -> rejected review items left out (a pair goes with either of its answers)
      -> TRL's DPO or KTO as a LoRA adapter on the checkpoint (loopwright.training.preferences; cached)
      -> measured on the frozen held-out preference set, never trained on: the share of pairs whose chosen
         answer the model prefers (log-probability margin > 0), before and after, per language
      -> `adapter/<name>` bound to the base's digest, an `adapter.train` receipt (job id, data digest,
         adapter digest, caps, metrics) in one transaction; refused by `register_adapter` if over the byte cap

It may be proposed (`propose`) only when that held-out accuracy is no worse than the base's; the
release plane then gates it on the goldens, canaries and analyses it like any adapter.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopwright.dedup import content_hash
from loopwright.errors import ConflictError, InvalidInput, NotFound
from loopwright.hf.adapters import policy_caps, register_adapter
from loopwright.hf.checkpoint import FORMAT as HF_FORMAT
from loopwright.hf.checkpoint import verified_folder
from loopwright.learning.examples import PAIRS
from loopwright.learning.review import training_examples
from loopwright.registry.artifacts import Artifact, list_artifacts, read_file, resolve
from loopwright.registry.deployment import get_deployment
from loopwright.registry.payloads import AdapterTrain
from loopwright.training.preferences import PreferenceConfig, Progress, pair_margins, train_preferences

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

MODEL_SLOT = "model:small"
ADAPTER_SLOT = "adapter:small"  # the hf backend's default pair of slots


@dataclass(frozen=True)
class PreferenceJob:
    """What `learn_preferences` did."""

    job_id: str
    artifact: Artifact
    registered: bool
    metrics: dict[str, Any]
    cache_hit: bool
    seconds: float

    @property
    def validated(self) -> bool:
        """Held-out preference accuracy no worse than the base's: it may be proposed."""
        return bool(self.metrics["heldout"]["validated"])

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "artifact": self.artifact.ref, "digest": self.artifact.digest, "registered": self.registered,
                "base": self.artifact.config.get("base"), "base_digest": self.artifact.config.get("base_digest"),
                "cache_hit": self.cache_hit, "seconds": round(self.seconds, 3), "validated": self.validated, "metrics": self.metrics}


def _base_model(ws: Workspace, base: str | None) -> Artifact:
    if base is None:
        live = get_deployment(ws).stable(MODEL_SLOT)
        if live is None:
            raise NotFound(f"no generator on {MODEL_SLOT} to adapt", hint="`loopwright model sample --deploy`, or pass --base REF")
        base_artifact = live
    else:
        base_artifact = resolve(ws, base, kind="model")
    if base_artifact.config.get("format") != HF_FORMAT or base_artifact.config.get("task") != "causal-lm":
        raise InvalidInput(f"{base_artifact.ref} is not a causal-LM checkpoint, so preference optimisation cannot adapt it")
    return base_artifact


def heldout_pairs(ws: Workspace, ref: str) -> tuple[Artifact, list[dict[str, str]]]:
    """The frozen held-out preference set: a dataset whose pairs.jsonl holds {prompt, chosen, rejected, language}."""
    artifact = resolve(ws, ref, kind="dataset")
    if PAIRS not in artifact.files:
        raise InvalidInput(f"{artifact.ref} has no {PAIRS}", hint='a held-out preference set holds {"prompt", "chosen", "rejected", "language"} a line')
    pairs = []
    for number, line in enumerate(read_file(ws, artifact, PAIRS).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not all(isinstance(row.get(k), str) and row[k].strip() for k in ("prompt", "chosen", "rejected")):
            raise InvalidInput(f"{artifact.ref} {PAIRS} line {number} lacks one of prompt, chosen, rejected")
        pairs.append({**row, "language": row.get("language", "und")})
    if not pairs:
        raise InvalidInput(f"{artifact.ref} is empty: {PAIRS} holds no pairs")
    return artifact, pairs


def _training_rows(ws: Workspace, source: Artifact, method: str) -> list[dict[str, Any]]:
    """What the method learns from, after the spot checks: pairs (DPO) or labelled answers (KTO)."""
    rows = training_examples(ws, source)  # require_reviewed, consent again, no raw PII; rejected items left out
    if not all({"prompt", "completion", "label"} <= set(r) for r in rows):
        raise InvalidInput(f"{source.ref} is not a generator dataset (rows of prompt, completion, label)",
                           hint="`loopwright learn curate --target generator`")
    kept = {(r["prompt"], r["completion"]) for r in rows}
    if method == "kto":
        labels = {bool(r["label"]) for r in rows}
        if labels != {True, False}:
            have = "good" if True in labels else "bad"
            raise InvalidInput(f"{source.ref} has only {have} answers: KTO needs thumbs up and down", hint="curate more feedback")
        return [{"prompt": r["prompt"], "completion": r["completion"], "label": bool(r["label"])} for r in rows]
    lines = read_file(ws, source, PAIRS).decode("utf-8").splitlines() if PAIRS in source.files else []
    pairs = [p for p in (json.loads(line) for line in lines if line.strip())
             if (p["prompt"], p["chosen"]) in kept and (p["prompt"], p["rejected"]) in kept]
    if not pairs:
        raise InvalidInput(f"{source.ref} has no preference pairs (a good and a bad answer to one prompt)",
                           hint="use --method kto for thumbs alone, or curate agents' rewrites of bad answers")
    return [{"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"]} for p in pairs]


def _refuse_leak(source: Artifact, rows: Sequence[dict[str, Any]], heldout: Artifact, pairs: Sequence[dict[str, str]]) -> None:
    held = {content_hash(p["prompt"]) for p in pairs}
    shared = sum(content_hash(r["prompt"]) in held for r in rows)
    if shared:
        raise InvalidInput(f"{source.ref} shares {shared} prompt(s) with the held-out set {heldout.ref}",
                           hint="held-out pairs are never trained on: curate without them")


def _scores(margins: Sequence[float], pairs: Sequence[dict[str, str]]) -> dict[str, Any]:
    """The share of pairs whose chosen answer is preferred, overall and per language, and the mean margin."""

    def score(idx: list[int]) -> dict[str, Any]:
        return {"n": len(idx), "accuracy": round(sum(margins[i] > 0 for i in idx) / len(idx), 4),
                "mean_margin": round(sum(margins[i] for i in idx) / len(idx), 4)}

    by_language: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        by_language[p["language"]].append(i)
    return {"overall": score(list(range(len(pairs)))), "by_language": {k: score(v) for k, v in sorted(by_language.items())}}


def learn_preferences(ws: Workspace, dataset: str, config: PreferenceConfig | None = None, *, heldout: str,
                      base: str | None = None, name: str = "prefs", progress: Progress | None = None) -> PreferenceJob:
    """Train a DPO or KTO adapter on the generator from `dataset`, measure it on `heldout`, register it as
    `adapter/<name>`. `base`: the checkpoint to adapt (default: the one live on model:small). Every refusal
    happens before anything is stored."""
    config = config or PreferenceConfig()
    caps = policy_caps(ws)
    config.check_caps(caps)
    base_artifact = _base_model(ws, base)
    source = resolve(ws, dataset, kind="dataset")
    held_artifact, held = heldout_pairs(ws, heldout)
    rows = _training_rows(ws, source, config.method)
    _refuse_leak(source, rows, held_artifact, held)

    base_folder = verified_folder(ws, base_artifact)
    trained = train_preferences(base_folder, rows, config, base_name=f"model/{base_artifact.name}", progress=progress)
    report = trained.report()
    before = _scores(pair_margins(base_folder, held, max_length=config.max_length), held)
    after = _scores(pair_margins(base_folder, held, trained.folder, max_length=config.max_length), held)
    validated = after["overall"]["accuracy"] >= before["overall"]["accuracy"]
    metrics = {"method": config.method, "rows": len(rows),
               "heldout": {"dataset": held_artifact.ref, "digest": held_artifact.digest, "before": before, "after": after,
                           "validated": validated,
                           "rule": "preference accuracy on the held-out pairs after >= before (the goldens gate the release)"},
               "training": {k: report.get(k) for k in ("steps", "loss", "reward_margin_last", "bf16", "rows_per_s")}}
    job_id = "job_" + uuid.uuid4().hex[:16]
    existing = {a.digest for a in list_artifacts(ws, "adapter", name)}
    headline = {"method": config.method, "heldout_accuracy": {"before": before["overall"]["accuracy"], "after": after["overall"]["accuracy"]},
                "validated": validated}
    artifact = register_adapter(
        ws, trained.folder, name, base_ref=base_artifact, caps=caps, parents=[source.digest, held_artifact.digest],
        provenance={**{k: source.provenance[k] for k in ("licence", "consent", "sensitivity") if k in source.provenance},
                    "source": f"trained by `loopwright learn prefs --method {config.method}` on {source.ref} (sha256:{source.digest[:12]})",
                    "dataset": source.ref, "creator": "loopwright.learning.preferences"},
        extra_config={"target": "generator", "dataset": source.ref, "data_digest": source.digest, "training": config.to_dict(),
                      "caps": caps.model_dump(mode="json", exclude={"triage"}), "metrics": metrics, "job_id": job_id},
        receipt=AdapterTrain,
        details={"job_id": job_id, "target": "generator", "dataset": source.ref, "data_digest": source.digest, "base": base_artifact.ref,
                 "base_digest": base_artifact.digest, "caps": caps.model_dump(mode="json", exclude={"triage"}), "config": config.to_dict(),
                 "metrics": headline, "cache_hit": trained.cache_hit, "seconds": round(trained.seconds, 3),
                 "examples_per_s": 0.0 if trained.cache_hit else float(report.get("rows_per_s") or 0.0)},
    )
    log.info("%s from %s (job %s)", artifact.ref, "the cache" if trained.cache_hit else "training", job_id)
    if artifact.digest in existing:  # the same files again: the job that made them stands, with its receipt
        return PreferenceJob(artifact.config["job_id"], artifact, False, artifact.config["metrics"], trained.cache_hit, trained.seconds)
    return PreferenceJob(job_id, artifact, True, metrics, trained.cache_hit, trained.seconds)


def propose(ws: Workspace, job: PreferenceJob, *, canary: float = 0.1, slot: str = ADAPTER_SLOT) -> dict[str, Any] | None:
    """Hand a validated preference adapter to the release plane (golden gate, canary, analysis); refuse one
    whose held-out preference accuracy fell."""
    from loopwright.release.releases import release_new_artifact

    held = job.metrics["heldout"]
    if not job.validated:
        raise ConflictError(f"{job.artifact.ref} is not proposed: held-out preference accuracy fell "
                            f"{held['before']['overall']['accuracy']:.3f} -> {held['after']['overall']['accuracy']:.3f} on {held['dataset']}",
                            hint="train with other settings or more data")
    reason = (f"learn prefs {job.job_id} ({job.metrics['method']}): held-out preference accuracy "
              f"{held['before']['overall']['accuracy']} -> {held['after']['overall']['accuracy']}")
    return release_new_artifact(ws, slot, job.artifact.ref, reason=reason, canary=canary)
