"""Loading a policy set: `policy.toml` parsed into `loopwright.policy.schema.PolicySet`, checked against the
tools and validators registered (built-ins and plugins), and read from a `policy` artifact or the deployment.

Errors name the file, the line and the reason (`loopwright policy check FILE`).
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from loopwright.errors import InvalidInput, NotFound
from loopwright.policy.schema import POLICY_FILE, PolicySet
from loopwright.policy.toml_lines import locate
from loopwright.policy.validators import registered_validators
from loopwright.registry.artifacts import read_file
from loopwright.registry.deployment import deployed_artifact
from loopwright.registry.digest_cache import DigestCache
from loopwright.tools.contract import registered_tools

if TYPE_CHECKING:
    from loopwright.workspace import Workspace


def _error(source: str, text: str, loc: tuple[Any, ...], reason: str, value: Any = None) -> InvalidInput:
    line = locate(text, loc, value)
    where = ".".join(str(p) for p in loc if p != "[key]")
    return InvalidInput(f"{source}:{line or '?'}: {where}: {reason}", hint="see `loopwright policy check --help` for the schema")


def _reason(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] in ("string_type", "int_type", "float_type", "bool_type", "list_type", "dict_type", "tuple_type",
                       "model_type", "date_type", "int_parsing", "float_parsing", "bool_parsing", "date_from_datetime_parsing"):
        message = f"wrong type: {message.lower()} (got {type(err.get('input')).__name__} {err.get('input')!r})"
    return message


def load_policy(text: str | bytes, source_name: str = POLICY_FILE) -> PolicySet:
    """Parse and validate a policy file; raises `InvalidInput` naming `source_name`, the line and the reason."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{source_name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source_name}: invalid TOML: {exc}") from None
    try:
        policy = PolicySet.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise _error(source_name, text, err["loc"], _reason(err), err.get("input")) from None
    _check_plugins(policy, text, source_name)
    return policy


def _check_plugins(policy: PolicySet, text: str, source: str) -> None:
    """Every tool and validator the policy names is registered, and its settings pass the model it declares."""
    tools, validators = registered_tools(), registered_validators()
    named = [(("tools", "roles", role, "tools", i), name) for role, rt in policy.tools.roles.items() for i, name in enumerate(rt.tools)]
    named += [(("tools", "confirm", i), name) for i, name in enumerate(policy.tools.confirm)]
    named += [(("tools", "settings", name, "[key]"), name) for name in policy.tools.settings]
    for loc, name in named:
        if name not in tools:
            raise _error(source, text, loc, f"unknown tool {name!r} (registered: {', '.join(sorted(tools))})", name)
    for name in policy.validators:
        if name not in validators:
            reason = f"unknown output validator {name!r} (registered: {', '.join(sorted(validators))})"
            raise _error(source, text, ("validators", name, "[key]"), reason, name)

    checks: list[tuple[tuple[str, ...], type[BaseModel] | None, dict[str, Any]]] = []
    for name, raw in policy.tools.settings.items():
        checks.append((("tools", "settings", name), tools[name].settings, raw))
    for name, rule in policy.validators.items():
        checks.append((("validators", name), validators[name].settings, rule.model_dump()))
    for prefix, model, raw in checks:
        if model is None:
            if raw:
                raise _error(source, text, prefix, "this tool takes no settings")
            continue
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise _error(source, text, (*prefix, *err["loc"]), _reason(err), err.get("input")) from None


_PARSED: DigestCache[PolicySet] = DigestCache()


def policy_from_artifact(ws: Workspace, artifact) -> PolicySet:
    """The policy held by a `policy` artifact, parsed once per digest (artifacts are immutable)."""
    return _PARSED.get(artifact.digest, lambda: load_policy(read_file(ws, artifact, POLICY_FILE), f"{artifact.ref}:{POLICY_FILE}"))


def deployed_policy(ws: Workspace, *, channel: str = "stable") -> PolicySet:
    """The policy live on the `policy` slot (`channel` falls back to stable when there is no canary)."""
    artifact = deployed_artifact(ws, "policy", channel=channel)
    if artifact is None:
        raise NotFound("no policy is deployed", hint="`loopwright deploy set policy policy/NAME@N`")
    return policy_from_artifact(ws, artifact)
