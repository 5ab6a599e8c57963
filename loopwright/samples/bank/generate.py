"""Write the Larkspur sample data: `python -m loopwright.samples.bank.generate [--out DIR] [--seed N]`.

The output is deterministic for a seed (sorted JSON keys, UTF-8, `\\n` line
endings, no clock reads), so the committed data/ folder can be checked by
regenerating it.
"""

import argparse
import json
import shutil
from pathlib import Path

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.catalog import INTENTS, PRICES, TENANTS
from loopwright.samples.bank.documents import all_documents, incident_documents, render
from loopwright.samples.bank.goldens import generate_goldens
from loopwright.samples.bank.multilingual import (
    generate_multilingual_utterances,
    generate_safety_utterances,
    generate_situation_utterances,
    multilingual_passages,
)
from loopwright.samples.bank.people import CORE_CUSTOMERS, generate_people
from loopwright.samples.bank.utterances import generate_adapter_examples, generate_forgetting_set, generate_utterances

DEFAULT_SEED = 7


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def generate(out_dir: Path, seed: int = DEFAULT_SEED) -> None:
    """Replace `out_dir` with the full sample data set for `seed`."""
    out_dir = Path(out_dir)
    # Start clean so a renamed or removed document does not linger.
    for sub in ("docs", "incident"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    for doc in all_documents(seed):
        _write(out_dir / "docs" / f"{doc.id}.md", render(doc))
    for name, doc in incident_documents():
        _write(out_dir / "incident" / f"{name}.md", render(doc))

    people = generate_people(seed)
    utterances = generate_utterances(seed)
    adapter_examples = generate_adapter_examples(seed, utterances)
    multilingual = {language: generate_multilingual_utterances(seed, language, utterances) for language in ("es", "vi")}
    situations = {language: generate_situation_utterances(seed, language, utterances + multilingual[language]) for language in ("es", "vi")}
    safety = generate_safety_utterances(seed, [*utterances, *multilingual["es"], *multilingual["vi"], *situations["es"], *situations["vi"]])
    files = {
        "intents.json": _json(INTENTS),
        "tenants.json": _json(TENANTS),
        "prices.json": _json(PRICES),
        "customers.jsonl": _jsonl(people.customers),
        "accounts.jsonl": _jsonl(people.accounts),
        "cards.jsonl": _jsonl(people.cards),
        "transactions.jsonl": _jsonl(people.transactions),
        "utterances.jsonl": _jsonl(utterances),
        "adapter_examples.jsonl": _jsonl(adapter_examples),
        "forgetting_intents.jsonl": _jsonl(generate_forgetting_set(seed, [*utterances, *adapter_examples, *multilingual["es"], *multilingual["vi"],
                                                                          *situations["es"], *situations["vi"], *safety])),
        # The goldens name the core customers only, so they stay put as the book grows.
        "goldens.jsonl": _jsonl(generate_goldens(seed, generate_people(seed, CORE_CUSTOMERS))),
    }
    files["multilingual/safety.jsonl"] = _jsonl(safety)
    for language in ("es", "vi"):
        files[f"multilingual/utterances-{language}.jsonl"] = _jsonl(multilingual[language])
        files[f"multilingual/situations-{language}.jsonl"] = _jsonl(situations[language])
        files[f"multilingual/passages-{language}.jsonl"] = _jsonl(multilingual_passages(language))
    for name, text in files.items():
        _write(out_dir / name, text)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write (default: the package data/)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (the committed data uses 7)")
    args = parser.parse_args(argv)
    generate(args.out, args.seed)


if __name__ == "__main__":
    main()
