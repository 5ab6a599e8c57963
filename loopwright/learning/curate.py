"""Curation: traces, feedback and corrections into a `dataset` artifact a training job may learn from.

    traces with feedback (since ...)
      -> excluded: any feedback without consent (a refusal wins over any other feedback on the trace),
         evaluation traffic (goldens), private (erased subjects, the policy's private tenants),
         unverified labels (a correction from a role not in [feedback] correctors, an unknown intent)
      -> labels: triage, the latest verified corrected intent; generator, thumbs or the rubric mean, and a
         verified agent's rewrite (free text from a [feedback] corrector) of a bad answer as a good one
      -> raw personal data: the example is dropped (stored text is masked already; this catches a miss)
      -> plus a replay set from the deployed triage model's dataset: every intent, critical ones whole
      -> exact and near duplicates removed (`loopwright.dedup`), new examples kept over replayed ones
      -> examples.jsonl (+ pairs.jsonl: a good and a bad answer to one prompt, for DPO; the examples'
         labels are KTO's thumbs), card.json, registered as dataset/curated-<target> with a receipt

Every item left out is counted under the first reason it meets, in the order above, on the data
card. An empty result is an error and nothing is stored. Curating the same inputs twice gives the
same bytes, so the same artifact version (no timestamps in the files).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.dedup import content_hash, duplicate_groups
from loopwright.digests import sha256_hex, utc_stamp
from loopwright.errors import InvalidInput, NotFound
from loopwright.language import detect_language
from loopwright.learning.examples import CARD, EXAMPLES, PAIRS, holds_raw_pii, item_id, jsonl
from loopwright.learning.feedback import StoredFeedback, rubric_share, stored_feedback
from loopwright.policy.loader import deployed_policy
from loopwright.registry.artifacts import Artifact, read_file, register, resolve
from loopwright.registry.deployment import deployed_artifact
from loopwright.registry.payloads import DatasetCurate
from loopwright.serving.trace import Trace
from loopwright.serving.triage import SLOT as TRIAGE_SLOT
from loopwright.store.schema import FeedbackRow, TraceRow

if TYPE_CHECKING:
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace

TARGETS = ("triage", "generator")
DEDUP = {"method": "MinHash LSH (datasketch) over 5-character shingles, 128 permutations", "shingle": 5, "num_perm": 128}
Progress = Callable[[int, int], None]
"""(traces done, traces in all)"""


@dataclass(frozen=True)
class Curated:
    """What a curation registered: the dataset artifact and its data card."""

    artifact: Artifact
    card: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.artifact.ref, "digest": self.artifact.digest, "card": self.card}


@dataclass
class _Tally:
    """Counts in and out, and drops by reason, as the data card reports them."""

    dropped: Counter = field(default_factory=Counter)

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1


def curate(
    ws: Workspace,
    target: str,
    *,
    since: str | None = None,
    until: str | None = None,
    policy: PolicySet | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> Curated:
    """Curate the traces with feedback in [since, until) into `dataset/curated-<target>`; see the module notes.

    `policy` defaults to the deployed one: its [feedback] says whose corrections are labels and
    its [learning] how much to replay, which tenants are private and what counts as a duplicate.
    """
    if target not in TARGETS:
        raise InvalidInput(f"unknown curation target {target!r}", hint=f"one of: {', '.join(TARGETS)}")
    policy = policy or deployed_policy(ws)
    started = time.perf_counter()
    replay_source = _replay_source(ws)
    intents, replay_rows = _replay_rows(ws, replay_source)
    tally = _Tally()
    traces, feedback = _load(ws, since, until)
    if target == "triage":
        new, item_traces = _triage_examples(traces, feedback, policy, intents, tally, progress)
    else:
        new, item_traces = _generator_examples(traces, feedback, policy, tally, progress)
    considered = len(traces)
    if not new:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(tally.dropped.items())) or "none had feedback"
        window = f" since {since}" if since else ""
        raise InvalidInput(
            f"nothing to curate for {target}: {considered} trace(s) with feedback{window}, none usable ({reasons})",
            hint="learning needs consented feedback: corrections for triage, thumbs or rubric scores for the generator",
        )
    replay = _select_replay(replay_rows, policy) if target == "triage" else []
    replay = [r for r in replay if not _drop_if(holds_raw_pii(r, policy.pii), "pii", tally)]
    rows = _dedup([*new, *replay], target, policy.learning.near_duplicate, tally)
    kept_new = [r for r in rows if r["source"] != "replay"] if target == "triage" else rows
    if not kept_new:
        raise InvalidInput(f"nothing to curate for {target}: every new example duplicates a replayed one")
    files = {EXAMPLES: jsonl(rows)}
    pairs = _pairs(rows) if target == "generator" else []
    if pairs:
        files[PAIRS] = jsonl(pairs)
    card = _card(target, since, until, considered, feedback, rows, pairs, tally, item_traces, replay_source, policy)
    files[CARD] = (json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    kept = Counter(r.get("source", "feedback") for r in rows)
    artifact = register(
        ws,
        "dataset",
        f"curated-{target}",
        files,
        parents=[replay_source.digest] if target == "triage" else [],
        provenance={
            "source": f"curated by `loopwright learn curate --target {target}` from traces and consented feedback",
            "licence": "internal: the team's own traffic",
            "consent": "only feedback given with consent, on traces none of whose feedback refused it",
            "sensitivity": "internal",
            "creator": "loopwright.learning.curate",
        },
        config={"target": target, "since": since, "until": until, "learning": policy.learning.model_dump(mode="json")},
        actor=actor,
        receipt=DatasetCurate,
        details={
            "target": target, "since": since, "considered": considered, "kept": dict(sorted(kept.items())),
            "dropped": dict(sorted(tally.dropped.items())), "card": sha256_hex(files[CARD]),
            "compute_s": round(time.perf_counter() - started, 3),  # a self-learning job's compute, priced by [costs]
        },
    )
    return Curated(artifact, card)


def _drop_if(condition: bool, reason: str, tally: _Tally) -> bool:
    if condition:
        tally.drop(reason)
    return condition


def _load(ws: Workspace, since: str | None, until: str | None) -> tuple[list[Trace], dict[str, list[StoredFeedback]]]:
    """Traces with any feedback in the window (oldest first), and their feedback."""
    with_feedback = sa.select(FeedbackRow.trace_id).distinct()
    query = sa.select(TraceRow.record).where(TraceRow.id.in_(with_feedback)).order_by(TraceRow.ts, TraceRow.id)
    if since:
        query = query.where(TraceRow.ts >= utc_stamp(since))
    if until:
        query = query.where(TraceRow.ts < utc_stamp(until))
    with ws.session() as s:
        traces = [Trace.from_dict(json.loads(record)) for record in s.scalars(query)]
        feedback = stored_feedback(s, [t.id for t in traces])
    return traces, feedback


def _excluded(trace: Trace, given: list[StoredFeedback], policy: PolicySet, tally: _Tally) -> bool:
    """The checks both targets share, in order: consent, evaluation traffic, private data."""
    if _drop_if(any(not f.consent for f in given), "unconsented", tally):
        return True
    if _drop_if(trace.purpose != "serve", "evaluation", tally):
        return True
    return _drop_if(trace.erased or trace.principal.tenant in policy.learning.private_tenants, "private", tally)


def _triage_examples(traces, feedback, policy, intents, tally, progress):
    rows, item_traces = [], {}
    languages = policy.pii.languages
    for n, trace in enumerate(traces, 1):
        if progress:
            progress(n, len(traces))
        given = feedback.get(trace.id, [])
        if _excluded(trace, given, policy, tally):
            continue
        corrections = [f for f in given if f.correction]
        if _drop_if(not corrections, "no_correction", tally):
            continue
        verified = [f for f in corrections if f.author and f.author_role in policy.feedback.correctors]
        if _drop_if(not verified, "unverified", tally):
            continue
        intent = verified[-1].correction
        if _drop_if(intent not in intents, "unknown_intent", tally):
            continue
        text = trace.input or ""
        if _drop_if(not text.strip(), "no_text", tally):
            continue
        row = {"text": text, "intent": intent, "language": detect_language(text, languages), "source": "correction"}
        if _drop_if(holds_raw_pii(row, policy.pii), "pii", tally):
            continue
        rows.append(row)
        item_traces[item_id(row)] = trace.id
    return rows, item_traces


def _grade(given: list[StoredFeedback], policy: PolicySet) -> float | None:
    """The latest grade on a trace, scaled to 0..1: thumbs, else the rubric mean, else the overall score."""
    for f in reversed(given):
        if f.thumbs is not None:
            return 1.0 if f.thumbs > 0 else 0.0
        share = rubric_share(f.rubric, policy)
        if share is not None:
            return share
        if f.score is not None:
            return f.score / 5
    return None


def _generator_examples(traces, feedback, policy, tally, progress):
    rows, item_traces = [], {}
    rules = policy.learning
    for n, trace in enumerate(traces, 1):
        if progress:
            progress(n, len(traces))
        given = feedback.get(trace.id, [])
        if _excluded(trace, given, policy, tally):
            continue
        if _drop_if(not (trace.input and trace.output) or trace.outcome == "error", "no_text", tally):
            continue
        grade = _grade(given, policy)
        if _drop_if(grade is None, "no_grade", tally):
            continue
        if _drop_if(rules.bad_at < grade < rules.good_at, "ambiguous", tally):
            continue
        row = {"prompt": trace.input, "completion": trace.output, "label": grade >= rules.good_at}
        if _drop_if(holds_raw_pii(row, policy.pii), "pii", tally):
            continue
        rows.append(row)
        item_traces[item_id(row)] = trace.id
        rewrite = _rewrite(given, policy) if not row["label"] else None
        if rewrite is not None and rewrite != trace.output:
            better = {"prompt": trace.input, "completion": rewrite, "label": True}
            if not _drop_if(holds_raw_pii(better, policy.pii), "pii", tally):
                rows.append(better)
                item_traces[item_id(better)] = trace.id
    return rows, item_traces


def _rewrite(given: list[StoredFeedback], policy: PolicySet) -> str | None:
    """The latest answer a verified corrector wrote in place of a bad one (their feedback's free text)."""
    for f in reversed(given):
        if f.text and f.text.strip() and f.author and f.author_role in policy.feedback.correctors:
            return f.text.strip()
    return None


def _replay_source(ws: Workspace) -> Artifact:
    """The dataset the deployed triage model was fitted on: what replay draws earlier examples from."""
    model = deployed_artifact(ws, TRIAGE_SLOT)
    if model is None:
        raise NotFound(f"no triage model is deployed on {TRIAGE_SLOT}: curation replays its dataset", hint="`loopwright triage fit`")
    datasets = [p for p in (resolve(ws, d) for d in model.parents) if p.kind == "dataset"]
    if not datasets:
        raise NotFound(f"{model.ref} names no dataset among its parents, so there is nothing to replay")
    return datasets[0]


def _replay_rows(ws: Workspace, source: Artifact) -> tuple[set[str], list[dict[str, Any]]]:
    """The known intents and the labelled rows of the replay dataset (utterances.jsonl, or a curated examples.jsonl)."""
    name = "utterances.jsonl" if "utterances.jsonl" in source.files else EXAMPLES
    rows = [json.loads(line) for line in read_file(ws, source, name).decode("utf-8").splitlines() if line]
    intents = {r["intent"] for r in rows}
    if "intents.json" in source.files:
        intents |= {i["name"] for i in json.loads(read_file(ws, source, "intents.json"))}
    return intents, [{"text": r["text"], "intent": r["intent"], "language": r["language"], "source": "replay"} for r in rows]


def _select_replay(rows: list[dict[str, Any]], policy: PolicySet) -> list[dict[str, Any]]:
    """Up to `replay_per_intent` rows of every intent (all of a critical intent's), chosen by a hash of the text."""
    rules = policy.learning
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: hashlib.sha256(f"replay:{r['text']}".encode()).digest()):
        by_intent.setdefault(row["intent"], []).append(row)
    out = []
    for intent in sorted(by_intent):
        chosen = by_intent[intent] if intent in rules.critical_intents else by_intent[intent][: rules.replay_per_intent]
        out.extend(chosen)
    return out


