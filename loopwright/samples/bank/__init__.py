"""Larkspur Bank: the fictional retail bank that is loopwright's reference case.

`DATA_DIR` holds the committed sample data written by
`python -m loopwright.samples.bank.generate`.
"""

from datetime import date
from pathlib import Path

DATA_DIR: Path = Path(__file__).parent / "data"
"""The committed sample data: docs/, incident/, and the JSON and JSONL files."""

REFERENCE_DATE: date = date(2026, 11, 29)
"""The sample world's "today": freshness, dispute windows and dates are relative to it."""

__all__ = ["DATA_DIR", "REFERENCE_DATE"]
