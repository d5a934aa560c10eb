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
from cgraph_cli import trace
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
               Column("upstream", "magenta", "right", "number"), Column("input"), Column("rule", "cyan"),
               Column("local", None, "right", "number"), Column("sent", "magenta", "right", "number"),
               Column("total", "bold magenta", "right", "number")]
    graph = evaluation.graph
    digits = options.precision or TABLE_DIGITS
    names, upstream = trace.trace_names(graph), trace.upstream_name(graph)

    def number(value):
        if isinstance(value, Fraction):   # --exact: 11/5 unless --precision asks for digits
            return human(value, options.precision)
        return "—" if value is None else number_text(value, digits, options.full)

    forward = _forward_table(evaluation, names, options, number, Grid, Column, RULE)

    rows, omitted = _elided(list(enumerate(steps, 1)), options.show_all)
    cells = []
    for row in rows:
        cells.append(RULE)
        if row is None:
            cells.append(["…", (f"{omitted} steps omitted", "dim")] + [""] * 7)
            continue
        number_, step = row
        node = step.node
        op = "input" if graph.ops[node] == "var" else _symbol(graph.ops[node])
        first = [str(number_), _text(graph, node, names), op, number(step.upstream)]
        if not step.contributions:
            note = "final gradient" if graph.ops[node] == "var" else "upstream 0: passes nothing on"
            cells.append(first + [(note, "dim"), "", "", "", ""])
        for position, c in enumerate(step.contributions):
            pair = [_input_text(graph, c.input, names)]
            if c.gradient is None:
                pair += ["", "—", "—", ""]
            else:
                shown = number(c.gradient)
                sent = _prefixed("+= ", shown) if c.count > 1 and c.index > 1 else shown
                total = f"{number(c.total)} ({c.index}/{c.count})" if c.count > 1 else ""
                pair += [_rule_cell(graph, evaluation.values, names, node, c.input, position, upstream),
                         number(c.local), sent, total]
            cells.append((first if c is step.contributions[0] else ["", "", "", ""]) + pair)

    def line(value):   # the closing line: a tensor on one line, as the tree's footer prints it
        return number(value) if isinstance(value, Fraction) else human(value, digits, options.full)

    gradients = "   ".join(f"d{name} = {line(g)}" for name, g in evaluation.gradients().items())
    caption = ("upstream: d(output)/d(node); rule and local: d(node)/d(input), as a formula of the trace's "
               f"names and its value ({upstream}: the upstream gradient, for a tensor op's gradient sent); "
               "sent = upstream × local; total: the input's gradient so far, where it receives several "
               "contributions (+=)")
    heading = "Forward pass (the evaluation trace), in the order it runs"
    if evaluation.tangents is not None:
        heading += "; ẋ is the tangent of x (--tangent)"
    return Group(Text(heading), forward,
                 Text("Backward pass, in the order it runs"),
                 Grid(columns, cells, break_before=[INPUT_COLUMN]),
                 *([Text(f"… {omitted} steps omitted at the … row (--all shows every step)", style="dim")]
                   if omitted else []),
                 Text(caption), Text(f"value {line(evaluation.value)}   {gradients}", style="bold"))


def _elided(rows: list, show_all: bool) -> tuple:
    """(rows, how many left out): past HEAD_STEPS + TAIL_STEPS rows, the first and last ones around a
    None that marks the cut (unless --all)."""
    if show_all or len(rows) <= HEAD_STEPS + TAIL_STEPS:
        return rows, 0
    return rows[:HEAD_STEPS] + [None] + rows[-TAIL_STEPS:], len(rows) - HEAD_STEPS - TAIL_STEPS


def _forward_table(evaluation, names, options, number, Grid, Column, RULE):
    """The forward trace as rows: step, statement (`q = x + y`), value; long graphs cut as the steps."""
    statements = trace.forward_trace(evaluation, names)
    tangents = None if evaluation.tangents is None else trace.tangent_trace(evaluation, names)
    rows, omitted = _elided(list(enumerate(statements, 1)), options.show_all)
    cells = []
    for row in rows:
        if row is None:
            cells.append(["…", (f"{omitted} statements omitted (--all shows every one)", "dim"), ""] +
                         (["", ""] if tangents else []))
            continue
        number_, (_, _, statement, value) = row
        cells.append([str(number_), statement, number(value)])
        if tangents:
            rule, tangent = tangents[number_ - 1]
            cells[-1] += [rule or "—", number(tangent)]
    columns = [Column("step", "dim", "right", "fixed"), Column("statement"),
               Column("value", "magenta", "right", "number")]
    if tangents:   # eval --tangent: each statement's tangent rule (v̇3 = v̇1 + v̇2) and value
        columns += [Column("tangent rule", "blue"), Column("tangent", "blue", "right", "number")]
    return Grid(columns, cells)


def _rule_cell(graph, values, names, node_id, input_id, position, upstream):
    """`∂f/∂q = z` for a scalar row (and the engine's sum where the input was broadcast); `sent =
    g @ transpose(W)` for a tensor row; `—` where the language cannot write the rule."""
    rule, local = trace.rule_texts(graph, values, names, node_id, position, upstream)
    if local is not None:
        summed = f"; sent = {rule}" if rule.startswith("sum(") else ""
        return f"∂{names[node_id]}/∂{names[input_id]} = {local}{summed}"
    return f"sent = {rule}" if rule is not None else "—"


