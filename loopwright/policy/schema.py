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

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

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

    on_fail: Literal["decline", "escalate", "summarize"] = Field("decline", description="What a failed verdict does to the answer.")


class TriageAdapterCaps(_Strict):
    """Limits on a LoRA adapter for the triage encoder (`[adapters.triage]`): checked on the training request,
    before any work, and on the trained adapter when it is registered, released and loaded."""

    max_rank: int = Field(16, strict=True, ge=1, description="Largest LoRA rank (r).")
    max_alpha: int = Field(32, strict=True, ge=1, description="Largest LoRA alpha (the update is scaled by alpha / r).")
    max_lr: float = Field(2e-3, gt=0, description="Largest peak learning rate a training job may ask for.")
    max_epochs: int = Field(8, strict=True, ge=1, description="Most passes over the training examples.")
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

    def roles(self) -> set[str]:
        """Every role the policy defines: in access, tool permissions or sensitivity ceilings."""
        return self.access.roles() | set(self.tools.roles) | {r for t in self.sensitivity.tenants.values() for r in t.roles}

    def tenants(self) -> set[str]:
        """Every tenant the policy defines: with retrieval rules or a sensitivity ceiling."""
        return set(self.retrieval.tenants) | set(self.sensitivity.tenants)

    def role_tools(self, role: str) -> RoleTools:
        """The role's tool permissions (none for a role the policy does not name)."""
        return self.tools.roles.get(role, RoleTools())
