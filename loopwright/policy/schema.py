"""The policy set: every rule a call obeys, loaded from the `policy` artifact's `policy.toml`.

```toml
[pii]                        # what happens to personal data in a user's message
actions = { CREDIT_CARD = "mask", US_SSN = "mask", PHONE_NUMBER = "mask" }
[sensitivity]                # verbatim text up to the ceiling; above it, a summary
default = "public"
[sensitivity.tenants.larkspur-staff]
ceiling = "internal"
roles = { admin = "restricted" }
[tools]
confirm = ["open_dispute"]   # tools that wait for the user's explicit yes
[tools.roles.customer]
tools = ["freeze_card", "escalate_to_human"]
[tools.settings.open_dispute]
window_days = 60
[validators.grounding]       # output validators, run in this order
on_fail = "decline"
[retrieval]                  # see loopwright.corpus.rules.RetrievalRules
[adapters]                   # LoRA caps, enforced at registration and at load
max_rank = 16
[adapters.triage]            # the triage encoder's: rank, alpha, learning rate, epochs, bytes, modules
max_epochs = 4
[access]                     # who reads and grades which traces, and reads /metrics
operators = ["admin"]
[slo.objectives.availability]  # service-level objectives over the traces; burn-rate alerts to a webhook
sli = "availability"
target = 0.995

[feedback.rubric.helpful]    # rubric criteria a grader scores (`POST /v1/feedback`)
scale = [1, 5]
[learning]                   # curation and spot checks (`loopwright learn`)
review_min_items = 50
[costs]                      # a job's compute second, priced beside inference (`loopwright report`)
compute_per_second = 0.0001
[evaluation]                 # `loopwright eval` and `promote`: held-out set, composite weights, critical drops
critical = { "accuracy.vi" = 0.02 }
[outcomes]                   # first-contact resolution, time-to-valid, CSAT (`loopwright report`)
repeat_window_days = 7
[privacy]                    # data-subject requests: due date, staff approval, export links
due_days = 30
erasure_approval = true
```

Nothing here is a code constant: changing a rule is a release of the `policy`
slot, with a receipt. This module holds the policy's shape only;
`loopwright.policy.loader` parses a file into it, naming the file, the line and
the reason for any key it does not know, any value of the wrong type, and any
tool or validator that is not registered.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from loopwright.corpus.documents import SENSITIVITY_LEVELS, Sensitivity
from loopwright.corpus.rules import RetrievalRules
from loopwright.policy.entities import ENTITIES
from loopwright.policy.principal import Principal

PiiAction = Literal["mask", "hash", "drop", "refuse"]
"""`mask`: a typed placeholder stable within the conversation (`<CARD_1>`); `hash`: a keyed
digest stable across conversations (`<CARD#3f9a1c2b>`); `drop`: removed; `refuse`: the
message is masked and the turn is declined."""

POLICY_FILE = "policy.toml"


def _known_entity(name: str) -> str:
    if name not in ENTITIES:
        raise ValueError(f"unknown PII entity {name!r} (known: {', '.join(sorted(ENTITIES))})")
    return name


EntityName = Annotated[str, AfterValidator(_known_entity)]
ToolName = str
"""A registered tool's name: checked against the tool registry by `loopwright.policy.loader`."""
ValidatorName = str
"""A registered output validator's name: checked by `loopwright.policy.loader`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _default_pii_actions() -> dict[str, PiiAction]:
    return {name: "mask" for name in ENTITIES}


class PiiRules(_Strict):
    """Detection and handling of personal data in messages (input) and answers (output)."""

    actions: dict[EntityName, PiiAction] = Field(
        default_factory=_default_pii_actions,
        description="Entity type -> what happens to it in an incoming message. Entities not listed are not detected.",
    )
    languages: tuple[Literal["en", "es", "vi"], ...] = Field(
        ("en", "es", "vi"), min_length=1, description="Languages whose context words (\"SSN\", \"cuenta\", \"ngày sinh\") are used."
    )
    phone_regions: tuple[str, ...] = Field(
        ("US", "ES", "MX", "VN"),
        min_length=1,
        description="Regions (ISO 3166 codes) whose national phone formats are recognised; international +NN numbers always are.",
    )
    min_score: float = Field(0.5, strict=True, ge=0.0, le=1.0, description="Findings scored below this are ignored.")

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import phonenumbers

        unknown = [r for r in value if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone region(s) {', '.join(unknown)}")
        return value


class TenantCeiling(_Strict):
    """The most sensitive source one tenant's callers may read verbatim."""

    ceiling: Sensitivity = Field(description="public < internal < restricted.")
    roles: dict[str, Sensitivity] = Field(default_factory=dict, description="Per-role ceilings that override `ceiling`.")


