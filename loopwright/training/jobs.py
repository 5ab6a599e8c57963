"""`loopwright train RECIPE`: a train recipe in, a `model` artifact out, with its job receipt.

    recipe + dataset digest + base weights digest  -> job key (the job id; the cache key)
      -> cache hit: the trained files as they were                # $LOOPWRIGHT_CACHE_DIR/train/<key>/
      -> else: <workspace>/.loopwright/jobs/<key>/                # spec.json, data/, checkpoints/, progress.jsonl
               launch (local | torchrun | ray) -> output/, result.json
      -> register model/NAME + train.job receipt, in one transaction

Nothing is registered until every process has finished and the output is in
the cache, so a job killed at any point leaves no artifact and no receipt; its
folder keeps the last checkpoint, which `--resume` continues from (the data
position is the step, so the resumed run sees the batches the uninterrupted
one would have). A finished job's folder is removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.digests import digest_of, sha256_hex
from loopwright.embedding import MODEL_NAME, model_path
from loopwright.errors import ConfigError, NotFound, UnknownRef
from loopwright.registry.artifacts import Artifact, files_from_dir, materialize, read_file, register, resolve
from loopwright.registry.payloads import TrainJob
from loopwright.serving.triage_encoder import ENCODER_DIR, ENCODER_FORMAT
from loopwright.training import checkpoints
from loopwright.training.cache import cached_folder
from loopwright.training.launch import Launcher, launch
from loopwright.training.loop import JobSpec, Progress
from loopwright.training.tasks import base_path, hf_config, load_tokenizer
from loopwright.training.train_recipe import TrainRecipe, load_train_recipe

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

TRAIN_FORMAT = "loopwright.train/1"  # part of the job key: a change to what a job writes moves it
ENCODER_ONLY_FORMAT = "loopwright.encoder/1"  # mlm and contrastive outputs: an encoder folder, no head
SPLIT_FILES = ("train.jsonl", "val.jsonl", "test.jsonl")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Base:
    """The base checkpoint: where its files are, what identifies it, and the artifact when it is one."""

    ref: str | None
    digest: str | None
    folder: str | None
    artifact: Artifact | None = None


def resolve_base(ws: Workspace, recipe: TrainRecipe) -> Base:
    """The recipe's base, checked to exist; a `model/NAME@N` base is a model `loopwright train` made."""
    name = recipe.model.base
    if recipe.model.from_config or name is None:
        return Base(None, None, None)
    if name == MODEL_NAME:
        return Base(MODEL_NAME, _file_digest(model_path() / "model.safetensors"), None)
    if name.startswith("model/"):
        artifact = resolve(ws, name, kind="model")
        if artifact.config.get("format") not in (ENCODER_FORMAT, ENCODER_ONLY_FORMAT):
            raise ConfigError(f"[model] base {artifact.ref} is not an encoder trained by `loopwright train`",
                              hint=f"use {MODEL_NAME}, or a model this command made")
        return Base(artifact.ref, artifact.digest, str(materialize(ws, artifact) / ENCODER_DIR), artifact)
    folder = base_path(recipe, None)
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise ConfigError(f"[model] base {folder} has no .safetensors weights", hint="pickled checkpoints are refused")
    return Base(str(folder), digest_of([_file_digest(p) for p in weights]), str(folder))


def preflight(recipe: TrainRecipe, base: Base) -> None:
    """The checks that need no training (architecture, tokenizer fit), here, before any process starts."""
    if recipe.model.from_config:
        hf_config(recipe, len(load_tokenizer(recipe, None)))
    if recipe.objective.kind == "mlm" and load_tokenizer(recipe, Path(base.folder) if base.folder else None).mask_token is None:
        raise ConfigError("the tokenizer has no mask token, so the mlm objective cannot mask")


