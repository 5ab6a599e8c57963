"""Reader benchmark: the small tier's reader, trained here, on held-out documents and on the question bank.

    python bench/bench_reader.py            # trains the sample reader (or takes it from the cache), then reads
    python bench/bench_reader.py --quick    # the question bank's English questions only
    python bench/bench_reader.py --dev      # only the dev set through the gateway, per threshold

Three sets of figures:

- held out: exact match, token F1, answerability AUC and ECE per language on the
  reading examples of documents the reader never saw (the trainer's test split,
  from the artifact's metrics.json), and how long training took;
- the question bank (`samples.bank.questions`: FAQ and decline lists, the text the
  simulator and the demo ask): each question with the evidence live retrieval gives
  it (corpus fix live), read by the `reader` backend; per language and threshold,
  the share it answers, and of those the share that states every fact, cites a
  document the question names, and is one sentence. These questions were also
  trained on where their documents fell in the training split: they say how the
  reader behaves on the demo's traffic, not how it generalises (held out says that);
- the dev set (`samples/bank/reader_dev.jsonl`: written by hand, worded unlike the
  training questions, never the held-out answer set): each question through the real
  gateway with the reader as the only tier and no threshold, graded by
  `loopwright.observe.answers` as bench_answers.py grades, then re-graded at each
  `min_answerability` in DEV_THRESHOLDS (a best span below it is a refusal). This is
  where the reader's thresholds are chosen; the held-out set only measures.

Writes bench/results/reader.json (reader-dev.json with --dev) and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402

THRESHOLDS = (0.3, 0.5, 0.7)
DEV = common.ROOT / "loopwright" / "samples" / "bank" / "reader_dev.jsonl"
DEV_THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def dev_sweep(template: Path, options: dict[str, Any]) -> dict[str, Any]:
    """The dev set through the gateway (reader tier as bench_answers.py has it, with `options` over its own and no
    threshold), summarised per language at each threshold."""
    from dataclasses import replace

    from bench_answers import TIERS, run_tier
    from loopwright.observe.answers import grade, load_questions, summarise_by

    shipped = next(t for t in TIERS if t.label == "reader")
    contender = replace(shipped, tier={**shipped.tier, "options": {**shipped.tier["options"], **options,
                                                                       "min_answerability": 0.0}})
    questions = load_questions(DEV)
    best: dict[str, float | None] = {}
    traces: dict[str, Any] = {}

    def seen(q, t) -> None:
        best[q.id] = (t.generation or {}).get("answerability") if t else None
        traces[q.id] = t

    grades, facts = run_tier(template, contender, questions, on_trace=seen)
    sweep = {}
    for threshold in DEV_THRESHOLDS:
        regraded = [grade(g.question, replace(g.response, text="", citations=(), refused=True))
                    if (best[g.question.id] or 0.0) < threshold and not g.response.refused else g for g in grades]
        sweep[str(threshold)] = summarise_by(regraded, lambda g: g.question.language)
    texts = document_texts()
    stages = {g.question.id: stage_of(g, traces[g.question.id], texts) for g in grades if not g.correct}
    wrong = {g.question.id: (f"{stages[g.question.id]} {best[g.question.id] or 0:.2f} " + ("(refused) " if g.response.refused else "")
                             + g.response.text[:160]) for g in grades if not g.correct}
    by_stage: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in grades:
        if not g.correct:
            by_stage[g.question.language][stages[g.question.id]] += 1
    return {"set": str(DEV.relative_to(common.ROOT)), "options": contender.tier["options"], "questions": len(questions), "seconds": facts["seconds"],
            "by_threshold": sweep, "wrong_at_0": wrong, "wrong_by_stage": {k: dict(v) for k, v in by_stage.items()}}


STAGES = ("routing", "retrieval", "answerability: declined", "answerability: answered", "span selection", "rendering")
"""Where a wrong dev answer went wrong (`stage_of`), in request-path order."""


def document_texts() -> dict[str, str]:
    """Every sample document's text by id: trace spans are (doc_id, start, end) offsets into it."""
    from loopwright.corpus.documents import read_document
    from loopwright.samples.bank import DATA_DIR

    return {doc.id: doc.text for doc in map(read_document, sorted((DATA_DIR / "docs").glob("*.md")))}


