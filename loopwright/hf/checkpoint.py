"""Local Hugging Face checkpoints as `model` artifacts: checked when registered, verified when loaded.

A checkpoint folder holds `config.json` (naming an architecture), weights as
`*.safetensors` and a tokenizer. Pickled weights (`*.bin`, `*.pt`, ...) are
refused: unpickling runs arbitrary code. Nothing is ever downloaded: loading
reads the artifact's materialised folder with `local_files_only`.

Loading verifies twice over. `materialize` writes the folder from blobs that are
each checked against their sha256; the folder is then cached by the artifact
digest, so on every load its files are hashed again against the manifest (a
~20 MB model takes ~30 ms). A cached file that was altered is logged and the
folder written again from the blobs; a blob that was altered raises
`IntegrityError`, and the model is not loaded.

Causal LMs (generation) and encoders (triage's MiniLM) share this code:
`load_causal_lm` and `load_encoder` differ only in the model class.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import struct
from collections.abc import Mapping, Sequence
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.errors import IntegrityError, InvalidInput
from loopwright.registry.artifacts import Artifact, files_from_dir, materialize, register, resolve
from loopwright.registry.payloads import ModelRegister

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

FORMAT = "hf"
TASKS = ("causal-lm", "encoder")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
# A tokenizer is tokenizer.json, or tokenizer_config.json plus one of these vocabularies.
_VOCABS = ("vocab.txt", "vocab.json", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model")


def read_config(folder: Path) -> dict[str, Any]:
    """`config.json` of a checkpoint folder, parsed; it must name an architecture and a model type."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{folder} has no config.json", hint="a Hugging Face checkpoint folder holds config.json") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not JSON: {exc}") from None
    architectures = config.get("architectures") if isinstance(config, dict) else None
    if not architectures or not isinstance(architectures[0], str) or not isinstance(config.get("model_type"), str):
        raise InvalidInput(f"{path} names no architecture", hint='it needs "architectures": [...] and "model_type"')
    return config


def safetensors_shapes(header_source: bytes | Path) -> dict[str, list[int]]:
    """Tensor name -> shape, from a safetensors file's header (bytes of the file, or its path: only the header is read)."""
    try:
        if isinstance(header_source, Path):
            with header_source.open("rb") as f:
                (length,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(length))
        else:
            (length,) = struct.unpack("<Q", header_source[:8])
            header = json.loads(header_source[8 : 8 + length])
        return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except (OSError, struct.error, ValueError, KeyError, TypeError):
        raise InvalidInput("not a safetensors file (unreadable header)") from None


def _check_files(folder: Path, files: Mapping[str, bytes]) -> list[str]:
    """The safetensors weight files; refuses pickles, no weights, and a missing tokenizer."""
    pickled = sorted(p for p in files if p.lower().endswith(PICKLE_SUFFIXES))
    if pickled:
        raise InvalidInput(
            f"{folder}: pickled weights are refused ({', '.join(pickled)}): loading a pickle runs arbitrary code",
            hint="save the model with safe_serialization (model.safetensors) and remove the pickle files",
        )
    weights = sorted(p for p in files if p.endswith(".safetensors"))
    if not weights:
        raise InvalidInput(f"{folder} has no *.safetensors weights")
    has_vocab = any(Path(p).name in _VOCABS for p in files)
    if "tokenizer.json" not in files and not ("tokenizer_config.json" in files and has_vocab):
        raise InvalidInput(
            f"{folder}: missing tokenizer",
            hint="the folder needs tokenizer.json, or tokenizer_config.json with its vocabulary (vocab.txt, vocab.json...)",
        )
    return weights


def describe(folder: Path, files: Mapping[str, bytes], task: str) -> dict[str, Any]:
    """The artifact config of a checkpoint: format, task, architecture, sizes. Raises `InvalidInput` on a bad folder."""
    if task not in TASKS:
        raise InvalidInput(f"unknown model task {task!r}", hint=f"one of: {', '.join(TASKS)}")
    config = read_config(folder)
    weights = _check_files(folder, files)
    architecture = config["architectures"][0]
    if (task == "causal-lm") != architecture.endswith("ForCausalLM"):
        want = "a *ForCausalLM architecture" if task == "causal-lm" else "an encoder, not a causal LM"
        raise InvalidInput(f"{folder}: task {task} needs {want}; config.json names {architecture}", hint="pass --task")
    context = config.get("max_position_embeddings") or config.get("n_positions")
    return {
        "format": FORMAT,
        "task": task,
        "architecture": architecture,
        "model_type": config["model_type"],
        "context_length": context,
        "hidden_size": config.get("hidden_size"),
        "parameters": sum(prod(shape) for w in weights for shape in safetensors_shapes(files[w]).values()),
        "weights_dtype": config.get("dtype") or config.get("torch_dtype"),
    }


