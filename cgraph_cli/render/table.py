"""--format table: one row per node in evaluation order (inputs before their users)."""

from rich.console import Group
from rich.text import Text

from cgraph_cli.text import human, printable
from cgraph_cli.render.layout import Column, Grid
from cgraph_cli.render.notes import reduced_notes, seed_note
from cgraph_cli.render.numbers import number_text

HEAD_ROWS = 12     # without --all: the first rows (the inputs come first) ...
TAIL_ROWS = 40     # ... and the rows nearest the output

COLUMNS = {"id": Column("id", "dim", "right", "fixed"), "node": Column("node"),
           "op": Column("op", "dim", kind="fixed"), "inputs": Column("inputs", "dim"),
           "shape": Column("shape", "dim", kind="fixed"), "value": Column("value", "green", "right", "number"),
           "grad": Column("grad", "magenta", "right", "number"),
           "tangent": Column("tangent", "blue", "right", "number"), "note": Column("note", "yellow", kind="words")}


def render(evaluation, options):
    graph = evaluation.graph
    digits = (options.precision, options.full)
    n = len(graph)
    rows = list(range(n))
    omitted = 0
    if not options.show_all and n > HEAD_ROWS + TAIL_ROWS:
        head = sorted(set(range(HEAD_ROWS)) | set(graph.variables.values()))
        tail = [i for i in range(n - TAIL_ROWS, n) if i not in head]
        omitted = n - len(head) - len(tail)
        rows = head + [None] + tail
    notes = {i: "; ".join(filter(None, [evaluation.kinks.get(i, "")] + reduced_notes(evaluation, i)))
             for i in rows if i is not None}
    shapes = {i: getattr(evaluation.values[i], "shape", ()) for i in rows if i is not None}
    columns = ["id", "node", "op", "inputs"] + (["shape"] if any(shapes.values()) else []) + \
        ["value", "grad"] + (["tangent"] if evaluation.tangents is not None else []) + \
        (["note"] if any(notes.values()) else [])
    cells = [_cells(evaluation, node_id, columns, shapes, notes, digits, omitted) for node_id in rows]
    parts = [Grid([COLUMNS[column] for column in columns], cells)]
    if omitted:
        parts.append(Text(f"… {omitted} nodes omitted at the … row (--all shows every node)", style="dim"))
    tangent = "" if evaluation.tangents is None else \
        f"   tangent {human(evaluation.tangents[graph.output], *digits)}"
    parts.append(Text(f"output: #{graph.output}   value {human(evaluation.value, *digits)}{tangent}", style="bold"))
    if evaluation.seed is not None:
        parts.append(Text(seed_note(evaluation), style="yellow"))
    return Group(*parts)


def _cells(evaluation, node_id, columns, shapes, notes, digits, omitted) -> list:
    """One row's cells (node_id None: the row saying how many were omitted); the node's text is
    read at the width its column gets."""
    if node_id is None:
        return ["…", (f"{omitted} nodes omitted", "dim")] + [""] * (len(columns) - 2)
    graph = evaluation.graph
    grad = evaluation.grads[node_id]
    cells = {
        "id": f"#{node_id}", "node": lambda width: graph.label_excerpt(node_id, width), "op": graph.ops[node_id],
        "inputs": ", ".join(f"#{i}" for i in graph.inputs[node_id]),
        "shape": str(shapes[node_id] or ""), "value": number_text(evaluation.values[node_id], *digits),
        "grad": "—" if grad is None else number_text(grad, *digits), "note": printable(notes[node_id]),
        "tangent": "" if evaluation.tangents is None else number_text(evaluation.tangents[node_id], *digits),
    }
    return [cells[column] for column in columns]
