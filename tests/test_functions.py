"""Issue 12's elementwise functions and selections: values and derivatives against formulas written
here (math and NumPy, never cgraph), at relative 1e-9 with an absolute floor of 1e-12, on the float,
NumPy and exact backends; the routing of selections (an unselected input gets exactly 0, even for an
inf upstream: PyTorch's number for sqrt(relu(x)) at -1); diff's selections; domains and edges.

(Central differences on random inputs are tests/test_ops.py's, over its DOMAINS.)
"""

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli import engine
from cgraph_cli.derivatives import derivatives
from cgraph_cli.errors import CgraphError
from cgraph_cli.formula import LatexPrinter, Printer
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.ops import OPS, array_table, exact_table
from cgraph_cli.ops.algebra import Algebra
from conftest import run_cgraph as cgraph

REL, FLOOR = 1e-9, 1e-12


def close(got, want) -> bool:
    return abs(got - want) <= max(REL * abs(want), FLOOR)


def _parses(text: str) -> bool:
    try:
        parse(text)
        return True
    except CgraphError:
        return False


# Derivatives of selections are printed with comparisons (where(x > 0, ...)); the grammar that parses
# them back arrives with the syntax branch of issue 12. These tests run once it is there.
needs_comparisons = pytest.mark.skipif(not _parses("x > 0"), reason="comparisons are not in the grammar yet")

SQRT2 = math.sqrt(2.0)
K, C = math.sqrt(2.0 / math.pi), 0.044715      # the tanh form of GELU (PyTorch's constants)


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def _gelu_tanh(x):
    return 0.5 * x * (1 + math.tanh(K * (x + C * x ** 3)))


