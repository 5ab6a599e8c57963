"""The document families the session's tiny reader trains on (tests/conftest.py `sample_reader`): a module of
its own so a test can name them; `from conftest import` finds whichever conftest xdist loaded first."""

READER_GROUPS = ("fee-schedule", "flexpay-2-0", "wire-transfers", "branch-hours", "flexpay-1-0", "lost-stolen-cards")
