"""The sample's own language model: a tiny Llama trained here on the bank's text, and a test LoRA adapter.

With no model hub, the gateway, tests and benchmarks need a real checkpoint made
on this machine. `train_sample_lm`:

    bank docs (paragraphs) + customer questions + answer-format examples  ->  split by sha256 of the text (held out: ~10%)
    train texts -> byte-level BPE tokenizer (vocab 2,048) -> LlamaForCausalLM (~3.7M params, context 512)
    -> AdamW on random 128-token windows of the packed train texts, fp32 (bf16 is slow on this CPU)

The answer-format examples are the documents' own paragraphs rendered as the
gateway renders a prompt (loopwright.serving.prompts: system prompt, then
"Evidence: [1] ...", the question, the instruction), with the section heading as
the question and the paragraph's first sentence, citing [1], as the answer. No
golden is trained on: goldens judge releases. So the model learns the shape of an
answer; at 3.7M parameters it is a fluent-looking parrot, not a reliable bank assistant.

Trained folders are cached under `$LOOPWRIGHT_CACHE_DIR/hf-sample/<key>/`, keyed
by the digest of the texts and the config (as triage caches its heads), so a
second call, in any workspace, is a copy. `SampleLMConfig.small()` trains in
seconds for tests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.digests import digest_of
from loopwright.errors import InvalidInput
from loopwright.samples.bank import DATA_DIR
from loopwright.serving.triage import cache_root

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.registry.receipts import Receipt
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

FORMAT = "loopwright.hf.sample/1"
SPECIAL = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
# Role markers are single special tokens; an assistant turn ends with </s>, where generation stops.
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
Progress = Callable[[int, int, float], None]
"""Called after each training step with (step, total steps, loss)."""


@dataclass(frozen=True)
class SampleLMConfig:
    """How the sample LM is built. Stored in its training.json; part of its cache key."""

    vocab_size: int = 2048
    """BPE vocabulary, special tokens included."""
    hidden_size: int = 256
    """Model width."""
    layers: int = 4
    """Decoder layers."""
    heads: int = 4
    """Attention heads (as many key/value heads)."""
    intermediate_size: int = 688
    """MLP width."""
    context_length: int = 512
    """Longest sequence the model takes (rotary positions)."""
    steps: int = 300
    """Optimiser steps: ~4 minutes on 2 idle cores at the defaults (0.7 s a step)."""
    batch_size: int = 16
    """Windows per step."""
    seq_len: int = 128
    """Tokens per training window."""
    lr: float = 3e-3
    """Peak AdamW learning rate (linear warm-up, cosine decay)."""
    heldout_share: float = 0.1
    """Share of texts held out for perplexity."""
    seed: int = 0
    """Seeds the split hash, the initial weights and the window sampling."""

    def __post_init__(self) -> None:
        if self.hidden_size % self.heads:
            raise InvalidInput(f"hidden_size {self.hidden_size} is not divisible by heads {self.heads}")
        if not 0 < self.heldout_share < 1:
            raise InvalidInput(f"heldout_share must be in (0, 1), got {self.heldout_share}")
        if self.seq_len > self.context_length or min(self.steps, self.batch_size, self.vocab_size) < 1:
            raise InvalidInput("seq_len must fit the context; steps, batch_size and vocab_size must be positive")

    @classmethod
    def small(cls) -> SampleLMConfig:
        """A ~0.2M-parameter model that trains in a few seconds: for tests."""
        return cls(vocab_size=1024, hidden_size=64, layers=2, heads=2, intermediate_size=172, steps=150, batch_size=8)


# --- the texts ---------------------------------------------------------------------------------


def doc_paragraphs(path: Path) -> list[str]:
    """A document's body (front matter dropped) as paragraphs."""
    body = path.read_text("utf-8").split("\n---\n", 1)[-1]
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]


@lru_cache(maxsize=1)
def _sample_prompt() -> tuple[str, str]:
    """(system prompt, answer template) of the sample's prompt bundle."""
    prompt_dir = DATA_DIR.parent / "config" / "prompt"
    return (prompt_dir / "system.md").read_text("utf-8").strip(), (prompt_dir / "answer.md").read_text("utf-8").strip()


def answer_example(evidence: str, question: str, answer: str) -> list[dict[str, str]]:
    """Chat messages as the gateway renders them for the sample's prompt bundle: system prompt, then the
    answer template with `evidence` as [1] and `question`; then `answer` as the assistant's turn."""
    system, template = _sample_prompt()
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": template.format(evidence=f"[1] {evidence}", question=question)},
        {"role": "assistant", "content": answer},
    ]