def _gelu_tanh_slope(x):
    t = math.tanh(K * (x + C * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * C * x * x)


GENERAL = [-7.5, -3.7, -1.2, -0.3, 0.25, 0.9, 2.4, 6.1]
UNIT = [-0.999, -0.95, -0.5, -1e-3, 0.3, 0.77, 0.999]

# formula: (value, derivative, points) -- the formulas of the textbooks and of PyTorch's documentation
REFERENCES = {
    "asin(x)": (math.asin, lambda x: 1 / math.sqrt(1 - x * x), UNIT),
    "acos(x)": (math.acos, lambda x: -1 / math.sqrt(1 - x * x), UNIT),
    "atan(x)": (math.atan, lambda x: 1 / (1 + x * x), GENERAL),
    "asinh(x)": (lambda x: math.log(x + math.sqrt(x * x + 1)) if x > 0 else -math.log(-x + math.sqrt(x * x + 1)),
                 lambda x: 1 / math.sqrt(x * x + 1), GENERAL),
    "acosh(x)": (lambda x: math.log(x + math.sqrt(x * x - 1)), lambda x: 1 / math.sqrt(x * x - 1),
                 [1.001, 1.5, 3.0, 40.0]),
    "atanh(x)": (lambda x: 0.5 * math.log((1 + x) / (1 - x)), lambda x: 1 / (1 - x * x), UNIT),
    "log1p(x)": (lambda x: math.log(1 + x) if abs(x) > 1e-4 else x - x * x / 2 + x ** 3 / 3,
                 lambda x: 1 / (1 + x), [-0.9, -1e-8, 1e-10, 0.5, 30.0]),
    "expm1(x)": (lambda x: math.exp(x) - 1 if abs(x) > 1e-4 else x + x * x / 2 + x ** 3 / 6,
                 math.exp, [-20.0, -1e-10, 1e-10, 0.3, 5.0]),
    "softplus(x)": (lambda x: math.log(1 + math.exp(x)), _sigmoid, GENERAL + [-30.0, 30.0]),
    "erf(x)": (math.erf, lambda x: 2 / math.sqrt(math.pi) * math.exp(-x * x), GENERAL[1:-1]),
    "square(x)": (lambda x: x * x, lambda x: 2 * x, GENERAL),
    "silu(x)": (lambda x: x / (1 + math.exp(-x)),
                lambda x: _sigmoid(x) + x * _sigmoid(x) * (1 - _sigmoid(x)), GENERAL),
    "gelu(x)": (lambda x: 0.5 * x * (1 + math.erf(x / SQRT2)),
                lambda x: 0.5 * (1 + math.erf(x / SQRT2)) + x * _phi(x), GENERAL),
    "gelu(x, approximate=1)": (_gelu_tanh, _gelu_tanh_slope, GENERAL),
    "elu(x)": (lambda x: x if x > 0 else math.exp(x) - 1, lambda x: 1.0 if x > 0 else math.exp(x), GENERAL),
    "elu(x, alpha=2)": (lambda x: x if x > 0 else 2 * (math.exp(x) - 1),
                        lambda x: 1.0 if x > 0 else 2 * math.exp(x), GENERAL),
    "leaky_relu(x)": (lambda x: x if x > 0 else 0.01 * x, lambda x: 1.0 if x > 0 else 0.01, GENERAL),
    "floor(x)": (lambda x: float(np.floor(x)), lambda x: 0.0, GENERAL + [-2.0, 3.0]),
    "ceil(x)": (lambda x: float(np.ceil(x)), lambda x: 0.0, GENERAL + [-2.0, 3.0]),
    "round(x)": (lambda x: float(np.round(x)), lambda x: 0.0, GENERAL + [0.5, 1.5, 2.5, -0.5, -2.5]),
}


def _evaluate(source: str, bindings: dict, attrs=None):
    graph = build(parse(source), source, frozenset(bindings))
    for node_id, extra in (attrs or {}).items():
        graph.attrs[node_id] = extra
    return engine.evaluate(graph, bindings)


@pytest.mark.parametrize("source", sorted(REFERENCES))
def test_values_and_derivatives_against_the_formulas(source):
    value, slope, points = REFERENCES[source]
    for x in points:
        evaluation = _evaluate(source, {"x": x})
        assert close(evaluation.value, value(x)), (source, x, evaluation.value, value(x))
        assert close(evaluation.gradients()["x"], slope(x)), (source, x, evaluation.gradients()["x"], slope(x))


@pytest.mark.parametrize("source", sorted(REFERENCES))
def test_the_numpy_backend_agrees_elementwise(source):
    value, slope, points = REFERENCES[source]
    x = np.array(points)
    evaluation = _evaluate(source, {"x": x})
    assert isinstance(evaluation.value, np.ndarray)
    for got, got_slope, point in zip(evaluation.value, evaluation.gradients()["x"], points):
        assert close(got, value(point)) and close(got_slope, slope(point)), (source, point)


@pytest.mark.parametrize("source", sorted(set(REFERENCES) - {"floor(x)", "ceil(x)", "round(x)"}))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_random_points_against_the_formulas(source, data):
    value, slope, points = REFERENCES[source]
    x = data.draw(st.floats(min(points), max(points)), label="x")
    evaluation = _evaluate(source, {"x": x})
    assert close(evaluation.value, value(x)) and close(evaluation.gradients()["x"], slope(x)), (source, x)


def test_leaky_relu_with_a_slope():
    """leaky_relu(x, negative_slope=0.2): the parameter as graph.build stores it (its keyword)."""
    for x, value, slope in [(-3.0, -0.6, 0.2), (0.0, 0.0, 0.2), (2.0, 2.0, 1.0)]:
        evaluation = _evaluate("leaky_relu(x)", {"x": x}, {1: {"negative_slope": 0.2}})
        assert close(evaluation.value, value) and evaluation.gradients()["x"] == slope


@pytest.mark.parametrize("name, parameters", [("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 2.5}),
                                              ("gelu", {"approximate": 1}), ("gelu", {"approximate": 0})])
@settings(max_examples=40, deadline=None)
@given(x=st.floats(-8, 8).filter(lambda v: abs(v) > 1e-3))
def test_parameters_against_central_differences(name, parameters, x):
    op = OPS[name]
    h = 1e-6 * max(1.0, abs(x))
    numeric = (op.forward(x + h, **parameters) - op.forward(x - h, **parameters)) / (2 * h)
    (got,) = op.vjp(1.0, op.forward(x, **parameters), x, **parameters)
    assert math.isclose(got, numeric, rel_tol=1e-6, abs_tol=1e-8)


def test_atan2_against_the_formulas():
    for y, x in [(1.0, 2.0), (-0.5, 0.3), (3.0, -4.0), (-2.0, -1e-3), (1e-9, 1.0)]:
        evaluation = _evaluate("atan2(y, x)", {"y": y, "x": x})
        r2 = x * x + y * y
        assert close(evaluation.value, math.atan2(y, x))
        gradients = evaluation.gradients()
        assert close(gradients["y"], x / r2) and close(gradients["x"], -y / r2)
    assert _evaluate("atan2(y, x)", {"y": 0.0, "x": -1.0}).kinks    # on the branch cut: flagged


# ----- edges: huge and tiny arguments, kinks, jumps -----

def test_no_overflow_at_large_arguments():
    assert _evaluate("softplus(x)", {"x": 1000.0}).value == 1000.0
    assert _evaluate("softplus(x)", {"x": 1000.0}).gradients()["x"] == 1.0
    assert _evaluate("softplus(x)", {"x": -1000.0}).value == 0.0
    assert _evaluate("softplus(x)", {"x": -1000.0}).gradients()["x"] == 0.0
    assert _evaluate("silu(x)", {"x": -800.0}).value == 0.0 == _evaluate("silu(x)", {"x": -800.0}).gradients()["x"]
    assert _evaluate("elu(x)", {"x": 1000.0}).gradients()["x"] == 1.0
    assert _evaluate("elu(x)", {"x": -1000.0}).value == -1.0
    assert _evaluate("gelu(x)", {"x": 50.0}).value == 50.0
    assert abs(_evaluate("gelu(x)", {"x": -30.0}).value) < 1e-190   # x*Phi(x): no 1 + erf cancellation
    assert _evaluate("gelu(x, approximate=1)", {"x": 1e100}).gradients()["x"] == 1.0
    assert _evaluate("erf(x)", {"x": 10.0}).value == 1.0
    assert _evaluate("expm1(x)", {"x": 1e-300}).value == 1e-300
    assert _evaluate("log1p(x)", {"x": -1e-300}).value == -1e-300
    assert _evaluate("atan(x)", {"x": 1e300}).gradients()["x"] == 0.0


@pytest.mark.parametrize("source, x, gradient, note", [
    ("leaky_relu(x)", 0.0, 0.01, "leaky_relu at 0"),      # PyTorch: self > 0 ? grad : grad*negative_slope
    ("elu(x, alpha=2)", 0.0, 2.0, "elu at 0"),            # PyTorch: x <= 0 ? grad*alpha*exp(x) : grad
    ("floor(x)", 3.0, 0.0, "floor at an integer"),
    ("ceil(x)", -2.0, 0.0, "ceil at an integer"),
    ("round(x)", 2.5, 0.0, "round at a half-integer"),
    ("relu(x)", 0.0, 0.0, "relu at 0"),
])
def test_kinks_and_jumps_are_flagged_with_the_gradient_used(source, x, gradient, note):
    evaluation = _evaluate(source, {"x": x})
    assert evaluation.gradients()["x"] == gradient
    assert any(note in message for message in evaluation.kinks.values()), evaluation.kinks


def test_no_kink_where_there_is_none():
    assert not _evaluate("elu(x)", {"x": 0.0}).kinks           # alpha = 1: the slope is 1 on both sides
    assert not _evaluate("floor(x)", {"x": 2.5}).kinks
    assert not _evaluate("round(x)", {"x": 2.0}).kinks


def test_round_is_half_to_even_as_numpy():
    points = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999999999999996]
    got = [_evaluate("round(x)", {"x": x}).value for x in points]
    assert got == list(np.round(points)) == [-2, -2, 0, 0, 2, 2, 4, 2]
    assert list(_evaluate("round(x)", {"x": np.array(points)}).value) == got


# ----- clip: PyTorch's clamp gradient -----

@pytest.mark.parametrize("x, lo, hi, value, gradients", [
    (0.5, 0.0, 1.0, 0.5, (1, 0, 0)),     # inside: x
    (-2.0, 0.0, 1.0, 0.0, (0, 1, 0)),    # below: lo
    (3.0, 0.0, 1.0, 1.0, (0, 0, 1)),     # above: hi
    (0.0, 0.0, 1.0, 0.0, (1, 0, 0)),     # on a bound: x (PyTorch's clamp: lo <= x <= hi)
    (1.0, 0.0, 1.0, 1.0, (1, 0, 0)),
    (0.5, 2.0, 1.0, 1.0, (0, 0, 1)),     # lo > hi: the value is hi (NumPy and PyTorch), so is the gradient
    (-1.0, 1.0, 1.0, 1.0, (0, 1, 0)),    # lo == hi, x below: lo (PyTorch gives no input any gradient)
    (1.0, 1.0, 1.0, 1.0, (1, 0, 0)),
])
def test_clip(x, lo, hi, value, gradients):
    bindings = {"x": x, "lo": lo, "hi": hi}
    for evaluation in (_evaluate("clip(x, lo, hi)", bindings),
                       _evaluate("clip(x, lo, hi)", {k: np.array([v]) for k, v in bindings.items()})):
        assert float(np.ravel(evaluation.value)[0]) == value == float(np.clip(x, lo, hi))
        got = evaluation.gradients()
        assert tuple(float(np.ravel(got[k])[0]) for k in ("x", "lo", "hi")) == gradients
    # the gradients of clip(x + t, lo + t, hi + t) = clip(x, lo, hi) + t add up to 1
    assert sum(gradients) == 1


def test_clip_differs_from_min_of_max_on_a_bound():
    """min(max(x, lo), hi) splits a tie 0.5/0.5; clip gives x all of it, as PyTorch's clamp does."""
    tie = _evaluate("min(max(x, lo), hi)", {"x": 0.0, "lo": 0.0, "hi": 1.0}).gradients()
    assert (tie["x"], tie["lo"], tie["hi"]) == (0.5, 0.5, 0.0)
    assert _evaluate("clip(x, lo, hi)", {"x": 0.0, "lo": 0.0, "hi": 1.0}).gradients()["x"] == 1.0


# ----- selections route: an unselected input gets exactly 0, whatever the upstream -----

INF = math.inf


@pytest.mark.parametrize("table", ["floats", "arrays", "rationals"])
def test_unselected_inputs_get_exactly_zero_for_an_infinite_upstream(table):
    ops = {"floats": OPS, "arrays": array_table(), "rationals": exact_table()}[table]
    number = (lambda v: Fraction(v)) if table == "rationals" else float
    zero = number(0)
    assert ops["relu"].vjp(INF, zero, number(-1)) == (0,)
    a, b = number(1), number(2)
    assert ops["max"].vjp(INF, b, a, b) == (0, INF)
    assert ops["min"].vjp(INF, a, a, b) == (INF, 0)
    assert ops["max"].vjp(INF, a, a, a) == (INF, INF)        # a tie: inf/2 to each, never nan
    assert ops["clip"].vjp(INF, b, number(3), zero, b) == (0, 0, INF)
    assert ops["where"].vjp(INF, a, zero, a, b) == (0, 0, INF)
    assert ops["where"].vjp(math.nan, a, number(1), a, b)[2] == 0
    assert ops["floor"].vjp(INF, a, a) == (0,) and ops["sign"].vjp(INF, a, a) == (0,)


def test_routing_on_arrays_keeps_each_element_apart():
    relu = array_table()["relu"]
    (got,) = relu.vjp(np.array([INF, INF, 2.0]), None, np.array([-1.0, 3.0, 0.0]))
    assert list(got) == [0.0, INF, 0.0]


@pytest.mark.parametrize("source", ["sqrt(relu(x))", "sqrt(max(x, 0))", "sqrt(min(0, -x))", "sqrt(clip(x, 0, 1))",
                                    "where(relu(x), sqrt(relu(x)), 0)"])
def test_sqrt_of_a_selection_at_minus_one_has_gradient_zero_as_in_pytorch(source):
    result = cgraph("grad", source, "--x", "-1", "--wrt", "x")
    assert result.code == 0 and float(result.out) == 0.0, result
    document = cgraph("eval", source, "--x", "-1", "--format", "json").json()
    assert document["gradients"] == {"x": 0.0}


def test_a_tensor_of_selections_routes_elementwise():
    document = cgraph("eval", "sum(sqrt(relu(x)))", "--x", "[-1, 4]", "--format", "json").json()
    assert document["gradients"]["x"] == [0.0, 0.25]


def test_where():
    for c, a, b, value, gradients in [(1.0, 2.0, 3.0, 2.0, (0, 1, 0)), (0.0, 2.0, 3.0, 3.0, (0, 0, 1)),
                                      (-0.5, 2.0, 3.0, 2.0, (0, 1, 0))]:    # nonzero is true, as NumPy
        evaluation = _evaluate("where(c, a, b)", {"c": c, "a": a, "b": b})
        assert evaluation.value == value == float(np.where(c, a, b))
        assert tuple(evaluation.gradients()[k] for k in "cab") == gradients
    evaluation = _evaluate("where(c, a, b)", {"c": np.array([1.0, 0.0]), "a": 5.0, "b": np.array([1.0, 2.0])})
    assert list(evaluation.value) == [5.0, 2.0]
    assert evaluation.gradients()["a"] == 1.0 and list(evaluation.gradients()["b"]) == [0.0, 1.0]


# ----- exact arithmetic -----

@pytest.mark.parametrize("source, x, value, gradient", [
    ("floor(x)", "7/2", "3", "0"), ("ceil(x)", "-7/2", "-3", "0"), ("round(x)", "5/2", "2", "0"),
    ("round(x)", "7/2", "4", "0"), ("round(x)", "-1/3", "0", "0"), ("square(x)", "1/3", "1/9", "2/3"),
    ("leaky_relu(x)", "-1/2", "-1/200", "1/100"), ("clip(x, 0, 1)", "3/2", "1", "0"),
    ("clip(x, 0, 1)", "1/3", "1/3", "1"), ("elu(x)", "1/3", "1/3", "1"), ("asin(x)", "0", "0", "1"),
    ("atanh(x)", "0", "0", "1"), ("gelu(x)", "0", "0", None), ("where(x, 2*x, 3)", "1/5", "2/5", "2"),
])
def test_exact_values(source, x, value, gradient):
    result = cgraph("eval", source, "--x", x, "--exact-auto", "--format", "plain")
    assert result.code == 0, result
    lines = dict(line.split(" ", 1) for line in result.out.splitlines())
    assert lines["value"] == value
    if gradient is not None:
        assert lines["x"] == gradient


def test_exact_arithmetic_names_an_irrational_result():
    result = cgraph("eval", "asin(x)", "--x", "1/2", "--exact")
    assert result.code == 3 and "not rational" in result.err


# ----- domains: one message, exit 3 -----

@pytest.mark.parametrize("source, x, needs", [
    ("asin(x)", "2", "asin needs an argument in [-1, 1], got 2"),
    ("acos(x)", "-1.5", "acos needs an argument in [-1, 1], got -1.5"),
    ("acosh(x)", "0.5", "acosh needs an argument of at least 1, got 0.5"),
    ("atanh(x)", "1", "atanh needs an argument in (-1, 1), got 1"),
    ("log1p(x)", "-1", "log1p needs an argument above -1, got -1"),
])
def test_domain_errors(source, x, needs):
    result = cgraph("eval", source, "--x", x)
    assert (result.code, result.out) == (3, "") and needs in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) <= 3      # the message and its caret
    tensor = cgraph("eval", source, "--x", f"[0.5, {x}]")
    assert tensor.code == 3 and needs.split(",")[0] in tensor.err
    assert cgraph("eval", source, "--x", x, "--exact").code == 3


