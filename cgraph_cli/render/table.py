"""--format table: one row per node in evaluation order (inputs before their users)."""

from rich.console import Group
from rich.table import Table
from rich.text import Text

from cgraph_cli.text import human, printable
from cgraph_cli.render.notes import reduced_notes, seed_note
from cgraph_cli.render.rows import FAST_ROWS, RowTable

HEAD_ROWS = 12     # without --all: the first rows (the inputs come first) ...
TAIL_ROWS = 40     # ... and the rows nearest the output


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
        ["value", "grad"] + (["note"] if any(notes.values()) else [])
    cells = [_cells(evaluation, node_id, columns, shapes, notes, digits, omitted) for node_id in rows]
    parts = [_table(columns, cells, len(rows)),
             Text(f"output: #{graph.output}   value {human(evaluation.value, *digits)}", style="bold")]
    if evaluation.seed is not None:
        parts.append(Text(seed_note(evaluation), style="yellow"))
    return Group(*parts)


STYLES = {"id": "dim", "op": "dim", "inputs": "dim", "shape": "dim", "value": "green",
          "grad": "magenta", "note": "yellow"}


def _cells(evaluation, node_id, columns, shapes, notes, digits, omitted) -> list:
    """One row's cells as text (node_id None: the row saying how many were omitted)."""
    if node_id is None:
        return ["…", f"{omitted} nodes omitted (--all shows every node)"] + [""] * (len(columns) - 2)
    graph = evaluation.graph
    grad = evaluation.grads[node_id]
    cells = {
        "id": f"#{node_id}", "node": graph.label_excerpt(node_id), "op": graph.ops[node_id],
        "inputs": ", ".join(f"#{i}" for i in graph.inputs[node_id]),
        "shape": str(shapes[node_id] or ""), "value": human(evaluation.values[node_id], *digits),
        "grad": "—" if grad is None else human(grad, *digits), "note": printable(notes[node_id]),
    }
    return [cells[column] for column in columns]


def _table(columns: list, rows: list, count: int):
    """rich's Table for a screenful; past FAST_ROWS rows the linear-time RowTable, drawn alike."""
    justify = {column: "right" if column in ("id", "value", "grad") else "left" for column in columns}
    if count > FAST_ROWS:
        return RowTable([(column, STYLES.get(column), justify[column]) for column in columns], rows,
                        shrink=[columns.index(c) for c in ("note", "node", "inputs") if c in columns])
    table = Table(show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, style=STYLES.get(column), justify=justify[column])
    for row in rows:
        if row[0] == "…":
            table.add_row("…", Text(row[1], style="dim"), *row[2:])
        else:
            table.add_row(*map(Text, row))
    return table
