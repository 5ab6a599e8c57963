"""The sample bank's tools: `freeze_card`, `unfreeze_card`, `open_dispute`, `escalate_to_human`.

Registered through `loopwright.tools.contract.tool`, the extension point a
user's own tools use; the book of record they act on is in `schema`, loaded
from the sample by `book.load_bank_book`.
"""

from loopwright.tools.bank import tools  # noqa: F401 - registers the tools