def test_infinite_slopes_at_the_ends_of_a_domain_are_warned():
    result = cgraph("eval", "asin(x)", "--x", "1", "--format", "json")
    assert result.code == 0 and result.json()["gradients"]["x"] == "inf"


# ----- diff: selections printed as where, agreeing with the engine -----

def _diff(source, names=None, order=1):
    graph = build(parse(source), source, frozenset())
    names = names or sorted(graph.variables)
    return {name: Printer(expression, avoid=graph.variables).program()
            for name, expression in derivatives(graph, names, order, Algebra())}


def test_relu_derivative_is_printed_as_a_selection_with_the_upstream_inside():
    assert _diff("sqrt(relu(x))") == {"x": "where(x > 0, 1/(2*sqrt(relu(x))), 0)"}
    assert cgraph("diff", "sqrt(relu(x))", "--x", "-1", "--wrt", "x").out == "0\n"     # the engine's gradient there
    assert cgraph("diff", "sqrt(relu(x))", "--x", "4", "--wrt", "x").out == "0.25\n"
    assert _diff("relu(x)*y") == {"x": "where(x > 0, y, 0)", "y": "relu(x)"}
    assert _diff("relu(exp(x))") == {"x": "exp(x)"}      # exp(x) > 0 is folded: the where vanishes


