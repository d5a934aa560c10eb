"""The command line: click commands that only wire input -> parse -> graph -> engine -> render.

Errors meant for the user are CgraphError subclasses; `main` turns them into one
line on stderr and the exit code from errors.ExitStatus (a traceback only with --debug).
"""

import gc
import os
import sys

import click

from cgraph_cli import __version__
from cgraph_cli.bindings import collect, split_args
from cgraph_cli.errors import BindingError, CgraphError, ExitStatus, UsageError
from cgraph_cli.render import RENDERERS, Options

CONTEXT = {"help_option_names": ["-h", "--help"], "ignore_unknown_options": True,
           "allow_extra_args": True, "max_content_width": 100}
BINDINGS_HELP = ("Bind variables with --NAME VALUE (also --NAME=VALUE, and negative values such "
                 "as --y -4), -v NAME=VALUE, or --vars FILE.json.")


class BindingCommand(click.Command):
    """A command taking --NAME VALUE bindings: the words are split (bindings.py) before click parses."""

    def parse_args(self, ctx, args):
        value_options, flag_options = {}, {}
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            spellings = param.opts + param.secondary_opts
            long_form = next((s for s in spellings if s.startswith("--")), spellings[0])
            target = flag_options if param.is_flag else value_options
            for spelling in spellings:
                target[spelling] = spelling if param.is_flag else long_form
        split = split_args(args, value_options, flag_options)
        ctx.meta["cgraph.bindings"] = split.bindings
        ctx.meta["cgraph.positional"] = split.positional
        return super().parse_args(ctx, split.options)

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, "[OPTIONS] [EXPR] [--NAME VALUE]...")

    def format_epilog(self, ctx, formatter):
        reserved = sorted({s for p in self.get_params(ctx) if isinstance(p, click.Option)
                           for s in p.opts + p.secondary_opts if s.startswith("--")})
        with formatter.section("Reserved option names"):
            formatter.write_text("These are cgraph's own options; bind a variable with one of these "
                                 "names as -v NAME=VALUE: " + " ".join(reserved))
        super().format_epilog(ctx, formatter)


def input_options(function):
    """Where the expression comes from and how variables are bound: shared by every command."""
    for decorator in reversed([
        click.option("-f", "--file", "file", metavar="FILE",
                     help="Read the program from FILE ('-' for standard input)."),
        click.option("-v", "--var", "var_words", multiple=True, metavar="NAME=VALUE",
                     help="Bind a variable (works for any name, even one of our options)."),
        click.option("--vars", "vars_file", metavar="FILE.json",
                     help="Bind variables from a JSON object of name -> number."),
        click.option("--debug", is_flag=True, help="Show Python tracebacks (for bug reports)."),
    ]):
        function = decorator(function)
    return function


def expect_options(function):
    """--expect NAME=VALUE, --rtol, --atol: after the command's normal output, compare numbers of the
    evaluation (run_pipeline resolves them first, so a name the program lacks prints nothing) and exit 1
    on a difference."""
    import functools

    @functools.wraps(function)
    def command(*args, expect, rtol, atol, **kwargs):
        from cgraph_cli.errors import CheckFailed
        from cgraph_cli.expect import Tolerance, failure_message, parse_expectation

        ctx = click.get_current_context()
        tolerance = Tolerance(rtol, atol)
        ctx.meta["cgraph.expect"] = ([parse_expectation(word) for word in expect], tolerance)
        result = function(*args, **kwargs)
        checks = ctx.meta.get("cgraph.checks", [])
        if not all(check.passed for check in checks):
            raise CheckFailed(failure_message(checks, tolerance))
        return result

    for decorator in reversed([
        click.option("--expect", multiple=True, metavar="NAME=VALUE",
                     help="Exit 1 unless NAME is VALUE: value= (the output), a variable (its gradient), "
                          "an assigned name (its value), NAME.grad= (its gradient). Repeatable."),
        click.option("--rtol", type=click.FloatRange(min=0), default=1e-6, show_default=True, metavar="R",
                     help="--expect's relative tolerance (as in `cgraph check`)."),
        click.option("--atol", type=click.FloatRange(min=0), default=1e-9, show_default=True, metavar="A",
                     help="--expect's absolute tolerance."),
    ]):
        command = decorator(command)
    return command


