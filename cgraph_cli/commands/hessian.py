"""`cgraph hessian`: the second derivatives of the output at a point (derivatives.hessian_rows)."""

from cgraph_cli.commands.support import (binding_command, const_option, emit, exact_options, format_option,
                                         input_options, load_scalar, precision_option, resolve_wrt,
                                         warn, wrt_option)
from cgraph_cli.derivatives import hessian_rows, too_large_is_an_evaluation_error
from cgraph_cli.errors import UsageError
from cgraph_cli.graph import refuse_data
from cgraph_cli.render.hessian import RENDERERS


@binding_command("hessian")
@input_options
@const_option
@wrt_option("Only these variables (repeatable; default: every variable).")
@format_option(RENDERERS, "table", "table for people; json and plain for scripts.")
@precision_option("Significant digits (default: 12 in the table, round-trip in json/plain).")
@exact_options("Compute with exact rationals; an irrational operation is an error (exit 3).",
               "Exact rationals, computing irrational operations in float64 (and saying where).")
def command(invocation, wrt, output_format, precision, exact):
    """Print the Hessian: the second derivatives of the output at a point.

    Computed by differentiating the symbolic derivative graph (see `cgraph diff`) at the
    point, so d2f/dxdy is exact up to float64 rounding, not a finite difference.

    \b
    Examples:
      cgraph hessian "x^3*y^2" --x 1 --y 2
      cgraph hessian "(x+y)^2" --x 1/3 --y 1 --exact --format json
    """
    graph, bindings = load_scalar(invocation, bool(exact), "hessian")
    refuse_data(graph, wrt)
    names = list(dict.fromkeys(wrt)) or graph.differentiable()
    for name in names:
        if name not in graph.variables:
            resolve_wrt(graph, [name])   # an unknown name: the error lists the known ones
            raise UsageError(f"--wrt {name}: the Hessian is with respect to variables; "
                             f"{name} is an assigned name")
    with too_large_is_an_evaluation_error():
        rows, warnings = hessian_rows(graph, bindings, names, exact)
    warn(warnings)
    emit(RENDERERS[output_format](graph, bindings, names, rows, precision))
