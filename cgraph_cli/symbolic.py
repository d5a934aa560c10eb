"""Symbolic derivatives: reverse mode run over expressions instead of numbers builds the derivative.

The algebra (ops/algebra.py) is a backend of the op table: its values are expressions, so the
rows' vjp rules, run by engine.backward unchanged, build derivative expressions.
`gradients(graph, algebra)` is the derivative graph.
"""

from cgraph_cli.engine import backward
from cgraph_cli.graph import require_scalar
from cgraph_cli.ops import SCALAR_OPS, SYMBOLIC_FUNCTIONS, table
from cgraph_cli.ops.algebra import Algebra, Expr

# re-export for the command layer; removed at merge
__all__ = ["Algebra", "Expr", "FUNCTIONS", "SCALAR_OPS", "gradients", "require_scalar", "symbolic_values"]
FUNCTIONS = SYMBOLIC_FUNCTIONS   # re-export for the command layer; removed at merge


def symbolic_values(graph, algebra: Algebra, ops=None) -> list:
    """Every node of the graph as an expression in the graph's variables."""
    forwards = {name: op.forward for name, op in (ops if ops is not None else table(algebra)).items()}
    values = [None] * len(graph)
    for node_id, (op, inputs) in enumerate(zip(graph.ops, graph.inputs)):
        if op == "var":
            values[node_id] = algebra.variable(graph.names[node_id])
        elif op == "const":
            values[node_id] = algebra.literal(graph.text(node_id), graph.constants[node_id])
        else:
            values[node_id] = forwards[op](*[values[i] for i in inputs])
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