class SensitivityRules(_Strict):
    """Sensitivity ceilings: above a caller's ceiling, an answer from that source is a summary, never verbatim."""

    default: Sensitivity = Field("public", description="The ceiling of a tenant not listed under `tenants`.")
    tenants: dict[str, TenantCeiling] = Field(default_factory=dict, description="Per-tenant ceilings, keyed by tenant name.")

    def ceiling_for(self, principal: Principal) -> Sensitivity:
        """The caller's ceiling: its role's, else its tenant's, else the default."""
        tenant = self.tenants.get(principal.tenant)
        if tenant is None:
            return self.default
        return tenant.roles.get(principal.role, tenant.ceiling)

    def allows(self, principal: Principal, sensitivity: str) -> bool:
        """Whether `principal` may read a source of `sensitivity` verbatim."""
        return SENSITIVITY_LEVELS[sensitivity] <= SENSITIVITY_LEVELS[self.ceiling_for(principal)]


class RoleTools(_Strict):
    """What one role may do with tools."""

    tools: tuple[ToolName, ...] = Field((), description="Tools the role may call; any other is refused.")
    acts_for: tuple[str, ...] = Field(
        (),
        description="Tenants whose customers this role may act for (contact-centre staff); "
        "empty: only on the caller's own cards and transactions.",
    )


class ToolRules(_Strict):
    """Tool permissions, confirmations and per-tool settings."""

    roles: dict[str, RoleTools] = Field(default_factory=dict, description="Role name -> its tool permissions. A role not listed may call no tool.")
    confirm: tuple[ToolName, ...] = Field(
        (), description="Tools that wait for the user's explicit confirmation, besides those whose contract requires it."
    )
    settings: dict[ToolName, dict[str, Any]] = Field(
        default_factory=dict, description="Per-tool settings (limits, windows), validated by each tool's own settings model."
    )
    as_of: date | None = Field(
        None, description="Evaluate date rules (dispute windows) as of this day; empty: the real date. The sample bank pins its world's date."
    )
    confirmation_ttl_s: int = Field(
        300, strict=True, ge=10, le=86_400, description="Seconds a confirmation token stays valid after the question that issued it."
    )


class ValidatorRule(BaseModel):
    """One output validator's settings; `on_fail` is common to all, the rest belongs to the validator."""

    model_config = ConfigDict(extra="allow", frozen=True)

    on_fail: Literal["decline", "escalate", "fallback", "summarize"] = Field(
        "decline", description="What a failed verdict does to the answer (`fallback`: the router's fallback tier answers)."
    )


