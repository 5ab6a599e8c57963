"""Triage models of known quality, made from a fitted head: worse (noise on its weights) or missing an intent.

Registered like any fitted head (same format, same parents, so the same training data for the
contamination check), they give `loopwright eval` and `promote` candidates whose ranking is known.
"""

from __future__ import annotations

import json

import numpy as np

from loopwright.digests import canonical_json
from loopwright.registry.artifacts import Artifact, read_file, register, resolve


def register_variant(ws, base: str, name: str, *, noise: float = 0.0, drop_intent: str | None = None, seed: int = 0) -> Artifact:
    """`base`'s head with Gaussian noise of `noise` times its weights' spread, and `drop_intent` never predicted."""
    source = resolve(ws, base, kind="model")
    head = json.loads(read_file(ws, source, "head.json"))
    coef = np.asarray(head["coef"])
    if noise:
        coef = coef + np.random.default_rng(seed).normal(0.0, noise * coef.std(), coef.shape)
    intercept = np.asarray(head["intercept"])
    if drop_intent:
        intercept[head["classes"].index(drop_intent)] -= 1e3
    head.update(coef=coef.tolist(), intercept=intercept.tolist())
    files = {"head.json": canonical_json(head).encode(), "config.json": read_file(ws, source, "config.json")}
    return register(ws, "model", name, files, parents=source.parents, config=source.config,
                    provenance={"source": f"{source.ref} altered for a test", "creator": "tests"})
