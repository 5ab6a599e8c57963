"""The recognisers behind `loopwright.policy.pii`: Presidio's pattern and checksum recognisers,
`phonenumbers` and `python-stdnum`, with no NLP model.

Presidio's `AnalyzerEngine` would load a spaCy model for tokens and named
entities; loopwright ships none, so the predefined *pattern* recognisers are
called directly (`recognizer.analyze(text, entities)`), which is what the engine
does for them anyway. Presidio's context boost needs the NLP tokens, so it is
replaced by a plain window: a weak match (an undashed 9-digit number) counts
when a context word ("SSN", "seguro social", "an sinh") is near it. What
Presidio does not cover without a model (addresses, names, dates *of birth*,
Spanish account numbers, Vietnamese ID numbers) is added here as Presidio
`Pattern`s or stdnum checks, so every finding comes through one interface.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

# Presidio's package __init__ imports its NLP engines (spaCy, transformers): about 4 s,
# paid once per process. Callers import this module lazily.
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DateRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    IbanRecognizer,
    PhoneRecognizer,
    UsBankRecognizer,
    UsSsnRecognizer,
)

from loopwright.text import strip_accents

CASE_SENSITIVE = re.DOTALL | re.MULTILINE
CONTEXT_SCORE = 0.75
"""A weak match with a context word near it scores this (Presidio's NLP context boost plays this part)."""
WINDOW_BEFORE, WINDOW_AFTER = 48, 16

CONTEXT: dict[str, dict[str, tuple[str, ...]]] = {
    # Accent-folded, lowercase; matched as substrings of the window around a match.
    "US_SSN": {
        "en": ("ssn", "social security", "social sec", "ss#"),
        "es": ("seguro social", "ssn", "numero de seguro"),
        "vi": ("ssn", "an sinh", "so an sinh"),
    },
    "ACCOUNT_NUMBER": {
        "en": ("account", "acct", "a/c", "checking", "savings", "routing"),
        "es": ("cuenta", "ahorros", "corriente"),
        "vi": ("tai khoan", "stk", "so tk"),
    },
    "DATE_OF_BIRTH": {
        "en": ("born", "birth", "dob", "d.o.b", "birthday"),
        "es": ("nacimiento", "naci", "nacido", "nacida", "cumpleanos"),
        "vi": ("ngay sinh", "sinh ngay", "sinh nam", "sinh vao"),
    },
    "NATIONAL_ID": {
        "en": ("national id", "id number", "passport", "id card"),
        "es": ("dni", "nie", "pasaporte", "cedula", "documento"),
        "vi": ("cccd", "cmnd", "can cuoc", "chung minh"),
    },
}


def fold(text: str) -> str:
    """Lowercase without accents (`Số tài khoản` -> `so tai khoan`), for context words."""
    return strip_accents(text.lower())


@dataclass(frozen=True)
class Hit:
    """A raw recogniser match, before overlaps are resolved."""

    entity: str
    start: int
    end: int
    score: float
    recognizer: str


@dataclass
class Entry:
    """One recogniser with the entity it reports, a cheap precondition on the text, and its context rule."""

    entity: str
    recognizer: EntityRecognizer
    min_digits: int = 0
    needs: str | None = None  # a character the text must contain ("@")
    always_context: bool = False  # e.g. any date is a date of birth only next to "born"
    context: tuple[str, ...] = field(default=())
    skip_covered: bool = False  # run on the text with checksum-validated findings blanked out

    @property
    def name(self) -> str:
        return type(self.recognizer).__name__

    @cached_property
    def probe(self):
        """All of a pattern recogniser's patterns as one regex (None for other recognisers).

        A text none of them matches cannot yield a finding, and one C-level search is far
        cheaper than Presidio's per-pattern Python loop: most texts stop here. IBAN's own `analyze`
        also reports only matches of its patterns (with a checksum), so it takes the probe too: unprobed,
        it was 7% of the pass-through gateway's CPU on texts with eight digits or more.
        """
        if type(self.recognizer).analyze not in _PATTERNS_ONLY or not self.recognizer.patterns:
            return None
        import regex  # Presidio's own regex engine, so the patterns mean what they mean there

        alternation = "|".join(f"(?:{p.regex})" for p in self.recognizer.patterns)
        return regex.compile(alternation, flags=self.recognizer.global_regex_flags)


# Recognisers whose `analyze` reports nothing but matches of their `patterns` (so `Entry.probe` may skip them)
_PATTERNS_ONLY = (PatternRecognizer.analyze, IbanRecognizer.analyze)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser, with the public-suffix check from tldextract's bundled snapshot.

    The stock one calls `tldextract.extract`, which fetches the suffix list over
    the network on first use.
    """

    def __init__(self) -> None:
        import tldextract

        super().__init__()
        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def validate_result(self, pattern_text: str) -> bool:
        return self._extract(pattern_text.rsplit("@", 1)[-1]).suffix != ""


class SsnRecognizer(UsSsnRecognizer):
    """Presidio's SSN patterns with the SSA's structural rules (via stdnum's compact form).

    Presidio drops published example numbers (078-05-1120); a customer who types one
    as their SSN still gets it masked, so only impossible numbers are dropped here.
    """

    def invalidate_result(self, pattern_text: str) -> bool:
        from stdnum.us import ssn

        if len({c for c in pattern_text if not c.isdigit()}) > 1:
            return True  # mixed delimiters: not how anyone writes an SSN
        digits = ssn.compact(pattern_text.replace(".", "-").replace(" ", "-"))
        return (
            len(set(digits)) == 1
            or digits[:3] in ("000", "666")
            or digits[0] == "9"
            or digits[3:5] == "00"
            or digits[5:] == "0000"
        )


class ValidatedPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recogniser, checking each run of digits with python-phonenumbers.

    A candidate counts when `phonenumbers.parse` reads it in one of the policy's
    regions (an international `+NN` number in any) and `is_valid_number` accepts it
    against that region's numbering plan. That is stronger evidence than
    Presidio's default 0.4 assumes without its context boost, hence 0.75. Presidio
    runs `PhoneNumberMatcher` over the whole text once per region (about 0.2 ms
    each); parsing the candidates costs about 20 us each, which keeps the policy's
    latency budget.
    """

    SCORE = 0.75
    CANDIDATE = re.compile(r"(?<![\w+])\+?\(?\d[\d ().-]{5,20}\d(?!\w)")

    def analyze(self, text, entities, nlp_artifacts=None):
        import phonenumbers

        results = []
        for cand in self.CANDIDATE.finditer(text):
            raw = cand.group()
            if not 7 <= sum(c.isdigit() for c in raw) <= 15:
                continue
            regions = self.supported_regions[:1] if raw.startswith("+") else self.supported_regions
            for region in regions:
                try:
                    number = phonenumbers.parse(raw, region)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number):
                    match = phonenumbers.PhoneNumberMatch(cand.start(), raw, number)
                    results.append(self._get_recognizer_result(match, text, region, nlp_artifacts))
                    break
        return results


class ChecksumRecognizer(PatternRecognizer):
    """A Presidio pattern recogniser whose matches must pass a python-stdnum validator."""

    def __init__(self, entity: str, patterns: list[Pattern], check: Callable[[str], bool], **kwargs):
        super().__init__(supported_entity=entity, patterns=patterns, **kwargs)
        self._check = check

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._check(pattern_text))


