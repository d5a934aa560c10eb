"""`eval --steps`: the backward pass as a table, one line per node, in the order it runs.

Each line: the node, its upstream gradient d(output)/d(node), and for each input
the local derivative, the contribution sent (upstream x local) and, where an input
receives several contributions, its running total (`+=` in the course's code).
The variables close the table with their final gradients.
"""

import json
from fractions import Fraction

from cgraph_cli.ops import OPS
from cgraph_cli.render.json import document as eval_document
from cgraph_cli.steps import backward_steps
from cgraph_cli.text import human, json_number, machine

HEAD_STEPS = 40   # without --all: the first steps (nearest the output) ...
TAIL_STEPS = 12   # ... and the last ones (the inputs' final gradients)
TEXT_WIDTH = 32
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


def render_table(evaluation, steps, options):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    graph = evaluation.graph
    digits = options.precision or TABLE_DIGITS

    def number(value):
        if isinstance(value, Fraction):   # --exact: 11/5 unless --precision asks for digits
            return human(value, options.precision)
        return "—" if value is None else human(value, digits)

    table = Table(header_style="bold", pad_edge=False, show_lines=True,
                  title="Backward pass, in the order it runs", title_justify="left",
                  caption="upstream: d(output)/d(node); local: d(node)/d(input); sent = upstream × "
                          "local; total: the input's gradient so far, where it receives several "
                          "contributions (+=)", caption_justify="left")
    table.add_column("step", justify="right", style="dim")
    table.add_column("node")
    table.add_column("op", style="dim")
    table.add_column("upstream", justify="right", style="magenta")
    table.add_column("input")
    table.add_column("local", justify="right")
    table.add_column("sent", justify="right", style="magenta")
    table.add_column("total", justify="right", style="bold magenta")
    rows = list(enumerate(steps, 1))
    omitted = 0
    if not options.show_all and len(rows) > HEAD_STEPS + TAIL_STEPS:
        omitted = len(rows) - HEAD_STEPS - TAIL_STEPS
        rows = rows[:HEAD_STEPS] + [None] + rows[-TAIL_STEPS:]
    for row in rows:
        if row is None:
            table.add_row("…", Text(f"{omitted} steps omitted (--all shows every step)", style="dim"),
                          "", "", "", "", "", "")
            continue
        number_, step = row
        node = step.node
        op = "input" if graph.ops[node] == "var" else _symbol(graph.ops[node])
        inputs, local, sent, totals = [], [], [], []
        if not step.contributions:
            note = "final gradient" if graph.ops[node] == "var" else "upstream 0: passes nothing on"
            inputs.append(Text(note, style="dim"))
        for c in step.contributions:
            inputs.append(f"{_short_name(graph, c.input)} #{c.input}")
            if c.gradient is None:
                local.append("—")
                sent.append("—")
                totals.append("")
                continue
            local.append(number(c.local))
            shown = number(c.gradient)
            sent.append(f"+= {shown}" if c.count > 1 and c.index > 1 else shown)
            totals.append(f"{number(c.total)} ({c.index}/{c.count})" if c.count > 1 else "")
        table.add_row(f"{number_}", Text(graph.label_excerpt(node, TEXT_WIDTH)), Text(op),
                      Text(number(step.upstream)), *(_lines(cells) for cells in (inputs, local, sent, totals)))
    gradients = "   ".join(f"d{name} = {number(g)}" for name, g in evaluation.gradients().items())
    return Group(table, Text(f"value {number(evaluation.value)}   {gradients}", style="bold"))


def _short_name(graph, node_id) -> str:
    """An input as the course writes it: its name when it has one, else its source text."""
    return graph.names[node_id] or graph.excerpt(node_id, TEXT_WIDTH)


def _lines(cells):
    from rich.text import Text

    text = Text()
    for k, cell in enumerate(cells):
        if k:
            text.append("\n")
        text.append(cell if isinstance(cell, Text) else Text(cell))
    return text


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
