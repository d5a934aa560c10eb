"""--format tree: the graph from the output down to the inputs, then the inputs' gradients.

A DAG is not a tree: a node used several times is shown in full once, where the
walk first meets it, and as `↑ #id` wherever else it recurs (otherwise
`b=a+a; c=b+b; ...` would double per level). The walk uses an explicit stack.
Large graphs are cut to the part nearest the output (MAX_DEPTH levels, MAX_NODES
lines) with a note of what was left out; --all shows every node, and a graph too
deep to indent falls back to the table. Each label is laid out when drawn, in the width
beside its guides (Label): a number is never cut, a node's text elided only when its line
would not fit.
"""

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from cgraph_cli.render import table
from cgraph_cli.render.notes import reduced_notes, seed_note
from cgraph_cli.render.layout import MIN_TEXT, Column, Grid, elide, length, wrap_numbers, wrap_words
from cgraph_cli.render.numbers import number_text
from cgraph_cli.render.rows import FastTree
from cgraph_cli.text import printable

MAX_DEPTH = 8
MAX_NODES = 200
# deeper than this, --all prints the table: in 80 columns the indentation would crowd out the labels
ALL_MAX_DEPTH = 10


def render(evaluation, options):
    graph = evaluation.graph
    depth = _depth(graph)
    if options.show_all and depth > ALL_MAX_DEPTH:
        note = Text(f"The graph is {depth} levels deep, too deep to indent: shown as a table.",
                    style="yellow")
        return Group(note, table.render(evaluation, options))
    max_depth = depth + 1 if options.show_all else MAX_DEPTH
    max_nodes = len(graph) * 2 + 1 if options.show_all else MAX_NODES
    digits = (options.precision, options.full)
    users = graph.users()
    root = Tree(label(evaluation, graph.output, digits, users), guide_style="dim")
    shown = {graph.output}
    printed = 1
    stack = [(root, graph.output, 0)]
    while stack:
        tree, node_id, level = stack.pop()
        inputs = graph.inputs[node_id]
        if not inputs:
            continue
        if level + 1 > max_depth or printed >= max_nodes:
            tree.add(Text("… (--all shows more)", style="dim"))
            continue
        children = []
        for input_id in inputs:
            if input_id in shown and graph.inputs[input_id]:
                tree.add(Text(f"↑ #{input_id} {_name_or_text(graph, input_id)} (shown above)",
                              style="dim"))
                continue
            shown.add(input_id)
            printed += 1
            child = tree.add(label(evaluation, input_id, digits, users))
            children.append((child, input_id, level + 1))
        stack.extend(reversed(children))
    parts = [FastTree(root)]   # drawn in one pass, its labels fitted to the width
    if evaluation.seed is not None:
        parts.append(Text(seed_note(evaluation), style="yellow"))
    left_out = _reachable(graph) - len(shown)
    if left_out:
        parts.append(Text(f"{left_out} of {len(graph)} nodes not shown: --all shows them "
                          "(or --format table --all).", style="yellow"))
    parts.append(inputs_table(evaluation, digits))
    if options.hints:
        parts.append(Text(FOOTER, style="dim"))
    return Group(*parts)


# The tree's last line on a terminal: where a student looks next (issue 13, section 5).
FOOTER = "--steps: chain rule · cgraph graph: picture · --tangent x=1"   # fits 60 columns


def label(evaluation, node_id, digits, users) -> "Label":
    graph = evaluation.graph
    op = graph.ops[node_id]
    name = graph.names[node_id]
    head, text, tail = [(f"#{node_id} ", "dim")], None, []
    if op == "var":
        head.append((printable(name), "bold cyan"))
        tail.append(("  input", "dim"))
        if len(users[node_id]) > 1:
            tail.append((f", used {len(users[node_id])}×", "dim"))
    elif op == "const":
        text = (lambda width: graph.excerpt(node_id, width)), "bold"
        tail.append(("  const", "dim"))
    else:
        if name:
            head += [(name, "bold cyan"), (" ", None)]
            text = (lambda width: graph.label_excerpt(node_id, width, without_name=True)), None
        else:
            text = (lambda width: graph.label_excerpt(node_id, width)), None
        tail.append((f"  {op}", "dim"))
    value = evaluation.values[node_id]
    shape = getattr(value, "shape", ())
    if shape:
        tail.append((f"  shape {shape}", "dim"))
    grad = evaluation.grads[node_id]
    fields = [("value", number_text(value, *digits), "green")]
    if grad is not None:
        fields.append(("grad", number_text(grad, *digits), "magenta"))
    if evaluation.tangents is not None:
        fields.append(("tangent", number_text(evaluation.tangents[node_id], *digits), "blue"))
    notes = [printable(evaluation.kinks[node_id])] if node_id in evaluation.kinks else []
    notes += [printable(note) for note in reduced_notes(evaluation, node_id)]
    return Label(head, text, tail, fields, notes, bool(shape))


