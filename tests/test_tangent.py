"""Forward mode: the tangent rules of the op rows (Op.jvp), engine.forward_tangents, and
`eval --tangent`. Every tangent is checked against reverse mode (tangent . w == <grad of <out, w>, v>)
and against central finite differences, on random points and directions."""

import json
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cgraph_cli.engine import evaluate, forward, forward_tangents
from cgraph_cli.errors import BindingError
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.ops import OPS, TENSOR_OPS, array_table, exact_table, table_for
from conftest import run_cgraph
from test_ops import DOMAINS, LEAVES

ARRAYS = array_table()
EXACT = exact_table()


def graph_of(source, bindings, data=frozenset()):
    return build(parse(source), source, frozenset(bindings), data) if data else \
        build(parse(source), source, frozenset(bindings))


def close(got, expected, rel=1e-9, floor=1e-12):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=rel, atol=floor)


# ---------------------------------------------------------------------------------------------
# Every row has a tangent rule, on every backend
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", [OPS, ARRAYS, EXACT], ids=["floats", "arrays", "rationals"])
def test_every_row_has_a_tangent_rule(table):
    missing = [name for name, op in table.items() if op.jvp is None or not callable(op.jvp)]
    assert not missing, f"rows without a tangent rule (Op.jvp): {missing}"


def test_the_symbolic_table_has_tangent_rules_and_they_differentiate_expressions():
    from cgraph_cli.ops import table
    from cgraph_cli.ops.algebra import Algebra
    algebra = Algebra()
    ops = table(algebra)
    assert [name for name, op in ops.items() if op.jvp is None] == []
    x, y = algebra.variable("x"), algebra.variable("y")
    out = ops["mul"].forward(x, ops["sin"].forward(y))
    tangent = ops["mul"].jvp((algebra.one, ops["sin"].jvp((algebra.one,), ops["sin"].forward(y), y)), out, x,
                             ops["sin"].forward(y))
    from cgraph_cli.formula import Printer
    assert Printer(tangent).text(tangent).replace(" ", "") in ("sin(y)+x*cos(y)", "x*cos(y)+sin(y)")


# ---------------------------------------------------------------------------------------------
# Scalar rows: the rule itself against <vjp, ȧ> and central differences
# ---------------------------------------------------------------------------------------------

SCALAR_ROWS = sorted(name for name in OPS if name not in LEAVES | TENSOR_OPS)


def test_every_scalar_row_is_checked_here():
    assert set(SCALAR_ROWS) - set(DOMAINS) <= {"lt", "le", "gt", "ge", "eq", "ne"}


def _difference(forward, point, direction, step=1e-6):
    h = step * max(1.0, max(abs(p) for p in point))
    up = [p + h * d for p, d in zip(point, direction)]
    down = [p - h * d for p, d in zip(point, direction)]
    return (forward(*up) - forward(*down)) / (2 * h)


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("name", [n for n in SCALAR_ROWS if n in DOMAINS])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_scalar_tangent_is_the_gradient_along_the_direction(name, data):
    op = OPS[name]
    strategies, condition = DOMAINS[name]
    point = [data.draw(s, label=f"input {k}") for k, s in enumerate(strategies)]
    if condition is not None:
        assume(condition(*point))
    direction = [data.draw(floats(-2, 2), label=f"direction {k}") for k in range(op.arity)]
    out = op.forward(*point)
    tangent = op.jvp(tuple(direction), out, *point)
    reverse = sum(g * d for g, d in zip(op.vjp(1.0, out, *point), direction))
    assert math.isclose(tangent, reverse, rel_tol=1e-9, abs_tol=1e-12), (point, direction, tangent, reverse)
    numeric = _difference(op.forward, point, direction)
    assert math.isclose(tangent, numeric, rel_tol=1e-5, abs_tol=1e-5 * max(1.0, abs(out))), (tangent, numeric)


