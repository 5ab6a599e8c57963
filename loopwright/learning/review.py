"""Spot checks: a person (or a scripted reviewer, recorded as one) approves, rejects or relabels a
stratified sample of a curated dataset's new examples before any training job may use it.

    quota = min(new items, max(ceil(review_min_share * new items), review_min_items))   # the policy's [learning]
    sample: strata by intent and language (generator: by label), each given its share of the quota
            (largest remainder, at least one item per stratum while the quota allows), items in a
            fixed order from a hash of the dataset digest and item id
    ready:  reviewed >= quota and rejected / reviewed < max_rejection_rate

Replayed examples come from a dataset that was itself checked, so only new ones are sampled. The
latest decision on an item counts. Decisions and their receipt (the reviewer's identity, scripted or
not) are written in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from loopwright.digests import digest_of, utc_now
from loopwright.errors import ConflictError, InvalidInput
from loopwright.learning.examples import check_clean, is_training_dataset, item_id, read_card, read_examples
from loopwright.policy.loader import deployed_policy
from loopwright.registry.artifacts import Artifact, resolve
from loopwright.registry.payloads import DatasetReview, ReviewSession, ReviewTally
from loopwright.registry.receipts import append_receipt
from loopwright.serving.trace import Trace
from loopwright.store.schema import FeedbackRow, ReviewRow, TraceRow

if TYPE_CHECKING:
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace

DECISIONS = ("approve", "reject", "relabel")


@dataclass(frozen=True)
class Decision:
    """A reviewer's verdict on one item; `label` is the new intent of a relabel."""

    item: str
    decision: Literal["approve", "reject", "relabel"]
    label: str | None = None


@dataclass(frozen=True)
class ReviewStatus:
    """Where a dataset's spot checks stand against the policy's quota."""

    ref: str
    digest: str
    items: int
    reviewed: int
    approved: int
    rejected: int
    relabelled: int
    quota: int
    max_rejection_rate: float

    @property
    def rejection_rate(self) -> float:
        return self.rejected / self.reviewed if self.reviewed else 0.0

    @property
    def ready(self) -> bool:
        """The quota is met and the rejection rate is under the threshold: training may use the dataset."""
        return self.reviewed >= self.quota and self.rejection_rate < self.max_rejection_rate

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rejection_rate": round(self.rejection_rate, 4), "ready": self.ready}


def _dataset(ws: Workspace, dataset: Artifact | str) -> Artifact:
    return dataset if isinstance(dataset, Artifact) else resolve(ws, dataset, kind="dataset")


def _new_items(ws: Workspace, artifact: Artifact) -> dict[str, dict[str, Any]]:
    """Item id -> row, for the examples a person must check (replayed ones were checked before)."""
    return {item_id(r): r for r in read_examples(ws, artifact) if not str(r.get("source", "")).startswith("replay")}  # "replay:<ref>" too


def quota(items: int, policy: PolicySet) -> int:
    """How many of `items` new examples must be reviewed."""
    rules = policy.learning
    return min(items, max(math.ceil(rules.review_min_share * items), rules.review_min_items))


def _latest(ws: Workspace, digest: str) -> dict[str, ReviewRow]:
    with ws.session() as s:
        rows = s.scalars(sa.select(ReviewRow).where(ReviewRow.dataset == digest).order_by(ReviewRow.id)).all()
    return {r.item: r for r in rows}


def _status(artifact: Artifact, items: dict[str, Any], latest: dict[str, ReviewRow], policy: PolicySet) -> ReviewStatus:
    counted = [r.decision for item, r in latest.items() if item in items]
    return ReviewStatus(
        ref=artifact.ref,
        digest=artifact.digest,
        items=len(items),
        reviewed=len(counted),
        approved=counted.count("approve"),
        rejected=counted.count("reject"),
        relabelled=counted.count("relabel"),
        quota=quota(len(items), policy),
        max_rejection_rate=policy.learning.max_rejection_rate,
    )


def review_status(ws: Workspace, dataset: Artifact | str, *, policy: PolicySet | None = None) -> ReviewStatus:
    """The dataset's spot-check tally against the (deployed) policy's quota."""
    artifact = _dataset(ws, dataset)
    return _status(artifact, _new_items(ws, artifact), _latest(ws, artifact.digest), policy or deployed_policy(ws))