@dataclass(frozen=True)
class TrainResult:
    """What `train_model` did. `seconds`: the job's wall time, or the cache lookup."""

    artifact: Artifact
    job_id: str
    result: dict[str, Any]
    cache_hit: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """What `loopwright train --json` prints."""
        keep = ("steps", "resumed_from", "world_size", "examples_per_s", "tokens_per_s", "compute_seconds", "cpu_seconds", "metrics",
                "added_tokens", "launcher")
        return {"artifact": self.artifact.ref, "digest": self.artifact.digest, "job_id": self.job_id, "cache_hit": self.cache_hit,
                "seconds": round(self.seconds, 3), **{k: self.result.get(k) for k in keep},
                "loss": {"first": self.result["losses"][0], "last": self.result["losses"][-1]} if self.result.get("losses") else None}


def job_dir(ws: Workspace, key: str) -> Path:
    """Where a job with this key keeps its spec, data and checkpoints while it runs."""
    return ws.state_dir / "jobs" / key[:24]


def _with_training(recipe: TrainRecipe, **fields: Any) -> TrainRecipe:
    """`recipe` with these `[training]` fields replaced."""
    return recipe.model_copy(update={"training": recipe.training.model_copy(update=fields)})


def _fast_precision(recipe: TrainRecipe) -> str:
    """bf16 where it measures faster than fp32 here for the recipe's batches, else fp32."""
    from loopwright.hf.precision import fast_dtype

    return "bf16" if fast_dtype(rows=recipe.training.batch_size) == "bfloat16" else "fp32"


def train_model(ws: Workspace, recipe_path: str | Path, *, launcher: Launcher = "local", nproc: int = 2, resume: bool = False,
                use_cache: bool = True, progress: Progress | None = None, max_steps: int | None = None) -> TrainResult:
    """Train what `recipe_path` describes (or take it from the cache) and register it as `model/<name>`, with a receipt.

    `max_steps` caps the recipe's `training.max_steps` (a smoke run of the same recipe: the demo's `--quick`); the
    stored recipe.toml then ends with a line saying so, and the job key and config hold the capped recipe.
    """
    recipe, text = load_train_recipe(recipe_path)
    if max_steps is not None and max_steps < (recipe.training.max_steps or max_steps + 1):
        recipe = _with_training(recipe, max_steps=max_steps)
        text += f"\n# run with training.max_steps = {max_steps} (train_model's max_steps)\n"
    try:
        dataset = resolve(ws, recipe.data.dataset, kind="dataset")
    except UnknownRef as exc:
        raise UnknownRef(f"[data] dataset: {exc.message}", hint="make it with `loopwright data prepare RECIPE`") from None
    missing = [f for f in SPLIT_FILES if f not in dataset.files]
    if missing:
        raise NotFound(f"[data] {dataset.ref} is not a prepared dataset: it has no {', '.join(missing)}",
                       hint="make one with `loopwright data prepare RECIPE`")
    if recipe.training.precision == "auto":  # resolved here, so the cache key and the receipt name what ran
        recipe = _with_training(recipe, precision=_fast_precision(recipe))
    base = resolve_base(ws, recipe)
    preflight(recipe, base)
    recipe_digest = sha256_hex(text.encode())
    key = digest_of({"format": TRAIN_FORMAT, "recipe": recipe.model_dump(mode="json"), "dataset": dataset.digest, "base": base.digest})
    started = time.perf_counter()
    folder = job_dir(ws, key)
    used = {"launcher": launcher}

    def build(target: Path) -> None:
        if not resume:
            shutil.rmtree(folder, ignore_errors=True)
        elif checkpoints.latest(folder) is None:
            logger.warning("no checkpoint of job %s to resume from: training from the start", key[:12])
        (folder / "data").mkdir(parents=True, exist_ok=True)
        (folder / "progress.jsonl").unlink(missing_ok=True)
        for name in SPLIT_FILES:
            (folder / "data" / name).write_bytes(read_file(ws, dataset, name))
        spec = JobSpec(recipe.model_dump(mode="json"), key, str(folder), base.folder, resume)
        result = launch(spec, launcher, nproc, progress)
        shutil.copytree(folder / "output", target, dirs_exist_ok=True)
        (target / "training.json").write_text(json.dumps({**result, **used}, indent=2, sort_keys=True), "utf-8")

    if use_cache:
        out, hit = cached_folder("train", key, build)
    else:  # trained into a folder of its own beside the job's, removed once registered
        folder.parent.mkdir(parents=True, exist_ok=True)
        out, hit = Path(tempfile.mkdtemp(prefix=".fresh-", dir=folder.parent)), False
        build(out)
    files = files_from_dir(out)
    if not use_cache:
        shutil.rmtree(out, ignore_errors=True)
    files["recipe.toml"] = text.encode()
    result = json.loads(files["training.json"])
    seconds = time.perf_counter() - started
    artifact = _register(ws, recipe, recipe_digest, dataset, base, key, files, result, hit, seconds)
    shutil.rmtree(folder, ignore_errors=True)  # the job is done: its checkpoints are not needed again
    logger.info("%s from %s in %.1f s", artifact.ref, "cache" if hit else "a training job", seconds)
    return TrainResult(artifact, f"job_{key[:16]}", result, hit, seconds)


