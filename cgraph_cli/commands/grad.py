"""`cgraph grad`: the gradient of the output, one `NAME VALUE` line per variable (or one bare number)."""

import sys

from cgraph_cli.commands.support import (binding_command, const_option, emit, evaluate_formula, exact_options,
                                         expect_options, input_options, note_seed, precision_option,
                                         require_expectations, resolve_wrt, seed_option, wrt_option)
from cgraph_cli.text import elements, machine

TERMINAL_DIGITS = 12   # a person at a terminal reads 110, not 110.00000000000001; pipes get round-trip text


@binding_command("grad")
@input_options
@const_option
@wrt_option("Only this variable (repeatable); with one --wrt the bare number is printed.")
@precision_option("Significant digits (default: 12 on a terminal; piped or redirected, the shortest "
                  "round-trip text).")
@seed_option
@exact_options("Compute with exact rationals (2.2 is 11/5; bindings such as 1/3 are exact); "
               "an irrational operation (exp, sqrt(2), pi) is an error, exit 3.",
               "Like --exact, but compute irrational operations in float64 and say where.")
@expect_options
def command(invocation, wrt, precision, seed, exact, expect):
    """Print the gradient of the output: one `NAME VALUE` line per variable.

    \b
    Examples:
      cgraph grad "(x+y)^2" --x 1 --y 3
      g=$(cgraph grad "x*y" --x 2 --y 3 --wrt x)     # g=3
    """
    expectations = expect.read()
    evaluation, checks = evaluate_formula(invocation, seed, exact, expectations, expect.tolerance)
    note_seed(evaluation, seed)
    if precision is None and sys.stdout.isatty():
        precision = TERMINAL_DIGITS
    emit(gradient_lines(evaluation, wrt, precision))
    require_expectations(checks, expect.tolerance)


def gradient_lines(evaluation, wrt, precision) -> str:
    """Every variable's `NAME VALUE` line; with --wrt those names' (an assigned name's too), and with
    one --wrt of a scalar the bare number."""
    graph = evaluation.graph
    gradients = evaluation.gradients()
    if not wrt:
        return "".join(f"{label} {machine(v, precision)}\n"
                       for name, g in gradients.items() for label, v in elements(name, g))
    resolve_wrt(graph, wrt)
    lines = []
    for name in wrt:
        if name in gradients:
            g = gradients[name]
        else:
            g = evaluation.grads[graph.assigned[name]]
            g = 0.0 if g is None else g
        if getattr(g, "ndim", 0):   # a tensor: one `W[i,j] V` line per element
            lines += [f"{label} {machine(v, precision)}" for label, v in elements(name, g)]
        else:
            lines.append(machine(g, precision) if len(wrt) == 1 else f"{name} {machine(g, precision)}")
    return "\n".join(lines) + "\n"
