"""Preference optimisation on a causal LM: TRL's DPO (pairs) or KTO (thumbs), trained as a PEFT LoRA adapter.

    dpo: {prompt, chosen, rejected}   -> trl.DPOTrainer    # push log p(chosen) - log p(rejected) past the reference's
    kto: {prompt, completion, label}  -> trl.KTOTrainer    # thumbs up / down, no pairs needed
      prompt as one user turn, the answer as the assistant's (conversational rows: the checkpoint's chat template)
      -> LoRA r on q/k/v/o of every layer; the reference is the base itself (the adapter disabled), so no copy
      -> adapter_config.json, adapter_model.safetensors (PEFT), training.json

Precision: float32 unless bfloat16 measures faster here (`loopwright.hf.precision`). TRL's configs
default to bf16=True, which on this CPU is ~30x slower, so the flag is always set from the measurement.
Trained folders are cached (`loopwright.training.cache`) by the base weights' digests, the config and
the rows, so the same inputs give the same files.

`pair_margins` scores held-out pairs: the mean per-token log-probability of the chosen answer minus
the rejected one's, with or without an adapter. Per token, not summed (the quantity DPO moves),
because the held-out rejected answers are shorter: summed, the sample LM preferred them on 27 of 30
pairs before any training, which measures length, not preference.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from loopwright.digests import digest_of
from loopwright.errors import InvalidInput
from loopwright.training.cache import TrainedFolder, cached_folder

if TYPE_CHECKING:
    from loopwright.policy.schema import AdapterCaps

FORMAT = "loopwright.preference-adapter/1"
METHODS = ("dpo", "kto")
Progress = Callable[[int, int, float], None]
"""Called after each optimiser step with (step, total steps, loss)."""


@dataclass(frozen=True)
class PreferenceConfig:
    """How a preference adapter is trained. Stored in its training.json and the artifact's config; part of the cache key."""

    method: Literal["dpo", "kto"] = "dpo"
    """`dpo` learns from chosen/rejected pairs, `kto` from single answers marked good or bad (`--method`)."""
    rank: int = 8
    """LoRA rank r (`--rank`)."""
    alpha: int = 16
    """LoRA scaling numerator: the update is scaled by alpha / r (`--alpha`)."""
    lr: float = 2e-3
    """Peak AdamW learning rate, decayed linearly (`--lr`): the 3.7M-parameter sample LM needs a large one."""
    epochs: int = 2
    """Passes over the training rows (`--epochs`)."""
    batch_size: int = 8
    """Rows (pairs for DPO) per optimiser step (`--batch-size`)."""
    beta: float = 0.1
    """How far from the reference the adapter may move: DPO's and KTO's beta (`--beta`)."""
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    """Modules adapted in every layer (`--target-modules`): all of attention, as the sample's other adapter."""
    seed: int = 0
    """Seeds the LoRA initialisation and the batch order."""
    max_length: int = 256
    """Tokens of prompt and answer together; longer rows are truncated."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput(f"--method {self.method!r} is not one of {', '.join(METHODS)}")
        for flag, value in (("--rank", self.rank), ("--alpha", self.alpha), ("--epochs", self.epochs),
                            ("--batch-size", self.batch_size), ("--max-length", self.max_length)):
            if value < 1:
                raise InvalidInput(f"{flag} must be at least 1, got {value}")
        for flag, value in (("--lr", self.lr), ("--beta", self.beta)):
            if not (value > 0 and math.isfinite(value)):
                raise InvalidInput(f"{flag} must be a positive number, got {value}")
        if not self.target_modules:
            raise InvalidInput("--target-modules names no module")

    def check_caps(self, caps: AdapterCaps) -> None:
        """Refuse a request beyond the policy's `[adapters]` caps, naming the flag and the cap."""
        for flag, value, cap, name in (("--rank", self.rank, caps.max_rank, "max_rank"), ("--alpha", self.alpha, caps.max_alpha, "max_alpha"),
                                       ("--lr", self.lr, caps.max_lr, "max_lr"), ("--epochs", self.epochs, caps.max_epochs, "max_epochs")):
            if value > cap:
                raise InvalidInput(f"{flag} {value} is over the policy cap [adapters] {name} = {cap}",
                                   hint="ask for less, or release a policy with a higher cap")
        outside = [m for m in self.target_modules if m not in caps.target_modules]
        if outside:
            raise InvalidInput(f"--target-modules {', '.join(outside)} is outside the policy's [adapters] target_modules "
                               f"({', '.join(caps.target_modules)})")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "target_modules": list(self.target_modules)}


def conversational(row: dict[str, Any], method: str) -> dict[str, Any]:
    """A curated row in TRL's conversational form: the prompt as a user turn, answers as assistant turns."""
    prompt = [{"role": "user", "content": row["prompt"]}]
    if method == "dpo":
        return {"prompt": prompt, "chosen": [{"role": "assistant", "content": row["chosen"]}],
                "rejected": [{"role": "assistant", "content": row["rejected"]}]}
    return {"prompt": prompt, "completion": [{"role": "assistant", "content": row["completion"]}], "label": bool(row["label"])}


def _callback(progress: Progress):
    from transformers import TrainerCallback

    class StepProgress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                progress(state.global_step, state.max_steps, float(logs["loss"]))

    return StepProgress()


