"""The op table: every vector-Jacobian rule against central finite differences of its forward function."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cgraph_cli.ops import CONSTANTS, FUNCTIONS, NO_GRADIENT, OPS, TENSOR_OPS

LEAVES = {"var", "const"}


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(low, high, gap=1e-3):
    return floats(low, high).filter(lambda v: abs(v) > gap)


# Where each op is smooth: a strategy per argument, plus a condition on the whole point.
DOMAINS = {
    "add": ((floats(-10, 10), floats(-10, 10)), None),
    "sub": ((floats(-10, 10), floats(-10, 10)), None),
    "mul": ((floats(-10, 10), floats(-10, 10)), None),
    "div": ((floats(-10, 10), away_from_zero(-10, 10, gap=0.1)), None),
    "pow": ((floats(0.1, 5), floats(-3, 3)), None),
    "neg": ((floats(-10, 10),), None),
    "pos": ((floats(-10, 10),), None),
    "exp": ((floats(-20, 20),), None),
    "log": ((floats(0.01, 100),), None),
    "log2": ((floats(0.01, 100),), None),
    "log10": ((floats(0.01, 100),), None),
    "sqrt": ((floats(0.01, 100),), None),
    "sin": ((floats(-10, 10),), None),
    "cos": ((floats(-10, 10),), None),
    "tan": ((floats(-1.4, 1.4),), None),
    "tanh": ((floats(-10, 10),), None),
    "sinh": ((floats(-10, 10),), None),
    "cosh": ((floats(-10, 10),), None),
    "sigmoid": ((floats(-30, 30),), None),
    "relu": ((away_from_zero(-10, 10),), None),
    "abs": ((away_from_zero(-10, 10),), None),
    "max": ((floats(-10, 10), floats(-10, 10)), lambda a, b: abs(a - b) > 1e-3),
    "min": ((floats(-10, 10), floats(-10, 10)), lambda a, b: abs(a - b) > 1e-3),
    "sign": ((away_from_zero(-10, 10),), None),
    "square": ((floats(-10, 10),), None),
    "log1p": ((floats(-0.99, 100),), None),
    "expm1": ((floats(-20, 20),), None),
    "asin": ((floats(-0.99, 0.99),), None),
    "acos": ((floats(-0.99, 0.99),), None),
    "atan": ((floats(-10, 10),), None),
    # away from the origin and from the branch cut (y = 0, x < 0), where the value jumps by 2*pi
    "atan2": ((floats(-10, 10), floats(-10, 10)), lambda y, x: math.hypot(x, y) > 0.1 and (x > 0 or abs(y) > 1e-3)),
    "asinh": ((floats(-10, 10),), None),
    "acosh": ((floats(1.01, 100),), None),
    "atanh": ((floats(-0.99, 0.99),), None),
    "erf": ((floats(-5, 5),), None),
    "softplus": ((floats(-30, 30),), None),
    "silu": ((floats(-30, 30),), None),
    "gelu": ((floats(-10, 10),), None),
    "leaky_relu": ((away_from_zero(-10, 10),), None),
    "elu": ((away_from_zero(-10, 10),), None),
    "clip": ((floats(-10, 10), floats(-10, 10), floats(-10, 10)),
             lambda a, lo, hi: min(abs(a - lo), abs(a - hi), abs(lo - hi)) > 1e-3),
    "where": ((away_from_zero(-10, 10), floats(-10, 10), floats(-10, 10)), None),
    # away from the jumps: an integer (floor, ceil), a half-integer (round)
    "floor": ((floats(-10, 10).filter(lambda v: 1e-3 < v - math.floor(v) < 1 - 1e-3),), None),
    "ceil": ((floats(-10, 10).filter(lambda v: 1e-3 < v - math.floor(v) < 1 - 1e-3),), None),
    "round": ((floats(-10, 10).filter(lambda v: abs(v - math.floor(v) - 0.5) > 1e-3),), None),
}

# Tensor rows are checked on arrays in test_tensors.py; the rows without a gradient below.
SMOOTH_OPS = sorted(name for name in OPS if name not in LEAVES | TENSOR_OPS | NO_GRADIENT)


def test_comparisons_are_one_or_zero_on_every_backend_and_pass_no_gradient():
    from fractions import Fraction

    import numpy as np

    from cgraph_cli import engine, graph
    from cgraph_cli.ast import Binary, Name, Program
    from cgraph_cli.ops import array_table, exact_table

    expected = {"lt": [1, 0, 0], "le": [1, 1, 0], "gt": [0, 0, 1], "ge": [0, 1, 1], "eq": [0, 1, 0],
                "ne": [1, 0, 1]}
    assert set(expected) == {name for name in NO_GRADIENT if OPS[name].arity == 2 and OPS[name].infix}
    pairs = [(1.0, 2.0), (2.0, 2.0), (3.0, 2.0)]
    for op, results in expected.items():
        assert [OPS[op].forward(a, b) for a, b in pairs] == results
        assert [exact_table()[op].forward(Fraction(a), Fraction(b)) for a, b in pairs] == results
        assert list(array_table()[op].forward(np.array([1.0, 2.0, 3.0]), 2.0)) == results
        span = (0, 5)
        program = Program((Binary("mul", Binary(op, Name("x", span), Name("y", span), span), Name("x", span),
                                  span),), span)
        built = graph.build(program, "x < y")
        assert built.needs_grad[built.inputs[built.output][0]] is False   # the comparison: no gradient
        for (a, b), result in zip(pairs, results):
            evaluation = engine.evaluate(built, {"x": a, "y": b})
            assert evaluation.gradients() == {"x": float(result), "y": 0.0}


def test_every_op_has_a_domain_here():
    """A new row in the table must get a finite-difference test."""
    assert set(DOMAINS) == set(SMOOTH_OPS)


def test_table_rows_are_consistent():
    for name, op in OPS.items():
        assert op.name == name
        assert op.arity in (-1, 0, 1, 2, 3)
        if op.arity == 0:   # a leaf, or a constructor: a constant tensor from constant params (zeros)
            assert name in LEAVES or (op.params and not op.differentiable and op.tensor), name
        assert op.symbol
    for function, op_name in FUNCTIONS.items():
        choices = op_name.items() if isinstance(op_name, dict) else [(OPS[op_name].arity, op_name)]
        for arity, choice in choices:
            assert OPS[choice].arity == arity
    assert FUNCTIONS["max"] == {1: "reduce_max", 2: "max"}
    assert FUNCTIONS["ln"] == "log" and FUNCTIONS["pow"] == "pow"
    assert OPS["max"].arity == 2 and OPS["pow"].arity == 2 and OPS["sqrt"].arity == 1
    assert CONSTANTS == {"pi": math.pi, "e": math.e}


def central_difference(forward, point, k, step=1e-6):
    h = step * max(1.0, abs(point[k]))
    up, down = list(point), list(point)
    up[k] += h
    down[k] -= h
    return (forward(*up) - forward(*down)) / (up[k] - down[k])


@pytest.mark.parametrize("name", SMOOTH_OPS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_vjp_matches_central_differences(name, data):
    op = OPS[name]
    strategies, condition = DOMAINS[name]
    point = [data.draw(strategy, label=f"input {k}") for k, strategy in enumerate(strategies)]
    if condition is not None:
        assume(condition(*point))
    upstream = data.draw(floats(-3, 3).filter(lambda v: abs(v) > 1e-2), label="upstream")
    out = op.forward(*point)
    gradients = op.vjp(upstream, out, *point)
    assert len(gradients) == op.arity == len(point)
    scale = max(1.0, abs(out))
    for k in range(op.arity):
        numeric = upstream * central_difference(op.forward, point, k)
        assert math.isfinite(gradients[k])
        assert math.isclose(gradients[k], numeric, rel_tol=1e-6, abs_tol=1e-6 * scale * abs(upstream)), (
            name, point, k, gradients[k], numeric)


@pytest.mark.parametrize("name", SMOOTH_OPS)
def test_vjp_is_linear_in_upstream(name):
    op = OPS[name]
    point = [1.7 if name == "acosh" else 0.7, 0.3, 0.9][: op.arity]
    out = op.forward(*point)
    once = op.vjp(1.0, out, *point)
    assert len(once) == op.arity
    assert op.vjp(-2.5, out, *point) == pytest.approx([-2.5 * g for g in once], rel=1e-15)
    assert all(g == 0 for g in op.vjp(0.0, out, *point))


# ---- forward values the rules rely on ----

def test_forward_values():
    assert OPS["sigmoid"].forward(0.0) == 0.5
    assert OPS["sigmoid"].forward(1.0) == pytest.approx(0.7310585786300049, rel=1e-15)
    assert OPS["sigmoid"].forward(-800.0) == 0.0        # no overflow for a large negative argument
    assert OPS["sigmoid"].forward(800.0) == 1.0
    assert OPS["relu"].forward(-2.0) == 0.0 and OPS["relu"].forward(2.0) == 2.0
    assert OPS["max"].forward(1.0, 2.0) == 2.0 and OPS["min"].forward(1.0, 2.0) == 1.0
    assert OPS["log2"].forward(8.0) == 3.0 and OPS["log10"].forward(1000.0) == pytest.approx(3.0)


# ---- kinks: the minimum-norm subgradient, and a message exactly at the kink ----

def test_relu_kink():
    relu = OPS["relu"]
    assert relu.vjp(1.0, 0.0, 0.0) == (0.0,)
    assert relu.vjp(2.0, 3.0, 3.0) == (2.0,)
    assert relu.vjp(2.0, 0.0, -3.0) == (0.0,)
    assert "relu at 0" in relu.kink(0.0, 0.0)
    assert relu.kink(1.0, 1.0) is None and relu.kink(0.0, -1.0) is None


def test_abs_kink():
    absolute = OPS["abs"]
    assert absolute.vjp(1.0, 0.0, 0.0) == (0.0,)
    assert absolute.vjp(2.0, 3.0, -3.0) == (-2.0,)
    assert absolute.vjp(2.0, 3.0, 3.0) == (2.0,)
    assert "abs at 0" in absolute.kink(0.0, 0.0)
    assert absolute.kink(1.0, 1.0) is None and absolute.kink(1.0, -1.0) is None


@pytest.mark.parametrize("name", ["max", "min"])
def test_tie_splits_the_gradient(name):
    op = OPS[name]
    assert op.vjp(1.0, 2.0, 2.0, 2.0) == (0.5, 0.5)
    assert op.vjp(-4.0, 2.0, 2.0, 2.0) == (-2.0, -2.0)
    message = op.kink(2.0, 2.0, 2.0)
    assert name in message and "0.5/0.5" in message
    assert op.kink(2.0, 2.0, 1.0) is None and op.kink(2.0, 1.0, 2.0) is None


def test_max_and_min_route_the_gradient_to_the_winner():
    assert OPS["max"].vjp(3.0, 5.0, 5.0, 1.0) == (3.0, 0.0)
    assert OPS["max"].vjp(3.0, 5.0, 1.0, 5.0) == (0.0, 3.0)
    assert OPS["min"].vjp(3.0, 1.0, 5.0, 1.0) == (0.0, 3.0)
    assert OPS["min"].vjp(3.0, 1.0, 1.0, 5.0) == (3.0, 0.0)


def test_only_kink_functions_have_kinks():
    assert {name for name, op in OPS.items() if op.kink and not op.tensor} == {
        "relu", "abs", "max", "min", "leaky_relu", "elu", "clip", "floor", "ceil", "round", "atan2"}
    assert {name for name, op in OPS.items() if op.kink and op.tensor} == {"reduce_max", "reduce_min", "std",
                                                                          "norm"}


# ---- the power rule ----

def test_square_of_a_negative_base():
    power = OPS["pow"]
    out = power.forward(-3.0, 2.0)
    assert out == 9.0
    d_base, d_exponent = power.vjp(1.0, out, -3.0, 2.0)
    assert d_base == -6.0
    assert math.isnan(d_exponent)          # a negative base has no real logarithm


def test_square_root_slope_at_zero_is_infinite():
    power = OPS["pow"]
    d_base, d_exponent = power.vjp(1.0, power.forward(0.0, 0.5), 0.0, 0.5)
    assert d_base == math.inf
    assert d_exponent == 0.0
    assert OPS["sqrt"].vjp(1.0, 0.0, 0.0) == (math.inf,)


def test_exponent_gradient_at_base_zero():
    power = OPS["pow"]
    assert power.vjp(1.0, 0.0, 0.0, 2.0) == (0.0, 0.0)      # d/dx x^2 = 0 at 0; d/dy 0^y = 0
    assert power.vjp(1.0, 0.0, 0.0, 1.0) == (1.0, 0.0)      # d/dx x^1 = 1
    assert power.vjp(1.0, 1.0, 0.0, 0.0) == (0.0, 0.0)      # 0^0 = 1, flat in both
    assert power.forward(0.0, 0.0) == 1.0


def test_exponent_gradient_for_a_positive_base():
    power = OPS["pow"]
    d_base, d_exponent = power.vjp(1.0, 8.0, 2.0, 3.0)
    assert d_base == 12.0
    assert d_exponent == pytest.approx(8.0 * math.log(2.0), rel=1e-15)
    assert power.vjp(1.0, 1.0, 5.0, 0.0) == (0.0, pytest.approx(math.log(5.0)))


def test_power_domain_errors():
    power = OPS["pow"]
    with pytest.raises(ValueError):
        power.forward(-1.0, 0.5)
    with pytest.raises(ZeroDivisionError):
        power.forward(0.0, -1.0)
    with pytest.raises(OverflowError):
        power.forward(9.0, 9.0 ** 9)
    assert power.forward(-2.0, 3.0) == -8.0


def test_sqrt_and_log_domains_raise():
    with pytest.raises(ValueError):
        OPS["sqrt"].forward(-1.0)
    with pytest.raises(ValueError):
        OPS["log"].forward(0.0)
    with pytest.raises(OverflowError):
        OPS["exp"].forward(1000.0)
    assert OPS["log"].domain and OPS["sqrt"].domain


def test_sign_is_zero_at_zero_and_flat_everywhere():
    sign = OPS["sign"]
    assert [sign.forward(v) for v in (-2.5, 0.0, 3.0)] == [-1.0, 0.0, 1.0]
    assert sign.vjp(1.0, 0.0, 0.0) == (0.0,)
    assert sign.vjp(5.0, 1.0, 2.0) == (0.0,)


def test_rows_written_once_serve_another_backend():
    """table(B) builds the same rows for any backend; here one that counts the conditions of where."""
    from types import SimpleNamespace

    from cgraph_cli.ops import MATH, table

    calls = []
    counting = SimpleNamespace(**{**vars(MATH), "where": lambda c, a, b: calls.append(c) or MATH.where(c, a, b)})
    rows = table(counting)
    assert set(rows) == set(OPS)
    assert rows["max"].vjp(1.0, 3.0, 3.0, 1.0) == (1.0, 0.0)
    assert rows["relu"].vjp(2.0, 0.0, 0.0) == (0.0,)
    assert calls == [0.0, 1.0, 0.0, 0.0]   # max: the tie, a > b, a < b; relu: a > 0
