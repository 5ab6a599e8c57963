"""Claims: the checkable facts in a text (English, Spanish, Vietnamese), normalised so equal values compare equal.

    lexicon = Lexicon.of(["FlexPay 2.0", "Goal Saver"])                    # the policy's product names
    extract_claims("The late fee is fifteen dollars.", lexicon)             # [negation False, amount 15.0]
    units = span_units(span.text, title=span.title, context=span.context, lexicon=lexicon)
    for claim, around in sentence_claims(answer_sentence, lexicon, window=5):
        support(claim, around, units)                                       # False: no cited unit states it

Every text is first *folded*: case-folded, accents stripped one character for
one (so offsets survive and "đô la", "do la" and "ĐÔ LA" read alike: Vietnamese
with or without diacritics). Categories, and what each matches:

- **amount** (USD): a number with `$`, `US$`, `USD` before or after it, or
  followed by dollars / dólares / đô (la), or cents / centavos (/100):
  "$15.00" = "$15" = "15 dollars" = "quince dólares" = "mười lăm đô la".
- **percent**: a number followed by `%`, percent, por ciento, phần trăm:
  "9,9 %" = "9.9%" = "nueve coma nueve por ciento".
- **duration**: a number followed by a unit, normalised to days (days, weeks),
  months (months, years), business days (business / working days, días hábiles,
  ngày làm việc) or hours: "two weeks" = "14 days" = "dos semanas" = "hai tuần";
  "24 months" = "two years". Days and months are not converted into each other
  (a month is not a fixed number of days).
- **date**: ISO (2026-09-01), month names (September 1, 2026; 1 de septiembre
  de 2026), Vietnamese (ngày 1 tháng 9 năm 2026), numeric d/m/y (both readings
  kept: 01/09/2026 is 1 Sept or 9 Jan), and month-year (October 2026). A date
  given with fewer parts than the span's is supported by it, not the reverse.
- **number**: any other number, in digits (5,000 = 5000; 1,5 = 1.5) or words
  (five, veinticuatro, hai mươi tư; "nine point nine"). A bare number is
  supported by any value of the same size in the span (a duration's count, a
  date's year). Words that are also ordinary words ("one", "un/una", and every
  Vietnamese numeral: "năm" is also "year", "không" also "not") count only
  before a unit or a counter noun ("one week", "bốn gói"); in text written
  with diacritics a numeral must carry its own ("từ", from, is not "tư", four).
- **product**: the names in the lexicon the policy supplies (longest match,
  spacing and ".0" ignored: "FlexPay 2" = "FlexPay 2.0"), plus any CamelCase
  name with a version number ("FlexPay 3.0"), so an invented version is caught
  even when the lexicon lacks it. A span's title counts as naming its product.
- **negation** (of a fee): each clause (cut at punctuation and at when / if /
  but, cuando / si / pero, khi / nếu / thì) that mentions a fee, charge, cost,
  interest or penalty (cargo, comisión, cobrar, phí, phạt...) is negated when it
  holds a negator (no, not, without, none, neither, waived, avoid; sin, ningún,
  evitar; không, chẳng, miễn, tránh) or a free-word (free, gratis), not both;
  several negators are one ("sin ningún costo"), and "no more than 2" is a
  limit, not a negation. "No fee" / "sin cargo" / "không tính phí" against a
  span stating a fee (an explicit mention, else a non-zero amount) is
  unsupported, and the reverse; a fee the cited spans say nothing about (as in
  "dispute a charge") contradicts none of them.

How a claim is matched (`support`): against the units of the cited spans that
state a value of its kind, those its nearby words (5 either side, values
included) share most with; then, inside them, at a value whose own nearby words
share at least half as many as the best one's. So "$25" for a stop payment
fails on a fee table that holds $25 in the wire row, and "$500" as the
maintenance fee fails on a sentence where $500 is the minimum balance.

Known limits: negation is checked for fees only ("cannot be split" flipped to
"can be split" passes); amounts are dollars only (€ and £ read as dollars); a
number written as words in a language other than these three is not read; an
ordinal ("first installment") is not a number, nor is "one"/"một" before a
counter noun ("one plan"); Vietnamese typed without diacritics stays ambiguous
("sau ngay": after the day, or six days); an answer whose words share none with
its cited spans (a Spanish answer citing an English table) falls back to "the
value appears in a cited unit", so a value moved to the wrong row is caught
only where the words align.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ClaimKind = Literal["number", "amount", "percent", "date", "duration", "product", "negation"]
KINDS: tuple[ClaimKind, ...] = ("number", "amount", "percent", "date", "duration", "product", "negation")


def fold(text: str) -> str:
    """Case-folded, accents stripped, one character for one (offsets into `text` stay valid)."""
    out = []
    for ch in text:
        low = ch.lower()
        if len(low) != 1:
            low = ch
        if low == "đ":
            out.append("d")
            continue
        base = unicodedata.normalize("NFKD", low)[0] if ord(low) > 127 else low
        out.append(base if unicodedata.category(base)[0] in "LNPSZ" else low)
    return "".join(out)


# -- the word tables (folded forms) ----------------------------------------------------------

_UNITS = {
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    # Spanish
    "cero": 0, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiun": 21,
    "veintiuno": 21, "veintiuna": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
    "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30, "cuarenta": 40,
    "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100,
    "doscientos": 200, "trescientos": 300, "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600,
    "setecientos": 700, "ochocientos": 800, "novecientos": 900,
    # Vietnamese (folded: "năm" -> "nam", "mười"/"mươi" -> "muoi"; "lăm"/"tư"/"mốt" are 5/4/1 after a ten)
    "khong": 0, "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5, "sau": 6, "bay": 7, "tam": 8,
    "chin": 9,
}
_MULT = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "mil": 1000, "millon": 1_000_000,
         "millones": 1_000_000, "tram": 100, "nghin": 1000, "ngan": 1000, "trieu": 1_000_000}
# Vietnamese numerals as written with diacritics: a token with marks must be one of these ("từ", from, folds
# to "tu" like "tư", four); a token typed without marks is read by its folded form.
_VI_MARKED = {"không": 0, "một": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5, "nhăm": 5, "sáu": 6,
              "bảy": 7, "bẩy": 7, "tám": 8, "chín": 9, "mốt": 1, "mười": "muoi", "mươi": "muoi", "trăm": "tram",
              "nghìn": "nghin", "ngàn": "ngan", "triệu": "trieu", "linh": "linh", "lẻ": "le"}
_VI_MARKS = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)
_TEN_VI = "muoi"  # mười (10) or mươi (x10): which one is decided by what precedes it
_JOIN = {"and", "y", "linh", "le"}  # "one hundred and five", "treinta y cinco", "một trăm linh năm"
_POINT = {"point", "punto", "coma", "phay", "cham"}
_VI_WORDS = {"khong", "mot", "hai", "ba", "bon", "tu", "nam", "lam", "sau", "bay", "tam", "chin", "muoi", "tram",
             "nghin", "ngan", "trieu", "linh", "le"}
# Ordinary words that are also numerals: they count only before a unit or a counter.
_AMBIGUOUS = _VI_WORDS | {"one", "un", "una", "uno", "once", "mil"}
_ONE = {"one", "un", "una", "uno", "mot"}  # also an article: a counter noun does not make it a number

_CURRENCY_AFTER = {"dollar": 1.0, "dollars": 1.0, "usd": 1.0, "dolar": 1.0, "dolares": 1.0, "dola": 1.0,
                   "cent": 0.01, "cents": 0.01, "centavo": 0.01, "centavos": 0.01, "centimo": 0.01, "centimos": 0.01}
_CURRENCY_SIGNS = {"$", "€", "£"}
_PERCENT_WORDS = (("%",), ("percent",), ("per", "cent"), ("por", "ciento"), ("porciento",), ("phan", "tram"))
# (words, normalised unit, factor)
_DURATIONS = (
    (("business", "days"), "business_day", 1), (("business", "day"), "business_day", 1),
    (("working", "days"), "business_day", 1), (("working", "day"), "business_day", 1),
    (("dias", "habiles"), "business_day", 1), (("dia", "habil"), "business_day", 1),
    (("dias", "laborables"), "business_day", 1), (("ngay", "lam", "viec"), "business_day", 1),
    (("calendar", "days"), "day", 1), (("dias", "naturales"), "day", 1), (("dias", "calendario"), "day", 1),
    (("ngay", "theo", "lich"), "day", 1), (("ngay", "duong", "lich"), "day", 1),
    (("days",), "day", 1), (("day",), "day", 1), (("dias",), "day", 1), (("dia",), "day", 1), (("ngay",), "day", 1),
    (("weeks",), "day", 7), (("week",), "day", 7), (("semanas",), "day", 7), (("semana",), "day", 7),
    (("tuan",), "day", 7),
    (("months",), "month", 1), (("month",), "month", 1), (("meses",), "month", 1), (("mes",), "month", 1),
    (("thang",), "month", 1),
    (("years",), "month", 12), (("year",), "month", 12), (("anos",), "month", 12), (("ano",), "month", 12),
    (("nam",), "month", 12),
    (("hours",), "hour", 1), (("hour",), "hour", 1), (("horas",), "hour", 1), (("hora",), "hour", 1),
    (("gio",), "hour", 1), (("tieng",), "hour", 1),
)
# Vietnamese counter nouns (and their Spanish/English kin) that license a word numeral.
# (Not "thẻ", card: folded it is English "the", and "once the merchant..." would read as eleven.)
_COUNTERS = {"goi", "ky", "lan", "giao", "khoan", "plans", "planes", "cuotas", "installments", "times", "veces"}

_FEE = {"fee", "fees", "charge", "charges", "charged", "charging", "cost", "costs", "interest", "penalty",
        "penalties", "cargo", "cargos", "comision", "comisiones", "costo", "costos", "coste", "cobra", "cobran",
        "cobrar", "cobro", "cobramos", "cobrara", "interes", "intereses", "penalizacion", "recargo", "phi", "phat"}
_FREE = {"free", "gratis", "gratuito", "gratuita", "gratuitos", "gratuitas"}  # a fee mention that is its own negation
_NEG = {"no", "not", "cannot", "without", "none", "never", "neither", "nor", "ni", "tampoco", "zero", "waived", "waive", "waives", "nothing", "sin",
        "ningun", "ninguna", "ninguno", "nunca", "exento", "exenta", "exonera", "exonerado", "exonerada", "exime",
        "khong", "chang", "chua", "mien", "avoid", "avoids", "avoided", "evita", "evitas", "evitar", "ahorra",
        "ahorras", "ahorrar", "tranh"} | _FREE

_STOP = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its my of on or our that the their "
    "this to was we what when where which who will with you your yes there also any each per "
    "el la los las un una y o de del en por para con que es son se su sus al lo como mas muy le te tu usted si "
    "va la cua co duoc cho cac nhung voi nay do thi ban toi khi de trong tu se"
    .split()
)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[$€£%]|[,;:()]", re.UNICODE)
_PUNCT = frozenset(",;:()")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_CAMEL = re.compile(r"\b[A-Z][a-z]+[A-Z][A-Za-z]*(?:\s+\d+(?:\.\d+)?)?")

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATES = (  # on folded text; groups named y, m (number or name), d
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    re.compile(rf"\b(?P<m>{_MON})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?"),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+|of\s+)?(?P<m>{_MON})\b\.?(?:,?\s+(?:de\s+|del\s+)?(?P<y>\d{{4}})\b)?"),
    re.compile(r"\bngay\s+(?P<d>\d{1,2})\s+thang\s+(?P<m>\d{1,2})(?:\s*(?:nam|,)\s*(?P<y>\d{4}))?\b"),
    re.compile(r"\b(?P<d>\d{1,2})\s+thang\s+(?P<m>\d{1,2})(?:\s*(?:nam|,)\s*(?P<y>\d{4}))?\b"),
    re.compile(r"\bthang\s+(?P<m>\d{1,2})\s*(?:nam|/|,)\s*(?P<y>\d{4})\b"),
    re.compile(rf"\b(?P<m>{_MON})\.?\s+(?:de\s+|del\s+)?(?P<y>\d{{4}})\b"),
)
_NUMERIC_DATE = re.compile(r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})\b")


@dataclass(frozen=True)
class Claim:
    """One checkable fact. `value` is normalised: a float (number, amount, percent), (unit, count) for a
    duration, a frozenset of (year, month, day) readings for a date (None where not given), a folded name for
    a product, and True (negated: no fee) / False (a fee applies) for a negation."""

    kind: str
    value: Any
    text: str  # as written in the answer
    first: int = 0  # token range in its sentence
    last: int = 0

    def __str__(self) -> str:
        return f"{self.kind} {self.text!r}"


@dataclass
class Tokens:
    """A text's tokens: folded forms and their character offsets."""

    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]

    marked: bool = False  # written with Vietnamese diacritics

    @classmethod
    def of(cls, text: str) -> Tokens:
        folded = fold(text).replace("n't", " not").replace("n’t", " not")
        ms = list(_TOKEN.finditer(folded))
        return cls(text, [m.group() for m in ms], [m.start() for m in ms], [m.end() for m in ms],
                   bool(_VI_MARKS.search(text)))

    def raw(self, a: int, b: int) -> str:
        return self.text[self.starts[a] : self.ends[b - 1]] if b > a else ""

    def numeral(self, k: int) -> str | None:
        """Token `k` as a key of the numeral tables, or None: in text written with Vietnamese diacritics a
        numeral must be spelled as one ("từ", from, and "sau", after, are not "tư", four, and "sáu", six);
        in text typed without them a word is read by its folded form."""
        word = self.words[k]
        original = self.text[self.starts[k] : self.ends[k]].lower()
        if word in _VI_WORDS and self.marked:
            marked = _VI_MARKED.get(original)
            return None if marked is None else (word if isinstance(marked, int) else marked)
        if original.isascii() or word not in _VI_WORDS:
            return word if word in _UNITS or word in _MULT or word == _TEN_VI or word in _JOIN or word in _POINT else None
        marked = _VI_MARKED.get(original)
        return None if marked is None else (word if isinstance(marked, int) else marked)


