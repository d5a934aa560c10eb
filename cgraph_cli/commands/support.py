"""What every command shares: the command class that splits `--NAME VALUE` bindings off before
click parses, the Invocation (where the formula and its bindings come from), the option bundles
declared once, reading a formula into a graph, and writing output.

A command module declares its options from the bundles here, receives an Invocation as its first
argument (from `input_options`), calls the layers below and hands the result to its RENDERERS.
"""

import functools
import math
import sys
from typing import NamedTuple

import click

from cgraph_cli import __version__, ast
from cgraph_cli.bindings import EXACT_NUMBERS, NAME, collect, parse_value
from cgraph_cli.engine import evaluate
from cgraph_cli.errors import BindingError, CgraphError, CheckFailed, UsageError
from cgraph_cli.expect import Tolerance, check_expectations, failure_message, parse_expectation
from cgraph_cli.grammar import parse
from cgraph_cli.graph import at_once, build, check_data, refuse_data
from cgraph_cli.text import unknown_name
from cgraph_cli.words import read_source, split_args


CONTEXT = {"help_option_names": ["-h", "--help"], "ignore_unknown_options": True,
           "allow_extra_args": True, "max_content_width": 100}
BINDINGS_HELP = ("Bind variables with --NAME VALUE (also --NAME=VALUE, and negative values such "
                 "as --y -4), -v NAME=VALUE, or --vars FILE.json.")
DEBUG_HELP = "Show Python tracebacks (for bug reports)."
FILE = click.Path()   # a path as typed (no checks here: reading it says what is wrong); completes file names


class Invocation:
    """One run of a command: the words click did not see (positional words and `--NAME VALUE`
    pairs, split off by BindingCommand) and the input options (-f, -v, --vars)."""

    def __init__(self, words: list, binding_words: list, command: str = ""):
        self.command = command               # the command's name, for messages
        self.words = words                   # positional words: the EXPR (or '-')
        self.binding_words = binding_words   # (name, text) pairs from --NAME VALUE (text None: no value)
        self.file = None                     # -f FILE
        self.var_words = ()                  # -v NAME=VALUE words
        self.vars_file = None                # --vars FILE.json
        self.notes = []                      # "y is bound but not used in the formula", for JSON too
        self.notes_shown = False
        self.data = frozenset()              # --const NAME: bound variables that are data

    def source(self) -> str:
        return read_source(self.words, self.file)

    def bindings(self) -> dict:
        return collect(self.binding_words, self.var_words, self.vars_file)

    def check_words(self, used: set) -> None:
        """The rule for `--NAME` words that are not this command's options, given the names the
        formula uses (ast.names, Graph.used): one that is another command's option and names
        nothing in the formula is a usage error; one that binds a variable the formula does not use
        draws a note (also for -v NAME=VALUE)."""
        unused = [name for name, _ in self.binding_words if name not in used]
        unused += [word.partition("=")[0].strip() for word in self.var_words
                   if word.partition("=")[0].strip() not in used]
        if not unused:
            return
        for name, _ in self.binding_words:
            message = misplaced_message(f"--{name}", self.command) if name not in used else None
            if message:
                raise UsageError(message)
        self.notes = [f"{name} is bound but not used in the formula" for name in dict.fromkeys(unused)]

    def exact_bindings(self, checked: dict) -> dict:
        """The bindings read again as exact rationals (--exact)."""
        exact = collect(self.binding_words, self.var_words, self.vars_file, number=EXACT_NUMBERS)
        return {name: exact[name] for name in checked}


class BindingCommand(click.Command):
    """A command taking --NAME VALUE bindings: the words are split (words.py) before click parses,
    and what click does not see becomes the context's Invocation."""

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
        split = split_args(args, value_options, flag_options, resilient=ctx.resilient_parsing,
                           misplaced=lambda spelling: misplaced_message(spelling, self.name))
        ctx.obj = Invocation(split.positional, split.bindings, self.name)
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


def binding_command(name: str):
    """`@binding_command("eval")`: a BindingCommand with the shared settings and epilog."""
    return click.command(name, cls=BindingCommand, context_settings=CONTEXT, epilog=BINDINGS_HELP)


