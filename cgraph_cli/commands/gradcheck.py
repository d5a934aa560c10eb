"""`cgraph gradcheck EXPR`: reverse-mode gradients against central finite differences (gradcheck.py)."""

import click

from cgraph_cli.commands.support import (FiniteFloat, binding_command, const_option, emit, format_option,
                                         input_options,
                                         load_graph, note, precision_option)
from cgraph_cli.engine import evaluate
from cgraph_cli.errors import BindingError, CheckFailed, ExitStatus, UsageError
from cgraph_cli.grammar import parse
from cgraph_cli.expect import Tolerance
from cgraph_cli.gradcheck import (DEFAULT_ATOL, DEFAULT_EPS, DEFAULT_RTOL, DEFAULT_SAMPLES, DEFAULT_SEED,
                                  check_formulas, compare_forms, gradcheck, parse_formulas)
from cgraph_cli.graph import build
from cgraph_cli.render.gradcheck import RENDERERS
from cgraph_cli.text import unknown_name


@binding_command("gradcheck")
@input_options
@const_option
@click.option("--eps", type=FiniteFloat(min=0, min_open=True), default=DEFAULT_EPS,
              show_default=True, help="The probe step of the central difference.")
@click.option("--atol", type=FiniteFloat(min=0), default=DEFAULT_ATOL, show_default=True,
              help="Absolute tolerance.")
@click.option("--rtol", type=FiniteFloat(min=0), default=DEFAULT_RTOL, show_default=True,
              help="Relative tolerance: fail where |a-b| > atol + rtol*max(|a|,|b|).")
@click.option("--against", metavar="EXPR",
              help="Also compare the value and reverse-mode gradients with another form of the "
                   "formula (a hand-expanded one against its compact form).")
@click.option("--grad", "grad_formulas", metavar="NAME=FORMULA", multiple=True,
              help="A hand-derived d(output)/d(NAME) to compare with reverse mode at the bound point and "
                   "at --samples points near it (repeat for each variable).")
@click.option("--samples", type=click.IntRange(0, 10_000), default=DEFAULT_SAMPLES, show_default=True,
              help="Nearby points at which each --grad formula is also compared.")
@click.option("--random-seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="The seed of the nearby points (the same seed, the same points).")
@format_option(RENDERERS, "table")
@precision_option("Significant digits (default: 10 in the table, round-trip in plain).")
def command(invocation, eps, atol, rtol, against, grad_formulas, samples, random_seed, output_format, precision):
    """Check reverse-mode gradients against central finite differences, per variable.

    Prints each variable's gradient both ways and the relative error |a-b|/max(|a|,|b|); exits 1
    where |a-b| > atol + rtol*max(|a|,|b|). A probe that crosses a kink (relu, abs, max, min) or
    leaves the domain makes that variable inconclusive: a note on stderr, exit 0.

    \b
    Examples:
      cgraph gradcheck "sigmoid(x*y + sin(x)) * (x^2 + y)" --x 0.5 --y -1.2
      cgraph gradcheck "relu(x) + abs(y)" --x 0 --y 2          # x: inconclusive (a kink)
      cgraph gradcheck "1/(1+exp(-x))" --x 1 --against "sigmoid(x)"
      cgraph gradcheck "(x+y)^2" --x 1 --y 3 --grad x="2*(x+y)" --grad y="2*(x+y)"

    \b
    A --grad formula is compared at the bound point and at --samples nearby points: each
    variable x moves by u*0.1*max(1,|x|), u uniform in [-1, 1] from --random-seed; the first
    point where it differs is printed.
    """
    _, values, graph = load_graph(invocation)
    if not graph.differentiable():
        raise BindingError("the formula has no variables to check: bind one, e.g. --x 1"
                           + (" (--const marks data, which has no gradient)" if graph.data else ""))
    formulas = parse_formulas(_formula_texts(grad_formulas, graph), values, invocation.data,
                              lambda name: f"--grad {name}")
    evaluation, rows = gradcheck(graph, values, eps, atol, rtol)
    formula_rows = check_formulas(graph, values, formulas, Tolerance(rtol, atol), samples, random_seed)
    other_rows = []
    if against is not None:
        other = evaluate(build(parse(against), against, frozenset(values), invocation.data), values)
        other_rows = compare_forms(evaluation, other, atol, rtol)
    options = {"eps": eps, "atol": atol, "rtol": rtol, "against": against, "precision": precision,
               "formulas": formula_rows, "samples": samples, "random_seed": random_seed}
    emit(RENDERERS[output_format](evaluation, rows, other_rows, options))
    everything = rows + other_rows + formula_rows
    failed = [row.variable for row in rows + other_rows if row.status == "fail"]
    failed += [f"formula {row.variable}" for row in formula_rows if row.status == "fail"]
    unsure = [row for row in rows if row.status == "inconclusive"]
    if unsure and not failed:
        noun = "variable" if len(unsure) == 1 else "variables"
        note(f"{len(unsure)} {noun} inconclusive, not failed: "
             + "; ".join(f"{row.variable}: {row.note}" for row in unsure))
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(everything)} gradients differ: "
                          + ", ".join(failed))
    return ExitStatus.SUCCESS


def _formula_texts(words, graph) -> dict:
    """--grad NAME=FORMULA words -> {NAME: FORMULA}, each NAME a variable with a gradient, once."""
    formulas = {}
    for word in words:
        name, equals, text = word.partition("=")
        name = name.strip()
        if not equals or not name:
            raise UsageError(f"--grad {word}: write NAME=FORMULA, e.g. --grad x=\"2*(x+y)\"")
        if name in graph.data:
            raise UsageError(f"--grad {name}: {name} is data (--const {name}): it has no gradient to compare")
        if name not in graph.variables:
            raise BindingError(unknown_name(f"--grad {name}", name, graph.differentiable()))
        if name in formulas:
            raise UsageError(f"--grad {name} is given twice")
        formulas[name] = text
    return formulas
