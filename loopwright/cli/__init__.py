"""`loopwright <noun> <verb>`: thin wrappers over library calls.

`main` is the console script: it turns any `LoopwrightError` into one line on
stderr and a non-zero exit, so no command ever prints a traceback at a user.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from loopwright import __version__
from loopwright.cli import (
    advise, audit, corpus, data, demo, deploy, evaluate, feedback, flags, gateway, learn, model, policy, registry, release, simulate, slo,
    tools, train, triage, workspace,
)
from loopwright.errors import LoopwrightError

try:  # typer vendors click (typer._click) since 0.2x: its usage errors are that copy's classes
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover - an older typer on plain click
    from click import exceptions as click

app = typer.Typer(
    name="loopwright",
    help="Run training, self-learning and inference of a language-model application as one governed loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(registry.app, name="registry")
app.add_typer(audit.app, name="audit")
app.add_typer(deploy.app, name="deploy")
workspace.register(app)
demo.register(app)
simulate.register(app)
gateway.register(app)
corpus.register(app)
release.register(app)
slo.register(app)
advise.register(app)
evaluate.register(app)
app.add_typer(triage.app, name="triage")
app.add_typer(data.app, name="data")
app.add_typer(model.app, name="model")
app.add_typer(policy.app, name="policy")
app.add_typer(policy.subject_app, name="subject")
app.add_typer(tools.app, name="tools")
app.add_typer(flags.app, name="flags")
app.add_typer(learn.app, name="learn")
feedback.register(app)
train.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"loopwright {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from loopwright.hf.quantize import IMPORT_NOISE

    for name in IMPORT_NOISE:  # they say nothing to a user
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    """Console-script entry point. Usage errors (a value out of range, an unknown option) and library
    errors become one line on stderr and a non-zero exit: never a box, never a traceback."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        code = app(standalone_mode=False)  # click's errors reach us instead of typer's rich box
        sys.exit(code if isinstance(code, int) else 0)
    except click.NoArgsIsHelpError as exc:  # a bare group: its help, as before
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        where = f" (hint: `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        typer.echo(f"error: {' '.join(exc.format_message().split())}{where}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except LoopwrightError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("LOOPWRIGHT_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (set LOOPWRIGHT_DEBUG=1 for the traceback)", err=True)
        sys.exit(70)