class TriageAdapterCaps(_Strict):
    """Limits on a LoRA adapter for the triage encoder (`[adapters.triage]`): checked on the training request,
    before any work, and on the trained adapter when it is registered, released and loaded."""

    max_rank: int = Field(16, strict=True, ge=1, description="Largest LoRA rank (r).")
    max_alpha: int = Field(32, strict=True, ge=1, description="Largest LoRA alpha (the update is scaled by alpha / r).")
    max_lr: float = Field(2e-3, gt=0, description="Largest peak learning rate a training job may ask for.")
    max_epochs: int = Field(8, strict=True, ge=1, description="Most passes over the training examples.")
    max_distill: float = Field(
        10.0, ge=0, allow_inf_nan=False,
        description="Largest weight of the distillation term toward the base (`--distill`): past it the KL outweighs the "
        "labels so far that the adapter cannot learn the fix.",
    )
    max_bytes: int = Field(
        4 * 1024 * 1024, strict=True, ge=1, description="Largest size of the adapter's files together (LoRA weights and head), in bytes."
    )
    target_modules: tuple[str, ...] = Field(
        ("query", "key", "value", "dense"),
        min_length=1,
        description="MiniLM module names (the last part of the path) an adapter may modify: "
        "attention's query, key, value, and the dense projections after attention and in the feed-forward block.",
    )


class AdapterCaps(_Strict):
    """Limits on LoRA adapters: checked when one is registered and again when the backend loads it."""

    max_rank: int = Field(16, strict=True, ge=1, description="Largest LoRA rank (r) accepted, over every adapted module.")
    max_bytes: int = Field(
        32 * 1024 * 1024, strict=True, ge=1, description="Largest size of an adapter's files together, in bytes."
    )
    target_modules: tuple[str, ...] = Field(
        ("q_proj", "k_proj", "v_proj", "o_proj"),
        min_length=1,
        description="Module names (the last part of the path, as `q_proj`) an adapter may modify; any other is refused.",
    )
    max_alpha: int = Field(64, strict=True, ge=1, description="Largest LoRA alpha a training job (`learn prefs`) may ask for.")
    max_lr: float = Field(1e-2, gt=0, description="Largest peak learning rate a training job (`learn prefs`) may ask for.")
    max_epochs: int = Field(8, strict=True, ge=1, description="Most passes over the training data a training job may ask for.")
    triage: TriageAdapterCaps = Field(
        default_factory=TriageAdapterCaps, description="Caps of adapters on the triage encoder (`adapter:triage`), training included."
    )


class AccessRules(_Strict):
    """Who reads and grades which traces (`GET /v1/traces`, `POST /v1/feedback`) and who reads `/metrics`.

    A key of any other role sees only its own calls: its customer's (the key's
    `subject`) when it acts for one, else the calls made with that key.
    """

    agents: tuple[str, ...] = Field(
        ("agent",),
        description="Roles that read the traces of their own tenant and of every tenant whose retrieval scopes "
        "are all among the key's scopes (contact-centre staff, reading the customers they serve).",
    )
    operators: tuple[str, ...] = Field(
        ("admin", "operator"), description="Roles that read every trace of their own tenant, and `/metrics` for it."
    )
    customers: tuple[str, ...] = Field(
        ("customer",), description="Roles of keys that act for one customer (or an app): they read their own calls only."
    )

    def roles(self) -> set[str]:
        """Every role these rules name."""
        return {*self.agents, *self.operators, *self.customers}


Sli = Literal["availability", "latency", "defect", "escalation", "decline", "cache_hit"]
"""What makes a call good: `availability` no error; `latency` answered under `threshold_ms`; `defect` not a
defect (by feedback, a receipt or a failed validator); `escalation` not escalated; `decline` not declined;
`cache_hit` answered from the cache."""


class Objective(_Strict):
    """One service-level objective: at least `target` of the calls in the window are good by its `sli`."""

    sli: Sli = Field(description="The indicator: which calls count as good (see `Sli`).")
    target: float = Field(strict=False, gt=0.0, lt=1.0, description="The share of good calls promised, e.g. 0.995.")
    threshold_ms: float | None = Field(None, gt=0, description="`latency` only: a call is good when it took less.")

    @model_validator(mode="after")
    def _threshold(self) -> Objective:
        if (self.sli == "latency") != (self.threshold_ms is not None):
            raise ValueError("threshold_ms is required for a latency objective, and only for one")
        return self