def _answer_examples(paragraphs: dict[str, list[str]]) -> list[list[dict[str, str]]]:
    """Each paragraph under a heading as chat messages: evidence [1], the heading as the question, its first
    sentence citing [1]. Built from the documents alone: goldens are what releases are judged on, so no
    golden question or answer is trained on."""
    examples = []
    for paras in paragraphs.values():
        heading = None
        for para in paras:
            if para.startswith("#"):
                heading = para.lstrip("#").strip()
                continue
            if heading is None:
                continue
            answer = re.split(r"(?<=[.!?])\s+", para)[0]
            examples.append(answer_example(para, f"{heading}?", f"{answer} [1]"))
    return examples


def sample_texts(seed: int = 0, heldout_share: float = 0.1) -> tuple[list[str], list[str]]:
    """(train, held-out) texts: doc paragraphs, customer questions (utterances.jsonl) and rendered
    answer examples, split by a hash of each text.

    Texts are deduplicated first, so no text is in both splits.
    """
    from jinja2 import Template

    paragraphs = {p.stem: doc_paragraphs(p) for p in sorted((DATA_DIR / "docs").glob("*.md"))}
    chat = Template(CHAT_TEMPLATE)
    rendered = [chat.render(messages=m, eos_token="</s>", add_generation_prompt=False) for m in _answer_examples(paragraphs)]
    questions = {json.loads(line)["text"] for line in (DATA_DIR / "utterances.jsonl").read_text("utf-8").splitlines() if line}
    texts = sorted({t for ps in paragraphs.values() for t in ps} | set(rendered) | questions)
    train, heldout = [], []
    for text in texts:
        fraction = int.from_bytes(hashlib.sha256(f"{seed}:{text}".encode()).digest()[:8], "big") / 2**64
        (heldout if fraction < heldout_share else train).append(text)
    return train, heldout


# --- training ----------------------------------------------------------------------------------


def build_tokenizer(texts: Sequence[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on `texts`, as a `PreTrainedTokenizerFast` with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _token_stream(tokenizer, texts: Sequence[str]):
    import torch

    ids: list[int] = []
    for encoded in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        ids += [tokenizer.bos_token_id, *encoded, tokenizer.eos_token_id]
    return torch.tensor(ids)


def train_loop(model, batches: Callable[[int], Any], steps: int, lr: float, progress: Progress | None) -> list[float]:
    """AdamW with linear warm-up and cosine decay; `batches(step)` gives (input_ids, labels). Returns the losses."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    model.train()
    losses = []
    for step in range(steps):
        input_ids, labels = batches(step)
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        if progress:
            progress(step + 1, steps, losses[-1])
    model.eval()
    return losses


def perplexity(model, tokenizer, texts: Sequence[str], max_length: int = 512) -> float:
    """exp(mean next-token NLL) over all tokens of `texts`, each scored alone (bos-prefixed, truncated to max_length)."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]][:max_length]
            x = torch.tensor([ids])  # (1, T)
            logits = model(input_ids=x).logits.float()  # (1, T, V)
            nll = torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:], reduction="sum")
            total += nll.item()
            count += len(ids) - 1
    return math.exp(total / max(count, 1))


def _train_into(folder: Path, config: SampleLMConfig, train: list[str], heldout: list[str], progress: Progress | None) -> None:
    from loopwright.hf.quantize import preload_torchao

    preload_torchao()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    tokenizer = build_tokenizer(train, config.vocab_size)
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        max_position_embeddings=config.context_length,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ))
    before = perplexity(model, tokenizer, heldout, config.context_length)
    stream = _token_stream(tokenizer, train)  # (N,) all train texts, packed
    generator = torch.Generator().manual_seed(config.seed)

    def batches(step: int):
        starts = torch.randint(0, len(stream) - config.seq_len, (config.batch_size,), generator=generator)
        x = torch.stack([stream[s : s + config.seq_len] for s in starts])  # (B, T)
        return x, x  # the model shifts labels itself

    losses = train_loop(model, batches, config.steps, config.lr, progress)
    after = perplexity(model, tokenizer, heldout, config.context_length)
    hf_logging.disable_progress_bar()  # no "Writing model shards" bar in CLI output
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    report = {
        "format": FORMAT,
        "config": asdict(config),
        "texts": {"train": len(train), "heldout": len(heldout), "train_tokens": len(stream)},
        "heldout_perplexity": {"untrained": before, "trained": after},
        "loss": {"first": losses[0], "last": losses[-1], "every_10": losses[::10]},
    }
    (folder / "training.json").write_text(json.dumps(report, indent=2, sort_keys=True), "utf-8")