def review_queue(ws: Workspace, *, policy: PolicySet | None = None) -> list[ReviewStatus]:
    """Every curated dataset's spot-check tally, oldest first: the console's queue."""
    from loopwright.registry.artifacts import list_artifacts

    policy = policy or deployed_policy(ws)
    curated = sorted((a for a in list_artifacts(ws, "dataset") if is_training_dataset(a)), key=lambda a: a.created_at)
    return [review_status(ws, a, policy=policy) for a in curated]


def _stratum(row: dict[str, Any]) -> tuple[str, ...]:
    return (row["intent"], row["language"]) if "intent" in row else ("good" if row.get("label") else "bad",)


def review_sample(ws: Workspace, dataset: Artifact | str, *, policy: PolicySet | None = None) -> list[dict[str, Any]]:
    """Unreviewed items that bring the dataset to its quota, stratified (see the module notes); each row with its `item` id."""
    artifact = _dataset(ws, dataset)
    policy = policy or deployed_policy(ws)
    items = _new_items(ws, artifact)
    latest = _latest(ws, artifact.digest)
    need = quota(len(items), policy) - sum(1 for i in latest if i in items)
    pending = [i for i in items if i not in latest]
    if need <= 0 or not pending:
        return []
    strata: dict[tuple[str, ...], list[str]] = {}
    order = lambda i: hashlib.sha256(f"{artifact.digest}:{i}".encode()).digest()  # noqa: E731 - a sort key
    for i in sorted(pending, key=order):
        strata.setdefault(_stratum(items[i]), []).append(i)
    take = _allocate({k: len(v) for k, v in strata.items()}, min(need, len(pending)))
    return [{"item": i, **items[i]} for key in sorted(strata) for i in strata[key][: take[key]]]


def _allocate(sizes: dict[tuple[str, ...], int], total: int) -> dict[tuple[str, ...], int]:
    """`total` (at most the strata's sum) split over strata: one each first, largest strata first, while
    `total` allows; the rest in proportion to what each has left, by largest remainder (one pass suffices:
    no quota exceeds its stratum's room, and the remainders sum to the items still to give)."""
    keys = sorted(sizes, key=lambda k: (-sizes[k], k))
    take = {k: int(i < total) for i, k in enumerate(keys)}
    left = total - sum(take.values())
    room = {k: sizes[k] - take[k] for k in keys}
    pool = sum(room.values())
    if left <= 0 or pool == 0:
        return take
    shares = {k: left * room[k] / pool for k in keys}
    for k in keys:
        take[k] += int(shares[k])
    rest = total - sum(take.values())
    for k in sorted(keys, key=lambda k: (-(shares[k] - int(shares[k])), k))[:rest]:
        take[k] += 1
    return take


def parse_decisions(text: str) -> list[Decision]:
    """Decisions from a file: a JSON list, or JSON lines, of {"item", "decision", "label"?}; a bad one is named."""
    text = text.strip()
    try:
        raw = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"decisions file is not JSON or JSON lines: {exc.msg} at line {exc.lineno}") from None
    out = []
    for n, d in enumerate(raw, 1):
        if not isinstance(d, dict) or set(d) - {"item", "decision", "label"} or not isinstance(d.get("item"), str):
            raise InvalidInput(f"decision {n}: expected {{\"item\", \"decision\", \"label\"?}}, got {json.dumps(d)[:80]}")
        out.append(Decision(d["item"], d.get("decision"), d.get("label")))
    return out


