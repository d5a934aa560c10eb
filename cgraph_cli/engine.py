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


def evaluate(graph: Graph, bindings: dict, seed: float = 1.0) -> Evaluation:
    values = forward(graph, bindings)
    grads = backward(graph, values, seed)
    return Evaluation(graph, values, grads, find_kinks(graph, values), gradient_warnings(graph, values, grads))


def forward(graph: Graph, bindings: dict) -> list:
    missing = sorted(name for name in graph.variables if name not in bindings)
    if missing:
        raise BindingError(_unbound_message(missing))
    n = len(graph)
    ops, inputs = graph.ops, graph.inputs
    values = [0.0] * n
    for node_id, value in graph.constants.items():
        values[node_id] = value
    for name, node_id in graph.variables.items():
        values[node_id] = bindings[name]
    functions = {name: op.forward for name, op in OPS.items()}
    get = values.__getitem__
    node_id = -1
    try:
        for node_id in range(n):
            arguments = inputs[node_id]
            if arguments:
                values[node_id] = functions[ops[node_id]](*map(get, arguments))
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        raise _evaluation_error(graph, values, node_id, error) from None
    if not all(map(math.isfinite, values)):
        node_id = next(i for i, v in enumerate(values) if not math.isfinite(v))
        raise _evaluation_error(graph, values, node_id, None)
    return values


def backward(graph: Graph, values: list, seed: float = 1.0) -> list:
    """Reverse mode from the output; a zero upstream gradient contributes nothing."""
    n = len(graph)
    needs, inputs, ops = graph.needs_grad, graph.inputs, graph.ops
    grads = [0.0] * n
    output = graph.output
    if needs[output]:
        grads[output] = seed
    rules = {name: op.vjp for name, op in OPS.items()}
    get = values.__getitem__
    for node_id in range(output, -1, -1):
        upstream = grads[node_id]
        if not upstream:
            continue
        arguments = inputs[node_id]
        if not arguments:
            continue
        local = rules[ops[node_id]](upstream, values[node_id], *map(get, arguments))
        if len(local) != len(arguments):
            raise AssertionError(f"the {ops[node_id]} rule returned {len(local)} gradients "
                                 f"for {len(arguments)} inputs")
        for input_id, contribution in zip(arguments, local):
            if needs[input_id]:
                grads[input_id] += contribution
    return [g if need else None for g, need in zip(grads, needs)]


def find_kinks(graph: Graph, values: list) -> dict:
    kinks = {}
    for name, op in OPS.items():
        if op.kink is None:
            continue
        for node_id, node_op in enumerate(graph.ops):
            if node_op == name:
                message = op.kink(values[node_id], *(values[i] for i in graph.inputs[node_id]))
                if message:
                    kinks[node_id] = message
    return kinks


def gradient_warnings(graph: Graph, values: list, grads: list) -> list:
    """Name each node whose local derivative turned a finite gradient into inf or nan."""
    if all(g is None or math.isfinite(g) for g in grads):
        return []
    warnings = []
    for node_id in range(len(graph) - 1, -1, -1):
        upstream = grads[node_id]
        arguments = graph.inputs[node_id]
        if upstream is None or not math.isfinite(upstream) or not arguments:
            continue
        local = OPS[graph.ops[node_id]].vjp(upstream, values[node_id], *(values[i] for i in arguments))
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