@pytest.mark.parametrize("name", [n for n in SCALAR_ROWS if n in DOMAINS])
def test_scalar_tangent_on_arrays_is_the_same_elementwise(name):
    """The NumPy table's elementwise rows: three points at once give the floats' three tangents."""
    op, vector_op = OPS[name], ARRAYS[name]
    strategies, condition = DOMAINS[name]
    rng = np.random.default_rng(7)
    points = []
    while len(points) < 3:
        # a point of each argument from a fixed, in-domain grid
        point = [_inside(name, k, rng) for k in range(op.arity)]
        if condition is None or condition(*point):
            points.append(point)
    columns = [np.array(column) for column in zip(*points)]
    direction = [rng.normal(size=3) for _ in range(op.arity)]
    out = vector_op.forward(*columns)
    tangent = vector_op.jvp(tuple(direction), out, *columns)
    expected = [op.jvp(tuple(d[i] for d in direction), op.forward(*p), *p) for i, p in enumerate(points)]
    close(tangent, expected)


_GRID = {"pow": [(0.5, 3.0), (-2.0, 2.0)], "log": [(0.1, 5)], "log2": [(0.1, 5)], "log10": [(0.1, 5)],
         "sqrt": [(0.1, 5)], "tan": [(-1.2, 1.2)], "log1p": [(-0.9, 5)], "asin": [(-0.9, 0.9)],
         "acos": [(-0.9, 0.9)], "acosh": [(1.1, 5)], "atanh": [(-0.9, 0.9)], "div": [(-5, 5), (0.5, 3)]}


def _inside(name, k, rng):
    low, high = (_GRID.get(name) or [(-4, 4)])[min(k, len(_GRID.get(name) or [(-4, 4)]) - 1)]
    value = float(rng.uniform(low, high))
    if name in ("relu", "abs", "sign", "leaky_relu", "elu", "where") and abs(value) < 1e-2:
        value = 0.5
    if name in ("floor", "ceil", "round"):
        value = math.floor(value) + 0.25
    return value


@pytest.mark.parametrize("name, point, direction, expected", [
    ("relu", (0.0,), (1.0,), 0.0),                 # relu'(0) = 0
    ("abs", (0.0,), (1.0,), 0.0),                  # abs'(0) = 0
    ("max", (2.0, 2.0), (1.0, 3.0), 2.0),          # a tie splits 0.5/0.5
    ("min", (2.0, 2.0), (1.0, 3.0), 2.0),
    ("leaky_relu", (0.0,), (1.0,), 0.01),          # leaky_relu'(0) = negative_slope
    ("clip", (1.0, 1.0, 3.0), (1.0, 5.0, 7.0), 1.0),   # on a bound: all to x
    ("floor", (2.0,), (1.0,), 0.0),
    ("sqrt", (0.0,), (1.0,), math.inf),
])
def test_conventions_at_kinks_are_the_vjps(name, point, direction, expected):
    op = OPS[name]
    out = op.forward(*point)
    tangent = op.jvp(direction, out, *point)
    assert tangent == expected
    reverse = sum(g * d for g, d in zip(op.vjp(1.0, out, *point), direction))
    assert reverse == expected


def test_an_input_without_a_tangent_adds_nothing_not_zero_times_its_slope():
    # x^2 at x = -3: d/d(exponent) is nan (log of a negative base), but the exponent is a constant
    assert OPS["pow"].jvp((1.0, None), 9.0, -3.0, 2.0) == -6.0
    # 0^y at y = 0.5: d/d(base) is inf, the base is a constant
    assert OPS["pow"].jvp((None, 1.0), 0.0, 0.0, 0.5) == 0.0


def test_exact_rows_give_exact_tangents():
    out = EXACT["mul"].forward(Fraction(1, 3), Fraction(2, 7))
    assert EXACT["mul"].jvp((Fraction(1), Fraction(1, 2)), out, Fraction(1, 3), Fraction(2, 7)) == \
        Fraction(2, 7) + Fraction(1, 6)
    assert EXACT["div"].jvp((Fraction(1), None), Fraction(1, 6), Fraction(1, 3), Fraction(2)) == Fraction(1, 2)
    assert EXACT["max"].jvp((Fraction(1), Fraction(3)), Fraction(2), Fraction(2), Fraction(2)) == Fraction(2)


# ---------------------------------------------------------------------------------------------
# Tensor rows: one program per row, forward against reverse and central differences
# ---------------------------------------------------------------------------------------------

# row -> (program, {variable: shape or a fixed value}, data variables (no direction))
def _positive(shape):
    return ("positive", shape)


