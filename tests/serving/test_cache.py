"""The response cache: normalisation, keys salted with the whole context, and the gateway's use of it.

A hit must never cross tenants, corpus commits or deployments; near-miss
questions must never collide; a hit still leaves a trace (marked as one).
The Redis tests use the real server on this machine (db 15).
"""

from __future__ import annotations

import uuid

import pytest
import redis

from loopwright.corpus import commits
from loopwright.observe.traces import get_trace
from loopwright.policy.principal import Principal
from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.samples.bank import DATA_DIR
from loopwright.serving.cache import MemoryCache, RedisCache, cache_key, make_cache, normalise
from loopwright.serving.pipeline import ChatRequest, Gateway
from loopwright.workspace import Workspace

REDIS_URL = "redis://127.0.0.1:6379/15"
CONFIG = DATA_DIR.parent / "config"
MODEL = "larkspur-assistant"
SAVINGS = "What is the APY on the Larkspur Saver?"
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# ---- normalise -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the APY on the Larkspur Saver?", "  what is the apy on the larkspur saver"),
        ("What is the APY on the Larkspur Saver?", "WHAT IS THE APY ON THE LARKSPUR SAVER!!"),
        ("What's the wire cut-off time?", "what s the wire cut off time"),
        ("Is there a fee on $1,000.00?", "is there a fee on $1000"),
        ("Can I split $5,000?", "can i split $5000"),
        ("Is it 1.50% or more?", "is it 1.5% or more"),
        ("ＡＰＹ　on　Saver", "apy on saver"),  # full-width letters and spaces (NFKC)
        ("ﬁxed rate", "fixed rate"),  # a ligature
        ("Straße", "STRASSE"),  # case folding, not just lower()
        ("can\u2019t freeze", "can't freeze"),  # typographic apostrophe
        ("tab\tand\nnewline", "tab and newline"),
    ],
)
def test_normalise_folds_what_does_not_change_the_question(a, b):
    assert normalise(a) == normalise(b)


NEAR_MISSES = [
    ("How do I freeze my card?", "How do I unfreeze my card?"),
    ("Can I use FlexPay on a $500 purchase?", "Can I use FlexPay on a $5,000 purchase?"),
    ("Is there a fee on $500?", "Is there a fee on $50?"),
    ("Is the APR 9.9%?", "Is the APR 99%?"),
    ("Is the fee 1.5%?", "Is the fee 15%?"),
    ("Is the fee $1.50?", "Is the fee $150?"),
    ("Does FlexPay 1.0 have a late fee?", "Does FlexPay 2.0 have a late fee?"),
    ("Is there a fee?", "Is there no fee?"),
    ("Can I cancel?", "Can't I cancel?"),
    ("What is the savings rate?", "What is the checking rate?"),
    ("balance under $500", "balance over $500"),
    ("balance < $500", "balance > $500"),
    ("My balance is -$500, why?", "My balance is $500, why?"),
    ("Freeze the card ending 0042", "Freeze the card ending 42"),
    ("3 installments", "6 installments"),
    ("Wire $10,000", "Wire $100,000"),
    ("rate for 12 months", "rate for 1.2 months"),
]


@pytest.mark.parametrize(("a", "b"), NEAR_MISSES)
def test_near_miss_questions_never_collide(a, b):
    assert normalise(a) != normalise(b)
    context = {"bundle": {"corpus": "c1"}, "tenant": "t"}
    assert cache_key(a, context) != cache_key(b, context)


def test_cache_key_is_salted_with_every_part_of_the_context():
    base = {
        "bundle": {"corpus": "c1", "prompt": "p1", "router": "r1", "policy": "x1", "model:triage": "m1"},
        "tenant": "larkspur-retail",
        "role": "customer",
        "scopes": ["retail"],
        "access": {"scopes": ["retail"], "max_sensitivity": "internal"},
        "ceiling": "internal",
    }
    key = cache_key(SAVINGS, base)
    assert cache_key("what is the apy on the larkspur saver", dict(base)) == key
    variants = [
        {"tenant": "larkspur-staff"},
        {"role": "agent"},
        {"scopes": ["retail", "staff"]},
        {"ceiling": "restricted"},
        {"access": None},
        *({"bundle": {**base["bundle"], slot: "changed"}} for slot in base["bundle"]),
        {"bundle": {**base["bundle"], "adapter:triage": "a1"}},
    ]
    keys = {cache_key(SAVINGS, {**base, **v}) for v in variants}
    assert key not in keys and len(keys) == len(variants)
    assert cache_key(SAVINGS, base, normalise_input=False) != key  # raw text keys differ from normalised ones
    assert len(key) == 64 and int(key, 16) >= 0


# ---- stores --------------------------------------------------------------------------------------


