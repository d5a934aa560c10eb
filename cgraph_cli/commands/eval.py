"""`cgraph eval`: the forward value of every node and the gradient of the output; in bulk with
--each-line / --points (eval_batch.py), the backward pass step by step with --steps, and the
Hessian added with --order 2."""

import functools
import sys
from typing import NamedTuple

import click
from click.core import ParameterSource

from cgraph_cli.commands.support import (FILE, binding_command, const_option, emit, evaluate_formula,
                                         exact_options,
                                         expect_options, format_option, input_options, note_seed,
                                         order_option, precision_option, require_expectations,
                                         seed_option, warn)
from cgraph_cli.errors import BindingError, UsageError
from cgraph_cli.render.eval import RENDERERS, Options

MODES = ("jsonl", "csv")   # eval's --format choices that are not renderers of one evaluation


class Bulk(NamedTuple):
    each_line: bool
    points: str | None
    out: str | None

    def asked(self, output_format: str) -> bool:
        return bool(self.each_line or self.points or self.out or output_format in MODES)


def bulk_options(function):
    """--each-line, --points DATA.csv, --out FILE: passed to eval as one `bulk` (Bulk)."""
    @functools.wraps(function)
    def command(*args, each_line, points, out, **kwargs):
        return function(*args, bulk=Bulk(each_line, points, out), **kwargs)

    for decorator in reversed([
        click.option("--each-line", is_flag=True,
                     help="Each non-blank, non-comment line is its own expression; with --format jsonl "
                          "(the default here) or plain. Exits with the highest code met."),
        click.option("--points", metavar="DATA.csv", type=FILE,
                     help="Evaluate at every row of a CSV whose header names variables (vectorized); "
                          "prints CSV: the input columns, value, d_NAME per variable."),
        click.option("--out", metavar="FILE", type=FILE, help="With --points: write the CSV to FILE."),
    ]):
        command = decorator(command)
    return command


@binding_command("eval")
@input_options
@const_option
@format_option(list(RENDERERS) + list(MODES), "tree",
               "tree and table for people; json and plain for scripts; jsonl with --each-line, "
               "csv with --points.")
@precision_option("Significant digits (default: 12 in tree/table, round-trip in json/plain).")
@click.option("--all", "show_all", is_flag=True, help="Print every node of a large graph.")
@click.option("--full", is_flag=True, help="Print every element of a tensor (tree and table).")
@seed_option
@click.option("--steps", is_flag=True,
              help="Show the evaluation trace (one statement per node: q = x + y), then the backward "
                   "pass step by step: each local derivative as a formula of the trace's names and its "
                   "value (df/dq = z = -4), upstream x local, and the running total where a value fans out.")
@order_option
@exact_options("Compute with exact rationals (2.2 is 11/5; bindings such as 1/3 are exact); "
               "an irrational operation (exp, sqrt(2), pi) is an error, exit 3.",
               "Like --exact, but compute irrational operations in float64 and say where.")
@click.option("--tangent", "tangent_words", multiple=True, metavar="NAME=VALUE",
              help="Forward mode: give variable NAME the tangent VALUE (a number, or a tensor of its shape; "
                   "repeatable, the others get 0); every node then shows its tangent, the derivative of "
                   "its value along that direction.")
@expect_options
@bulk_options
def command(invocation, output_format, precision, show_all, full, seed, steps, order, exact, expect, bulk,
            tangent_words):
    """Evaluate a formula: the forward value of every node and the gradient of the output.

    \b
    Examples:
      cgraph eval "(x+y)^2" --x 1 --y 3
      cgraph eval "price*count*tax" --price 100 --count 2 --tax 1.1 --format table
      echo "x*y" | cgraph eval --x 2 --y 3 --format json
      cgraph eval -f prog.cg --vars point.json --format plain
      cgraph eval "(x+y)*z" --x 1 --y 3 --z -3 --steps
      cgraph eval "(x+y)*z" --x 1 --y 3 --z -3 --tangent x=1 --tangent z=0.5
    """
    if exact and (bulk.each_line or bulk.points):
        raise UsageError("--exact evaluates one expression at one point: not with --each-line or --points")
    expectations = expect.read()
    if tangent_words and (bulk.each_line or bulk.points or output_format in MODES or order > 1):
        given = ("--each-line" if bulk.each_line else "--points" if bulk.points else
                 f"--format {output_format}" if output_format in MODES else "--order 2")
        raise UsageError(f"--tangent evaluates one expression at one point with its first derivatives: "
                         f"not with {given}")
    if bulk.asked(output_format):
        from cgraph_cli.commands import eval_batch   # only for a bulk run: its code and NumPy's CSV reading

        explicit = click.get_current_context().get_parameter_source("output_format") != ParameterSource.DEFAULT
        refused = eval_batch.Refused(bool(expectations), steps, show_all, full, seed is not None, order != 1)
        return eval_batch.run(invocation, bulk, output_format, explicit, precision, refused)
    tangents = None if not tangent_words else functools.partial(read_tangents, words=tangent_words, exact=exact)
    evaluation, checks = evaluate_formula(invocation, seed, exact, expectations, expect.tolerance, tangents)
    options = Options(precision, show_all, full, hints=output_format == "tree" and sys.stdout.isatty())
    if order > 1:
        if steps:
            raise UsageError("--order 2 and --steps do not go together: use one at a time")
        emit(with_hessian(evaluation, output_format, options, exact))
    elif steps:
        from cgraph_cli.render import steps as steps_renderer

        emit(steps_renderer.render(evaluation, options, output_format))
    else:
        if output_format == "plain":
            note_seed(evaluation, seed)
        emit(RENDERERS[output_format](evaluation, options))
    require_expectations(checks, expect.tolerance)


def with_hessian(evaluation, output_format: str, options, exact):
    """eval --order 2: the output with the Hessian of every variable added (its warnings on stderr)."""
    from cgraph_cli.derivatives import hessian_of_evaluation
    from cgraph_cli.render.hessian import with_eval

    names, rows, warnings = hessian_of_evaluation(evaluation, exact)
    warn(warnings)
    return with_eval(evaluation, output_format, options, names, rows)


def read_tangents(graph, bindings, words, exact) -> dict:
    """--tangent NAME=VALUE words -> {name: tangent}: a variable of the formula (not data), once, a
    number or a tensor of the variable's shape (binding errors, exit 2, otherwise)."""
    from cgraph_cli.bindings import parse_exact_binding, parse_value
    from cgraph_cli.engine import check_tangent
    from cgraph_cli.text import printable

    seeds = {}
    for word in words:
        name, equals, text = word.partition("=")
        name = name.strip()
        if not equals or not name or not text.strip():
            raise BindingError(f"--tangent {printable(word)}: expected NAME=VALUE, e.g. --tangent x=1")
        source = f"--tangent {printable(name)}"
        if name not in graph.variables or name in graph.data or name in seeds:
            check_tangent(graph, bindings, printable(name), None, source, seeds, f"--const {name}")
        value = parse_exact_binding(text, source) if exact else parse_value(text, source)
        check_tangent(graph, bindings, name, value, source, seeds, f"--const {name}")
        seeds[name] = value
    return seeds
