"""--format tree: the graph from the output down to the inputs, then the inputs' gradients.

A DAG is not a tree: a node used several times is shown in full once, where the
walk first meets it, and as `↑ #id` wherever else it recurs (otherwise
`b=a+a; c=b+b; ...` would double per level). The walk uses an explicit stack.
Large graphs are cut to the part nearest the output (MAX_DEPTH levels, MAX_NODES
lines) with a note of what was left out; --all shows every node, and a graph too
deep to indent falls back to the table.
"""

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from cgraph_cli.render import table
from cgraph_cli.render.notes import reduced_notes, seed_note
from cgraph_cli.render.rows import FAST_ROWS, FastTree
from cgraph_cli.text import human, printable

MAX_DEPTH = 8
TEXT_WIDTH = 30   # a node's source text is cut in the middle beyond this, less when deeper
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
    root = Tree(label(evaluation, graph.output, digits, users, 0), guide_style="dim")
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
            child = tree.add(label(evaluation, input_id, digits, users, level + 1))
            children.append((child, input_id, level + 1))
        stack.extend(reversed(children))
    parts = [FastTree(root) if printed > FAST_ROWS else root]   # rich's Tree: a millisecond a line
    if evaluation.seed is not None:
        parts.append(Text(seed_note(evaluation), style="yellow"))
    left_out = _reachable(graph) - len(shown)
    if left_out:
        parts.append(Text(f"{left_out} of {len(graph)} nodes not shown: --all shows them "
                          "(or --format table --all).", style="yellow"))
    parts.append(inputs_table(evaluation, digits))
    return Group(*parts)


def label(evaluation, node_id, digits, users, level) -> Text:
    graph = evaluation.graph
    width = max(8, TEXT_WIDTH - 3 * level)
    op = graph.ops[node_id]
    # a line too long for the terminal wraps at a space under its guide: a number is never cut
    text = Text(overflow="fold")
    text.append(f"#{node_id} ", style="dim")
    name = graph.names[node_id]
    if op == "var":
        text.append(name, style="bold cyan")
        text.append("  input", style="dim")
        if len(users[node_id]) > 1:
            text.append(f", used {len(users[node_id])}×", style="dim")
    elif op == "const":
        text.append(graph.excerpt(node_id, width), style="bold")
        text.append("  const", style="dim")
    else:
        if name:
            text.append(name, style="bold cyan")
            text.append(" " + graph.label_excerpt(node_id, width, without_name=True))
        else:
            text.append(graph.label_excerpt(node_id, width))
        text.append(f"  {op}", style="dim")
    value = evaluation.values[node_id]
    shape = getattr(value, "shape", ())
    grad = evaluation.grads[node_id]
    if shape:   # a tensor: its value and gradient on lines of their own
        text.append(f"  shape {shape}", style="dim")
        text.append("\nvalue ", style="dim")
        text.append(human(value, *digits), style="green")
        if grad is not None:
            text.append("\ngrad  ", style="dim")
            text.append(human(grad, *digits), style="magenta")
    else:
        text.append("  value ", style="dim")
        text.append(human(value, *digits), style="green")
        if grad is not None:
            text.append("  grad ", style="dim")
            text.append(human(grad, *digits), style="magenta")
    if node_id in evaluation.kinks:
        text.append(f"  ⚠ {printable(evaluation.kinks[node_id])}", style="yellow")
    for note in reduced_notes(evaluation, node_id):
        text.append(f"  ⚠ {printable(note)}", style="yellow")
    return text


def inputs_table(evaluation, digits):
    from rich.table import Table

    graph = evaluation.graph
    grid = Table(title="Gradients of the inputs", title_justify="left", title_style="bold",
                 show_edge=False, pad_edge=False)
    grid.add_column("input", style="cyan")
    grid.add_column("value", justify="right", style="green")
    grid.add_column("d(output)/d(input)", justify="right", style="magenta")
    grid.add_row(Text("value (output)"), Text(human(evaluation.value, *digits)), "")
    gradients = evaluation.gradients()   # data (--const) has none: shown as —
    for name, node_id in sorted(graph.variables.items()):
        g = gradients.get(name)
        grid.add_row(Text(printable(name)), Text(human(evaluation.values[node_id], *digits)),
                     Text("—" if g is None else human(g, *digits)))
    return grid


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
