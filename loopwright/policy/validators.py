"""Output validators: checks on an answer before it leaves, each returning a `Verdict`.

Built-ins (`grounding`, `citations`, `pii_leak`, `sensitivity_ceiling`) register
through `@output_validator`, the same extension point a user's own validator
uses; a package can also expose validators under the `loopwright.validators`
entry-point group. The policy's `[validators.NAME]` tables say which run, in
what order, and what a failure does (`on_fail`); each validator's settings
model checks the rest of its table.

    verdicts = run_output_validators(OutputContext(answer, citations, retrieval, principal, policy, ...))
    action = decide(verdicts)   # allow | summarize | escalate | decline
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from loopwright.corpus.documents import SENSITIVITY_LEVELS
from loopwright.errors import NotFound
from loopwright.plugins import load_plugins
from loopwright.policy.claims import KINDS, ClaimKind, Lexicon, sentence_claims, span_units, support
from loopwright.policy.principal import Principal
from loopwright.policy.schema import PolicySet
from loopwright.policy.verdicts import Verdict, failed, passed


class SpanLike(Protocol):
    """What a citation carries (`loopwright.corpus.retrieval.Span` has these and more)."""

    doc_id: str
    commit: str
    start: int
    end: int
    text: str


class DocLike(Protocol):
    """What the ceiling and visibility checks read about a document (`corpus.documents.Document`)."""

    sensitivity: str
    audience: tuple[str, ...]


@dataclass(frozen=True)
class OutputContext:
    """Everything an output validator may look at for one answer."""

    answer: str
    citations: Sequence[SpanLike]
    retrieval: Any  # loopwright.corpus.retrieval.RetrievalResult, or None when nothing was retrieved
    principal: Principal
    policy: PolicySet
    live_commit: str | None = None  # digest of the corpus commit live for this request
    documents: Mapping[str, DocLike] = field(default_factory=dict)  # doc_id -> metadata, from the commit

    @property
    def evidence(self) -> list[SpanLike]:
        """Cited spans plus everything retrieved (the text the answer may legitimately repeat)."""
        return [*self.citations, *(getattr(self.retrieval, "spans", None) or [])]


class ValidatorSettings(BaseModel):
    """Settings every output validator takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_fail: Literal["decline", "escalate"] = Field("decline", description="What a failed verdict does to the answer.")


@dataclass(frozen=True)
class ValidatorSpec:
    """A registered output validator."""

    name: str
    check: Callable[[OutputContext, Any], Verdict]
    settings: type[ValidatorSettings]
    description: str

    def settings_in(self, policy: PolicySet) -> ValidatorSettings:
        """This validator's settings from `policy`'s `[validators.NAME]` table."""
        return self.settings.model_validate(policy.validators[self.name].model_dump())


_VALIDATORS: dict[str, ValidatorSpec] = {}


def output_validator(name: str, *, settings: type[ValidatorSettings] = ValidatorSettings):
    """Register `fn(ctx: OutputContext, settings) -> Verdict` as output validator `name`."""

    def register(fn: Callable[[OutputContext, Any], Verdict]) -> Callable[[OutputContext, Any], Verdict]:
        if name in _VALIDATORS and _VALIDATORS[name].check is not fn:
            raise ValueError(f"output validator {name!r} is already registered")
        _VALIDATORS[name] = ValidatorSpec(name, fn, settings, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


def registered_validators() -> dict[str, ValidatorSpec]:
    """Every output validator: the built-ins and those of installed plugins."""
    load_plugins("loopwright.validators")
    return dict(_VALIDATORS)


def get_validator(name: str) -> ValidatorSpec:
    try:
        return registered_validators()[name]
    except KeyError:
        raise NotFound(f"no output validator {name!r}", hint=f"registered: {', '.join(sorted(_VALIDATORS))}") from None


def run_output_validators(ctx: OutputContext) -> list[Verdict]:
    """Run the validators the policy names, in its order; each verdict carries its `on_fail` action."""
    out = []
    for name in ctx.policy.validators:
        spec = get_validator(name)
        out.append(spec.check(ctx, spec.settings_in(ctx.policy)))
    return out


_SEVERITY = {"allow": 0, "confirm": 0, "conflict": 0, "summarize": 1, "fallback": 2, "escalate": 3, "decline": 4, "refuse": 4}


def decide(verdicts: Iterable[Verdict]) -> str:
    """The most severe action among the verdicts: decline > escalate > fallback > summarize > allow."""
    return max((v.action for v in verdicts), key=_SEVERITY.__getitem__, default="allow")


# -- text helpers ---------------------------------------------------------------------------

_STOP = frozenset(
    # English, Spanish and Vietnamese function words: overlap is counted on content words only.
    "a an and are as at be by can do does for from has have how i if in is it its my of on or our "
    "that the their this to was we what when where which who will with you your not no yes there "
    "el la los las un una y o de del en por para con que es son se su sus al lo como más mas muy "
    "và là của có không được cho các những một với này đó thì bạn tôi khi để trong từ "
    .split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CITE_MARK = re.compile(r"\[(?:\^?\d+(?:\s*,\s*\d+)*|[a-z0-9][a-z0-9._:#-]*)\]|\((?:source|fuente|nguồn):[^)]*\)", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?。])\s+|\n+")


def _tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if len(w) > 1 and w not in _STOP and not w.isdigit()]


