"""The README stays true: its two commands, and every top-level command group, are documented there."""

from pathlib import Path

import typer

from loopwright.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    block = README.split("```")[1]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]


def test_every_command_group_is_in_the_readme():
    missing = [name for name in typer.main.get_command(app).commands if f"loopwright {name}" not in README]
    assert not missing, f"document these in README.md: {missing}"
