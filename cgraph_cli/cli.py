"""The command line: the click group over the commands of commands/, and `main`, which turns every
failure into one line on stderr and the exit code from errors.ExitStatus (a traceback only with --debug).
"""

import gc
import importlib
import os
import sys

import click

from cgraph_cli import __version__
from cgraph_cli.commands import COMMANDS
from cgraph_cli.errors import CgraphError, ExitStatus
from cgraph_cli.text import safe_output


class LazyGroup(click.Group):
    """A group whose commands live in their own modules (commands.COMMANDS), imported only when
    that command runs."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="cgraph")
@click.option("--debug", is_flag=True, expose_value=False, help="Show Python tracebacks (for bug reports).")
def cli():
    """cgraph: formulas to computational graphs, with forward values and reverse-mode gradients.

    \b
      cgraph eval "(x+y)^2" --x 1 --y 3
      cgraph grad "x*y" --x 2 --y 3 --wrt x
    """


def main(argv=None) -> None:
    """The console script: run the CLI and turn every failure into a message and an exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    before_separator = args[:args.index("--")] if "--" in args else args
    debug = "--debug" in before_separator or bool(os.environ.get("CGRAPH_DEBUG"))
    gc.disable()   # graphs are acyclic lists of numbers: the cyclic collector only costs time here
    code = _run(args, debug)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _closed_pipe()
    except OSError:
        pass
    sys.stderr.flush()
    if argv is None:
        os._exit(code)   # skip tearing down a million-node graph object by object
    sys.exit(code)


def _run(args: list, debug: bool) -> int:
    safe_output(sys.stdout, sys.stderr)   # a cp1252 console, a lone surrogate in argv: never a crash
    try:
        result = cli.main(args, prog_name="cgraph", standalone_mode=False)
        return result if isinstance(result, int) else ExitStatus.SUCCESS
    except CgraphError as error:
        if debug:
            raise
        click.echo(f"cgraph: {error.kind}: {error.message}", err=True)
        return error.exit_code
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except SystemExit as exit_:
        # click's main turns a closed stdout (EPIPE) into exit 1, our code for a failed check
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            return _closed_pipe()
        return exit_.code if isinstance(exit_.code, int) else ExitStatus.USAGE
    except click.ClickException as error:
        error.show()
        return ExitStatus.USAGE if isinstance(error, click.UsageError) else error.exit_code
    except (KeyboardInterrupt, click.Abort):
        click.echo("cgraph: interrupted", err=True)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return _closed_pipe()
    except MemoryError:
        click.echo("cgraph: evaluation error: out of memory", err=True)
        return ExitStatus.EVALUATION
    except Exception as error:  # a bug in cgraph, not in the input
        if debug:
            raise
        click.echo(f"cgraph: internal error: {type(error).__name__}: {error}\n"
                   "this is a bug in cgraph; run again with --debug for the traceback and report it",
                   err=True)
        return ExitStatus.INTERNAL


def _closed_pipe() -> int:
    """The reader went away (`cgraph ... | head -1`): stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitStatus.CLOSED_PIPE
