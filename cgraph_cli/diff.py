"""`cgraph diff`: the derivative as a formula, built by reverse mode over expressions.

The graph's op table run with symbolic values (symbolic.py) gives d(output)/d(node) for every
node as an expression DAG, simplified as it is built; formula.py prints it in cgraph's own
syntax (shared subexpressions once, as assignments) or LaTeX. A higher order differentiates
the printed derivative again: the text is parsed back with cgraph, so every second derivative
also checks that the first one round-trips.

Bindings substitute numbers for variables after differentiating: `diff "x*y" --y 3 --wrt x`
prints 3, and with every variable bound the derivative's value at that point. Numbers are
always kept exact (`x/3` differentiates to 1/3); functions of numbers stay as formulas
(exp(1)), which are exact too. With --exact, bindings are read exactly (`--x 1/3`) and numbers
print as fractions (11/5 rather than 2.2), as eval --exact prints them.
"""

import contextlib
from fractions import Fraction

import click

from cgraph_cli.cli import BINDINGS_HELP, CONTEXT, BindingCommand, emit, input_options, read_source
from cgraph_cli.errors import BindingError, EvalError, UsageError

MAX_ORDER = 8


@contextlib.contextmanager
def too_large_is_an_evaluation_error():
    """Constant folding refuses numbers beyond rational.MAX_DIGITS digits: exit 3, as eval --exact."""
    from cgraph_cli.rational import MAX_DIGITS, TooLarge

    try:
        yield
    except TooLarge:
        raise EvalError(f"a number in the derivative would have more than {MAX_DIGITS:,} digits, "
                        "too large to be useful") from None


def load_scalar(ctx, file, var_words, vars_file, exact: bool, what: str):
    """(graph, bindings) for the symbolic commands: scalar formulas only (exit 2 otherwise);
    with `exact` the bindings are Fractions read from their text."""
    from cgraph_cli.bindings import collect
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build
    from cgraph_cli.symbolic import require_scalar

    source = read_source(ctx.meta["cgraph.positional"], file)
    values = collect(ctx.meta["cgraph.bindings"], var_words, vars_file)
    graph = build(parse(source), source, frozenset(values))
    require_scalar(graph, values, what)
    if exact:
        from cgraph_cli.exact import exact_bindings

        values = exact_bindings(ctx.meta["cgraph.bindings"], var_words, vars_file, values)
    return graph, values


def differentiate_again(expression, name: str, variables, algebra):
    """d(expression)/d(name): the expression printed, parsed back by cgraph, differentiated."""
    from cgraph_cli.formula import Printer
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build
    from cgraph_cli.symbolic import gradients

    text = Printer(expression, avoid=variables).program()
    graph = build(parse(text), text, frozenset(variables))
    _, grads = gradients(graph, algebra)
    return grads[graph.variables[name]]


def node_for(graph, name: str) -> int:
    """The node `--wrt NAME` means: the variable, else the last assignment of that name."""
    if name in graph.variables:
        return graph.variables[name]
    if name in graph.assigned:
        return graph.assigned[name]
    known = ", ".join(sorted(set(graph.variables) | set(graph.assigned))) or "none"
    raise BindingError(f"--wrt {name}: the expression has no variable or assigned name {name} "
                       f"(it has: {known})")


def derivatives(graph, names: list, order: int, algebra) -> list:
    """[(name, expression)]: the order-th derivative of the output with respect to each name."""
    from cgraph_cli.symbolic import gradients

    _, grads = gradients(graph, algebra)
    results = []
    for name in names:
        node_id = node_for(graph, name)
        expression = grads[node_id] if grads[node_id] is not None else algebra.zero
        if order > 1 and name not in graph.variables:
            raise UsageError(f"--order {order} differentiates with respect to variables; "
                             f"{name} is an assigned name")
        for _ in range(order - 1):
            expression = differentiate_again(expression, name, graph.variables, algebra)
        results.append((name, expression))
    return results


def substitute(results: list, bindings: dict, algebra) -> list:
    """Bound variables replaced by their numbers, and the formulas simplified again."""
    if not bindings:
        return results
    replacements = {algebra.variable(name): algebra.constant(_as_fraction(value))
                    for name, value in bindings.items()}
    rebuilt = algebra.rebuild([expression for _, expression in results], replacements)
    return [(name, expression) for (name, _), expression in zip(results, rebuilt)]