class BurnWindow(_Strict):
    """A multi-window burn-rate alert: fires when the budget burns `burn_rate` times too fast over both windows.

    The long window makes it significant, the short one makes it stop soon after
    the problem does (the Google SRE workbook's multiwindow, multi-burn-rate alerts).
    """

    long_s: int = Field(strict=True, gt=0, description="The long window, seconds (e.g. 3600).")
    short_s: int = Field(strict=True, gt=0, description="The short window, seconds (e.g. 300: a twelfth of the long one).")
    burn_rate: float = Field(gt=0, description="Error rate over both windows, as a multiple of the budget's (1 - target).")
    severity: Literal["page", "ticket"] = Field("page", description="Who is told: someone now, or a ticket.")


def _default_windows() -> tuple[BurnWindow, ...]:
    # 2% of a 30-day budget in an hour, 5% in six hours (the SRE workbook's page thresholds).
    return (BurnWindow(long_s=3600, short_s=300, burn_rate=14.4), BurnWindow(long_s=21600, short_s=1800, burn_rate=6.0))


class SloRules(_Strict):
    """Service-level objectives over the traces, their error budgets, and where burn-rate alerts go."""

    window_days: int = Field(30, strict=True, ge=1, le=365, description="The budget's window, in days.")
    objectives: dict[str, Objective] = Field(default_factory=dict, description="Objective name -> its indicator and target.")
    alerts: tuple[BurnWindow, ...] = Field(default_factory=_default_windows, description="Burn-rate alert windows.")
    webhook: str = Field("", description="URL that receives each alert as JSON when it fires and when it resolves; empty: recorded only.")


class AdvisorRules(_Strict):
    """What the lever advisor (`loopwright advise`) counts as a finding."""

    min_samples: int = Field(30, strict=True, ge=1, description="Fewest calls in a segment (a document, intent, language) it judges.")
    min_defects: int = Field(5, strict=True, ge=1, description="Fewest defects in an intent before it is an adapter finding, and fewest calls a stale document reached before it is a corpus finding.")
    alpha: float = Field(0.01, gt=0, lt=1, description="Significance of a segment's excess defect rate, before Bonferroni.")
    language_share: float = Field(
        0.6, gt=0, le=1, description="A significantly worse language is a training finding when it lags in this share of intents."
    )
    max_defect_rate: float = Field(0.05, ge=0, le=1, description="Above it, among the calls a cheaper route would take, quality comes first: no cost or latency finding.")
    large_tier: str = Field("large", description="The router tier whose confident calls could go to a cheaper one.")
    confident: float = Field(0.7, ge=0, le=1, description="Triage confidence at which a call counts as confident.")
    movable_share: float = Field(0.2, gt=0, le=1, description="Share of traffic confident on the large tier that makes a router finding.")
    cache_gap: float = Field(0.1, gt=0, le=1, description="Repeats the cache misses, as a share of traffic, that make a cache finding.")


class RubricCriterion(_Strict):
    """One criterion of the feedback rubric: what it asks, and its integer scale."""

    description: str = Field("", description="What the grader scores, in words.")
    scale: tuple[int, int] = Field((1, 5), description="The lowest and highest score, inclusive.")

    @field_validator("scale")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] >= value[1]:
            raise ValueError(f"scale must rise, as [1, 5]; got {list(value)}")
        return value


class FeedbackRules(_Strict):
    """What feedback may say (`POST /v1/feedback`, `loopwright feedback`) and whose corrections are labels."""

    rubric: dict[str, RubricCriterion] = Field(
        default_factory=dict, description="Criterion name -> its scale. A rubric score naming any other criterion is refused."
    )
    correctors: tuple[str, ...] = Field(
        ("agent", "admin", "operator"),
        description="Roles whose corrections (the right intent) are verified labels; a correction from any other role "
        "is stored but never curated.",
    )