def _trace_name(graph, node_id, names) -> str:
    """`v3 = ` before a node the trace names (the rule texts use that name), else nothing."""
    name = names[node_id]
    return "" if name is None or name == graph.names[node_id] else f"{name} = "


def _text(graph, node_id, names):
    head = _trace_name(graph, node_id, names)
    return lambda width: head + graph.label_excerpt(node_id, max(width - len(head), 1))


def _input_text(graph, node_id, names):
    """An input as the course writes it: its name when it has one, else its trace name and source text;
    then its id."""
    tag = f" #{node_id}"
    if graph.names[node_id] and names[node_id] == graph.names[node_id]:
        return graph.names[node_id] + tag
    head = _trace_name(graph, node_id, names)
    return lambda width: head + graph.excerpt(node_id, max(width - len(tag) - len(head), 1)) + tag


def _prefixed(prefix: str, text: str) -> str:
    """`+= ` before a number; before a matrix, its other rows indented under the first."""
    return prefix + text.replace("\n", "\n" + " " * len(prefix))


def _symbol(op: str) -> str:
    return OPS[op].symbol if op in OPS else op


def forward_document(evaluation, names, precision=None) -> list:
    """The forward trace as JSON-ready objects (the `forward_steps` key of `eval --steps --format json`);
    with --tangent each also has "tangent" and "tangent_rule" (null where the language cannot write it)."""
    steps = [{"id": node_id, "name": name, "statement": statement, "value": _json(value, precision)}
             for node_id, name, statement, value in trace.forward_trace(evaluation, names)]
    if evaluation.tangents is not None:
        for step, (rule, tangent) in zip(steps, trace.tangent_trace(evaluation, names)):
            step["tangent"] = _json(tangent, precision)
            step["tangent_rule"] = rule
    return steps


def steps_document(evaluation, steps, precision=None, names=None) -> list:
    """The steps as JSON-ready objects (the `steps` key of `eval --steps --format json`)."""
    graph = evaluation.graph
    names = names if names is not None else trace.trace_names(graph)
    upstream = trace.upstream_name(graph)
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
                **_rules(graph, evaluation.values, names, step.node, position, upstream, c),
                "local": _json(c.local, precision),
                "sent": _json(c.gradient, precision),
                "total": _json(c.total, precision),
                "contribution": c.index or None,
                "contributions": c.count or None,
            } for position, c in enumerate(step.contributions)],
        })
    return document


def _rules(graph, values, names, node_id, position, upstream, contribution) -> dict:
    """"rule" (the sent gradient's formula, or null) and, for a scalar row, "local_rule"."""
    if contribution.gradient is None:
        return {"rule": None}
    rule, local = trace.rule_texts(graph, values, names, node_id, position, upstream)
    return {"rule": rule, **({"local_rule": local} if local is not None else {})}


def render_json(evaluation, steps, options) -> str:
    result = eval_document(evaluation, options)
    names = trace.trace_names(evaluation.graph)
    result["forward_steps"] = forward_document(evaluation, names, options.precision)
    result["steps"] = steps_document(evaluation, steps, options.precision, names)
    return json.dumps(result, allow_nan=False) + "\n"


def render_plain(evaluation, steps, options) -> str:
    """Tab-separated lines, the forward trace first: `forward`, step, name, statement, value (and with
    --tangent: tangent rule, tangent); then one
    line per node of the backward pass: `backward`, step, node, upstream, then input, local, sent,
    total, rule for each input (total empty unless the input receives several contributions; rule
    the sent gradient's formula, `-` without one)."""
    graph = evaluation.graph
    precision = options.precision
    names, upstream = trace.trace_names(graph), trace.upstream_name(graph)

    def number(value):
        return "-" if value is None else _machine(value, precision)

    lines = [f"forward\t{k}\t{name}\t{statement}\t{number(value)}"
             for k, (_, name, statement, value) in enumerate(trace.forward_trace(evaluation, names), 1)]
    if evaluation.tangents is not None:   # --tangent: the tangent rule (- without one) and the tangent
        lines = [f"{line}\t{rule or '-'}\t{number(tangent)}"
                 for line, (rule, tangent) in zip(lines, trace.tangent_trace(evaluation, names))]
    for number_, step in enumerate(steps, 1):
        fields = ["backward", str(number_), graph.label_excerpt(step.node, PLAIN_WIDTH), number(step.upstream)]
        for position, c in enumerate(step.contributions):
            total = number(c.total) if c.count > 1 else ""
            rule = None if c.gradient is None else trace.rule_texts(graph, evaluation.values, names, step.node,
                                                                  position, upstream)[0]
            fields += [graph.label_excerpt(c.input, PLAIN_WIDTH), number(c.local), number(c.gradient), total,
                       rule or "-"]
        lines.append("\t".join(fields))
    return "".join(line + "\n" for line in lines)   # no variable, no step: nothing


def _machine(value, precision):
    if getattr(value, "ndim", 0):   # an array: as JSON, on one line
        return json.dumps(json_number(value, precision))
    return machine(value if isinstance(value, Fraction) else float(value), precision)


def _json(value, precision):
    return json_number(value, precision)
