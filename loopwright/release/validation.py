"""Before an artifact goes live on a slot, check that the gateway can load it (a bad router, policy or
prompt bundle is refused at deploy time, with the reason, instead of failing every request)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopwright.errors import ConfigError, InvalidInput, NotFound
from loopwright.registry.artifacts import Artifact

if TYPE_CHECKING:
    from loopwright.workspace import Workspace


def check_servable(ws: Workspace, artifact: Artifact) -> None:
    """Raise `InvalidInput` naming the problem when `artifact` could not be served."""
    from loopwright.policy.schema import policy_from_artifact
    from loopwright.serving.prompts import PromptBundle
    from loopwright.serving.router import RouterPolicy

    loaders = {"router": RouterPolicy.from_artifact, "policy": policy_from_artifact, "prompt": PromptBundle.load}
    load = loaders.get(artifact.kind)
    if load is None:
        return
    try:
        load(ws, artifact)
    except (ConfigError, NotFound, InvalidInput) as exc:
        raise InvalidInput(f"{artifact.ref} cannot be served: {exc.message}", hint=exc.hint) from None