def _digits(raw: str) -> float:
    """A digit string as a value: `5,000` = 5000, `1.000` (es) = 1000, `9,9` = 9.9, `2.50` = 2.5."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d{1,3}(?:\.\d{3})+", raw):
        return float(re.sub(r"[.,]", "", raw))
    point = max(raw.rfind("."), raw.rfind(","))  # with both, the last one is the decimal point
    whole, frac = raw[:point], raw[point + 1 :]
    return float(re.sub(r"[.,]", "", whole) + "." + frac) if point >= 0 else float(raw)


def _number_at(tok: Tokens, i: int) -> tuple[float, int, bool] | None:
    """The number starting at token `i`: (value, index after it, written as words)."""
    if _DIGITS.fullmatch(tok.words[i]):
        return _digits(tok.words[i]), i + 1, False
    w = [tok.numeral(k) or "" for k in range(len(tok.words))]
    if w[i] not in _UNITS and w[i] not in _MULT and w[i] != _TEN_VI:
        return None
    total = current = 0
    last_unit = None  # the last plain unit word, for Vietnamese "hai mươi" (2 x 10)
    j = i
    while j < len(w):
        word = w[j]
        if word == _TEN_VI:
            if last_unit is not None and current % 10 == last_unit and last_unit > 0:
                current += last_unit * 9
            else:
                current += 10
            last_unit = None
        elif word in _UNITS:
            value = _UNITS[word]
            after_ten = j > i and w[j - 1] == _TEN_VI
            if word in {"lam", "tu"} and not after_ten or word == "mot" and j > i and not after_ten:
                break  # "lăm", "tư" (and "mốt") only follow a ten: alone, "tu" is "từ" (from) typed without marks
            if value >= 20 and current % 100 != 0:
                break  # "twenty twenty": two numbers
            if value < 10 and current % 10 != 0 and j > i:
                break  # "two three": two numbers
            current += value
            last_unit = value if value < 10 else None
        elif word in _MULT:
            mult = _MULT[word]
            if mult == 100:
                current = (current or 1) * 100
            else:
                total += (current or 1) * mult
                current = 0
            last_unit = None
        elif word in _JOIN and j > i and j + 1 < len(w) and (w[j + 1] in _UNITS or w[j + 1] == _TEN_VI):
            j += 1
            continue
        else:
            break
        j += 1
    if j == i:
        return None
    value = float(total + current)
    if j + 1 < len(w) and tok.words[j] in _POINT and w[j + 1] in _UNITS and _UNITS[w[j + 1]] < 10:
        digits = ""
        j += 1
        while j < len(w) and w[j] in _UNITS and _UNITS[w[j]] < 10:
            digits += str(_UNITS[w[j]])
            j += 1
        value = float(f"{int(value)}.{digits}")
    return value, j, True


def _match(words: Sequence[str], j: int, phrase: Sequence[str]) -> bool:
    return tuple(words[j : j + len(phrase)]) == tuple(phrase)


def _unit_after(tok: Tokens, j: int, *, digits: bool = True) -> tuple[str, Any, int] | None:
    """What follows a number at token `j`: ("percent"|"amount"|"duration"|"counter", factor/unit, end)."""
    w = tok.words
    for phrase in _PERCENT_WORDS:
        if _match(w, j, phrase):
            return "percent", 1.0, j + len(phrase)
    if j < len(w):
        if w[j] in _CURRENCY_AFTER:
            return "amount", _CURRENCY_AFTER[w[j]], j + 1
        if w[j] in _CURRENCY_SIGNS and digits:  # "15 $" (es); never "tư $": that is "từ $50"
            return "amount", 1.0, j + 1
        if w[j] == "do" and (_match(w, j, ("do", "la")) or tok.text[tok.starts[j]].lower() == "đ"
                             or j + 1 == len(w) or w[j + 1] not in {"not", "you", "we", "they", "so", "this", "it"}):
            return "amount", 1.0, j + (2 if _match(w, j, ("do", "la")) else 1)
    for phrase, unit, factor in _DURATIONS:
        if _match(w, j, phrase):
            return "duration", (unit, factor), j + len(phrase)
    if j < len(w) and w[j] in _COUNTERS:
        return "counter", None, j
    return None


def _dates(text: str, folded: str) -> list[tuple[int, int, frozenset]]:
    """(start, end, readings) for every date in folded text, longest first where they overlap."""
    found = []
    for rx in _DATES:
        for m in rx.finditer(folded):
            g = m.groupdict()
            if not g["m"].isdigit() and len(g["m"].rstrip(".")) <= 4 and g["m"] not in ("may", "june", "july"):
                written = text[m.start("m") : m.end("m")]
                if not (written[0].isupper() and not written.isupper()):
                    continue  # "APR 9.9%", "mar 3": an abbreviation counts only as written "Apr", "Sept."
            month = _MONTHS.get(g["m"].rstrip(".")) if not g["m"].isdigit() else int(g["m"])
            day = int(g["d"]) if g.get("d") else None
            year = int(g["y"]) if g.get("y") else None
            if month and 1 <= month <= 12 and (day is None or 1 <= day <= 31):
                found.append((m.start(), m.end(), frozenset({(year, month, day)})))
    for m in _NUMERIC_DATE.finditer(folded):
        a, b, y = int(m["a"]), int(m["b"]), int(m["y"])
        readings = {(y, mo, d) for d, mo in ((a, b), (b, a)) if 1 <= mo <= 12 and 1 <= d <= 31}
        if readings:
            found.append((m.start(), m.end(), frozenset(readings)))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: list[tuple[int, int, frozenset]] = []
    for f in found:
        if not out or f[0] >= out[-1][1]:
            out.append(f)
    return out


def _squeeze(name: str) -> str:
    """A product name as compared: folded, no spaces or punctuation, a trailing ".0" dropped."""
    name = re.sub(r"(\d+)\.0\b", r"\1", fold(name))
    return re.sub(r"[\W_]+", "", name)


@dataclass(frozen=True)
class Lexicon:
    """Product names: the policy's list plus any CamelCase versioned names seen in the cited spans."""

    names: tuple[str, ...] = ()
    squeezed: dict[str, str] = field(default_factory=dict)  # squeezed -> display name

    @classmethod
    def of(cls, names: Iterable[str]) -> Lexicon:
        names = tuple(dict.fromkeys(n for n in names if n.strip()))
        return cls(names, {_squeeze(n): n for n in names})


