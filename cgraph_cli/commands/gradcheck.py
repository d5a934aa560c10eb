"""`cgraph gradcheck EXPR`: reverse-mode gradients against central finite differences (gradcheck.py)."""

import click

from cgraph_cli.commands.support import (FiniteFloat, binding_command, const_option, emit, format_option,
                                         input_options,
                                         load_graph, note, precision_option)
from cgraph_cli.engine import evaluate
from cgraph_cli.errors import BindingError, CheckFailed, ExitStatus
from cgraph_cli.grammar import parse
from cgraph_cli.gradcheck import DEFAULT_ATOL, DEFAULT_EPS, DEFAULT_RTOL, compare_forms, gradcheck
from cgraph_cli.graph import build
from cgraph_cli.render.gradcheck import RENDERERS


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
@format_option(RENDERERS, "table")
@precision_option("Significant digits (default: 10 in the table, round-trip in plain).")
def command(invocation, eps, atol, rtol, against, output_format, precision):
    """Check reverse-mode gradients against central finite differences, per variable.

    Prints each variable's gradient both ways and the relative error |a-b|/max(|a|,|b|); exits 1
    where |a-b| > atol + rtol*max(|a|,|b|). A probe that crosses a kink (relu, abs, max, min) or
    leaves the domain makes that variable inconclusive: a note on stderr, exit 0.

    \b
    Examples:
      cgraph gradcheck "sigmoid(x*y + sin(x)) * (x^2 + y)" --x 0.5 --y -1.2
      cgraph gradcheck "relu(x) + abs(y)" --x 0 --y 2          # x: inconclusive (a kink)
      cgraph gradcheck "1/(1+exp(-x))" --x 1 --against "sigmoid(x)"
    """
    _, values, graph = load_graph(invocation)
    if not graph.differentiable():
        raise BindingError("the formula has no variables to check: bind one, e.g. --x 1"
                           + (" (--const marks data, which has no gradient)" if graph.data else ""))
    evaluation, rows = gradcheck(graph, values, eps, atol, rtol)
    other_rows = []
    if against is not None:
        other = evaluate(build(parse(against), against, frozenset(values), invocation.data), values)
        other_rows = compare_forms(evaluation, other, atol, rtol)
    options = {"eps": eps, "atol": atol, "rtol": rtol, "against": against, "precision": precision}
    emit(RENDERERS[output_format](evaluation, rows, other_rows, options))
    everything = rows + other_rows
    failed = [row for row in everything if row.status == "fail"]
    unsure = [row for row in rows if row.status == "inconclusive"]
    if unsure and not failed:
        noun = "variable" if len(unsure) == 1 else "variables"
        note(f"{len(unsure)} {noun} inconclusive, not failed: "
             + "; ".join(f"{row.variable}: {row.note}" for row in unsure))
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(everything)} gradients differ: "
                          + ", ".join(row.variable for row in failed))
    return ExitStatus.SUCCESS
