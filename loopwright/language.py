"""The language of a customer's message, from a real language identifier (py3langid), not from vocabulary.

py3langid is langid.py's model (97 languages, byte n-grams, naive Bayes,
shipped in the wheel, no network). It is restricted to the languages the
caller can answer in (the prompt bundle's decline messages, say), so a short
message is never labelled a language nobody answers in. Measured on held-out
sentences written for the test (tests/test_language.py).

    detect_language("¿Cuál es la tasa?", ["en", "es", "vi"])  # "es"
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache

from loopwright.errors import LoopwrightError


def _load():
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:  # a broken install: py3langid is a dependency
        raise LoopwrightError("py3langid is not installed", hint="pip install py3langid (a loopwright dependency)") from None
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


# A busy server's first calls come at once, and lru_cache lets each of them load the model (~1 s of CPU apiece):
# a burst of 32 governed calls spent over a minute loading it 32 times. One load per table, under this lock.
_LOCK = threading.Lock()


def _labels() -> frozenset[str]:
    with _LOCK:
        return _all_labels()


def _identifier(languages: tuple[str, ...]):
    with _LOCK:
        return _narrowed(languages)


@lru_cache(maxsize=1)
def _all_labels() -> frozenset[str]:
    return frozenset(_load().labels)


@lru_cache(maxsize=16)
def _narrowed(languages: tuple[str, ...]):
    model = _load()  # set_languages narrows this instance's tables: one instance per language set
    model.set_languages(list(languages))
    return model


def detect_language(text: str, languages: Iterable[str], default: str = "en") -> str:
    """The most likely of `languages` for `text` (ISO 639-1 codes); `default` for empty text or no known language."""
    known = tuple(sorted(set(languages) & _labels()))
    if not text.strip() or not known:
        return default
    if len(known) == 1:
        return known[0]
    return _identifier(known).classify(text)[0]