def _products(tok: Tokens, lexicon: Lexicon) -> list[tuple[int, int, str]]:
    """(first, end, squeezed name) for product mentions, longest match first."""
    out = []
    i = 0
    w = tok.words
    camel = [(m.start(), m.end()) for m in _CAMEL.finditer(tok.text)]
    while i < len(w):
        best = None
        joined = ""
        for j in range(i, min(len(w), i + 6)):
            part = w[j]
            if _DIGITS.fullmatch(part):
                part = re.sub(r"\.0$", "", part)
            joined += re.sub(r"[\W_]+", "", part)
            if joined in lexicon.squeezed:
                best = (i, j + 1, joined)
        for a, b in camel:  # a versioned CamelCase name the lexicon lacks ("FlexPay 3.0"), when longer
            if tok.starts[i] == a:
                end = max(k for k in range(i, len(w)) if tok.ends[k] <= b) + 1
                if best is None or end > best[1]:
                    best = (i, end, _squeeze(tok.text[a:b]))
        if best:
            out.append(best)
            i = best[1]
        else:
            i += 1
    return out


def extract_claims(text: str, lexicon: Lexicon = Lexicon()) -> list[Claim]:
    """Every claim in `text` (one sentence, or a span unit), in order."""
    claims, _ = _extract(text, lexicon)
    return claims


