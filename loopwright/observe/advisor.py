"""The lever advisor: what the traces say is wrong, and which lever fits it, cheapest stage first.

The seed's rule, in code: start with inference, escalate to self-learning,
schedule training only for a foundational shift. Each check below segments the
served traffic one way and recommends one lever, with its evidence, the effect
to expect and the command to run:

    evidence is stale or uncertified in one document  -> corpus   (inference: a corpus commit)
    cost high, the confident calls answered well      -> router   (confident FAQ intents to the small tier)
    repeats the cache does not catch                   -> cache    (turn it on, normalise the key)
    defects concentrated in one intent, one term        -> adapter  (self-learning: curate, review, adapt)
    one language lagging across most intents            -> training (a multilingual training cycle)

Feedback completes what a trace's outcome cannot say: a call an agent labelled
counts under the agent's intent, a defect where triage said another (a
misroute, so errors are segmented by what the customer asked), and a call
that reached a stale page lost its answer unless its feedback approved what it
got. A stale page most of whose calls were approved is still reported, as
housekeeping: it costs no answer today, so it ranks after every finding that
costs answers or money.

A concentration is a one-sided Fisher exact test of the segment's defect rate
against the rest of the traffic, at the policy's `alpha` divided by the
number of segments tested (Bonferroni), with at least `min_samples` calls in
the segment. A lagging language explains the intents it lags in: an intent
is an adapter finding only if it stays significant without the lagging languages.
Thresholds live in the policy's `[advisor]` section.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from scipy.stats import fisher_exact

from loopwright.corpus import commits
from loopwright.digests import sha256_hex
from loopwright.learning.feedback import Feedback, stored_feedback
from loopwright.policy.loader import deployed_policy
from loopwright.registry.deployment import get_deployment
from loopwright.registry.payloads import AdvisedLever, AdvisedWindow, AdvisorCall
from loopwright.registry.receipts import Receipt, append_receipt
from loopwright.serving.cache import normalise
from loopwright.serving.trace_store import load_traces

if TYPE_CHECKING:
    from loopwright.policy.schema import AdvisorRules
    from loopwright.serving.trace import Trace
    from loopwright.workspace import Workspace

STAGES = ("inference", "self-learning", "training")


@dataclass(frozen=True)
class Finding:
    """One thing the traffic shows, and the lever that fits it."""

    lever: str  # corpus, router, cache, adapter, training
    stage: str  # inference, self-learning, training
    title: str
    evidence: dict[str, Any]
    expected: str
    command: str
    pressing: bool = True  # False: housekeeping that costs no answer today; it ranks after every pressing finding

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Advice:
    """The findings, cheapest stage first, and what they were read from."""

    calls: int
    defect_rate: float
    findings: list[Finding] = field(default_factory=list)
    first: str | None = None  # the earliest and latest call read (ISO-8601 UTC)
    last: str | None = None

    @property
    def lever(self) -> str | None:
        """The one lever to pull first, if any."""
        return self.findings[0].lever if self.findings else None

    def to_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "defect_rate": self.defect_rate, "first": self.first, "last": self.last,
                "lever": self.lever, "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class Said:
    """What feedback said about one call, its latest word on each: a verdict (+1, -1) and an intent correction."""

    verdict: int | None = None
    correction: str | None = None


def feedback_on(ws: Workspace, ids: Iterable[str]) -> dict[str, Said]:
    """What the stored feedback says about each of the calls `ids` that has any, under the live policy's rubric."""
    policy, out = deployed_policy(ws), {}
    with ws.session() as s:
        for trace_id, given in stored_feedback(s, ids).items():
            verdicts = [v for f in given if (v := Feedback.model_construct(thumbs=f.thumbs, score=f.score, rubric=f.rubric)
                                             .verdict(policy)) is not None]
            corrections = [f.correction for f in given if f.correction]
            out[trace_id] = Said(verdicts[-1] if verdicts else None, corrections[-1] if corrections else None)
    return out


def _as_labelled(t: Trace, said: Said | None) -> Trace:
    """`t` under an agent's intent label: that intent, and a defect where triage had said another (a misroute)."""
    if not (said and said.correction and t.triage) or said.correction == t.triage.intent:
        return t
    return t.model_copy(update={"outcome": "defect", "triage": t.triage.model_copy(update={"intent": said.correction})})