def debug_option(function):
    """--debug and --version: accepted by every command; `cli.main` reads --debug from argv, so no
    value is passed; --version prints the version as at the top level."""
    function = click.version_option(__version__, "--version", prog_name="cgraph")(function)
    return click.option("--debug", is_flag=True, expose_value=False, help=DEBUG_HELP)(function)


def misplaced_message(spelling: str, command: str) -> str | None:
    """The usage error for another command's option given to `command`, or None if it is no option."""
    owners = other_commands_options(command).get(spelling)
    if not owners:
        return None
    name = spelling[2:]
    advice = (f"to bind a variable named {name}, write -v {name}=VALUE" if NAME.match(name)
              else f"{name} cannot be a variable's name")
    return (f"{spelling} is not an option of 'cgraph {command}' (it is one of {', '.join(owners)}); "
            + advice)


@functools.cache
def other_commands_options(current: str) -> dict:
    """`--spelling` -> the other commands that declare it (eval first, then by name), read from the
    commands' own declarations (imported only on this path)."""
    import importlib

    from cgraph_cli.commands import COMMANDS

    owners = {}
    for name in sorted(COMMANDS, key=lambda name: (name != "eval", name)):
        if name == current:
            continue
        module, attribute = COMMANDS[name].split(":")
        for param in getattr(importlib.import_module(module), attribute).params:
            if isinstance(param, click.Option):
                for spelling in param.opts + param.secondary_opts:
                    if spelling.startswith("--") and spelling not in ("--help", "--version", "--debug"):
                        owners.setdefault(spelling, []).append(name)
    return owners


def _options(function, decorators: list):
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


# ----------------------------------------------------------------------------- option bundles

class FiniteFloat(click.FloatRange):
    """A float option in a range that is also finite: inf and nan are usage errors (exit 2), never
    a tolerance or step that silently passes, diverges or breaks the JSON output."""
    name = "float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def input_options(function):
    """-f/--file, -v/--var, --vars and --debug; the command gets the Invocation as its first argument."""
    @functools.wraps(function)
    def command(*args, file, var_words, vars_file, **kwargs):
        invocation = click.get_current_context().find_object(Invocation)
        invocation.file, invocation.var_words, invocation.vars_file = file, var_words, vars_file
        return function(invocation, *args, **kwargs)

    return _options(command, [
        click.option("-f", "--file", "file", metavar="FILE", type=FILE,
                     help="Read the program from FILE ('-' for standard input)."),
        click.option("-v", "--var", "var_words", multiple=True, metavar="NAME=VALUE",
                     help="Bind a variable (works for any name, even one of our options)."),
        click.option("--vars", "vars_file", metavar="FILE.json", type=FILE,
                     help="Bind variables from a JSON object of name -> number."),
        debug_option,
    ])


def const_option(function):
    """--const NAME (repeatable): a bound variable is data, without a gradient; read from the
    Invocation (`invocation.data`), so the command gets no argument. Goes below input_options."""
    @functools.wraps(function)
    def command(invocation, *args, const, **kwargs):
        invocation.data = frozenset(const)
        return function(invocation, *args, **kwargs)

    return click.option("--const", "const", multiple=True, metavar="NAME", shell_complete=complete_names,
                        help="NAME is data, not a parameter: no gradient is computed or shown for it, "
                             "and it is never trained (repeatable).")(command)


def precision_option(help: str, default: int | None = None):
    """--precision N (1-17): significant digits; each command says what its default means."""
    return click.option("--precision", type=click.IntRange(1, 17), metavar="N", help=help,
                        **({"default": default, "show_default": True} if default is not None else {}))


def format_option(formats, default: str, help: str | None = None, option: str = "--format"):
    """--format (or another spelling) whose choices are the keys of a command's RENDERERS, plus any
    modes given beside them."""
    return click.option(option, "output_format", type=click.Choice(list(formats)), default=default,
                        show_default=default is not None, help=help)


