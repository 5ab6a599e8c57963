"""Reworded copies of the reader's training questions: the words a customer uses, not the passage's.

The reader's template questions (`reading`) repeat their passage's words, so a
reader trained on them alone learns that an answering span shares the
question's terms: its selector weighed term overlap 4.9 against 0.09 for the
span head's own score, and refused most paraphrases (dev set, min_answerability
0.4: 0.28 of answerable English questions answered right). A rewording swaps
phrases for everyday synonyms the documents do not use ("fee" -> "charge",
"minimum" -> "smallest"), drops filler words, and sometimes writes as people
type: lowercase without punctuation, accents left off, a letter swapped.

The synonym lists are general banking vocabulary, written from the documents'
own terms; none was taken from a held-out or dev question.
"""

from __future__ import annotations

import random
import re

from loopwright.text import strip_accents

SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "fee": ("charge", "cost", "price"), "fees": ("charges", "costs"), "purchase": ("buy", "transaction", "thing I buy"),
        "purchases": ("buys", "spending", "things I buy"), "minimum": ("smallest", "lowest", "least"),
        "maximum": ("most", "largest", "biggest", "max"), "at most": ("no more than", "max"), "limit": ("cap", "max", "ceiling"),
        "limited to": ("capped at", "maxed at"), "installment": ("payment", "monthly payment"),
        "installments": ("payments", "monthly payments"), "apr": ("interest rate", "interest"),
        "apy": ("interest rate", "yield", "rate"), "rate": ("interest", "yield"), "withdrawals": ("cash out", "taking money out"),
        "withdrawal": ("taking money out", "cash out"), "deposit": ("put in", "pay in"), "outgoing": ("sending", "sent"),
        "incoming": ("receiving", "received"), "international": ("overseas", "abroad", "foreign"),
        "domestic": ("within the US", "US"), "expedited": ("rush", "express", "fast"), "replacement": ("new card", "replacing"),
        "waived": ("avoided", "skipped", "dropped"), "waives": ("gets rid of", "avoids"), "dispute": ("contest", "challenge"),
        "provisional credit": ("temporary credit", "money back for now"), "statement": ("bill", "monthly statement"),
        "business days": ("working days", "weekdays"), "calendar days": ("days",), "free": ("no cost", "costs nothing"),
        "early": ("ahead of time", "sooner"), "closed": ("shut",), "open": ("start", "set up"), "cutoff": ("deadline", "latest time"),
        "branch": ("location", "office"), "branches": ("locations", "offices"), "atm": ("cash machine",),
        "overdraft": ("overdrawing", "going negative"), "overdrawn": ("negative", "in the red"), "frozen": ("locked",),
        "freeze": ("lock", "block"), "unfreeze": ("unlock",), "transfer": ("move money", "send money"), "wire": ("wire transfer",),
        "balance": ("money in the account", "amount"), "monthly": ("per month", "a month"), "per day": ("a day", "daily"),
        "charged": ("billed", "hit with"), "applies": ("is charged",), "receive": ("get",), "arrive": ("land", "show up"),
        "cancelled": ("undone", "reversed"), "required": ("needed",), "filed": ("submitted", "opened"),
    },
    "es": {
        "comisión": ("cargo", "costo", "precio"), "comisiones": ("cargos", "costos"), "mínimo": ("más bajo", "menor"),
        "máximo": ("más alto", "tope", "como mucho"), "límite": ("tope", "máximo"), "compra": ("gasto", "transacción"),
        "cuotas": ("pagos", "pagos mensuales"), "transferencia": ("envío", "giro"), "retiros": ("sacar dinero",),
        "tasa": ("interés",), "gratis": ("sin costo", "no cuesta nada"), "días hábiles": ("días laborables",),
        "sucursales": ("oficinas",), "enviada": ("que mando", "saliente"), "recibida": ("que recibo", "entrante"),
        "tarjeta": ("plástico",), "cuenta": ("cta",), "se exime": ("no se cobra",),
    },
    "vi": {
        "phí": ("tiền phí", "chi phí", "mất bao nhiêu tiền"), "tối đa": ("nhiều nhất", "cao nhất"), "tối thiểu": ("ít nhất", "thấp nhất"),
        "hạn mức": ("giới hạn", "mức tối đa"), "giao dịch": ("khoản mua", "lần mua"), "chuyển khoản": ("chuyển tiền", "gửi tiền"),
        "lãi suất": ("lãi", "tiền lãi"), "miễn phí": ("không mất tiền", "không tốn phí"), "chi nhánh": ("văn phòng",),
        "rút tiền": ("lấy tiền",), "tài khoản": ("tk",), "ngày làm việc": ("ngày thường",),
    },
}
FILLER = {"en": {"the", "a", "an", "is", "are", "for", "of", "your", "my", "on", "to"}, "es": {"el", "la", "los", "las", "de", "es", "un", "una"},
          "vi": {"là", "của", "cho", "các", "một"}}
OPENERS = {"en": ("", "", "hey ", "quick question: ", "can you tell me "), "es": ("", "", "hola, ", "una pregunta: "),
           "vi": ("", "", "cho hỏi ", "xin hỏi ")}
_PHRASES = {lang: re.compile(r"(?<!\w)(" + "|".join(sorted(map(re.escape, table), key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE)
            for lang, table in SYNONYMS.items()}


def _typo(word: str, rng: random.Random) -> str:
    """One slip of the keyboard in a long word: two letters swapped or one dropped."""
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :] if rng.random() < 0.5 else word[:i] + word[i + 1 :]


def reword(question: str, language: str, rng: random.Random) -> str:
    """`question` in other words: synonyms swapped in (most of them), some filler dropped, maybe typed casually."""
    table = SYNONYMS.get(language, SYNONYMS["en"])
    text = _PHRASES.get(language, _PHRASES["en"]).sub(
        lambda m: rng.choice(table[m.group(1).lower()]) if rng.random() < 0.8 else m.group(1), question)
    words = [w for w in text.split() if not (w.lower() in FILLER.get(language, set()) and rng.random() < 0.4)]
    opener = rng.choice(OPENERS.get(language, OPENERS["en"]))
    text = " ".join(words)
    text = opener + text[:1].lower() + text[1:] if opener else text
    if rng.random() < 0.5:  # typed on a phone: lowercase, no question mark
        text = re.sub(r"[?¿!.]", "", text.lower()).strip()
    if language != "en" and rng.random() < 0.4:
        text = strip_accents(text)
    long_words = [k for k, w in enumerate(text.split()) if len(w) >= 6 and w.isalpha()]
    if long_words and rng.random() < 0.3:
        words = text.split()
        k = rng.choice(long_words)
        words[k] = _typo(words[k], rng)
        text = " ".join(words)
    return text
