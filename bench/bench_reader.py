"""Reader benchmark: the small tier's reader, trained here, on held-out documents and on the question bank.

    python bench/bench_reader.py            # trains the sample reader (or takes it from the cache), then reads
    python bench/bench_reader.py --quick    # the question bank's English questions only

Two sets of figures:

- held out: exact match, token F1, answerability AUC and ECE per language on the
  reading examples of documents the reader never saw (the trainer's test split,
  from the artifact's metrics.json), and how long training took;
- the question bank (`samples.bank.questions`: FAQ and decline lists, the text the
  simulator and the demo ask): each question with the evidence live retrieval gives
  it (corpus fix live), read by the `reader` backend; per language and threshold,
  the share it answers, and of those the share that states every fact, cites a
  document the question names, and is one sentence. These questions were also
  trained on where their documents fell in the training split: they say how the
  reader behaves on the demo's traffic, not how it generalises (held out says that).

Writes bench/results/reader.json and prints the tables.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="English questions only")
    args = parser.parse_args()
    common.quiet_logs()
    started = time.perf_counter()
    machine = common.machine_info()

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


if __name__ == "__main__":
    main()
