"""The bank plugin's schema: its own Alembic revisions (this folder) and version table, `alembic_version_bank`.

Exposed under the `loopwright.migrations` entry point; applied when the sample
is installed (`loopwright init --sample bank`), never in other workspaces.
"""

from pathlib import Path

from loopwright.samples.bank.tools.schema import BankBase
from loopwright.store.plugins import PluginSchema

SCHEMA = PluginSchema("bank", Path(__file__).parent, BankBase.metadata)

__all__ = ["SCHEMA"]
