"""Grounding check on generated text: mutations caught and faithful answers passed, per language and per kind.

    python bench/bench_grounding.py [--seed 7] [--show 0]

The answers are `bench/grounding_cases.py`: facts of the sample bank's
documents phrased by hand in English, Spanish and Vietnamese (see its
docstring for how they were written), each rendered faithfully in several
formats, and mutated with exactly one fact changed (a number, an amount, a
percentage, a date, a duration, a negation flipped, a product swapped). Each
answer cites real spans: the sample documents chunked by the corpus's own
chunker (`corpus/chunking.py`), the span that states the fact first and, for
table facts, sibling rows of the same table beside it (so a value moved to
the wrong row is tested). Spanish and Vietnamese answers cite the document in
their language where the sample has one, else the English one.

The check is the `grounding` validator exactly as the sample policy configures
it. Goals: catch >= 98% of mutations, block <= 2% of faithful answers. The
held-out templates (never used while tuning the checker) are reported apart.
Writes bench/results/grounding.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table, write_result  # noqa: E402
from grounding_cases import SPANS, cases  # noqa: E402

from loopwright.corpus.chunking import chunk_document  # noqa: E402
from loopwright.corpus.documents import parse_bytes  # noqa: E402
from loopwright.corpus.retrieval import Span  # noqa: E402
from loopwright.policy import validators as v  # noqa: E402
from loopwright.policy.loader import load_policy  # noqa: E402
from loopwright.policy.principal import Principal  # noqa: E402
from loopwright.samples.bank import DATA_DIR  # noqa: E402
from loopwright.samples.bank.install import CONFIG_DIR  # noqa: E402

COMMIT = "0" * 64
CUSTOMER = Principal("larkspur-retail", "customer", ("retail",), "cus_001")
GOAL_CATCH, GOAL_FALSE_BLOCK = 0.98, 0.02
SPLITS = ("tune", "seen", "heldout", "all")


def sample_spans(doc_id: str) -> list[Span]:
    """Every minimal span (sentence, list item, table row) of one sample document, as retrieval returns them."""
    doc = parse_bytes((DATA_DIR / "docs" / f"{doc_id}.md").read_bytes(), f"{doc_id}.md")
    out = []
    for chunk in chunk_document(doc):
        for s in chunk.spans:
            out.append(Span(doc_id=doc.id, title=doc.meta.title, commit=COMMIT, chunk_id=chunk.id, rank=1, start=s.start,
                            end=s.end, kind=s.kind, text=doc.text[s.start:s.end], context=chunk.context, score=1.0,
                            relevance=1.0))
    return out


def cited(fact: str, lang: str, cache: dict) -> list[Span]:
    doc_id, first, beside = SPANS[fact][lang]
    if doc_id not in cache:
        cache[doc_id] = sample_spans(doc_id)
    spans = cache[doc_id]

    def find(prefix: str) -> Span:
        hits = [s for s in spans if s.text.lstrip("- ").startswith(prefix)]
        if not hits:
            raise SystemExit(f"{fact}/{lang}: no span of {doc_id} starts with {prefix!r}")
        return hits[0]

    return [find(first), *(find(p) for p in beside)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=7, help="Seed for the mutated values.")
    ap.add_argument("--show", type=int, default=0, help="Print up to this many misses and false blocks.")
    args = ap.parse_args()
    started = time.perf_counter()
    policy = load_policy((CONFIG_DIR / "policy.toml").read_bytes())
    spec = v.get_validator("grounding")
    settings = spec.settings_in(policy)
    cache: dict = {}
    tally: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])  # key -> [flagged, n]
    misses, false_blocks, timings = [], [], []
    all_cases = cases(args.seed)
    for case in all_cases:
        spans = cited(case.fact, case.lang, cache)
        ctx = v.OutputContext(case.answer, spans, None, CUSTOMER, policy)
        t0 = time.perf_counter()
        verdict = spec.check(ctx, settings)
        timings.append((time.perf_counter() - t0) * 1e3)
        flagged = not verdict.passed
        group = "faithful" if case.faithful else "mutation"
        for key in [(case.split, group, "all", "all"), (case.split, group, case.lang, "all"),
                    (case.split, group, "all", case.mutation or "-"), ("all", group, "all", "all"),
                    ("all", group, case.lang, "all"), ("all", group, "all", case.mutation or "-")]:
            tally[key][0] += flagged
            tally[key][1] += 1
        if case.faithful and flagged:
            false_blocks.append((case, verdict.reason))
        if not case.faithful and not flagged:
            misses.append(case)

    def rate(split, group, lang="all", kind="all"):
        flagged, n = tally.get((split, group, lang, kind), (0, 0))
        return {"n": n, "flagged": flagged, "rate": round(flagged / n, 4) if n else None}

    results: dict = {"answers": len(all_cases), "goals": {"catch": GOAL_CATCH, "false_block": GOAL_FALSE_BLOCK}}
    for split in SPLITS:
        results[split] = {
            "mutations_caught": rate(split, "mutation"),
            "faithful_blocked": rate(split, "faithful"),
            "per_language": {lang: {"mutations_caught": rate(split, "mutation", lang),
                                    "faithful_blocked": rate(split, "faithful", lang)} for lang in ("en", "es", "vi")},
            "per_mutation": {kind: rate(split, "mutation", "all", kind)
                             for kind in ("number", "amount", "percent", "date", "duration", "negation", "product")},
        }
    timings.sort()
    results["check_ms"] = {"p50": round(timings[len(timings) // 2], 3), "p99": round(timings[int(len(timings) * 0.99)], 3)}
    results["misses"] = [{"split": c.split, "lang": c.lang, "mutation": c.mutation, "answer": c.answer} for c in misses]
    results["false_blocks"] = [{"split": c.split, "lang": c.lang, "answer": c.answer, "reason": r} for c, r in false_blocks]
    for split in SPLITS:
        r = results[split]
        rows = [[lang, r["per_language"][lang]["mutations_caught"]["n"], r["per_language"][lang]["mutations_caught"]["rate"],
                 r["per_language"][lang]["faithful_blocked"]["n"], r["per_language"][lang]["faithful_blocked"]["rate"]]
                for lang in ("en", "es", "vi")]
        rows.append(["all", r["mutations_caught"]["n"], r["mutations_caught"]["rate"], r["faithful_blocked"]["n"],
                     r["faithful_blocked"]["rate"]])
        print_table(f"{split}: per language", ["lang", "mutations", "caught", "faithful", "blocked"], rows)
        print_table(f"{split}: per mutation", ["kind", "n", "caught"],
                    [[k, x["n"], x["rate"]] for k, x in r["per_mutation"].items()])
    print(f"\ncheck time per answer: p50 {results['check_ms']['p50']} ms, p99 {results['check_ms']['p99']} ms")
    for c in misses[: args.show]:
        print("MISS", c.split, c.lang, c.mutation, c.answer)
    for c, reason in false_blocks[: args.show]:
        print("FALSE BLOCK", c.split, c.lang, c.answer, "--", reason)
    write_result("grounding", results, started=started)


if __name__ == "__main__":
    main()
