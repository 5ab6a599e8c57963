"""Answer-quality benchmark: the held-out question set through the real gateway, once per tier.

    python bench/bench_answers.py                          # every tier in TIERS (about 2 minutes on 2 cores)
    python bench/bench_answers.py --tiers small            # only the tiers named
    python bench/bench_answers.py --quick                  # 10 questions per language

The questions are `tests/data/heldout_qa.jsonl` (written from the bank's documents
only; never trained or tuned on). The workspace is the sample bank as the demo
has it after the fix (`common.bank_workspace`: triage fitted and deployed,
FlexPay 2.0 and its -es/-vi versions certified, committed, deployed). For each
tier under test, a fresh copy of it gets a router artifact whose routing sends
every question to that one tier (`default_tier` and `small_tier` both name it,
cache off), and a new in-process `Gateway` answers every question once as its
tenant asks it (a retail customer, or an agent for the staff rows), with
`purpose="golden"` so tools are validated but never run. Each answer is graded
from its trace by `loopwright.observe.answers` (see its docstring for what every
figure means and how facts are matched).

A tier is one `TierUnderTest` entry in `TIERS`: its router table (backend, price,
options) and, where its backend needs one, a `prepare` step that trains and
deploys what it reads. Writes bench/results/answers.json and answers.md (the
per-language x per-tier table) and prints the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402

HELDOUT = common.ROOT / "tests" / "data" / "heldout_qa.jsonl"
MODEL = "larkspur-assistant"
RETAIL_SUBJECT = "cus_001"  # a signed-in customer: the questions about "my card" are theirs
QUICK_PER_LANGUAGE = 10
WARM_UP = "hello, is anyone there?"  # not a held-out question: it only loads the models
# The goals (English) and the columns of the table.
GOALS = {"accuracy": 0.95, "first_sentence_rate": 0.90, "median_words": 40}
COLUMNS = [("accuracy", "accuracy"), ("answerable_accuracy", "answerable"), ("first_sentence_rate", "1st sentence"),
           ("median_words", "median words"), ("citation_precision", "citation prec."), ("decline_precision", "decline prec."),
           ("decline_recall", "decline recall"), ("p50", "p50 ms"), ("p95", "p95 ms"), ("cost_per_accepted_usd", "$/accepted")]


@dataclass(frozen=True)
class TierUnderTest:
    """One contender: the router tier that answers every question, and what its backend needs first."""

    label: str
    tier: dict[str, Any]  # the [tiers.<label>] table: backend, price, options
    prepare: Callable[[Any], None] | None = None  # given the workspace copy: train and deploy what the backend reads


def shipped_tier(name: str) -> dict[str, Any]:
    """A tier table as the sample's `router.toml` ships it."""
    from loopwright.samples.bank.install import CONFIG_DIR

    return tomllib.loads((CONFIG_DIR / "router.toml").read_text(encoding="utf-8"))["tiers"][name]


TIERS = [
    TierUnderTest("small", shipped_tier("small")),  # extractive, 3 evidence spans
    TierUnderTest("large", shipped_tier("large")),  # extractive, 4 evidence spans, multi-part search
    # the trained reader (model:reader, installed by common.bank_workspace); its threshold is the one the dev set
    # chose (`python bench/bench_reader.py --dev`: English accuracy 0.765 at 0.1 and 0.15, 0.691 at 0.2, 0.500 at
    # 0.4), never one picked on the held-out set; it reads every span of its 5 chunks (dev EN 0.731 -> 0.821),
    # where the sample's economics router, held back by its golden gate, reads one per chunk (bench/README.md)
    TierUnderTest("reader", {"backend": "reader", "price": "small",
                             "options": {"min_answerability": 0.15, "min_support": 0.2, "max_spans": 3,
                                         "spans_per_chunk": 8, "max_evidence": 20}}),
]


def forced_router(contender: TierUnderTest) -> str:
    """The shipped router with one tier, which every question is routed to; cache off."""
    name = contender.label
    return common.router_toml("router.toml", **{"tiers": {name: contender.tier}, "routing.default_tier": name,
                                                "routing.small_tier": name, "routing.fallback_tier": name, "routing.small_intents": [], "cache.enabled": False})


