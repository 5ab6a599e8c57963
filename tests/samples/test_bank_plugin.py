"""The sample bank is a plugin like any third party's: entry points, its own schema, no library module imports it."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import loopwright

ROOT = Path(loopwright.__file__).parent
# The CLI and the demo may name the sample (`loopwright init --sample bank`, `loopwright demo`).
MAY_IMPORT_SAMPLES = ("samples", "cli", "demo")
# The sample LM and LoRA trainers still read the sample's data; they move to loopwright/training/ separately.
PENDING = {"hf/sample.py", "hf/lora.py"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_library_module_imports_the_sample():
    offenders = {}
    for path in ROOT.rglob("*.py"):
        part = path.relative_to(ROOT).parts[0]
        if part in MAY_IMPORT_SAMPLES or str(path.relative_to(ROOT)) in PENDING:
            continue
        bad = sorted(n for n in _imports(path) if n == "loopwright.samples" or n.startswith("loopwright.samples."))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert not offenders, offenders


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