def batch_options(function):
    """--each-line (one expression per line) and --points DATA.csv (one row per point): eval in bulk,
    handled by batch.py instead of the command's own body."""
    import functools

    @functools.wraps(function)
    def command(*args, each_line, points, out, **kwargs):
        ctx = click.get_current_context()
        if each_line or points or out or kwargs.get("output_format") in ("jsonl", "csv"):
            from cgraph_cli import batch

            return batch.run(ctx, each_line=each_line, points=points, out=out, **kwargs)
        return function(*args, **kwargs)

    for decorator in reversed([
        click.option("--each-line", is_flag=True,
                     help="Each non-blank, non-comment line is its own expression; with --format jsonl "
                          "(the default here) or plain. Exits with the highest code met."),
        click.option("--points", metavar="DATA.csv",
                     help="Evaluate at every row of a CSV whose header names variables (vectorized); "
                          "prints CSV: the input columns, value, d_NAME per variable."),
        click.option("--out", metavar="FILE", help="With --points: write the CSV to FILE."),
    ]):
        command = decorator(command)
    return command


def seed_option(function):
    """--seed: the upstream gradient of a non-scalar output (a vector-Jacobian product)."""
    def remember(ctx, param, value):
        ctx.meta["cgraph.seed"] = value
        return value

    return click.option("--seed", metavar="TENSOR", callback=remember, expose_value=False,
                        help="Upstream gradient of a tensor output, e.g. \"[1, 0, 0]\" (default: ones, "
                             "the gradient of the output's sum).")(function)


def exact_options(function):
    """--exact / --exact-auto: compute with rationals (exact.py, imported only then). Remembered in
    ctx.meta like --seed; the wrapper refuses them where they do not apply (--each-line, --points)."""
    import functools

    def remember(ctx, param, value):
        if value:
            auto = param.name == "exact_auto" or ctx.meta.get("cgraph.exact") == "auto"
            ctx.meta["cgraph.exact"] = "auto" if auto else "strict"
        return value

    @functools.wraps(function)
    def command(*args, **kwargs):
        ctx = click.get_current_context()
        if ctx.meta.get("cgraph.exact") and (kwargs.get("each_line") or kwargs.get("points")):
            raise UsageError("--exact evaluates one expression at one point: not with --each-line or --points")
        return function(*args, **kwargs)

    for decorator in reversed([
        click.option("--exact", is_flag=True, callback=remember, expose_value=False,
                     help="Compute with exact rationals (2.2 is 11/5; bindings such as 1/3 are exact); "
                          "an irrational operation (exp, sqrt(2), pi) is an error, exit 3."),
        click.option("--exact-auto", is_flag=True, callback=remember, expose_value=False,
                     help="Like --exact, but compute irrational operations in float64 and say where."),
    ]):
        command = decorator(command)
    return command


def order_option(function):
    """--order 2 on eval: the Hessian (hessian.py) added to the output."""
    def remember(ctx, param, value):
        ctx.meta["cgraph.order"] = value
        return value

    return click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True,
                        callback=remember, expose_value=False,
                        help="2: add the second derivatives (the Hessian) to the output.")(function)


class LazyGroup(click.Group):
    """A group whose commands live in their own modules, imported only when that command runs,
    so `cgraph eval` never pays for what `cgraph graph` or `cgraph diff` import."""

    # command name -> "module:attribute"; each module defines one click command
    LAZY_COMMANDS: dict = {
        "graph": "cgraph_cli.graph_command:graph_command",
        "minimize": "cgraph_cli.minimize_command:minimize_command",
        "check": "cgraph_cli.check:check_command",
        "gradcheck": "cgraph_cli.gradcheck:gradcheck_command",
        "diff": "cgraph_cli.diff:diff_command",
        "hessian": "cgraph_cli.hessian:hessian_command",
    }

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY_COMMANDS))

    def get_command(self, ctx, name):
        if name in self.LAZY_COMMANDS:
            import importlib

            module, attribute = self.LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="cgraph")