def exact_options(exact_help: str, auto_help: str):
    """--exact / --exact-auto, passed to the command as one `exact`: None, "strict" or "auto"."""
    def decorate(function):
        @functools.wraps(function)
        def command(*args, exact, exact_auto, **kwargs):
            return function(*args, exact=exact_mode(exact, exact_auto), **kwargs)

        return _options(command, [click.option("--exact", is_flag=True, help=exact_help),
                                  click.option("--exact-auto", is_flag=True, help=auto_help)])
    return decorate


def exact_mode(exact: bool, exact_auto: bool) -> str | None:
    """--exact-auto wins over --exact (given both, irrational operations are computed in float64)."""
    return "auto" if exact_auto else ("strict" if exact else None)


def wrt_option(help: str):
    return click.option("--wrt", multiple=True, metavar="NAME", help=help, shell_complete=complete_names)


def complete_names(ctx, param, incomplete: str) -> list:
    """Shell completion of --wrt (and the like): the names of the formula already on the line."""
    from click.shell_completion import CompletionItem

    invocation = ctx.find_object(Invocation)
    if invocation is None or not invocation.words or invocation.words[0] == "-":
        return []
    try:
        program = parse(invocation.words[0])
    except Exception:   # a half-typed formula: nothing to offer
        return []
    names = sorted(ast.names(program))
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


class Expect(NamedTuple):
    """--expect words as given, and the tolerance they are compared with."""
    words: tuple
    tolerance: object

    def read(self) -> list:
        """The Expectations; a malformed word is a usage error."""
        return [parse_expectation(word) for word in self.words]


def expect_options(function):
    """--expect NAME=VALUE, --rtol, --atol: passed to the command as one `expect` (Expect)."""
    @functools.wraps(function)
    def command(*args, expect, rtol, atol, **kwargs):
        return function(*args, expect=Expect(expect, Tolerance(rtol, atol)), **kwargs)

    return _options(command, [
        click.option("--expect", multiple=True, metavar="NAME=VALUE",
                     help="Exit 1 unless NAME is VALUE: value= (the output), a variable (its gradient), "
                          "an assigned name (its value), NAME.grad= (its gradient). Repeatable."),
        click.option("--rtol", type=FiniteFloat(min=0), default=1e-6, show_default=True, metavar="R",
                     help="--expect's relative tolerance (as in `cgraph check`)."),
        click.option("--atol", type=FiniteFloat(min=0), default=1e-9, show_default=True, metavar="A",
                     help="--expect's absolute tolerance."),
    ])


def seed_option(function):
    """--seed: the upstream gradient of a non-scalar output (a vector-Jacobian product)."""
    return click.option("--seed", metavar="TENSOR",
                        help="Upstream gradient of a tensor output, e.g. \"[1, 0, 0]\" (default: ones, "
                             "the gradient of the output's sum).")(function)


def order_option(function):
    """--order 2 on eval: the Hessian added to the output."""
    return click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True,
                        help="2: add the second derivatives (the Hessian) to the output.")(function)


# ----------------------------------------------------------------------------- reading

class Loaded(NamedTuple):
    source: str
    bindings: dict
    graph: object


def load_graph(invocation: Invocation) -> Loaded:
    """Read, parse, check the words, bind, build: the preamble of every command that takes a formula.
    The common formula is parsed and built at once (graph.at_once); any other, and any error, goes
    through these steps in turn, so the error shown is the first of them to fail. A --vars file is
    read after the formula is parsed, as ever (it may be a pipe that a parse error must not wait for)."""
    source = invocation.source()
    bindings = failed = graph = None
    if invocation.vars_file is None:
        try:
            bindings = invocation.bindings()
        except CgraphError as error:
            failed = error   # raised once the formula is parsed and its words are checked
        else:
            graph = at_once(source, frozenset(bindings), invocation.data)
    if graph is None:
        program = parse(source)
        invocation.check_words(ast.names(program))
        if failed is not None:
            raise failed
        if bindings is None:
            bindings = invocation.bindings()
        graph = build(program, source, frozenset(bindings), invocation.data)
    else:
        invocation.check_words(graph.used())
    check_data(graph, bindings)
    return Loaded(source, bindings, graph)