def is_defect(t: Trace) -> bool:
    """A defect by feedback, a receipt or a failed output validator (the canary analysis' definition)."""
    return t.outcome == "defect" or any(not v.passed for v in t.validators)


def _excess(bad_in: int, n_in: int, bad_out: int, n_out: int) -> float:
    """One-sided p-value that the segment's defect rate is higher than the rest's."""
    if n_in == 0 or n_out == 0:
        return 1.0
    return float(fisher_exact([[bad_in, n_in - bad_in], [bad_out, n_out - bad_out]], alternative="greater")[1])


def _rate(bad: int, n: int) -> float:
    return round(bad / n, 4) if n else 0.0


def _words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return {w for w in re.findall(r"[^\W\d_]{3,}", folded) if not w.startswith("<")}


def shared_term(bad: Sequence[str], good: Sequence[str]) -> tuple[str, int] | None:
    """The word most over-represented in `bad` texts against `good` ones (smoothed log-odds), with its count."""
    bad_counts = Counter(w for text in bad for w in _words(text))
    good_counts = Counter(w for text in good for w in _words(text))
    scored = [
        (math.log((c + 0.5) / (len(bad) + 1)) - math.log((good_counts[w] + 0.5) / (len(good) + 1)), c, w)
        for w, c in bad_counts.items() if c >= max(3, len(bad) // 4)
    ]
    if not scored:
        return None
    _, count, word = max(scored)
    return word, count


def page(doc_id: str) -> str:
    """A document's page, whatever its version: its id with every number blanked (`flexpay-1-0` and `flexpay-2-0`
    are one page; `flexpay-2-0-agent-notes` is another)."""
    return re.sub(r"\d+", "#", doc_id)


def versions_of(doc: str, ids: Sequence[str]) -> list[str]:
    """The ids among `ids` that are another version of `doc`'s page, or that version's translation (`-es`)."""
    own = page(doc)
    return sorted(d for d in ids if d != doc and re.fullmatch(re.escape(own) + r"(-[a-z]{2})?", page(d)))


def _fix_for(doc: str, waiting: Sequence[str]) -> tuple[str, str]:
    """(what to say, the command): certify the newer versions of the stale page `waiting` uncertified, else write one."""
    if waiting:
        certify = " && ".join(f"loopwright corpus certify {d}" for d in waiting)
        return (f"{', '.join(waiting)} {'waits' if len(waiting) == 1 else 'wait'} for certification",
                f"{certify} && loopwright corpus commit -m 'certify {', '.join(waiting)}'")
    return ("no newer version is in the corpus",
            f"loopwright corpus add NEW_VERSION_OF_{doc}.md && loopwright corpus commit -m 'refresh {doc}'")


def _stale_documents(traces: Sequence[Trace], rules: AdvisorRules, drafts: Sequence[str],
                     current: Sequence[str], said: Mapping[str, Said]) -> list[Finding]:
    hits: Counter[str] = Counter()
    lost: Counter[str] = Counter()  # calls whose feedback did not approve what the stale page left them
    for t in traces:
        for doc in set(t.retrieval.stale if t.retrieval else ()):
            hits[doc] += 1
            lost[doc] += getattr(said.get(t.id), "verdict", None) != 1
    declined = sum(1 for t in traces if t.outcome == "declined")
    findings = []
    for doc, n in hits.most_common():
        # A stale page is a fact, not a statistical finding: every call it reached lost its answer, so the bar is a
        # handful of calls (the demo's 300 baseline calls hold ~15 FlexPay ones), not the tests' sample size.
        # A retired page whose newer version is certified and live is declined on purpose (a question about
        # FlexPay 1.0 itself): nothing for the corpus to fix.
        superseded = doc not in current and any(v != doc and page(v) == page(doc) for v in current)
        if n < rules.min_defects or superseded:
            continue
        waiting = versions_of(doc, drafts)
        fix, command = _fix_for(doc, waiting)
        # Pressing when most calls it reached lost their answer. A page whose calls were mostly judged right is
        # declining the questions it should (the sample's 2025 Rewards Checking rates: 58 of 67 approved in a demo
        # run); the few lost are retrieval reaching it for another question, which no refresh of the page fixes.
        pressing = lost[doc] * 2 > n
        findings.append(Finding(
            "corpus", "inference", f"evidence in {doc} is stale or uncertified; {fix}"
            + ("" if pressing else f" ({n - lost[doc]} of the {n} calls it reached were judged answered right: housekeeping)"),
            {"document": doc, "calls": n, "lost_calls": lost[doc], "share_of_traffic": _rate(n, len(traces)),
             "declined_calls": declined, "waiting_for_certification": waiting},
            f"up to {n} calls answered from fresh evidence instead of declined", command, pressing))
    return findings


def _cited_documents(traces: Sequence[Trace], rules: AdvisorRules) -> list[Finding]:
    by_doc: dict[str, list[Trace]] = defaultdict(list)
    for t in traces:
        for doc in {c.doc_id for c in t.citations}:
            by_doc[doc].append(t)
    total_bad, total = sum(map(is_defect, traces)), len(traces)
    alpha = rules.alpha / max(len(by_doc), 1)
    out = []
    for doc, own in sorted(by_doc.items()):
        bad, n = sum(map(is_defect, own)), len(own)
        if n < rules.min_samples or _excess(bad, n, total_bad - bad, total - n) >= alpha:
            continue
        # A wrong page misleads every question that reads it; defects from one intent alone are that intent's.
        top = Counter(t.intent for t in own if is_defect(t)).most_common(1)[0][0]
        others = [t for t in own if t.intent != top]
        reading = {t.id for t in others}
        rest = [t for t in traces if t.intent != top and t.id not in reading]
        if _excess(sum(map(is_defect, others)), len(others), sum(map(is_defect, rest)), len(rest)) < alpha:
            out.append(Finding("corpus", "inference", f"answers citing {doc} are defects more often",
                               {"document": doc, "calls": n, "defect_rate": _rate(bad, n),
                                "rest_defect_rate": _rate(total_bad - bad, total - n)},
                               f"defect rate on {doc} down toward {_rate(total_bad - bad, total - n):.1%}",
                               f"loopwright corpus add FIXED_{doc}.md && loopwright corpus commit -m 'fix {doc}'"))
    return out


def _lagging_language(traces: Sequence[Trace], rules: AdvisorRules) -> Finding | None:
    by_language: dict[str, list[Trace]] = defaultdict(list)
    for t in traces:
        if t.language:
            by_language[t.language].append(t)
    if len(by_language) < 2:
        return None
    alpha = rules.alpha / len(by_language)
    worst = None
    for language, own in by_language.items():
        rest = [t for t in traces if t.language and t.language != language]
        bad, other_bad = sum(map(is_defect, own)), sum(map(is_defect, rest))
        p = _excess(bad, len(own), other_bad, len(rest))
        if len(own) < rules.min_samples or p >= alpha:
            continue
        lagging, compared = _intents_lagging(own, rest)
        if compared and lagging / compared >= rules.language_share and (worst is None or p < worst[1]):
            worst = (language, p, _rate(bad, len(own)), _rate(other_bad, len(rest)), lagging, compared)
    if worst is None:
        return None
    language, p, rate, other, lagging, compared = worst
    return Finding("training", "training", f"{language} lags across {lagging} of {compared} intents",
                   {"language": language, "defect_rate": rate, "other_languages_defect_rate": other,
                    "intents_lagging": lagging, "intents_compared": compared, "p_value": p},
                   f"{language} defect rate toward {other:.1%}, on every intent at once (no one adapter fixes it)",
                   "loopwright data prepare RECIPE && loopwright train RECIPE && loopwright eval MODEL && "
                   "loopwright promote MODEL")


def _lagging_languages(traces: Sequence[Trace], rules: AdvisorRules) -> list[Finding]:
    """Every language lagging across most intents, worst first: each next one judged against the languages not
    found lagging yet, so Spanish is measured against English, not against Vietnamese's errors too."""
    found: list[Finding] = []
    while finding := _lagging_language([t for t in traces if t.language not in {f.evidence["language"] for f in found}], rules):
        found.append(finding)
    return found


def _intents_lagging(own: Sequence[Trace], rest: Sequence[Trace], min_per_intent: int = 5) -> tuple[int, int]:
    """(intents where `own` has the higher defect rate, intents with enough calls on both sides to compare)."""
    mine, theirs = defaultdict(list), defaultdict(list)
    for t in own:
        mine[t.intent].append(is_defect(t))
    for t in rest:
        theirs[t.intent].append(is_defect(t))
    compared = [i for i in mine if len(mine[i]) >= min_per_intent and len(theirs.get(i, ())) >= min_per_intent]
    lagging = sum(1 for i in compared if sum(mine[i]) / len(mine[i]) > sum(theirs[i]) / len(theirs[i]))
    return lagging, len(compared)


def _intent_defects(traces: Sequence[Trace], rules: AdvisorRules, explained: set[str],
                    triaged_as: Mapping[str, str]) -> list[Finding]:
    pool = [t for t in traces if t.intent and t.language not in explained]
    by_intent: dict[str, list[Trace]] = defaultdict(list)
    for t in pool:
        by_intent[t.intent].append(t)
    total_bad = sum(map(is_defect, pool))
    alpha = rules.alpha / max(len(by_intent), 1)
    out = []
    for intent, own in sorted(by_intent.items()):
        bad = [t for t in own if is_defect(t)]
        p = _excess(len(bad), len(own), total_bad - len(bad), len(pool) - len(own))
        if len(own) < rules.min_samples or len(bad) < rules.min_defects or p >= alpha:
            continue
        term = shared_term([t.input or "" for t in bad], [t.input or "" for t in pool if not is_defect(t)])
        misrouted = Counter(triaged_as[t.id] for t in bad if t.id in triaged_as)
        out.append((p, Finding(
            "adapter", "self-learning", f"defects concentrated in {intent}" + (f" around '{term[0]}'" if term else ""),
            {"intent": intent, "calls": len(own), "defects": len(bad), "defect_rate": _rate(len(bad), len(own)),
             "rest_defect_rate": _rate(total_bad - len(bad), len(pool) - len(own)), "p_value": p,
             "shared_term": term[0] if term else None, "term_count": term[1] if term else 0,
             "misrouted_to": dict(misrouted.most_common())},
            f"{intent} defect rate at least halved, other intents unchanged (forgetting checked by the golden gate)",
            "loopwright learn curate --target triage && loopwright learn review DATASET && "
            "loopwright learn adapter --target triage DATASET")))
    return [f for _, f in sorted(out, key=lambda pf: pf[0])]  # the strongest concentration first


_HANDED_UP = ("generation.escalate", "output.escalate")
"""Policies a trace records when its first tier gave the call to the default tier (`serving.pipeline`)."""


def _economics(traces: Sequence[Trace], rules: AdvisorRules) -> list[Finding]:
    defect_rate = sum(map(is_defect, traces)) / len(traces)
    out = []
    large = [t for t in traces if t.tier == rules.large_tier]
    # A call the small tier itself handed up (the reader found no span answerable enough, or its answer failed a
    # validator) has already been tried there: routing it small again would not save its cost.
    movable = [t for t in large if t.triage and (t.triage.confidence or 0.0) >= rules.confident and not t.tools
               and not any(p.name in _HANDED_UP for p in t.policies)]
    # Quality first, judged on the calls that would move: a cheaper route must not take answers that are already
    # wrong, but a problem elsewhere (one language lagging) is its own finding, not a reason to overpay here.
    movable_defects = sum(map(is_defect, movable)) / len(movable) if movable else 1.0
    if (len(large) >= rules.min_samples and len(movable) / len(traces) >= rules.movable_share
            and movable_defects <= rules.max_defect_rate):
        intents = Counter(t.intent for t in movable).most_common(5)
        out.append(Finding("router", "inference", f"{len(movable) / len(traces):.0%} of calls are confident and sent to the large tier",
                           {"calls": len(traces), "large_tier_calls": len(large), "confident_on_large": len(movable),
                            "defect_rate": round(defect_rate, 4), "moved_calls_defect_rate": round(movable_defects, 4), "top_intents": [i for i, _ in intents]},
                           "those calls at the small tier's price, quality held by the golden gate and the canary",
                           "edit router.toml ([routing] small_intents, min_confidence) && loopwright registry add router ... "
                           "&& loopwright release start router ROUTER_REF"))
    # A repeat is what a normalising cache could serve: the same question after `cache.normalise` (casing, spacing,
    # number format), not the same words with another amount or date in them.
    seen: set[str] = set()
    repeats = 0
    for t in traces:
        key = normalise(t.input or "")
        repeats += key in seen
        seen.add(key)
    hits = sum(1 for t in traces if t.cache.hit)
    if len(traces) >= rules.min_samples and (repeats - hits) / len(traces) >= rules.cache_gap:
        out.append(Finding("cache", "inference", f"{repeats / len(traces):.0%} of calls repeat an earlier question, "
                           f"{hits / len(traces):.0%} hit the cache",
                           {"calls": len(traces), "repeats": repeats, "cache_hits": hits},
                           f"cache hit rate toward {repeats / len(traces):.0%}",
                           "edit router.toml ([cache] enabled = true, normalise = true) && loopwright release start router ROUTER_REF"))
    return out


def advise_traces(traces: Iterable[Trace], rules: AdvisorRules, drafts: Sequence[str] = (),
                  current: Sequence[str] = (), said: Mapping[str, Said] | None = None) -> Advice:
    """The findings for `traces` (served calls only count), pressing ones first, then cheapest stage first.
    `drafts` and `current`: ids of the live corpus' documents in force, uncertified and certified
    (`corpus_versions`): a stale page's fix may be a draft to certify, and a page superseded by a certified one
    needs none. `said`: the feedback on the calls (`feedback_on`), by trace id."""
    said = said or {}
    served, triaged_as = [], {}  # triaged_as: the intent triage gave each call an agent relabelled
    for t in traces:
        if t.purpose == "serve" and t.outcome != "error":
            served.append(labelled := _as_labelled(t, said.get(t.id)))
            if labelled is not t:
                triaged_as[t.id] = t.intent
    if not served:
        return Advice(0, 0.0, [])
    languages = _lagging_languages(served, rules)
    findings = [*_stale_documents(served, rules, drafts, current, said), *_cited_documents(served, rules),
                *_economics(served, rules),
                *_intent_defects(served, rules, {f.evidence["language"] for f in languages}, triaged_as), *languages]
    findings.sort(key=lambda f: (not f.pressing, STAGES.index(f.stage)))
    times = sorted(t.ts for t in served)
    return Advice(len(served), round(sum(map(is_defect, served)) / len(served), 4), findings, times[0], times[-1])


def corpus_versions(ws: Workspace) -> tuple[list[str], list[str]]:
    """Ids of the stable corpus commit's documents in force (not retired): (uncertified, certified)."""
    live = get_deployment(ws).stable("corpus")
    if live is None:
        return [], []
    docs = [e.meta for e in commits.commit_of(ws, live).documents.values() if e.meta.retired_date is None]
    return sorted(d.id for d in docs if not d.certified), sorted(d.id for d in docs if d.certified)


def advise(ws: Workspace, *, since: str | None = None, until: str | None = None, ids: Sequence[str] | None = None) -> Advice:
    """The findings over the stored traces between `since` and `until` (or those `ids`), under the live policy's
    `[advisor]` and the live corpus."""
    traces = list(load_traces(ws, since=since, until=until, ids=ids))
    return advise_traces(traces, deployed_policy(ws).advisor, *corpus_versions(ws), feedback_on(ws, [t.id for t in traces]))


def record_call(ws: Workspace, advice: Advice, ids: Iterable[str], *, asked_by: str, planned: Sequence[str] = ()) -> Receipt:
    """Record `advice`, read from the calls `ids`, as the call a change was decided on (an `advisor.call` receipt):
    `planned` are the levers the asker meant to pull, so the receipt says whether it followed the advisor."""
    top = advice.findings[0] if advice.findings else None
    payload = AdvisorCall(
        before=AdvisedWindow(calls=advice.calls, first=advice.first, last=advice.last,
                             ids_digest=sha256_hex("\n".join(sorted(ids)))),
        after=AdvisedLever(lever=advice.lever, stage=top and top.stage, title=top and top.title, command=top and top.command,
                           asked_by=asked_by, planned=list(planned), followed=advice.lever in planned if planned else None),
        details=advice.to_dict())
    with ws.write() as s:
        return append_receipt(s, ws, payload, subject="advisor")