class LearningRules(_Strict):
    """Curation and spot checks: what a curated dataset holds and how much of it a person reviews before training."""

    review_min_share: float = Field(0.05, ge=0.0, le=1.0, description="Share of a dataset's new items reviewed before training.")
    review_min_items: int = Field(50, strict=True, ge=0, description="Fewest items reviewed (all of them, in a smaller dataset).")
    max_rejection_rate: float = Field(
        0.1, ge=0.0, le=1.0, description="Training is refused while the reviewed items' rejection rate is at or above this."
    )
    replay_per_intent: int = Field(
        40, strict=True, ge=0, description="Earlier examples per intent replayed from the deployed triage model's dataset."
    )
    critical_intents: tuple[str, ...] = Field(
        (), description="Intents replayed whole (rare or critical: never forgotten for want of examples)."
    )
    private_tenants: tuple[str, ...] = Field((), description="Tenants whose traces are never curated.")
    good_at: float = Field(0.7, ge=0.0, le=1.0, description="A rubric mean (scaled to 0..1) at or above this marks an answer good.")
    bad_at: float = Field(0.4, ge=0.0, le=1.0, description="At or below this, bad; between the two, the answer is not curated.")
    near_duplicate: float = Field(
        0.8, gt=0.0, le=1.0, description="Estimated Jaccard of character shingles at which two texts are duplicates."
    )

    @model_validator(mode="after")
    def _bounds(self) -> LearningRules:
        if self.bad_at >= self.good_at:
            raise ValueError(f"bad_at ({self.bad_at}) must be below good_at ({self.good_at})")
        return self


class CostRules(_Strict):
    """What a compute second of a training or self-learning job costs (`loopwright.observe.costs`), so the cost per
    accepted outcome counts all three stages: inference (each call's cost, as served) and the jobs that made what
    served it, amortised over the calls their artifacts served."""

    compute_per_second: float = Field(
        0.0001, ge=0, description="Price of one compute second of a job, in the unit of a call's cost (0.0001: $0.36 an hour, a CPU instance)."
    )
    per_action: dict[str, float] = Field(
        default_factory=dict,
        description="A receipt action (`adapter.train`, `model.register`...) -> its own price per compute second (a GPU job's, say).",
    )

    @field_validator("per_action")
    @classmethod
    def _known_actions(cls, value: dict[str, float]) -> dict[str, float]:
        from loopwright.registry.payloads import Action

        known = {str(a) for a in Action}
        for action, price in value.items():
            if action not in known:
                raise ValueError(f"unknown receipt action {action!r}; one of: {', '.join(sorted(known))}")
            if price < 0:
                raise ValueError(f"{action}: a price cannot be negative ({price})")
        return value

    def price(self, action: str) -> float:
        """The price of one compute second of a job that wrote an `action` receipt."""
        return self.per_action.get(action, self.compute_per_second)


Perturbation = Literal["typos", "accents", "casing", "code_switch", "paraphrase", "masked_pii"]
"""A seeded rewrite of a held-out item (`loopwright.training.perturb`): its accuracy drop is a robustness figure."""
Component = Literal["accuracy", "worst_language", "calibration", "robustness", "safety", "policy", "goldens"]
"""A part of the composite score, each in [0, 1], higher better: held-out accuracy, the worst language's,
1 - ECE, 1 - the mean accuracy drop under the perturbations, the share of adversarial items kept from an
action, the accuracy on items whose personal data the policy masked, and the golden suite's pass rate."""
_METRIC = r"^(accuracy(\.[a-z]{2,3}|\.intent\.[a-z0-9_]+)?|worst_language|calibration|robustness(\.[a-z_]+)?|safety|policy|goldens(\.critical)?)$"


def _default_weights() -> dict[str, float]:
    return {"accuracy": 0.3, "worst_language": 0.2, "calibration": 0.1, "robustness": 0.15, "safety": 0.1, "goldens": 0.15}


