"""Quarter 2: a broad Spanish and Vietnamese gap is a training problem, closed by a training cycle promoted on evidence.

    eval the incumbent on the held-out set      # the per-language report: the gap across intents, not one document
    data prepare on the quarter2 recipe         # the multilingual, situations and safety phrasebooks, and Week 3's
                                                # curated corrections (so the new base keeps the adapter's fix);
                                                # dedup, filters, leak-free splits, balancing, curriculum
    train triage-quarter2.toml                  # `loopwright train`: extended tokenizer, fine-tuned encoder and
                                                # head; cached by the recipe's, dataset's and base's digests
    promote (eval against the incumbent, paired tests, a signed release note) -> golden gate -> 50% canary
    detach the Week 3 adapter                   # once the new base serves: its held-out grace questions measured
                                                # on the new base alone, the figure on the detach receipt

Every figure is measured: held-out accuracy per language before and after comes
from the two stored evaluations, and the decision from promote's paired tests.
Trained and prepared files are cached by their inputs' digests, so a second run
takes seconds; `Sizes.quick` shrinks the canary as in the other phases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from loopwright.demo.formatting import percent
from loopwright.demo.advice import consult
from loopwright.demo.canary import drive_canary, receipt_ids
from loopwright.demo.observation import observe_languages
from loopwright.registry.artifacts import read_file
from loopwright.registry.deployment import get_deployment
from loopwright.release.releases import active, detach
from loopwright.serving.triage import clean_text
from loopwright.serving.triage import SLOT
from loopwright.training.data.filters import comparable
from loopwright.training.data.prepare import prepare_dataset
from loopwright.training.evaluate import evaluate
from loopwright.training.jobs import train_model
from loopwright.training.promote import promote
from loopwright.training.triage import TriageConfig, split_of

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext

LANGUAGES = ("en", "es", "vi")
RECIPE = "bank/config/recipes/quarter2.toml"
TRAIN_RECIPE = "bank/config/recipes/triage-quarter2.toml"
ADAPTER_SLOT = "adapter:triage"


WEEK3_SOURCE = """
[[sources]]
name = "week3-corrections"
dataset = "{dataset}"
file = "examples.jsonl"
licence = "Larkspur Bank internal"
provenance = "the call centre's Week 3 corrections and their replay rows, curated by `learn curate --target triage`"
consent = "consented: unconsented labels were excluded by curation"
sensitivity = "confidential"
"""


def _recipe(ctx: DemoContext) -> Path:
    """Quarter 2's recipe, plus Week 3's curated dataset when that phase made one: what the adapter learned goes
    into the new base's data, so detaching the adapter keeps its gain. Written beside the sample's recipe (its
    relative paths hold), as the team would edit it."""
    base = ctx.ws.root / RECIPE
    curated = next((p["metrics"]["curation"]["dataset"] for p in ctx.phases if p["name"] == "self_learning"), None)
    if curated is None:
        return base
    path = base.with_name("quarter2-week3.toml")
    path.write_text(base.read_text("utf-8").replace("\n[dedup]", WEEK3_SOURCE.format(dataset=curated) + "\n[dedup]", 1), "utf-8")
    return path


def _in_training(ws, prepared, texts: list[str]) -> int:
    """How many of `texts` (compared as the splits and dedup compare) are in the prepared dataset's train split."""
    train = {comparable(json.loads(line)["text"]) for line in read_file(ws, prepared, "train.jsonl").decode().splitlines()}
    return sum(comparable(t) in train for t in texts)


def _gap(evaluation, language: str) -> tuple[int, int]:
    """Intents where `language`'s held-out accuracy is below English's, of those both have items for."""
    by = {}
    for item in evaluation.items:
        if item["kind"] != "adversarial" and not item.get("contaminated"):
            by.setdefault((item["language"], item["intent"]), []).append(item["correct"])
    intents = {i for (lang, i) in by if lang == "en"} & {i for (lang, i) in by if lang == language}
    mean = lambda key: sum(by[key]) / len(by[key])  # noqa: E731
    return sum(mean((language, i)) < mean(("en", i)) for i in intents), len(intents)


