"""Typed receipt payloads: written through their classes, read back into them, and a misfit is named."""

import pytest
import sqlalchemy as sa

from loopwright.errors import IntegrityError
from loopwright.registry.payloads import (
    Action,
    DeploySet,
    Part,
    Payload,
    Placed,
    ToolAction,
    ToolCall,
    parse_payload,
    payload_type,
)
from loopwright.registry.receipts import append_receipt, list_receipts


class Counted(Part):
    """A plugin's count."""

    n: int


class PluginEvent(Payload):
    """A plugin's own receipt, under its own prefix."""

    action = "testplugin.event"
    after: Counted


def test_a_plugin_payload_is_written_and_read_back_typed(workspace):
    with workspace.write() as s:
        written = append_receipt(s, workspace, PluginEvent(after=Counted(n=3)), subject="thing/1")
    assert written.action == "testplugin.event" and written.after == {"n": 3}
    with workspace.session() as s:
        (read,) = list_receipts(s, action="testplugin.event")
    assert read.payload == PluginEvent(after=Counted(n=3))


def test_tool_receipts_are_one_family_whatever_the_tool():
    call = ToolCall(ticket="tk_1", tool="freeze_card", caller={}, customer="cus_1", inputs={}, result={}, origin="api", verdicts=[])
    payload = ToolAction(tool="freeze_card", before={"status": "active"}, after={"status": "frozen"}, details=call)
    assert payload.action_name == "tool.freeze_card"
    assert payload_type("tool.freeze_card") is ToolAction
    read = parse_payload("tool.freeze_card", {"status": "active"}, {"status": "frozen"}, None)  # details erased
    assert read.tool == "freeze_card" and read.details is None


def test_an_unknown_action_reads_back_untyped_and_a_misfit_is_named():
    assert parse_payload("nobody.declares", None, {"x": 1}, None) is None
    with pytest.raises(IntegrityError, match=r"deploy.set receipt does not fit DeploySet: after.digest"):
        parse_payload(Action.DEPLOY_SET, None, {"stable": "corpus/bank@1"}, None)
    with pytest.raises(IntegrityError, match="after.share: Extra inputs are not permitted"):
        parse_payload(Action.DEPLOY_SET, None, {"stable": "corpus/bank@1", "digest": "d", "share": 1.0}, None)


def test_one_payload_class_per_action():
    with pytest.raises(TypeError, match="'deploy.set' already has a payload: DeploySet"):

        class Again(Payload):
            action = Action.DEPLOY_SET


def test_a_receipt_that_no_longer_fits_its_type_is_marked_in_the_audit_log(workspace, monkeypatch):
    from typer.testing import CliRunner

    from loopwright.cli import app, common

    # Wide enough that the mark is not wrapped (the shared console's width is fixed when it is first sized).
    monkeypatch.setattr(common.console, "_width", 300)

    with workspace.write() as s:
        append_receipt(s, workspace, DeploySet(before=None, after=Placed(stable="corpus/bank@1", digest="d" * 64)), subject="slot/corpus")
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE receipts SET after = :v WHERE seq = 1"), {"v": '{"stable":"corpus/bank@1"}'})
    result = CliRunner().invoke(app, ["audit", "log", "--workspace", str(workspace.root)])
    assert result.exit_code == 0 and "does not fit its type" in result.output
    shown = CliRunner().invoke(app, ["audit", "show", "1", "--workspace", str(workspace.root)])
    assert isinstance(shown.exception, IntegrityError) and "does not fit DeploySet: after.digest" in str(shown.exception)