def _clean(answer: str) -> str:
    from loopwright.policy.pii import PLACEHOLDER

    return PLACEHOLDER.sub(" ", _CITE_MARK.sub(" ", answer))


def _flat(text: str) -> str:
    """Text without citation marks or placeholders, its whitespace collapsed and no gap before punctuation."""
    return re.sub(r"\s+(?=[.!?,;:])", "", " ".join(_clean(text).split()))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


# -- built-in validators --------------------------------------------------------------------


class GroundingSettings(ValidatorSettings):
    """Grounding: every claim of an answer (numbers, amounts, percentages, dates, durations, products, fee
    negations; see `loopwright.policy.claims`) is stated by a span the sentence cites."""

    on_fail: Literal["decline", "escalate", "fallback"] = Field(
        "decline",
        description="What an unsupported claim does: decline, escalate to the default tier, or answer from the "
        "router's `fallback_tier` (declining when that answer fails too).",
    )
    claims: tuple[ClaimKind, ...] = Field(KINDS, min_length=1, description="Claim categories checked.")
    products: tuple[str, ...] = Field(
        (), description="Product names a claim may name (the corpus's own); CamelCase versioned names are read without it."
    )
    window: int = Field(
        5, strict=True, ge=1, le=30, description="Words either side of a claim used to align it with a unit of the cited spans."
    )
    min_words: int = Field(
        4, strict=True, ge=1,
        description="A sentence without claims and with fewer content words than this needs no citation (greetings, hedges).",
    )
    min_overlap: float = Field(
        0.0, strict=True, ge=0.0, le=1.0,
        description="Share of a sentence's content words that must appear in its cited spans; 0 checks claims only "
        "(a paraphrase rewords, so word overlap blocks faithful answers: see bench/bench_grounding.py).",
    )


@output_validator("grounding", settings=GroundingSettings)
def grounding(ctx: OutputContext, settings: GroundingSettings) -> Verdict:
    """Every claim in the answer is stated by a span its sentence cites ([n]; a sentence without marks: any cited span).

    Why claims, not word overlap: a generator paraphrases ("fifteen dollars"
    for "$15", "two weeks" for "14 days", Spanish and Vietnamese numerals), and
    the facts that cost a bank money when wrong are numbers, names and "no
    fee". Each claim is normalised and matched against the span units its
    nearby words align with (`claims.support`); it runs in about a millisecond
    an answer, needs no model, and the verdict names the claims that failed.
    """
    rule = "validators.grounding"
    lexicon = Lexicon.of(settings.products)
    kinds = set(settings.claims)
    units: dict[int, list] = {}

    def units_of(span: SpanLike) -> list:
        if id(span) not in units:
            units[id(span)] = span_units(span.text, title=getattr(span, "title", "") or "",
                                         context=getattr(span, "context", "") or "", lexicon=lexicon,
                                         window=settings.window)
        return units[id(span)]

    checked = 0
    for raw in _answer_sentences(ctx.answer):
        sentence = _flat(raw)
        found = [(c, around) for c, around in sentence_claims(sentence, lexicon, settings.window) if c.kind in kinds]
        words = _tokens(sentence)
        if not found and len(words) < settings.min_words:
            continue
        short = sentence if len(sentence) <= 80 else sentence[:77] + "..."
        spans = _cited_by(raw, ctx) or list(ctx.citations)
        if not spans:
            return failed("grounding", rule, f"factual sentence without a citation: {short!r}", settings.on_fail)
        if _quotes(raw, list(ctx.citations) or spans):
            checked += len(found)  # verbatim quotes of spans it cites state what the spans state (the stapler's answers)
            continue
        pool = [u for span in spans for u in units_of(span)]
        unsupported = [str(c) for c, around in found if not support(c, around, pool)]
        if unsupported:
            listed = ", ".join(dict.fromkeys(unsupported))
            return Verdict("grounding", False, rule, f"unsupported by the cited spans: {listed} in {short!r}",
                           settings.on_fail, claims=tuple(dict.fromkeys(unsupported)))
        checked += len(found)
        if settings.min_overlap and words:
            cited_words = set(_tokens(" ".join(s.text for s in spans)))
            overlap = sum(w in cited_words for w in words) / len(words)
            if overlap < settings.min_overlap:
                return failed(
                    "grounding", rule,
                    f"only {overlap:.0%} of the sentence's words are in the cited spans (min {settings.min_overlap:.0%}): {short!r}",
                    settings.on_fail,
                )
    return passed("grounding", rule, f"{checked} claim(s) supported by {len(ctx.citations)} citation(s)")


