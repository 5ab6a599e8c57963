"""The router: which tier answers a request, by the policy in the deployed `router` artifact.

Easy, confident FAQ questions go to the small tier; low confidence, ambiguity
between the top intents, tool-requiring intents and long multi-part questions
escalate to the large tier, under an escalation cap: when the recent share of
escalations exceeds the cap, only the lowest-confidence requests escalate.
"""

from __future__ import annotations

import json
import threading
import tomllib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loopwright.errors import ConfigError
from loopwright.registry.artifacts import Artifact, read_file

if TYPE_CHECKING:
    from loopwright.workspace import Workspace


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Model):
    """USD per 1,000 tokens."""

    input_per_1k: float = Field(ge=0, description="USD per 1k input tokens.")
    output_per_1k: float = Field(ge=0, description="USD per 1k output tokens.")

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in / 1000 * self.input_per_1k + tokens_out / 1000 * self.output_per_1k


class Tier(_Model):
    """A configured backend with its price."""

    backend: str = Field(description="Backend name: extractive, openai, hf, or one a plugin registered.")
    price: str = Field(description="Key into the router artifact's prices.json.")
    options: dict[str, Any] = Field(default_factory=dict, description="Backend options (evidence spans, endpoint...).")


class Routing(_Model):
    """When the small tier may answer."""

    small_intents: tuple[str, ...] = Field((), description="Intents the small tier may answer; empty: always large.")
    min_confidence: float = Field(0.75, ge=0, le=1, description="Below this triage confidence, escalate.")
    min_margin: float = Field(0.15, ge=0, le=1, description="Below this gap between the top two intents, escalate.")
    max_words: int = Field(30, ge=1, description="Longer questions escalate (multi-part, comparative).")
    escalation_cap: float = Field(1.0, gt=0, le=1, description="Share of recent traffic above which only the lowest-confidence requests escalate.")
    cap_window: int = Field(200, ge=10, description="How many recent requests the cap looks at.")
    default_tier: str = Field("large", description="The escalation tier.")
    small_tier: str = Field("small", description="The tier for easy questions.")
    fallback_tier: str | None = Field(
        None, description="The tier that answers when an output validator with `on_fail = \"fallback\"` fails (the reader); "
        "none: such a failure declines.",
    )
    out_of_scope_intents: tuple[str, ...] = Field(
        (), description="Intents the assistant declines outright (chit-chat, other products): no retrieval, no generation."
    )
    out_of_scope_roles: tuple[str, ...] = Field(
        ("customer",), description="Roles the out-of-scope rule applies to (staff use the assistant as a knowledge tool)."
    )
    out_of_scope_min_confidence: float = Field(
        0.5, ge=0, le=1, description="Decline as out of scope only at this triage confidence or above; below it the "
        "in-scope intents hold the larger share, so the request routes (and escalates) like any unsure one.",
    )
    small_tier_flag: str | None = Field(
        None, description="A feature flag gating the small tier: callers for whom it is off always get the large tier."
    )
    tool_intents: dict[str, str] = Field(
        default_factory=dict, description="Intent -> the tool it acts through; these always escalate."
    )


class CacheRules(_Model):
    enabled: bool = Field(False, description="Serve repeated questions from the cache.")
    normalise: bool = Field(True, description="Normalise case, spacing, punctuation and numbers before keying.")


CANARY_METRICS = ("defect_rate", "decline_rate", "escalation_rate", "latency_ms", "cost", "fcr")


class CanaryRules(_Model):
    """How a candidate is gated and its canary judged and stepped up; see `loopwright.release.analysis`."""

    gate: Literal["all_pass", "no_regression"] = Field(
        "all_pass",
        description="all_pass: every critical golden must pass on the candidate. no_regression: no critical golden "
        "that passes on stable may fail on the candidate (known failures are reported, and a fix can ship).",
    )
    steps: tuple[float, ...] = Field(
        (0.1, 0.5, 1.0), description="Traffic shares a clean canary moves through; after the last it is promoted."
    )
    min_samples: int = Field(200, ge=10, description="Requests needed on each side before any decision.")
    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="Family-wise false-rollback rate, split across critical metrics and steps."
    )
    critical: tuple[str, ...] = Field(
        ("defect_rate", "decline_rate", "latency_ms"), description=f"Metrics whose regression rolls back: {', '.join(CANARY_METRICS)}."
    )
    min_rate_increase: float = Field(0.02, ge=0, description="A rate must rise by at least this much (absolute) to count.")
    min_segment_samples: int = Field(
        10, ge=5, description="Requests of one intent needed on each side before that intent's defect rate is tested."
    )
    min_segment_increase: float = Field(0.2, ge=0, description="An intent's defect rate must rise this much to count.")
    min_focus_samples: int = Field(
        30, ge=5, description="Canary requests that must touch what a change changed (for a corpus release: read a "
        "changed document) before the step is judged.",
    )
    min_conversations: int = Field(
        30, ge=5, description="Conversations needed on each side before first-contact resolution (`fcr`) is tested."
    )
    min_fcr_drop: float = Field(
        0.05, ge=0, description="First-contact resolution must fall by at least this much (absolute) to count."
    )
    max_latency_increase: float = Field(0.25, ge=0, description="Relative rise in median latency tolerated.")
    min_latency_increase_ms: float = Field(
        0.0, ge=0, description="A rise in median latency under this many ms is tolerated whatever its ratio to stable's "
        "(the floor under max_latency_increase, as min_rate_increase is for rates): a change that puts a model where "
        "stable does no inference adds tens of ms, a large share of a small median, far inside the answer's budget.",
    )
    max_cost_increase: float = Field(0.10, ge=0, description="Relative rise in median cost per request tolerated.")

    @model_validator(mode="after")
    def _check(self) -> CanaryRules:
        unknown = set(self.critical) - set(CANARY_METRICS)
        if unknown:
            raise ValueError(f"unknown canary metric(s) {', '.join(sorted(unknown))}; known: {', '.join(CANARY_METRICS)}")
        if not self.steps or list(self.steps) != sorted(self.steps) or not all(0 < x <= 1 for x in self.steps):
            raise ValueError("steps must be increasing shares in (0, 1]")
        return self