_runs = iter(range(1, 1000))


def run_tier(template: Path, contender: TierUnderTest, questions: list,
             on_trace: Callable[[Any, Any], None] | None = None) -> tuple[list, dict[str, Any]]:
    """On a fresh copy of the template, serve every question through the forced router; their grades and run facts.
    `on_trace(question, trace or None)` sees each question's trace (None when the gateway raised)."""
    grades, facts = run_router(template, contender.label, forced_router(contender), questions, prepare=contender.prepare,
                               on_trace=on_trace)
    return grades, {**facts, "tier": contender.tier}


def run_router(template: Path, label: str, router_text: str, questions: list, *,
               prepare: Callable[[Any], None] | None = None,
               on_trace: Callable[[Any, Any], None] | None = None) -> tuple[list, dict[str, Any]]:
    """On a fresh copy of the template (after `prepare`, given the copy), deploy `router_text` and serve every
    question through it; their grades (labelled `label`) and run facts. bench_router.py serves whole routers here."""
    from loopwright.embedding import QUERY_CACHE
    from loopwright.errors import LoopwrightError
    from loopwright.observe.answers import Response, grade
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.serving.pipeline import ChatRequest, Gateway

    # its own prefix: bench_router.py serves the held-out set here beside its own run-N copies
    ws = common.workspace_copy(template, template.parent / f"answers-{next(_runs)}")
    grades, errors, tiers = [], [], {}
    try:
        if prepare:
            prepare(ws)
        artifact = common.deploy_router(ws, router_text, reason=f"bench: answers on {label}")
        gateway = Gateway(ws, as_of=REFERENCE_DATE, watch=False)
        # Load the models before the clock starts, then forget every embedded query, so no tier's
        # latency gains from questions an earlier tier embedded.
        gateway.complete(ChatRequest(model=MODEL, messages=[{"role": "user", "content": WARM_UP}]),
                         gateway.principal_for("larkspur-retail", "customer", RETAIL_SUBJECT, key_id="bench"), purpose="golden")
        QUERY_CACHE.clear()
        t0 = time.perf_counter()
        try:
            for q in questions:
                staff = q.tenant.endswith("staff")
                principal = gateway.principal_for(q.tenant, "agent" if staff else "customer",
                                                  None if staff else RETAIL_SUBJECT, key_id="bench")
                try:
                    completion = gateway.complete(ChatRequest(model=MODEL, messages=[{"role": "user", "content": q.question}]),
                                                  principal, purpose="golden")
                    response, trace = Response.from_trace(completion.trace), completion.trace
                except LoopwrightError as exc:  # counted and graded as an empty answer: the run goes on
                    errors.append(f"{q.id}: {exc.one_line()}")
                    response, trace = Response(""), None
                if on_trace:
                    on_trace(q, trace)
                tiers[response.tier or "none"] = tiers.get(response.tier or "none", 0) + 1
                grades.append(grade(q, response, label=label))
        finally:
            gateway.close()
        seconds = time.perf_counter() - t0
    finally:
        ws.close()
    return grades, {"router": artifact.ref, "seconds": round(seconds, 1), "answered_by": tiers, "errors": errors}


