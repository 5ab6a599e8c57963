"""Prompt bundles: the `prompt` artifact's templates, rendered with evidence for a generating tier."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from loopwright.errors import ConfigError
from loopwright.registry.artifacts import Artifact, read_file

if TYPE_CHECKING:
    from loopwright.workspace import Workspace


@dataclass(frozen=True)
class PromptBundle:
    """System prompt, answer template and decline messages, identified by the artifact digest.

    `bundle.toml` may name variants switched by feature flags:
    `[variants.concise-answers] system = "system-concise.md"`.
    """

    ref: str
    digest: str
    system: str
    answer: str
    decline: dict[str, str] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)  # flag name -> the system prompt used when it is on

    @classmethod
    def load(cls, ws: Workspace, artifact: Artifact) -> PromptBundle:
        try:
            spec = tomllib.loads(read_file(ws, artifact, "bundle.toml").decode("utf-8"))
            system = read_file(ws, artifact, spec["system"]).decode("utf-8")
            answer = read_file(ws, artifact, spec["answer"]).decode("utf-8")
            variants = {
                flag: read_file(ws, artifact, v["system"]).decode("utf-8").strip()
                for flag, v in spec.get("variants", {}).items()
            }
        except (KeyError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{artifact.ref}: invalid prompt bundle: {exc}") from None
        if "{evidence}" not in answer or "{question}" not in answer:
            raise ConfigError(f"{artifact.ref}: the answer template needs {{evidence}} and {{question}}")
        return cls(artifact.ref, artifact.digest, system.strip(), answer.strip(), dict(spec.get("decline", {})), variants)

    def for_flags(self, flags: dict[str, bool]) -> PromptBundle:
        """This bundle with the system prompt of the first variant whose flag is on for the caller."""
        for flag, system in self.variants.items():
            if flags.get(flag):
                return replace(self, system=system)
        return self

    def render(self, question: str, evidence: list[str]) -> list[dict[str, str]]:
        """Chat messages for a generating backend; evidence is numbered [1], [2]..."""
        listed = "\n".join(f"[{i}] {text}" for i, text in enumerate(evidence, 1)) or "(none)"
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.answer.format(evidence=listed, question=question)},
        ]

    def decline_message(self, language: str | None) -> str:
        return self.decline.get(language or "en") or self.decline.get("en") or "I can't answer that reliably."
