"""The kosovo-sim command line: thin wrappers that parse, call the API and print.

Each command lives beside the code it drives and registers itself here through a
``register(app)`` function, so the modules in COMMAND_MODULES are the whole command surface.
"""

from __future__ import annotations

import importlib
import sys

import typer

from sim.errors import UserError

app = typer.Typer(
    name="kosovo-sim",
    help="Crisis-escalation simulator of northern Kosovo, 2023 (Mesa agent-based model).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = (
    "sim.scenario.commands",
    "sim.run_commands",
    "sim.analysis.commands",
    "sim.sweep.commands",
    "sim.views.commands",
    "sim.history.commands",
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2, never a traceback."""
    try:
        rc = app(standalone_mode=False)  # click returns, not raises, a typer.Exit code in this mode
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except Exception as err:  # click usage errors and the like
        usage, abort = _click_errors()
        if type(err).__name__ == "NoArgsIsHelpError":
            err.show()  # type: ignore[attr-defined]
            sys.exit(2)
        if isinstance(err, usage):  # a bad option or value: one line, like every other bad input
            print(f"error: {' '.join(err.format_message().split())}", file=sys.stderr)  # type: ignore[attr-defined]
            sys.exit(2)
        if isinstance(err, abort):
            sys.exit(1)
        raise


def _click_errors() -> tuple[tuple[type[Exception], ...], tuple[type[BaseException], ...]]:
    """Click's usage-error and abort classes, and the copies of them that typer >= 0.25 vendors and raises."""
    import click

    usage: list[type[Exception]] = [click.exceptions.ClickException]
    abort: list[type[BaseException]] = [click.exceptions.Abort]
    try:
        from typer._click import exceptions as vendored
    except ImportError:  # an older typer raises click's own
        pass
    else:
        usage.append(vendored.ClickException)
        abort.append(typer.Abort)
    return tuple(usage), tuple(abort)