def load_scalar(invocation: Invocation, exact: bool, what: str):
    """(graph, bindings) for the symbolic commands: scalar formulas only (exit 2 otherwise);
    with `exact` the bindings are Fractions read from their text."""
    from cgraph_cli.graph import require_scalar

    _, bindings, graph = load_graph(invocation)
    require_scalar(graph, bindings, what)
    if exact:
        bindings = invocation.exact_bindings(bindings)
    return graph, bindings


def resolve_wrt(graph, names, assigned: bool = True) -> list:
    """The --wrt names, once each in the order given; a name the formula lacks is a binding error
    listing the names it has (variables, and assigned names where `assigned`); a data name
    (--const) is a usage error: it has no gradient."""
    known = set(graph.variables) | (set(graph.assigned) if assigned else set())
    for name in names:
        if name not in known:
            what = "variable or assigned name" if assigned else "variable"
            raise BindingError(unknown_name(f"--wrt {name}", name, sorted(known), what))
    refuse_data(graph, names)
    return list(dict.fromkeys(names))


def parse_seed(text: str | None):
    return None if text is None else parse_value(text, "--seed")


# ----------------------------------------------------------------------------- writing

def warn(warnings) -> None:
    """Each warning of an evaluation as a `cgraph: warning: ...` line on stderr."""
    for warning in warnings:
        click.echo(f"cgraph: warning: {warning}", err=True)


def note(message: str) -> None:
    click.echo(f"cgraph: note: {message}", err=True)


def show_notes() -> None:
    """The run's notes (unused bindings), once, when its output is ready: never beside an error."""
    ctx = click.get_current_context(silent=True)
    invocation = ctx.find_object(Invocation) if ctx is not None else None
    if invocation is not None and not invocation.notes_shown:
        invocation.notes_shown = True
        for message in invocation.notes:
            note(message)


def emit(output) -> None:
    """Write a renderer's result (after the run's notes): text as is, a rich renderable through a Console."""
    show_notes()
    if isinstance(output, str):
        click.echo(output, nl=False)
        return
    from rich.console import Console

    console = Console(file=sys.stdout)
    console.on_broken_pipe = _raise_broken_pipe   # rich would exit 1, our code for a failed check
    console.print(output)


def _raise_broken_pipe():
    raise BrokenPipeError(32, "Broken pipe")


# ----------------------------------------------------------------------------- eval and grad

def evaluate_formula(invocation: Invocation, seed: str | None, exact: str | None, expectations: list,
                     tolerance, tangents=None):
    """(evaluation, checks): read, bind, parse, build, evaluate (floats, or rationals with --exact),
    then compare the --expect numbers (a name the program lacks is an error before any output).
    `tangents` (eval --tangent): (graph, bindings) -> {name: tangent}, computed in the forward sweep."""
    _, bindings, graph = load_graph(invocation)
    seed = parse_seed(seed)
    tangents = tangents(graph, bindings) if tangents is not None else None
    if exact:
        from cgraph_cli import exact as exact_arithmetic

        if seed is not None:
            raise UsageError("--seed is for tensor outputs; --exact is for scalar formulas")
        exact_values = invocation.exact_bindings(bindings)
        evaluation = exact_arithmetic.evaluate(graph, exact_values, auto=exact == "auto", tangents=tangents)
    else:
        evaluation = evaluate(graph, bindings, seed=seed, tangents=tangents)
    checks = check_expectations(evaluation, expectations, tolerance)
    warn(evaluation.warnings)
    evaluation.warnings.extend(invocation.notes)   # JSON lists the notes printed by check_words
    return evaluation, checks


def require_expectations(checks: list, tolerance) -> None:
    """After the command's output: exit 1 (CheckFailed) when an --expect differs."""
    if not all(check.passed for check in checks):
        raise CheckFailed(failure_message(checks, tolerance))


def note_seed(evaluation, seed: str | None) -> None:
    """Plain lines have no room to say it: a tensor output's gradients are of its sum (stderr)."""
    if evaluation.seed is not None and seed is None:
        shape = getattr(evaluation.value, "shape", ())
        note(f"the output has shape {shape}, not a scalar: the gradients are those "
             "of sum(output) (reverse mode started from ones; --seed gives another)")