def _extract(text: str, lexicon: Lexicon) -> tuple[list[Claim], Tokens]:
    tok = Tokens.of(text)
    w = tok.words
    taken = [False] * len(w)
    claims: list[Claim] = []

    def take(kind: str, value: Any, a: int, b: int) -> None:
        for k in range(a, b):
            taken[k] = True
        claims.append(Claim(kind, value, tok.raw(a, b), a, b))

    for a, b, name in _products(tok, lexicon):
        take("product", name, a, b)
    folded = fold(text)
    for s, e, readings in _dates(text, folded):
        idx = [k for k in range(len(w)) if tok.starts[k] >= s and tok.ends[k] <= e and not taken[k]]
        if idx:
            take("date", readings, idx[0], idx[-1] + 1)
    i = 0
    while i < len(w):
        if taken[i]:
            i += 1
            continue
        sign_before = w[i] in _CURRENCY_SIGNS or (w[i] in {"usd", "us"} and i + 1 < len(w))
        start = i
        if sign_before:
            j = i + 1
            if w[i] == "us" and j < len(w) and w[j] == "$":
                j += 1
            elif w[i] == "us":
                i += 1
                continue
            got = _number_at(tok, j) if j < len(w) and not taken[j] else None
            if got is None:
                i += 1
                continue
            value, end, _ = got
            after = _unit_after(tok, end)
            if after and after[0] == "amount" and w[end] not in _CURRENCY_SIGNS:
                end = after[2]  # "$15 USD"
            take("amount", value, start, end)
            i = end
            continue
        got = _number_at(tok, i)
        if got is None:
            i += 1
            continue
        value, end, as_words = got
        after = _unit_after(tok, end, digits=not as_words)
        one = set(w[i:end]) <= _ONE
        if as_words and any(x in _AMBIGUOUS for x in w[i:end]) and (
                after is None or after[0] == "counter" and one
                or one and i > 0 and (taken[i - 1] or w[i - 1] in {"lan", "veces", "times"})):  # "2 lần một ngày": per day
            i = end
            continue
        if after is None and end < len(w) and w[end] in {"st", "nd", "rd", "th"} and not as_words:
            i = end + 1  # an ordinal ("3rd"), not a quantity
            continue
        if after is None or after[0] == "counter":
            take("number", value, i, end)
        elif after[0] == "percent":
            take("percent", value, i, after[2])
        elif after[0] == "amount":
            take("amount", round(value * after[1], 2), i, after[2])
        else:
            unit, factor = after[1]
            take("duration", (unit, value * factor), i, after[2])
        i = after[2] if after and after[0] != "counter" else end
    claims.extend(_fee_claims(tok))
    claims.sort(key=lambda c: c.first)
    _coordinate(claims, tok)
    return claims, tok


