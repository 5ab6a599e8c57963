"""Constrained decoding: the tokens a JSON schema allows next, so even a tiny model writes valid JSON.

    allowed = json_constraint(tokenizer, {"type": "object", "properties": {...}})
    engine.submit(ids, allowed=allowed)     # each step, only allowed(generated_ids) may be picked
    allowed([])                             # token ids a schema-valid answer may start with

Built on lm-format-enforcer's `TokenEnforcer` (a character-level JSON-schema
parser walked over a prefix tree of the vocabulary; pure Python, offline, CPU).
It is the `prefix_allowed_tokens_fn` transformers' `generate` takes; our engine
(`loopwright.hf.engine`) runs its own decode loop, so it calls it per row between
steps. Once the JSON is complete only end-of-sequence is allowed, so the answer
stops there. Its own transformers integration imports a module transformers 5
removed; the vocabulary table it needs is built here with its documented core
API instead (the same recipe).

Why this library: it installs from the package list as pure Python (no compiler,
no GPU), works offline on CPU with any tokenizer, and handles `anyOf`, `const`,
`enum`, `pattern` and `maxLength`. outlines and xgrammar compile the schema into
a token automaton first, which pays off for large vocabularies and GPU batches
this engine does not serve. Its validity and per-token cost beside free decoding
on the sample LM: `bench/bench_constrained.py`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from loopwright.errors import InvalidInput

Allowed = Callable[[list[int]], list[int]]
"""Given the tokens generated so far, the token ids that may come next."""

# A tiny model likes to wander in whitespace (the sample's vocabulary has tokens of twelve newlines): JSON needs
# none, so whitespace-only tokens are left out of the table and at most one space is allowed between tokens.
_MAX_WHITESPACE = 1
# What wraps an answer up, most to least: outside a string, closing an object or array (or the end), then the
# next member; inside one, its closing quote.
_WRAP_UP = ("}]", ",", '"')
_tables: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class _Table:
    """lm-format-enforcer's vocabulary table for a tokenizer, each token's text, and its end-of-sequence id."""

    def __init__(self, data: Any, texts: dict[int, str], eos: int):
        self.data, self.texts, self.eos = data, texts, eos

    def wrap_up(self, tokens: list[int], in_string: bool, after_comma: bool) -> list[int]:
        """The allowed `tokens` that end the current value soonest (all of them when none does)."""
        if in_string:  # the closing quote, best with nothing but closing brackets after it
            quoted = [t for t in tokens if self.texts.get(t, "").startswith('"')]
            return [t for t in quoted if not set(self.texts[t][1:]) - set("}] ")] or quoted or tokens
        if self.eos in tokens:
            return [self.eos]
        # After a comma a member must follow (the parser lets a free-form object close there: JSON does not).
        for chars in _WRAP_UP[2:] if after_comma else _WRAP_UP:
            found = [t for t in tokens if set(chars) & set(self.texts.get(t, ""))]
            if found:
                return found
        return tokens


def _table(tokenizer: Any) -> _Table:
    """The vocabulary table for `tokenizer`, built once per tokenizer."""
    from lmformatenforcer.tokenenforcer import TokenEnforcerTokenizerData

    with _lock:
        if tokenizer in _tables:
            return _tables[tokenizer]
        special = set(tokenizer.all_special_ids)
        zero = tokenizer.encode("0", add_special_tokens=False)[-1]
        regular, texts = [], {}
        for token in range(len(tokenizer)):
            if token in special:
                continue
            # Decoded after "0" (then dropped), a word-start token keeps its leading space.
            after_zero = tokenizer.decode([zero, token])[1:]
            if not after_zero.strip():
                continue
            regular.append((token, after_zero, len(after_zero) > len(tokenizer.decode([token]))))
            texts[token] = after_zero
        eos = tokenizer.eos_token_id
        data = TokenEnforcerTokenizerData(regular, lambda ids: tokenizer.decode(ids).rstrip("\ufffd"), eos, False,
                                          len(tokenizer))
        _tables[tokenizer] = table = _Table(data, texts, eos)
        return table


def json_constraint(tokenizer: Any, schema: dict[str, Any] | None, *, wrap_up_after: int | None = None) -> Allowed:
    """Next-token ids that keep the output a JSON value matching `schema` (None: any JSON object).

    After `wrap_up_after` tokens, where any allowed token closes a string, number, object or array (or ends
    the answer), only those are: a small model that would write a string forever finishes its JSON within
    the token budget instead of being cut off mid-value.
    """
    try:
        from lmformatenforcer import CharacterLevelParserConfig, JsonSchemaParser, TokenEnforcer
        from lmformatenforcer.jsonschemaparser import StringParsingState
    except ImportError:  # a base dependency; a broken install says so plainly
        raise InvalidInput("constrained decoding needs lm-format-enforcer", hint="pip install lm-format-enforcer") from None
    config = CharacterLevelParserConfig(max_consecutive_whitespaces=_MAX_WHITESPACE)
    try:
        parser = JsonSchemaParser(schema if schema is not None else {"type": "object"}, config=config)
    except Exception as exc:  # the library's own errors for schema features it cannot enforce
        raise InvalidInput(f"response schema cannot be enforced: {exc}") from None
    table = _table(tokenizer)
    enforcer = TokenEnforcer(table.data, parser)
    lock = threading.Lock()  # its prefix-state cache is a plain dict

    def allowed(generated: list[int]) -> list[int]:
        with lock:
            tokens = list(enforcer.get_allowed_tokens(list(generated)).allowed_tokens)
            if wrap_up_after is None or len(generated) < wrap_up_after:
                return tokens
            stack = getattr(enforcer.prefix_states[tuple(generated)].parser, "object_stack", None) or [None]
        after_comma = table.data.decoder(list(generated)).rstrip().endswith(",")
        top = stack[-1]  # a finished string stays on the stack until the next character
        in_string = isinstance(top, StringParsingState) and top.seen_opening_quote and not top.seen_closing_quote
        return table.wrap_up(tokens, in_string, after_comma)

    return allowed


def call_schema(tools: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The schema of one call of any of `tools` ((name, parameters) pairs): {"name": ..., "arguments": {...}}."""
    options = [
        {"type": "object", "properties": {"name": {"const": name}, "arguments": params or {"type": "object"}},
         "required": ["name", "arguments"]}
        for name, params in tools
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}