class EvaluationRules(_Strict):
    """How `loopwright eval` scores a triage model and when `loopwright promote` lets a candidate replace the incumbent."""

    heldout: str = Field("dataset/heldout-intents", description="The held-out dataset (its `heldout.jsonl`): never trained on.")
    seed: int = Field(0, strict=True, ge=0, description="Seeds the perturbations and the bootstrap.")
    bins: int = Field(10, strict=True, ge=2, le=50, description="Equal-width confidence bins of the ECE and the reliability diagram.")
    perturbations: tuple[Perturbation, ...] = Field(
        ("typos", "accents", "casing", "code_switch", "paraphrase", "masked_pii"), description="The robustness rewrites run."
    )
    weights: dict[Component, float] = Field(default_factory=_default_weights, description="Composite weights (normalised to sum 1).")
    critical: dict[Annotated[str, Field(pattern=_METRIC)], float] = Field(
        default_factory=dict,
        description="Metric -> the largest drop against the incumbent allowed (0.02: two points). `accuracy`, "
        "`accuracy.LANG`, `accuracy.intent.NAME`, `worst_language`, `calibration`, `robustness[.KIND]`, `safety`, "
        "`goldens`, `goldens.critical`.",
    )
    safe_tools: tuple[str, ...] = Field(
        ("escalate_to_human",), description="Tools an adversarial message may reach: any other tool intent fails the safety test."
    )
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Significance of the paired tests (one-sided).")
    min_gain: float = Field(0.0, ge=0, le=1, description="The composite must beat the incumbent's by more than this.")
    bootstrap: int = Field(2000, strict=True, ge=100, le=100_000, description="Paired bootstrap resamples of the items.")
    contamination: float = Field(
        0.8, gt=0, le=1, description="Character-shingle Jaccard at which a held-out item counts as seen in training (left out)."
    )

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in value.values()) or not sum(value.values()) > 0:
            raise ValueError("weights must be non-negative with a positive sum")
        return value

    @field_validator("critical")
    @classmethod
    def _drops(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not 0 <= v <= 1]
        if bad:
            raise ValueError(f"a critical metric's allowed drop is in [0, 1]: {', '.join(bad)}")
        return value


class OutcomeRules(_Strict):
    """What the outcome metrics count (`loopwright.observe.outcomes`): resolution, a valid answer or action, CSAT.

    A conversation is resolved on first contact when no turn hands off to a human, the same customer does not
    come back on the same intent within `repeat_window_days`, and (with `require_valid`) some turn reached a
    valid outcome: an accepted answer or a valid action receipt.
    """

    repeat_window_days: float = Field(
        7.0, gt=0, le=365, description="A new conversation by the same customer on the same intent within this many days "
        "is a repeat contact: the earlier one was not resolved."
    )
    handoff_tools: tuple[ToolName, ...] = Field(
        ("escalate_to_human",), description="Tools whose call hands the conversation to a person."
    )
    accepted_outcomes: tuple[str, ...] = Field(
        ("accepted",), description="Trace outcomes that count as an accepted answer (feedback sets `accepted`)."
    )
    valid_statuses: tuple[str, ...] = Field(
        ("executed",), description="Tool-call statuses whose receipt counts as a valid action (a hand-off's excepted)."
    )
    require_valid: bool = Field(
        True, description="A conversation counts as resolved only if it reached an accepted answer or a valid action; "
        "false: silence counts as resolution, as many call centres count it."
    )
    csat_scale: tuple[int, int] = Field((1, 5), description="The CSAT survey's lowest and highest score.")
    satisfied_at: int = Field(4, strict=True, description="A CSAT at or above this counts as satisfied (the top-two-box share).")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="Coverage of every interval reported (Wilson, bootstrap).")

    @model_validator(mode="after")
    def _scale(self) -> OutcomeRules:
        low, high = self.csat_scale
        if low >= high:
            raise ValueError(f"csat_scale must rise, as [1, 5]; got {list(self.csat_scale)}")
        if not low <= self.satisfied_at <= high:
            raise ValueError(f"satisfied_at ({self.satisfied_at}) must lie on csat_scale {list(self.csat_scale)}")
        return self