def test_max_min_clip_where_derivatives():
    assert _diff("max(x, y)") == {"x": "where(x > y, 1, where(x == y, 0.5, 0))",
                                  "y": "where(x < y, 1, where(x == y, 0.5, 0))"}
    assert _diff("clip(x, lo, hi)") == {"x": "where((x >= lo)*(x <= hi), 1, 0)",
                                        "lo": "where((x < lo)*(lo <= hi), 1, 0)", "hi": "where(max(x, lo) > hi, 1, 0)"}
    assert cgraph("diff", "sqrt(clip(x, 0, 1))", "--x", "-1", "--wrt", "x").out == "0\n"
    assert cgraph("diff", "max(x, y)", "--x", "2", "--y", "2", "--wrt", "x").out == "0.5\n"


def test_folding_a_where_never_builds_the_unselected_branch():
    algebra = Algebra()
    x = algebra.variable("x")
    huge = algebra.power(2, algebra.power(10, x))          # 2^(10^5) has 30,103 digits: too large to fold
    expression = algebra.where(algebra.call("lt", x, algebra.zero), huge, algebra.one)
    (folded,) = algebra.rebuild([expression], {x: algebra.constant(5)})
    assert folded is algebra.one
    assert algebra.where(algebra.one, x, huge) is x and algebra.where(algebra.zero, huge, x) is x


