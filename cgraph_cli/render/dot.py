"""A Picture as Graphviz DOT source, built with the `graphviz` package.

The package writes the DOT text (quoting, escaping, HTML-like labels) and runs
Graphviz's `dot` program for SVG and PNG; writing DOT by hand is easy to get
subtly wrong for arbitrary source text. Left to right; each edge has one two-row
HTML label: the forward value above in green, the gradient below in red.
"""

from html import escape

VALUE_COLOUR = "#1a7f37"      # forward values: green
GRADIENT_COLOUR = "#cf222e"   # gradients: red
RULE_COLOUR = "#57606a"       # --local: the rule along the edge, grey
INPUT_FILL = "#dbeafe"
OP_FILL = "#f3f4f6"
FONT = "Helvetica"


def digraph(picture, ids: bool = False):
    """The graphviz.Digraph of a Picture; `.source` is the DOT text, `.pipe(format=...)` draws it.
    `ids`: each node and edge gets an SVG id, `walk_n3` and `walk_e0` (the edge's index), for a script."""
    import graphviz

    dot = graphviz.Digraph("cgraph", graph_attr={
        "rankdir": "LR", "fontname": FONT, "fontsize": "11", "labelloc": "b", "nodesep": "0.35",
        "ranksep": "0.6", "label": _legend(picture),
    }, node_attr={"fontname": FONT, "fontsize": "13"}, edge_attr={"fontname": FONT, "fontsize": "11",
                                                                    "arrowsize": "0.7"})
    for node in picture.nodes:
        dot.node(node.key, **_node_attributes(node), **({"id": f"walk_{node.key}"} if ids else {}))
    for index, edge in enumerate(picture.edges):
        attributes = {"id": f"walk_e{index}"} if ids else {}
        if edge.value is not None or edge.gradient is not None or edge.local is not None:
            attributes["label"] = _edge_label(edge)
        if edge.source.startswith("cut"):
            attributes["style"] = "dashed"
        dot.edge(edge.source, edge.target, **attributes)
    return dot


def source(picture) -> str:
    return digraph(picture).source


def _node_attributes(node) -> dict:
    attributes = {"tooltip": node.tooltip}
    if node.kind == "input":
        lines = [f"<b>{escape(node.symbol)}</b>"]
        if node.detail:
            lines.append(f'<font point-size="9">{escape(node.detail)}</font>')
        attributes.update(shape="box", style="rounded,filled", fillcolor=INPUT_FILL, color="#3b82f6",
                          label="<" + "<br/>".join(lines) + ">")
    elif node.kind == "const":
        attributes.update(shape="plaintext", fontcolor="#4b5563", label=node.symbol)
    elif node.kind == "op":
        lines = [f"<b>{escape(node.symbol)}</b>"]
        if node.name:
            lines.append(f'<font point-size="10">{escape(node.name)}</font>')
        attributes.update(shape="circle", style="filled", fillcolor=OP_FILL, margin="0.04",
                          label="<" + "<br/>".join(lines) + ">")
    elif node.kind == "output-marker":
        attributes.update(shape="plaintext", label="output", fontcolor="#111827")
    else:   # a stub for a node left out
        attributes.update(shape="plaintext", label=node.symbol, fontcolor="#6b7280")
    if node.is_output:
        attributes.update(peripheries="2", penwidth="1.5")
    return attributes


def _edge_label(edge) -> str:
    rows = []
    if edge.value is not None:
        rows.append(f'<font color="{VALUE_COLOUR}">{escape(edge.value)}</font>')
    if edge.gradient is not None:
        rows.append(f'<font color="{GRADIENT_COLOUR}">{escape(edge.gradient)}</font>')
    if edge.local is not None:
        rows.append(f'<font color="{RULE_COLOUR}">{escape(edge.local)}</font>')
    return "<" + "<br/>".join(rows) + ">"


def _legend(picture) -> str:
    lines = []
    if picture.with_values:
        lines.append(f'<font color="{VALUE_COLOUR}">green, above: forward value</font>     '
                     f'<font color="{GRADIENT_COLOUR}">red, below: gradient of the output</font>'
                     + (f'     <font color="{RULE_COLOUR}">grey: the rule (local derivative)</font>'
                        if any(edge.local for edge in picture.edges) else ""))
    if picture.note:
        lines.append(escape(picture.note))
    return "<" + "<br/>".join(lines) + ">" if lines else ""
