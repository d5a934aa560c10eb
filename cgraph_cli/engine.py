"""The evaluator: a forward loop over the tape, then a backward loop over it reversed.

    forward:  for node in tape:            value[node] = op.forward(*value[inputs])
    backward: for node in reversed(tape):  grad[input] += op.vjp(grad[node], ...)[k]

The `+=` is the fan-out rule: a value used several times receives the sum of its
users' contributions. Constants (nodes that depend on no variable) carry no
gradient. Returns plain data; renderers do the printing.
"""

import math
from typing import NamedTuple

from cgraph_cli.errors import BindingError, EvalError, caret_context
from cgraph_cli.graph import Graph
from cgraph_cli.ops import OPS


class Evaluation(NamedTuple):
    graph: Graph
    values: list
    grads: list          # None for constants
    kinks: dict          # node id -> message, for nodes evaluated exactly at a kink
    warnings: list       # messages about non-finite gradients

    @property
    def value(self):
        return self.values[self.graph.output]

    def gradients(self) -> dict:
        """d(output)/d(variable) for every variable, by name."""
        grads = self.grads
        return {name: (grads[i] if grads[i] is not None else 0.0)
                for name, i in sorted(self.graph.variables.items())}


def evaluate(graph: Graph, bindings: dict, seed=1.0, ops: dict = OPS) -> Evaluation:
    """Forward, then backward; `ops` is the op table of the values' backend (floats by default)."""
    values = forward(graph, bindings, ops)
    grads = backward(graph, values, seed, ops)
    return Evaluation(graph, values, grads, find_kinks(graph, values, ops),
                      gradient_warnings(graph, values, grads, ops))


EVALUATION_ERRORS = (ArithmeticError, ValueError)   # ZeroDivision, Overflow, FloatingPoint; domain


def forward(graph: Graph, bindings: dict, ops: dict = OPS) -> list:
    missing = sorted(name for name in graph.variables if name not in bindings)
    if missing:
        raise BindingError(_unbound_message(missing))
    n = len(graph)
    values = [None] * n
    for node_id, value in graph.constants.items():
        values[node_id] = value
    for name, node_id in graph.variables.items():
        values[node_id] = bindings[name]
    functions = [ops[name].forward for name in graph.ops]
    node_id = -1
    try:
        for node_id, function, arguments in zip(range(n), functions, graph.inputs):
            if len(arguments) == 2:
                a, b = arguments
                values[node_id] = function(values[a], values[b])
            elif arguments:
                values[node_id] = function(*[values[i] for i in arguments])
    except EVALUATION_ERRORS as error:
        raise _evaluation_error(graph, values, node_id, error) from None
    try:
        finite = all(map(math.isfinite, values))
    except TypeError:   # values of another backend (arrays, ...) say it themselves
        finite = True
    if not finite:
        node_id = next(i for i, v in enumerate(values) if not math.isfinite(v))
        raise _evaluation_error(graph, values, node_id, None)
    return values


def backward(graph: Graph, values: list, seed=1.0, ops: dict = OPS) -> list:
    """Reverse mode from the output. A node that received no gradient, or exactly zero,
    passes nothing on (so a flat relu stops an infinite slope below it from becoming nan)."""
    n = len(graph)
    needs, inputs = graph.needs_grad, graph.inputs
    grads = [None] * n
    output = graph.output
    if needs[output]:
        grads[output] = seed
    rules = [ops[name].vjp for name in graph.ops]
    for node_id in range(output, -1, -1):
        upstream = grads[node_id]
        if upstream is None:
            continue
        arguments = inputs[node_id]
        if len(arguments) == 2:
            if _is_zero(upstream):
                continue
            a, b = arguments
            local_a, local_b = rules[node_id](upstream, values[node_id], values[a], values[b])
            if needs[a]:
                grads[a] = local_a if grads[a] is None else grads[a] + local_a
            if needs[b]:
                grads[b] = local_b if grads[b] is None else grads[b] + local_b
        elif arguments:
            if _is_zero(upstream):
                continue
            local = rules[node_id](upstream, values[node_id], *[values[i] for i in arguments])
            for input_id, contribution in zip(arguments, local):
                if needs[input_id]:
                    grads[input_id] = contribution if grads[input_id] is None else grads[input_id] + contribution
    zero = seed * 0
    return [(zero if g is None else g) if need else None for g, need in zip(grads, needs)]


def _is_zero(value) -> bool:
    try:
        return not value
    except ValueError:   # an array of several elements: never skipped
        return False


def find_kinks(graph: Graph, values: list, ops: dict = OPS) -> dict:
    kinks = {}
    with_kinks = {name for name, op in ops.items() if op.kink is not None}
    for node_id, name in enumerate(graph.ops):
        if name in with_kinks:
            message = ops[name].kink(values[node_id], *(values[i] for i in graph.inputs[node_id]))
            if message:
                kinks[node_id] = message
    return kinks


def gradient_warnings(graph: Graph, values: list, grads: list, ops: dict = OPS) -> list:
    """Name each node whose local derivative turned a finite gradient into inf or nan."""
    try:
        if all(g is None or math.isfinite(g) for g in grads):
            return []
    except TypeError:
        return []   # another backend's values: their own checks apply
    warnings = []
    for node_id in range(len(graph) - 1, -1, -1):
        upstream = grads[node_id]
        arguments = graph.inputs[node_id]
        if upstream is None or not math.isfinite(upstream) or not arguments:
            continue
        local = ops[graph.ops[node_id]].vjp(upstream, values[node_id], *(values[i] for i in arguments))
        for input_id, contribution in zip(arguments, local):
            if graph.needs_grad[input_id] and not math.isfinite(contribution):
                at = ", ".join(f"{graph.text(i)} = {values[i]:.12g}" for i in arguments)
                warnings.append(f"gradient of {graph.text(node_id)} is {contribution} with respect to "
                                f"{graph.text(input_id)} (at {at}): its local derivative is not finite")
    return warnings


def _unbound_message(missing: list) -> str:
    names = ", ".join(missing)
    example = " ".join(f"--{name} VALUE" for name in missing)
    noun = "variable" if len(missing) == 1 else "variables"
    return f"unbound {noun}: {names}\ngive a value with {example} (or -v NAME=VALUE, or --vars FILE.json)"


def _evaluation_error(graph: Graph, values: list, node_id: int, error) -> EvalError:
    op = OPS[graph.ops[node_id]]
    arguments = [values[i] for i in graph.inputs[node_id]]
    shown = ", ".join(f"{v:.12g}" for v in arguments)
    where = caret_context(graph.source, *graph.spans[node_id])
    if error is None:
        what = f"{op.name}({shown}) is {values[node_id]}: not a finite float64"
    elif isinstance(error, ZeroDivisionError):
        what = "division by zero" if op.name == "div" else f"{op.name}({shown}): {error}"
    elif isinstance(error, OverflowError):
        what = f"{op.name}({shown}) overflows float64 (larger than 1.8e308)"
    elif op.domain:
        what = f"{op.name} needs {op.domain}, got {shown}"
    else:
        what = f"{op.name}({shown}): {error}"
    return EvalError(f"{what} in {graph.text(node_id)} at {where}")