@click.option("--debug", is_flag=True, help="Show Python tracebacks (for bug reports).")
def cli(debug):
    """cgraph: formulas to computational graphs, with forward values and reverse-mode gradients.

    \b
      cgraph eval "(x+y)^2" --x 1 --y 3
      cgraph grad "x*y" --x 2 --y 3 --wrt x
    """


def read_source(positional: list, file: str | None) -> str:
    """The program text: EXPR, -f FILE, or standard input (also EXPR '-')."""
    if len(positional) > 1:
        words = " ".join(positional)
        raise UsageError(f"expected one expression, got {len(positional)} words: {words}\n"
                         f"quote the formula: cgraph eval \"{words}\"")
    if file is not None and positional:
        raise UsageError("give the expression either as EXPR or with -f FILE, not both")
    if file is not None and file != "-":
        try:
            data = open(file, "rb").read()
        except OSError as error:
            raise UsageError(f"cannot read {file}: {error.strerror or error}")
        return _decode(data, file)
    if positional and positional[0] != "-":
        return positional[0]
    stdin = sys.stdin
    if file is None and not positional and stdin.isatty():
        raise UsageError("no expression given: pass EXPR, -f FILE, or pipe it on standard input\n"
                         "example: cgraph eval \"(x+y)^2\" --x 1 --y 3")
    return _decode(getattr(stdin, "buffer", stdin).read(), "standard input")


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")   # an editor's byte-order mark is not text
    except UnicodeDecodeError as error:
        raise UsageError(f"{where} is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})")


def run_pipeline(ctx, file, var_words, vars_file):
    """Read, bind, parse, build, evaluate: what eval and grad share."""
    from cgraph_cli.engine import evaluate
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build

    source = read_source(ctx.meta["cgraph.positional"], file)
    values = collect(ctx.meta["cgraph.bindings"], var_words, vars_file)
    graph = build(parse(source), source, frozenset(values))
    seed = ctx.meta.get("cgraph.seed")
    if seed is not None:
        from cgraph_cli.bindings import parse_value

        seed = parse_value(seed, "--seed")
    if ctx.meta.get("cgraph.exact"):
        from cgraph_cli import exact

        if seed is not None:
            raise UsageError("--seed is for tensor outputs; --exact is for scalar formulas")
        exact_values = exact.exact_bindings(ctx.meta["cgraph.bindings"], var_words, vars_file, values)
        evaluation = exact.evaluate(graph, exact_values, auto=ctx.meta["cgraph.exact"] == "auto")
    else:
        evaluation = evaluate(graph, values, seed=seed)
    if ctx.meta.get("cgraph.expect"):   # --expect: an unknown name is an error before any output
        from cgraph_cli.expect import check_expectations

        ctx.meta["cgraph.checks"] = check_expectations(evaluation, *ctx.meta["cgraph.expect"])
    for warning in evaluation.warnings:
        click.echo(f"cgraph: warning: {warning}", err=True)
    return evaluation


@cli.command("eval", cls=BindingCommand, context_settings=CONTEXT,
             epilog=BINDINGS_HELP)
@input_options
@click.option("--format", "output_format", type=click.Choice(list(RENDERERS) + ["jsonl", "csv"]),
              default="tree", show_default=True,
              help="tree and table for people; json and plain for scripts; jsonl with --each-line, "
                   "csv with --points.")
@click.option("--precision", type=click.IntRange(1, 17), metavar="N",
              help="Significant digits (default: 12 in tree/table, round-trip in json/plain).")
@click.option("--all", "show_all", is_flag=True, help="Print every node of a large graph.")
@click.option("--full", is_flag=True, help="Print every element of a tensor (tree and table).")
@seed_option
@click.option("--steps", is_flag=True,
              help="Show the backward pass step by step: upstream x local derivative, and the "
                   "running total where a value fans out.")