class RouterPolicy(_Model):
    """The whole `router.toml`."""

    mode: Literal["governed", "passthrough"] = Field(
        "governed", description="governed: triage, retrieval and routing; passthrough: forward by model name."
    )
    assistant_model: str = Field("loopwright", description="The model name clients ask for in governed mode.")
    tiers: dict[str, Tier] = Field(description="Tier name -> backend and price.")
    routing: Routing = Routing()
    cache: CacheRules = CacheRules()
    canary: CanaryRules = CanaryRules()
    prices: dict[str, Price] = Field(default_factory=dict, description="Filled from prices.json.")

    @model_validator(mode="after")
    def _check(self) -> RouterPolicy:
        for name, tier in self.tiers.items():
            if tier.price not in self.prices:
                raise ValueError(f"tier {name!r} names price {tier.price!r}, not in prices.json")
        if self.mode == "governed":
            for name in (self.routing.default_tier, self.routing.small_tier, self.routing.fallback_tier):
                if name is not None and name not in self.tiers:
                    raise ValueError(f"routing names tier {name!r}, which is not configured")
        return self

    @classmethod
    def from_files(cls, router_toml: bytes, prices_json: bytes | None, *, origin: str = "router.toml") -> RouterPolicy:
        try:
            data = tomllib.loads(router_toml.decode("utf-8"))
            data["prices"] = json.loads(prices_json) if prices_json else {}
            return cls.model_validate(data)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{origin}: {exc}") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            raise ConfigError(f"{origin}: {where}: {err['msg']}") from None

    @classmethod
    def from_artifact(cls, ws: Workspace, artifact: Artifact) -> RouterPolicy:
        """The policy in a `router` artifact: `router.toml`, with `prices.json` beside it."""
        prices = read_file(ws, artifact, "prices.json") if "prices.json" in artifact.files else None
        return cls.from_files(read_file(ws, artifact, "router.toml"), prices, origin=artifact.ref)

    def price_of(self, tier: str) -> Price:
        return self.prices[self.tiers[tier].price]


@dataclass(frozen=True)
class RouteDecision:
    tier: str
    escalated: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "escalated": self.escalated, "reason": self.reason}


class Router:
    """Applies a `RouterPolicy`; keeps the recent window the escalation cap needs."""

    def __init__(self, policy: RouterPolicy):
        self.policy = policy
        window = policy.routing.cap_window
        self._confidences: deque[float] = deque(maxlen=window)
        self._escalations: deque[bool] = deque(maxlen=window)
        self._lock = threading.Lock()

    def out_of_scope(self, intent: str, confidence: float, role: str) -> str | None:
        """Why the assistant declines this request outright, or None when it routes."""
        r = self.policy.routing
        if intent not in r.out_of_scope_intents or role not in r.out_of_scope_roles:
            return None
        if confidence < r.out_of_scope_min_confidence:
            return None
        return f"intent {intent} is out of scope for this assistant"

    def decide(
        self,
        *,
        intent: str,
        confidence: float,
        margin: float,
        runner_up: str | None,
        question: str,
        needs_tool: bool,
        flags: dict[str, bool] | None = None,
    ) -> RouteDecision:
        r = self.policy.routing
        reasons = []
        flag_off = bool(r.small_tier_flag) and not (flags or {}).get(r.small_tier_flag, False)
        if flag_off:
            reasons.append(f"flag {r.small_tier_flag} is off for this caller")
        if intent not in r.small_intents:
            reasons.append(f"intent {intent} is not a small-tier intent" if r.small_intents else "small tier off")
        if needs_tool:
            reasons.append(f"intent {intent} needs a tool")
        if confidence < r.min_confidence:
            reasons.append(f"low confidence {confidence:.2f} < {r.min_confidence:.2f}")
        if margin < r.min_margin:
            reasons.append(f"ambiguous: {intent} vs {runner_up} (margin {margin:.2f})")
        words = len(question.split())
        if words > r.max_words or question.count("?") > 1:
            reasons.append(f"multi-part question ({words} words)")
        with self._lock:
            # the cap never demotes a tool call, nor to a small tier this caller may not use
            decision = self._apply_cap(reasons, confidence, needs_tool or not r.small_intents or flag_off)
            self._confidences.append(confidence)
            self._escalations.append(decision.escalated)
        return decision

    def _apply_cap(self, reasons: list[str], confidence: float, exempt: bool) -> RouteDecision:
        r = self.policy.routing
        if not reasons:
            return RouteDecision(r.small_tier, False, f"confident FAQ (confidence {confidence:.2f})")
        reason = "; ".join(reasons)
        if not exempt and len(self._escalations) >= 10:
            share = sum(self._escalations) / len(self._escalations)
            if share >= r.escalation_cap:
                threshold = float(np.quantile(np.fromiter(self._confidences, float), r.escalation_cap))
                if confidence > threshold:
                    return RouteDecision(
                        r.small_tier,
                        False,
                        f"{reason}; escalation cap reached ({share:.0%} >= {r.escalation_cap:.0%}), "
                        f"confidence {confidence:.2f} above the lowest-{r.escalation_cap:.0%} line {threshold:.2f}",
                    )
        return RouteDecision(r.default_tier, True, reason)