def test_new_functions_print_and_fold():
    assert _diff("gelu(x)") == {"x": "erf(x/sqrt(2))/2 + x*exp(-x^2/2)/sqrt(2*pi) + 0.5"}
    assert _diff("elu(x, alpha=2)") == {"x": "where(x > 0, 1, elu(x, alpha=2) + 2)"}
    assert _diff("leaky_relu(x)") == {"x": "where(x > 0, 1, 0.01)"}
    assert _diff("erf(x)") == {"x": "2*exp(-x^2)/sqrt(pi)"}
    assert _diff("atan2(y, x)") == {"x": "-y/(y^2 + x^2)", "y": "x/(y^2 + x^2)"}
    assert _diff("square(x)") == {"x": "2*x"}
    assert _diff("floor(x) + round(x) + ceil(x) + x") == {"x": "1"}
    assert cgraph("diff", "round(x) + floor(y) + clip(x, y, 3)", "--x", "5/2", "--y", "1/2", "--exact").out == \
        "d/dx = 1\nd/dy = 0\n"      # clip passes x's gradient inside its bounds; the rest is flat
    assert cgraph("eval", "round(x)", "--x", "2.5", "--format", "plain").out.startswith("value 2\n")


def test_a_parameter_away_from_its_default_is_printed_as_its_keyword():
    graph = build(parse("leaky_relu(x)"), "leaky_relu(x)", frozenset())
    graph.attrs[1] = {"negative_slope": 0.2}
    (_, expression), = derivatives(graph, ["x"], 1, Algebra())
    assert Printer(expression).program() == "where(x > 0, 1, 0.2)"
    from cgraph_cli.derivatives import symbolic_values

    values = symbolic_values(graph, Algebra())
    assert Printer(values[1]).program() == "leaky_relu(x, negative_slope=0.2)"