_ANSWER_SENTENCE = re.compile(r"(?<=[.!?。])((?:[\"')\]]*)(?:\s*\[[^\]\s]{1,40}\])*)\s+|\n+")
_NUMERIC_MARK = re.compile(r"\[\^?(\d{1,3})\]")


def _quotes(sentence: str, spans: list[SpanLike]) -> bool:
    """Whether every piece of `sentence` between its citation marks is quoted word for word from a cited span
    (a stapled answer joins several spans, and a table row holds no sentence end, so one sentence spans them,
    and a span's own sentence end can leave its first sentence before the mark that cites it)."""
    sources = [_flat(span.text) for span in spans]
    pieces = [p for p in (_flat(piece) for piece in _CITE_MARK.split(sentence)) if p]
    return bool(pieces) and all(any(p in source for source in sources) for p in pieces)


def _answer_sentences(answer: str) -> list[str]:
    """The answer's sentences, each with the citation marks that follow it."""
    out, last = [], 0
    for m in _ANSWER_SENTENCE.finditer(answer):
        end = m.start() + len(m.group(1) or "")
        out.append(answer[last:end])
        last = m.end()
    out.append(answer[last:])
    return [s for s in out if s.strip()]


def _cited_by(sentence: str, ctx: OutputContext) -> list[SpanLike]:
    """The cited spans a sentence's [n] marks name: evidence numbers when there is retrieval, else citations'."""
    numbers = [int(n) for n in _NUMERIC_MARK.findall(sentence)]
    if not numbers:
        return []
    evidence = list(getattr(ctx.retrieval, "spans", None) or []) or list(ctx.citations)
    cited = {id(c) for c in ctx.citations}
    picked = [evidence[n - 1] for n in numbers if 0 < n <= len(evidence)]
    return [s for s in picked if id(s) in cited or s in ctx.citations]


@output_validator("citations")
def citations(ctx: OutputContext, settings: ValidatorSettings) -> Verdict:
    """Each citation is a span of the live corpus commit that the caller may see."""
    rule = "validators.citations"
    live = ctx.live_commit or getattr(ctx.retrieval, "commit", None)
    retrieved = [s for s in (getattr(ctx.retrieval, "spans", None) or [])]
    access = ctx.policy.retrieval.tenants.get(ctx.principal.tenant)
    for c in ctx.citations:
        where = f"{c.doc_id}[{c.start}:{c.end}]"
        if live is not None and c.commit != live:
            return failed("citations", rule, f"{where} cites commit {c.commit[:12]}, not the live {live[:12]}", settings.on_fail)
        if ctx.retrieval is not None:
            inside = [s for s in retrieved if s.doc_id == c.doc_id and s.start <= c.start and c.end <= s.end]
            if not inside:
                return failed("citations", rule, f"{where} is not a span retrieved for this caller", settings.on_fail)
            host = inside[0]
            if c.text and host.text[c.start - host.start : c.end - host.start] != c.text:
                return failed("citations", rule, f"{where}: cited text differs from the document", settings.on_fail)
        doc = ctx.documents.get(c.doc_id)
        if doc is not None:
            if access is None:
                return failed("citations", rule, f"{where}: tenant {ctx.principal.tenant!r} has no retrieval access", settings.on_fail)
            if SENSITIVITY_LEVELS[doc.sensitivity] > SENSITIVITY_LEVELS[access.max_sensitivity]:
                return failed("citations", rule, f"{where} is {doc.sensitivity}, above the tenant's {access.max_sensitivity}", settings.on_fail)
            if not set(doc.audience) & set(access.scopes):
                return failed("citations", rule, f"{where} is for {', '.join(doc.audience)}, outside the caller's scopes", settings.on_fail)
    return passed("citations", rule, f"{len(ctx.citations)} citation(s) on the live commit, visible to the caller")


