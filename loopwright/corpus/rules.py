"""Retrieval rules: the `[retrieval]` section of the deployed policy artifact's `policy.toml`.

```toml
[retrieval]
certified_only = true
max_age_days = 180
decline_if_stale = true
[retrieval.tenants.larkspur-retail]
scopes = ["retail"]
max_sensitivity = "internal"
```

Nothing about who may read what is a code constant: the policy artifact holds
it, so changing it is a versioned, gated, reversible release like any other.
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopwright.corpus.documents import SENSITIVITY_LEVELS, Document, Sensitivity
from loopwright.errors import ConfigError, NotFound


class TenantAccess(BaseModel):
    """What one tenant's callers may retrieve."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scopes: tuple[str, ...] = Field(min_length=1, description="Audiences visible to the tenant, e.g. [\"retail\"].")
    max_sensitivity: Sensitivity = Field(
        "public", description="The most sensitive documents the tenant may see: public < internal < restricted."
    )


class RetrievalRules(BaseModel):
    """Filters and decline rules applied to every retrieval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certified_only: bool = Field(True, description="Only certified documents are retrievable.")
    max_age_days: int | None = Field(
        180, ge=1, description="A document older than this many days since its effective date is stale; empty: no limit."
    )
    decline_if_stale: bool = Field(
        True,
        description="When the best evidence is stale (see `stale_margin`), decline instead of answering from it.",
    )
    min_relevance: float = Field(
        0.35,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity (query to chunk) below which a chunk is not evidence; with nothing "
        "above it the result is `missing`. On the sample goldens every answerable question's best chunk "
        "scores 0.38 or more and English off-topic questions 0.31 or less.",
    )
    stale_margin: float = Field(
        0.1,
        ge=0.0,
        le=2.0,
        description="Stale evidence counts as the best evidence when its cosine beats every fresh chunk's by "
        "more than this, or beats it at all while also winning on BM25.",
    )
    decline_if_withheld: bool = Field(
        False,
        description="Decline when a document the caller may not cite (another scope, above its ceiling, uncertified) "
        "matches the question better than every citable one by `withheld_margin`: the question is about it. In the "
        "sample, a customer asking for the agents' override code got the fee table's rows instead.",
    )
    withheld_margin: float = Field(
        0.1,
        ge=0.0,
        le=2.0,
        description="How far (cosine) a withheld document must beat the best citable one to decline. On the sample's "
        "question bank and reader dev set 0.1 declined no answerable question (0.05 declined one, a staff note "
        "beside a public FlexPay page).",
    )
    prefer_question_language: bool = Field(
        False,
        description="Answer from a page's version in the question's language when there is one (its other-language "
        "versions, linked by `translation_of`, are left out). Off by default: in the sample a Spanish savings page "
        "is shorter than the English one, and with it on the economics router's gate fails one critical golden (g0046).",
    )
    tenants: dict[str, TenantAccess] = Field(
        default_factory=dict, description="Per-tenant scopes and sensitivity ceiling, keyed by tenant name."
    )

    @classmethod
    def from_policy_toml(cls, text: str | bytes, *, origin: str = "policy.toml") -> RetrievalRules:
        """The `[retrieval]` section of a policy file (defaults where it is absent)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{origin} is not valid TOML: {exc}") from None
        return cls.from_mapping(data.get("retrieval", {}), origin=origin)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, origin: str = "policy") -> RetrievalRules:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(["retrieval", *(str(p) for p in err["loc"])])
            raise ConfigError(f"{origin}: {where}: {err['msg']}") from None

    def tenant(self, name: str) -> TenantAccess:
        try:
            return self.tenants[name]
        except KeyError:
            known = ", ".join(sorted(self.tenants)) or "none configured"
            raise NotFound(f"no retrieval rules for tenant {name!r}", hint=f"tenants in the policy: {known}") from None

    def stale_reason(self, doc: Document, as_of: date) -> str | None:
        """Why `doc` is stale on `as_of`, or None when it is fresh."""
        if doc.retired_date is not None and as_of >= doc.retired_date:
            return f"retired on {doc.retired_date.isoformat()}"
        if self.max_age_days is not None and as_of - doc.effective_date > timedelta(days=self.max_age_days):
            return f"effective {doc.effective_date.isoformat()}, older than {self.max_age_days} days"
        return None


def sensitivity_level(name: str) -> int:
    return SENSITIVITY_LEVELS[name]
