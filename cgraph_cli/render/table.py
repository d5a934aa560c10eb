"""--format table: one row per node in evaluation order (inputs before their users)."""

from rich.console import Group
from rich.table import Table
from rich.text import Text

from cgraph_cli.render.numbers import human, short_text

HEAD_ROWS = 12     # without --all: the first rows (the inputs come first) ...
TAIL_ROWS = 40     # ... and the rows nearest the output


def render(evaluation, options):
    graph = evaluation.graph
    digits = options.precision
    table = Table(show_lines=False, header_style="bold", pad_edge=False)
    table.add_column("id", justify="right", style="dim")
    table.add_column("node")
    table.add_column("op", style="dim")
    table.add_column("inputs", style="dim")
    table.add_column("value", justify="right", style="green")
    table.add_column("grad", justify="right", style="magenta")
    table.add_column("note", style="yellow")
    n = len(graph)
    rows = list(range(n))
    omitted = 0
    if not options.show_all and n > HEAD_ROWS + TAIL_ROWS:
        head = sorted(set(range(HEAD_ROWS)) | set(graph.variables.values()))
        tail = [i for i in range(n - TAIL_ROWS, n) if i not in head]
        omitted = n - len(head) - len(tail)
        rows = head + [None] + tail
    for node_id in rows:
        if node_id is None:
            table.add_row("…", Text(f"{omitted} nodes omitted (--all shows every node)", style="dim"),
                          "", "", "", "", "")
            continue
        text = short_text(graph.label(node_id))
        grad = evaluation.grads[node_id]
        inputs = ", ".join(f"#{i}" for i in graph.inputs[node_id])
        table.add_row(f"#{node_id}", text, graph.ops[node_id], inputs,
                      human(evaluation.values[node_id], digits),
                      "—" if grad is None else human(grad, digits),
                      evaluation.kinks.get(node_id, ""))
    marker = f"output: #{graph.output}   value {human(evaluation.value, digits)}"
    return Group(table, Text(marker, style="bold"))