_COMPARATIVE = {"more", "less", "fewer", "later", "longer", "than", "mas", "menos", "qua", "hon"}
_CLAUSE_WORDS = {"when", "if", "unless", "because", "but", "while", "although", "cuando", "si", "pero", "aunque",
                 "mientras", "porque", "khi", "neu", "nhung", "thi", "vi"}


def _fee_claims(tok: Tokens) -> list[Claim]:
    """One negation claim per clause that mentions a fee: negated when it holds a negator or a free-word
    (not both), or neither but a zero amount ("Fee $0")."""
    w = tok.words
    out, start = [], 0
    for k in range(len(w) + 1):
        if k < len(w) and w[k] not in _PUNCT and w[k] not in _CLAUSE_WORDS:
            continue
        mentions = [j for j in range(start, k) if w[j] in _FEE or w[j] in _FREE]
        if mentions:
            # "no more than 2", "không quá $50": a limit on a quantity, not a negated fee
            negator = any(w[j] in _NEG and w[j] not in _FREE and (j + 1 >= len(w) or w[j + 1] not in _COMPARATIVE)
                          for j in range(start, k))
            free = any(w[j] in _FREE for j in range(start, k))
            # The clause's first number says whether the fee is zero; a clause without one takes the next in the
            # sentence ("the fee for incoming, domestic wires is $0": the comma ends no statement).
            numbers = [j for j in range(start, len(w)) if _DIGITS.fullmatch(w[j])]
            zero = bool(numbers) and _digits(w[numbers[0]]) == 0
            # Several negators are one negation ("sin ningún costo", "no se cobra nada": negative concord);
            # a negator and a free-word cancel ("not free", "no es gratis").
            negated = negator != free or (not negator and not free and zero)
            first = mentions[0]
            out.append(Claim("negation", negated, tok.raw(max(start, first - 2), min(k, first + 2)), first, first + 1))
        start = k + 1
    return out


