"""Model backends, registered by name: `extractive` (built in), `hf` (a local Hugging Face checkpoint),
`openai` (any OpenAI-compatible endpoint).

A user's backend registers through the same `register_backend` the built-ins use.
"""

from loopwright.serving.backends.base import (
    Backend,
    BackendContext,
    BackendError,
    Generation,
    GenerationRequest,
    UnsupportedParameter,
    create_backend,
    register_backend,
)

__all__ = [
    "Backend", "BackendContext", "BackendError", "Generation", "GenerationRequest", "UnsupportedParameter",
    "create_backend", "register_backend",
]
