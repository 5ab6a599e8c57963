"""Token counting for cost: the local all-MiniLM-L6-v2 WordPiece tokenizer, loaded once.

Extractive answers have no model tokens of their own, so cost is computed from
what a generating tier would read and write; one tokenizer for every tier keeps
the comparison fair.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _tokenizer():
    from transformers import AutoTokenizer

    from loopwright.embedding import model_path

    return AutoTokenizer.from_pretrained(str(model_path()))


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_tokenizer()(text, add_special_tokens=False)["input_ids"])


def count_message_tokens(messages: list[dict[str, str]]) -> int:
    """Tokens in a chat: each message's content plus a few for its role framing, as chat formats add."""
    return sum(count_tokens(m.get("content") or "") + 4 for m in messages)
