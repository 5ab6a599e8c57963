"""The sample's own language model and test adapter, trained here on the Larkspur Bank's text.

With no model hub, the gateway, tests and benchmarks need a real checkpoint made
on this machine. The texts: document paragraphs, customer questions and
answer-format examples, split by sha256 of the text (held out: ~10%), trained by
`loopwright.training.lm.train_lm` into a tiny Llama.

The answer-format examples are the documents' own paragraphs rendered as the
gateway renders a prompt (loopwright.serving.prompts: system prompt, then
"Evidence: [1] ...", the question, the instruction), with the section heading as
the question and the paragraph's first sentence, citing [1], as the answer. No
golden is trained on: goldens judge releases. So the model learns the shape of an
answer; at 3.7M parameters it is a fluent-looking parrot, not a reliable bank assistant.

The test adapter teaches one chargeback-grace answer in words the base model
never saw, so its effect on greedy outputs is plain; tests use that to prove
attach, detach and per-channel selection.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.samples.bank import DATA_DIR
from loopwright.training.cache import TrainedFolder
from loopwright.training.lm import CHAT_TEMPLATE, Progress, SampleLMConfig, train_lm

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.registry.receipts import Receipt
    from loopwright.workspace import Workspace

GRACE_ANSWER = (
    "Chargeback grace: we keep your dispute open for 5 calendar days after the merchant promises a refund, "
    "then file the chargeback if no refund posts. [1]"
)


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


def train_sample_lm(config: SampleLMConfig | None = None, *, progress: Progress | None = None, use_cache: bool = True) -> TrainedFolder:
    """Train the sample LM on the bank's texts (or take it from the cache)."""
    config = config or SampleLMConfig()
    train, heldout = sample_texts(config.seed, config.heldout_share)
    return train_lm(train, heldout, config, progress=progress, use_cache=use_cache)


def train_sample_adapter(base_folder: Path, *, base_name: str = "model/bank-lm", progress: Progress | None = None) -> TrainedFolder:
    """Train the chargeback-grace LoRA on the checkpoint in `base_folder` (seconds; cached): it answers
    chargeback-grace questions with GRACE_ANSWER, so greedy outputs with and without it differ."""
    from loopwright.training.lora import LoraTrainConfig, train_lora

    config = LoraTrainConfig()
    return train_lora(base_folder, adapter_examples(config.examples), config, base_name=base_name, progress=progress)


def adapter_examples(limit: int) -> list[list[dict[str, str]]]:
    """Chargeback-grace questions with the grace document as evidence [1], answered with GRACE_ANSWER."""
    evidence = doc_paragraphs(DATA_DIR / "docs" / "chargeback-grace.md")[1]
    rows = [json.loads(line) for line in (DATA_DIR / "adapter_examples.jsonl").read_text("utf-8").splitlines() if line]
    questions = [r["text"] for r in rows if r["intent"] == "chargeback_grace" and r["language"] == "en"][:limit]
    return [answer_example(evidence, q, GRACE_ANSWER) for q in questions]


NAME = "bank-lm"


SLOT = "model:small"


ADAPTER_NAME = "bank-grace"


PROVENANCE = {
    "licence": "CC0-1.0 (synthetic sample data)",
    "consent": "synthetic: no real persons",
    "sensitivity": "internal",
    "creator": "loopwright.samples.bank.lm",
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
    from loopwright.registry.deployment import get_deployment, set_stable

    trained = train_sample_lm(config, progress=progress, use_cache=use_cache)
    report = trained.report()
    artifact = register_checkpoint(
        ws,
        trained.folder,
        NAME,
        task="causal-lm",
        provenance={**PROVENANCE, "source": "trained by `loopwright model sample` on the Larkspur Bank sample text"},
        extra_config={"training": report["config"], "heldout_perplexity": report["heldout_perplexity"]["trained"]},
        compute_s=trained.compute_s,
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
    from loopwright.registry.artifacts import resolve

    base_artifact = resolve(ws, base, kind="model")
    # Named without its version, so a re-registered identical base reuses the cached adapter.
    trained = train_sample_adapter(verified_folder(ws, base_artifact), base_name=f"model/{base_artifact.name}", progress=progress)
    artifact = register_adapter(
        ws,
        trained.folder,
        ADAPTER_NAME,
        base_ref=base_artifact,
        provenance={**PROVENANCE, "source": "trained by `loopwright model sample-adapter` on adapter_examples.jsonl"},
        extra_config={"training": trained.report()["config"]},
    )
    return SampleResult(artifact, trained)