def test_memory_cache_is_a_bounded_lru():
    cache = MemoryCache(max_entries=2)
    cache.put("a", {"v": 1})
    cache.put("b", {"v": 2})
    assert cache.get("a") == {"v": 1}  # a is now the most recently used
    cache.put("c", {"v": 3})
    assert cache.get("b") is None and cache.get("a") == {"v": 1} and cache.get("c") == {"v": 3}
    assert isinstance(make_cache(None), MemoryCache) and isinstance(make_cache(""), MemoryCache)


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis at {REDIS_URL} does not answer: {exc}")
    prefix = f"lw:test:{uuid.uuid4().hex[:8]}:"
    yield client, prefix
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


def test_redis_cache_round_trips_with_a_ttl(redis_db):
    client, prefix = redis_db
    one, two = RedisCache(REDIS_URL, ttl_s=60, prefix=prefix), RedisCache(REDIS_URL, ttl_s=60, prefix=prefix)
    value = {"text": "3.80% APY [1]", "payload": {"citations": [{"doc_id": "savings-rates-2026-10"}]}, "tokens": [10, 5]}
    assert one.get("k") is None
    one.put("k", value)
    assert two.get("k") == value  # another replica sees it
    assert 0 < client.ttl(prefix + "k") <= 60
    assert isinstance(make_cache(REDIS_URL), RedisCache)


# ---- through the gateway -------------------------------------------------------------------------


def deploy_router(ws: Workspace, toml: bytes, name: str = "bank") -> str:
    ref = artifacts.register(ws, "router", name, {"router.toml": toml, "prices.json": (DATA_DIR / "prices.json").read_bytes()}).ref
    set_stable(ws, "router", ref, reason="test")
    return ref


def economics(ws: Workspace) -> str:
    """The sample's economics router (small tier, normalised cache) live on stable."""
    return deploy_router(ws, (CONFIG / "router-economics.toml").read_bytes())


RETAIL = Principal("larkspur-retail", "customer", ("retail",), None, "key_retail")
STAFF = Principal("larkspur-staff", "agent", ("retail", "staff"), None, "key_staff")


def ask(gateway: Gateway, question: str, principal: Principal = RETAIL):
    completion = gateway.complete(ChatRequest(model=MODEL, messages=[{"role": "user", "content": question}]), principal, sync_trace=True)
    return completion, get_trace(gateway.ws, completion.trace_id, tenant=None)


def redeploy(gateway: Gateway, slot: str, ref: str) -> None:
    set_stable(gateway.ws, slot, ref, reason="test")
    assert gateway.watcher.refresh()


@pytest.fixture
def gateway(reader_bank):
    economics(reader_bank)
    gateway = Gateway(reader_bank, watch=False)
    yield gateway
    gateway.close()


def test_a_normalised_repeat_is_a_hit_with_its_own_trace(gateway):
    first, first_record = ask(gateway, SAVINGS)
    assert first.loopwright["cache_hit"] is False and "cache" in first_record["stages"]
    hit, record = ask(gateway, "  what is the APY on the larkspur saver ")
    assert hit.loopwright["cache_hit"] is True
    assert hit.text == first.text and hit.trace_id != first.trace_id and hit.loopwright["trace_id"] == hit.trace_id
    assert hit.loopwright["citations"] == first.loopwright["citations"]
    assert record["cache"] == {"hit": True, "source_trace": first.trace_id}
    assert record["input"] == "  what is the APY on the larkspur saver " and record["output"] == first.text
    assert record["route"]["reason"] == "cache hit" and record["tier"] == first_record["tier"]
    assert record["retrieval"]["fingerprint"] == first_record["retrieval"]["fingerprint"]
    assert record["triage"]["intent"] == "savings_rates"
    assert record["cost"] == 0 and record["tokens"] == {"in": 0, "out": 0} and first_record["cost"] > 0
    assert "triage" not in record["stages"] and "retrieval" not in record["stages"] and "generate" not in record["stages"]
    assert record["outcome"] == "answered" and record["bundle"] == first_record["bundle"]
    assert first.loopwright["cache_hit"] is False  # the cached copy did not change the first answer


def test_a_hit_never_carries_another_callers_conversation(gateway):
    first = gateway.complete(ChatRequest(model=MODEL, messages=[{"role": "user", "content": SAVINGS}], conversation="ana-7"),
                             RETAIL, sync_trace=True)
    other = Principal("larkspur-retail", "customer", ("retail",), None, "key_other")
    hit, record = ask(gateway, SAVINGS, other)
    assert first.loopwright["conversation_id"] == "ana-7" and hit.loopwright["cache_hit"] is True
    assert hit.loopwright["conversation_id"] == record["conversation"] != "ana-7"  # its own, new conversation


