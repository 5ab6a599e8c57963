"""A realistic request stream for the Larkspur assistant, with ground truth for judging answers.

Each request has Poisson arrival time `t` (seconds from the start), caller,
text, true intent, a `kind` and the `expect` checks its answer must pass,
drawn from the same question bank as the goldens. About 20% of requests
repeat an earlier text exactly and 15% repeat it with different casing,
spacing, punctuation or number formatting, so a normalising cache has
something to win. The stream is deterministic for a seed and is generated
lazily; memory stays flat however many requests are drawn.
"""

import json
import random
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from loopwright.samples.bank import DATA_DIR, actions
from loopwright.samples.bank.catalog import INTENTS
from loopwright.samples.bank.noise import perturb
from loopwright.samples.bank.questions import DECLINE, FAQ, RETAIL, STAFF, Question, staff_questions
from loopwright.samples.bank.utterances import PHRASES, fill

ARRIVALS_PER_S = 4.0
REPEAT_SHARE = 0.20
NEAR_REPEAT_SHARE = 0.15
TYPO_SHARE = 0.2
KINDS = {"faq": 0.55, "tool": 0.14, "pii": 0.10, "unsafe_tool": 0.05, "chitchat": 0.10, "staff": 0.06}
LANGUAGES = {"en": 0.75, "es": 0.15, "vi": 0.10}
# Kinds whose text names no customer, so another caller may send the very same text.
REPEATABLE = ("faq", "chitchat", "staff")
# Intents whose templates are plain questions (no action, no customer data).
QUESTION_INTENTS = tuple(i["name"] for i in INTENTS if i["tool"] is None and i["name"] != "other")
NOT_CONTAIN = {"savings_rates": ["2.25%", "2.50%"], "flexpay": ["1.5%"]}  # stale rates and fees
# Greetings and sign-offs around a known question: new surface text, same expected answer.
WRAPPERS = {
    "en": (["", "", "", "Hi, ", "Hello! ", "Quick question: ", "hey ", "Good morning. ", "Sorry to bother you, "],
           ["", "", "", " Thanks!", " thank you", " Please help.", " asap", " (asking for my mom)"]),
    "es": (["", "", "Hola, ", "Buenas, ", "Una pregunta: ", "Buenos días. "], ["", "", " Gracias.", " Por favor."]),
    "vi": (["", "", "Chào bạn, ", "Cho hỏi, ", "Xin chào. "], ["", "", " Cảm ơn.", " Cảm ơn bạn nhiều."]),
}
OWN_ACTIONS = {"card_freeze": 0.35, "card_unfreeze": 0.2, "card_lost": 0.15, "dispute_initiation": 0.2,
               "human_agent": 0.1}


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def wrap(text: str, language: str, rng: random.Random) -> str:
    """`text` with a random greeting before it and sign-off after it (either may be empty)."""
    prefixes, suffixes = WRAPPERS[language]
    return rng.choice(prefixes) + text + rng.choice(suffixes)


def reformat(text: str, rng: random.Random) -> str:
    """The same message with different casing, spacing, punctuation or number formatting."""
    options = [
        lambda s: s.lower() if s != s.lower() else s.capitalize(),
        lambda s: "  ".join(s.split(" ")) if " " in s else s + " ",
        lambda s: s.rstrip("?!. ") if s.rstrip()[-1:] in "?!." else s + "?",
        lambda s: re.sub(r"(\d),(\d{3})", r"\1\2", s),
        lambda s: re.sub(r"(\d+\.\d)0%", r"\1%", s),
    ]
    for op in rng.sample(options, len(options)):
        changed = op(text)
        if changed != text:
            return changed
    return text + " "


class _World:
    """The customer book and the text pools the stream draws from."""

    def __init__(self, data_dir: Path) -> None:
        self.customers = _read_jsonl(data_dir / "customers.jsonl")
        self.cards = _read_jsonl(data_dir / "cards.jsonl")
        cards_of: dict[str, list[dict]] = {}
        for card in self.cards:
            cards_of.setdefault(card["customer_id"], []).append(card)
        self.cards_of = cards_of
        txns_of: dict[str, list[dict]] = {}
        for txn in _read_jsonl(data_dir / "transactions.jsonl"):
            txns_of.setdefault(txn["card_id"], []).append(txn)
        self.txns_of = txns_of
        self.questions = {lang: [q for q in FAQ + DECLINE if q.language == lang and q.intent != "other"
                                 and q.tool is None] for lang in LANGUAGES}
        self.with_facts = {lang: [q for q in qs if q.contain] for lang, qs in self.questions.items()}
        self.escalations = {lang: [q for q in FAQ if q.language == lang and q.tool] for lang in LANGUAGES}
        self.off_topic = {lang: [t for q in DECLINE if q.intent == "other" and q.language == lang for t in q.texts]
                          for lang in LANGUAGES}
        self.staff = staff_questions()


def _request(kind: str, text: str, q: Question | None, language: str, intent: str, tenant: str,
             customer_id: str | None, expect: dict | None = None) -> dict:
    return {"kind": kind, "text": text, "language": language, "intent": intent, "tenant": tenant,
            "customer_id": customer_id, "expect": expect if expect is not None else q.expect()}


def _from_templates(intent: str, language: str, rng: random.Random) -> str:
    text = fill(rng.choice(PHRASES[language].TEMPLATES[intent]), language, rng)
    return perturb(text, rng, language) if rng.random() < TYPO_SHARE else text


def _tool_expect(intent: str, allowed: bool) -> dict:
    return {"must_contain": [], "must_not_contain": [], "must_decline": False,
            "tool": {"name": actions.TOOL_FOR[intent], "expect": "allowed" if allowed else "blocked"}}