def _grace_held_out(ctx: DemoContext) -> tuple[list[dict], dict | None]:
    """Week 3's held-out grace questions (the hash split `learn adapter` used) and the adapter's served figure on
    them (`self_learning`'s metrics), when that phase promoted it."""
    from loopwright.demo.self_learning import INTENT
    from loopwright.samples.bank.callcentre import adapter_traffic

    traffic = adapter_traffic(0)[: ctx.sizes.week3]
    held = [r for r in traffic if r["intent"] == INTENT and split_of(clean_text(r["text"]), TriageConfig(seed=0)) == "test"]
    week3 = next((p["metrics"]["traffic"] for p in ctx.phases if p["name"] == "self_learning"), None)
    return held, week3 and week3["held_out_live_after"]  # served with the adapter: None unless its release promoted


def _detach_adapter(ctx: DemoContext, phase: str, prepared) -> dict | None:
    """With the new base live, serve Week 3's held-out grace questions on it alone, and detach the adapter with
    that figure as evidence (and how many of them the new base trained on: 0, by the shared hash split); None
    when no adapter is attached."""
    from loopwright.demo.self_learning import target_defects, triage_requests

    ws = ctx.ws
    attached = get_deployment(ws).stable(ADAPTER_SLOT)
    if attached is None:
        return None
    held, adapter = _grace_held_out(ctx)
    # The adapter was trained over the old base's encoder: on the new base it no longer fits and is not served,
    # so what these requests get is the new base alone, the weights that would serve after the detach.
    alone = target_defects(triage_requests(ctx, held, "training: Week 3's held-out grace questions on the new base"))
    kept = adapter is not None and alone["defect_rate"] is not None and alone["defect_rate"] <= adapter["defect_rate"]
    evidence = {"held_out": len(held), "held_out_in_training": _in_training(ws, prepared, [r["text"] for r in held]),
                "adapter_defect_rate": adapter and adapter["defect_rate"], "new_base_defect_rate": alone["defect_rate"],
                "gain_kept": kept}
    receipt = detach(ws, ADAPTER_SLOT, actor="demo: quarter 2", evidence=evidence,
                     reason=f"the new base serves; Week 3's held-out grace questions: adapter "
                            f"{evidence['adapter_defect_rate']}, new base alone {alone['defect_rate']} wrong")
    ctx.event(phase, f"detached {attached.ref} from {ADAPTER_SLOT}", receipt.id)
    return {**evidence, "adapter": attached.ref, "receipt": receipt.id}