def _as_fraction(value) -> Fraction:
    """A float binding as the decimal it was written as (0.1 is 1/10, not 0.1000000000000000055...)."""
    return value if isinstance(value, Fraction) else Fraction(repr(float(value)))


def render(graph, results: list, order: int, bare: bool, inline: bool, latex: bool, exact: bool) -> str:
    from cgraph_cli.formula import LatexPrinter, Printer, latex_name

    avoid = set(graph.variables) | set(graph.assigned)
    lines = []
    for name, expression in results:
        if latex:
            printer = LatexPrinter(expression, avoid=avoid, inline=inline, exact=exact)
            output = graph.names[graph.output]
            top = latex_name(output) if output else "f"
            power = "" if order == 1 else f"^{{{order}}}"
            lhs = rf"\frac{{\partial{power} {top}}}{{\partial {latex_name(name)}{power}}}"
            assignments = printer.assignments()
            formula = printer.text(expression)
            if assignments:
                rows = [f"{latex_name(temp)} &= {text}" for temp, text in assignments] + [f"{lhs} &= {formula}"]
                lines.append("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}")
            else:
                lines.append(f"{lhs} = {formula}")
            continue
        program = Printer(expression, avoid=avoid, inline=inline, exact=exact).program()
        if bare:
            lines.append(program)
        else:
            lhs = f"d/d{name}" if order == 1 else f"d{order}/d{name}{order}"
            lines.append(f"{lhs} = {program}")
    return "\n".join(lines) + "\n"


@click.command("diff", cls=BindingCommand, context_settings=CONTEXT, epilog=BINDINGS_HELP)
@input_options
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Differentiate with respect to NAME (repeatable; default: every variable). With one "
                   "--wrt the bare formula is printed, ready for `cgraph eval \"$(...)\"`.")
@click.option("--order", type=click.IntRange(1, MAX_ORDER), default=1, show_default=True,
              help="Differentiate this many times (2: the second derivative).")
@click.option("--inline", is_flag=True,
              help="Write shared subexpressions out at every use instead of as assignments t1 = ...")
@click.option("--latex", is_flag=True, help="Print LaTeX.")
@click.option("--exact", is_flag=True,
              help="Read bindings exactly (--x 1/3) and print numbers as fractions (11/5).")
@click.option("--exact-auto", is_flag=True,
              help="The same as --exact here: diff keeps irrational numbers as formulas (exp(1)).")
@click.pass_context
def diff_command(ctx, file, var_words, vars_file, debug, wrt, order, inline, latex, exact, exact_auto):
    """Print the derivative of a formula as a formula, in cgraph's own syntax.

    Reverse mode run over expressions instead of numbers: the derivative is simplified
    (constants folded, 0 and 1 identities, like terms and repeated factors collected) and a
    subexpression used more than once is printed once, as an assignment.

    \b
    Examples:
      cgraph diff "(x+y)^2"                      # d/dx = 2*(x + y), d/dy = 2*(x + y)
      cgraph diff "sigmoid(x)" --wrt x           # sigmoid(x)*(1 - sigmoid(x))
      cgraph eval "$(cgraph diff 'x^3' --wrt x)" --x 2
      cgraph diff "x^3*y^2" --wrt x --order 2    # 6*x*y^2
      cgraph diff "x*y" --y 3 --wrt x            # 3 (bindings substitute numbers)
      cgraph diff "(x+y)^2" --latex
    """
    from cgraph_cli.symbolic import Algebra

    exact = exact or exact_auto
    graph, bindings = load_scalar(ctx, file, var_words, vars_file, exact, "diff")
    names = list(dict.fromkeys(wrt)) or sorted(graph.variables)
    if not names:
        raise UsageError("the expression has no variables to differentiate with respect to")
    algebra = Algebra()
    with too_large_is_an_evaluation_error():
        results = substitute(derivatives(graph, names, order, algebra), bindings, algebra)
    emit(render(graph, results, order, bare=len(wrt) == 1, inline=inline, latex=latex, exact=exact))