TENSOR_PROGRAMS = {
    "stack": [("stack([a, b * a], axis=1)", {"a": (3,), "b": (3,)}), ("[s, s * t, t]", {"s": (), "t": ()})],
    "index": [("A[1] * A[:, 2][[0, 2, 2]]", {"A": (3, 3)}), ("x[[0, 2, 0]] + x[1]", {"x": (3,)})],
    "concatenate": [("concatenate([a, b * b])", {"a": (2,), "b": (3,)})],
    "matmul": [("A @ B", {"A": (2, 3), "B": (3, 4)}), ("A @ x", {"A": (2, 3), "x": (3,)}),
               ("x @ y", {"x": (3,), "y": (3,)})],
    "dot": [("dot(x, y)", {"x": (3,), "y": (3,)}), ("dot(A, B)", {"A": (2, 3), "B": (3, 2)}),
            ("dot(s, x)", {"s": (), "x": (3,)})],
    "reshape": [("reshape(A, (3, 2))", {"A": (2, 3)})],
    "flatten": [("flatten(A) * 2", {"A": (2, 3)})],
    "squeeze": [("squeeze(A)", {"A": (3, 1)})],
    "unsqueeze": [("unsqueeze(x, axis=0)", {"x": (3,)})],
    "transpose": [("transpose(A)", {"A": (2, 3)}), ("transpose(T, (2, 0, 1))", {"T": (2, 3, 2)})],
    "sum": [("sum(A, axis=0)", {"A": (2, 3)}), ("sum(A * A)", {"A": (2, 3)})],
    "mean": [("mean(A, axis=1, keepdims=True)", {"A": (2, 3)})],
    "reduce_max": [("max(A, axis=0)", {"A": (2, 3)}), ("max(x)", {"x": (4,)})],
    "reduce_min": [("min(A, axis=1)", {"A": (2, 3)})],
    "prod": [("prod(A, axis=1)", {"A": (2, 3)}), ("prod(x)", {"x": (3,)})],
    "variance": [("var(A, axis=0, ddof=1)", {"A": (3, 2)})],
    "std": [("std(A, axis=1)", {"A": (2, 3)})],
    "norm": [("norm(x)", {"x": (3,)}), ("norm(A, 1, axis=0)", {"A": (2, 3)})],
    "logsumexp": [("logsumexp(A, axis=1)", {"A": (2, 3)})],
    "cumsum": [("cumsum(A, axis=1)", {"A": (2, 3)}), ("cumsum(A)", {"A": (2, 2)})],
    "trace": [("trace(S @ S)", {"S": (3, 3)})],
    "diag": [("diag(x) @ S", {"x": (3,), "S": (3, 3)}), ("diag(S, 1)", {"S": (3, 3)})],
    "argmax": [("x * argmax(x)", {"x": (3,)})],
    "argmin": [("x * argmin(x, axis=0)", {"x": (3,)})],
    "softmax": [("softmax(A)", {"A": (2, 3)}), ("softmax(A, axis=0)", {"A": (2, 3)})],
    "log_softmax": [("log_softmax(A)", {"A": (2, 3)})],
    "cross_entropy": [("cross_entropy(softmax(A), softmax(B))", {"A": (2, 3), "B": (2, 3)})],
    "softmax_cross_entropy": [("softmax_cross_entropy(A, T)", {"A": (2, 3), "T": (2, 3)}),
                              ("softmax_cross_entropy(A, t)", {"A": (2, 3), "t": np.array([2.0, 0.0])}, {"t"})],
    "nll": [("nll(log_softmax(A), t)", {"A": (2, 3), "t": np.array([1.0, 2.0])}, {"t"})],
    "mse": [("mse(A, B)", {"A": (2, 3), "B": (2, 3)}), ("mse(x, s)", {"x": (3,), "s": ()})],
    "binary_cross_entropy": [("binary_cross_entropy(sigmoid(A), sigmoid(B))", {"A": (2, 3), "B": (2, 3)})],
    "one_hot": [("sum(one_hot(t, 3) * A)", {"A": (2, 3), "t": np.array([1.0, 2.0])}, {"t"})],
    "zeros": [("x + zeros(3)", {"x": (3,)})],
    "ones": [("s * ones((2, 2))", {"s": ()})],
    "full": [("x * full(3, 2.5)", {"x": (3,)})],
    "eye": [("S @ eye(3)", {"S": (3, 3)})],
    "arange": [("x * arange(3)", {"x": (3,)})],
}


def test_every_tensor_row_has_a_program_here():
    assert sorted(TENSOR_OPS - set(TENSOR_PROGRAMS)) == []