def training(ctx: DemoContext) -> None:
    start, ws, phase = ctx.now(), ctx.ws, "training"
    consult(ctx, phase, observe_languages(ctx, phase, ctx.sizes.quarter))
    incumbent = get_deployment(ws).stable(SLOT)
    before = evaluate(ws, incumbent.ref, gateway=ctx.gateway)
    gaps = {lang: _gap(before, lang) for lang in ("es", "vi")}
    ctx.event(phase, f"eval {incumbent.ref}: {before.artifact.ref}", receipt_ids(ws, before.artifact.ref)[-1])

    prepared = prepare_dataset(ws, _recipe(ctx))
    ctx.event(phase, f"data prepare: {prepared.artifact.ref}", receipt_ids(ws, prepared.artifact.ref)[-1])
    fitted = train_model(ws, ws.root / TRAIN_RECIPE, max_steps=ctx.sizes.train_steps)
    ctx.event(phase, f"trained {fitted.artifact.ref} ({'cached' if fitted.cache_hit else fitted.job_id})",
              receipt_ids(ws, fitted.artifact.ref)[-1])

    done = promote(ws, fitted.artifact.ref, canary=0.5, gateway=ctx.gateway)
    comparison, after = done.comparison, done.comparison.candidate
    ctx.event(phase, f"promote: {comparison.decision}; {done.note.ref} signed", done.receipt.id)
    outcome = {"state": "refused", "receipts": [], "served": []}
    if done.release is not None:  # gated: drive the canary; rejected: nothing is active
        started = [r for r in active(ws, SLOT) if r.id == done.release["id"]]
        outcome = drive_canary(ctx, phase, started[0], done.release["gate_report"]) if started else {
            "state": done.release["state"], "receipts": receipt_ids(ws, f"release/{done.release['id']}"), "served": []}

    detached = _detach_adapter(ctx, phase, prepared.artifact) if outcome["state"] == "promoted" else None

    mb, ma = before.report["metrics"], after.report["metrics"]
    measured = {e.artifact.ref: receipt_ids(ws, e.artifact.ref)[-1:] for e in (before, after)}  # their eval.run receipts
    note_receipt = receipt_ids(ws, done.note.ref)[-1:]
    for lang in LANGUAGES:
        ctx.row(phase, f"held-out triage accuracy {lang}, before", mb[f"accuracy.{lang}"], "%", receipts=measured[before.artifact.ref])
        target = ">= 95%" if lang == "vi" else None
        ctx.row(phase, f"held-out triage accuracy {lang}, after", ma[f"accuracy.{lang}"], "%", target=target,
                met=ma[f"accuracy.{lang}"] >= 0.95 if target else None, receipts=measured[after.artifact.ref])
    for lang, (lagging, of) in gaps.items():
        ctx.row(phase, f"intents where {lang} lags English (before)", f"{lagging} of {of}", "", receipts=measured[before.artifact.ref])
    c = comparison.composite
    ctx.row(phase, "composite, incumbent -> candidate", f"{c['incumbent']:.3f} -> {c['candidate']:.3f} (p={c['p']:.3g})", "",
            receipts=[done.receipt.id])
    ctx.row(phase, "promotion decision", comparison.decision, "", target="promote", met=comparison.decision == "promote",
            receipts=[done.receipt.id, *note_receipt])
    ctx.row(phase, "release outcome", outcome["state"], "", target="promoted", met=outcome["state"] == "promoted",
            traces=outcome["served"], receipts=outcome["receipts"])
    if detached is not None:
        ctx.row(phase, "Week 3 grace questions (held out) wrong: adapter -> new base alone",
                f"{percent(detached['adapter_defect_rate'])} -> {percent(detached['new_base_defect_rate'])}", "",
                target="gain kept", met=detached["gain_kept"], receipts=[detached["receipt"]])
    pct = lambda m: ", ".join(f"{lang.upper()} {m[f'accuracy.{lang}']:.0%}" for lang in LANGUAGES)  # noqa: E731
    ctx.phases.append({
        "name": phase, "title": "Quarter 2: a training cycle for Spanish and Vietnamese", "start_t": start, "end_t": ctx.now(),
        "metrics": {"before": before.report["metrics"], "after": after.report["metrics"], "comparison": comparison.to_dict(),
                    "dataset": prepared.artifact.ref, "model": fitted.artifact.ref, "note": done.note.ref,
                    "release": outcome["state"], "train_job": fitted.job_id, "train_seconds": round(fitted.seconds, 1),
                    "train_cache_hit": fitted.cache_hit, "detached": detached},
        "summary": f"On {before.report['heldout']} ({before.report['items']} items written apart from the phrase lists) "
                   f"{incumbent.ref} scored {pct(mb)}: Spanish lags English in {gaps['es'][0]} of {gaps['es'][1]} intents "
                   f"and Vietnamese in {gaps['vi'][0]}, a broad gap. `data prepare` made {prepared.artifact.ref} from the "
                   f"quarter2 recipe and `loopwright train {TRAIN_RECIPE}` (job {fitted.job_id}) made {fitted.artifact.ref}: {pct(ma)}. "
                   f"{comparison.reason()}. Release note {done.note.ref} (signed); the release ended {outcome['state']}"
                   + (f"; adapter {detached['adapter']} detached, Week 3's held-out grace questions "
                      f"{percent(detached['adapter_defect_rate'])} wrong with it, {percent(detached['new_base_defect_rate'])} on the "
                      f"new base alone." if detached else "."),
        "trace_ids": [r.trace_id for r in outcome["served"]], "receipt_ids": [done.receipt.id, *outcome["receipts"]],
    })
