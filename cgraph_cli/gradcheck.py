"""`cgraph gradcheck EXPR`: reverse-mode gradients against central finite differences.

For each variable (each element of a tensor) the output is evaluated at x + h and x - h, with the
step relative to the variable, h = eps*max(1, |x|) (an absolute 1e-6 is lost in the rounding of
1e17), and (f(x+h) - f(x-h)) / (2h) is compared with the reverse-mode gradient. The relative error is
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

from cgraph_cli.engine import evaluate, forward
from cgraph_cli.errors import CgraphError
from cgraph_cli.expect import Tolerance, compare, is_tensor
from cgraph_cli.ops import JUMPS, table_for

DEFAULT_EPS = 1e-6
DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-3


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


def _difference(plus, minus) -> float:
    """f(x+h) - f(x-h) of the checked scalar: the output, or the sum of a tensor output's elements
    (differences summed, so outputs near 1e308 do not overflow); inf when even that overflows."""
    if is_tensor(plus):
        try:
            return math.fsum((plus - minus).ravel().tolist())
        except OverflowError:
            return math.inf
    return float(plus) - float(minus)


def _step(value, index: tuple, eps: float) -> float:
    """The probe step of one element: eps relative to its size (absolute below 1)."""
    element = float(value[index]) if index else float(value)
    return eps * max(1.0, abs(element))


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
    ops = ops if ops is not None else table_for(graph, bindings)
    evaluation = evaluate(graph, bindings, ops=ops)
    branches = _Branches(graph, ops)
    at_point = branches.at(evaluation.values)
    gradients = evaluation.gradients()
    rows = []
    for name in graph.differentiable():   # data (--const) has no gradient to check
        gradient = gradients[name]
        for index, suffix in _elements(bindings[name]):
            label = name + suffix
            analytic = float(gradient[index]) if index else float(gradient)
            outputs, probes, crossed, failure = [], [], None, None
            step = _step(bindings[name], index, eps)
            for delta in (step, -step):
                probe = dict(bindings)
                probe[name] = _shifted(bindings[name], index, delta)
                try:
                    values = forward(graph, probe, ops)
                except CgraphError as error:
                    failure = f"the probe {label}{'+' if delta > 0 else '-'}eps fails: " \
                              f"{error.message.split(' at line')[0]}"
                    break
                outputs.append(values[graph.output])
                probes.append(probe[name][index] if index else probe[name])
                crossed = crossed or branches.crossed(at_point, values)
            difference = None if failure or crossed else _difference(*outputs)
            if difference is not None and not math.isfinite(difference):
                failure = "the central difference overflows float64 (the probes' outputs differ by more than 1.8e308)"
            if failure or crossed:
                rows.append(Row(label, analytic, None, None, None, "inconclusive", failure or crossed))
                continue
            numeric = difference / (float(probes[0]) - float(probes[1]))   # the steps as represented
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
                if op.branch is not None:
                    sides.append(op.branch(out, *inputs, **self.attrs.get(node_id, {})))
                else:
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


# ----------------------------------------------------------------------------- the summary line

def summary(rows: list) -> str:
    counts = {status: sum(row.status == status for row in rows) for status in ("ok", "fail", "inconclusive")}
    return f"{counts['ok']} ok, {counts['fail']} failed, {counts['inconclusive']} inconclusive"
