"""A LoRA adapter on the triage model, from a dataset artifact to a registered `adapter` with its receipt.

    dataset examples.jsonl ({text, intent, language, source})
      -> refused before any work: no examples, raw PII, an intent the base lacks, a request over the caps,
         the spot-check quota not met or too many rejections (`learning.review.require_reviewed`)
      -> split by a hash of the normalised text (the triage fit's rule): train / val / test
      -> train LoRA + head (loopwright.training.triage_adapter; cached by the inputs' digests), distilled toward
         the base on its own training texts (`_anchor_texts`, with `--distill`)
      -> refused before anything is stored: files over the caps, not fitting the base
      -> measured on held-out text, as served (loopwright.serving.triage_adapter):
           the dataset's test split, before and after, per intent and language, and the target intent's
           defect rate (95% Wilson interval) and confusion;
           forgetting: a held-out set (`forgetting`; default the base dataset's test split), every intent and
           language before and after, each drop with its paired 95% interval (`paired_drop_ci`)
      -> `adapter/<name>` bound to its base head's digest, and an `adapter.train` receipt (job id, data digest,
         adapter digest, caps, metrics) in one transaction

`with_replay` builds such a dataset from labelled examples plus a replay set
of the base dataset's training rows for every intent, so nothing is forgotten
(the curation plane makes them from feedback; the sample registers its 600
call-centre examples this way).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any


from loopwright.embedding import get_embedder
from loopwright.errors import InvalidInput, NotFound
from loopwright.learning.review import training_examples
from loopwright.policy.pii import scan
from loopwright.registry.artifacts import Artifact, list_artifacts, read_file, register, resolve
from loopwright.registry.deployment import get_deployment
from loopwright.registry.payloads import AdapterTrain
from loopwright.serving import triage_adapter
from loopwright.serving.triage import SLOT as TRIAGE_SLOT
from loopwright.serving.triage import TriageModel, clean_text
from loopwright.training.heldout import read_heldout
from loopwright.training.triage import TriageConfig, read_utterances, split_of
from loopwright.training.triage_adapter import Progress, TriageAdapterConfig, train_triage_adapter

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

EXAMPLES_FILE = "examples.jsonl"
FIELDS = ("text", "intent", "language", "source")


def read_examples(ws: Workspace, dataset: Artifact) -> list[dict[str, str]]:
    """The rows of a dataset's examples.jsonl (verified), each with text, intent, language and source."""
    if EXAMPLES_FILE not in dataset.files:
        raise InvalidInput(f"{dataset.ref} has no {EXAMPLES_FILE}", hint='a training dataset holds examples.jsonl: {"text", "intent", "language", "source"} a line')
    rows = []
    for number, line in enumerate(read_file(ws, dataset, EXAMPLES_FILE).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{dataset.ref} {EXAMPLES_FILE} line {number} is not JSON: {exc.msg}") from None
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) and row[k].strip() for k in FIELDS):
            raise InvalidInput(f"{dataset.ref} {EXAMPLES_FILE} line {number} lacks one of {', '.join(FIELDS)}")
        rows.append(row)
    if not rows:
        raise InvalidInput(f"{dataset.ref} is empty: {EXAMPLES_FILE} holds no examples", hint="curate a dataset with examples first")
    return rows


def refuse_pii(ws: Workspace, dataset: Artifact, rows: Sequence[dict[str, str]]) -> None:
    """Refuse a dataset with raw personal data in any text (the live policy's recognisers; placeholders are fine)."""
    from loopwright.policy.loader import deployed_policy

    try:
        rules = deployed_policy(ws).pii
    except NotFound:
        rules = None
    for number, row in enumerate(rows, start=1):
        found = scan(row["text"], rules)
        if found:
            kinds = ", ".join(sorted({f.entity for f in found}))
            raise InvalidInput(f"{dataset.ref} holds raw personal data: example {number} has {kinds}",
                               hint="curation masks or drops such examples (`loopwright learn curate`)")


