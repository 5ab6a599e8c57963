"""The sample bank's tools, argument extractors and subject store: a plugin like any third party's.

Registered through the project's entry points (pyproject.toml): `loopwright.tools`
imports this package, which registers `freeze_card`, `unfreeze_card`,
`open_dispute` and `escalate_to_human` (`contracts`) and their argument
extractors (`arguments`); `loopwright.subject_stores` names `subjects`. The
book of record they act on is in `schema`, created by the plugin's own
migration and loaded from the sample by `book.load_bank_book`.
"""

from loopwright.samples.bank.tools import arguments, contracts  # noqa: F401 - registers the tools and extractors
