"""The knowledge corpus: versioned commits of documents, a hybrid index per commit, governed retrieval.

- `documents`: parse and validate a document file (front matter + text)
- `chunking`: structure-following chunks and their minimal spans
- `commits`: stage, certify, retire, commit, log, diff, revert
- `index`: the per-tree BM25 + dense index and its filter masks
- `retrieval`: `Retriever.search` -> `RetrievalResult` (spans, decline, fingerprint)
- `rules`: `RetrievalRules`, the `[retrieval]` section of the policy
"""
