"""Before an artifact goes live on a slot, check that the gateway can load it (a bad router, policy or
prompt bundle is refused at deploy time, with the reason, instead of failing every request)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopwright.errors import ConfigError, IntegrityError, InvalidInput, NotFound
from loopwright.registry.artifacts import Artifact, resolve
from loopwright.registry.deployment import get_deployment, set_stable, slot_kind

if TYPE_CHECKING:
    from loopwright.registry.receipts import Receipt
    from loopwright.workspace import Workspace


def check_servable(ws: Workspace, artifact: Artifact, slot: str | None = None) -> None:
    """Raise `InvalidInput` naming the problem when `artifact` could not be served on `slot`.

    An adapter is checked against the model deployed on the slot of the same role
    (`adapter:small` against `model:small`, `adapter:triage` against `model:triage`),
    else its own base, and the policy's caps.
    """
    from loopwright.policy.loader import policy_from_artifact
    from loopwright.serving.prompts import PromptBundle

    if slot is not None and artifact.kind == "model":
        check_model_role(artifact, slot)
    loaders = {"router": _check_router, "policy": policy_from_artifact, "prompt": PromptBundle.load,
               "adapter": lambda ws, a: _check_adapter(ws, a, slot), "model": _check_model}
    load = loaders.get(artifact.kind)
    if load is None:
        return
    try:
        load(ws, artifact)
    except (ConfigError, NotFound, InvalidInput, IntegrityError) as exc:
        raise InvalidInput(f"{artifact.ref} cannot be served: {exc.message}", hint=exc.hint) from None


def check_model_role(model: Artifact, slot: str) -> None:
    """Raise `InvalidInput` when a model's format does not fit the slot's role.

    `model:triage` loads triage heads, `model:reader` readers; every other model
    role is a generation tier that loads a causal LM. Models of no known format
    (a test's stub files) are not judged here: loading them is.
    """
    from loopwright.hf.checkpoint import FORMAT as HF_FORMAT
    from loopwright.serving.backends.reader import FORMAT as READER_FORMAT, SLOT as READER_SLOT
    from loopwright.serving.triage import HEAD_FORMAT, SLOT as TRIAGE_SLOT

    fmt, task = model.config.get("format"), model.config.get("task")
    if (slot == READER_SLOT) != (fmt == READER_FORMAT) and fmt in (HF_FORMAT, HEAD_FORMAT, READER_FORMAT):
        if slot == READER_SLOT:
            raise InvalidInput(f"{model.ref} is not a reader; slot {slot} holds one", hint="the sample install trains one")
        raise InvalidInput(f"{model.ref} is a reader; slot {slot} does not hold one", hint=f"deploy it on {READER_SLOT}")
    if fmt == READER_FORMAT:
        return
    if slot == TRIAGE_SLOT and fmt == HF_FORMAT:
        raise InvalidInput(f"{model.ref} is a {task or 'checkpoint'} model; slot {slot} holds a triage head",
                           hint="`loopwright triage fit` makes one")
    if slot != TRIAGE_SLOT and fmt == HEAD_FORMAT:
        raise InvalidInput(f"{model.ref} is a triage head; slot {slot} holds a causal LM",
                           hint=f"deploy it on {TRIAGE_SLOT}")
    if slot != TRIAGE_SLOT and fmt == HF_FORMAT and task != "causal-lm":
        raise InvalidInput(f"{model.ref} is an {task} model; slot {slot} holds a causal LM",
                           hint="register a *ForCausalLM checkpoint with `loopwright model register --task causal-lm`")


def _check_router(ws: Workspace, router: Artifact) -> None:
    """Each tier's backend builds from its options, and every slot it needs (a reader's `model:reader`, an hf
    tier's model) serves something: else every request routed to that tier would fail, golden gate first."""
    from loopwright.serving.backends.base import BackendContext, create_backend
    from loopwright.serving.router import RouterPolicy

    live = get_deployment(ws).slots
    for name, tier in RouterPolicy.from_artifact(ws, router).tiers.items():
        backend = create_backend(tier.backend, tier.options, BackendContext(ws))
        try:
            missing = next((s for s in backend.slots if not (live.get(s) and live[s].stable)), None)
        finally:
            backend.close()
        if missing:
            raise InvalidInput(f"tier {name!r} ({tier.backend}) needs slot {missing}, which serves nothing",
                               hint=f"release a model on {missing} first (`loopwright release start {missing} REF`)")


def _check_model(ws: Workspace, model: Artifact) -> None:
    """A Hugging Face checkpoint's files are all there and match their digests; a reader's also fit its card
    (the triage head is JSON)."""
    from loopwright.hf.checkpoint import FORMAT, verified_folder
    from loopwright.serving.backends.reader import FORMAT as READER_FORMAT, check_reader

    if model.config.get("format") == FORMAT:
        verified_folder(ws, model)
    if model.config.get("format") == READER_FORMAT:
        check_reader(ws, model)


def _check_adapter(ws: Workspace, adapter: Artifact, slot: str | None) -> None:
    from loopwright.hf.adapters import verify_adapter
    from loopwright.serving import triage_adapter

    role = slot.partition(":")[2] if slot else ""
    model_slot = get_deployment(ws).slots.get(f"model:{role}") if role else None
    base = model_slot.stable if model_slot and model_slot.stable else None
    if triage_adapter.is_triage_adapter(adapter) or slot == triage_adapter.SLOT:
        if slot is not None and slot != triage_adapter.SLOT:
            raise InvalidInput(f"{adapter.ref} is a triage adapter; slot {slot} adapts a causal LM", hint=f"release it on {triage_adapter.SLOT}")
        triage_adapter.verify(ws, adapter, base)  # against the head live on model:triage, else its own
        return
    verify_adapter(ws, adapter, base=base)


def deploy_checked(ws: Workspace, slot: str, ref: str, *, actor: str | None = None, reason: str = "") -> Receipt:
    """Put `ref` live on `slot`'s stable channel once `check_servable` passes; the receipt is `set_stable`'s."""
    kind = slot_kind(slot)  # a malformed slot fails before the reference is looked up
    artifact = resolve(ws, ref)
    if artifact.kind == kind:  # a kind mismatch is refused by set_stable itself
        check_servable(ws, artifact, slot)
    return set_stable(ws, slot, ref, actor=actor, reason=reason)