def select(questions: list, quick: bool) -> list:
    """All questions, or with `quick` the first few answerable ones and two declines per language."""
    if not quick:
        return questions
    picked = []
    for lang in ("en", "es", "vi"):
        mine = [q for q in questions if q.language == lang]
        picked += [q for q in mine if not q.must_decline][: QUICK_PER_LANGUAGE - 2] + [q for q in mine if q.must_decline][:2]
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", default=",".join(t.label for t in TIERS),
                        help=f"comma-separated tiers to measure, of: {', '.join(t.label for t in TIERS)}")
    parser.add_argument("--quick", action="store_true", help=f"smoke-sized: {QUICK_PER_LANGUAGE} questions per language")
    parser.add_argument("--questions", type=Path, default=HELDOUT, help="the held-out set (JSON lines)")
    args = parser.parse_args()
    known = {t.label: t for t in TIERS}
    wanted = [name.strip() for name in args.tiers.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        parser.error(f"--tiers: unknown tier(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}")
    common.quiet_logs()
    started = time.perf_counter()
    machine = common.machine_info()

    from loopwright.errors import LoopwrightError
    from loopwright.observe.answers import load_questions, summarise, summarise_by

    try:
        questions = select(load_questions(args.questions), args.quick)
    except LoopwrightError as exc:
        parser.error(exc.one_line())
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as tmp:
        os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
        os.environ.pop("LOOPWRIGHT_REDIS_URL", None)
        t0 = time.perf_counter()
        template = Path(tmp) / "bank"
        common.bank_workspace(template).close()
        setup_s = time.perf_counter() - t0
        for name in wanted:
            grades, facts = run_tier(template, known[name], questions)
            results[name] = {
                **facts,
                "overall": summarise(grades),
                "by_language": summarise_by(grades, lambda g: g.question.language),
                "accuracy_by_kind": {k: v["accuracy"] for k, v in summarise_by(grades, lambda g: g.question.kind).items()},
                # what each wrong answer began with, to read next to the question in the held-out file
                "wrong": {g.question.id: ("(refused) " if g.response.refused else "") + g.response.text[:160] for g in grades if not g.correct},
            }
            print(f"  {name}: accuracy {results[name]['overall']['accuracy']:.3f} on {len(grades)} questions "
                  f"in {facts['seconds']} s", file=sys.stderr)
    counts = {lang: sum(q.language == lang for q in questions) for lang in ("en", "es", "vi")}
    result = {
        "quick": args.quick,
        "machine": machine,
        "config": {"questions": len(questions), "per_language": counts, "set": str(args.questions.relative_to(common.ROOT))
                   if args.questions.is_relative_to(common.ROOT) else str(args.questions),
                   "corpus": "fixed: " + ", ".join(common.FIXED_DOCS) + " certified", "setup_s": round(setup_s, 1)},
        "tiers": results,
        "targets_met": {f"{name} en: {key} {'<=' if key == 'median_words' else '>='} {goal}": _met(r["by_language"].get("en", {}), key, goal)
                        for name, r in results.items() for key, goal in GOALS.items()},
    }
    result["markdown"] = markdown(result)
    path = common.write_result("answers", result, started=started)
    (common.RESULTS / "answers.md").write_text(result["markdown"] + "\n", encoding="utf-8")
    report(result)
    print(f"\nwrote {path.relative_to(common.ROOT)} and bench/results/answers.md")


def _met(summary: dict[str, Any], key: str, goal: float) -> bool:
    value = summary.get(key)
    return value is not None and (value <= goal if key == "median_words" else value >= goal)


def _rows(result: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, r in result["tiers"].items():
        for lang, s in [*r["by_language"].items(), ("all", r["overall"])]:
            figures = {**s, **s.get("latency_ms", {})}
            cost = figures.get("cost_per_accepted_usd")
            figures["cost_per_accepted_usd"] = None if cost is None else f"{cost:.2e}"
            rows.append([name, lang, s["questions"], *[figures.get(key) for key, _ in COLUMNS]])
    return rows


def markdown(result: dict[str, Any]) -> str:
    """The per-language x per-tier table as Markdown (what answers.md holds)."""
    from report import table

    cfg = result["config"]
    head = (f"Held-out answers ({cfg['set']}: {cfg['questions']} questions, "
            + ", ".join(f"{n} {lang}" for lang, n in cfg["per_language"].items()) + f"), corpus {cfg['corpus']}.")
    return head + "\n\n" + table(["tier", "language", "n", *[title for _, title in COLUMNS]], _rows(result))


def report(result: dict[str, Any]) -> None:
    cfg = result["config"]
    print_table(f"Held-out answers: {cfg['questions']} questions through the gateway, one tier at a time",
                ["tier", "lang", "n", *[title for _, title in COLUMNS]], _rows(result))
    for name, r in result["tiers"].items():
        print(f"  {name}: accuracy by kind " + ", ".join(f"{k} {v:.2f}" for k, v in r["accuracy_by_kind"].items())
              + (f"; {len(r['errors'])} errors" if r["errors"] else ""))
    print("  targets: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in result["targets_met"].items()))


if __name__ == "__main__":
    main()
