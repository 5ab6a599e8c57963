"""What a finished job writes: the trained files and what they measure on the dataset's held-out splits.

    output/encoder/      the encoder (config.json, model.safetensors) and its tokenizer: a Hugging Face folder
    output/head.json     classification: intents, the Linear head, the temperature fitted on validation NLL
    output/metrics.json  classification: test accuracy and calibration per language and intent; mlm / contrastive:
                         the validation loss

A classification output is a triage model of format `ENCODER_FORMAT`, which
`loopwright.serving.triage.TriageModel.load` serves with its own encoder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from loopwright.digests import canonical_json
from loopwright.serving.triage_encoder import ENCODER_DIR, ENCODER_FORMAT
from loopwright.training.calibration import calibration_scores, fit_temperature
from loopwright.training.tasks import Task, read_rows


def _logits(task: Task, rows: list[dict[str, Any]]) -> np.ndarray:
    import torch

    model = task.model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), 64):
            part = rows[start : start + 64]
            batch = task.batch(part, 0)
            out.append(model(batch["input_ids"], batch["attention_mask"]).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(task.classes)))


def _classification(task: Task, data_dir: Path, folder: Path) -> dict[str, Any]:
    known = set(task.classes)
    val = [r for r in read_rows(data_dir / "val.jsonl") if r.get("intent") in known]
    test = [r for r in read_rows(data_dir / "test.jsonl") if r.get("intent") in known]
    val_logits, test_logits = _logits(task, val), _logits(task, test)
    val_labels = np.array([task.classes.index(r["intent"]) for r in val])
    test_labels = np.array([task.classes.index(r["intent"]) for r in test])
    temperature = fit_temperature(val_logits, val_labels) if len(val) else 1.0
    languages = np.array([r.get("language", "?") for r in test])
    metrics: dict[str, Any] = {"split": "test", "temperature": temperature, "sizes": {"val": len(val), "test": len(test)}}
    if len(test):
        metrics["overall"] = calibration_scores(test_logits, test_labels, temperature, 15)
        metrics["by_language"] = {lang: calibration_scores(test_logits[languages == lang], test_labels[languages == lang], temperature, 15)
                                  for lang in sorted(set(languages))}
        metrics["by_intent"] = {name: {"n": int((test_labels == k).sum()),
                                       "accuracy": float((test_logits[test_labels == k].argmax(1) == k).mean())}
                                for k, name in enumerate(task.classes) if (test_labels == k).any()}
    head = task.model.head
    doc = {"format": ENCODER_FORMAT, "classes": task.classes, "coef": head.weight.detach().double().tolist(),
           "intercept": head.bias.detach().double().tolist(), "temperature": temperature, "pooling": "mean",
           "max_length": task.recipe.training.max_length}
    (folder / "head.json").write_bytes(canonical_json(doc).encode())
    return metrics


def _validation_loss(task: Task, data_dir: Path) -> dict[str, Any]:
    import torch

    rows = read_rows(data_dir / "val.jsonl")
    if task.recipe.objective.kind == "contrastive":
        from loopwright.training.tasks import _pairs

        rows = _pairs([r for r in rows if r.get("intent")], task.recipe.seed)
    losses = []
    task.model.eval()
    with torch.no_grad():
        for start in range(0, len(rows), 32):
            part = rows[start : start + 32]
            if len(part) > 1 or task.recipe.objective.kind != "contrastive":
                losses.append(float(task.loss(task.model, task.batch(part, 10**9 + start))))
    return {"split": "val", "loss": float(np.mean(losses)) if losses else None, "batches": len(losses)}


def write_output(task: Task, data_dir: Path, folder: Path) -> dict[str, Any]:
    """Save the trained network and its tokenizer under `folder`; return (and write) its metrics."""
    folder.mkdir(parents=True, exist_ok=True)
    kind = task.recipe.objective.kind
    encoder = task.model.encoder if kind == "classification" else task.model
    if task.recipe.training.activation_checkpointing:
        encoder.gradient_checkpointing_disable()
    encoder.save_pretrained(folder / ENCODER_DIR, safe_serialization=True)
    task.tokenizer.save_pretrained(folder / ENCODER_DIR)
    metrics = _classification(task, data_dir, folder) if kind == "classification" else _validation_loss(task, data_dir)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True), "utf-8")
    return metrics