@output_validator("pii_leak")
def pii_leak(ctx: OutputContext, settings: ValidatorSettings) -> Verdict:
    """No personal data in the answer, except text repeated from the caller's evidence (a public phone line)."""
    from loopwright.policy.pii import normalise, scan

    rule = "validators.pii_leak"
    findings = scan(ctx.answer, ctx.policy.pii)
    if findings:
        evidence = " ".join(s.text for s in ctx.evidence)
        known = {(f.entity, normalise(f.entity, f.value)) for f in scan(evidence, ctx.policy.pii)} if evidence else set()
        findings = [f for f in findings if (f.entity, normalise(f.entity, f.value)) not in known]
    if findings:
        kinds = sorted({f.entity for f in findings})
        return failed("pii_leak", rule, f"answer contains {len(findings)} personal data item(s): {', '.join(kinds)}", settings.on_fail)
    return passed("pii_leak", rule, "no personal data outside the evidence")


class CeilingSettings(ValidatorSettings):
    """Sensitivity ceiling: above the caller's ceiling, a source is summarised, never quoted."""

    on_fail: Literal["summarize", "decline", "escalate"] = Field(
        "summarize", description="What an answer quoting a source above the ceiling becomes."
    )
    shingle: int = Field(6, strict=True, ge=2, le=50, description="Consecutive words shared with a source that count as quoting it.")


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = [w for w in _WORD.findall(text.casefold())]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def above_ceiling(ctx: OutputContext) -> list[SpanLike]:
    """Evidence spans whose document is more sensitive than the caller's ceiling."""
    out = []
    for span in ctx.evidence:
        doc = ctx.documents.get(span.doc_id)
        if doc is not None and not ctx.policy.sensitivity.allows(ctx.principal, doc.sensitivity):
            out.append(span)
    return out


@output_validator("sensitivity_ceiling", settings=CeilingSettings)
def sensitivity_ceiling(ctx: OutputContext, settings: CeilingSettings) -> Verdict:
    """No verbatim text from a source above the caller's sensitivity ceiling."""
    rule = "validators.sensitivity_ceiling"
    ceiling = ctx.policy.sensitivity.ceiling_for(ctx.principal)
    answer = _shingles(ctx.answer, settings.shingle)
    quoted = sorted({s.doc_id for s in above_ceiling(ctx) if answer & _shingles(s.text, settings.shingle)})
    if quoted:
        return failed(
            "sensitivity_ceiling", rule,
            f"quotes {', '.join(quoted)} above the caller's ceiling ({ceiling}); summary instead of verbatim text",
            settings.on_fail,
        )
    return passed("sensitivity_ceiling", rule, f"nothing quoted above the ceiling ({ceiling})")


def summarize_above_ceiling(ctx: OutputContext, *, shingle: int = 6) -> str:
    """The answer with every sentence that quotes a source above the ceiling replaced by a
    summary that names the source and its topics but carries none of its wording."""
    sources = above_ceiling(ctx)
    if not sources:
        return ctx.answer
    kept, dropped = [], []
    restricted = [(s, _shingles(s.text, shingle)) for s in sources]
    for sentence in sentences(ctx.answer):
        hits = [s for s, sh in restricted if _shingles(sentence, shingle) & sh]
        (dropped if hits else kept).append((sentence, hits))
    docs = sorted({s.doc_id for _, hits in dropped for s in hits})
    words: dict[str, int] = {}
    for span in sources:
        for w in _tokens(span.text):
            if len(w) > 3:
                words[w] = words.get(w, 0) + 1
    topics = ", ".join(sorted(words, key=lambda w: (-words[w], w))[:5])
    summary = (
        f"A source above your access level ({', '.join(docs)}) covers this; it is summarised rather than quoted. "
        f"It concerns: {topics}."
    )
    return " ".join([*(s for s, _ in kept), summary]).strip()


def docs_of(commit: Any) -> dict[str, Any]:
    """`doc_id -> Document` for a `loopwright.corpus.commits.Commit`, as `OutputContext.documents` wants it."""
    return {doc_id: entry.meta for doc_id, entry in commit.documents.items()}
