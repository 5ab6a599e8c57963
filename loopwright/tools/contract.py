"""Typed tool contracts, and the one registry built-in and user tools share.

    class FreezeIn(BaseModel): ...
    class FreezeOut(BaseModel): ...

    @tool("freeze_card", roles={"customer", "agent"}, scopes={"retail"}, owner=card_owner,
          preconditions=[card_is_active])
    def freeze_card(ctx: ToolContext, args: FreezeIn) -> FreezeOut: ...

A contract declares its pydantic input and output models (from the function's
annotations), the roles that may ever call it and the scopes the caller must
hold, how to find the customer who owns what it acts on (`owner`), its
preconditions (rules and limits, each a `Verdict`), a natural idempotency key
(`idempotency`) used when the client sends none, whether the user must confirm
it, and the model of its settings in the policy (`[tools.settings.NAME]`).
An action with an opposite (freeze and unfreeze, open and cancel) declares it
(`opposite`, a tool or just a name) and the words customers use for each, per
language (`words`, `opposite_words`): the gateway then runs the call on a
classifier's word only when the customer's own words ask for it
(`loopwright.tools.words`), and otherwise asks them to confirm the named action.
The executor (`loopwright.tools.executor`) enforces all of it before `run`.
A package can also expose tools under the `loopwright.tools` entry-point group.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from loopwright.errors import NotFound
from loopwright.plugins import load_plugins
from loopwright.policy.principal import Principal
from loopwright.policy.verdicts import Verdict

if TYPE_CHECKING:
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace


@dataclass
class ToolContext:
    """What a tool sees while it runs, inside the write transaction that records its receipt."""

    ws: Workspace
    session: Session
    principal: Principal
    policy: PolicySet
    settings: Any  # the tool's settings model, parsed from the policy (None when it takes none)
    today: date
    ticket: str
    customer_id: str | None = None  # the owner of what the tool acts on, as `owner` resolved it
    before: Any = None  # the state the tool changed, for the receipt (ids and statuses, no personal data)
    after: Any = None


Owner = Callable[[ToolContext, BaseModel], "tuple[str, str] | None"]
"""Finds who owns what a call acts on: (customer id, tenant), or None when it does not exist."""

AfterCommit = Callable[["Workspace", Principal, "PolicySet", BaseModel], BaseModel]
"""Runs once the call and its receipt have committed, for work that takes transactions of its own (a
data-subject erase, which erases the call's own record too); returns the output the caller is given.
Set it with `@tool(..., after_commit=fn)`."""

Precondition = Callable[[ToolContext, BaseModel], Verdict | None]
"""A rule checked before `run`; returns a failing verdict to refuse, or None (or a passing verdict)."""

ActionWords = Mapping[str, Sequence[str]]
"""Language code -> regular expressions for the words that ask for an action ("freez\\w*", "lock"); matched
case- and accent-insensitively from a word start (see `loopwright.tools.words`)."""


@dataclass(frozen=True)
class ToolSpec:
    """One registered tool contract."""

    name: str
    description: str
    input: type[BaseModel]
    output: type[BaseModel]
    run: Callable[[ToolContext, BaseModel], BaseModel]
    roles: frozenset[str]
    scopes: frozenset[str] = frozenset()
    owner: Owner | None = None
    resource: str = "resource"
    preconditions: tuple[Precondition, ...] = ()
    idempotency: Callable[[BaseModel], str] | None = None
    confirm: bool = False
    settings: type[BaseModel] | None = None
    opposite: str | None = None  # the action that undoes this one: a tool's name, or a name known only by its words
    words: ActionWords = field(default_factory=dict)  # what customers say to ask for this action, per language
    opposite_words: ActionWords = field(default_factory=dict)  # ... and for its opposite (empty: the opposite tool's)
    after_commit: AfterCommit | None = None  # work in transactions of its own once the call's has committed

    @property
    def label(self) -> str:
        """The action as a confirmation question names it: `freeze card`."""
        return self.name.replace("_", " ")

    def settings_in(self, policy: PolicySet) -> BaseModel | None:
        """This tool's settings from `policy`, parsed by its settings model (its defaults when absent)."""
        return self.settings.model_validate(policy.tools.settings.get(self.name, {})) if self.settings else None

    def to_dict(self) -> dict[str, Any]:
        """The contract as `loopwright tools list --json` and an LLM's tool schema need it."""
        return {
            "name": self.name,
            "description": self.description,
            "roles": sorted(self.roles),
            "scopes": sorted(self.scopes),
            "confirm": self.confirm,
            "owner_checked": self.owner is not None,
            "preconditions": [p.__name__ for p in self.preconditions],
            "idempotency": self.idempotency.__name__ if self.idempotency else None,
            "input_schema": self.input.model_json_schema(),
            "output_schema": self.output.model_json_schema(),
            "settings_schema": self.settings.model_json_schema() if self.settings else None,
            "opposite": self.opposite,
            "word_languages": sorted(self.words),
        }


_TOOLS: dict[str, ToolSpec] = {}


def tool(
    name: str,
    *,
    roles: Sequence[str],
    scopes: Sequence[str] = (),
    owner: Owner | None = None,
    resource: str = "resource",
    preconditions: Sequence[Precondition] = (),
    idempotency: Callable[[BaseModel], str] | None = None,
    confirm: bool = False,
    settings: type[BaseModel] | None = None,
    description: str | None = None,
    opposite: str | None = None,
    words: ActionWords | None = None,
    opposite_words: ActionWords | None = None,
    after_commit: AfterCommit | None = None,
):
    """Register `fn(ctx, args: In) -> Out` as tool `name`; `In` and `Out` come from its annotations."""

    def register(fn: Callable[[ToolContext, Any], BaseModel]):
        hints = typing.get_type_hints(fn)
        params = [p for p in fn.__code__.co_varnames[: fn.__code__.co_argcount]]
        in_model, out_model = hints.get(params[1]) if len(params) > 1 else None, hints.get("return")
        for what, model in (("input", in_model), ("output", out_model)):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise TypeError(f"tool {name!r}: the {what} must be annotated with a pydantic model")
        if name in _TOOLS and _TOOLS[name].run is not fn:
            raise ValueError(f"tool {name!r} is already registered")
        _TOOLS[name] = ToolSpec(
            name=name,
            description=description or (fn.__doc__ or "").strip().split("\n")[0],
            input=in_model,
            output=out_model,
            run=fn,
            roles=frozenset(roles),
            scopes=frozenset(scopes),
            owner=owner,
            resource=resource,
            preconditions=tuple(preconditions),
            idempotency=idempotency,
            confirm=confirm,
            settings=settings,
            opposite=opposite,
            words=dict(words or {}),
            opposite_words=dict(opposite_words or {}),
            after_commit=after_commit,
        )
        return fn

    return register


BUILTIN_TOOLS: list[str] = ["loopwright.tools.privacy"]
"""Modules whose import registers the built-in tools (through the same decorator as a plugin's)."""


def registered_tools() -> dict[str, ToolSpec]:
    """Every tool registered in this process and by installed plugins (the sample bank's among them)."""
    load_plugins("loopwright.tools", builtins=BUILTIN_TOOLS)
    return dict(_TOOLS)


def get_tool(name: str) -> ToolSpec:
    tools = registered_tools()
    try:
        return tools[name]
    except KeyError:
        raise NotFound(f"no tool {name!r}", hint=f"registered: {', '.join(sorted(tools))}") from None
