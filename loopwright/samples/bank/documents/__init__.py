"""The Larkspur corpus: policy and FAQ documents rendered as Markdown with front matter."""

from dataclasses import replace

from loopwright.samples.bank.documents import boilerplate, internal, products, service, translated, translated_everyday
from loopwright.samples.bank.documents.model import Doc, render


def all_documents(seed: int) -> list[Doc]:
    """Every document that belongs in data/docs/, sorted by id; ids are unique."""
    translations = [replace(d, translation_of=d.id.removesuffix(f"-{d.language}"))
                    for d in translated.documents() + translated_everyday.documents()]
    docs = (products.documents() + service.documents() + translations
            + internal.documents() + boilerplate.documents(seed))
    ids = [d.id for d in docs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate document ids: {duplicates}")
    return sorted(docs, key=lambda d: d.id)


incident_documents = internal.incident_documents

__all__ = ["Doc", "all_documents", "incident_documents", "render"]
