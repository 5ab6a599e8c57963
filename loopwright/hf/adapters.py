"""LoRA adapters (PEFT format) as `adapter` artifacts, checked against their base model and the policy's caps.

An adapter folder holds `adapter_config.json` and `adapter_model.safetensors`.
`check_adapter` reads the tensor shapes from the safetensors header alone (no
weights are loaded) and refuses, with the reason:

- anything but LoRA, or pickled weights;
- an adapter for a different base: a module it adapts that the base lacks, or
  LoRA matrices whose sizes do not fit the base's Linear (A: (r, in), B: (out, r));
- one beyond the policy's `[adapters]` caps: rank, total bytes, target modules.

It runs when an adapter is registered (`register_adapter`) and again when the
backend loads one (`verify_adapter`), since the policy may have tightened since.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.errors import InvalidInput, NotFound
from loopwright.hf.checkpoint import FORMAT as MODEL_FORMAT
from loopwright.hf.checkpoint import PICKLE_SUFFIXES, safetensors_shapes, verified_folder
from loopwright.registry.artifacts import Artifact, files_from_dir, register, resolve
from loopwright.registry.payloads import AdapterRegister, ArtifactRegister

if TYPE_CHECKING:
    from loopwright.policy.schema import AdapterCaps
    from loopwright.workspace import Workspace

FORMAT = "peft-lora"
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
# PEFT names a LoRA tensor `<module path>.lora_A.weight` (or lora_B), the path under `base_model.model.`.
_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


def base_shapes(ws: Workspace, base: Artifact) -> dict[str, list[int]]:
    """Weight name -> shape of a model artifact, read from the blob headers (the load verifies the bytes)."""
    shapes: dict[str, list[int]] = {}
    for path, entry in base.files.items():
        if path.endswith(".safetensors"):
            shapes.update(safetensors_shapes(ws.blobs.path(entry["digest"])))
    return shapes


def lora_modules(shapes: Mapping[str, list[int]]) -> dict[str, dict[str, list[int]]]:
    """Module path -> {"A": shape, "B": shape} of the LoRA tensors in an adapter's weights."""
    modules: dict[str, dict[str, list[int]]] = {}
    for key, shape in shapes.items():
        match = _LORA_KEY.match(key)
        if match is None:
            raise InvalidInput(f"adapter tensor {key!r} is not a LoRA matrix", hint="only LoRA adapters (PEFT format) are accepted")
        modules.setdefault(match["module"], {})[match["ab"]] = shape
    return modules


def check_adapter(
    adapter_config: Mapping[str, Any],
    shapes: Mapping[str, list[int]],
    size: int,
    base: Artifact,
    base_weights: Mapping[str, list[int]],
    caps: AdapterCaps,
    *,
    label: str = "adapter",
) -> dict[str, Any]:
    """Refuse an adapter that does not fit `base` or breaks `caps`; return its description (the artifact config)."""
    if str(adapter_config.get("peft_type", "")).upper() != "LORA":
        raise InvalidInput(f"{label}: peft_type {adapter_config.get('peft_type')!r} is not LORA", hint="only LoRA adapters are accepted")
    modules = lora_modules(shapes)
    if not modules:
        raise InvalidInput(f"{label}: {WEIGHTS_FILE} holds no LoRA matrices")
    rank = 0
    for module, ab in sorted(modules.items()):
        weight = base_weights.get(f"{module}.weight")
        if weight is None:
            raise InvalidInput(
                f"{label} is for a different base: {base.ref} ({base.config.get('architecture')}) has no module {module}",
                hint="train the adapter on this base model",
            )
        a, b = ab.get("A"), ab.get("B")
        if a is None or b is None or len(weight) != 2 or a[1] != weight[1] or b[0] != weight[0] or a[0] != b[1]:
            raise InvalidInput(
                f"{label} is for a different base: {module} is {weight[1]} -> {weight[0]} in {base.ref}, "
                f"but the adapter's LoRA matrices are A {a} and B {b}",
                hint="train the adapter on this base model",
            )
        rank = max(rank, a[0])
    targets = sorted({m.rsplit(".", 1)[-1] for m in modules})
    if rank > caps.max_rank:
        raise InvalidInput(f"{label} refused: rank {rank} is over the policy cap max_rank = {caps.max_rank}")
    if size > caps.max_bytes:
        raise InvalidInput(f"{label} refused: {size} bytes is over the policy cap max_bytes = {caps.max_bytes}")
    outside = [t for t in targets if t not in caps.target_modules]
    if outside:
        raise InvalidInput(
            f"{label} refused: it adapts {', '.join(outside)}, outside the policy's target_modules "
            f"({', '.join(caps.target_modules)})"
        )
    return {
        "format": FORMAT,
        "rank": rank,
        "alpha": adapter_config.get("lora_alpha"),
        "target_modules": targets,
        "modules": len(modules),
        "bytes": size,
        "base": base.ref,
        "base_digest": base.digest,
        "base_architecture": base.config.get("architecture"),
    }