def with_replay(ws: Workspace, examples: Sequence[dict[str, str]], *, name: str, replay: str | Artifact,
                per_intent: int = 20, seed: int = 0, parents: Sequence[str] = (), provenance: dict[str, Any] | None = None) -> Artifact:
    """Register `examples` plus `per_intent` training-split rows of every intent of `replay` (the base triage dataset)
    as `dataset/<name>` with an examples.jsonl. Replay rows come from the base's training split only (split by
    `seed`, as the base was fitted), so its test split stays held out for measuring forgetting."""
    replay = resolve(ws, replay, kind="dataset") if isinstance(replay, str) else replay
    config = TriageConfig(seed=seed)
    taken: dict[str, int] = defaultdict(int)
    rows = [{k: r[k] for k in FIELDS} for r in examples]
    for row in read_utterances(ws, replay):
        if taken[row["intent"]] < per_intent and split_of(clean_text(row["text"]), config) == "train":
            taken[row["intent"]] += 1
            rows.append({"text": row["text"], "intent": row["intent"], "language": row["language"], "source": f"replay:{replay.ref}"})
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    prov = {**{k: replay.provenance[k] for k in ("licence", "consent", "sensitivity") if k in replay.provenance}, **(provenance or {})}
    prov.setdefault("source", f"{len(examples)} labelled examples and {sum(taken.values())} replay rows of {replay.ref}")
    return register(ws, "dataset", name, {EXAMPLES_FILE: body.encode()}, parents=[*parents, replay.digest], provenance=prov,
                    config={"replay": replay.ref, "per_intent": per_intent, "seed": seed, "counts": dict(Counter(r["source"] for r in rows))})


def wilson(successes: int, n: int) -> list[float] | None:
    """The 95% Wilson interval of a proportion (None for no trials)."""
    if n == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(0.95, method="wilson")
    return [round(ci.low, 4), round(ci.high, 4)]


def paired_drop_ci(before: Sequence[bool], after: Sequence[bool]) -> list[float] | None:
    """The 95% interval of accuracy before minus after, in points, on the same items (Newcombe's method 10).

    The items are paired: each was classified by both models, and most are right both times, so the two accuracies
    are strongly correlated and an unpaired interval would be several times too wide. The interval combines each
    accuracy's Wilson interval with the phi correlation of the 2 x 2 table (Newcombe 1998, Stat Med 17:2635).
    """
    n = len(before)
    if n == 0:
        return None
    import math

    a = sum(b and c for b, c in zip(before, after, strict=True))  # right both times
    b = sum(x and not y for x, y in zip(before, after, strict=True))  # right before, wrong after: forgotten
    c = sum(y and not x for x, y in zip(before, after, strict=True))  # wrong before, right after
    d = n - a - b - c
    p1, p2 = (a + b) / n, (a + c) / n
    (l1, u1), (l2, u2) = (wilson(k, n) for k in (a + b, a + c))
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if denominator:
        phi = (max(a * d - b * c - n / 2, 0) if a * d > b * c else a * d - b * c) / math.sqrt(denominator)
    low = (p1 - p2) - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    high = (p1 - p2) + math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return [round(100 * low, 2), round(100 * high, 2)]


