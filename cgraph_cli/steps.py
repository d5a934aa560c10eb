"""The backward pass replayed step by step, as a course writes it out by hand.

    dxpy = (2 * xpy) * dxpysqr      # upstream x local derivative
    dx   = (1) * dxpy               # x's first contribution
    dx  += ((1 - sigx) * sigx) * dsigx   # ... and the `+=` where x fans out

Given an Evaluation (graph, values, grads), the engine's own walk of the backward
pass (engine.contributions, with the engine's skip rules) is run again over the
final gradients: that gives what each node sent to each input. The running total of an input receiving several
contributions is summed in the same order as the engine sums, so the last total
equals the engine's gradient exactly. The picture's edge gradients come from here too.
"""

from fractions import Fraction
from typing import NamedTuple

from cgraph_cli.engine import contributions, node_functions
from cgraph_cli.ops import table_for


class Contribution(NamedTuple):
    input: int                 # the input's node id
    local: object              # d(node)/d(input) at this point (None: a constant, or not a number)
    gradient: object           # what the node sends to the input: upstream x local (None: a constant)
    total: object              # the input's gradient so far, this contribution included
    index: int                 # this is the input's index-th contribution (1-based) ...
    count: int                 # ... of count in all


class Step(NamedTuple):
    node: int
    upstream: object           # the node's gradient d(output)/d(node) when its rule runs
    contributions: tuple       # one Contribution per input, in argument order (empty for a leaf)
    passes_nothing: bool = False   # a zero upstream gradient: the engine sends nothing on


def backward_steps(evaluation, ops: dict = None, include_leaves: bool = True) -> list:
    """One Step per node that carries a gradient, in backward order; the variables come last
    (with no contributions) so their final gradients end the list."""
    graph, values, grads = evaluation.graph, evaluation.values, evaluation.grads
    needs, inputs_of = graph.needs_grad, graph.inputs
    ops = ops if ops is not None else _ops_of(evaluation)
    sent = _contributions(evaluation, ops)
    local_rules = node_functions(graph, ops, "vjp")
    count = [0] * len(graph)
    for gradients in sent.values():
        for input_id, gradient in gradients:
            if gradient is not None:
                count[input_id] += 1
    seen = [0] * len(graph)
    totals: list = [None] * len(graph)
    steps = []
    for node_id in range(graph.output, -1, -1):
        if grads[node_id] is None or not needs[node_id]:
            continue
        arguments = inputs_of[node_id]
        if not arguments:
            if include_leaves and graph.ops[node_id] == "var":
                steps.append(Step(node_id, grads[node_id], ()))
            continue
        if node_id not in sent:
            steps.append(Step(node_id, grads[node_id], (), passes_nothing=True))
            continue
        locals_ = _local_derivatives(local_rules[node_id], grads[node_id], values[node_id],
                                     [values[i] for i in arguments])
        contributions = []
        for (input_id, gradient), local in zip(sent[node_id], locals_):
            if gradient is None:
                contributions.append(Contribution(input_id, None, None, None, 0, 0))
                continue
            totals[input_id] = gradient if totals[input_id] is None else totals[input_id] + gradient
            seen[input_id] += 1
            contributions.append(Contribution(input_id, local, gradient, totals[input_id],
                                              seen[input_id], count[input_id]))
        steps.append(Step(node_id, grads[node_id], tuple(contributions)))
    return steps


def edge_gradients(evaluation, ops: dict = None) -> dict:
    """(user id, argument position) -> the gradient that use sends back (None for a constant)."""
    ops = ops if ops is not None else _ops_of(evaluation)
    edges = {}
    for node_id, gradients in _contributions(evaluation, ops).items():
        for position, (_, gradient) in enumerate(gradients):
            edges[node_id, position] = gradient
    return edges


def _ops_of(evaluation) -> dict:
    """The op table the engine used: the same choice, from the graph and the variables' values."""
    graph = evaluation.graph
    return table_for(graph, {name: evaluation.values[i] for name, i in graph.variables.items()})


def _contributions(evaluation, ops) -> dict:
    """node id -> [(input id, gradient sent or None)], for every node whose rule the engine runs
    (engine.contributions: the same walk, each gradient summed back to its input's shape)."""
    sent = {}
    for node_id, input_id, _, _, gradient in contributions(evaluation.graph, evaluation.values,
                                                           evaluation.grads, ops):
        sent.setdefault(node_id, []).append((input_id, gradient))
    return sent


def _local_derivatives(rule, upstream, out, inputs: list) -> list:
    """d(node)/d(input) for each input: the rule applied to an upstream gradient of 1.
    Only for numbers: an array's local derivative is a Jacobian, which the table does not show."""
    if not all(isinstance(v, (float, Fraction)) for v in (upstream, out, *inputs)):
        return [None] * len(inputs)
    return list(rule(Fraction(1) if isinstance(upstream, Fraction) else 1.0, out, *inputs))   # --exact

