"""`cgraph gradcheck EXPR`: reverse-mode gradients against central finite differences.

For each variable (each element of a tensor) the output is evaluated at x + eps and x - eps, and
(f(x+eps) - f(x-eps)) / (2 eps) is compared with the reverse-mode gradient. The relative error is
the course guideline's |a-b| / max(|a|,|b|) (0 when both are 0); a variable fails when
|a-b| > atol + rtol * max(|a|,|b|). Defaults as PyTorch's gradcheck: eps 1e-6, atol 1e-5, rtol 1e-3,
in float64. A tensor output is checked through the sum of its elements (the engine's default seed).

Kink-aware: a central difference across a kink measures neither side's slope. Where a probe puts
a kink on the other side (a relu or abs argument changes sign, a max/min changes its winner, a sign
jumps) or leaves the domain, the variable is inconclusive, not failed. Kink ops are piecewise
linear, so "the same side" is "the same local derivative": their vjp with an upstream of 1 is
compared between the point and each probe, for every op in the table that declares a kink.
"""

import math
from typing import NamedTuple

import click

from cgraph_cli.cli import BINDINGS_HELP, CONTEXT, BindingCommand, input_options
from cgraph_cli.errors import BindingError, CgraphError, CheckFailed, ExitStatus
from cgraph_cli.expect import Tolerance, compare, is_tensor, number_text

DEFAULT_EPS = 1e-6
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-3
JUMPS = {"sign"}   # ops whose value jumps (their slope is 0 on both sides): compare values instead


class Row(NamedTuple):
    variable: str            # "x", or "W[1, 0]" for an element of a tensor
    analytic: float          # reverse mode
    reference: float | None  # central difference (or the other form's gradient, for --against)
    abs_error: float | None
    rel_error: float | None
    status: str              # "ok", "fail" or "inconclusive"
    note: str = ""


def relative_error(a: float, b: float) -> float:
    """|a-b| / max(|a|,|b|), 0 when both are 0."""
    if a == b:
        return 0.0
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def judge(variable: str, analytic: float, reference: float, atol: float, rtol: float) -> Row:
    absolute = abs(analytic - reference) if analytic != reference else 0.0
    if math.isnan(absolute):
        absolute = math.inf
    bound = atol + rtol * max(abs(analytic), abs(reference))
    ok = analytic == reference or absolute <= bound
    return Row(variable, analytic, reference, absolute, relative_error(analytic, reference),
               "ok" if ok else "fail")


def _total(value) -> float:
    """The checked scalar: the output itself, or the sum of a tensor output's elements."""
    if is_tensor(value):
        return math.fsum(value.ravel().tolist())
    return float(value)


def _elements(value):
    """(index, label suffix) of each element: one () for a scalar."""
    if not is_tensor(value):
        return [((), "")]
    import numpy

    return [(index, "[" + ", ".join(map(str, index)) + "]") for index in numpy.ndindex(value.shape)]


def _shifted(value, index: tuple, delta: float):
    if not index and not is_tensor(value):
        return value + delta
    shifted = value.astype(float, copy=True)
    shifted[index] += delta
    return shifted


def gradcheck(graph, bindings: dict, eps: float = DEFAULT_EPS, atol: float = DEFAULT_ATOL,
              rtol: float = DEFAULT_RTOL, ops: dict = None):
    """(evaluation, rows): one row per variable element, reverse mode against central differences."""
    from cgraph_cli.engine import choose_ops, evaluate, forward

    ops = ops if ops is not None else choose_ops(graph, bindings)
    evaluation = evaluate(graph, bindings, ops=ops)
    branches = _Branches(graph, ops)
    at_point = branches.at(evaluation.values)
    gradients = evaluation.gradients()
    rows = []
    for name in sorted(graph.variables):
        gradient = gradients[name]
        for index, suffix in _elements(bindings[name]):
            label = name + suffix
            analytic = float(gradient[index]) if index else float(gradient)
            totals, crossed, failure = [], None, None
            for delta in (eps, -eps):
                probe = dict(bindings)
                probe[name] = _shifted(bindings[name], index, delta)
                try:
                    values = forward(graph, probe, ops)
                except CgraphError as error:
                    failure = f"the probe {label}{'+' if delta > 0 else '-'}eps fails: " \
                              f"{error.message.split(' at line')[0]}"
                    break
                totals.append(_total(values[graph.output]))
                crossed = crossed or branches.crossed(at_point, values)
            if failure or crossed:
                rows.append(Row(label, analytic, None, None, None, "inconclusive", failure or crossed))
                continue
            numeric = (totals[0] - totals[1]) / (2 * eps)
            row = judge(label, analytic, numeric, atol, rtol)
            if not math.isfinite(analytic) and row.status == "fail":
                row = row._replace(note="the reverse-mode gradient is not finite here")
            rows.append(row)
    return evaluation, rows