def cached_folder(kind: str, key: str, build: Callable[[Path], None]) -> tuple[Path, bool]:
    """`$LOOPWRIGHT_CACHE_DIR/<kind>/<key>/`, built by `build(folder)` unless present; (folder, cache hit).

    Built in a temporary folder and renamed in place, so the folder exists only
    once complete. Like the triage cache it is trusted as built: what the
    registry then stores is verified on every load.
    """
    parent = cache_root() / kind
    target = parent / key
    if target.is_dir():
        return target, True
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))
    try:
        build(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        staging.rename(target)
    except OSError:  # another process finished the same folder first
        shutil.rmtree(staging, ignore_errors=True)
    return target, False


@dataclass(frozen=True)
class TrainedFolder:
    """A trained checkpoint or adapter folder in the cache. `seconds`: training time, or the cache lookup."""

    folder: Path
    key: str
    cache_hit: bool
    seconds: float

    def report(self) -> dict[str, Any]:
        """The folder's training.json."""
        return json.loads((self.folder / "training.json").read_text("utf-8"))


def train_sample_lm(config: SampleLMConfig | None = None, *, progress: Progress | None = None, use_cache: bool = True) -> TrainedFolder:
    """Train the sample LM (or take it from the cache); its folder holds config, weights, tokenizer and training.json."""
    config = config or SampleLMConfig()
    train, heldout = sample_texts(config.seed, config.heldout_share)
    key = digest_of({"format": FORMAT, "config": asdict(config), "train": train, "heldout": heldout})
    started = time.perf_counter()
    if not use_cache:
        shutil.rmtree(cache_root() / "hf-sample" / key, ignore_errors=True)
    folder, hit = cached_folder("hf-sample", key, lambda f: _train_into(f, config, train, heldout, progress))
    seconds = time.perf_counter() - started
    logger.info("sample LM %s in %.1f s: %s", "from the cache" if hit else "trained", seconds, folder)
    return TrainedFolder(folder, key, hit, seconds)



# --- in a workspace ----------------------------------------------------------------------------

NAME = "bank-lm"
SLOT = "model:small"
ADAPTER_NAME = "bank-grace"
PROVENANCE = {
    "licence": "CC0-1.0 (synthetic sample data)",
    "consent": "synthetic: no real persons",
    "sensitivity": "internal",
    "creator": "loopwright.hf.sample",
}


@dataclass(frozen=True)
class SampleResult:
    """A sample model or adapter registered in a workspace, and how it was made."""

    artifact: Artifact
    trained: TrainedFolder
    deploy_receipt: Receipt | None = None

    def to_dict(self) -> dict[str, Any]:
        report = self.trained.report()
        return {
            "artifact": self.artifact.ref,
            "digest": self.artifact.digest,
            "cache_hit": self.trained.cache_hit,
            "cache_key": self.trained.key,
            "seconds": round(self.trained.seconds, 3),
            "config": report["config"],
            "heldout_perplexity": report.get("heldout_perplexity"),
            "loss": report["loss"],
            "deployed": self.deploy_receipt is not None,
            "deploy_receipt": self.deploy_receipt.seq if self.deploy_receipt else None,
        }


def register_sample_lm(
    ws: Workspace,
    config: SampleLMConfig | None = None,
    *,
    deploy: bool = False,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> SampleResult:
    """Train (or take from the cache) the sample LM and register it as `model/bank-lm`.

    With `deploy`, it goes live on slot `model:small` by a direct set its receipt marks
    ungated, unless it already is; `loopwright model sample --deploy` releases it through the gate instead.
    """
    from loopwright.hf.checkpoint import register_checkpoint
    from loopwright.release.deployment import get_deployment, set_stable

    trained = train_sample_lm(config, progress=progress, use_cache=use_cache)
    report = trained.report()
    artifact = register_checkpoint(
        ws,
        trained.folder,
        NAME,
        task="causal-lm",
        provenance={**PROVENANCE, "source": "trained by `loopwright model sample` on the Larkspur Bank sample text"},
        extra_config={"training": report["config"], "heldout_perplexity": report["heldout_perplexity"]["trained"]},
    )
    receipt = None
    live = get_deployment(ws).stable(SLOT)
    if deploy and (live is None or live.digest != artifact.digest):
        ppl = report["heldout_perplexity"]["trained"]
        receipt = set_stable(ws, SLOT, artifact.ref, reason=f"sample LM: held-out perplexity {ppl:.1f}")
    return SampleResult(artifact, trained, receipt)


def register_sample_adapter(
    ws: Workspace, base: str = f"model/{NAME}", *, progress: Progress | None = None
) -> SampleResult:
    """Train (or take from the cache) the chargeback-grace LoRA on `base`, register it as `adapter/bank-grace`
    within the deployed policy's caps."""
    from loopwright.hf.adapters import register_adapter
    from loopwright.hf.checkpoint import verified_folder
    from loopwright.hf.lora import train_lora
    from loopwright.registry.artifacts import resolve

    base_artifact = resolve(ws, base, kind="model")
    # Named without its version, so a re-registered identical base reuses the cached adapter.
    trained = train_lora(verified_folder(ws, base_artifact), base_name=f"model/{base_artifact.name}", progress=progress)
    artifact = register_adapter(
        ws,
        trained.folder,
        ADAPTER_NAME,
        base_ref=base_artifact,
        provenance={**PROVENANCE, "source": "trained by `loopwright model sample-adapter` on adapter_examples.jsonl"},
        extra_config={"training": trained.report()["config"]},
    )
    return SampleResult(artifact, trained)
