"""Counts, coverage and consistency of the Larkspur sample data."""

import json
import re
from collections import Counter
from datetime import date, timedelta

import frontmatter
import pytest

from loopwright.samples.bank import DATA_DIR, REFERENCE_DATE
from loopwright.samples.bank.documents import translated_everyday
from loopwright.samples.bank.noise import fold
from loopwright.samples.bank.people import luhn_valid

FIELDS = {"id", "title", "language", "effective_date", "retired_date", "certified", "sensitivity", "audience",
          "source", "licence"}
TOOLS = {None, "freeze_card", "unfreeze_card", "open_dispute", "escalate_to_human", "privacy_request"}


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def docs() -> dict[str, frontmatter.Post]:
    return {p.stem: frontmatter.load(p) for p in sorted((DATA_DIR / "docs").glob("*.md"))}


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in (DATA_DIR / "docs").glob("*.md")}


@pytest.fixture(scope="module")
def intents() -> list[dict]:
    return json.loads((DATA_DIR / "intents.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def utterances() -> list[dict]:
    return _jsonl("utterances.jsonl")


@pytest.fixture(scope="module")
def goldens() -> list[dict]:
    return _jsonl("goldens.jsonl")


def test_front_matter_of_every_document(docs: dict[str, frontmatter.Post]) -> None:
    assert len(docs) >= 40
    for stem, post in docs.items():
        meta = post.metadata
        # a translation names the page it translates, which exists, in English
        assert set(meta) == FIELDS | ({"translation_of"} if meta["language"] != "en" else set()), stem
        assert meta["language"] == "en" or docs[meta["translation_of"]].metadata["language"] == "en", stem
        assert meta["id"] == stem
        assert meta["language"] in ("en", "es", "vi")
        assert isinstance(meta["effective_date"], date) and meta["effective_date"] <= REFERENCE_DATE, stem
        assert meta["retired_date"] is None or isinstance(meta["retired_date"], date)
        assert isinstance(meta["certified"], bool)
        assert meta["sensitivity"] in ("public", "internal", "restricted")
        assert meta["audience"] in (["retail"], ["staff"]), stem
        assert (meta["audience"] == ["staff"]) == (meta["sensitivity"] != "public"), stem
        assert meta["source"] and meta["licence"]
        assert post.content.startswith(f"# {meta['title']}\n"), stem


AMOUNT = re.compile(r"\$\d{1,3}(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?%|1-800-555-\d{4}")


@pytest.mark.parametrize("language", ["es", "vi"])
def test_translations_state_only_the_english_documents_amounts(docs: dict[str, frontmatter.Post], language: str) -> None:
    """A translated page states no amount, rate or number its English original lacks (a slip such as $45 typed
    as $54 fails here), and the everyday-banking pages state every one of them, so one fact string checks every
    language version. The older pages are summaries and may leave a worked example out."""
    pairs = [(stem[: -len(language) - 1], stem) for stem in docs if stem.endswith(f"-{language}")]
    assert len(pairs) >= 12
    complete = {d.id for d in translated_everyday.documents()} | {"wire-transfers-vi", "flexpay-2-0-es", "flexpay-2-0-vi"}
    for english, translated in pairs:
        assert english in docs, f"{translated} has no English original"
        want, got = set(AMOUNT.findall(docs[english].content)), set(AMOUNT.findall(docs[translated].content))
        assert got <= want, (translated, got - want)
        assert translated not in complete or got == want, (translated, want - got)
        meta, original = docs[translated].metadata, docs[english].metadata
        assert (meta["effective_date"], meta["certified"], meta["audience"]) == (
            original["effective_date"], original["certified"], original["audience"]), translated


def test_corpus_has_every_kind_of_document(docs: dict[str, frontmatter.Post]) -> None:
    meta = [p.metadata for p in docs.values()]
    languages = Counter(m["language"] for m in meta)
    assert languages["es"] >= 4 and languages["vi"] >= 4
    assert {"flexpay-2-0-es", "flexpay-2-0-vi", "card-freeze-es", "card-freeze-vi", "disputes-es",
            "disputes-vi"} <= set(docs)
    assert sum(m["audience"] == ["staff"] for m in meta) >= 5
    assert sum(m["sensitivity"] == "restricted" for m in meta) >= 2
    drafts = [m["id"] for m in meta if not m["certified"]]
    assert "flexpay-2-0" in drafts and len(drafts) >= 3
    stale_cutoff = REFERENCE_DATE - timedelta(days=180)
    old = [m["id"] for m in meta if m["effective_date"] < stale_cutoff and m["retired_date"] is None]
    assert 1 <= len(old) <= 3, old
    # Everything else must survive a 180-day freshness filter, with a month to spare.
    fresh_floor = stale_cutoff + timedelta(days=28)
    assert all(m["effective_date"] >= fresh_floor for m in meta if m["id"] not in old and m["id"] != "flexpay-1-0")
    long_docs = [s for s, p in docs.items() if len(p.content.split()) > 1500]
    assert len(long_docs) >= 2
    assert sum("|---|" in p.content for p in docs.values()) >= 20


def test_required_facts_are_stated(docs: dict[str, frontmatter.Post]) -> None:
    fp2 = docs["flexpay-2-0"]
    assert fp2["effective_date"] == date(2026, 9, 1) and fp2["certified"] is False and fp2["retired_date"] is None
    for fact in ("$100 to $5,000", "3, 6, 12 or 24", "0% APR", "9.9% APR", "no setup fee", "$15 late fee",
                 "at most 4 active plans"):
        assert fact in fp2.content, fact
    fp1 = docs["flexpay-1-0"]
    assert fp1["certified"] is True and fp1["retired_date"] == date(2026, 8, 31)
    assert fp1["effective_date"].year == 2025
    for fact in ("$200 to $2,000", "3, 6 or 9", "1.5%"):
        assert fact in fp1.content, fact
    rates = docs["savings-rates-2026-10"]
    assert rates["effective_date"] == date(2026, 10, 1) and rates["certified"] is True
    for fact in ("Larkspur Saver | all balances | 3.80% APY", "up to $10,000 | 4.10% APY", "above $10,000 | 1.00% APY"):
        assert fact in rates.content, fact
    freeze = docs["card-freeze"].content
    for fact in ("instant", "recurring payments already authorised", "only the cardholder can freeze or unfreeze"):
        assert fact in freeze, fact
    disputes = docs["disputes"].content
    for fact in ("within 60 days of the statement date", "within 10 business days", "over $25",
                 "transaction id is required", "one open dispute per transaction"):
        assert fact in disputes, fact
    assert "5 calendar days after a merchant" in docs["chargeback-grace"].content
    wires = docs["wire-transfers"].content
    for fact in ("before 5 pm Eastern", "| $25 |", "| $45 |"):
        assert fact in wires, fact


def test_wrong_rates_table_is_only_in_incident(texts: dict[str, str]) -> None:
    incident = frontmatter.load(DATA_DIR / "incident" / "savings-rates-2025-03.md")
    # Re-exported under the live table's id: committing it replaces the current rates.
    assert incident["id"] == "savings-rates-2026-10" and incident["certified"] is True
    # The 2025 rates carry the re-export date as metadata, so freshness filters cannot see them as stale.
    assert "Rates as of March 1, 2025." in incident.content
    assert incident["effective_date"] == date(2026, 11, 20)
    assert "Larkspur Saver | 2.25% APY" in incident.content
    assert not (DATA_DIR / "docs" / "savings-rates-2025-03.md").exists()
    assert [s for s, t in texts.items() if "2.25%" in t] == []


def test_intents(intents: list[dict], docs: dict) -> None:
    names = [i["name"] for i in intents]
    assert len(names) == len(set(names)) >= 12
    assert {"card_freeze", "card_unfreeze", "dispute_initiation", "chargeback_grace", "flexpay", "savings_rates",
            "wire_transfer", "balance", "human_agent", "other", "card_lost", "fees", "account_opening",
            "branch_hours"} <= set(names)
    for intent in intents:
        assert set(intent) == {"name", "description", "tool", "faq", "docs"}
        assert intent["tool"] in TOOLS and isinstance(intent["faq"], bool) and intent["description"]
        assert set(intent["docs"]) <= set(docs), intent["name"]
        assert intent["docs"] or intent["name"] == "other"


def test_utterances(utterances: list[dict], intents: list[dict]) -> None:
    assert len(utterances) >= 1500
    assert [u["id"] for u in utterances] == [f"u{i:05d}" for i in range(1, len(utterances) + 1)]
    texts = [u["text"] for u in utterances]
    assert len(texts) == len(set(texts))
    share = {lang: n / len(utterances) for lang, n in Counter(u["language"] for u in utterances).items()}
    assert 0.70 <= share["en"] <= 0.80 and 0.12 <= share["es"] <= 0.18 and 0.08 <= share["vi"] <= 0.12
    per_intent = Counter(u["intent"] for u in utterances)
    assert set(per_intent) == {i["name"] for i in intents}
    assert min(per_intent.values()) >= 60
    for intent in per_intent:
        languages = {u["language"] for u in utterances if u["intent"] == intent}
        assert languages == {"en", "es", "vi"}, intent
    # The noise is there: doubled spaces, all-caps, and Vietnamese typed without accents.
    assert sum("  " in t for t in texts) >= 50
    assert sum(t.isupper() for t in texts) >= 20
    assert any(u["language"] == "vi" and u["text"].isascii() and len(u["text"]) > 15 for u in utterances)


def test_intents_are_learnable_but_not_trivial(utterances: list[dict]) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    x = [u["text"] for u in utterances]
    y = [u["intent"] for u in utterances]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    model = LogisticRegression(max_iter=2000, C=10).fit(vectorizer.fit_transform(x_train), y_train)
    predicted = model.predict(vectorizer.transform(x_test))
    accuracy = sum(p == t for p, t in zip(predicted, y_test)) / len(y_test)
    assert 0.85 <= accuracy < 0.995
    confused = Counter((t, p) for p, t in zip(predicted, y_test) if p != t)
    assert any({t, p} <= {"card_freeze", "card_unfreeze", "card_lost"} for t, p in confused)


def test_adapter_examples(utterances: list[dict]) -> None:
    examples = _jsonl("adapter_examples.jsonl")
    assert 550 <= len(examples) <= 650
    assert {e["intent"] for e in examples} == {"chargeback_grace", "dispute_initiation"}
    assert set(examples[0]) == {"id", "text", "intent", "language"}
    folded = [fold(e["text"]) for e in examples]
    assert len(folded) == len(set(folded))
    assert set(folded).isdisjoint(fold(u["text"]) for u in utterances)
    joined = "\n".join(folded)
    for phrase in ("chargeback grace", "grace window", "said they'd refund"):
        assert joined.count(phrase) >= 10, phrase


def test_forgetting_set_is_new_text_with_every_intent_and_language(utterances: list[dict]) -> None:
    rows = _jsonl("forgetting_intents.jsonl")
    assert "_header" in rows[0] and "never train" in rows[0]["_header"]
    items = rows[1:]
    counts = Counter((r["intent"], r["language"]) for r in items)
    assert len(items) == 1800 and set(counts.values()) == {90, 18, 12} and len(counts) == 45
    seen = {fold(r["text"]) for r in [*utterances, *_jsonl("adapter_examples.jsonl"), *_jsonl("multilingual/utterances-es.jsonl"),
                                      *_jsonl("multilingual/utterances-vi.jsonl")]}
    folded = [fold(r["text"]) for r in items]
    assert len(set(folded)) == len(folded) and seen.isdisjoint(folded)


def test_people() -> None:
    customers, accounts, cards, txns = (_jsonl(f"{n}.jsonl") for n in ("customers", "accounts", "cards",
                                                                        "transactions"))
    assert len(customers) == 1000  # a 10% canary, sticky per customer, is ~100 customers
    assert len({c["name"] for c in customers}) == len(customers)
    ids = {c["id"] for c in customers}
    for c in customers:
        assert set(c) == {"id", "name", "email", "phone", "date_of_birth", "address", "tenant"}
        assert c["email"].endswith("@example.com") and re.fullmatch(r"\+1-\d{3}-555-01\d\d", c["phone"])
        assert c["tenant"] == "larkspur-retail"
    core = customers[:40]  # the goldens' customers: one phone each; past 500 the fictional range must repeat
    assert len({c["phone"] for c in core}) == len(core)
    assert all(a["customer_id"] in ids and a["type"] in ("checking", "savings") for a in accounts)
    assert {a["customer_id"] for a in accounts if a["type"] == "checking"} == ids
    assert len({k["last4"] for k in cards}) == len(cards)
    for card in cards:
        assert "pan" not in card and card["token"].startswith("tok_") and re.fullmatch(r"\d{4}", card["last4"])
        assert card["customer_id"] in ids and card["status"] == "active"
    card_ids = {k["id"] for k in cards}
    ages = []
    for t in txns:
        posted, statement = date.fromisoformat(t["posted_date"]), date.fromisoformat(t["statement_date"])
        assert t["card_id"] in card_ids and posted.year == statement.year == 2026 and posted <= statement
        assert t["amount_cents"] > 0
        ages.append((REFERENCE_DATE - statement).days)
    assert sum(a <= 60 for a in ages) >= 30 and sum(a > 60 for a in ages) >= 100


def test_tenants_and_prices() -> None:
    tenants = {t["name"]: t for t in json.loads((DATA_DIR / "tenants.json").read_text(encoding="utf-8"))}
    assert tenants["larkspur-retail"]["scopes"] == ["retail"] and tenants["larkspur-retail"]["roles"] == ["customer"]
    assert tenants["larkspur-staff"]["scopes"] == ["retail", "staff"]
    assert tenants["larkspur-staff"]["roles"] == ["agent", "admin"]
    assert all(t["description"] for t in tenants.values())
    prices = json.loads((DATA_DIR / "prices.json").read_text(encoding="utf-8"))
    for key in ("input_per_1k", "output_per_1k"):
        assert prices["large"][key] >= 10 * prices["small"][key] > 0


def test_the_data_holds_no_card_number_but_published_test_numbers():
    """Cards keep last four and a token; the only full numbers are the published test ones customers "type"."""
    from loopwright.samples.bank.actions import TEST_PANS

    numbers = set()
    for path in DATA_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            numbers |= {m.replace(" ", "").replace("-", "") for m in re.findall(r"\b\d(?:[ -]?\d){12,18}\b", text)}
    assert {n for n in numbers if luhn_valid(n)} <= set(TEST_PANS)
