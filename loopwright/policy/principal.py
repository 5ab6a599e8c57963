"""The principal: who is calling, as an API key establishes it. Every policy decision reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Principal:
    """The tenant, role and scopes of a key, and the customer (`subject`) it acts for, if any."""

    tenant: str
    role: str
    scopes: tuple[str, ...] = ()
    subject: str | None = None
    key_id: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "role": self.role,
            "scopes": list(self.scopes),
            "subject": self.subject,
            "key_id": self.key_id,
        }