_COORD = {"and", "or", "to", "y", "o", "a", "hasta", "den", "va", "hoac", "toi", "-", ","}


def _coordinate(claims: list[Claim], tok: Tokens) -> None:
    """A bare number coordinated with a measured one takes its unit: "12 and 24 months", "1 to 3 days"."""
    for n in range(len(claims) - 2, -1, -1):
        c, nxt = claims[n], claims[n + 1]
        if c.kind != "number" or nxt.kind not in ("duration", "percent") or nxt.first - c.last != 1:
            continue
        if tok.words[c.last] not in _COORD:
            continue
        value: Any = c.value if nxt.kind == "percent" else (nxt.value[0], c.value * nxt.value[1] / _count(nxt))
        claims[n] = Claim(nxt.kind, value, c.text, c.first, c.last)


# -- span units and support ----------------------------------------------------------------------------


def _stem(word: str) -> str:
    """A crude stem that works alike in the three languages: plural -s dropped, then the first four letters."""
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    return word[:4]


def features(tok: Tokens, claims: Sequence[Claim], skip: Claim | None = None,
             window: tuple[int, int, int] | None = None) -> set[str]:
    """What a text (or a window of it) says, for alignment: content-word stems and claim values."""
    owned = {}
    for c in claims:
        for k in range(c.first, c.last):
            owned[k] = c
    if window is None:
        span = range(len(tok.words))
    else:  # `n` words either side of the claim, punctuation not counted
        first, last, n = window
        before = [k for k in range(first - 1, -1, -1) if tok.words[k] not in _PUNCT][:n]
        after = [k for k in range(last, len(tok.words)) if tok.words[k] not in _PUNCT][:n]
        span = sorted(before + after)
    out = set()
    for k in span:
        c = owned.get(k)
        if c is not None:
            if c is not skip and c.kind != "negation":
                out.add(_key(c))
            if c.kind != "negation":
                continue
        word = tok.words[k]
        if word not in _STOP and not _DIGITS.fullmatch(word) and len(word) > 1:
            out.add(_stem(word))
    return out