def register_checkpoint(
    ws: Workspace,
    folder: Path,
    name: str,
    *,
    task: str = "causal-lm",
    provenance: Mapping[str, Any] | None = None,
    parents: Sequence[str] = (),
    extra_config: Mapping[str, Any] | None = None,
    actor: str | None = None,
    compute_s: float | None = None,
) -> Artifact:
    """Check the checkpoint in `folder` and register it as `model/<name>`; its config describes it.

    `extra_config` is merged into the stored config (e.g. the training
    config that made the checkpoint). `compute_s`, the training job's compute seconds, goes on the
    receipt (what `observe.costs` prices). Identical files return the existing version.
    """
    folder = Path(folder)
    read_config(folder)  # a folder that is no checkpoint fails here, before all of it is read
    files = files_from_dir(folder)
    config = {**describe(folder, files, task), **(extra_config or {})}
    return register(
        ws,
        "model",
        name,
        files,
        parents=parents,
        provenance={"source": f"checkpoint folder {folder.name}", "creator": ws.actor, **(provenance or {})},
        config=config,
        actor=actor,
        receipt=ModelRegister,
        details=None if compute_s is None else {"compute_s": round(compute_s, 3)},
    )


def _model_artifact(ws: Workspace, artifact: Artifact | str, task: str) -> Artifact:
    if isinstance(artifact, str):
        artifact = resolve(ws, artifact, kind="model")
    if artifact.config.get("format") != FORMAT or artifact.config.get("task") != task:
        raise InvalidInput(
            f"{artifact.ref} is not a Hugging Face {task} checkpoint (config format={artifact.config.get('format')!r}, "
            f"task={artifact.config.get('task')!r})",
            hint="register one with `loopwright model register`",
        )
    return artifact


def _matches(folder: Path, artifact: Artifact) -> str | None:
    """None when `folder` holds exactly the artifact's files with their digests, else the first difference."""
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    if present != set(artifact.files):
        return f"files differ ({', '.join(sorted(present ^ set(artifact.files)))})"
    for path, entry in sorted(artifact.files.items()):
        data = (folder / path).read_bytes()
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["digest"]:
            return f"{path} does not match its digest"
    return None


def verified_folder(ws: Workspace, artifact: Artifact) -> Path:
    """The artifact's files in a local folder, each verified against its manifest (see the module notes). Any kind."""
    folder = materialize(ws, artifact)
    problem = _matches(folder, artifact)
    if problem is None:
        return folder
    logger.warning("%s: cached folder %s was altered (%s); writing it again from the blob store", artifact.ref, folder, problem)
    shutil.rmtree(folder)
    folder = materialize(ws, artifact)  # every blob is verified as it is read
    problem = _matches(folder, artifact)
    if problem is not None:  # e.g. another process altering the cache while we write it
        raise IntegrityError(f"{artifact.ref}: {problem} after rewriting {folder}", hint="remove the folder and retry")
    return folder


def resolve_dtype(dtype: str | None, quantize: str | None, *, width: int = 384, rows: int = 32) -> str:
    """The float dtype to load in: int8 quantisation starts from float32; otherwise `dtype`, else the one
    measured faster for a model of hidden size `width` fed `rows` rows at a time (loopwright.hf.precision)."""
    from loopwright.hf.precision import DTYPES, fast_dtype

    if dtype is not None and dtype not in DTYPES:
        raise InvalidInput(f"unknown dtype {dtype!r}", hint=f"one of: {', '.join(DTYPES)}")
    if quantize not in (None, "int8"):
        raise InvalidInput(f"unknown quantisation {quantize!r}", hint="int8, or none")
    if quantize is not None:
        if dtype not in (None, "float32"):
            raise InvalidInput(f"int8 quantisation starts from float32 weights, not {dtype}")
        return "float32"
    return dtype or fast_dtype(width=width, rows=rows)


def _load(ws: Workspace, artifact: Artifact | str, task: str, quantize: str | None, dtype: str | None):
    from loopwright.hf.quantize import preload_torchao, quantize_int8

    preload_torchao()
    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    artifact = _model_artifact(ws, artifact, task)
    # A causal LM spends its time decoding one row per sequence; an encoder takes batches.
    rows = 1 if task == "causal-lm" else 32
    chosen = resolve_dtype(dtype, quantize, width=artifact.config.get("hidden_size") or 384, rows=rows)
    folder = verified_folder(ws, artifact)
    auto = transformers.AutoModelForCausalLM if task == "causal-lm" else transformers.AutoModel
    hf_logging.disable_progress_bar()  # no weight-loading bars in CLI output
    model = auto.from_pretrained(folder, local_files_only=True, use_safetensors=True, dtype=getattr(torch, chosen))
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model.eval().requires_grad_(False)
    if quantize == "int8":
        quantize_int8(model)
    logger.info("loaded %s (%s%s) from %s", artifact.ref, chosen, ", int8" if quantize else "", folder)
    return model, tokenizer


def load_causal_lm(ws: Workspace, artifact: Artifact | str, *, quantize: str | None = None, dtype: str | None = None):
    """(model, tokenizer) of a `causal-lm` model artifact, in eval mode without gradients.

    `quantize="int8"`: Linear weights to int8 (see loopwright.hf.quantize).
    `dtype`: `float32` or `bfloat16`; default, the one measured faster here for this model's width
    at one row (decoding; loopwright.hf.precision). `$LOOPWRIGHT_DTYPE` overrides the measurement.
    """
    return _load(ws, artifact, "causal-lm", quantize, dtype)


def load_encoder(ws: Workspace, artifact: Artifact | str, *, quantize: str | None = None, dtype: str | None = None):
    """(model, tokenizer) of an `encoder` model artifact (e.g. MiniLM); as `load_causal_lm`, with `AutoModel`."""
    return _load(ws, artifact, "encoder", quantize, dtype)