def _bind(shapes, rng):
    return {name: (shape if isinstance(shape, np.ndarray) else
                   (float(rng.normal()) if shape == () else rng.normal(size=shape)))
            for name, shape in shapes.items()}


def check_program(source, bindings, directions, rng, data=frozenset()):
    """forward_tangents at `bindings` along `directions` against reverse mode and central differences."""
    graph = graph_of(source, bindings)
    ops = table_for(graph, bindings)
    values = forward(graph, bindings, ops)
    tangents = forward_tangents(graph, values, directions, ops)
    assert len(tangents) == len(values)
    for value, tangent in zip(values, tangents):
        assert np.shape(tangent) == np.shape(value)
    tangent = tangents[graph.output]
    out = values[graph.output]
    w = rng.normal(size=np.shape(out)) if np.shape(out) else 1.0
    evaluation = evaluate(graph, bindings, seed=(w if np.shape(out) else None), ops=ops)
    grads = evaluation.gradients()
    reverse = sum(float(np.sum(np.asarray(grads[name]) * directions[name])) for name in directions)
    close(np.sum(w * np.asarray(tangent)), reverse)
    h = 1e-6
    up = {n: v + h * directions.get(n, 0) if n not in data else v for n, v in bindings.items()}
    down = {n: v - h * directions.get(n, 0) if n not in data else v for n, v in bindings.items()}
    numeric = (np.asarray(forward(graph, up, ops)[graph.output]) -
               np.asarray(forward(graph, down, ops)[graph.output])) / (2 * h)
    np.testing.assert_allclose(tangent, numeric, rtol=1e-5, atol=1e-6)
    return tangents


CASES = [(row, case[0], case[1], case[2] if len(case) > 2 else frozenset())
         for row, cases in TENSOR_PROGRAMS.items() for case in cases]