def _stdnum(module: str) -> Callable[[str], bool]:
    import importlib

    return importlib.import_module(f"stdnum.{module}").is_valid


_LU, _LL = r"\p{Lu}", r"\p{Ll}"
_NAME_WORD = rf"{_LU}[{_LL}'’-]+"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}"
_CUES = (
    r"my name is|my name's|i am|i'm|this is|name:|"
    r"me llamo|mi nombre es|soy|nombre:|"
    r"tên tôi là|tôi tên là|tôi là|tên:"
)
_HONORIFICS = r"mr|mrs|ms|miss|dr|sr|sra|srta|don|doña|ông|bà|anh|chị|cô"
_US_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Court|Ct|Way|Boulevard|Blvd|Drive|Dr|Place|Pl|"
    r"Terrace|Ter|Parkway|Pkwy|Circle|Cir|Highway|Hwy"
)
_ES_MONTHS = r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
_EN_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)

ADDRESS_PATTERNS = [
    Pattern(
        "US street address",
        rf"\b\d{{1,6}}\s+(?:{_LU}[\p{{L}}'.-]*\s+){{1,4}}(?:{_US_SUFFIX})\b\.?"
        rf"(?:\s*,?\s*(?i:apt|unit|suite|\#)\.?\s*[\w-]+)?"
        rf"(?:\s*,\s*{_LU}[\p{{L}} .'-]+,\s*[A-Z]{{2}}(?:\s+\d{{5}}(?:-\d{{4}})?)?)?",
        0.6,
    ),
    Pattern(
        "US address, any case, with town, state and ZIP",
        rf"\b\d{{1,6}}\s+(?:[\p{{L}}'.-]+\s+){{1,4}}(?i:{_US_SUFFIX})\b\.?,?\s+[\p{{L}} .'-]+,\s*[A-Za-z]{{2}}\s+\d{{5}}(?:-\d{{4}})?\b",
        0.7,
    ),
    Pattern(
        "Spanish street address",
        r"(?i:\b(?:calle|c/|avenida|avda\.?|av\.|paseo|plaza|carrera|camino|ronda)\s+)"
        r"[\p{L}\p{N} .'-]{2,40}?,?\s*(?i:n[º°o.]\s*)?\d{1,5}\b",
        0.6,
    ),
    Pattern(
        "Vietnamese street address",
        rf"\b(?:(?i:số)\s+)?\d{{1,5}}[A-Za-z]?(?:/\d{{1,4}})*\s+(?i:đường|phố)\s+{_LU}\p{{Ll}}*(?:\s+{_LU}\p{{Ll}}*){{0,4}}",
        0.6,
    ),
]

