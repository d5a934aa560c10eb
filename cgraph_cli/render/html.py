"""`cgraph graph --to html`: the walk-through page, one self-contained HTML file.

The picture is `cgraph graph --local`'s (picture.py): Graphviz's SVG when `dot` is on PATH, else a
small layered layout drawn here. The steps: 0, the start (the inputs' values); one forward step per
operation node in evaluation order (forward_trace); one backward step per (node, input) contribution
to an input that carries a gradient, in the engine's order (steps.backward_steps). Every text from the
input is escaped into the markup, and the numbers travel as JSON data in a
<script type="application/json"> block ("<", ">" and "&" written as \\u escapes); walk.js (plain JS,
standard DOM) reads it and walk.css styles the page. A Content-Security-Policy with the hashes of
those two allows no other script or style and no request at all.
"""

import base64
import hashlib
import json
import shutil
from html import escape
from pathlib import Path

from cgraph_cli import __version__, trace
from cgraph_cli.picture import describe
from cgraph_cli.text import human

FULL_LIMIT = 10_000   # a tensor's full values are embedded up to this many elements
ASSETS = Path(__file__).parent
CAPTION_INPUTS = 12   # step 0 names at most this many inputs


def page(picture, graph, evaluation=None, digits: int = 4) -> str:
    """The HTML text of the walk-through of `picture` (built with local=True when evaluated)."""
    walk = _walk(picture, graph, evaluation, digits)
    svg, layout = _svg(picture, walk)
    script, style = (ASSETS / "walk.js").read_text("utf-8"), (ASSETS / "walk.css").read_text("utf-8")
    data = json.dumps(walk, ensure_ascii=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    policy = (f"default-src 'none'; script-src '{_hash(script)}'; style-src '{_hash(style)}'; "
              "img-src 'none'; base-uri 'none'; form-action 'none'")
    source = graph.source if len(graph.source) <= 4000 else graph.source[:4000] + " …"
    steps = walk["steps"]
    if steps:
        status = f"step 0 of {len(steps) - 1}"
        listing = "".join(f'<li><a href="#step={k}">{_caption_html(step["caption"])}</a></li>'
                          for k, step in enumerate(steps))
        controls = f"""<nav id="walk-controls" aria-label="steps">
<button type="button" id="walk-first" title="Home">« Start</button>
<button type="button" id="walk-prev" title="ArrowLeft">◀ Previous</button>
<button type="button" id="walk-next" title="ArrowRight">Next ▶</button>
<button type="button" id="walk-last" title="End">End »</button>
<label for="walk-slider" class="walk-sr">step</label>
<input type="range" id="walk-slider" min="0" max="{len(steps) - 1}" value="0" step="1">
<span id="walk-counter" aria-live="polite">{status}</span>
</nav>
<p id="walk-caption" aria-live="polite">{_caption_html(steps[0]["caption"])}</p>"""
        more = f"""<details id="walk-all"><summary>All {len(steps)} steps</summary><ol start="0">{listing}</ol></details>"""
    else:
        controls = ('<p id="walk-caption" class="walk-note">The structure only: bind every variable '
                    '(for example <code>--x 1</code>) to see the values and step through the forward '
                    'and backward passes.</p>')
        more = ""
    note = f'<p class="walk-note" id="walk-cut">{escape(picture.note)}</p>' if picture.note else ""
    legend = ('<p id="walk-legend">Each edge: the forward value <b>above</b> (green), the gradient of the '
              'output along it <b>below</b> (red), then the rule, the local derivative (grey). '
              '<code>g</code> in a rule: the gradient arriving at the node. A node not yet computed is '
              'faint with a dashed outline; the current node and edge are drawn thick, and in the backward pass the node receiving the gradient has a thick dotted outline.</p>'
              if walk["evaluated"] else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape(policy, quote=False)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>cgraph walk-through: {escape(graph.excerpt(graph.output, 60, escape=False))}</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>Forward and backward, step by step</h1>
<pre id="walk-source"><code>{escape(source)}</code></pre>
</header>
<main>
{controls}
{note}
<div id="walk-body">
<figure id="walk-figure" aria-label="the computational graph">{svg}</figure>
<aside>
<section id="walk-inputs-box" aria-label="inputs"><h2>Inputs</h2>{_inputs_table(walk)}</section>
<section id="walk-details" aria-live="polite"><h2>Details</h2><p>Click a node (or Tab to it and press
Enter) for its op, formula, value, gradient and local derivatives.</p></section>
</aside>
</div>
{legend}
{more}
</main>
<footer><p>Written by cgraph {escape(__version__)} · layout: {escape(layout, quote=False)} · one file: no network,
no external script, style or font. Keys: ← → step, Home / End, or the slider; <code>#step=N</code> in the
address opens step N.</p></footer>
<script type="application/json" id="walk-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _caption_html(parts: list) -> str:
    """A caption: words at even positions, formulas (code) at odd ones."""
    return "".join(f"<code>{escape(p)}</code>" if k % 2 else escape(p) for k, p in enumerate(parts))


def _inputs_table(walk) -> str:
    rows = "".join(f'<tr data-key="{escape(i["key"])}"><th scope="row">{escape(i["name"])}</th>'
                   f'<td>{escape(i["value"] or "")}</td><td class="walk-so-far">'
                   f'{escape(i["totals"][-1][1]) if i["totals"] else "—"}</td></tr>' for i in walk["inputs"])
    if not rows:
        return "<p>none</p>"
    return ('<table id="walk-inputs"><thead><tr><th scope="col">input</th><th scope="col">value</th>'
            f'<th scope="col">gradient so far</th></tr></thead><tbody>{rows}</tbody></table>')


# ----- the data the page steps through -----

def _walk(picture, graph, evaluation, digits: int) -> dict:
    def number(value):
        return describe(value, digits)

    kept = {int(n.key[1:]) for n in picture.nodes if n.key.startswith("n")}
    names = trace.trace_names(graph)
    edge_of = {edge.use: k for k, edge in enumerate(picture.edges) if edge.use is not None}
    out_of = {}
    for k, edge in enumerate(picture.edges):
        out_of.setdefault(edge.source, []).append(k)
    nodes = {node.key: {"kind": node.kind, "symbol": node.symbol, "name": node.name, "text": node.tooltip,
                        "fstep": 0} for node in picture.nodes}
    edges = [{"source": e.source, "target": e.target, "value": e.value, "gradient": e.gradient,
              "rule": e.local, "vstep": 0, "gstep": None, "active": e.gradient, "activeRule": e.local}
             for e in picture.edges]
    walk = {"schema": 1, "evaluated": evaluation is not None, "nodes": nodes, "edges": edges, "steps": [],
            "inputs": []}
    variables = sorted((i for i in graph.variables.values() if i in kept))
    if evaluation is None:
        walk["inputs"] = [{"key": f"n{i}", "name": graph.names[i], "value": None, "totals": []}
                          for i in variables]
        for node_id in kept:
            nodes[f"n{node_id}"]["op"] = graph.ops[node_id]
        return walk
    from cgraph_cli.steps import backward_steps

    values, grads = evaluation.values, evaluation.grads
    statements = {node_id: statement for node_id, _, statement, _ in trace.forward_trace(evaluation, names)}
    upstream_name = trace.upstream_name(graph)
    scalar = not graph.uses_tensors and not any(getattr(value, "ndim", 0) for value in values)
    for node_id in kept:
        info = nodes[f"n{node_id}"]
        info.update(op=graph.ops[node_id], statement=statements.get(node_id), value=number(values[node_id]),
                    gradient=None if grads[node_id] is None else number(grads[node_id]), locals=[])
        info.update(_full(values[node_id], digits))
    steps = walk["steps"]
    inputs = [{"key": f"n{i}", "name": graph.names[i], "value": number(values[i]), "totals": []}
              for i in variables]
    walk["inputs"] = inputs
    shown = [f"{i['name']} = {i['value']}" for i in inputs[:CAPTION_INPUTS]]
    more = f" and {len(inputs) - CAPTION_INPUTS} more" if len(inputs) > CAPTION_INPUTS else ""
    steps.append({"kind": "start", "node": None, "edge": None,
                  "caption": ["start: the inputs ", ", ".join(shown) or "(none)",
                              more + "; the forward pass computes each node from its inputs"]})
    for node_id in sorted(kept):   # node ids are the evaluation order
        if graph.ops[node_id] in ("var", "const"):
            continue
        key = f"n{node_id}"
        nodes[key]["fstep"] = len(steps)
        for k in out_of.get(key, ()):
            edges[k]["vstep"] = len(steps)
        statement = statements[node_id]
        arguments = [values[i] for i in graph.inputs[node_id]]
        caption = ["forward: ", statement]
        if scalar and arguments:
            numbers = trace.expression(graph, node_id, lambda i: _operand(graph.ops[node_id], values[i], digits))
            caption += [" = ", f"{numbers} = {number(values[node_id])}"]
        else:
            caption += [" gives ", number(values[node_id])]
        steps.append({"kind": "forward", "node": key, "edge": None, "caption": caption})
    total_of = {i["key"]: i["totals"] for i in inputs}
    first_backward = len(steps)
    for step in backward_steps(evaluation, include_leaves=False):
        node_id = step.node
        if node_id not in kept:
            continue
        key, info = f"n{node_id}", nodes[f"n{node_id}"]
        arguments = graph.inputs[node_id]
        sent_by = {}
        if step.passes_nothing:
            sent_by = {p: None for p, i in enumerate(arguments) if graph.needs_grad[i]}
        else:
            for position, c in enumerate(step.contributions):
                if c.gradient is not None:
                    sent_by[position] = c
        for position, input_id in enumerate(arguments):
            c = sent_by.get(position, False)
            edge = edge_of.get((node_id, position))
            rule = picture.edges[edge].local if edge is not None else None
            info["locals"].append({"input": names[input_id] or trace.number_text(values[input_id]),
                                   "rule": rule or "—",
                                   "local": "—" if not c or c.local is None else number(c.local),
                                   "sent": "—" if c is False else number(0.0 if c is None else c.gradient)})
            if c is False:
                continue
            input_name = names[input_id]
            sent_rule, local_rule = trace.rule_texts(graph, values, names, node_id, position, upstream_name)
            if c is None:
                caption = ["backward: ", statements[node_id], " has gradient 0: it sends nothing to ",
                           input_name, " (0)"]
                active = None
                if f"n{input_id}" in total_of and not total_of[f"n{input_id}"]:
                    total_of[f"n{input_id}"].append([len(steps), number(0.0), ""])
            elif scalar and c.local is not None:
                up, local, sent = (human(float(v), digits) for v in (step.upstream, c.local, c.gradient))
                formula = (f"{sent_rule} = {sent}" if sent_rule == upstream_name or sent_rule is None
                           else f"{sent_rule} = {up}*{local} = {sent}")
                caption = ["backward: ", statements[node_id], " sends ", formula, " to ", input_name]
                active = f"{up}*{local} = {sent}"
                if edge is not None and rule and rule.startswith("∂") and not _is_number(local_rule):
                    edges[edge]["activeRule"] = f"{rule} = {local}"   # the local derivative's value too
            else:
                caption = ["backward: ", statements[node_id], " sends ",
                           f"{sent_rule} = {number(c.gradient)}" if sent_rule else number(c.gradient),
                           " to ", input_name]
                active = None
            if c and c.count > 1:
                _add(caption, f"; {input_name} gathers {c.count} contributions: ",
                     f"{input_name} += {number(c.gradient)}, now {number(c.total)}")
                _add(caption, f" ({c.index}/{c.count})")
            if c and f"n{input_id}" in total_of:
                total_of[f"n{input_id}"].append([len(steps), number(c.total),
                                                 f"{c.index}/{c.count}" if c.count > 1 else ""])
            if edge is not None:
                edges[edge]["gstep"] = len(steps)
                if active is not None:
                    edges[edge]["active"] = active
            steps.append({"kind": "backward", "node": key, "edge": edge, "target": f"n{input_id}",
                          "caption": caption})
    last = len(steps) - 1
    for k, edge in enumerate(picture.edges):
        if edge.use is None:   # the output's edge: its seed starts the backward pass
            edges[k]["gstep"] = min(first_backward, last) if edge.gradient is not None else None
            edges[k]["vstep"] = nodes[edge.source]["fstep"]
    if last > 0:
        final = [f"d{graph.names[i]} = {number(grads[i])}" for i in variables[:CAPTION_INPUTS]
                 if grads[i] is not None]
        if final:
            _add(steps[-1]["caption"], "; done: ", ", ".join(final))
            if more:
                _add(steps[-1]["caption"], more)
    return walk


def _operand(op: str, value, digits: int) -> str:
    """A number in a forward caption: (-3)^2, -(-2) and 5 - (-4), not -3^2, --2 and 5 - -4."""
    text = human(float(value), digits)
    return f"({text})" if text.startswith("-") and op in ("pow", "neg", "sub") else text


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _add(parts: list, words: str, code: str = None) -> None:
    """Words (then a formula) after a caption's parts: words at even positions, formulas at odd."""
    if len(parts) % 2:
        parts[-1] += words
    else:
        parts.append(words)
    if code is not None:
        parts.append(code)


def _full(value, digits: int) -> dict:
    """A tensor's shape and its full values as text (up to FULL_LIMIT elements)."""
    shape = getattr(value, "shape", ())
    if not shape:
        return {}
    size = int(value.size)
    if size > FULL_LIMIT:
        return {"shape": list(shape), "size": size, "full": None}
    import numpy

    text = numpy.array2string(value, separator=", ", threshold=FULL_LIMIT + 1, max_line_width=100,
                              formatter={"float_kind": lambda element: human(float(element), digits)})
    return {"shape": list(shape), "size": size, "full": text}


# ----- the SVG: Graphviz's, or a layered layout of our own -----

def _dot_program():
    return shutil.which("dot")


def _svg(picture, walk) -> tuple:
    """(svg text, which layout drew it)."""
    drawn = picture._replace(note=None, with_values=False, edges=[
        edge._replace(gradient=data["active"] if data["active"] is not None else edge.gradient,
                      local=data["activeRule"])   # the longer texts of the edge's own step: room for them
        for edge, data in zip(picture.edges, walk["edges"])])
    if _dot_program() is not None:
        import graphviz

        from cgraph_cli.render import dot

        drawing = dot.digraph(drawn, ids=True)
        drawing.graph_attr["label"] = ""
        try:
            svg = drawing.pipe(format="svg").decode("utf-8")
            return svg[svg.index("<svg"):], "Graphviz's dot"
        except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, ValueError):
            pass
    return _layered(drawn), "cgraph's own layered layout (Graphviz's dot was not found)"


CHAR = {13: 8.0, 11: 6.4, 10: 5.8}   # an estimate of a character's width at each font size
GAP_Y = 30
LINE = 13


def _width(text: str, size: int) -> float:
    return len(text) * CHAR[size]


def _layered(picture) -> str:
    """Nodes in layers left to right (a node one layer after its furthest input; a leaf just before its
    first user), ordered in each layer by the mean position of their inputs; edges as curves."""
    keys = [node.key for node in picture.nodes]
    index = {key: k for k, key in enumerate(keys)}
    inputs = [[] for _ in keys]
    users = [[] for _ in keys]
    for edge in picture.edges:
        inputs[index[edge.target]].append(index[edge.source])
        users[index[edge.source]].append(index[edge.target])
    rank = [0] * len(keys)
    order = _topological(inputs, users)
    for k in order:
        rank[k] = 1 + max((rank[i] for i in inputs[k]), default=-1)
    for k in reversed(order):   # leaves next to their first user
        if not inputs[k] and users[k]:
            rank[k] = min(rank[u] for u in users[k]) - 1
    layers = {}
    for k in order:
        layers.setdefault(rank[k], []).append(k)
    position = {}
    for k in order:
        position[k] = len(position)
    for neighbours, ranks in ((inputs, sorted(layers)), (users, sorted(layers, reverse=True)),
                              (inputs, sorted(layers))):   # barycentre sweeps: right, left, right
        for r in ranks:
            layer = layers[r]
            for k in layer:
                near = [position[i] for i in neighbours[k]]
                if near:
                    position[k] = sum(near) / len(near)
            layer.sort(key=lambda k: position[k])
            for slot, k in enumerate(layer):
                position[k] = slot
    size = [_node_size(node) for node in picture.nodes]
    label = [max([_width(t, 11) for t in (e.value, e.gradient, e.local) if t] or [0]) for e in picture.edges]
    gap = {}
    for e, edge in zip(label, picture.edges):
        r = rank[index[edge.target]]
        gap[r] = max(gap.get(r, 40), e + 30)
    x, left = {}, 10.0
    for r in sorted(layers):
        width = max(size[k][0] for k in layers[r])
        left += gap.get(r, 40) if r != min(layers) else 0
        x[r] = left + width / 2
        left += width
    lines = max((sum(t is not None for t in (e.value, e.gradient, e.local)) for e in picture.edges), default=0)
    row = max(max(h for _, h in size) + GAP_Y, 2 * (lines * LINE + 12))   # two labels a row: no overlap
    tallest = max(len(layer) for layer in layers.values())
    y = {}
    for r, layer in layers.items():
        top = (tallest - len(layer)) * row / 2 + 20 + row / 2
        for slot, k in enumerate(layer):
            y[k] = top + slot * row
    width, height = left + 20, tallest * row + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}pt" height="{height:.0f}pt" '
             f'viewBox="0 0 {width:.0f} {height:.0f}"><g class="graph" font-family="Helvetica,sans-serif">']
    for k, node in enumerate(picture.nodes):
        parts.append(_node_svg(node, x[rank[k]], y[k], size[k]))
    for k, edge in enumerate(picture.edges):
        s, t = index[edge.source], index[edge.target]
        parts.append(_edge_svg(k, edge, (x[rank[s]] + size[s][0] / 2, y[s]), (x[rank[t]] - size[t][0] / 2, y[t])))
    parts.append("</g></svg>")
    return "".join(parts)


