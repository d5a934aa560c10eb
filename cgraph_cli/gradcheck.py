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

Hand-derived formulas (`--grad x="2*(x+y)"`, a check case's `grad_formula`): parsed by cgraph's own
parser, evaluated at the bound point and at `samples` nearby points (`nearby_points`: each element
moves by u*0.1*max(1, |x|), u uniform in [-1, 1] from random.Random(seed), variables sorted by name),
and compared with the reverse-mode gradient there; the first point where they differ is reported.
"""

import math
from typing import NamedTuple

from cgraph_cli.engine import evaluate, forward
from cgraph_cli.errors import BindingError, CgraphError
from cgraph_cli.expect import Tolerance, compare, is_tensor, shape_text
from cgraph_cli.ops import JUMPS, table_for
from cgraph_cli.text import machine

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


# ----------------------------------------------------------------------------- hand-derived formulas

DEFAULT_SAMPLES = 5
DEFAULT_SEED = 0
SPREAD = 0.1   # a nearby point moves each element by at most this times max(1, |element|)


class FormulaRow(NamedTuple):
    """A hand-derived formula for d(output)/d(variable) against reverse mode, at the bound point and
    the nearby points; analytic/reference/errors are at the first point where they disagree (at the
    bound point when they agree everywhere)."""
    variable: str
    formula: str
    analytic: object         # reverse mode
    reference: object        # the formula's value (None when it fails there)
    abs_error: float | None
    rel_error: float | None  # |a-b| / max(|a|,|b|) for a scalar; None for a tensor
    status: str              # "ok" or "fail"
    note: str                # where they disagree, or how many points agreed
    point: dict | None       # the disagreeing point (variable -> number or nested list); None: they agree
    points: int              # points compared (the bound point and the nearby ones that evaluate)


def parse_formulas(formulas: dict, bound, data, label) -> dict:
    """name -> (text, graph) for each formula text, parsed and built by cgraph's own parser (never
    eval); an error names where the formula came from: `label(name)` ("--grad x", "grad_formula.x")."""
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build

    graphs = {}
    for name, text in formulas.items():
        try:
            graph = build(parse(text), text, frozenset(bound), frozenset(data))
        except CgraphError as error:
            raise type(error)(f"{label(name)}: {error.message}") from None
        unbound = sorted(set(graph.variables) - set(bound))
        if unbound:
            raise BindingError(f"{label(name)}: the formula uses {', '.join(unbound)}, which "
                               f"{'is' if len(unbound) == 1 else 'are'} not bound (bound: "
                               f"{', '.join(sorted(bound)) or 'none'})")
        graphs[name] = (text, graph)
    return graphs


def nearby_points(bindings: dict, names, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> list:
    """`samples` points near the bound one, the same for the same seed: each element of each named
    variable (sorted by name, a tensor's elements in order) moves by u * SPREAD * max(1, |element|),
    u uniform in [-1, 1] from Python's random.Random(seed); other bindings (data) stay."""
    import random

    generator = random.Random(seed)
    points = []
    for _ in range(samples):
        point = dict(bindings)
        for name in sorted(names):
            value = bindings[name]
            if is_tensor(value):
                moved = value.astype(float, copy=True)
                flat = moved.reshape(-1)
                for i in range(flat.size):
                    flat[i] += generator.uniform(-1.0, 1.0) * SPREAD * max(1.0, abs(float(flat[i])))
                point[name] = moved
            else:
                value = float(value)
                point[name] = value + generator.uniform(-1.0, 1.0) * SPREAD * max(1.0, abs(value))
        points.append(point)
    return points


def check_formulas(graph, bindings: dict, formulas: dict, tolerance: Tolerance,
                   samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> list:
    """One FormulaRow per formula (`formulas`: name -> (text, graph) from parse_formulas): its value
    against the reverse-mode gradient at the bound point, then at each nearby point; the first point
    where they differ is reported. A nearby point where the program itself cannot be evaluated (out of
    its domain) is skipped; one where only the formula fails is a disagreement."""
    points = [bindings] + nearby_points(bindings, graph.differentiable(), samples, seed)
    gradients_at = []
    for index, point in enumerate(points):
        try:
            gradients_at.append(evaluate(graph, point).gradients())
        except CgraphError:
            if index == 0:
                raise   # the program fails at its own point: the caller's error, as without formulas
            gradients_at.append(None)
    rows = []
    for name, (text, formula) in formulas.items():
        row = None
        compared = 0
        for index, (point, gradients) in enumerate(zip(points, gradients_at)):
            if gradients is None:
                continue
            compared += 1
            analytic = gradients[name]
            try:
                reference = forward(formula, point, table_for(formula, point))[formula.output]
            except CgraphError as error:
                row = FormulaRow(name, text, analytic, None, None, None, "fail",
                                 f"the formula fails {_where(index, point, name)}: {error.message.splitlines()[0]}",
                                 _point(point, graph), compared)
                break
            comparison = compare(reference, analytic, tolerance)
            mine, theirs = (getattr(value, "shape", ()) for value in (analytic, reference))
            if mine != theirs:
                comparison = comparison._replace(note=f"the formula has shape {shape_text(theirs)}; the gradient "
                                                      f"of {name} has the shape of {name}, {shape_text(mine)}")
            relative = None if is_tensor(analytic) or is_tensor(reference) else \
                relative_error(float(analytic), float(reference))
            if index == 0:
                first = (analytic, reference, comparison.difference, relative)
            if not comparison.passed:
                detail = f" ({comparison.note})" if comparison.note else ""
                row = FormulaRow(name, text, analytic, reference, comparison.difference, relative, "fail",
                                 f"differs {_where(index, point, name)}{detail}", _point(point, graph), compared)
                break
        if row is None:
            skipped = len(points) - compared
            note = f"agrees at {compared} points" + (f" ({skipped} nearby points outside the program's domain)"
                                                     if skipped else "")
            row = FormulaRow(name, text, *first, "ok", note, None, compared)
        rows.append(row)
    return rows


def _point(point: dict, graph) -> dict:
    return {name: point[name].tolist() if is_tensor(point[name]) else float(point[name])
            for name in sorted(graph.variables)}


def _where(index: int, point: dict, name: str) -> str:
    if index == 0:
        return "at the bound point"
    shown = ", ".join(f"{key}={machine(float(value))}" for key, value in sorted(point.items()) if not is_tensor(value))
    tensors = sorted(key for key, value in point.items() if is_tensor(value))
    if tensors:
        shown += (", " if shown else "") + ", ".join(tensors) + " moved"
    return f"at nearby point {index} ({shown})"