class Label:
    """A node's label, laid out when drawn, in the width beside its guides: on one line when it fits;
    else the node's text elided in its middle (never before); else one field a line. A number is
    never cut (a tensor's rows wrap between elements)."""

    def __init__(self, head, text, tail, fields, notes, tensor=False):
        self.head, self.text, self.tail, self.fields, self.notes = head, text, tail, fields, notes
        self.tensor = tensor

    def lines(self, width: int) -> list:
        """The label's lines, each a list of (text, style)."""
        fixed = sum(length(part) for part, _ in self.head + self.tail)
        text = self.text[0](max(width, MIN_TEXT)) if self.text else ""

        def head(room):
            shown = elide(text, max(room, MIN_TEXT)) if length(text) > room else text
            return self.head + ([(shown, self.text[1])] if self.text else []) + self.tail

        fields = []
        for name, value, style in self.fields:
            fields += [(f"  {name} ", "dim"), (value, style)]
        notes = [(f"  ⚠ {note}", "yellow") for note in self.notes]
        if not self.tensor:
            size = sum(length(part) for part, _ in fields)
            room = width - fixed - size
            if room - sum(length(part) for part, _ in notes) >= length(text):
                return [head(width) + fields + notes]
            if room >= min(length(text), MIN_TEXT) or not self.text:
                if room >= 0:
                    return [head(room) + fields] + self._notes(width)
        lines = [head(width - fixed)]
        scalars = [(name, value, style) for name, value, style in self.fields if "\n" not in value]
        packed = [(f"{name} ", "dim") if k == 0 else (f"  {name} ", "dim")
                  for k, (name, _, _) in enumerate(scalars)]
        together = sum(len(name) + 1 + length(value) for name, value, _ in scalars) + 2 * (len(scalars) - 1)
        if not self.tensor and scalars and together <= width:
            lines.append([part for pair in zip(packed, [(v, s) for _, v, s in scalars]) for part in pair])
        else:
            for name, value, style in self.fields:
                tag = f"{name:<5} "   # (tangent is longer than value and grad: its rows indent under it)
                indent = " " * len(tag)
                rows = [part for row in value.split("\n") for part in wrap_numbers(row, width - len(tag))]
                lines.append([(tag, "dim"), (rows[0], style)])
                lines += [[(indent, None), (row, style)] for row in rows[1:]]
        return lines + self._notes(width)

    def _notes(self, width):
        return [[(line, "yellow")] for note in self.notes for line in wrap_words(f"⚠ {note}", width)]


def inputs_table(evaluation, digits):
    graph = evaluation.graph
    tangents = evaluation.tangents
    columns = [Column("input", "cyan"), Column("value", "green", "right", "number"),
               Column("d(output)/d(input)", "magenta", "right", "number")] + \
        ([Column("tangent", "blue", "right", "number")] if tangents is not None else [])
    rows = [["value (output)", number_text(evaluation.value, *digits), ""] +
            ([number_text(tangents[graph.output], *digits)] if tangents is not None else [])]
    gradients = evaluation.gradients()   # data (--const) has none: shown as —
    for name, node_id in sorted(graph.variables.items()):
        g = gradients.get(name)
        rows.append([printable(name), number_text(evaluation.values[node_id], *digits),
                     "—" if g is None else number_text(g, *digits)] +
                    ([number_text(tangents[node_id], *digits)] if tangents is not None else []))
    return Group(Text("Gradients of the inputs", style="bold"), Grid(columns, rows, show_edge=False))


def _name_or_text(graph, node_id) -> str:
    return graph.names[node_id] or graph.excerpt(node_id, 32)


def _depth(graph) -> int:
    """Levels from the output down to its deepest input (one pass over the reversed tape)."""
    depth = [-1] * len(graph)
    depth[graph.output] = 0
    deepest = 0
    for node_id in range(graph.output, -1, -1):
        level = depth[node_id]
        if level < 0:
            continue
        deepest = max(deepest, level)
        for input_id in graph.inputs[node_id]:
            if depth[input_id] < level + 1:
                depth[input_id] = level + 1
    return deepest


def _reachable(graph) -> int:
    """How many nodes the output depends on, itself included, leaves too."""
    reached = [False] * len(graph)
    reached[graph.output] = True
    for node_id in range(graph.output, -1, -1):
        if reached[node_id]:
            for input_id in graph.inputs[node_id]:
                reached[input_id] = True
    return sum(reached)