def policy_caps(ws: Workspace) -> AdapterCaps:
    """The `[adapters]` caps of the deployed policy; the schema's defaults when no policy is deployed."""
    from loopwright.policy.loader import deployed_policy
    from loopwright.policy.schema import AdapterCaps

    try:
        return deployed_policy(ws).adapters
    except NotFound:
        return AdapterCaps()


def _base_model(ws: Workspace, ref: str | Artifact) -> Artifact:
    base = resolve(ws, ref, kind="model") if isinstance(ref, str) else ref
    if base.config.get("format") != MODEL_FORMAT:
        raise InvalidInput(f"{base.ref} is not a Hugging Face checkpoint, so no adapter can apply to it")
    return base


def _check_files(ws: Workspace, files: Mapping[str, bytes], base: Artifact, caps: AdapterCaps, label: str) -> dict[str, Any]:
    pickled = sorted(p for p in files if p.lower().endswith(PICKLE_SUFFIXES))
    if pickled:
        raise InvalidInput(f"{label}: pickled weights are refused ({', '.join(pickled)})", hint=f"save as {WEIGHTS_FILE}")
    for needed in (CONFIG_FILE, WEIGHTS_FILE):
        if needed not in files:
            raise InvalidInput(f"{label} has no {needed}", hint="a PEFT LoRA folder holds adapter_config.json and adapter_model.safetensors")
    try:
        adapter_config = json.loads(files[CONFIG_FILE])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{label}: {CONFIG_FILE} is not JSON: {exc}") from None
    size = sum(len(d) for d in files.values())
    return check_adapter(adapter_config, safetensors_shapes(files[WEIGHTS_FILE]), size, base, base_shapes(ws, base), caps, label=label)


def register_adapter(
    ws: Workspace,
    folder: Path,
    name: str,
    *,
    base_ref: str | Artifact,
    caps: AdapterCaps | None = None,
    provenance: Mapping[str, Any] | None = None,
    extra_config: Mapping[str, Any] | None = None,
    actor: str | None = None,
    parents: Sequence[str] = (),
    receipt: type[ArtifactRegister] = AdapterRegister,
    details: Mapping[str, Any] | None = None,
) -> Artifact:
    """Check a PEFT LoRA folder against its base model and the caps (default: the deployed policy's), then
    register it as `adapter/<name>` with the base's digest as its first parent (then `parents`, the data it
    learnt from). `receipt` and `details`: a training job's own receipt instead of a plain registration."""
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file():  # checked before reading every file below the folder
        raise InvalidInput(f"{folder} has no {CONFIG_FILE}", hint="a PEFT LoRA folder holds adapter_config.json and adapter_model.safetensors")
    base = _base_model(ws, base_ref)
    files = files_from_dir(folder)
    config = _check_files(ws, files, base, caps or policy_caps(ws), f"adapter/{name}")
    return register(
        ws,
        "adapter",
        name,
        files,
        parents=[base.digest, *parents],
        provenance={"source": f"adapter folder {folder.name}", "creator": ws.actor, **(provenance or {})},
        config={**config, **(extra_config or {})},
        actor=actor,
        receipt=receipt,
        details=details,
    )


def verify_adapter(
    ws: Workspace, adapter: str | Artifact, base: str | Artifact | None = None, caps: AdapterCaps | None = None
) -> Path:
    """Check a registered adapter again, at load time, against `base` (default: its parent) and the caps
    now in force; return its verified folder for `PeftModel.from_pretrained` / `load_adapter`."""
    if isinstance(adapter, str):
        adapter = resolve(ws, adapter, kind="adapter")
    if base is None:
        if not adapter.parents:
            raise InvalidInput(f"{adapter.ref} names no base model", hint="register it with --base")
        base = adapter.parents[0]
    base_artifact = _base_model(ws, base)
    folder = verified_folder(ws, adapter)
    files = {path: (folder / path).read_bytes() for path in adapter.files}
    _check_files(ws, files, base_artifact, caps or policy_caps(ws), adapter.ref)
    return folder
