"""The policy schema: the sample loads; bad files fail with the file, the line and the reason."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from loopwright.cli import policy as policy_cli
from loopwright.errors import InvalidInput
from loopwright.policy.principal import Principal
from loopwright.policy.loader import load_policy
from loopwright.tools.contract import get_tool
from loopwright.policy.toml_lines import locate
from loopwright.samples.bank.install import CONFIG_DIR

SAMPLE = (CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")

SMALL = """\
[pii]
min_score = 0.5

[sensitivity]
default = "public"

[sensitivity.tenants.t1]
ceiling = "internal"
roles = { admin = "restricted" }

[tools]
confirm = ["open_dispute"]

[tools.roles.customer]
tools = [
  "freeze_card",
  "escalate_to_human",
]

[tools.settings.open_dispute]
window_days = 60

[validators.grounding]
on_fail = "decline"
"""


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_sample_policy_loads_with_every_section():
    policy = load_policy(SAMPLE, "policy.toml")
    assert set(policy.pii.actions) >= {"CREDIT_CARD", "US_SSN", "PHONE_NUMBER"}
    assert list(policy.validators) == ["citations", "grounding", "pii_leak", "sensitivity_ceiling"]
    assert policy.retrieval.tenants["larkspur-retail"].max_sensitivity == "internal"
    assert get_tool("open_dispute").settings_in(policy).window_days == 60
    agent = Principal("larkspur-staff", "agent", ("retail", "staff"))
    admin = Principal("larkspur-staff", "admin", ("retail", "staff"))
    assert policy.sensitivity.ceiling_for(agent) == "internal" and policy.sensitivity.ceiling_for(admin) == "restricted"
    assert policy.sensitivity.ceiling_for(Principal("unknown", "x")) == "public"
    assert set(policy.feedback.rubric) == {"resolved", "accurate", "tone"} and policy.feedback.correctors == ("agent", "admin")
    assert (policy.learning.review_min_items, policy.learning.max_rejection_rate) == (50, 0.1)


@pytest.mark.parametrize(
    "old, new, needle, reason",
    [
        ("min_score = 0.5", "min_score = 0.5\nmin_scroe = 0.4", "min_scroe", "pii.min_scroe: unknown key"),
        ("window_days = 60", 'window_days = "sixty"', "sixty", "tools.settings.open_dispute.window_days: wrong type"),
        ('  "escalate_to_human",', '  "escalate_to_human",\n  "teleport",', "teleport",
         "tools.roles.customer.tools.2: unknown tool 'teleport'"),
        ('confirm = ["open_dispute"]', 'confirm = ["wire_money"]', "wire_money", "unknown tool 'wire_money'"),
        ("[tools.settings.open_dispute]", "[tools.settings.fly]", "fly", "tools.settings.fly: unknown tool 'fly'"),
        ('roles = { admin = "restricted" }', 'roles = { admin = "secret" }', "secret",
         "sensitivity.tenants.t1.roles.admin: Input should be"),
        ('on_fail = "decline"', 'on_fail = "decline"\nmin_overlap = "most"', "min_overlap",
         "validators.grounding.min_overlap: wrong type"),
        ("[validators.grounding]", "[validators.vibes]", "vibes", "unknown output validator 'vibes'"),
        ('on_fail = "decline"', 'on_fail = "decline"\nwindow = "wide"', '"wide"', "validators.grounding.window: wrong type"),
        ('on_fail = "decline"', 'on_fail = "decline"\nclaims = ["vibes"]', "claims", "validators.grounding.claims.0"),
        ("min_score = 0.5", "min_score = 0.5\nphone_regions = [\"XX\"]", "phone_regions", "unknown phone region"),
        ("min_score = 0.5", "min_score = 0.5\n[pii.actions]\nSHOE_SIZE = \"mask\"", "SHOE_SIZE", "unknown PII entity"),
        ("min_score = 0.5", "min_score = true", "min_score", "pii.min_score: wrong type"),
    ],
)
def test_a_bad_policy_names_file_line_and_reason(old, new, needle, reason):
    text = SMALL.replace(old, new, 1)
    assert text != SMALL
    with pytest.raises(InvalidInput) as info:
        load_policy(text, "bank/policy.toml")
    message = info.value.message
    assert message.startswith(f"bank/policy.toml:{_line_of(text, needle)}: "), message
    assert reason in message


def test_retrieval_errors_are_located_too():
    text = SAMPLE.replace("certified_only = true", "certified_only = 3")
    with pytest.raises(InvalidInput, match=rf"^policy.toml:{_line_of(text, 'certified_only')}: retrieval.certified_only: wrong type"):
        load_policy(text, "policy.toml")


def test_toml_syntax_errors_name_the_file_and_line():
    with pytest.raises(InvalidInput, match=r"^p.toml: invalid TOML: .*line 2"):
        load_policy("[pii]\nmin_score = = 1\n", "p.toml")


def test_locate_handles_quoted_dotted_and_inline_keys():
    text = '[a."b c"]\nx.y = 1\nz = { w = 2 }\n[[arr]]\nk = 1\n[[arr]]\nk = 2\n'
    assert locate(text, ("a", "b c", "x", "y")) == 2
    assert locate(text, ("a", "b c", "z", "w")) == 3
    assert locate(text, ("arr", 1, "k")) == 7


def cli():
    """The commands mounted as `loopwright` mounts them."""
    root = typer.Typer()
    root.add_typer(policy_cli.app, name="policy")
    root.add_typer(policy_cli.subject_app, name="subject")
    return root


def test_policy_check_cli(tmp_path):
    runner, app = CliRunner(), cli()
    good = tmp_path / "policy.toml"
    good.write_text(SAMPLE, encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert '"ok": true' in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace("window_days = 60", "window_days = 60\nwindow_weeks = 8"), encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.one_line().startswith(f"{bad}:{_line_of(bad.read_text(), 'window_weeks')}: ")
