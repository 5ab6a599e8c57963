"""Week 3: self-learning. Chargeback-grace questions go to `dispute_initiation`; the call centre's corrections
become a reviewed dataset, a LoRA adapter on triage is trained on it, gated, canaried behind a flag on 10%
of customers, and the analysis decides.

    serve the call centre's grace and dispute questions (samples.bank.callcentre) as their customers
      -> agents label the traces (corrections and confirmations), each customer's consent as they gave it
      -> learn curate --target triage   (unconsented labels excluded and counted on the data card)
      -> the scripted reviewer meets the spot-check quota (recorded as scripted)
      -> learn adapter --target triage  (cached by its inputs' digests; measured on held-out text)
      -> release adapter:triage: golden gate, canary behind the flag canary.adapter.triage, analysis
      -> the held-out Week-3 questions served again: the intent's defect rate as served, before and after

Every figure is measured: the adapter job's on texts it never trained on (the curated dataset's test
split, and the base triage dataset's test split for forgetting), the live one on the same held-out
questions through the gateway before and after the release.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from loopwright.demo.advice import consult
from loopwright.demo.canary import receipt_ids as _receipt_ids, release as _release
from loopwright.learning.adapters import learn_triage_adapter, wilson
from loopwright.learning.curate import curate
from loopwright.learning.feedback import Author, record_feedback
from loopwright.policy.loader import deployed_policy
from loopwright.samples.bank.callcentre import adapter_traffic, agent_labels
from loopwright.samples.bank.review import scripted_review
from loopwright.serving.pipeline import ChatRequest
from loopwright.serving.triage import clean_text
from loopwright.training.triage import TriageConfig, split_of
from loopwright.training.triage_adapter import TriageAdapterConfig

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext

PHASE = "self_learning"
INTENT = "chargeback_grace"
CONFUSED = "dispute_initiation"
FORGETTING = "dataset/bank-forgetting"  # 1,800 held-out texts, 120 per intent: one text is under a point


def triage_requests(ctx: DemoContext, requests: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """Each request through the gateway as its customer; the trace id and the intent triage gave it."""
    gateway, out = ctx.gateway, []
    advance = ctx.progress(label, len(requests))
    for r in requests:
        principal = gateway.principal_for(r["tenant"], "customer", r["customer_id"], key_id="demo-callcentre")
        completion = gateway.complete(ChatRequest(ctx.driver.model, [{"role": "user", "content": r["text"]}], user=r["customer_id"]), principal)
        out.append({**r, "trace_id": completion.trace_id, "predicted": completion.loopwright["intent"], "channel": completion.trace.channel})
        advance()
    gateway.writer.flush()
    return out


def target_defects(served: list[dict[str, Any]]) -> dict[str, Any]:
    """The target intent's defect rate (triaged as anything else) with its 95% Wilson interval."""
    mine = [s for s in served if s["intent"] == INTENT]
    wrong = sum(s["predicted"] != INTENT for s in mine)
    return {"n": len(mine), "defects": wrong, "defect_rate": round(wrong / len(mine), 4) if mine else None, "ci95": wilson(wrong, len(mine)),
            "as_dispute": sum(s["predicted"] == CONFUSED for s in mine)}


def _ci(ci: list[float] | None) -> str:
    return "n/a" if ci is None else f"[{ci[0]:.1%}, {ci[1]:.1%}]"


def _points(ci: list[float] | None) -> str:
    return "n/a" if ci is None else f"[{ci[0]:+.1f}, {ci[1]:+.1f}]"


