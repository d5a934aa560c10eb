"""`eval --steps`: the backward pass as a table, one row per (node, input) pair, in the order it runs.

Each line: the node, its upstream gradient d(output)/d(node), and for each input
the local derivative, the contribution sent (upstream x local) and, where an input
receives several contributions, its running total (`+=` in the course's code).
The variables close the table with their final gradients.
"""

import json
from fractions import Fraction

from cgraph_cli.ops import OPS
from cgraph_cli.render.json import document as eval_document
from cgraph_cli.render.numbers import number_text
from cgraph_cli.steps import backward_steps
from cgraph_cli.text import human, json_number, machine

HEAD_STEPS = 40   # without --all: the first steps (nearest the output) ...
TAIL_STEPS = 12   # ... and the last ones (the inputs' final gradients)
PLAIN_WIDTH = 80   # plain lines cut a node's text as the JSON does
TABLE_DIGITS = 6   # the table has many number columns: 6 significant digits unless --precision


def render(evaluation, options, output_format: str):
    """The steps in `output_format`: tree and table print the rich table."""
    steps = backward_steps(evaluation)
    if output_format == "json":
        return render_json(evaluation, steps, options)
    if output_format == "plain":
        return render_plain(evaluation, steps, options)
    return render_table(evaluation, steps, options)


INPUT_COLUMN = 4   # in the record layout, each input starts a line of its own


def render_table(evaluation, steps, options):
    """One row per (node, input) pair, a line between nodes: an input's numbers stay on its row."""
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.layout import RULE, Column, Grid   # rich: only for the human table

    columns = [Column("step", "dim", "right", "fixed"), Column("node"), Column("op", "dim", kind="fixed"),
               Column("upstream", "magenta", "right", "number"), Column("input"),
               Column("local", None, "right", "number"), Column("sent", "magenta", "right", "number"),
               Column("total", "bold magenta", "right", "number")]
    graph = evaluation.graph
    digits = options.precision or TABLE_DIGITS

    def number(value):
        if isinstance(value, Fraction):   # --exact: 11/5 unless --precision asks for digits
            return human(value, options.precision)
        return "—" if value is None else number_text(value, digits, options.full)

    rows = list(enumerate(steps, 1))
    omitted = 0
    if not options.show_all and len(rows) > HEAD_STEPS + TAIL_STEPS:
        omitted = len(rows) - HEAD_STEPS - TAIL_STEPS
        rows = rows[:HEAD_STEPS] + [None] + rows[-TAIL_STEPS:]
    cells = []
    for row in rows:
        cells.append(RULE)
        if row is None:
            cells.append(["…", (f"{omitted} steps omitted", "dim")] + [""] * 6)
            continue
        number_, step = row
        node = step.node
        op = "input" if graph.ops[node] == "var" else _symbol(graph.ops[node])
        first = [str(number_), _text(graph, node), op, number(step.upstream)]
        if not step.contributions:
            note = "final gradient" if graph.ops[node] == "var" else "upstream 0: passes nothing on"
            cells.append(first + [(note, "dim"), "", "", ""])
        for c in step.contributions:
            pair = [_input_text(graph, c.input)]
            if c.gradient is None:
                pair += ["—", "—", ""]
            else:
                shown = number(c.gradient)
                sent = _prefixed("+= ", shown) if c.count > 1 and c.index > 1 else shown
                total = f"{number(c.total)} ({c.index}/{c.count})" if c.count > 1 else ""
                pair += [number(c.local), sent, total]
            cells.append((first if c is step.contributions[0] else ["", "", "", ""]) + pair)
    def line(value):   # the closing line: a tensor on one line, as the tree's footer prints it
        return number(value) if isinstance(value, Fraction) else human(value, digits, options.full)

    gradients = "   ".join(f"d{name} = {line(g)}" for name, g in evaluation.gradients().items())
    caption = ("upstream: d(output)/d(node); local: d(node)/d(input); sent = upstream × local; total: the "
               "input's gradient so far, where it receives several contributions (+=)")
    return Group(Text("Backward pass, in the order it runs"),
                 Grid(columns, cells, break_before=[INPUT_COLUMN]),
                 *([Text(f"… {omitted} steps omitted at the … row (--all shows every step)", style="dim")]
                   if omitted else []),
                 Text(caption), Text(f"value {line(evaluation.value)}   {gradients}", style="bold"))


def _text(graph, node_id):
    return lambda width: graph.label_excerpt(node_id, width)


def _input_text(graph, node_id):
    """An input as the course writes it: its name when it has one, else its source text; then its id."""
    tag = f" #{node_id}"
    if graph.names[node_id]:
        return graph.names[node_id] + tag
    return lambda width: graph.excerpt(node_id, max(width - len(tag), 1)) + tag


def _prefixed(prefix: str, text: str) -> str:
    """`+= ` before a number; before a matrix, its other rows indented under the first."""
    return prefix + text.replace("\n", "\n" + " " * len(prefix))


def _symbol(op: str) -> str:
    return OPS[op].symbol if op in OPS else op


def steps_document(evaluation, steps, precision=None) -> list:
    """The steps as JSON-ready objects (the `steps` key of `eval --steps --format json`)."""
    graph = evaluation.graph
    document = []
    for number, step in enumerate(steps, 1):
        document.append({
            "step": number,
            "id": step.node,
            "op": graph.ops[step.node],
            "name": graph.names[step.node],
            "text": graph.label_excerpt(step.node, 80, escape=False),
            "upstream": _json(step.upstream, precision),
            "inputs": [{
                "id": c.input,
                "local": _json(c.local, precision),
                "sent": _json(c.gradient, precision),
                "total": _json(c.total, precision),
                "contribution": c.index or None,
                "contributions": c.count or None,
            } for c in step.contributions],
        })
    return document


def render_json(evaluation, steps, options) -> str:
    result = eval_document(evaluation, options)
    result["steps"] = steps_document(evaluation, steps, options.precision)
    return json.dumps(result, allow_nan=False) + "\n"


def render_plain(evaluation, steps, options) -> str:
    """One tab-separated line per node: step, node, upstream, then input, local, sent, total
    for each input (total empty unless the input receives several contributions)."""
    graph = evaluation.graph
    precision = options.precision

    def number(value):
        return "-" if value is None else _machine(value, precision)

    lines = []
    for number_, step in enumerate(steps, 1):
        fields = [str(number_), graph.label_excerpt(step.node, PLAIN_WIDTH), number(step.upstream)]
        for c in step.contributions:
            total = number(c.total) if c.count > 1 else ""
            fields += [graph.label_excerpt(c.input, PLAIN_WIDTH), number(c.local), number(c.gradient), total]
        lines.append("\t".join(fields))
    return "".join(line + "\n" for line in lines)   # no variable, no step: nothing


def _machine(value, precision):
    if getattr(value, "ndim", 0):   # an array: as JSON, on one line
        return json.dumps(json_number(value, precision))
    return machine(value if isinstance(value, Fraction) else float(value), precision)


def _json(value, precision):
    return json_number(value, precision)
