"""Adapters on the triage model: LoRA on the shared MiniLM encoder and a retrained head, served per channel.

    text -> MiniLM, each adapted Linear  y = W x + b + (alpha / r) B A x    # only for this call
         -> mean pool, L2-normalise                                        # (384,)
         -> the adapter's head: softmax((W' v + b') / T')                  # (K,)

An adapter artifact of format `FORMAT` holds PEFT's `adapter_config.json` and
`adapter_model.safetensors` (the LoRA matrices, on MiniLM's module names) and a
`head.json` in the base head's format, trained together with the LoRA. It is
bound to its base, the `model/triage` head it was trained from: that head's
digest is its parent and its config's `base_digest`. `check_files` refuses,
with the reason: pickled weights, anything but LoRA, matrices that do not fit
MiniLM, a head with other intents than its base's, and anything beyond the
policy's `[adapters.triage]` caps; it runs at registration, at release
(`release.validation`) and when the gateway loads the adapter.

Serving (`load_adapted`): stable and canary callers share the one process-wide
encoder. A batch runs with the LoRA branches as forward hooks attached only while
the adapted call holds the embedder's lock (`Embedder.encode_adapted`), so retrieval
and the base triage never see them; one text (a request) runs the encoder's layers
below the lowest adapted one once, then the base top and a traced copy of the
adapted top with the LoRA merged in (`Embedder._adapted_top`). Detaching is the
bundle no longer naming the adapter, which the next request resolves
(`loopwright rollback adapter:triage`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loopwright.embedding import DIM, LoraDelta, model_path
from loopwright.errors import IntegrityError, InvalidInput, NotFound
from loopwright.hf.adapters import CONFIG_FILE, WEIGHTS_FILE, check_adapter, lora_modules
from loopwright.hf.checkpoint import PICKLE_SUFFIXES, safetensors_shapes
from loopwright.registry.artifacts import Artifact, read_file, resolve
from loopwright.serving.triage import HEAD_FORMAT, AdaptedTriage, TriageModel

if TYPE_CHECKING:
    from loopwright.policy.schema import TriageAdapterCaps
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

FORMAT = "loopwright.triage.adapter/1"
SLOT = "adapter:triage"
HEAD_FILE = "head.json"
FILES = (CONFIG_FILE, WEIGHTS_FILE, HEAD_FILE)


def is_triage_adapter(artifact: Artifact) -> bool:
    """Whether `artifact` is an adapter on the triage model (not on a causal LM)."""
    return artifact.kind == "adapter" and artifact.config.get("format") == FORMAT


def encoder_shapes() -> dict[str, list[int]]:
    """MiniLM's weight name -> shape, from its safetensors header (what an adapter's matrices must fit)."""
    return safetensors_shapes(model_path() / "model.safetensors")


def triage_caps(ws: Workspace) -> TriageAdapterCaps:
    """The deployed policy's `[adapters.triage]` caps; the schema's defaults when no policy is deployed."""
    from loopwright.policy.loader import deployed_policy
    from loopwright.policy.schema import TriageAdapterCaps

    try:
        return deployed_policy(ws).adapters.triage
    except NotFound:
        return TriageAdapterCaps()


def triage_base(ws: Workspace, ref: str | Artifact) -> Artifact:
    """The `model/triage` head `ref` names, refused when it is not a triage head."""
    base = resolve(ws, ref, kind="model") if isinstance(ref, str) else ref
    if base.config.get("format") != HEAD_FORMAT:
        raise InvalidInput(f"{base.ref} is not a triage head, so no triage adapter can apply to it",
                           hint="the base is the model on slot model:triage (`loopwright triage fit`)")
    return base


def check_files(files: Mapping[str, bytes], base: Artifact, base_head: bytes, caps: TriageAdapterCaps,
                label: str) -> dict[str, Any]:
    """Refuse adapter files that do not fit MiniLM and `base`, or break `caps`; return the artifact config."""
    pickled = sorted(p for p in files if p.lower().endswith(PICKLE_SUFFIXES))
    if pickled:
        raise InvalidInput(f"{label}: pickled weights are refused ({', '.join(pickled)})", hint=f"save as {WEIGHTS_FILE}")
    missing = [f for f in FILES if f not in files]
    if missing:
        raise InvalidInput(f"{label} has no {', '.join(missing)}", hint=f"a triage adapter holds {', '.join(FILES)}")
    try:
        adapter_config = json.loads(files[CONFIG_FILE])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{label}: {CONFIG_FILE} is not JSON: {exc}") from None
    size = sum(len(d) for d in files.values())
    config = check_adapter(adapter_config, safetensors_shapes(files[WEIGHTS_FILE]), size, base, encoder_shapes(), caps, label=label)
    alpha = adapter_config.get("lora_alpha")
    if not isinstance(alpha, int | float) or alpha > caps.max_alpha:
        raise InvalidInput(f"{label} refused: alpha {alpha} is over the policy cap max_alpha = {caps.max_alpha}")
    head = TriageModel.from_head(base, files[HEAD_FILE])
    base_classes = TriageModel.from_head(base, base_head).classes
    if head.classes != base_classes:
        raise InvalidInput(f"{label} is for a different base: its head's intents are not {base.ref}'s",
                           hint="train the adapter on the triage model it will serve beside")
    return {**config, "format": FORMAT, "base_architecture": "all-MiniLM-L6-v2 + triage head", "classes": head.classes}


def verify(ws: Workspace, adapter: Artifact, base: Artifact | str | None = None,
           caps: TriageAdapterCaps | None = None) -> Artifact:
    """Check a registered triage adapter again (its files, bound base, the caps now in force); return the base.

    `base`, when given, is the head it must serve beside (the one on `model:triage`):
    an adapter trained from another head is refused.
    """
    if not is_triage_adapter(adapter):
        raise InvalidInput(f"{adapter.ref} is not a triage adapter", hint="`loopwright learn adapter --target triage` makes one")
    bound = adapter.config.get("base_digest")
    if base is not None:
        base = triage_base(ws, base)
        if base.digest != bound:
            raise InvalidInput(
                f"{adapter.ref} is for a different base: trained on {adapter.config.get('base')} "
                f"({str(bound)[:12]}), not {base.ref} ({base.digest[:12]})",
                hint="train it again on the triage model live on model:triage",
            )
    else:
        base = triage_base(ws, bound or "")
    files = {path: read_file(ws, adapter, path) for path in adapter.files}
    check_files(files, base, read_file(ws, base, HEAD_FILE), caps or triage_caps(ws), adapter.ref)
    return base


def lora_delta(files: Mapping[str, bytes]) -> LoraDelta:
    """The LoRA branches in a PEFT adapter's files, as float32 tensors keyed by MiniLM module path."""
    import torch
    from safetensors.torch import load as load_safetensors

    adapter_config = json.loads(files[CONFIG_FILE])
    tensors = load_safetensors(files[WEIGHTS_FILE])
    shapes = {k: list(v.shape) for k, v in tensors.items()}
    weights = {}
    for module in lora_modules(shapes):
        prefix = next(k for k in tensors if k.endswith(f"{module}.lora_A.weight")).removesuffix("lora_A.weight")
        weights[module] = (tensors[prefix + "lora_A.weight"].to(torch.float32), tensors[prefix + "lora_B.weight"].to(torch.float32))
    rank = next(iter(weights.values()))[0].shape[0]
    return LoraDelta(weights, float(adapter_config["lora_alpha"]) / rank)


def load_adapted(ws: Workspace, adapter: Artifact, base: Artifact) -> AdaptedTriage:
    """`adapter` verified against `base` and the live caps, loaded for serving."""
    verify(ws, adapter, base)
    files = {path: read_file(ws, adapter, path) for path in adapter.files}
    model = TriageModel.from_head(adapter, files[HEAD_FILE])
    if model.coef.shape[1] != DIM:
        raise IntegrityError(f"{adapter.ref} head is not over {DIM}-dimensional vectors")
    return AdaptedTriage(adapter, model.classes, model.coef, model.intercept, model.temperature, model.embedder_id,
                         base=TriageModel.load(ws, base), lora=lora_delta(files))