class _Branches:
    """Which side of its kink each kink node is on, to tell when a probe crosses one."""

    def __init__(self, graph, ops):
        self.graph = graph
        self.nodes = [(node_id, ops[op]) for node_id, op in enumerate(graph.ops)
                      if op in JUMPS or ops[op].kink is not None]
        self.attrs = graph.attrs   # keyword arguments of ops such as max(X, axis=0)

    def at(self, values) -> list:
        sides = []
        for node_id, op in self.nodes:
            inputs = [values[i] for i in self.graph.inputs[node_id]]
            out = values[node_id]
            if op.name in JUMPS:
                sides.append(out)
                continue
            one = out * 0.0 + 1.0
            try:
                sides.append(op.vjp(one, out, *inputs, **self.attrs.get(node_id, {})))
            except (ArithmeticError, ValueError):
                sides.append(None)
        return sides

    def crossed(self, at_point: list, values) -> str | None:
        for (node_id, op), here, there in zip(self.nodes, at_point, self.at(values)):
            if not _same(here, there):
                kind = "jumps" if op.name in JUMPS else "crosses its kink"
                return f"the probe {kind} at {self.graph.text(node_id)}"
        return None


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if is_tensor(a) or is_tensor(b):
        import numpy

        return numpy.array_equal(a, b, equal_nan=True)
    return a == b or (a != a and b != b)


def compare_forms(evaluation, other, atol: float, rtol: float) -> list:
    """Rows comparing the value and each gradient of the program with another form of it."""
    tolerance = Tolerance(rtol, atol)
    rows = []
    pairs = [("value", evaluation.value, other.value)]
    theirs = other.gradients()
    pairs += [(f"d/d{name}", g, theirs.get(name)) for name, g in evaluation.gradients().items()]
    pairs += [(f"d/d{name}", None, g) for name, g in theirs.items() if name not in evaluation.gradients()]
    for label, mine, reference in pairs:
        if mine is None or reference is None:
            rows.append(Row(label, mine, reference, None, None, "fail",
                            "only one of the two forms has this variable"))
            continue
        if is_tensor(mine) or is_tensor(reference):
            comparison = compare(reference, mine, tolerance)
            rows.append(Row(label, mine, reference, comparison.difference, None,
                            "ok" if comparison.passed else "fail", comparison.note))
            continue
        rows.append(judge(label, float(mine), float(reference), atol, rtol))
    return rows


# ----------------------------------------------------------------------------- output

def render_table(rows: list, other_rows: list, options: dict):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    digits = options["precision"] or 10

    def table_of(rows, reference_title, title):
        table = Table(header_style="bold", pad_edge=False, title=Text(title), title_justify="left")
        for column, justify in (("variable", "left"), ("reverse mode", "right"),
                                (reference_title, "right"), ("abs error", "right"),
                                ("rel error", "right"), ("result", "left"), ("note", "left")):
            table.add_column(column, justify=justify, overflow="fold", style="dim" if column == "note" else None)
        styles = {"ok": "green", "fail": "bold red", "inconclusive": "yellow"}
        for row in rows:
            result = Text("FAIL" if row.status == "fail" else row.status, style=styles[row.status])
            cells = [number_text(row.analytic, digits), number_text(row.reference, digits),
                     number_text(row.abs_error, 3), number_text(row.rel_error, 3)]
            # Text, not str: rich must not read "[inf, 1]" or a formula's brackets as markup
            table.add_row(Text(row.variable), *map(Text, cells), result, Text(row.note))
        return table

    parts = [table_of(rows, "central difference",
                      f"gradcheck: eps {options['eps']:g}, atol {options['atol']:g}, rtol {options['rtol']:g}")]
    if other_rows:
        parts.append(table_of(other_rows, "other form", f"against: {options['against']}"))
    parts.append(Text(summary(rows + other_rows), style="bold"))
    return Group(*parts)


def summary(rows: list) -> str:
    counts = {status: sum(row.status == status for row in rows) for status in ("ok", "fail", "inconclusive")}
    return f"{counts['ok']} ok, {counts['fail']} failed, {counts['inconclusive']} inconclusive"