def _load(base_folder: Path):
    from loopwright.hf.quantize import preload_torchao

    preload_torchao()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(base_folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(base_folder, local_files_only=True, use_safetensors=True, dtype=torch.float32)
    return model, tokenizer


def _train_into(folder: Path, base_folder: Path, base_name: str, rows: Sequence[dict[str, Any]], config: PreferenceConfig,
                progress: Progress | None) -> None:
    import datasets
    import torch
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

    from loopwright.hf.precision import fast_dtype

    datasets.disable_progress_bars()
    model, tokenizer = _load(base_folder)
    torch.manual_seed(config.seed)
    bf16 = fast_dtype(width=model.config.hidden_size, rows=config.batch_size) == "bfloat16"
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, target_modules=list(config.target_modules), lora_dropout=0.0,
                      bias="none", task_type="CAUSAL_LM")
    data = datasets.Dataset.from_list([conversational(r, config.method) for r in rows])
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TRL's and PEFT's notes on a CPU run are noise for a CLI user
        common = dict(output_dir=scratch, bf16=bf16, use_cpu=True, per_device_train_batch_size=config.batch_size,
                      num_train_epochs=config.epochs, learning_rate=config.lr, lr_scheduler_type="linear", beta=config.beta,
                      max_length=config.max_length, seed=config.seed, data_seed=config.seed, logging_steps=1,
                      save_strategy="no", report_to=[], disable_tqdm=True, dataloader_num_workers=0)
        if config.method == "dpo":
            trainer = DPOTrainer(model=model, args=DPOConfig(**common), train_dataset=data, processing_class=tokenizer, peft_config=lora)
        else:
            trainer = KTOTrainer(model=model, args=KTOConfig(**common), train_dataset=data, processing_class=tokenizer, peft_config=lora)
        if progress is not None:
            trainer.add_callback(_callback(progress))
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
        trainer.model.save_pretrained(folder, safe_serialization=True)
    (folder / "README.md").unlink(missing_ok=True)  # PEFT's model-card stub
    adapter_config = json.loads((folder / "adapter_config.json").read_text("utf-8"))
    adapter_config["base_model_name_or_path"] = base_name  # not the cache path it was trained from
    (folder / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2, sort_keys=True), "utf-8")
    logged = [h for h in trainer.state.log_history if "loss" in h]
    report = {"format": FORMAT, "config": config.to_dict(), "base": base_name, "rows": len(rows), "steps": trainer.state.global_step,
              "bf16": bf16, "seconds": round(seconds, 3), "rows_per_s": round(len(rows) * config.epochs / seconds, 2),
              "loss": {"first": logged[0]["loss"], "last": logged[-1]["loss"]} if logged else None,
              "reward_margin_last": logged[-1].get("rewards/margins") if logged else None}
    (folder / "training.json").write_text(json.dumps(report, indent=2, sort_keys=True), "utf-8")


def train_preferences(base_folder: Path, rows: Sequence[dict[str, Any]], config: PreferenceConfig, *, base_name: str,
                      progress: Progress | None = None) -> TrainedFolder:
    """Train a preference adapter on the checkpoint in `base_folder` from curated rows (pairs for DPO, labelled
    answers for KTO), cached by the inputs' digests. `base_name` goes in its adapter_config.json."""
    if not rows:
        raise InvalidInput("no preference rows to train on")
    weights = sorted(Path(base_folder).glob("*.safetensors"))
    key = digest_of({"format": FORMAT, "config": config.to_dict(), "base": [hashlib.sha256(p.read_bytes()).hexdigest() for p in weights],
                     "base_name": base_name, "rows": [dict(r) for r in rows]})
    started = time.perf_counter()
    folder, hit = cached_folder("preference-adapter", key, lambda f: _train_into(f, Path(base_folder), base_name, rows, config, progress))
    return TrainedFolder(folder, key, hit, time.perf_counter() - started)


def pair_margins(base_folder: Path, pairs: Sequence[dict[str, Any]], adapter_folder: Path | None = None, *, max_length: int = 256) -> list[float]:
    """Per pair, the mean log p of the chosen answer's tokens minus the rejected one's, given the prompt, under the
    base model (or the base with the adapter in `adapter_folder`). Positive: the model prefers the chosen answer."""
    import torch

    model, tokenizer = _load(base_folder)
    if adapter_folder is not None:
        from peft import PeftModel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = PeftModel.from_pretrained(model, str(adapter_folder))
    model.eval()

    def answer_logp(prompt: str, answer: str) -> float:
        head = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template([{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}], tokenize=False)
        p_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
        ids = tokenizer(full, add_special_tokens=False)["input_ids"][:max_length]
        x = torch.tensor([ids])  # (1, T)
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=x).logits[0, :-1].float(), dim=-1)  # (T-1, V): position t predicts t+1
        targets = x[0, 1:]
        picked = logp.gather(1, targets.unsqueeze(1)).squeeze(1)  # (T-1,)
        return float(picked[len(p_ids) - 1 :].mean())  # the answer's tokens only

    return [answer_logp(p["prompt"], p["chosen"]) - answer_logp(p["prompt"], p["rejected"]) for p in pairs]