def _register(ws: Workspace, recipe: TrainRecipe, recipe_digest: str, dataset: Artifact, base: Base, key: str,
              files: dict[str, bytes], result: dict[str, Any], hit: bool, seconds: float) -> Artifact:
    kind = recipe.objective.kind
    provenance = {
        **{k: dataset.provenance[k] for k in ("licence", "consent", "sensitivity") if k in dataset.provenance},
        "source": f"trained by `loopwright train` ({kind}) on {dataset.ref} (sha256:{dataset.digest[:12]})",
        "dataset": dataset.ref,
        "creator": "loopwright.training.jobs",
    }
    config = {"format": ENCODER_FORMAT if kind == "classification" else ENCODER_ONLY_FORMAT, "objective": kind,
              "recipe": recipe.model_dump(mode="json"), "dataset_digest": dataset.digest, "base": base.ref, "base_digest": base.digest,
              "job_key": key}
    parents = [dataset.digest] + ([base.artifact.digest] if base.artifact else [])
    details = {
        "job_id": f"job_{key[:16]}", "recipe_digest": recipe_digest, "objective": kind, "dataset": dataset.ref,
        "data_digest": dataset.digest, "base": base.ref, "launcher": result.get("launcher", "local"),
        "world_size": int(result["world_size"]), "precision": recipe.training.precision,
        "activation_checkpointing": recipe.training.activation_checkpointing, "steps": int(result["steps"]),
        "resumed_from": result.get("resumed_from"),
        "examples_per_s": 0.0 if hit else float(result["examples_per_s"]),
        "tokens_per_s": 0.0 if hit else float(result["tokens_per_s"]),
        "compute_seconds": 0.0 if hit else float(result["compute_seconds"]),
        "cpu_seconds": 0.0 if hit else float(result.get("cpu_seconds", 0.0)),
        "loss_curve": [round(float(x), 7) for x in result["losses"]],
        "added_tokens": int(result.get("added_tokens", 0)), "metrics": _headline(result.get("metrics", {})),
        "cache_hit": hit, "cache_key": key, "seconds": round(seconds, 3),
    }
    return register(ws, "model", recipe.name, files, parents=parents, provenance=provenance, config=config, receipt=TrainJob,
                    details=details)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """Accuracy and ECE overall and per language (classification), or the validation loss."""
    if "overall" not in metrics:
        return {k: metrics.get(k) for k in ("split", "loss")}
    pick = ("n", "accuracy", "ece")
    return {"overall": {k: metrics["overall"][k] for k in pick},
            "by_language": {lang: {k: m[k] for k in pick} for lang, m in metrics.get("by_language", {}).items()},
            "temperature": metrics.get("temperature")}