def _accuracy(predicted: Sequence[str], rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """Accuracy overall, per intent and per language."""

    def score(idx: list[int]) -> dict[str, Any]:
        right = sum(predicted[i] == rows[i]["intent"] for i in idx)
        return {"n": len(idx), "accuracy": round(right / len(idx), 4) if idx else None}

    groups = {"by_intent": "intent", "by_language": "language"}
    out: dict[str, Any] = {"overall": score(list(range(len(rows))))}
    for name, key in groups.items():
        members: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            members[r[key]].append(i)
        out[name] = {k: score(v) for k, v in sorted(members.items())}
    return out


def _drops(rows: Sequence[dict[str, str]], before: Sequence[str], after: Sequence[str], skip: str) -> dict[str, dict[str, Any]]:
    """Accuracy points lost from `before` to `after` predictions, per intent (but `skip`) and per language, each with
    its paired 95% interval and the points one item weighs there."""
    out = {}
    for field in ("intent", "language"):
        members: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            members[r[field]].append(i)
        for key, idx in sorted(members.items()):
            if key != skip:
                out[f"{field}:{key}"] = _drop(rows, before, after, idx)
    return out


def _drop(rows: Sequence[dict[str, str]], before: Sequence[str], after: Sequence[str], idx: Sequence[int]) -> dict[str, Any]:
    """Accuracy points lost from `before` to `after` predictions over the rows `idx` (at least one), with the paired
    95% interval, the points one item weighs, and the items behind the drop: right before and wrong after (`lost`),
    and the other way (`gained`)."""
    right_before = [before[i] == rows[i]["intent"] for i in idx]
    right_after = [after[i] == rows[i]["intent"] for i in idx]
    return {"points": round(100 * (sum(right_before) - sum(right_after)) / len(idx), 2), "n": len(idx),
            "ci95": paired_drop_ci(right_before, right_after), "one_item_points": round(100 / len(idx), 2),
            "lost": sum(b and not a for b, a in zip(right_before, right_after, strict=True)),
            "gained": sum(a and not b for b, a in zip(right_before, right_after, strict=True))}


def _target_report(intent: str, rows: Sequence[dict[str, str]], before: Sequence[str], after: Sequence[str]) -> dict[str, Any]:
    """The target intent's defect rate (misclassified share) before and after, with 95% intervals, and where it went."""
    idx = [i for i, r in enumerate(rows) if r["intent"] == intent]
    out: dict[str, Any] = {"intent": intent, "n": len(idx)}
    for name, predicted in (("before", before), ("after", after)):
        wrong = [predicted[i] for i in idx if predicted[i] != intent]
        out[name] = {"defect_rate": round(len(wrong) / len(idx), 4) if idx else None, "ci95": wilson(len(wrong), len(idx)),
                     "confused_as": dict(Counter(wrong).most_common())}
    return out


@dataclass(frozen=True)
class AdapterJob:
    """What `learn_triage_adapter` did."""

    job_id: str
    artifact: Artifact
    registered: bool
    metrics: dict[str, Any]
    cache_hit: bool
    seconds: float
    examples_per_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "artifact": self.artifact.ref, "digest": self.artifact.digest, "registered": self.registered,
                "base": self.artifact.config.get("base"), "base_digest": self.artifact.config.get("base_digest"),
                "cache_hit": self.cache_hit, "seconds": round(self.seconds, 3), "examples_per_s": self.examples_per_s,
                "metrics": self.metrics}


def _base_head(ws: Workspace, base: str | None) -> Artifact:
    if base is not None:
        return triage_adapter.triage_base(ws, base)
    live = get_deployment(ws).stable(TRIAGE_SLOT)
    if live is None:
        raise NotFound(f"no triage model on {TRIAGE_SLOT} to adapt", hint="`loopwright triage fit`, or pass --base REF")
    return triage_adapter.triage_base(ws, live)


def _anchor_texts(ws: Workspace, base: Artifact, exclude: set[str]) -> list[str]:
    """The texts the base head was fitted on (its dataset's training split), but any of the adapter's own: where the
    distillation term keeps the adapter's distribution on the base's (no labels are read)."""
    source = resolve(ws, base.config["dataset_digest"], kind="dataset")
    config = TriageConfig(**{k: base.config[k] for k in ("seed", "train_share", "val_share") if k in base.config})
    texts = (clean_text(row["text"]) for row in read_utterances(ws, source))
    return sorted({t for t in texts if t not in exclude and split_of(t, config) == "train"})


def _forgetting_rows(ws: Workspace, base: Artifact, exclude: set[str], per_intent: int | None,
                     heldout: str | None) -> tuple[list[dict[str, str]], str]:
    """The rows forgetting is measured on, and what they are: the held-out set `heldout` when given, else the base
    dataset's test split (as the base was fitted); never a text the adapter or the base head trained on."""
    source = resolve(ws, base.config["dataset_digest"], kind="dataset")
    config = TriageConfig(**{k: base.config[k] for k in ("seed", "train_share", "val_share") if k in base.config})
    base_rows = [{**row, "text": clean_text(row["text"])} for row in read_utterances(ws, source)]
    if heldout is None:
        candidates = [row for row in base_rows if split_of(row["text"], config) == "test"]
        label = f"the test split of {base.ref}'s dataset"
    else:
        artifact, items = read_heldout(ws, heldout)
        exclude = exclude | {row["text"] for row in base_rows if split_of(row["text"], config) != "test"}
        candidates = [{**item, "text": clean_text(item["text"])} for item in items if item["kind"] == "plain"]
        label = f"{artifact.ref} (held out)"
    rows, taken = [], Counter()
    for row in candidates:
        if row["text"] not in exclude and (per_intent is None or taken[row["intent"]] < per_intent):
            taken[row["intent"]] += 1
            rows.append(row)
    return rows, f"{label}, {len(rows)} texts"