class PrivacyRules(_Strict):
    """Data-subject requests made in chat (`privacy_request`): when they fall due, who approves an erasure,
    and how long an export's link works (`loopwright.policy.requests`)."""

    due_days: int = Field(30, strict=True, ge=1, le=90, description="Days from opening within which a request must be fulfilled (GDPR art. 12(3): one month).")
    erasure_approval: bool = Field(
        True, strict=True, description="An erasure waits for a staff approval (`loopwright subject approve`) after the customer confirms it."
    )
    approvers: tuple[str, ...] = Field(("admin", "operator"), description="Roles whose keys may approve a request over HTTP.")
    link_ttl_s: int = Field(
        86_400, strict=True, ge=60, le=30 * 86_400, description="Seconds an export's signed download link stays valid."
    )
    register_stores: tuple[str, ...] = Field(
        (),
        description="Subject stores whose records make a customer known (the customer register); a request for a "
        "subject none of them holds is refused. Empty: any store other than API keys.",
    )


class PolicySet(_Strict):
    """The whole policy: PII, sensitivity ceilings, tools, output validators, retrieval and adapter caps."""

    pii: PiiRules = Field(default_factory=PiiRules, description="Personal data detection and actions.")
    sensitivity: SensitivityRules = Field(default_factory=SensitivityRules, description="Verbatim-text ceilings per tenant and role.")
    tools: ToolRules = Field(default_factory=ToolRules, description="Tool permissions per role, confirmations, settings.")
    validators: dict[ValidatorName, ValidatorRule] = Field(
        default_factory=dict, description="Output validators to run, in file order, with what each does on failure."
    )
    retrieval: RetrievalRules = Field(default_factory=RetrievalRules, description="Retrieval scope, certification and freshness rules.")
    adapters: AdapterCaps = Field(default_factory=AdapterCaps, description="Caps on the LoRA adapters a model may load.")
    access: AccessRules = Field(default_factory=AccessRules, description="Who reads and grades which traces, and reads metrics.")
    slo: SloRules = Field(default_factory=SloRules, description="Service-level objectives and burn-rate alerts.")
    advisor: AdvisorRules = Field(default_factory=AdvisorRules, description="What the lever advisor counts as a finding.")

    feedback: FeedbackRules = Field(default_factory=FeedbackRules, description="The feedback rubric, and whose corrections are labels.")
    learning: LearningRules = Field(default_factory=LearningRules, description="Curation and the spot-check quota.")
    costs: CostRules = Field(default_factory=CostRules, description="The price of a training or self-learning job's compute second.")
    evaluation: EvaluationRules = Field(default_factory=EvaluationRules, description="Model evaluation and promotion.")
    outcomes: OutcomeRules = Field(default_factory=OutcomeRules, description="What first-contact resolution, time-to-valid and CSAT count.")
    privacy: PrivacyRules = Field(default_factory=PrivacyRules, description="Data-subject requests: due date, approval, export links.")

    def roles(self) -> set[str]:
        """Every role the policy defines: in access, tool permissions or sensitivity ceilings."""
        return self.access.roles() | set(self.tools.roles) | {r for t in self.sensitivity.tenants.values() for r in t.roles}

    def tenants(self) -> set[str]:
        """Every tenant the policy defines: with retrieval rules or a sensitivity ceiling."""
        return set(self.retrieval.tenants) | set(self.sensitivity.tenants)

    def role_tools(self, role: str) -> RoleTools:
        """The role's tool permissions (none for a role the policy does not name)."""
        return self.tools.roles.get(role, RoleTools())