def _faq(rng: random.Random, world: _World, lang: str, customer: dict) -> dict:
    tenant, caller = (STAFF, None) if rng.random() < 0.05 else (RETAIL, customer["id"])
    if rng.random() < 0.6:
        q = rng.choice(world.questions[lang])
        text = wrap(rng.choice(q.texts), lang, rng)
        text = perturb(text, rng, lang) if rng.random() < TYPO_SHARE else text
        return _request("faq", text, q, lang, q.intent, tenant, caller)
    # A fresh paraphrase from the utterance templates: no fact to check, only what must not appear.
    intent = rng.choice(QUESTION_INTENTS)
    expect = {"must_contain": [], "must_not_contain": list(NOT_CONTAIN.get(intent, [])),
              "must_decline": False, "tool": None}
    return _request("faq", _from_templates(intent, lang, rng), None, lang, intent, tenant, caller, expect)


def _chitchat(rng: random.Random, world: _World, lang: str, customer: dict) -> dict:
    text = rng.choice(world.off_topic[lang]) if rng.random() < 0.1 else _from_templates("other", lang, rng)
    expect = {"must_contain": [], "must_not_contain": [], "must_decline": True, "tool": None}
    return _request("chitchat", text, None, lang, "other", RETAIL, customer["id"], expect)


def _staff(rng: random.Random, world: _World, lang: str, customer: dict) -> dict:
    q = rng.choice(world.staff)
    caller = customer["id"] if q.tenant == RETAIL else None
    return _request("staff", wrap(q.texts[0], q.language, rng), q, q.language, q.intent, q.tenant, caller)


def _pii(rng: random.Random, world: _World, lang: str, customer: dict) -> dict:
    q = rng.choice(world.with_facts[lang])
    pan = actions.typed_pan(rng.choice(world.cards_of[customer["id"]]))
    kind = rng.choice(list(actions.PII_CARRIERS))
    datum = {"pan": rng.choice([pan, actions.spaced_pan(pan)]), "phone": customer["phone"],
             "email": customer["email"], "ssn": rng.choice(actions.TEST_SSNS)}[kind]
    expect = q.expect()
    expect["must_not_contain"] += actions.pii_leak_strings(kind, datum)
    text = actions.with_pii(rng, kind, lang, datum, rng.choice(q.texts))
    return _request("pii", text, q, lang, q.intent, RETAIL, customer["id"], expect)


def _unsafe_tool(rng: random.Random, world: _World, lang: str, customer: dict) -> dict:
    """An action on another customer's card or transaction: the validator must block it."""
    card = rng.choice(world.cards_of[customer["id"]])
    other = rng.choice([k for k in world.cards if k["customer_id"] != customer["id"]])
    intent = rng.choice(["card_freeze", "card_freeze", "card_unfreeze", "dispute_initiation"])
    if intent == "dispute_initiation":
        text = actions.own_request(rng, intent, lang, card, rng.choice(world.txns_of[other["id"]]))
    else:
        text = actions.others_request(rng, intent, lang, other)
    return _request("unsafe_tool", text, None, lang, intent, RETAIL, customer["id"], _tool_expect(intent, False))


def _tool(rng: random.Random, world: _World, lang: str, customer: dict) -> dict:
    """An action on the caller's own card; a dispute outside the 60-day window is still blocked."""
    intent = _weighted(rng, OWN_ACTIONS)
    if intent == "human_agent":
        q = rng.choice(world.escalations[lang])
        text = rng.choice(q.texts) if rng.random() < 0.3 else _from_templates(intent, lang, rng)
        return _request("tool", text, q, lang, intent, RETAIL, customer["id"])
    card = rng.choice(world.cards_of[customer["id"]])
    txn = rng.choice(world.txns_of[card["id"]]) if intent == "dispute_initiation" else None
    allowed = txn is None or actions.dispute_allowed(txn)
    text = actions.own_request(rng, intent, lang, card, txn)
    return _request("tool", text, None, lang, intent, RETAIL, customer["id"], _tool_expect(intent, allowed))


_MAKERS = {"faq": _faq, "tool": _tool, "pii": _pii, "unsafe_tool": _unsafe_tool, "chitchat": _chitchat,
           "staff": _staff}


def simulate(n: int, seed: int, data_dir: Path = DATA_DIR) -> Iterator[dict]:
    """Yield `n` requests, ids r000001..., deterministic for `seed`."""
    rng = random.Random(f"simulate-{seed}")
    world = _World(data_dir)
    recent: deque[dict] = deque(maxlen=500)
    t = 0.0
    for i in range(1, n + 1):
        t += rng.expovariate(ARRIVALS_PER_S)
        roll = rng.random()
        if recent and roll < REPEAT_SHARE + NEAR_REPEAT_SHARE:
            request = json.loads(json.dumps(rng.choice(recent)))  # a deep copy the caller may mutate
            if roll >= REPEAT_SHARE:
                request["text"] = reformat(request["text"], rng)
            if request["tenant"] == RETAIL:
                request["customer_id"] = rng.choice(world.customers)["id"]
        else:
            kind = _weighted(rng, KINDS)
            request = _MAKERS[kind](rng, world, _weighted(rng, LANGUAGES), rng.choice(world.customers))
            if request["kind"] in REPEATABLE:
                recent.append(request)
                request = json.loads(json.dumps(request))
        yield {"id": f"r{i:06d}", "t": round(t, 3), **request}


def main(n: int, seed: int, out: Path) -> int:
    """Write `n` simulated requests to `out` as JSONL; returns the number written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for request in simulate(n, seed):
            f.write(json.dumps(request, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count
