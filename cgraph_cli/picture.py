"""What a picture of the graph shows, independent of the drawing format (DOT, Mermaid).

One box per node (a node used several times is drawn once, with one edge per use,
so `x*x` has two edges from x), each edge labelled with the value that flows forward
along it and the gradient that flows back along it: the contribution of that one use,
so the gradients on a fanned-out node's edges add up to its gradient. The output gets
a last edge carrying its value and the seed gradient 1. Without an evaluation (no
bindings), only the structure is drawn.

A graph too large to read is cut to the `max_nodes` nodes nearest the output
(breadth first); each edge from a node left out starts at a small `…` stub, and
`note` says how much was left out.
"""

from collections import deque
from typing import NamedTuple, Optional

from cgraph_cli.ops import OPS
from cgraph_cli.text import human

PICTURE_DIGITS = 4     # pictures need short numbers: 0.7311, -0.1966
MAX_NODES = 150        # beyond this a picture is a grey smudge
TEXT_WIDTH = 24


class PictureNode(NamedTuple):
    key: str                  # "n3"; "out" for the output marker; "cut3" for a stub of node 3
    kind: str                 # "input", "const", "op", "output-marker", "stub"
    symbol: str               # what is drawn large: +, *, exp, the variable's name, the constant
    name: Optional[str]       # an assigned name, drawn under the symbol
    tooltip: str              # the node's source text
    is_output: bool = False
    detail: str = ""          # extra line: "unused", a tensor's shape


class PictureEdge(NamedTuple):
    source: str
    target: str
    value: Optional[str]      # forward value, formatted (None: structure only)
    gradient: Optional[str]   # gradient along this use (None: a constant, or structure only)
    local: Optional[str] = None   # --local: the rule along this use, `∂f/∂q = z` ("—": none written)
    use: Optional[tuple] = None   # (user node id, argument position); None for the output's edge


class Picture(NamedTuple):
    nodes: list
    edges: list
    note: Optional[str]       # what was left out, if anything
    with_values: bool


def describe(value, digits: int = PICTURE_DIGITS) -> str:
    """A value as a picture shows it: a number, or a tensor's shape and first elements."""
    shape = getattr(value, "shape", None)
    if shape is None or shape == ():
        return human(float(value), digits)
    flat = value.reshape(-1)
    preview = ", ".join(human(float(v), 3) for v in flat[:3])
    more = ", …" if flat.shape[0] > 3 else ""
    return f"({'×'.join(map(str, shape))}) [{preview}{more}]"


def build_picture(graph, evaluation=None, max_nodes: int = MAX_NODES, digits: int = PICTURE_DIGITS,
                  edge_gradients: Optional[dict] = None, local: bool = False) -> Picture:
    """The nodes and labelled edges to draw; `edge_gradients` maps (user, position) -> gradient;
    `local` (with an evaluation): each edge also carries its rule, written with the trace's names
    (the local derivative `∂f/∂q = z` of a scalar op, the gradient sent `sent = g @ transpose(W)`
    of a tensor op), as `eval --steps` shows it."""
    rule = _rules(graph, evaluation) if local and evaluation is not None else None
    if rule is not None:   # the rules name unnamed nodes by their trace names: draw those names too
        from cgraph_cli.trace import trace_names
        trace = trace_names(graph)
    kept, reachable = _nearest_to_output(graph, max_nodes)
    values = evaluation.values if evaluation is not None else None
    grads = evaluation.grads if evaluation is not None else None

    def text(value):
        return None if value is None else describe(value, digits)

    users = graph.users()
    nodes, edges, stubs = [], [], {}
    for node_id in sorted(kept):
        node = _node(graph, node_id, users)
        if rule is not None and node.kind == "op" and node.name != trace[node_id]:
            node = node._replace(name=trace[node_id])
        nodes.append(node)
    for node_id in sorted(kept):
        for position, input_id in enumerate(graph.inputs[node_id]):
            source = f"n{input_id}"
            if input_id not in kept:
                source = f"cut{input_id}"
                if input_id not in stubs:
                    stubs[input_id] = PictureNode(source, "stub",
                                                  "… " + graph.label_excerpt(input_id, 16), None,
                                                  graph.label_excerpt(input_id, 80))
            value = text(values[input_id]) if values is not None else None
            gradient = None
            if edge_gradients is not None and graph.needs_grad[input_id]:
                sent = edge_gradients.get((node_id, position))
                gradient = text(0.0 if sent is None else sent)   # None: the engine sent nothing
            edges.append(PictureEdge(source, f"n{node_id}", value, gradient,
                                     rule(node_id, position) if rule and graph.needs_grad[input_id] else None,
                                     (node_id, position)))
    nodes.extend(stubs[i] for i in sorted(stubs))
    output = graph.output
    nodes.append(PictureNode("out", "output-marker", "output", None, "the output"))
    edges.append(PictureEdge(f"n{output}", "out", text(values[output]) if values is not None else None,
                             text(grads[output]) if grads is not None and grads[output] is not None
                             else None))
    note = None
    if len(kept) < reachable:
        note = (f"showing {len(kept)} of {reachable} nodes, those nearest the output; "
                f"{reachable - len(kept)} left out (--max-nodes N draws more)")
    return Picture(nodes, edges, note, evaluation is not None)


def _rules(graph, evaluation):
    from cgraph_cli.trace import rule_texts, trace_names

    names = trace_names(graph)

    def rule(node_id: int, position: int) -> str:
        sent, local = rule_texts(graph, evaluation.values, names, node_id, position)
        input_id = graph.inputs[node_id][position]
        if local is not None:
            summed = f"; sent = {sent}" if sent and "sum(" in sent else ""   # a broadcast summed back
            return f"∂{names[node_id]}/∂{names[input_id]} = {local}{summed}"
        return "—" if sent is None else f"sent = {sent}"
    return rule


def _node(graph, node_id: int, users: list) -> PictureNode:
    op = graph.ops[node_id]
    tooltip = graph.label_excerpt(node_id, 80)
    is_output = node_id == graph.output
    if op == "var":
        detail = "" if users[node_id] or is_output else "unused"
        return PictureNode(f"n{node_id}", "input", graph.names[node_id], None, tooltip, is_output, detail)
    if op == "const":
        return PictureNode(f"n{node_id}", "const", graph.excerpt(node_id, TEXT_WIDTH), None,
                           tooltip, is_output)
    symbol = OPS[op].symbol if op in OPS else op
    return PictureNode(f"n{node_id}", "op", symbol, graph.names[node_id], tooltip, is_output)


def _nearest_to_output(graph, max_nodes: int) -> tuple:
    """(kept, reachable): the output and, breadth first, its inputs, theirs, ... up to max_nodes
    nodes, then the bound variables nothing uses while there is room; and how many nodes the
    output depends on in all (statements it does not use are not drawn)."""
    order = [graph.output]
    seen = {graph.output}
    queue = deque(order)
    while queue:
        node_id = queue.popleft()
        for input_id in graph.inputs[node_id]:
            if input_id not in seen:
                seen.add(input_id)
                order.append(input_id)
                queue.append(input_id)
    kept = set(order[:max_nodes])
    unused = [i for i in graph.variables.values() if i not in seen]
    kept.update(unused[:max(0, max_nodes - len(kept))])
    return kept, len(seen) + len(unused)