def _topological(inputs, users) -> list:
    count = [len(i) for i in inputs]
    ready = [k for k, c in enumerate(count) if c == 0]
    order = []
    while ready:
        k = ready.pop()
        order.append(k)
        for u in users[k]:
            count[u] -= 1
            if count[u] == 0:
                ready.append(u)
    return order


def _node_size(node) -> tuple:
    lines = [_width(node.symbol, 13)] + [_width(t, 10) for t in (node.name, node.detail) if t]
    text = max(lines)
    if node.kind == "op":
        d = max(40.0, text + 14, 14 * len(lines) + 14)
        return d, d
    if node.kind == "input":
        return text + 24, 22 + 12 * len(lines)
    return text + 8, 20


def _node_svg(node, cx, cy, size) -> str:
    w, h = size
    key = escape(node.key)
    if node.kind == "op":
        shape = f'<ellipse fill="#f3f4f6" stroke="black" cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}"/>'
    elif node.kind == "input":
        shape = (f'<path fill="#dbeafe" stroke="#3b82f6" d="{_rounded(cx - w / 2, cy - h / 2, w, h)}"/>')
    else:
        shape = ""
    if node.is_output and node.kind in ("op", "input"):
        if node.kind == "op":
            shape += (f'<ellipse fill="none" stroke="black" cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2 + 4:.1f}" '
                      f'ry="{h / 2 + 4:.1f}"/>')
        else:
            shape += f'<path fill="none" stroke="black" d="{_rounded(cx - w / 2 - 4, cy - h / 2 - 4, w + 8, h + 8)}"/>'
    lines = [(node.symbol, 13, "bold")] + [(t, 10, "normal") for t in (node.name, node.detail) if t]
    if node.kind in ("const", "stub", "output-marker"):
        lines = [(node.symbol, 13, "normal")]
    top = cy - (len(lines) - 1) * 7
    texts = "".join(f'<text text-anchor="middle" x="{cx:.1f}" y="{top + 14 * k + 4:.1f}" font-size="{s}" '
                    f'font-weight="{weight}">{escape(t)}</text>' for k, (t, s, weight) in enumerate(lines))
    return (f'<g id="walk_{key}" class="node"><title>{escape(node.tooltip)}</title>{shape}{texts}</g>')