@pytest.mark.parametrize("row, source, shapes, data", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_tensor_tangent_is_the_gradient_along_the_direction(row, source, shapes, data, seed):
    rng = np.random.default_rng(seed)
    bindings = _bind(shapes, rng)
    if row in ("cross_entropy", "binary_cross_entropy", "softmax_cross_entropy") and "T" in bindings:
        bindings["T"] = np.abs(bindings["T"]) + 0.1
    directions = {name: (float(rng.normal()) if np.shape(v) == () else rng.normal(size=np.shape(v)))
                  for name, v in bindings.items() if name not in data}
    check_program(source, bindings, directions, rng, data)


def test_tensor_conventions_match_reverse_at_ties_and_zeros():
    rng = np.random.default_rng(3)
    for source, value in [("max(x)", np.array([1.0, 3.0, 3.0])), ("norm(x)", np.zeros(3)),
                          ("std(x)", np.ones(3)), ("sum(relu(x))", np.array([0.0, 1.0, -1.0])),
                          ("prod(x)", np.array([0.0, 2.0, 3.0]))]:
        graph = graph_of(source, {"x": value})
        values = forward(graph, {"x": value}, ARRAYS)
        v = rng.normal(size=3)
        tangent = forward_tangents(graph, values, {"x": v}, ARRAYS)[graph.output]
        grad = evaluate(graph, {"x": value}, ops=ARRAYS).gradients()["x"]
        close(tangent, float(np.dot(grad, v)))
    # max tie: 1/k of each tied tangent, written out by hand
    graph = graph_of("max(x)", {"x": 0})
    values = forward(graph, {"x": np.array([1.0, 3.0, 3.0])}, ARRAYS)
    assert forward_tangents(graph, values, {"x": np.array([5.0, 1.0, 2.0])}, ARRAYS)[graph.output] == 1.5


# ---------------------------------------------------------------------------------------------
# The engine's pass
# ---------------------------------------------------------------------------------------------

def test_unseeded_variables_and_nodes_that_do_not_depend_on_a_seed_get_a_cheap_zero():
    bindings = {"x": 2.0, "y": 3.0}
    graph = graph_of("x * y + sin(y)", bindings)
    values = forward(graph, bindings)
    tangents = forward_tangents(graph, values, {"x": 1.0})
    assert tangents[graph.output] == 3.0
    assert tangents[graph.variables["y"]] == 0.0
    assert all(type(t) is float for t in tangents)


def test_array_zeros_have_the_values_shapes_and_a_scalar_seed_broadcasts_to_its_node():
    bindings = {"x": np.arange(3.0), "s": 2.0}
    graph = graph_of("x + s", bindings)
    values = forward(graph, bindings, ARRAYS)
    tangents = forward_tangents(graph, values, {"s": 1.0}, ARRAYS)
    close(tangents[graph.output], np.ones(3))
    close(tangents[graph.variables["x"]], np.zeros(3))


def test_fan_out_sums_the_tangents():
    bindings = {"x": 1.5}
    graph = graph_of("q = x * x; q * q + q", bindings)
    values = forward(graph, bindings)
    # f = x^4 + x^2: f' = 4x^3 + 2x
    assert math.isclose(forward_tangents(graph, values, {"x": 1.0})[graph.output], 4 * 1.5 ** 3 + 2 * 1.5,
                        rel_tol=1e-12)


def test_a_long_chain_needs_no_recursion():
    n = 100_000
    source = "x" + " + sin(x)" * n
    graph = graph_of(source, {"x": 0.3})
    values = forward(graph, {"x": 0.3})
    assert math.isclose(forward_tangents(graph, values, {"x": 1.0})[graph.output], 1 + n * math.cos(0.3),
                        rel_tol=1e-9)


def test_exact_tangents_are_fractions():
    bindings = {"x": Fraction(1, 3), "y": Fraction(2)}
    graph = graph_of("x^2 * y / (1 + x)", bindings)
    from cgraph_cli import exact
    values = exact.evaluate(graph, bindings).values
    tangents = forward_tangents(graph, values, {"x": Fraction(1), "y": Fraction(1, 2)}, EXACT)
    x, y = Fraction(1, 3), Fraction(2)
    dfdx = (2 * x * y * (1 + x) - x * x * y) / (1 + x) ** 2
    dfdy = x * x / (1 + x)
    assert tangents[graph.output] == dfdx + dfdy / 2
    assert all(isinstance(t, Fraction) for t in tangents)


@settings(max_examples=25, deadline=None)
@given(x=floats(-3, 3), y=floats(0.5, 4), dx=floats(-2, 2), dy=floats(-2, 2))
def test_one_sweep_gives_what_the_two_passes_give(x, y, dx, dy):
    from cgraph_cli.engine import forward_with_tangents
    source = "q = x*y + sin(x); r = q/y - max(x, y)^2; sigmoid(r) * log(y) + relu(x - 1)"
    bindings, seeds = {"x": x, "y": y}, {"x": dx, "y": dy}
    graph = graph_of(source, bindings)
    values, tangents = forward_with_tangents(graph, bindings, seeds)
    assert values == forward(graph, bindings)
    assert tangents == forward_tangents(graph, values, seeds)
    assert evaluate(graph, bindings, tangents=seeds).tangents == tangents
    # against the formula's derivative written here
    q = x * y + math.sin(x)
    r = q / y - max(x, y) ** 2
    dq = dx * y + x * dy + math.cos(x) * dx
    m = max(x, y)
    dm = dx if x > y else dy if y > x else (dx + dy) / 2
    dr = dq / y - q * dy / y ** 2 - 2 * m * dm
    s = 1 / (1 + math.exp(-r))
    expected = s * (1 - s) * dr * math.log(y) + s * dy / y + (dx if x > 1 else 0.0)
    assert math.isclose(tangents[graph.output], expected, rel_tol=1e-9, abs_tol=1e-12)


def test_one_sweep_reports_an_evaluation_error_as_forward_does():
    from cgraph_cli.engine import forward_with_tangents
    from cgraph_cli.errors import EvalError
    graph = graph_of("x / (y - 1)", {"x": 1.0, "y": 1.0})
    with pytest.raises(EvalError) as two:
        forward(graph, {"x": 1.0, "y": 1.0})
    with pytest.raises(EvalError) as one:
        forward_with_tangents(graph, {"x": 1.0, "y": 1.0}, {"x": 1.0})
    assert str(one.value) == str(two.value)


def test_evaluate_with_tangents_on_arrays():
    bindings = {"W": np.array([[1.0, 2.0], [3.0, -1.0]]), "x": np.array([0.5, 2.0])}
    graph = graph_of("sum(relu(W @ x))", bindings)
    v = np.array([1.0, -1.0])
    evaluation = evaluate(graph, bindings, tangents={"x": v})
    y = bindings["W"] @ bindings["x"]
    close(evaluation.tangents[graph.output], np.sum(np.where(y > 0, bindings["W"] @ v, 0.0)))


def test_a_seed_of_an_unknown_name_is_a_binding_error():
    graph = graph_of("x * 2", {"x": 1.0})
    with pytest.raises(BindingError):
        forward_tangents(graph, forward(graph, {"x": 1.0}), {"y": 1.0})


# ---------------------------------------------------------------------------------------------
# eval --tangent
# ---------------------------------------------------------------------------------------------

# (a tangent's name is its name with U+0307, a combining dot above, after the first letter: "y\u0307";
# the strings below are written decomposed so, NFD)
SUM_TIMES_Z = ["eval", "q = x + y; f = q*z", "--x", "1", "--y", "3", "--z", "-4"]


def sigmoid(s):
    return 1 / (1 + math.exp(-s))


def test_json_has_a_tangent_on_every_node_and_the_outputs_at_the_top():
    document = run_cgraph(*SUM_TIMES_Z, "--tangent", "x=1", "--tangent", "z=0.5", "--format", "json").json()
    # f = (x + y) z: df = z dx + (x + y) dz = -4*1 + 4*0.5
    assert document["tangent"] == -2.0
    by_name = {node["name"]: node["tangent"] for node in document["nodes"]}
    assert by_name == {"x": 1.0, "y": 0.0, "z": 0.5, "q": 1.0, "f": -2.0}
    assert document["gradients"] == {"x": -4.0, "y": -4.0, "z": 4.0}   # reverse mode as before
    plain = run_cgraph(*SUM_TIMES_Z, "--format", "json").json()
    assert "tangent" not in plain and all("tangent" not in node for node in plain["nodes"])


def test_the_neuron_along_w0_is_the_sigmoid_slope_times_x0():
    args = ["eval", "s = w0*x0 + w1*x1 + w2; f = sigmoid(s)", "--w0", "2", "--x0", "-1", "--w1", "-3",
            "--x1", "-2", "--w2", "-3", "--tangent", "w0=1", "--tangent", "x1=0.25"]
    document = run_cgraph(*args, "--format", "json").json()
    s = 2 * -1 + -3 * -2 - 3
    expected = sigmoid(s) * (1 - sigmoid(s)) * (-1 * 1 + -3 * 0.25)
    assert math.isclose(document["tangent"], expected, rel_tol=1e-12)


def test_tree_table_and_plain_show_the_tangents():
    tree = run_cgraph(*SUM_TIMES_Z, "--tangent", "x=1", "--tangent", "z=0.5")
    assert tree.code == 0
    first = tree.out.splitlines()[0]
    assert "tangent -2" in first and "grad 1" in first
    assert re.search(r"z\s+│\s+-4\s+│\s+4\s+│\s+0.5", tree.out)     # the inputs' table: a tangent column
    table = run_cgraph(*SUM_TIMES_Z, "--tangent", "x=1", "--format", "table").out
    assert "tangent" in table.splitlines()[1] and "output: #4   value -16   tangent -4" in table
    plain = run_cgraph(*SUM_TIMES_Z, "--tangent", "x=1", "--format", "plain").out
    assert plain.splitlines() == ["value -16", "tangent -4", "x -4", "y -4", "z 4"]
    assert "tangent" not in run_cgraph(*SUM_TIMES_Z).out


def test_a_tensor_variable_takes_a_tensor_of_its_shape():
    W = np.array([[1.0, 2.0, -1.0], [0.5, 3.0, 2.0]])
    x = np.array([0.2, -0.4, 1.5])
    v = np.array([1.0, 0.0, -2.0])
    args = ["eval", "tanh(W @ x)", "--W", json.dumps(W.tolist()), "--x", json.dumps(x.tolist()),
            "--tangent", "x=" + json.dumps(v.tolist())]
    document = run_cgraph(*args, "--format", "json").json()
    expected = (1 - np.tanh(W @ x) ** 2) * (W @ v)
    close(document["tangent"], expected)
    plain = run_cgraph(*args, "--format", "plain").out.splitlines()
    assert [line.split()[0] for line in plain[:4]] == ["value[0]", "value[1]", "tangent[0]", "tangent[1]"]
    assert math.isclose(float(plain[2].split()[1]), expected[0], rel_tol=1e-12)


def test_exact_tangents():
    document = run_cgraph("eval", "x^2*y + x/y", "--x", "1/3", "--y", "2", "--tangent", "x=1/2",
                          "--tangent", "y=5", "--exact", "--format", "json").json()
    x, y = Fraction(1, 3), Fraction(2)
    expected = (2 * x * y + 1 / y) * Fraction(1, 2) + (x * x - x / (y * y)) * 5
    assert document["tangent"] == str(expected) == "19/18"
    tree = run_cgraph("eval", "x^2*y", "--x", "1/3", "--y", "2", "--tangent", "x=1/2", "--exact").out
    assert "tangent 2/3" in tree.splitlines()[0]


def test_steps_show_each_statements_tangent_rule_and_value():
    document = run_cgraph(*SUM_TIMES_Z, "--tangent", "x=1", "--tangent", "y=2", "--tangent", "z=0.5",
                          "--steps", "--format", "json").json()
    steps = document["forward_steps"]
    assert [(s["tangent_rule"], s["tangent"]) for s in steps] == [("q̇ = ẋ + ẏ", 3.0), ("ḟ = q̇*z + ż*q", -10.0)]
    table = run_cgraph(*SUM_TIMES_Z, "--tangent", "x=1", "--steps").out
    assert "tangent rule" in table and "q̇ = ẋ" in table and "ḟ = q̇*z" in table
    plain = run_cgraph(*SUM_TIMES_Z, "--tangent", "x=1", "--steps", "--format", "plain").out.splitlines()
    assert plain[0].split("\t") == ["forward", "1", "q", "q = x + y", "4", "q̇ = ẋ", "1"]
    assert plain[1].split("\t")[-2:] == ["ḟ = q̇*z", "-4"]
    assert plain[2].startswith("backward\t")
    without = run_cgraph(*SUM_TIMES_Z, "--steps", "--format", "json").json()["forward_steps"]
    assert all("tangent" not in step for step in without)


def test_steps_tangent_rules_of_tensor_rows():
    args = ["eval", "sum(softmax(W @ x))", "--W", "[[1, 2], [3, 4]]", "--x", "[0.5, -1]",
            "--tangent", "x=[1, 0]", "--steps", "--format", "json"]
    steps = run_cgraph(*args).json()["forward_steps"]
    rules = [step["tangent_rule"] for step in steps]
    assert rules[0] == "v̇1 = W @ ẋ"
    assert rules[1] == "v̇2 = v2 * (v̇1 - sum(v̇1 * v2, axis=-1, keepdims=True))"   # out is v2 itself
    assert rules[2] == "v̇3 = sum(v̇2)"
    assert math.isclose(steps[-1]["tangent"], 0.0, abs_tol=1e-12)   # a softmax sums to 1 along any direction


@pytest.mark.parametrize("words, message", [
    (["--tangent", "q=1"], "--tangent q: no variable q in the formula (it has: x, y, z)"),
    (["--tangent", "X=1"], "did you mean x?"),
    (["--tangent", "x=[1, 2]"], "--tangent x: the tangent is shape (2,) but x is a scalar"),
    (["--tangent", "x=abc"], "--tangent x: expected a number"),
    (["--tangent", "x=nan"], "not a finite number"),
    (["--tangent", "x"], "expected NAME=VALUE"),
    (["--tangent", "x=1", "--tangent", "x=2"], "--tangent x is given twice"),
])
def test_bad_tangents_are_binding_errors(words, message):
    result = run_cgraph(*SUM_TIMES_Z, *words)
    assert result.code == 2 and result.out == ""
    assert message in result.err and len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


def test_a_tensor_tangent_of_the_wrong_shape():
    result = run_cgraph("eval", "sum(x)", "--x", "[1, 2, 3]", "--tangent", "x=[1, 2]")
    assert result.code == 2 and "the tangent is shape (2,) but x is shape (3,)" in result.err
    result = run_cgraph("eval", "sum(x)", "--x", "[1, 2, 3]", "--tangent", "x=1")
    assert result.code == 2 and "the tangent is a scalar but x is shape (3,)" in result.err


@pytest.mark.parametrize("words, named", [(["--each-line"], "--each-line"), (["--order", "2"], "--order 2"),
                                          (["--format", "jsonl"], "--format jsonl")])
def test_tangents_with_bulk_runs_or_the_hessian_are_usage_errors(words, named):
    result = run_cgraph("eval", "x*y", "--x", "1", "--y", "2", "--tangent", "x=1", *words)
    assert result.code == 2 and named in result.err and "--tangent" in result.err


def test_tangents_with_points_are_a_usage_error(tmp_path):
    points = tmp_path / "p.csv"
    points.write_text("x,y\n1,2\n")
    result = run_cgraph("eval", "x*y", "--points", str(points), "--tangent", "x=1")
    assert result.code == 2 and "--points" in result.err


def test_a_tangent_for_data_is_a_usage_error():
    result = run_cgraph("eval", "x*t", "--x", "1", "--t", "2", "--const", "t", "--tangent", "t=1")
    assert result.code == 2 and "t is data (--const t): it has no tangent" in result.err
    ok = run_cgraph("eval", "x*t", "--x", "1", "--t", "2", "--const", "t", "--tangent", "x=1", "--format", "json")
    assert ok.json()["tangent"] == 2.0


def test_the_footer_names_the_tangents():
    from cgraph_cli.render.tree import FOOTER
    assert "--tangent" in FOOTER and "--steps" in FOOTER and "cgraph graph" in FOOTER and len(FOOTER) <= 60


# ---- widths: a tangent is a number, never cut (render/layout.py) ----

NEURON = ["1/(1+exp(-(w0*x0 + w1*x1 + w2)))", "--w0", "2.123456789", "--w1", "-3", "--w2", "-3",
          "--x0", "-1", "--x1", "-2", "--tangent", "w0=1.23456789", "--tangent", "x1=0.3333333333"]
AFFINE = ["X @ W + b", "--X", "[[1.5, 2.0, -3.0], [0.25, 5.0, 6.0]]",
          "--W", "[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.125], [3.0, 3.0, 3.0, 3.0]]",
          "--b", "[0.1, -0.2, 0.3, 0.5]", "--tangent", "b=[1, 0.5, -0.25, 0.123456789]",
          "--tangent", "X=[[1, 0, 0], [0, 0.333333, 1]]"]


@pytest.mark.parametrize("columns", ["60", "80", None])
@pytest.mark.parametrize("args", [NEURON, AFFINE], ids=["neuron", "affine"])
def test_every_tangent_appears_unbroken_in_the_tree_and_table(args, columns):
    from test_widths import records, shown, tokens
    document = run_cgraph("eval", *args, "--format", "json").json()
    for output_format in ("tree", "table"):
        result = run_cgraph("eval", *args, "--format", output_format, env={"COLUMNS": columns})
        assert result.code == 0, result.err
        found = tokens(result.out)
        for node in document["nodes"]:
            assert set(shown(node["tangent"])) <= found, (output_format, node["id"], result.out)
            assert set(shown(node["value"])) <= found
        if args is NEURON:
            assert max(map(len, result.out.splitlines())) <= int(columns or 80), result.out
        if output_format == "table":   # each node's tangent on its own row
            rows = records(result.out)
            for node in document["nodes"]:
                assert set(shown(node["tangent"])) <= tokens(rows[node["id"]]), (node["id"], rows[node["id"]])


@pytest.mark.parametrize("columns", ["60", "80"])
def test_steps_with_tangents_fit_the_width(columns):
    import unicodedata
    result = run_cgraph("eval", *NEURON, "--steps", env={"COLUMNS": columns})
    assert result.code == 0
    def cells(line):   # a combining dot (ẇ0) takes no column
        return sum(1 for char in line if not unicodedata.combining(char))
    assert max(map(cells, result.out.splitlines())) <= int(columns), result.out
    document = run_cgraph("eval", *NEURON, "--steps", "--format", "json").json()
    from test_widths import tokens
    found = tokens(result.out)
    for step in document["forward_steps"]:
        assert "%.6g" % step["tangent"] in found or "%.6g" % step["tangent"] == "-0"


def test_a_matrix_tangents_rows_line_up_under_its_first_in_the_tree():
    out = run_cgraph("eval", "2 * X", "--X", "[[1.5, 2.0], [0.25, 5.0]]", "--tangent", "X=[[1, 0], [0, 3]]",
                     env={"COLUMNS": "80"}).out.splitlines()
    first = next(k for k, line in enumerate(out) if line.startswith("tangent "))
    assert out[first] == "tangent [[2, 0],"
    assert out[first + 1] == "         [0, 6]]"
