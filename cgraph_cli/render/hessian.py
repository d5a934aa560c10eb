"""The Hessian, for `cgraph hessian` and `eval --order 2`: a table, a JSON object, `NAME NAME VALUE` lines."""

import json

from cgraph_cli.render.eval import RENDERERS as EVAL_RENDERERS
from cgraph_cli.render.json import document as eval_document
from cgraph_cli.text import cut_middle, human, json_number, machine, printable


def document(names: list, rows: list, precision=None) -> dict:
    """{"x": {"x": d2f/dx2, "y": d2f/dxdy}, ...}: JSON numbers (exact ones as in eval --exact)."""
    return {a: {b: json_number(rows[i][j], precision) for j, b in enumerate(names)}
            for i, a in enumerate(names)}


def plain_lines(names: list, rows: list, precision=None) -> list:
    return [f"{a} {b} {machine(rows[i][j], precision)}" for i, a in enumerate(names)
            for j, b in enumerate(names)]


def rich_table(names: list, rows: list, precision=None, title: str | None = "Hessian"):
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.layout import Column, Grid

    columns = [Column("", "bold cyan")] + [Column(printable(name), None, "right", "number") for name in names]
    grid = Grid(columns, [[printable(name)] + [human(value, precision) for value in row]
                          for name, row in zip(names, rows)])
    return grid if title is None else Group(Text(title, style="bold"), grid)


# ----- cgraph hessian: render(graph, bindings, names, rows, precision) -----

def render_table(graph, bindings, names, rows, precision):
    from rich.console import Group
    from rich.text import Text

    point = ", ".join(f"{name} = {human(bindings[name], precision)}" for name in sorted(bindings))
    source = printable(cut_middle(graph.source.strip(), 60), keep="\n")
    return Group(Text(printable(f"Hessian of {source} at {point}", keep="\n"), style="bold"),
                 rich_table(names, rows, precision, title=None))


def render_json(graph, bindings, names, rows, precision) -> str:
    body = {"schema": 1, "variables": names, "hessian": document(names, rows, precision)}
    return json.dumps(body, allow_nan=False) + "\n"


def render_plain(graph, bindings, names, rows, precision) -> str:
    return "".join(line + "\n" for line in plain_lines(names, rows, precision))


RENDERERS = {"table": render_table, "json": render_json, "plain": render_plain}


# ----- eval --order 2: eval's output with the Hessian added -----

def with_eval(evaluation, output_format: str, options, names: list, rows: list):
    """eval's output with the Hessian of every variable added: a "hessian" object in JSON,
    `hessian NAME NAME VALUE` lines in plain, a table below the tree or table."""
    if output_format == "json":
        body = eval_document(evaluation, options)
        body["hessian"] = document(names, rows, options.precision)
        return json.dumps(body, allow_nan=False) + "\n"
    if output_format == "plain":
        return EVAL_RENDERERS["plain"](evaluation, options) + "".join(
            f"hessian {line}\n" for line in plain_lines(names, rows, options.precision))
    from rich.console import Group
    from rich.text import Text

    return Group(EVAL_RENDERERS[output_format](evaluation, options),
                 Text("Hessian: second derivatives of the output", style="bold"),
                 rich_table(names, rows, options.precision, title=None))