def _dedup(rows: list[dict[str, Any]], target: str, threshold: float, tally: _Tally) -> list[dict[str, Any]]:
    """Rows without exact or near duplicates: each group keeps its first (new examples come before replayed ones)."""
    if target == "triage":
        texts = [r["text"] for r in rows]
    else:
        texts = [f"{r['prompt']}\n{r['completion']}" for r in rows]
    drop = {i for group in duplicate_groups(texts, threshold=threshold, num_perm=DEDUP["num_perm"], shingle=DEDUP["shingle"]) for i in group[1:]}
    for _ in drop:
        tally.drop("duplicate")
    return [r for i, r in enumerate(rows) if i not in drop]


def _pairs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chosen/rejected pairs from good and bad answers to the same prompt (same normalised text)."""
    good: dict[str, list[dict[str, Any]]] = {}
    bad: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        (good if r["label"] else bad).setdefault(content_hash(r["prompt"]), []).append(r)
    pairs = []
    for key in sorted(good.keys() & bad.keys()):
        for chosen, rejected in zip(good[key], bad[key], strict=False):
            pairs.append({"prompt": chosen["prompt"], "chosen": chosen["completion"], "rejected": rejected["completion"]})
    return pairs


def _card(target, since, until, considered, feedback, rows, pairs, tally, item_traces, replay_source, policy) -> dict[str, Any]:
    given = [f for fs in feedback.values() for f in fs]
    kept_ids = {item_id(r) for r in rows}
    card: dict[str, Any] = {
        "target": target,
        "window": {"since": since, "until": until},
        "in": {
            "traces": considered,
            "feedback": len(given),
            "consented": sum(f.consent for f in given),
            "corrections": sum(bool(f.correction) for f in given),
        },
        "out": {
            "examples": len(rows),
            "by_source": dict(sorted(Counter(r.get("source", "feedback") for r in rows).items())),
            "pairs": len(pairs),
        },
        "dropped": dict(sorted(tally.dropped.items())),
        "dedup": {**DEDUP, "threshold": policy.learning.near_duplicate},
        "traces": {i: t for i, t in sorted(item_traces.items()) if i in kept_ids},
    }
    if target == "triage":
        card["out"]["by_intent"] = dict(sorted(Counter(r["intent"] for r in rows).items()))
        card["out"]["by_language"] = dict(sorted(Counter(r["language"] for r in rows).items()))
        card["replay"] = {
            "dataset": replay_source.ref, "digest": replay_source.digest, "per_intent": policy.learning.replay_per_intent,
            "critical_intents": list(policy.learning.critical_intents),
        }
    else:
        card["out"]["by_label"] = {"good": sum(r["label"] for r in rows), "bad": sum(not r["label"] for r in rows)}
    return card
