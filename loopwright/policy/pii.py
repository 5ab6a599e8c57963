"""Personal data: find it, and mask it before anything is stored, cached or sent on.

    vault = PiiVault(conversation_secret(pii_key(ws), conversation_id))  # one per conversation
    masked = mask_text("my card is 4000 0012 3456 7899", policy.pii, vault)
    masked.text        # "my card is <CARD_1>"; the same number gets <CARD_1> on every turn
    scan(answer_text)  # findings, for the output check

Masks are typed (`<CARD_1>`, `<SSN_1>`, `<PHONE_2>`) so an answer can refer to
them. The vault never holds a raw value: it maps a keyed digest of each value
to its placeholder, so it can be kept with the conversation (in a cache or the
store) without keeping the data it masks. Recognisers live in
`pii_recognizers` (Presidio, phonenumbers, python-stdnum; no model download).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopwright.policy.entities import ENTITIES

if TYPE_CHECKING:
    from loopwright.policy.schema import PiiRules
    from loopwright.workspace import Workspace

PLACEHOLDER = re.compile(r"<(?:" + "|".join(ENTITIES.values()) + r")(?:_\d+|#[0-9a-f]{10})>")
_DIGITS_ONLY = {"CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "ACCOUNT_NUMBER", "IBAN_CODE", "NATIONAL_ID"}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a text. `value` stays in memory: `to_dict` leaves it out."""

    entity: str
    start: int
    end: int
    score: float
    recognizer: str
    value: str = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "start": self.start, "end": self.end, "score": round(self.score, 3),
                "recognizer": self.recognizer}


def normalise(entity: str, value: str) -> str:
    """The form two mentions of one value share: digits for numbers, case-folded words otherwise."""
    if entity in _DIGITS_ONLY:
        out = "".join(c for c in value if c.isalnum()).upper()
        return out[-10:] if entity == "PHONE_NUMBER" else out  # +1-503-555-0142 == (503) 555-0142
    return " ".join(value.casefold().split())


class PiiDetector:
    """The recognisers for one `PiiRules`, built once (compiling Presidio's patterns costs milliseconds)."""

    def __init__(self, rules: PiiRules):
        from loopwright.policy import pii_recognizers as rec

        self._rec = rec
        self.rules = rules
        self.entries = rec.build_entries(list(rules.actions), rules.languages, rules.phone_regions)

    def scan(self, text: str, *, known: Mapping[str, Iterable[str]] | None = None) -> list[Finding]:
        """Findings in `text`, overlaps resolved (higher score, then longer, wins), in text order.

        `known` adds values the caller already knows belong to the subject (their own
        name and address from the customer book): found wherever they appear.
        """
        if not text:
            return []
        digits = sum(map(str.isdigit, text))
        done: list[str] = []

        def folded() -> str:  # folded once, and only if context words are looked for: most texts need none
            if not done:
                done.append(self._rec.fold(text))
            return done[0]

        hits = []
        for entry in self.entries:
            if digits < entry.min_digits or (entry.needs and entry.needs not in text):
                continue
            target = text
            if entry.skip_covered:
                # A card number that passed Luhn is not also tried as a phone number in four regions.
                for h in hits:
                    if h.score >= 0.75:
                        target = target[: h.start] + " " * (h.end - h.start) + target[h.end :]
            hits.extend(self._rec.run_entry(entry, target, folded, self.rules.min_score))
        if known:
            hits.extend(_known_hits(text, known))
        hits = [h for h in hits if not _inside_placeholder(text, h.start, h.end)]
        return [Finding(h.entity, h.start, h.end, h.score, h.recognizer, text[h.start : h.end]) for h in _resolve(hits)]


def _known_hits(text: str, known: Mapping[str, Iterable[str]]):
    from loopwright.policy.pii_recognizers import Hit

    lowered = text.casefold()
    for entity, values in known.items():
        for value in values:
            needle = value.casefold().strip()
            if len(needle) < 3:
                continue
            start = lowered.find(needle)
            while start != -1:
                yield Hit(entity, start, start + len(needle), 1.0, "known")
                start = lowered.find(needle, start + len(needle))


def _inside_placeholder(text: str, start: int, end: int) -> bool:
    return any(m.start() <= start and end <= m.end() for m in PLACEHOLDER.finditer(text, max(0, start - 16), end + 16))


def _resolve(hits) -> list:
    kept: list = []
    for hit in sorted(hits, key=lambda h: (-h.score, -(h.end - h.start), h.start)):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


_DETECTORS: dict[int, tuple[Any, PiiDetector]] = {}
_LOCK = threading.Lock()


def detector(rules: PiiRules | None = None) -> PiiDetector:
    """The detector for `rules` (default rules when None), kept while `rules` lives."""
    if rules is None:
        from loopwright.policy.schema import PiiRules

        rules = _default_rules(PiiRules)
    with _LOCK:
        cached = _DETECTORS.get(id(rules))
        if cached is not None and cached[0] is rules:
            return cached[1]
    built = PiiDetector(rules)
    with _LOCK:
        _DETECTORS[id(rules)] = (rules, built)  # holds `rules`, so its id is not reused while cached
        if len(_DETECTORS) > 64:
            _DETECTORS.pop(next(iter(_DETECTORS)))
    return built


