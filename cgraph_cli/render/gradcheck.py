"""`cgraph gradcheck`'s reports: (evaluation, rows, other_rows, options) -> a table, JSON or plain lines.

`options`: eps, atol, rtol, against (the other form's text or None) and precision."""

import json

from cgraph_cli.expect import number_text
from cgraph_cli.gradcheck import summary
from cgraph_cli.render.numbers import json_value
from cgraph_cli.text import printable


def render_table(evaluation, rows: list, other_rows: list, options: dict):
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.layout import Column, Grid

    digits = options["precision"] or 10

    def table_of(rows, reference_title, title):
        columns = [Column("variable"), Column("reverse mode", None, "right", "number"),
                   Column(reference_title, None, "right", "number"),
                   Column("abs error", None, "right", "number"), Column("rel error", None, "right", "number"),
                   Column("result", kind="fixed"), Column("note", "dim", kind="words")]
        styles = {"ok": "green", "fail": "bold red", "inconclusive": "yellow"}
        cells = [[printable(row.variable), number_text(row.analytic, digits), number_text(row.reference, digits),
                  number_text(row.abs_error, 3), number_text(row.rel_error, 3),
                  ("FAIL" if row.status == "fail" else row.status, styles[row.status]), printable(row.note)]
                 for row in rows]
        return Group(Text(printable(title)), Grid(columns, cells))

    parts = [table_of(rows, "central difference",
                      f"gradcheck: eps {options['eps']:g}, atol {options['atol']:g}, rtol {options['rtol']:g}")]
    if other_rows:
        parts.append(table_of(other_rows, "other form", f"against: {options['against']}"))
    parts.append(Text(summary(rows + other_rows), style="bold"))
    return Group(*parts)


def render_json(evaluation, rows: list, other_rows: list, options: dict) -> str:
    def row_document(row):
        return {"variable": row.variable, "analytic": json_value(row.analytic),
                "reference": json_value(row.reference), "abs_error": json_value(row.abs_error),
                "rel_error": json_value(row.rel_error), "status": row.status, "note": row.note}

    everything = rows + other_rows
    document = {
        "value": json_value(evaluation.value), "eps": options["eps"], "atol": options["atol"],
        "rtol": options["rtol"],
        "checks": [row_document(row) for row in rows],
        "ok": sum(row.status == "ok" for row in everything),
        "failed": sum(row.status == "fail" for row in everything),
        "inconclusive": sum(row.status == "inconclusive" for row in everything),
    }
    if options["against"] is not None:
        document["against"] = {"expr": options["against"], "checks": [row_document(row) for row in other_rows]}
    return json.dumps(document, allow_nan=False) + "\n"


def render_plain(evaluation, rows: list, other_rows: list, options: dict) -> str:
    """`VARIABLE ANALYTIC REFERENCE REL_ERROR STATUS` per line, for awk."""
    digits = options["precision"]
    lines = []
    for prefix, group in (("", rows), ("against ", other_rows)):
        for row in group:
            lines.append(" ".join([prefix + row.variable.replace(" ", ""), _plain(row.analytic, digits),
                                   _plain(row.reference, digits), _plain(row.rel_error, 3), row.status]))
    return "\n".join(lines) + "\n"


def _plain(value, digits) -> str:
    return "-" if value is None else number_text(value, digits)


RENDERERS = {"table": render_table, "json": render_json, "plain": render_plain}