def test_pi_of_a_derivative_is_not_a_variable_named_pi():
    graph = build(parse("erf(pi)"), "erf(pi)", frozenset({"pi"}))
    (_, expression), = derivatives(graph, ["pi"], 1, Algebra())
    assert Printer(expression, avoid={"pi"}).program() == "2*exp(-pi^2)/sqrt(acos(-1))"


def test_latex_of_the_new_functions():
    algebra = Algebra()
    x = algebra.variable("x")
    assert LatexPrinter(algebra.asin(x)).program() == r"\arcsin\left(x\right)"
    assert LatexPrinter(algebra.where(algebra.call("gt", x, algebra.zero), x, algebra.zero)).program() == \
        r"\operatorname{where}\left(x > 0, x, 0\right)"
    assert cgraph("diff", "leaky_relu(x)", "--latex").code == 0


@pytest.mark.parametrize("source, x, second", [
    ("gelu(x)", 0.3, _phi(0.3) * (2 - 0.3 ** 2)),
    ("asin(x)", 0.4, 0.4 / (1 - 0.16) ** 1.5),
    ("softplus(x)", -1.5, _sigmoid(-1.5) * (1 - _sigmoid(-1.5))),
    ("atan(x)", 2.0, -4.0 / 25.0),
    ("silu(x)", 0.7, (lambda s: s * (1 - s) * (2 + 0.7 * (1 - 2 * s)))(_sigmoid(0.7))),
])
def test_second_derivatives_of_smooth_functions(source, x, second):
    document = cgraph("eval", source, "--x", x, "--order", "2", "--format", "json").json()
    assert close(document["hessian"]["x"]["x"], second)