def learn_triage_adapter(ws: Workspace, dataset: str, config: TriageAdapterConfig | None = None, *, base: str | None = None,
                         name: str = "triage", intent: str | None = None, forgetting: str | None = None,
                         forgetting_per_intent: int | None = None, progress: Progress | None = None) -> AdapterJob:
    """Train a LoRA adapter on the triage model from `dataset`, measure it, and register it as `adapter/<name>`.

    `base`: the triage head to adapt (default: the one live on `model:triage`). `intent`: the
    target intent whose defect rate is reported (default: the one with the most held-out errors
    before). `forgetting`: a held-out set (`heldout.jsonl`) to measure forgetting on, default the base
    dataset's test split; `forgetting_per_intent` caps its rows per intent (default: all). Every refusal
    happens before anything is stored.
    """
    config = config or TriageAdapterConfig()
    caps = triage_adapter.triage_caps(ws)
    config.check_caps(caps)
    head_artifact = _base_head(ws, base)
    source = resolve(ws, dataset, kind="dataset")
    rows = read_examples(ws, source)
    refuse_pii(ws, source, rows)
    head_bytes = read_file(ws, head_artifact, "head.json")
    base_model = TriageModel.from_head(head_artifact, head_bytes)
    unknown = sorted({r["intent"] for r in rows} - set(base_model.classes))
    if unknown:
        raise InvalidInput(f"{source.ref} has intents {head_artifact.ref} does not know: {', '.join(unknown)}",
                           hint="an adapter keeps the base's intents; add an intent with `loopwright triage fit`")
    # No training before the spot checks: the quota met, the rejection rate under the policy's threshold;
    # rejected examples are then left out and relabels applied.
    rows = [{k: r[k] for k in FIELDS} for r in training_examples(ws, source)]
    split_rule = TriageConfig(seed=config.seed)
    for row in rows:
        row["text"] = clean_text(row["text"])
        row["split"] = split_of(row["text"], split_rule)
    part = {s: [r for r in rows if r["split"] == s] for s in ("train", "val", "test")}
    if not part["train"] or not part["test"]:
        raise InvalidInput(f"{source.ref} is too small to hold out a test split: {len(rows)} examples", hint="curate more examples")
    forgetting_rows, forgetting_label = _forgetting_rows(ws, head_artifact, {r["text"] for r in part["train"]}, forgetting_per_intent,
                                                         forgetting)

    anchors = _anchor_texts(ws, head_artifact, {r["text"] for r in rows}) if config.distill > 0 else []
    trained = train_triage_adapter([(r["text"], r["intent"]) for r in part["train"]], [(r["text"], r["intent"]) for r in part["val"]],
                                   json.loads(head_bytes), config, anchors=anchors, progress=progress)
    files = {p.name: p.read_bytes() for p in sorted(trained.folder.iterdir()) if p.name in triage_adapter.FILES}
    description = triage_adapter.check_files(files, head_artifact, head_bytes, caps, f"adapter/{name}")
    report = trained.report()

    # Measured as served: the process encoder, the adapter's LoRA branches attached per call, its head.
    embedder = get_embedder()
    lora, adapted_head = triage_adapter.lora_delta(files), TriageModel.from_head(head_artifact, files["head.json"])
    held_out = part["test"]

    def both(sample: list[dict[str, str]]) -> tuple[list[str], list[str]]:
        texts = [r["text"] for r in sample]
        before = [p.intent for p in base_model.predict_vectors(embedder.encode(texts))]
        after = [p.intent for p in adapted_head.predict_vectors(embedder.encode_adapted(texts, lora))]
        return before, after

    held_before, held_after = both(held_out)
    if intent is None:
        misses = Counter(r["intent"] for r, p in zip(held_out, held_before, strict=True) if p != r["intent"])
        intent = misses.most_common(1)[0][0] if misses else held_out[0]["intent"]
    forget_before, forget_after = both(forgetting_rows)
    before_scores, after_scores = _accuracy(forget_before, forgetting_rows), _accuracy(forget_after, forgetting_rows)
    drops = _drops(forgetting_rows, forget_before, forget_after, intent)
    points = {key: d["points"] for key, d in drops.items()}
    others = [i for i, r in enumerate(forgetting_rows) if r["intent"] != intent]  # every row the fix should leave alone
    together = _drop(forgetting_rows, forget_before, forget_after, others) if others else {"points": None, "ci95": None}
    metrics = {
        "split_rule": f"the triage fit's (seed {config.seed}): {len(part['train'])} train, {len(part['val'])} val, {len(held_out)} test",
        "held_out": {"before": _accuracy(held_before, held_out), "after": _accuracy(held_after, held_out)},
        "target": _target_report(intent, held_out, held_before, held_after),
        "forgetting": {"rows": forgetting_label, "before": before_scores, "after": after_scores, "drop_points": points,
                       "drop_ci95": {key: d["ci95"] for key, d in drops.items()},
                       "flips": {key: {"lost": d["lost"], "gained": d["gained"]} for key, d in drops.items()},
                       "one_item_points": max((d["one_item_points"] for d in drops.values()), default=None),
                       "worst_drop_points": max(points.values(), default=0.0),
                       "other_intents": {"n": len(others), "drop_points": together["points"], "ci95": together["ci95"]},
                       "within_1_point": all(d <= 1.0 for d in points.values())},
    }
    job_id = "job_" + uuid.uuid4().hex[:16]
    throughput = 0.0 if trained.cache_hit else float(report["examples_per_s"])
    training = {**config.to_dict(), "examples": report["examples"], "steps": report["steps"], "loss": report["loss"]}
    headline = {"target": {k: metrics["target"][k] for k in ("intent", "n")} | {
                    "defect_before": metrics["target"]["before"]["defect_rate"], "defect_after": metrics["target"]["after"]["defect_rate"]},
                "held_out_accuracy": {"before": metrics["held_out"]["before"]["overall"]["accuracy"],
                                      "after": metrics["held_out"]["after"]["overall"]["accuracy"]},
                "forgetting_worst_drop_points": metrics["forgetting"]["worst_drop_points"]}
    existing = {a.digest for a in list_artifacts(ws, "adapter", name)}
    with ws.write() as s:
        artifact = register(
            ws, "adapter", name, files, parents=[head_artifact.digest, source.digest],
            provenance={**{k: source.provenance[k] for k in ("licence", "consent", "sensitivity") if k in source.provenance},
                        "source": f"trained by `loopwright learn adapter` on {source.ref} (sha256:{source.digest[:12]})",
                        "dataset": source.ref, "creator": "loopwright.learning.adapters"},
            config={**description, "target": "triage", "dataset": source.ref, "data_digest": source.digest, "training": training,
                    "caps": caps.model_dump(mode="json"), "metrics": metrics, "job_id": job_id},
            receipt=AdapterTrain, session=s,
            details={"job_id": job_id, "target": "triage", "dataset": source.ref, "data_digest": source.digest, "base": head_artifact.ref,
                     "base_digest": head_artifact.digest, "caps": caps.model_dump(mode="json"), "config": config.to_dict(),
                     "metrics": headline, "cache_hit": trained.cache_hit, "seconds": round(trained.seconds, 3), "examples_per_s": throughput,
                     "compute_s": round(trained.compute_s, 3)},
        )
    log.info("%s from %s (job %s)", artifact.ref, "the cache" if trained.cache_hit else "training", job_id)
    if artifact.digest in existing:  # the same files again: the job that made them stands, with its receipt
        return AdapterJob(artifact.config["job_id"], artifact, False, artifact.config["metrics"], trained.cache_hit, trained.seconds, throughput)
    return AdapterJob(job_id, artifact, True, metrics, trained.cache_hit, trained.seconds, throughput)

