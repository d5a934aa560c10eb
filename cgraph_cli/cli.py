"""The command line: the click group over the commands of commands/, and `main`, which turns every
failure into one line on stderr and the exit code from errors.ExitStatus (a traceback only with --debug).
"""

import gc
import os
import sys

from cgraph_cli import interrupt

# The first thing the console script does (it imports this module), before click and the rest are
# imported; main() turns Ctrl-C back into KeyboardInterrupt for the run, where _run reports it.
# The cyclic collector, which main() turns off for the run, is off from here: importing click and
# our modules allocates no garbage worth its passes (about 6 ms of a cold start).
# Imported by other programs (tests, the Python API), the interpreter is left as it is.
if os.path.basename(getattr(sys.modules.get("__main__"), "__file__", "") or "").startswith("cgraph"):
    interrupt.install()
    gc.disable()

import importlib  # noqa: E402

import click  # noqa: E402

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
    collecting = gc.isenabled()
    streams = [(stream, getattr(stream, "errors", None)) for stream in (sys.stdout, sys.stderr)]
    gc.disable()   # graphs are acyclic lists of numbers: the cyclic collector only costs time here
    previous = interrupt.default_handler()
    try:
        code = _run(args, debug)
    except KeyboardInterrupt:   # between the two lines above and _run's own handler
        code = _interrupted()
    if argv is None:
        interrupt.install()   # flushing and exiting: no traceback either
    else:   # called in-process (a test, a notebook): the host's interpreter as it was
        interrupt.restore(previous)
        if collecting:
            gc.enable()
        _restore_errors(streams)
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


def _restore_errors(streams: list) -> None:
    """Give each stream back the error handler it had before _run's safe_output."""
    for stream, errors in streams:
        if errors is not None and getattr(stream, "errors", None) != errors and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors=errors)
            except (ValueError, OSError):
                pass


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
    except click.UsageError as error:
        click.echo(f"cgraph: usage error: {_usage_message(error)}", err=True)
        command = error.ctx.command_path if error.ctx is not None else "cgraph"
        click.echo(f"Try '{command} --help'.", err=True)
        return ExitStatus.USAGE
    except click.ClickException as error:
        click.echo(f"cgraph: error: {error.format_message()}", err=True)
        return error.exit_code
    except (KeyboardInterrupt, click.Abort):
        return _interrupted()
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


def _usage_message(error: click.UsageError) -> str:
    """click's message on one line, with the command a misspelt one most likely meant."""
    message = " ".join(error.format_message().split())
    if isinstance(error, click.NoSuchOption) or error.ctx is None or error.ctx.command is not cli:
        return message
    import difflib

    typed = message.split("'")[1] if message.count("'") >= 2 else ""
    close = difflib.get_close_matches(typed, sorted(COMMANDS), n=2, cutoff=0.6)
    if not close or typed in COMMANDS:
        return message
    return message + " (did you mean " + " or ".join(f"'{name}'" for name in close) + "?)"


def _interrupted() -> int:
    click.echo("cgraph: interrupted", err=True)
    return ExitStatus.INTERRUPTED


def _closed_pipe() -> int:
    """The reader went away (`cgraph ... | head -1`): stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitStatus.CLOSED_PIPE