def record_decisions(
    ws: Workspace,
    dataset: Artifact | str,
    decisions: Sequence[Decision],
    *,
    reviewer: str,
    scripted: bool,
    policy: PolicySet | None = None,
) -> ReviewStatus:
    """Store spot-check decisions on a dataset's items, with a `dataset.review` receipt, in one transaction.

    Every decision is checked first (a known item, one of approve, reject, relabel; a relabel's
    intent one the dataset knows): one bad decision stores none.
    """
    artifact = _dataset(ws, dataset)
    policy = policy or deployed_policy(ws)
    if not reviewer.strip():
        raise InvalidInput("a review needs the reviewer's identity", hint="--reviewer NAME")
    if not decisions:
        raise InvalidInput("no decisions to record")
    items = _new_items(ws, artifact)
    intents = {r["intent"] for r in read_examples(ws, artifact) if "intent" in r}
    for d in decisions:
        if d.item not in items:
            raise InvalidInput(f"item {d.item!r} is not a new example of {artifact.ref}", hint=f"`loopwright learn review {artifact.ref} --json` lists the sample")
        if d.decision not in DECISIONS:
            raise InvalidInput(f"item {d.item}: decision must be one of {', '.join(DECISIONS)}, got {d.decision!r}")
        if d.decision == "relabel" and (not intents or d.label not in intents):
            raise InvalidInput(f"item {d.item}: relabel needs an intent the dataset knows, got {d.label!r}", hint=", ".join(sorted(intents)) or "generator rows have no intent")
        if d.decision != "relabel" and d.label is not None:
            raise InvalidInput(f"item {d.item}: only a relabel takes a label")
    now = utc_now()
    with ws.write() as s:
        for d in decisions:
            s.add(ReviewRow(dataset=artifact.digest, item=d.item, decision=d.decision, label=d.label, reviewer=reviewer, scripted=scripted, ts=now))
        s.flush()
        rows = s.scalars(sa.select(ReviewRow).where(ReviewRow.dataset == artifact.digest).order_by(ReviewRow.id)).all()
        status = _status(artifact, items, {r.item: r for r in rows}, policy)
        payload = DatasetReview(
            after=ReviewTally(
                ref=artifact.ref, digest=artifact.digest, reviewed=status.reviewed, approved=status.approved,
                rejected=status.rejected, relabelled=status.relabelled, quota=status.quota,
                rejection_rate=round(status.rejection_rate, 4),
            ),
            details=ReviewSession(
                reviewer=reviewer, scripted=scripted, decisions=len(decisions),
                decisions_digest=digest_of([asdict(d) for d in decisions]),
            ),
        )
        append_receipt(s, ws, payload, subject=artifact.ref, actor=reviewer)
    return status


def require_reviewed(ws: Workspace, dataset_artifact: Artifact | str, *, policy: PolicySet | None = None) -> ReviewStatus:
    """Raise, in one line, until the dataset's spot-check quota is met and its rejection rate is under the threshold."""
    status = review_status(ws, dataset_artifact, policy=policy)
    if status.reviewed < status.quota:
        raise ConflictError(
            f"{status.ref} has {status.reviewed} of the {status.quota} spot checks the policy requires",
            hint=f"`loopwright learn review {status.ref}`",
        )
    if status.rejection_rate >= status.max_rejection_rate:
        raise ConflictError(
            f"{status.ref}: {status.rejected} of {status.reviewed} reviewed examples rejected "
            f"({status.rejection_rate:.1%}, the policy allows under {status.max_rejection_rate:.0%})",
            hint="curate again with tighter filters, or review more examples",
        )
    return status


def training_examples(ws: Workspace, dataset_artifact: Artifact | str, *, policy: PolicySet | None = None) -> list[dict[str, Any]]:
    """The rows a training job learns from: only once `require_reviewed` passes, rejected items left out and
    relabels applied, refused if any new example's trace has since lost its consent or been erased, or if
    what remains is empty or holds raw personal data."""
    artifact = _dataset(ws, dataset_artifact)
    policy = policy or deployed_policy(ws)
    require_reviewed(ws, artifact, policy=policy)
    _require_consent(ws, artifact)
    latest = _latest(ws, artifact.digest)
    rows = []
    for row in read_examples(ws, artifact):
        decision = latest.get(item_id(row))
        if decision is not None and decision.decision == "reject":
            continue
        if decision is not None and decision.decision == "relabel":
            row = {**row, "intent": decision.label}
        rows.append(row)
    check_clean(artifact.ref, rows, policy.pii)
    return rows


def _require_consent(ws: Workspace, artifact: Artifact) -> None:
    """Consent is checked again at training time: feedback refusing it, or an erasure, after curation wins."""
    traces = set(read_card(ws, artifact).get("traces", {}).values())
    ids = sorted(traces)
    lost: set[str] = set()
    with ws.session() as s:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            refused = sa.select(FeedbackRow.trace_id).where(FeedbackRow.trace_id.in_(chunk), FeedbackRow.consent.is_(False))
            lost |= set(s.scalars(refused))
            found = {tid: Trace.from_dict(json.loads(rec)) for tid, rec in s.execute(sa.select(TraceRow.id, TraceRow.record).where(TraceRow.id.in_(chunk)))}
            lost |= {t for t in chunk if t not in found or found[t].erased}
    if lost:
        raise ConflictError(
            f"{artifact.ref}: {len(lost)} example(s) come from traces whose consent was withdrawn or whose subject was erased since curation",
            hint="curate again: `loopwright learn curate`",
        )
