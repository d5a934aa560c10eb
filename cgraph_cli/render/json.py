"""--format json: one object, the public schema documented in the README."""

import json

from cgraph_cli.text import json_number

TEXT_WIDTH = 80


def document(evaluation, options) -> dict:
    graph, values, grads = evaluation.graph, evaluation.values, evaluation.grads
    precision = options.precision
    tangents = evaluation.tangents   # eval --tangent: every node's, and the output's at the top level
    nodes = []
    for node_id, op in enumerate(graph.ops):
        node = {
            "id": node_id,
            "op": op,
            "name": graph.names[node_id],
            "inputs": list(graph.inputs[node_id]),
            "value": json_number(values[node_id], precision),
            "grad": json_number(grads[node_id], precision),
            **({"tangent": json_number(tangents[node_id], precision)} if tangents is not None else {}),
            "text": graph.excerpt(node_id, TEXT_WIDTH, escape=False),
            "span": list(graph.spans[node_id]) if graph.spans[node_id] else None,
        }
        shape = getattr(values[node_id], "shape", ())
        if shape:
            node["shape"] = list(shape)
        if node_id in graph.attrs:
            node["attrs"] = _attrs(graph, node_id)
        if node_id in evaluation.kinks:
            node["kink"] = evaluation.kinks[node_id]
        if node_id in evaluation.reduced:
            node["reduced"] = evaluation.reduced[node_id]
        nodes.append(node)
    document = {
        "value": json_number(evaluation.value, precision),
        "gradients": {name: json_number(g, precision) for name, g in evaluation.gradients().items()},
        **({"tangent": json_number(tangents[graph.output], precision)} if tangents is not None else {}),
        "output": graph.output,
        "nodes": nodes,
        "warnings": list(evaluation.warnings),
    }
    if evaluation.seed is not None:
        document["seed"] = json_number(evaluation.seed, precision)
    return document


def _attrs(graph, node_id) -> dict:
    """An op's keyword arguments as JSON: axis as a number, an index as its source text."""
    attrs = dict(graph.attrs[node_id])
    if "key" in attrs:
        text = graph.text(node_id)
        attrs["key"] = text[text.rfind("["):] if "[" in text else str(attrs["key"])
    return attrs


def render(evaluation, options) -> str:
    return json.dumps(document(evaluation, options), allow_nan=False) + "\n"
