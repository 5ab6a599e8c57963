"""The filter steps of data prepare: personal data, offensive text, exact and near duplicates.

Each step takes rows and returns the rows it keeps with a count per reason.
PII runs first, so two rows that differ only in a card number are duplicates
once masked; duplicates go last, so the copy kept is one that passed the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable

from loopwright import dedup
from loopwright.errors import ConfigError
from loopwright.policy.pii import PiiVault, mask_text, scan
from loopwright.policy.schema import PiiRules
from loopwright.serving.triage import clean_text
from loopwright.training.data.sources import Row
from loopwright.training.recipes import Dedup, Pii, Toxicity
from loopwright.training.triage import normalize_text

# (done, total) as a step goes; the CLI draws it as a progress bar
Tick = Callable[[int, int], None]

_INSTALL_HINT = "pip install alt-profanity-check"


def _rules(config: Pii) -> PiiRules:
    entities = config.entities if config.entities is not None else tuple(PiiRules().actions)
    return PiiRules(actions={e: "mask" for e in entities})


def filter_pii(rows: list[Row], config: Pii, tick: Tick | None = None) -> tuple[list[Row], Counter]:
    """Rows with personal data masked (typed placeholders, numbered per row) or dropped, per `config.action`."""
    rules, kept, reasons = _rules(config), [], Counter()
    for n, row in enumerate(rows, start=1):
        if config.action == "mask":
            masked = mask_text(row.text, rules, PiiVault())
            if masked.changed:
                reasons["pii_masked"] += 1
                reasons.update(f"pii_masked:{f.entity}" for f in masked.findings)
                row = row.with_text(masked.text)
            kept.append(row)
        else:
            findings = scan(row.text, rules)
            if findings:
                reasons["pii_found" if config.action == "keep" else "pii"] += 1
            if not findings or config.action == "keep":
                kept.append(row)
        if tick and (n % 64 == 0 or n == len(rows)):
            tick(n, len(rows))
    return kept, reasons


def _fold(text: str) -> str:
    # case only: stripping Vietnamese tones would make innocent words of insults ("vãi" -> "vai", a shoulder)
    return unicodedata.normalize("NFC", text).casefold()


def toxicity_scores(texts: list[str]) -> list[float]:
    """alt-profanity-check's probability that each text is offensive (a linear SVM on TF-IDF, shipped in the wheel)."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        raise ConfigError("the toxicity filter needs alt-profanity-check", hint=_INSTALL_HINT) from None
    return [float(p) for p in predict_prob(texts)] if texts else []


def filter_toxicity(rows: list[Row], config: Toxicity) -> tuple[list[Row], Counter]:
    """Rows the classifier scores below the threshold and that hold none of `config.terms`."""
    if not config.enabled:
        return rows, Counter()
    scores = toxicity_scores([r.text for r in rows])
    terms = re.compile(r"\b(?:" + "|".join(re.escape(_fold(t)) for t in config.terms) + r")\b") if config.terms else None
    kept, reasons = [], Counter()
    for row, score in zip(rows, scores, strict=True):
        if score >= config.threshold:
            reasons["toxic_classifier"] += 1
        elif terms is not None and terms.search(_fold(row.text)):
            reasons["toxic_term"] += 1
        else:
            kept.append(row)
    return kept, reasons


def comparable(text: str) -> str:
    """The text duplicates are compared on: accents, case and punctuation folded (`triage.normalize_text`), the
    identity splits hash too. Folding first lifts near-duplicate recall on planted copies at 0.8 (5-character
    shingles) from 0.55 to 0.67 at precision 0.99 (bench/bench_dedup.py): a dropped accent is no longer an edit."""
    return normalize_text(clean_text(text))


def drop_exact(rows: list[Row], config: Dedup) -> tuple[list[Row], Counter]:
    """The first row of each `comparable` text (by `dedup.content_hash`); every row of a text labelled two ways is dropped."""
    if not config.exact:
        return rows, Counter()
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(dedup.content_hash(comparable(row.text)), []).append(row)
    kept, reasons = [], Counter()
    for group in groups.values():
        if len({r.intent for r in group}) > 1:
            reasons["label_conflict"] += len(group)
            continue
        kept.append(group[0])
        reasons["exact_duplicate"] += len(group) - 1
    order = {id(r): i for i, r in enumerate(rows)}
    return sorted(kept, key=lambda r: order[id(r)]), +reasons


def drop_near(rows: list[Row], config: Dedup) -> tuple[list[Row], Counter]:
    """The first row of each near-duplicate group (MinHash LSH, `dedup.duplicate_groups`): earlier sources win."""
    if not config.near or not rows:
        return rows, Counter()
    groups = dedup.duplicate_groups([comparable(r.text) for r in rows], threshold=config.threshold, num_perm=config.num_perm,
                                    shingle=config.shingle)
    dropped = {i for g in groups for i in g[1:]}
    reasons = Counter({"near_duplicate": len(dropped)}) if dropped else Counter()
    return [r for i, r in enumerate(rows) if i not in dropped], reasons
