"""`cgraph jacobian`: the Jacobian of the output with respect to each chosen variable (jacobian.py),
by reverse or forward mode, whichever needs fewer passes."""

import difflib

import click

from cgraph_cli.commands.support import (binding_command, const_option, emit, exact_options, format_option,
                                         input_options, load_graph, precision_option, warn, wrt_option)
from cgraph_cli.errors import BindingError, UsageError
from cgraph_cli.graph import refuse_data
from cgraph_cli.jacobians import MODES, jacobian
from cgraph_cli.render.jacobian import RENDERERS, Options, refuse_csv
from cgraph_cli.text import names_list


@binding_command("jacobian")
@input_options
@const_option
@wrt_option("Only these variables (repeatable; default: every bound variable not marked --const).")
@format_option(RENDERERS, "table", "table for people; json, plain and csv (a vector output and vector "
                                   "variables: one row per output element) for scripts.")
@precision_option("Significant digits (default: 12 in the table, round-trip in json/plain/csv).")
@click.option("--full", is_flag=True, help="Print every element (table); by default a Jacobian of more "
                                           "than 6 rows or columns shows its first and last 3.")
@click.option("--mode", "mode", type=click.Choice(MODES), default="auto", show_default=True,
              help="reverse: one backward pass per output element; forward: one tangent pass per "
                   "element of the variables; auto: whichever needs fewer passes (a tie: reverse).")
@exact_options("Compute with exact rationals (scalar formulas: the Jacobian is the gradient); an "
               "irrational operation is an error (exit 3).",
               "Exact rationals, computing irrational operations in float64 (and saying where).")
def command(invocation, wrt, output_format, precision, full, mode, exact):
    """Print the Jacobian of the output with respect to each chosen variable.

    For a variable x it is the array of shape output.shape + x.shape whose element [i, j] is
    d value[i] / d x[j]. It is computed by reverse mode (one backward pass per output element)
    or forward mode (one tangent pass per element of the chosen variables together), whichever
    needs fewer passes; the output says which, and how many. For a scalar output it is the
    gradient.

    \b
    Examples:
      cgraph jacobian "softmax(a)" --a "[1, 2, 3]"
      cgraph jacobian "tanh(W @ x)" --W @W.npy --x "[1, 2]" --wrt x --format json
      cgraph jacobian "W @ x" --W "[[1, 2], [3, 4]]" --x "[5, 6]" --wrt x --format csv
    """
    _, bindings, graph = load_graph(invocation)
    names = chosen_variables(graph, wrt)
    if exact:
        bindings = invocation.exact_bindings(bindings)
    result = jacobian(graph, bindings, names, mode, exact, refuse_csv if output_format == "csv" else None)
    warn(result.warnings)
    emit(RENDERERS[output_format](graph, result, Options(precision, full)))


def chosen_variables(graph, wrt) -> list:
    """The --wrt names once each in the order given (default: every variable that carries a
    gradient, sorted); an unknown name, an assigned name or a data name is exit 2, one line."""
    if not wrt:
        names = graph.differentiable()
        if not names:
            data = f" ({', '.join('--const ' + d for d in sorted(graph.data))} marks data)" if graph.data else ""
            raise UsageError("the formula has no variable to differentiate with respect to: bind one, "
                             f"e.g. --x 1{data}")
        return names
    for name in wrt:
        if name in graph.variables:
            continue
        if name in graph.assigned:
            raise UsageError(f"--wrt {name}: the Jacobian is with respect to variables; {name} is an "
                             "assigned name")
        known = sorted(graph.variables)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise BindingError(f"--wrt {name}: no variable {name} in the formula (it has: {names_list(known)}){hint}")
    refuse_data(graph, wrt)
    return list(dict.fromkeys(wrt))