def self_learning(ctx: DemoContext) -> None:
    start, ws, sizes = ctx.now(), ctx.ws, ctx.sizes
    traffic = adapter_traffic(0)[: sizes.week3]
    served = triage_requests(ctx, traffic, "self-learning: call-centre traffic")
    # Held out of the adapter's training by the same hash split `learn adapter` uses: served again after the release.
    rule = TriageConfig(seed=0)
    held_ids = {r["id"] for r in traffic if split_of(clean_text(r["text"]), rule) == "test"}
    live_before = target_defects([s for s in served if s["id"] in held_ids])
    seen = target_defects(served)

    policy = deployed_policy(ws)
    labels = list(agent_labels(served, 0))
    for lab in labels:
        record_feedback(ws, lab["trace_id"], author=Author("agent", lab["agent"]), policy=policy, correction=lab["correction"],
                        consent=lab["consent"])
    consult(ctx, PHASE, [s["trace_id"] for s in served])  # the week's calls and the agents' labels on them
    kinds = Counter(lab["kind"] for lab in labels)
    refused = sum(not lab["consent"] for lab in labels)
    curated = curate(ws, "triage", actor="demo: call centre week 3")
    card = curated.card
    status = scripted_review(ws, curated.artifact)
    ctx.event(PHASE, f"curated {curated.artifact.ref}: {card['out']['by_source'].get('correction', 0)} labels, "
              f"{card['dropped'].get('unconsented', 0)} unconsented excluded", _receipt_ids(ws, curated.artifact.ref)[0])
    ctx.event(PHASE, f"spot checks: {status.reviewed} of {status.quota} by the scripted reviewer",
              _receipt_ids(ws, curated.artifact.ref)[-1])

    config = TriageAdapterConfig(epochs=sizes.adapter_epochs)
    job = learn_triage_adapter(ws, curated.artifact.ref, config, intent=INTENT, forgetting=FORGETTING,
                               forgetting_per_intent=sizes.forgetting_per_intent)
    train_receipt = _receipt_ids(ws, job.artifact.ref)[0]
    ctx.event(PHASE, f"adapter {job.artifact.ref} ({'cached' if job.cache_hit else 'trained'}, job {job.job_id})", train_receipt)
    outcome = _release(ctx, PHASE, "adapter:triage", job.artifact.ref, reason=f"learn adapter {job.job_id}: chargeback grace",
                       share=sizes.canary_share, flag=True)
    canary_change = next((r for r in outcome["receipts"][1:2]), None)  # the release.canary receipt: the change that started it
    held = [r for r in traffic if r["id"] in held_ids]
    live_after = target_defects(triage_requests(ctx, held, "self-learning: held-out questions again")) if outcome["state"] == "promoted" else None

    m = job.metrics
    target, forgetting = m["target"], m["forgetting"]
    halved = target["after"]["defect_rate"] is not None and target["after"]["defect_rate"] <= target["before"]["defect_rate"] / 2
    ctx.row(PHASE, f"{INTENT} triaged wrong in Week-3 traffic", seen["defect_rate"], "%", traces=[])
    ctx.row(PHASE, "labels from the call centre (consented / not)", f"{len(labels) - refused} / {refused}", "",
            receipts=[_receipt_ids(ws, curated.artifact.ref)[0]])
    ctx.row(PHASE, "curated examples (new, replayed)", f"{card['out']['by_source'].get('correction', 0)}, {card['out']['by_source'].get('replay', 0)}", "",
            receipts=[_receipt_ids(ws, curated.artifact.ref)[0]])
    ctx.row(PHASE, "spot checks (scripted reviewer)", f"{status.reviewed} of {status.quota}", "", target="quota met", met=status.ready,
            receipts=[_receipt_ids(ws, curated.artifact.ref)[-1]])
    ctx.row(PHASE, f"{INTENT} defect rate, held-out text, before", target["before"]["defect_rate"], "%", receipts=[train_receipt])
    ctx.row(PHASE, f"{INTENT} defect rate, held-out text, after", target["after"]["defect_rate"], "%", target="at least halved", met=halved,
            receipts=[train_receipt])
    ctx.row(PHASE, "held-out accuracy (all intents of the dataset)", m["held_out"]["after"]["overall"]["accuracy"], "%", receipts=[train_receipt])
    worst = max(forgetting["drop_points"], key=forgetting["drop_points"].get, default=None)
    ctx.row(PHASE, "forgetting: worst other intent or language",
            forgetting["worst_drop_points"], "points", target="<= 1", met=forgetting["within_1_point"], receipts=[train_receipt])
    others = forgetting["other_intents"]
    ctx.row(PHASE, "forgetting: every other intent together",
            others["drop_points"], "points", target="<= 1", met=others["drop_points"] is not None and others["drop_points"] <= 1.0,
            receipts=[train_receipt])
    ctx.row(PHASE, "release (gate, 10% canary behind a flag, analysis)", outcome["state"], "", target="promoted",
            met=outcome["state"] == "promoted", traces=outcome["served"], receipts=outcome["receipts"])
    if live_after is not None:
        ctx.row(PHASE, f"{INTENT} defect rate as served, held-out questions", f"{live_before['defect_rate']:.1%} -> {live_after['defect_rate']:.1%}",
                "", receipts=outcome["receipts"][-1:])
    overall_before = 1 - forgetting["before"]["overall"]["accuracy"]
    overall_after = 1 - forgetting["after"]["overall"]["accuracy"]
    ctx.phases.append({
        "name": PHASE, "title": "Self-learning: the call centre's corrections", "start_t": start, "end_t": ctx.now(),
        "metrics": {
            "traffic": {"served": len(served), "target": seen, "held_out_live_before": live_before, "held_out_live_after": live_after},
            "labels": {"given": len(labels), "corrections": kinds["correction"], "confirmations": kinds["confirmation"], "without_consent": refused},
            "curation": {"dataset": curated.artifact.ref, "out": card["out"], "dropped": card["dropped"]},
            "review": status.to_dict(),
            "adapter": {"job_id": job.job_id, "artifact": job.artifact.ref, "digest": job.artifact.digest, "cache_hit": job.cache_hit,
                        "seconds": round(job.seconds, 1), "config": config.to_dict()},
            "held_out": m["held_out"], "target": target,
            "overall_defect_rate": {"before": round(overall_before, 4), "after": round(overall_after, 4), "rows": forgetting["rows"]},
            "per_intent_and_language": {"rows": forgetting["rows"], "before": forgetting["before"], "after": forgetting["after"],
                                        "drop_points": forgetting["drop_points"], "drop_ci95": forgetting["drop_ci95"],
                                        "other_intents": forgetting["other_intents"]},
            "release": {k: outcome.get(k) for k in ("release", "state", "actions", "seconds")}, "canary_change": canary_change,
        },
        "summary": f"{len(served)} call-centre questions: {seen['defects']} of {seen['n']} chargeback-grace questions were triaged wrong "
                   f"({seen['as_dispute']} as {CONFUSED}). Agents gave {len(labels)} labels ({kinds['correction']} corrections); "
                   f"{refused} came from customers without consent and were excluded "
                   f"({card['dropped'].get('unconsented', 0)} on the data card). The scripted reviewer checked {status.reviewed} of "
                   f"{status.quota} required. Adapter {job.artifact.ref} (job {job.job_id}, sha256:{job.artifact.digest[:12]}): "
                   f"{INTENT} defect rate on held-out text {target['before']['defect_rate']:.1%} {_ci(target['before']['ci95'])} -> "
                   f"{target['after']['defect_rate']:.1%} {_ci(target['after']['ci95'])} (n = {target['n']}); overall defect rate "
                   f"{overall_before:.1%} -> {overall_after:.1%} on {forgetting['rows']}; worst other intent or language "
                   f"{forgetting['worst_drop_points']:+.1f} points ({worst}, paired 95% {_points(forgetting['drop_ci95'].get(worst))}), "
                   f"every other intent together (n = {others['n']}) "
                   f"{others['drop_points']:+.1f} {_points(others['ci95'])}. Released through the gate and a 10% canary behind the flag "
                   f"canary.adapter.triage: {outcome['state']}"
                   + (f" ({outcome['actions'][-1]['reason']})" if outcome.get("actions") else "")
                   + (f"; as served, held-out grace questions {live_before['defect_rate']:.1%} -> {live_after['defect_rate']:.1%} wrong."
                      if live_after is not None else "."),
        "trace_ids": [s["trace_id"] for s in served], "receipt_ids": [train_receipt, *outcome["receipts"]],
    })