@SQLITE
def test_no_hit_across_tenants_roles_or_near_misses(gateway):
    ask(gateway, SAVINGS)
    assert ask(gateway, SAVINGS, STAFF)[0].loopwright["cache_hit"] is False
    agent = Principal("larkspur-retail", "agent", ("retail",), None, "key_agent")
    assert ask(gateway, SAVINGS, agent)[0].loopwright["cache_hit"] is False
    assert ask(gateway, SAVINGS, STAFF)[0].loopwright["cache_hit"] is True  # each side has its own entry
    for a, b in [
        ("Is there a fee on a $500 wire transfer?", "Is there a fee on a $5,000 wire transfer?"),
        ("What is the wire transfer fee?", "What is the wire transfer fee limit?"),
    ]:
        ask(gateway, a)
        assert ask(gateway, a)[0].loopwright["cache_hit"] is True
        assert ask(gateway, b)[0].loopwright["cache_hit"] is False


@SQLITE
def test_tool_answers_are_never_cached(gateway):
    question = "Please freeze my debit card"
    _, record = ask(gateway, question)
    assert record["tools"], "a tool intent records its tool, whether or not it ran"
    _, again = ask(gateway, question)
    assert again["cache"]["hit"] is False


@SQLITE
def test_no_hit_across_corpus_commits_until_rolled_back(gateway):
    before, before_record = ask(gateway, SAVINGS)
    old = get_deployment(gateway.ws).stable("corpus")
    commits.stage_certify(gateway.ws, "flexpay-2-0")
    fix = commits.commit(gateway.ws, "Certify FlexPay 2.0")
    redeploy(gateway, "corpus", fix.ref)

    after, record = ask(gateway, SAVINGS)
    assert after.loopwright["cache_hit"] is False and record["retrieval"]["commit"] == fix.digest
    assert ask(gateway, SAVINGS)[0].loopwright["cache_hit"] is True  # cached again, under the new commit

    redeploy(gateway, "corpus", old.ref)  # a rollback finds the old commit's entries again
    back, record = ask(gateway, SAVINGS)
    assert back.loopwright["cache_hit"] is True and record["cache"]["source_trace"] == before.trace_id


@SQLITE
def test_no_hit_after_any_slot_changes(gateway):
    ws = gateway.ws
    prompt_files = artifacts.files_from_dir(CONFIG / "prompt")
    triage = get_deployment(ws).stable("model:triage")
    triage_files = {path: artifacts.read_file(ws, triage, path) for path in triage.files}
    changes = {
        "prompt": artifacts.register(ws, "prompt", "bank", {**prompt_files, "system.md": prompt_files["system.md"] + b"\nBe kind.\n"}).ref,
        "policy": artifacts.register(ws, "policy", "bank", {"policy.toml": (CONFIG / "policy.toml").read_bytes() + b"\n# reviewed\n"}).ref,
        "model:triage": artifacts.register(ws, "model", "triage", {**triage_files, "NOTES.md": b"same head, new release"}).ref,
        "router": artifacts.register(
            ws, "router", "bank",
            {"router.toml": (CONFIG / "router-economics.toml").read_bytes() + b"\n# reviewed\n", "prices.json": (DATA_DIR / "prices.json").read_bytes()},
        ).ref,
    }
    ask(gateway, SAVINGS)
    assert ask(gateway, SAVINGS)[0].loopwright["cache_hit"] is True
    for slot, ref in changes.items():
        redeploy(gateway, slot, ref)
        completion, record = ask(gateway, SAVINGS)
        assert completion.loopwright["cache_hit"] is False, slot
        assert record["bundle"][slot]["ref"] == ref
        assert ask(gateway, SAVINGS)[0].loopwright["cache_hit"] is True, slot


@SQLITE
def test_the_cache_is_off_unless_the_router_turns_it_on(triaged_bank):
    gateway = Gateway(triaged_bank, watch=False)  # the sample's first router: cache disabled
    try:
        ask(gateway, SAVINGS)
        completion, record = ask(gateway, SAVINGS)
        assert completion.loopwright["cache_hit"] is False and "cache" not in record["stages"]
    finally:
        gateway.close()


@SQLITE
def test_redis_cache_is_shared_between_two_gateways(reader_bank, redis_db, monkeypatch):
    economics(reader_bank)
    monkeypatch.setenv("LOOPWRIGHT_REDIS_URL", REDIS_URL)
    replicas = [Gateway(Workspace.open(reader_bank.root), watch=False) for _ in range(2)]
    # a scope no other run uses keeps this test's entries apart from any other run sharing db 15
    caller = Principal("larkspur-retail", "customer", ("retail", f"run-{uuid.uuid4().hex}"), None, "key_r")
    try:
        assert all(isinstance(g.cache, RedisCache) for g in replicas)
        first, _ = ask(replicas[0], SAVINGS, caller)
        assert first.loopwright["cache_hit"] is False
        hit, record = ask(replicas[1], "what is the apy on the larkspur saver", caller)
        assert hit.loopwright["cache_hit"] is True and hit.text == first.text
        assert record["cache"]["source_trace"] == first.trace_id
        other = Principal("larkspur-staff", "agent", caller.scopes, None, "key_s")
        assert ask(replicas[1], SAVINGS, other)[0].loopwright["cache_hit"] is False
    finally:
        for g in replicas:
            g.close()
            g.ws.close()