def _rounded(x, y, w, h, r=6) -> str:
    return (f"M{x + r:.1f},{y:.1f}h{w - 2 * r:.1f}a{r},{r} 0 0 1 {r},{r}v{h - 2 * r:.1f}a{r},{r} 0 0 1 -{r},{r}"
            f"h{-(w - 2 * r):.1f}a{r},{r} 0 0 1 -{r},-{r}v{-(h - 2 * r):.1f}a{r},{r} 0 0 1 {r},-{r}z")


def _edge_svg(k, edge, start, end) -> str:
    (x1, y1), (x2, y2) = start, end
    x2 -= 7   # the arrowhead
    dx = max(20.0, (x2 - x1) / 2)
    path = f"M{x1:.1f},{y1:.1f}C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    arrow = f"{x2:.1f},{y2 - 3.5:.1f} {x2 + 7:.1f},{y2:.1f} {x2:.1f},{y2 + 3.5:.1f}"
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    texts = []
    below = 0
    if edge.value is not None:
        texts.append((edge.value, my - 5, "#1a7f37"))
    for text, colour in ((edge.gradient, "#cf222e"), (edge.local, "#57606a")):
        if text is not None:
            texts.append((text, my + 13 + below * LINE, colour))
            below += 1
    labels = "".join(f'<text text-anchor="middle" x="{mx:.1f}" y="{ty:.1f}" font-size="11" fill="{colour}">'
                     f'{escape(t)}</text>' for t, ty, colour in texts)
    dash = ' stroke-dasharray="5,2"' if edge.source.startswith("cut") else ""
    return (f'<g id="walk_e{k}" class="edge"><title>{escape(edge.source)}→{escape(edge.target)}</title>'
            f'<path fill="none" stroke="black"{dash} d="{path}"/>'
            f'<polygon fill="black" stroke="black" points="{arrow}"/>{labels}</g>')