_DEFAULT: list = []


def _default_rules(cls):
    if not _DEFAULT:
        _DEFAULT.append(cls())
    return _DEFAULT[0]


def scan(text: str, rules: PiiRules | None = None, *, known: Mapping[str, Iterable[str]] | None = None) -> list[Finding]:
    """Personal data in `text` (placeholders are not personal data)."""
    return detector(rules).scan(text, known=known)


class PiiVault:
    """A conversation's masks: the keyed digest of each value -> its placeholder. No raw values.

    The gateway keeps one per conversation (`to_dict` / `from_dict` to carry it
    between turns and replicas); the secret comes from `conversation_secret`, so
    the digests it stores cannot be matched against guesses without the workspace key.
    """

    def __init__(self, secret: bytes | None = None, entries: Mapping[str, str] | None = None):
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self._entries: dict[str, str] = dict(entries or {})
        self._counts: dict[str, int] = {}
        for placeholder in self._entries.values():
            tag, _, n = placeholder.strip("<>").rpartition("_")
            self._counts[tag] = max(self._counts.get(tag, 0), int(n))
        self._lock = threading.Lock()

    def _digest(self, entity: str, value: str) -> str:
        return hmac.new(self.secret, f"{entity}\x00{normalise(entity, value)}".encode(), hashlib.sha256).hexdigest()

    def placeholder(self, entity: str, value: str) -> str:
        """The value's placeholder: the same one for the same value all conversation long."""
        key = self._digest(entity, value)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                tag = ENTITIES[entity]
                self._counts[tag] = self._counts.get(tag, 0) + 1
                found = self._entries[key] = f"<{tag}_{self._counts[tag]}>"
            return found

    def __len__(self) -> int:
        return len(self._entries)

    def to_dict(self) -> dict[str, Any]:
        """What can be stored with the conversation: digests and placeholders, no values, no secret."""
        return {"version": 1, "entries": dict(self._entries)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], secret: bytes) -> PiiVault:
        return cls(secret, data.get("entries", {}))


@dataclass(frozen=True)
class Masked:
    """A text with its personal data handled per policy, and what was done (no values)."""

    text: str
    findings: tuple[Finding, ...]
    applied: tuple[tuple[str, str, str], ...]  # (entity, action, replacement)
    refused: tuple[str, ...]  # entity types whose policy action is `refuse`

    @property
    def changed(self) -> bool:
        return bool(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """For the trace: which entities were found and what replaced them."""
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.entity] = counts.get(f.entity, 0) + 1
        return {
            "entities": counts,
            "applied": [{"entity": e, "action": a, "replacement": r} for e, a, r in self.applied],
            "refused": list(self.refused),
        }


def mask_text(
    text: str,
    rules: PiiRules | None,
    vault: PiiVault,
    *,
    known: Mapping[str, Iterable[str]] | None = None,
    hash_key: bytes | None = None,
) -> Masked:
    """Apply the policy's action to every finding in `text`; see `PiiAction` in the policy schema.

    `hash_key` keys the `hash` action's digests (stable across conversations:
    pass `pii_key(ws)`); without it the vault's secret is used.
    """
    det = detector(rules)
    actions = det.rules.actions
    findings = det.scan(text, known=known)
    if not findings:
        return Masked(text, (), (), ())
    out, applied, refused, cursor = [], [], [], 0
    for f in findings:
        action = actions.get(f.entity, "mask")
        if action == "hash":
            digest = hmac.new(hash_key or vault.secret, f"{f.entity}\x00{normalise(f.entity, f.value)}".encode(),
                              hashlib.sha256).hexdigest()
            replacement = f"<{ENTITIES[f.entity]}#{digest[:10]}>"
        elif action == "drop":
            replacement = ""
        else:  # mask, and refuse (the turn is declined, but what is stored is still masked)
            replacement = vault.placeholder(f.entity, f.value)
            if action == "refuse" and f.entity not in refused:
                refused.append(f.entity)
        out.append(text[cursor : f.start])
        out.append(replacement)
        applied.append((f.entity, action, replacement))
        cursor = f.end
    out.append(text[cursor:])
    masked = "".join(out)
    if any(a == "drop" for _, a, _ in applied):
        masked = re.sub(r"[ \t]{2,}", " ", masked).strip()
    return Masked(masked, tuple(findings), tuple(applied), tuple(refused))


def pii_key(ws: Workspace) -> bytes:
    """A workspace secret for keyed PII digests, derived from its signing key (Ed25519 signatures
    are deterministic), so nothing extra needs keeping and it never leaves the workspace."""
    signature = ws.signer.sign(hashlib.sha256(b"loopwright pii key v1").hexdigest())
    return hashlib.sha256(b"loopwright-pii\x00" + signature.encode()).digest()


def conversation_secret(key: bytes, conversation_id: str) -> bytes:
    """The vault secret for one conversation: stable for its id, unlinkable across conversations.

    `key` is the workspace's `pii_key(ws)`, which callers compute once (it costs a signature).
    """
    return hmac.new(key, conversation_id.encode(), hashlib.sha256).digest()


def keyed_digest(key: bytes, value: str) -> str:
    """A keyed sha256 of `value` (hex), for identifiers that must not be reversible by guessing."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
