"""The sample bank is a plugin like any third party's: entry points and its own schema (that no library
module imports it is tests/test_floors.py's check)."""

from __future__ import annotations

from importlib.metadata import entry_points


def test_the_bank_registers_through_installed_entry_points():
    declared = {group: {ep.name: ep.value for ep in entry_points(group=group)}
                for group in ("loopwright.tools", "loopwright.subject_stores", "loopwright.migrations")}
    assert declared == {
        "loopwright.tools": {"bank": "loopwright.samples.bank.tools"},
        "loopwright.subject_stores": {"bank": "loopwright.samples.bank.tools.subjects"},
        "loopwright.migrations": {"bank": "loopwright.samples.bank.migrations:SCHEMA"},
    }, "reinstall the package (pip install -e .) so its metadata has the entry points in pyproject.toml"
    from loopwright.policy.subjects import registered_stores
    from loopwright.tools import registered_tools
    from loopwright.tools.arguments import extract_arguments

    assert {"freeze_card", "unfreeze_card", "open_dispute", "escalate_to_human"} <= set(registered_tools())
    assert extract_arguments("freeze_card", "freeze card ending 5212") == {"last4": "5212"}
    assert {"bank", "tool_calls"} <= set(registered_stores())


def test_subject_requests_in_a_workspace_without_the_bank(workspace):
    from loopwright.policy.subjects import erase_subject, export_subject

    assert export_subject(workspace, "cus_001")["stores"]["bank"] is None
    assert erase_subject(workspace, "cus_001").after["erased"]["bank"] == 0