def render_json(evaluation, rows: list, other_rows: list, options: dict) -> str:
    import json

    from cgraph_cli.check import _json_value

    def row_document(row):
        return {"variable": row.variable, "analytic": _json_value(row.analytic),
                "reference": _json_value(row.reference), "abs_error": _json_value(row.abs_error),
                "rel_error": _json_value(row.rel_error), "status": row.status, "note": row.note}

    everything = rows + other_rows
    document = {
        "value": _json_value(evaluation.value), "eps": options["eps"], "atol": options["atol"],
        "rtol": options["rtol"],
        "checks": [row_document(row) for row in rows],
        "ok": sum(row.status == "ok" for row in everything),
        "failed": sum(row.status == "fail" for row in everything),
        "inconclusive": sum(row.status == "inconclusive" for row in everything),
    }
    if options["against"] is not None:
        document["against"] = {"expr": options["against"], "checks": [row_document(row) for row in other_rows]}
    return json.dumps(document, allow_nan=False) + "\n"


def render_plain(rows: list, other_rows: list, options: dict) -> str:
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


# ----------------------------------------------------------------------------- the command

@click.command("gradcheck", cls=BindingCommand, context_settings=CONTEXT, epilog=BINDINGS_HELP)
@input_options
@click.option("--eps", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_EPS,
              show_default=True, help="The probe step of the central difference.")
@click.option("--atol", type=click.FloatRange(min=0), default=DEFAULT_ATOL, show_default=True,
              help="Absolute tolerance.")
@click.option("--rtol", type=click.FloatRange(min=0), default=DEFAULT_RTOL, show_default=True,
              help="Relative tolerance: fail where |a-b| > atol + rtol*max(|a|,|b|).")
@click.option("--against", metavar="EXPR",
              help="Also compare the value and reverse-mode gradients with another form of the "
                   "formula (a hand-expanded one against its compact form).")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "plain"]),
              default="table", show_default=True)
@click.option("--precision", type=click.IntRange(1, 17), metavar="N",
              help="Significant digits (default: 10 in the table, round-trip in plain).")
@click.pass_context
def gradcheck_command(ctx, file, var_words, vars_file, debug, eps, atol, rtol, against, output_format,
                      precision):
    """Check reverse-mode gradients against central finite differences, per variable.

    Prints each variable's gradient both ways and the relative error |a-b|/max(|a|,|b|); exits 1
    where |a-b| > atol + rtol*max(|a|,|b|). A probe that crosses a kink (relu, abs, max, min) or
    leaves the domain makes that variable inconclusive: a note on stderr, exit 0.

    \b
    Examples:
      cgraph gradcheck "sigmoid(x*y + sin(x)) * (x^2 + y)" --x 0.5 --y -1.2
      cgraph gradcheck "relu(x) + abs(y)" --x 0 --y 2          # x: inconclusive (a kink)
      cgraph gradcheck "1/(1+exp(-x))" --x 1 --against "sigmoid(x)"
    """
    from cgraph_cli.bindings import collect
    from cgraph_cli.cli import emit, read_source
    from cgraph_cli.engine import evaluate
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build

    source = read_source(ctx.meta["cgraph.positional"], file)
    values = collect(ctx.meta["cgraph.bindings"], var_words, vars_file)
    graph = build(parse(source), source, frozenset(values))
    if not graph.variables:
        raise BindingError("the formula has no variables to check: bind one, e.g. --x 1")
    evaluation, rows = gradcheck(graph, values, eps, atol, rtol)
    other_rows = []
    if against is not None:
        other = evaluate(build(parse(against), against, frozenset(values)), values)
        other_rows = compare_forms(evaluation, other, atol, rtol)
    options = {"eps": eps, "atol": atol, "rtol": rtol, "against": against, "precision": precision}
    if output_format == "json":
        emit(render_json(evaluation, rows, other_rows, options))
    elif output_format == "plain":
        emit(render_plain(rows, other_rows, options))
    else:
        emit(render_table(rows, other_rows, options))
    everything = rows + other_rows
    failed = [row for row in everything if row.status == "fail"]
    unsure = [row for row in rows if row.status == "inconclusive"]
    if unsure and not failed:
        noun = "variable" if len(unsure) == 1 else "variables"
        click.echo(f"cgraph: note: {len(unsure)} {noun} inconclusive, not failed: "
                   + "; ".join(f"{row.variable}: {row.note}" for row in unsure), err=True)
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(everything)} gradients differ: "
                          + ", ".join(row.variable for row in failed))
    return ExitStatus.SUCCESS