@order_option
@click.pass_context
@exact_options
@expect_options
@batch_options
def eval_command(ctx, file, var_words, vars_file, debug, output_format, precision, show_all, full,
                 steps):
    """Evaluate a formula: the forward value of every node and the gradient of the output.

    \b
    Examples:
      cgraph eval "(x+y)^2" --x 1 --y 3
      cgraph eval "price*count*tax" --price 100 --count 2 --tax 1.1 --format table
      echo "x*y" | cgraph eval --x 2 --y 3 --format json
      cgraph eval -f prog.cg --vars point.json --format plain
      cgraph eval "(x+y)*z" --x 1 --y 3 --z -3 --steps
    """
    evaluation = run_pipeline(ctx, file, var_words, vars_file)
    if ctx.meta.get("cgraph.order", 1) > 1:
        from cgraph_cli.hessian import render_eval

        if steps:
            raise UsageError("--order 2 and --steps do not go together: use one at a time")
        emit(render_eval(evaluation, output_format, Options(precision, show_all, full),
                         ctx.meta.get("cgraph.exact")))
        return
    if steps:
        from cgraph_cli.render import steps as steps_renderer

        emit(steps_renderer.render(evaluation, Options(precision, show_all, full), output_format))
        return
    if output_format == "plain":
        note_seed(evaluation)
    output = RENDERERS[output_format](evaluation, Options(precision, show_all, full))
    emit(output)


def note_seed(evaluation) -> None:
    """Plain lines have no room to say it: a tensor output's gradients are of its sum (stderr)."""
    if evaluation.seed is not None and click.get_current_context().meta.get("cgraph.seed") is None:
        shape = getattr(evaluation.value, "shape", ())
        click.echo(f"cgraph: note: the output has shape {shape}, not a scalar: the gradients are those "
                   "of sum(output) (reverse mode started from ones; --seed gives another)", err=True)


@cli.command("grad", cls=BindingCommand, context_settings=CONTEXT, epilog=BINDINGS_HELP)
@input_options
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Only this variable (repeatable); with one --wrt the bare number is printed.")
@click.option("--precision", type=click.IntRange(1, 17), metavar="N",
              help="Significant digits (default: the shortest round-trip text).")
@seed_option
@click.pass_context
@exact_options
@expect_options
def grad_command(ctx, file, var_words, vars_file, debug, wrt, precision):
    """Print the gradient of the output: one `NAME VALUE` line per variable.

    \b
    Examples:
      cgraph grad "(x+y)^2" --x 1 --y 3
      g=$(cgraph grad "x*y" --x 2 --y 3 --wrt x)     # g=3
    """
    from cgraph_cli.render.numbers import elements, machine

    evaluation = run_pipeline(ctx, file, var_words, vars_file)
    note_seed(evaluation)
    graph = evaluation.graph
    gradients = evaluation.gradients()
    if not wrt:
        emit("".join(f"{label} {machine(v, precision)}\n"
                     for name, g in gradients.items() for label, v in elements(name, g)))
        return
    lines = []
    for name in wrt:
        if name in gradients:
            g = gradients[name]
        elif name in graph.assigned:
            g = evaluation.grads[graph.assigned[name]]
            g = 0.0 if g is None else g
        else:
            known = ", ".join(sorted(set(gradients) | set(graph.assigned))) or "none"
            raise BindingError(f"--wrt {name}: the expression has no variable or assigned name "
                               f"{name} (it has: {known})")
        if getattr(g, "ndim", 0):   # a tensor: one `W[i,j] V` line per element
            lines += [f"{label} {machine(v, precision)}" for label, v in elements(name, g)]
        else:
            lines.append(machine(g, precision) if len(wrt) == 1 else f"{name} {machine(g, precision)}")
    emit("\n".join(lines) + "\n")


def emit(output) -> None:
    """Write a renderer's result: text as is, a rich renderable through a Console."""
    if isinstance(output, str):
        click.echo(output, nl=False)
        return
    from rich.console import Console

    console = Console(file=sys.stdout)
    console.on_broken_pipe = _raise_broken_pipe   # rich would exit 1, our code for a failed check
    console.print(output)


def _raise_broken_pipe():
    raise BrokenPipeError(32, "Broken pipe")


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
