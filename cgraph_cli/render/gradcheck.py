"""`cgraph gradcheck`'s reports: (evaluation, rows, other_rows, options) -> a table, JSON or plain lines.

`options`: eps, atol, rtol, against (the other form's text or None) and precision."""

import json

from cgraph_cli.expect import number_text
from cgraph_cli.gradcheck import summary
from cgraph_cli.render.numbers import json_value
from cgraph_cli.text import printable, short_text


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
    formulas = options.get("formulas") or []
    if formulas:
        columns = [Column("variable"), Column("formula", kind="words"),
                   Column("reverse mode", None, "right", "number"), Column("formula value", None, "right", "number"),
                   Column("abs error", None, "right", "number"), Column("points", None, "right"),
                   Column("result", kind="fixed")]
        styles = {"ok": "green", "fail": "bold red"}
        cells, notes = [], []
        for row in formulas:
            cells.append([printable(row.variable), printable(short_text(row.formula, 40)),
                          number_text(row.analytic, digits), number_text(row.reference, digits),
                          number_text(row.abs_error, 3), str(row.points),
                          ("FAIL" if row.status == "fail" else row.status, styles[row.status])])
            if row.status == "fail" or "outside" in row.note:
                notes.append(Text(printable(f"{row.variable}: {row.note}"),
                                  style="red" if row.status == "fail" else "yellow"))
        parts.append(Group(Text(f"formulas: at the bound point and {_points(options['samples'])} near it "
                                f"(seed {options['random_seed']})"), Grid(columns, cells), *notes))
    parts.append(Text(summary(rows + other_rows + formulas), style="bold"))
    return Group(*parts)


def _points(samples: int) -> str:
    return f"{samples} point" + ("" if samples == 1 else "s")


def render_json(evaluation, rows: list, other_rows: list, options: dict) -> str:
    def row_document(row):
        return {"variable": row.variable, "analytic": json_value(row.analytic),
                "reference": json_value(row.reference), "abs_error": json_value(row.abs_error),
                "rel_error": json_value(row.rel_error), "status": row.status, "note": row.note}

    formulas = options.get("formulas") or []
    everything = rows + other_rows + formulas
    document = {
        "schema": 1, "value": json_value(evaluation.value), "eps": options["eps"], "atol": options["atol"],
        "rtol": options["rtol"],
        "checks": [row_document(row) for row in rows],
        "ok": sum(row.status == "ok" for row in everything),
        "failed": sum(row.status == "fail" for row in everything),
        "inconclusive": sum(row.status == "inconclusive" for row in everything),
    }
    if options["against"] is not None:
        document["against"] = {"expr": options["against"], "checks": [row_document(row) for row in other_rows]}
    if formulas:
        document["formulas"] = {
            "samples": options["samples"], "random_seed": options["random_seed"],
            "checks": [{"variable": row.variable, "formula": row.formula, "status": row.status,
                        "points": row.points, "analytic": json_value(row.analytic),
                        "reference": json_value(row.reference), "abs_error": json_value(row.abs_error),
                        "rel_error": json_value(row.rel_error), "at": None if row.point is None else {name: json_value(value)
                                                              for name, value in row.point.items()},
                        "note": row.note} for row in formulas]}
    return json.dumps(document, allow_nan=False) + "\n"


def render_plain(evaluation, rows: list, other_rows: list, options: dict) -> str:
    """`VARIABLE ANALYTIC REFERENCE REL_ERROR STATUS` per line, for awk."""
    digits = options["precision"]
    lines = []
    for prefix, group in (("", rows), ("against ", other_rows), ("formula ", options.get("formulas") or [])):
        for row in group:
            lines.append(" ".join([prefix + row.variable.replace(" ", ""), _plain(row.analytic, digits),
                                   _plain(row.reference, digits), _plain(row.rel_error, 3), row.status]))
    return "\n".join(lines) + "\n"


def _plain(value, digits) -> str:
    return "-" if value is None else number_text(value, digits)


RENDERERS = {"table": render_table, "json": render_json, "plain": render_plain}