def stage_of(g, trace, texts: dict[str, str]) -> str:
    """The first stage of the request path that failed a wrong answer: routing (triage sent it to a tool, or no
    reader ran), retrieval (no retrieved span states a fact), answerability (refused with a fact in the evidence,
    or answered a must-decline question), span selection (answered from spans that lack a fact the evidence
    holds) or rendering (a cited span states every fact the answer's sentence lost)."""
    from loopwright.observe.answers import states

    if trace is None or (trace.generation or {}).get("backend") != "reader":
        return "routing"
    if g.question.must_decline:
        return "answerability: answered"
    spans = [texts.get(s.doc_id, "")[s.start : s.end] for s in (trace.retrieval.spans if trace.retrieval else [])]
    if not all(any(states(t, forms) for t in spans) for forms in g.question.facts):
        return "retrieval"
    if g.response.refused:
        return "answerability: declined"
    cited = [c.text or "" for c in g.response.citations]
    if all(any(states(t, forms) for t in cited) for forms in g.question.facts):
        return "rendering"
    return "span selection"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="English questions only")
    parser.add_argument("--dev", action="store_true", help="only the dev set through the gateway, per threshold")
    parser.add_argument("--options", default="{}", help="with --dev: reader tier options (JSON) over bench_answers.py's")
    args = parser.parse_args()
    common.quiet_logs()
    started = time.perf_counter()
    machine = common.machine_info()
    if args.dev:
        with tempfile.TemporaryDirectory(prefix="bench-reader-dev-") as tmp:
            os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
            os.environ.pop("LOOPWRIGHT_REDIS_URL", None)
            template = Path(tmp) / "bank"
            common.bank_workspace(template).close()
            dev = dev_sweep(template, json.loads(args.options))
        path = common.write_result("reader-dev", {"machine": machine, "dev": dev}, started=started)
        report_dev(dev)
        print(f"\nwrote {path.relative_to(common.ROOT)}")
        return

    from loopwright.corpus.retrieval import Retriever
    from loopwright.policy.loader import policy_from_artifact
    from loopwright.registry.deployment import get_deployment
    from loopwright.release.judge import Observed, judge
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.samples.bank.questions import DECLINE, FAQ
    from loopwright.samples.bank.reading import register_sample_reader
    from loopwright.serving.backends import GenerationRequest, create_backend
    from loopwright.serving.backends.base import BackendContext
    from loopwright.serving.trace import Citation

    with tempfile.TemporaryDirectory(prefix="bench-reader-") as tmp:
        os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
        ws = common.bank_workspace(Path(tmp) / "bank", triage=False)
        result = register_sample_reader(ws)  # the install trained it: this is the cached copy, registered again
        model = result.artifact
        deployment = get_deployment(ws)
        rules = policy_from_artifact(ws, deployment.stable("policy")).retrieval
        retriever, commit = Retriever(ws), deployment.stable("corpus").digest
        backend = create_backend("reader", {"min_answerability": 0.0}, BackendContext(ws))
        rows: list[dict[str, Any]] = []
        read_ms = []
        for q in FAQ + DECLINE:
            if q.tool or (args.quick and q.language != "en"):
                continue
            for text in q.texts:
                found = retriever.search(text, commit=commit, tenant=q.tenant, rules=rules, k=5, as_of=REFERENCE_DATE)
                if found.decline or not found.spans:  # retrieval declines first: the reader is not asked
                    rows.append({"language": q.language, "decline": q.decline, "retrieval_declined": True})
                    continue
                evidence = [Citation.of(n, s) for n, s in enumerate(found.spans, 1)]
                request = GenerationRequest(question=text, messages=[], evidence=evidence, prompt=None,
                                            artifacts={"model:reader": model}, contexts=[s.context for s in found.spans])
                t0 = time.perf_counter()
                g = backend.generate(request)
                read_ms.append((time.perf_counter() - t0) * 1e3)
                cited = tuple(evidence[n - 1].doc_id for n in g.citations)
                verdict = judge({**q.expect(), "must_cite": list(q.cite)}, Observed(text=g.text, declined=False, cited=cited))
                rows.append({"language": q.language, "decline": q.decline, "retrieval_declined": False,
                             "answerability": g.info.get("answerability", 0.0), "passed": verdict.passed,
                             "one_sentence": g.text.count(". ") == 0, "words": len(g.text.split())})
        ws.close()

    by_language: dict[str, dict[str, Any]] = defaultdict(dict)
    for language in sorted({r["language"] for r in rows}):
        mine = [r for r in rows if r["language"] == language and not r["decline"] and not r["retrieval_declined"]]
        off = [r for r in rows if r["language"] == language and r["decline"] and not r["retrieval_declined"]]
        for t in THRESHOLDS:
            answered = [r for r in mine if r["answerability"] >= t]
            by_language[language][str(t)] = {
                "questions": len(mine),
                "answered_share": round(len(answered) / len(mine), 4) if mine else None,
                "accuracy_when_answered": round(sum(r["passed"] for r in answered) / len(answered), 4) if answered else None,
                "one_sentence_share": round(sum(r["one_sentence"] for r in answered) / len(answered), 4) if answered else None,
                "median_words": sorted(r["words"] for r in answered)[len(answered) // 2] if answered else None,
                "must_decline_questions": len(off),
                "must_decline_escalated_share": round(sum(r["answerability"] < t for r in off) / len(off), 4) if off else None,
            }
    held_out = result.metrics
    out = {
        "quick": args.quick,
        "machine": machine,
        "reader": {"artifact": model.ref, "digest": model.digest, "config": json.loads(
            (result.trained.folder / "reader.json").read_text("utf-8"))["config"]},
        "held_out": {k: held_out[k] for k in ("overall", "by_language", "sizes", "groups", "seconds", "loss")},
        "question_bank": by_language,
        "read_ms": common.percentiles(read_ms),
    }
    path = common.write_result("reader", out, started=started)
    report(out)
    print(f"\nwrote {path.relative_to(common.ROOT)}")


def report(result: dict[str, Any]) -> None:
    h = result["held_out"]
    rows = [[lang, s["n"], s["answerable"], s["exact_match"], s["f1"], s["answerability_auc"], s["ece_uncalibrated"], s["ece"]]
            for lang, s in [("all", h["overall"]), *sorted(h["by_language"].items())]]
    print_table(f"Held-out documents ({', '.join(h['groups']['test'])}); trained in {h['seconds']['total']} s",
                ["language", "pairs", "answerable", "exact match", "F1", "AUC", "ECE raw", "ECE"], rows)
    rows = [[lang, t, s["questions"], s["answered_share"], s["accuracy_when_answered"], s["one_sentence_share"],
             s["median_words"], s["must_decline_escalated_share"]]
            for lang, by_t in result["question_bank"].items() for t, s in by_t.items()]
    print_table("Question bank through live retrieval and the reader backend",
                ["language", "threshold", "questions", "answered", "accuracy", "one sentence", "median words", "declines escalated"], rows)
    print(f"  read latency ms: {result['read_ms']}")


def report_dev(dev: dict[str, Any]) -> None:
    rows = [[t, lang, s["questions"], s["accuracy"], s["answerable_accuracy"], s["first_sentence_rate"], s["median_words"],
             s["citation_precision"], s["decline_precision"], s["decline_recall"]]
            for t, by_lang in dev["by_threshold"].items() for lang, s in by_lang.items()]
    print_table(f"Dev set ({dev['set']}, {dev['questions']} questions) through the gateway, per min_answerability",
                ["threshold", "lang", "n", "accuracy", "answerable", "1st sentence", "median words", "citation prec.",
                 "decline prec.", "decline recall"], rows)
    print_table("Wrong dev answers at threshold 0 by the stage that failed", ["lang", *STAGES],
                [[lang, *[counts.get(k, 0) for k in STAGES]] for lang, counts in sorted(dev["wrong_by_stage"].items())])
    for qid, text in dev["wrong_at_0"].items():
        print(f"  wrong at 0: {qid}: {text}")


if __name__ == "__main__":
    main()