@needs_comparisons
@pytest.mark.parametrize("source, x, second", [
    ("relu(x)^2", 1.5, 2.0), ("relu(x)^2", -1.5, 0.0), ("leaky_relu(x)^2", -2.0, 2e-4),
    ("elu(x)", -0.5, math.exp(-0.5)), ("clip(x, -1, 1)^3", 0.5, 3.0), ("where(x, x^3, 0)", 2.0, 12.0),
    ("max(x, 0)*x", 2.0, 2.0),
])
def test_second_derivatives_through_selections(source, x, second):
    document = cgraph("eval", source, "--x", x, "--order", "2", "--format", "json").json()
    assert close(document["hessian"]["x"]["x"], second)
    assert close(cgraph("hessian", source, "--x", x, "--format", "json").json()["hessian"]["x"]["x"], second)


@needs_comparisons
def test_printed_selections_parse_back_to_the_engine_gradient():
    for source, x in [("sqrt(relu(x))", 4.0), ("max(x, 2*x)", -1.0), ("clip(x, 0, 1)*x", 0.5)]:
        (text,) = _diff(source).values()
        assert close(_evaluate(text, {"x": x}).value, _evaluate(source, {"x": x}).gradients()["x"])


def test_gradcheck_passes_on_the_new_functions():
    result = cgraph("gradcheck", "gelu(x)*asin(y) + softplus(x)*atan2(y, x) + silu(y)*erf(x)", "--x", "0.4",
                    "--y", "0.3")
    assert result.code == 0, result


def test_every_scalar_row_states_its_rule():
    for name, op in OPS.items():
        if op.tensor or op.arity == 0:
            continue
        if op.differentiable:
            assert len(op.rule) == op.arity, name
        if op.kink is not None or op.jumps:
            assert op.convention, name
    assert OPS["relu"].rule == ("where(a > 0, 1, 0)",) and OPS["mul"].rule == ("b", "a")
    assert json.dumps([OPS[n].rule for n in ("clip", "where")])


# ----- the rule texts (the README's table) are the rows' own derivatives -----

def _rule_cases(with_comparisons: bool):
    cases = []
    for name, op in OPS.items():
        if op.tensor or op.arity == 0 or not op.rule:
            continue
        for k, text in enumerate(op.rule):
            if any(symbol in text for symbol in "<>=") == with_comparisons:
                cases.append((name, k, text))
    return cases


def _check_rule(name, k, text):
    op = OPS[name]
    defaults = {"negative_slope": 0.01, "alpha": 1.0}
    checked = 0
    for point in ([1.7, 0.3, 0.9], [0.7, 0.3, 0.9], [-0.6, 0.2, 0.5], [0.4, 0.8, -0.2]):
        inputs = point[:op.arity]
        try:
            out = op.forward(*inputs)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        local = op.vjp(1.0, out, *inputs)[k]
        bindings = {**dict(zip("abc", inputs)), "out": out, **defaults}
        graph = build(parse(text), text, frozenset(bindings))
        value = engine.evaluate(graph, {n: v for n, v in bindings.items() if n in graph.variables}).value
        assert close(value, local), (name, k, text, inputs, value, local)
        checked += 1
    assert checked, name


@pytest.mark.parametrize("name, k, text", _rule_cases(False))
def test_rule_texts_evaluate_to_the_rows_local_derivatives(name, k, text):
    _check_rule(name, k, text)


@needs_comparisons
@pytest.mark.parametrize("name, k, text", _rule_cases(True))
def test_rule_texts_with_selections_evaluate_to_the_rows_local_derivatives(name, k, text):
    _check_rule(name, k, text)