def _key(c: Claim) -> str:
    if c.kind == "product":
        return f"p:{c.value}"
    if c.kind == "date":
        y, m, d = sorted(c.value, key=str)[0]
        return f"d:{m}-{d}"
    value = c.value[1] if c.kind == "duration" else c.value
    return f"v:{value:g}"


@dataclass
class Unit:
    """One statement of a cited span (a sentence, a list item, a table row read with its header)."""

    text: str
    claims: list[Claim]
    features: set[str]
    ambient: list[Claim]  # claims of the span's title: true of every unit of the span
    around: list[set[str]] = field(default_factory=list)  # each claim's nearby words, as an answer claim's

    def holds(self, claim: Claim) -> bool:
        """Whether this unit states `claim`."""
        return any(_same(claim, c) for c in [*self.claims, *self.ambient])

    def states(self, kind: str) -> bool:
        """Whether the unit states any value of `kind` (a number: any value at all)."""
        if kind == "negation":
            return bool(self.polarities())
        have = {c.kind for c in [*self.claims, *self.ambient]}
        if kind == "number":
            return bool(have - {"product", "negation"})
        return kind in have

    def polarities(self) -> set[bool]:
        """What the unit says about fees: explicit mentions, else its amounts (non-zero: a fee; zero: none)."""
        explicit = {c.value for c in self.claims if c.kind == "negation"}
        if explicit:
            return explicit
        return {c.value == 0 for c in self.claims if c.kind in ("amount",)}


def _same(claim: Claim, c: Claim) -> bool:
    k = claim.kind
    if k == "number":
        return c.kind in ("number", "amount", "percent") and c.value == claim.value or (
            c.kind == "duration" and claim.value in (c.value[1], _count(c))) or (
            c.kind == "date" and any(claim.value in (y, m, d) for y, m, d in c.value))
    if c.kind != k:
        return False
    if k == "date":
        return any(all(x is None or x == y for x, y in zip(r, s)) for r in claim.value for s in c.value)
    if k in ("amount", "percent"):
        return abs(claim.value - c.value) < 1e-9
    if k == "product":  # "FlexPay" (the family) is named by a "FlexPay 2.0" span; "FlexPay 1.0" is not
        return c.value == claim.value or c.value.startswith(claim.value) and not claim.value[-1:].isdigit()
    return claim.value == c.value