PERSON_PATTERNS = [
    Pattern("name after a cue", rf"(?<=(?i:\b(?:{_CUES}))\s+){_NAME}", 0.6),
    Pattern("name after an honorific", rf"(?<=(?i:\b(?:{_HONORIFICS}))\.?\s+){_NAME}", 0.55),
]

EXTRA_DATE_PATTERNS = [
    Pattern("date, English month", rf"(?i:\b(?:{_EN_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}})\b", 0.6),
    Pattern("date, day English month", rf"(?i:\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_EN_MONTHS})\.?,?\s+(?:19|20)\d{{2}})\b", 0.6),
    Pattern("date, Spanish", rf"(?i:\b\d{{1,2}}\s+de\s+(?:{_ES_MONTHS})\s+(?:de\s+|del\s+)?\d{{4}})\b", 0.6),
    Pattern("date, Vietnamese", r"(?i:\b(?:ngày\s+)?\d{1,2}\s+tháng\s+\d{1,2},?\s+năm\s+\d{4})\b", 0.6),
    Pattern("date, d/m/y or m/d/y", r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}\b", 0.5),
]


def context_words(entity: str, languages: Sequence[str]) -> tuple[str, ...]:
    table = CONTEXT.get(entity, {})
    return tuple(sorted({w for lang in languages for w in table.get(lang, ())}))


