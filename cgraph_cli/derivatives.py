"""Derivatives as formulas and second derivatives at a point: what `diff`, `hessian` and
`eval --order 2` compute.

The graph's op table run with symbolic values (the algebra of ops/algebra.py) gives d(output)/d(node) for every
node as an expression DAG, simplified as it is built. A higher order differentiates the printed
derivative again: the text is parsed back with cgraph, so every second derivative also checks
that the first one round-trips.

The Hessian: each first derivative d(output)/dx_i is built symbolically, printed, parsed back by
cgraph into a graph of its own, and that graph is evaluated and differentiated at the point by
the ordinary engine: its gradient is row i of the Hessian. So the Hessian obeys the same
conventions as every gradient (relu' = where(x > 0, 1, 0) is flat, hence relu'' = 0; kinks as in
the core; the printed where evaluates both branches, so an undefined unselected one, 1/sqrt(0) in
the derivative of sqrt(relu(x)) at -1, is an evaluation error there), and with
--exact it is computed with rationals like any other evaluation.

eval imports this module only for --order 2; exact arithmetic is imported only for --exact.
"""

import contextlib
from fractions import Fraction

from cgraph_cli.engine import backward, evaluate
from cgraph_cli.errors import BindingError, EvalError, UsageError
from cgraph_cli.formula import Printer
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build, require_scalar
from cgraph_cli.ops import OPS, table
from cgraph_cli.ops.algebra import Algebra
from cgraph_cli.ops.expr import Expr
from cgraph_cli.rational import MAX_DIGITS, TooLarge
from cgraph_cli.text import cut_middle, unknown_name

MAX_ORDER = 8


def symbolic_values(graph, algebra: Algebra, ops=None) -> list:
    """Every node of the graph as an expression in the graph's variables."""
    forwards = {name: op.forward for name, op in (ops if ops is not None else table(algebra)).items()}
    values = [None] * len(graph)
    for node_id, (op, inputs) in enumerate(zip(graph.ops, graph.inputs)):
        if op == "var":
            values[node_id] = algebra.variable(graph.names[node_id])
        elif op == "const":
            values[node_id] = algebra.literal(graph.text(node_id), graph.constants[node_id])
        else:   # with the node's parameters (leaky_relu's negative_slope), as the engine passes them
            values[node_id] = forwards[op](*[values[i] for i in inputs], **graph.attrs.get(node_id, {}))
    return values


def gradients(graph, algebra: Algebra):
    """(values, grads): each node as an expression, and d(output)/d(node) as an expression
    (None for constants), by engine.backward over the symbolic op table (built once here)."""
    require_scalar(graph)
    ops = table(algebra)
    values = symbolic_values(graph, algebra, ops)
    grads = backward(graph, values, algebra.one, ops)
    # a node that received no gradient is given a plain 0.0 by the engine: make it the constant 0
    return values, [g if g is None or isinstance(g, Expr) else algebra.constant(g) for g in grads]


@contextlib.contextmanager
def too_large_is_an_evaluation_error():
    """Constant folding refuses numbers beyond rational.MAX_DIGITS digits: exit 3, as eval --exact."""
    try:
        yield
    except TooLarge:
        raise EvalError(f"a number in the derivative would have more than {MAX_DIGITS:,} digits, "
                        "too large to be useful") from None


def node_for(graph, name: str) -> int:
    """The node `--wrt NAME` means: the variable, else the last assignment of that name."""
    if name in graph.variables:
        return graph.variables[name]
    if name in graph.assigned:
        return graph.assigned[name]
    known = sorted(set(graph.variables) | set(graph.assigned))
    raise BindingError(unknown_name(f"--wrt {name}", name, known, "variable or assigned name"))


def differentiate_again(expression, name: str, variables, algebra):
    """d(expression)/d(name): the expression printed, parsed back by cgraph, differentiated."""
    text = Printer(expression, avoid=variables).program()
    graph = build(parse(text), text, frozenset(variables))
    _, grads = gradients(graph, algebra)
    return grads[graph.variables[name]]


def derivatives(graph, names: list, order: int, algebra) -> list:
    """[(name, expression)]: the order-th derivative of the output with respect to each name."""
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


def hessian_rows(graph, bindings: dict, names: list, exact: str | None = None, what: str = "hessian"):
    """(rows, warnings): rows[i][j] = d2(output)/d(names[i]) d(names[j]) at the bindings.
    `exact`: None (float64), "strict" or "auto" (rationals, as --exact / --exact-auto)."""
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
            raise EvalError(f"the first derivative d/d{name} = {cut_middle(text)} cannot be evaluated "
                            f"at this point: {error.message}") from None
        warnings += [f"in d/d{name}: {warning}" for warning in evaluation.warnings]
        gradients_here = evaluation.gradients()
        rows.append([gradients_here[other] for other in names])
    return rows, warnings


def hessian_of_evaluation(evaluation, exact: str | None):
    """(names, rows, warnings): eval --order 2's Hessian of every variable, at the evaluated point."""
    graph = evaluation.graph
    names = graph.differentiable()   # data (--const) has no row or column
    bindings = {name: evaluation.values[node_id] for name, node_id in graph.variables.items()}
    with too_large_is_an_evaluation_error():
        rows, warnings = hessian_rows(graph, bindings, names, exact, "--order 2")
    return names, rows, warnings


def _evaluate(graph, bindings: dict, exact: str | None):
    if exact:
        from cgraph_cli import exact as exact_arithmetic

        return exact_arithmetic.evaluate(graph, bindings, auto=exact == "auto")
    return evaluate(graph, bindings, ops=OPS)