def _count(c: Claim) -> float:
    """A duration's count as written ("two weeks": 2)."""
    words = Tokens.of(c.text).words
    got = _number_at(Tokens.of(c.text), 0) if words else None
    return got[0] if got else c.value[1]


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n\s*\n")


def span_units(text: str, *, title: str = "", context: str = "", lexicon: Lexicon = Lexicon(),
               window: int = 5) -> list[Unit]:
    """The statements of a cited span: a table row read as "header: cell" pairs, else its sentences."""
    header = next((line for line in context.splitlines() if line.strip().startswith("|")), "")
    ambient = extract_claims(title, lexicon) if title else []
    years = {int(c.value) for c in ambient if c.kind == "number" and 1900 <= c.value <= 2100 and c.value.is_integer()}
    ambient = [c for c in ambient if c.kind in ("product", "date")]
    if text.strip().startswith("|"):
        cells = _cells(text)
        head = _cells(header)
        pieces = ["; ".join(f"{h} {c}" for h, c in zip(head, cells, strict=True)) if len(head) == len(cells)
                  else "; ".join(cells)]
    else:
        pieces = [p for p in _SENTENCE.split(text) if p.strip()]
    units = []
    for piece in pieces:
        claims, tok = _extract(piece, lexicon)
        if len(years) == 1:  # "Labor Day | September 7" in the "2026 holiday schedule"
            claims = [_with_year(c, next(iter(years))) for c in claims]
        around = [features(tok, claims, skip=c, window=(c.first, c.last, window)) for c in claims]
        units.append(Unit(piece, claims, features(tok, claims) | {_key(c) for c in ambient}, ambient, around))
    return units


def _with_year(c: Claim, year: int) -> Claim:
    if c.kind != "date":
        return c
    value = frozenset((year if y is None else y, m, d) for y, m, d in c.value)
    return Claim(c.kind, value, c.text, c.first, c.last)


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def sentence_claims(sentence: str, lexicon: Lexicon, window: int) -> list[tuple[Claim, set[str]]]:
    """Each claim of an answer sentence with the features of the words around it (its alignment key)."""
    claims, tok = _extract(sentence, lexicon)
    return [(c, features(tok, claims, skip=c, window=(c.first, c.last, window))) for c in claims]


def support(claim: Claim, around: set[str], units: Sequence[Unit]) -> bool:
    """Whether the span units the claim's nearby words align with best state it.

    Why alignment, not "the value appears somewhere in the cited text": a fee
    table holds $25 twice and $30 once, so "a stop payment costs $25" would pass
    on value alone. The claim is compared with the units that share the most
    of its nearby words and values (the stop-payment row), so a value moved to
    the wrong row is caught. Units that share none fall back to all units.
    """
    units = [u for u in units if u.states(claim.kind)]
    if not units:
        # A fee the spans say nothing about ("dispute a charge": a transaction) contradicts none of them; a
        # promise of no fee needs a span that makes it.
        return claim.kind == "negation" and claim.value is False
    scored = [(len(around & u.features), u) for u in units]
    if not scored:
        return False
    best = max(s for s, _ in scored)
    candidates = [u for s, u in scored if s == best] if best > 0 else [u for _, u in scored]
    if claim.kind == "negation":
        return any(claim.value in u.polarities() for u in candidates)
    if claim.kind in ("product", "date") and any(_same(claim, c) for u in candidates for c in u.ambient):
        return True
    # Then the same inside the units: the value must sit where the claim's nearby words point ("the $5
    # monthly maintenance fee is waived with a $500 minimum balance": $5 is the fee), at an occurrence that
    # shares at least half as many as the best one (a paraphrase moves words; coordinated values share theirs).
    occurrences = [(len(around & near), c) for u in candidates for c, near in zip(u.claims, u.around, strict=True)
                   if _comparable(claim, c)]
    if not occurrences:
        return False
    top = max(n for n, _ in occurrences)
    return any(_same(claim, c) for n, c in occurrences if 2 * n >= top)


def _comparable(claim: Claim, c: Claim) -> bool:
    """Whether `c` is a value `claim` could be confused with (and so must be told apart from)."""
    if claim.kind == "number":
        return c.kind not in ("product", "negation")
    return c.kind == claim.kind