def build_entries(entities: Sequence[str], languages: Sequence[str], phone_regions: Sequence[str]) -> list[Entry]:
    """The recognisers for `entities`, cheapest precondition first."""
    ctx = lambda e: context_words(e, languages)  # noqa: E731
    catalogue: dict[str, list[Entry]] = {
        "CREDIT_CARD": [Entry("CREDIT_CARD", CreditCardRecognizer(), min_digits=12)],
        "US_SSN": [Entry("US_SSN", SsnRecognizer(), min_digits=9, context=ctx("US_SSN"))],
        "PHONE_NUMBER": [
            Entry("PHONE_NUMBER", ValidatedPhoneRecognizer(supported_regions=tuple(phone_regions)), min_digits=7,
                  skip_covered=True)
        ],
        "EMAIL_ADDRESS": [Entry("EMAIL_ADDRESS", OfflineEmailRecognizer(), needs="@")],
        "IBAN_CODE": [Entry("IBAN_CODE", IbanRecognizer(), min_digits=8)],
        "ACCOUNT_NUMBER": [
            Entry("ACCOUNT_NUMBER", UsBankRecognizer(supported_entity="ACCOUNT_NUMBER"), min_digits=8,
                  context=ctx("ACCOUNT_NUMBER")),
            Entry(
                "ACCOUNT_NUMBER",
                ChecksumRecognizer(
                    "ACCOUNT_NUMBER",
                    [Pattern("Spanish CCC", r"\b\d{4}[ -]?\d{4}[ -]?\d{2}[ -]?\d{10}\b", 0.3)],
                    _stdnum("es.ccc"),
                ),
                min_digits=20,
            ),
        ],
        "NATIONAL_ID": [
            Entry("NATIONAL_ID", EsNifRecognizer(supported_entity="NATIONAL_ID"), min_digits=7),
            Entry("NATIONAL_ID", EsNieRecognizer(supported_entity="NATIONAL_ID"), min_digits=7),
            Entry(
                "NATIONAL_ID",
                PatternRecognizer(supported_entity="NATIONAL_ID",
                                  patterns=[Pattern("Vietnamese citizen ID", r"\b0\d{11}\b", 0.3)]),
                min_digits=12,
                context=ctx("NATIONAL_ID"),
            ),
        ],
        "DATE_OF_BIRTH": [
            Entry(
                "DATE_OF_BIRTH",
                PatternRecognizer(
                    supported_entity="DATE_OF_BIRTH", patterns=[*DateRecognizer.PATTERNS, *EXTRA_DATE_PATTERNS]
                ),
                min_digits=4,
                always_context=True,
                context=ctx("DATE_OF_BIRTH"),
            )
        ],
        "ADDRESS": [
            Entry("ADDRESS", PatternRecognizer(supported_entity="ADDRESS", patterns=ADDRESS_PATTERNS,
                                               global_regex_flags=CASE_SENSITIVE), min_digits=1)
        ],
        "PERSON": [
            Entry("PERSON", PatternRecognizer(supported_entity="PERSON", patterns=PERSON_PATTERNS,
                                              global_regex_flags=CASE_SENSITIVE))
        ],
    }
    unknown = set(entities) - set(catalogue)
    if unknown:
        raise KeyError(f"no recogniser for {', '.join(sorted(unknown))}")
    return [entry for name in entities for entry in catalogue[name]]


def _nearest(window: str, words: tuple[str, ...], match_at: int) -> int | None:
    """The distance from the match to the nearest context word in `window`, or None."""
    best = None
    for word in words:
        pos = window.find(word)
        while pos != -1:
            distance = match_at - (pos + len(word)) if pos < match_at else pos - match_at
            best = distance if best is None else min(best, abs(distance))
            pos = window.find(word, pos + 1)
    return best


def run_entry(entry: Entry, text: str, folded: Callable[[], str], min_score: float) -> list[Hit]:
    """One recogniser over `text`, with the context window (in `folded()`, the text folded) deciding weak matches."""
    if entry.always_context and not any(word in folded() for word in entry.context):
        # No context word anywhere, so none near any match: skip the search. The date patterns' probe alone cost
        # ~185 us on a short question with four digits, most of the pass-through gateway's masking time.
        return []
    if entry.probe is not None and entry.probe.search(text) is None:
        return []
    out = []
    for result in entry.recognizer.analyze(text, [entry.entity]):
        score = result.score
        if entry.context and (entry.always_context or score < min_score):
            window = folded()[max(0, result.start - WINDOW_BEFORE) : result.end + WINDOW_AFTER]
            near = _nearest(window, entry.context, result.start - max(0, result.start - WINDOW_BEFORE))
            if near is not None:
                # Nearer context words weigh more, so "account 812..., CCCD 0123..." types each number by its own label.
                score = max(score, CONTEXT_SCORE + 0.2 * (1 - near / (WINDOW_BEFORE + WINDOW_AFTER)))
            elif entry.always_context:
                continue
        if score >= min_score:
            out.append(Hit(entry.entity, result.start, result.end, score, entry.name))
    return out
