"""`cgraph hessian` and `eval --order 2`: second derivatives by differentiating the derivative graph.

Each first derivative d(output)/dx_i is built symbolically (symbolic.py), printed, parsed back
by cgraph into a graph of its own, and that graph is evaluated and differentiated at the
point by the ordinary engine: its gradient is row i of the Hessian. So the Hessian obeys the
same conventions as every gradient (sign' = 0, hence relu'' = 0; kinks as in the core), and
with --exact it is computed with rationals like any other evaluation.
"""

import click

from cgraph_cli.cli import BINDINGS_HELP, CONTEXT, BindingCommand, emit, input_options
from cgraph_cli.errors import EvalError, UsageError

FORMATS = ("table", "json", "plain")


def hessian_rows(graph, bindings: dict, names: list, exact: str | None = None, what: str = "hessian"):
    """(rows, warnings): rows[i][j] = d2(output)/d(names[i]) d(names[j]) at the bindings.
    `exact`: None (float64), "strict" or "auto" (rationals, as --exact / --exact-auto)."""
    from cgraph_cli.formula import Printer
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build
    from cgraph_cli.symbolic import Algebra, gradients, require_scalar

    require_scalar(graph, bindings, what)
    algebra = Algebra()
    _, grads = gradients(graph, algebra)
    variables = frozenset(graph.variables)
    rows, warnings = [], []
    for name in names:
        text = Printer(grads[graph.variables[name]], avoid=variables).program()
        derivative = build(parse(text), text, variables)
        try:
            evaluation = _evaluate(derivative, bindings, exact)
        except EvalError as error:
            raise EvalError(f"the first derivative d/d{name} = {_short(text)} cannot be evaluated "
                            f"at this point: {error.message}") from None
        warnings += [f"in d/d{name}: {warning}" for warning in evaluation.warnings]
        gradients_here = evaluation.gradients()
        rows.append([gradients_here[other] for other in names])
    return rows, warnings


def _evaluate(graph, bindings: dict, exact: str | None):
    if exact:
        from cgraph_cli import exact as exact_arithmetic

        return exact_arithmetic.evaluate(graph, bindings, auto=exact == "auto")
    from cgraph_cli.engine import evaluate
    from cgraph_cli.ops import OPS

    return evaluate(graph, bindings, ops=OPS)


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[:width // 2] + "…" + text[-width // 2:]


# ----- output -----

def document(names: list, rows: list, precision=None) -> dict:
    """{"x": {"x": d2f/dx2, "y": d2f/dxdy}, ...}: JSON numbers (exact ones as in eval --exact)."""
    from cgraph_cli.render.numbers import json_number

    return {a: {b: json_number(rows[i][j], precision) for j, b in enumerate(names)}
            for i, a in enumerate(names)}


def plain_lines(names: list, rows: list, precision=None) -> list:
    from cgraph_cli.render.numbers import machine

    return [f"{a} {b} {machine(rows[i][j], precision)}" for i, a in enumerate(names)
            for j, b in enumerate(names)]


def rich_table(names: list, rows: list, precision=None, title: str | None = "Hessian"):
    from rich.table import Table

    from cgraph_cli.render.numbers import human

    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("", style="bold cyan")
    for name in names:
        table.add_column(name, justify="right")
    for name, row in zip(names, rows):
        table.add_row(name, *(human(value, precision) for value in row))
    return table


def render_eval(evaluation, output_format: str, options, exact: str | None):
    """eval's output with the Hessian of every variable added: a "hessian" object in JSON,
    `NAME NAME VALUE` lines in plain, a table below the tree or table."""
    from cgraph_cli.diff import too_large_is_an_evaluation_error
    from cgraph_cli.render import RENDERERS

    graph = evaluation.graph
    names = sorted(graph.variables)
    bindings = {name: evaluation.values[graph.variables[name]] for name in names}
    with too_large_is_an_evaluation_error():
        rows, warnings = hessian_rows(graph, bindings, names, exact, "--order 2")
    for warning in warnings:
        click.echo(f"cgraph: warning: {warning}", err=True)
    if output_format == "json":
        import json

        from cgraph_cli.render.json import document as eval_document

        body = eval_document(evaluation, options)
        body["hessian"] = document(names, rows, options.precision)
        return json.dumps(body, allow_nan=False) + "\n"
    if output_format == "plain":
        return RENDERERS["plain"](evaluation, options) + "".join(
            f"hessian {line}\n" for line in plain_lines(names, rows, options.precision))
    from rich.console import Group
    from rich.text import Text

    return Group(RENDERERS[output_format](evaluation, options),
                 Text("Hessian: second derivatives of the output", style="bold"),
                 rich_table(names, rows, options.precision, title=None))


@click.command("hessian", cls=BindingCommand, context_settings=CONTEXT, epilog=BINDINGS_HELP)
@input_options
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Only these variables (repeatable; default: every variable).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
              show_default=True, help="table for people; json and plain for scripts.")
@click.option("--precision", type=click.IntRange(1, 17), metavar="N",
              help="Significant digits (default: 12 in the table, round-trip in json/plain).")
@click.option("--exact", is_flag=True, help="Compute with exact rationals; an irrational operation "
                                           "is an error (exit 3).")
@click.option("--exact-auto", is_flag=True,
              help="Exact rationals, computing irrational operations in float64 (and saying where).")
@click.pass_context
def hessian_command(ctx, file, var_words, vars_file, debug, wrt, output_format, precision, exact,
                    exact_auto):
    """Print the Hessian: the second derivatives of the output at a point.

    Computed by differentiating the symbolic derivative graph (see `cgraph diff`) at the
    point, so d2f/dxdy is exact up to float64 rounding, not a finite difference.

    \b
    Examples:
      cgraph hessian "x^3*y^2" --x 1 --y 2
      cgraph hessian "(x+y)^2" --x 1/3 --y 1 --exact --format json
    """
    from cgraph_cli.diff import load_scalar, node_for, too_large_is_an_evaluation_error

    mode = "auto" if exact_auto else ("strict" if exact else None)
    graph, bindings = load_scalar(ctx, file, var_words, vars_file, bool(mode), "hessian")
    names = list(dict.fromkeys(wrt)) or sorted(graph.variables)
    for name in names:
        if name not in graph.variables:
            node_for(graph, name)   # an unknown name: the error lists the known ones
            raise UsageError(f"--wrt {name}: the Hessian is with respect to variables; "
                                   f"{name} is an assigned name")
    with too_large_is_an_evaluation_error():
        rows, warnings = hessian_rows(graph, bindings, names, mode)
    for warning in warnings:
        click.echo(f"cgraph: warning: {warning}", err=True)
    if output_format == "json":
        import json

        body = {"variables": names, "hessian": document(names, rows, precision)}
        emit(json.dumps(body, allow_nan=False) + "\n")
    elif output_format == "plain":
        emit("".join(line + "\n" for line in plain_lines(names, rows, precision)))
    else:
        from rich.console import Group
        from rich.text import Text

        from cgraph_cli.render.numbers import human

        point = ", ".join(f"{name} = {human(bindings[name], precision)}" for name in sorted(bindings))
        emit(Group(Text(f"Hessian of {_short(graph.source.strip(), 60)} at {point}", style="bold"),
                   rich_table(names, rows, precision, title=None)))
