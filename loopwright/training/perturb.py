"""Seeded rewrites of held-out items, for the robustness part of `loopwright eval`.

    perturb(kind, text, language, seed=0, key=item_id) -> text'   # the same inputs always give the same text'

Each is what customers really type, not an adversary: `typos` (adjacent keys,
dropped, doubled and swapped letters, in about a third of the words), `accents`
(diacritics stripped, as on a keyboard without a Spanish or Vietnamese layout),
`casing` (ALL CAPS or Title Case), `code_switch` (bank terms in the other
language: English ones in Spanish and Vietnamese messages, Spanish ones in
English), and `paraphrase` (a greeting or courtesy frame and synonym swaps, so
the meaning stays and the surface moves), and `masked_pii` (contact details the
gateway has masked, `<EMAIL_1>`, before or after the request, as triage reads
it). The word lists here were written for
this module, not taken from the sample's phrasebooks. Tokens holding a digit are
left alone, so card endings and amounts survive for the PII policy and the
tools. A rewrite that changes nothing (`accents` on most English) is reported as
unchanged and left out of that kind's figure.
"""

from __future__ import annotations

import random
import re

from loopwright.text import strip_accents

KINDS = ("typos", "accents", "casing", "code_switch", "paraphrase", "masked_pii")

_NEIGHBOURS = {  # QWERTY neighbours of each letter
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb",
    "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa",
    "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}

# Bank terms and the word a bilingual customer drops in from the other language (lower case, matched whole).
_SWITCH = {
    "en": {"card": "tarjeta", "account": "cuenta", "fee": "comisión", "fees": "comisiones", "balance": "saldo",
           "branch": "sucursal", "transfer": "transferencia", "wire": "giro", "refund": "reembolso",
           "charge": "cargo", "savings": "ahorros", "money": "dinero", "please": "por favor"},
    "es": {"tarjeta": "card", "cuenta": "account", "comisión": "fee", "comisiones": "fees", "saldo": "balance",
           "sucursal": "branch", "transferencia": "transfer", "reembolso": "refund", "cargo": "charge",
           "disputa": "dispute", "ahorros": "savings", "dinero": "money", "por favor": "please", "tasa": "rate"},
    "vi": {"thẻ": "card", "tài khoản": "account", "phí": "fee", "số dư": "balance", "chi nhánh": "branch",
           "chuyển tiền": "transfer", "chuyển khoản": "transfer", "hoàn tiền": "refund", "khiếu nại": "dispute",
           "lãi suất": "rate", "tiết kiệm": "savings", "ngân hàng": "bank", "nhân viên": "agent"},
}

_FRAMES = {
    "en": ("hi, {}", "{}, thanks", "quick question: {}", "sorry to bother you, {}", "could you help me? {}",
           "I was wondering, {}"),
    "es": ("hola, {}", "{}, gracias", "una pregunta: {}", "disculpa la molestia, {}", "¿me ayudas? {}",
           "buenas tardes, {}"),
    "vi": ("chào bạn, {}", "{}, cảm ơn", "cho mình hỏi, {}", "xin lỗi làm phiền, {}", "bạn giúp mình với, {}",
           "làm ơn cho hỏi {}"),
}
_SYNONYMS = {
    "en": {"want": "would like", "money": "cash", "how much": "what amount", "can i": "am i able to",
           "please": "pls", "lost": "misplaced", "stolen": "taken", "open": "set up", "need": "have to get"},
    "es": {"quiero": "me gustaría", "necesito": "ocupo", "dinero": "plata", "por favor": "porfa",
           "¿cuánto": "¿qué tanto", "puedo": "es posible", "perdí": "extravié", "ayer": "el día de ayer"},
    "vi": {"tôi": "mình", "không": "ko", "được": "đc", "bao nhiêu": "bao nhiu", "muốn": "cần",
           "giúp": "hỗ trợ", "làm sao": "cách nào"},
}


# Not the training augmentation's clauses (loopwright.training.data.augment): robustness is measured on new wording.
_MASKED = {
    "en": ("hello, <EMAIL_1> here. {}", "{} (my phone: <PHONE_1>)", "I'm <NAME_1>. {}", "{} - card ending <CARD_1>"),
    "es": ("hola, les escribe <EMAIL_1>. {}", "{} (mi teléfono: <PHONE_1>)", "me llamo <NAME_1>. {}", "{} - tarjeta <CARD_1>"),
    "vi": ("xin chào, mình là <NAME_1>. {}", "{} (điện thoại: <PHONE_1>)", "email mình: <EMAIL_1>. {}", "{} - thẻ <CARD_1>"),
}


def _rng(seed: int, kind: str, key: str) -> random.Random:
    return random.Random(f"{seed}:{kind}:{key}")  # per item, so adding items never moves another's rewrite


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word) - 1)
    op = rng.choice(("swap", "drop", "double", "neighbour"))
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "drop":
        return word[:i] + word[i + 1 :]
    if op == "double":
        return word[: i + 1] + word[i] + word[i + 1 :]
    near = _NEIGHBOURS.get(word[i].lower())
    return word[:i] + (rng.choice(near) if near else word[i]) + word[i + 1 :]


def typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    chosen = [i for i in candidates if rng.random() < 0.33] or [rng.choice(candidates)]
    for i in chosen:
        words[i] = _typo(words[i], rng)
    return " ".join(words)


def casing(text: str, rng: random.Random) -> str:
    return text.upper() if rng.random() < 0.5 else text.title()


def _swap_terms(text: str, table: dict[str, str], rng: random.Random, share: float) -> str:
    """Replace whole-word occurrences of `table`'s terms (longest first), each with probability `share`."""
    for term in sorted(table, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
        text = pattern.sub(lambda m, new=table[term]: new if rng.random() < share else m.group(0), text)
    return text


def code_switch(text: str, language: str, rng: random.Random) -> str:
    return _swap_terms(text, _SWITCH.get(language, {}), rng, 0.7)


def paraphrase(text: str, language: str, rng: random.Random) -> str:
    swapped = _swap_terms(text, _SYNONYMS.get(language, {}), rng, 0.6)
    frames = _FRAMES.get(language)
    if not frames:
        return swapped
    body = swapped.rstrip()
    frame = rng.choice(frames)
    if frame.startswith("{}"):
        body = body.rstrip("?.!")
    elif body[:1].isupper() and not body[:2].isupper():
        body = body[0].lower() + body[1:]
    return frame.format(body)


def masked_pii(text: str, language: str, rng: random.Random) -> str:
    frames = _MASKED.get(language)
    if not frames:
        return text
    return rng.choice(frames).replace("{}", text.strip())


def perturb(kind: str, text: str, language: str, *, seed: int = 0, key: str = "") -> str:
    """`text` rewritten by `kind` (one of KINDS), deterministically for (seed, kind, key)."""
    rng = _rng(seed, kind, key or text)
    if kind == "typos":
        return typos(text, rng)
    if kind == "accents":
        return strip_accents(text)
    if kind == "casing":
        return casing(text, rng)
    if kind == "code_switch":
        return code_switch(text, language, rng)
    if kind == "paraphrase":
        return paraphrase(text, language, rng)
    if kind == "masked_pii":
        return masked_pii(text, language, rng)
    raise ValueError(f"unknown perturbation {kind!r} (known: {', '.join(KINDS)})")
