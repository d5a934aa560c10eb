"""Forward values and reverse-mode gradients, against the course material's reference numbers."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli.engine import evaluate, forward
from cgraph_cli.errors import BindingError, EvalError, ExitStatus
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from seeds import staged_reference


def run(source, bindings=None, seed=1.0):
    bindings = dict(bindings or {})
    return evaluate(build(parse(source), source, frozenset(bindings)), bindings, seed)


def approx(value, rel=1e-12):
    return pytest.approx(value, rel=rel, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# Reference numbers from the course material
# ---------------------------------------------------------------------------------------------

def test_square_of_a_sum():
    result = run("(x+y)^2", {"x": 1.0, "y": 3.0})
    assert result.value == 16.0
    assert result.gradients() == {"x": 8.0, "y": 8.0}


def test_sum_times_z():
    result = run("(x+y)*z", {"x": 1.0, "y": 3.0, "z": -3.0})
    assert result.value == -12.0
    assert result.gradients() == {"x": -3.0, "y": -3.0, "z": 4.0}


def test_apple_price_count_tax():
    result = run("price*count*tax", {"price": 100.0, "count": 2.0, "tax": 1.1})
    assert result.value == approx(220.0)
    gradients = result.gradients()
    assert gradients["price"] == approx(2.2)
    assert gradients["count"] == approx(110.0)
    assert gradients["tax"] == approx(200.0)


SIGMOID_AT_1 = 0.7310585786
SIGMOID_SLOPE_AT_1 = 0.1966119332


@pytest.mark.parametrize("source", ["sigmoid(x)", "1/(1+exp(-x))"])
def test_sigmoid_at_one(source):
    result = run(source, {"x": 1.0})
    assert result.value == pytest.approx(SIGMOID_AT_1, abs=1e-10)
    assert result.gradients()["x"] == pytest.approx(SIGMOID_SLOPE_AT_1, abs=1e-10)


def test_sigmoid_function_and_its_formula_agree():
    for x in (-5.0, -1.0, 0.0, 0.3, 1.0, 4.0):
        gate, formula = run("sigmoid(x)", {"x": x}), run("1/(1+exp(-x))", {"x": x})
        assert gate.value == approx(formula.value, rel=1e-14)
        assert gate.gradients()["x"] == approx(formula.gradients()["x"], rel=1e-12)


def test_two_input_neuron():
    w, x = (2.0, -3.0, -3.0), (-1.0, -2.0)
    bindings = {"w0": w[0], "w1": w[1], "w2": w[2], "x0": x[0], "x1": x[1]}
    result = run("1/(1+exp(-(w0*x0 + w1*x1 + w2)))", bindings)
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1 + math.exp(-dot))
    ddot = (1 - f) * f
    assert result.value == pytest.approx(SIGMOID_AT_1, abs=1e-10)
    assert result.value == approx(f)
    g = result.gradients()
    assert [g["x0"], g["x1"]] == [approx(w[0] * ddot), approx(w[1] * ddot)]
    assert [g["w0"], g["w1"], g["w2"]] == [approx(x[0] * ddot), approx(x[1] * ddot), approx(ddot)]
    # the rounded figures of the course notes
    assert [g["x0"], g["x1"]] == pytest.approx([0.3932, -0.5898], abs=5e-5)
    assert [g["w0"], g["w1"], g["w2"]] == pytest.approx([-0.1966, -0.3932, 0.1966], abs=5e-5)


STAGED = ("sigy = 1/(1+exp(-y)); num = x + sigy; sigx = 1/(1+exp(-x)); xpy = x + y; "
          "xpysqr = xpy^2; den = sigx + xpysqr; invden = 1/den; f = num*invden")


def test_staged_backward_pass():
    x, y = 3.0, -4.0
    expected_values, expected_grads, expected_inputs = staged_reference(x, y)
    result = run(STAGED, {"x": x, "y": y})
    graph = result.graph
    values = {name: result.values[i] for name, i in graph.assigned.items()}
    grads = {name: result.grads[i] for name, i in graph.assigned.items()}
    assert set(graph.assigned) == set(expected_grads)
    for name in expected_grads:
        assert values[name] == approx(expected_values[name]), name
        assert grads[name] == approx(expected_grads[name]), name
    assert result.value == approx(expected_values["f"])
    assert result.gradients() == {"x": approx(expected_inputs["x"]), "y": approx(expected_inputs["y"])}
    assert graph.output == graph.assigned["f"]


# ---------------------------------------------------------------------------------------------
# Fan-out, reassignment, variables and constants
# ---------------------------------------------------------------------------------------------

def test_fan_out_doubles_per_level():
    result = run("b = a + a; c = b + b", {"a": 1.5})
    assert result.value == 6.0
    assert result.gradients() == {"a": 4.0}
    graph = result.graph
    a = graph.variables["a"]
    assert graph.inputs[graph.assigned["b"]] == (a, a)
    assert result.grads[graph.assigned["b"]] == 2.0


def test_square_by_multiplication_has_two_inputs():
    result = run("x*x", {"x": 3.0})
    x = result.graph.variables["x"]
    assert result.graph.inputs[result.graph.output] == (x, x)
    assert result.value == 9.0 and result.gradients() == {"x": 6.0}


def test_reassignment_reads_the_previous_value():
    result = run("c = x; c = c + c + 1", {"x": 2.0})
    assert result.value == 5.0
    assert result.gradients() == {"x": 2.0}
    result = run("c = c + c + 1", {"c": 2.0})       # c on the right is the variable c
    assert result.value == 5.0 and result.gradients() == {"c": 2.0}


def test_augmented_assignment_gradients():
    result = run("c = x; c *= y; c += x; c -= 1; c /= 2", {"x": 3.0, "y": 5.0})
    assert result.value == (3.0 * 5.0 + 3.0 - 1.0) / 2.0
    assert result.gradients() == {"x": (5.0 + 1.0) / 2.0, "y": 3.0 / 2.0}


def test_bound_but_unused_variable_has_gradient_zero():
    result = run("x * 2", {"x": 1.0, "unused": 7.0})
    assert result.gradients() == {"unused": 0.0, "x": 2.0}
    assert result.grads[result.graph.variables["unused"]] == 0.0


def test_constants_have_no_gradient():
    result = run("x + 2*3", {"x": 1.0})
    graph = result.graph
    assert result.value == 7.0
    for node_id, op in enumerate(graph.ops):
        if op == "const":
            assert result.grads[node_id] is None
    product = next(i for i, op in enumerate(graph.ops) if op == "mul")
    assert result.grads[product] is None            # depends on no variable
    assert result.grads[graph.output] == 1.0
    # a formula without variables: a value and no gradients at all
    constant = run("2^10")
    assert constant.value == 1024.0 and constant.gradients() == {}
    assert all(g is None for g in constant.grads)


def test_pi_and_e_are_constants_unless_bound():
    result = run("pi*x + e", {"x": 2.0})
    assert result.value == approx(2 * math.pi + math.e)
    assert result.gradients() == {"x": approx(math.pi)}
    bound = run("pi*x + e", {"x": 2.0, "e": 1.0, "pi": 3.0})
    assert bound.value == 7.0
    assert bound.gradients() == {"e": 1.0, "pi": 2.0, "x": 3.0}
    assert run("e^x", {"x": 1.0}).gradients()["x"] == approx(math.e)


def test_seed_scales_every_gradient():
    result = run("x*y", {"x": 2.0, "y": 3.0}, seed=-2.0)
    assert result.value == 6.0
    assert result.gradients() == {"x": -6.0, "y": -4.0}


def test_unbound_variable_is_a_binding_error():
    source = "x + y*z"
    graph = build(parse(source), source, frozenset({"x"}))
    with pytest.raises(BindingError) as info:
        evaluate(graph, {"x": 1.0})
    assert info.value.exit_code == ExitStatus.USAGE
    assert "y, z" in str(info.value) and "--y VALUE --z VALUE" in str(info.value)


def test_kinks_are_reported_with_their_nodes():
    result = run("relu(x) + abs(x) + max(x, x) + min(x, 1)", {"x": 0.0})
    graph = result.graph
    by_text = {graph.text(i): message for i, message in result.kinks.items()}
    assert set(by_text) == {"relu(x)", "abs(x)", "max(x, x)"}
    assert "0.5/0.5" in by_text["max(x, x)"]
    # relu'(0) = 0, abs'(0) = 0, the max tie gives 0.5 + 0.5, min(0, 1) passes 1
    assert result.gradients() == {"x": 2.0}
    assert run("relu(x) + abs(x)", {"x": 1.0}).kinks == {}


# ---------------------------------------------------------------------------------------------
# Random well-defined formulas: every gradient agrees with a central difference
# ---------------------------------------------------------------------------------------------

def _number(c):
    text = f"{abs(c):.3f}"
    return (f"(-{text})" if c < 0 else text), abs(c)


LEAVES = st.one_of(st.sampled_from([("x", 2.0), ("y", 2.0)]),
                   st.floats(-2, 2, allow_nan=False).map(_number))


def _bounded(text, bound):
    """Keep every subformula's magnitude at most 100, so no step overflows or loses precision."""
    return (f"tanh({text})", 1.0) if bound > 100 else (text, bound)


def _extend(inner):
    pair = st.tuples(inner, inner)
    return st.one_of(
        pair.map(lambda p: _bounded(f"({p[0][0]} + {p[1][0]})", p[0][1] + p[1][1])),
        pair.map(lambda p: _bounded(f"({p[0][0]} - {p[1][0]})", p[0][1] + p[1][1])),
        pair.map(lambda p: _bounded(f"{p[0][0]} * {p[1][0]}", p[0][1] * p[1][1])),
        pair.map(lambda p: (f"({p[0][0]}) / (2 + sin({p[1][0]}))", p[0][1])),
        pair.map(lambda p: (f"({p[0][0]}) / (1 + ({p[1][0]})^2)", p[0][1])),
        pair.map(lambda p: _bounded(f"pow(1 + ({p[0][0]})^2, sin({p[1][0]}))", 1 + p[0][1] ** 2)),
        st.tuples(st.sampled_from(["sin", "cos", "tanh", "sigmoid"]), inner).map(
            lambda p: (f"{p[0]}({p[1][0]})", 1.0)),
        inner.map(lambda a: _bounded(f"exp({a[0]})", math.exp(a[1])) if a[1] <= 4
                  else (f"exp(tanh({a[0]}))", math.e)),
        inner.map(lambda a: (f"log(1 + ({a[0]})^2)", math.log1p(a[1] ** 2))),
        inner.map(lambda a: _bounded(f"sqrt(1 + ({a[0]})^2)", math.sqrt(1 + a[1] ** 2))),
        inner.map(lambda a: _bounded(f"({a[0]})^2", a[1] ** 2)),
        inner.map(lambda a: (f"-({a[0]})", a[1])),
    )


FORMULAS = st.recursive(LEAVES, _extend, max_leaves=10).map(lambda pair: pair[0])
POINTS = st.floats(-2, 2, allow_nan=False)


def _central_difference(graph, point, name, h):
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (forward(graph, up)[graph.output] - forward(graph, down)[graph.output]) / (up[name] - down[name])


@settings(max_examples=120, deadline=None)
@given(source=FORMULAS, x=POINTS, y=POINTS)
def test_gradients_match_central_differences(source, x, y):
    point = {"x": x, "y": y}
    graph = build(parse(source), source, frozenset(point))
    result = evaluate(graph, point)
    assert result.warnings == []
    for name, gradient in result.gradients().items():
        h = 1e-6
        numeric = _central_difference(graph, point, name, h)
        coarse = _central_difference(graph, point, name, 2 * h)
        tolerance = 1e-6 * (1 + abs(gradient)) + 2 * abs(coarse - numeric)
        assert abs(gradient - numeric) <= tolerance, (source, point, name, gradient, numeric)


def test_the_finite_difference_check_can_fail():
    """The comparison above catches a wrong gradient (here: seeded twice as large)."""
    source, point = "sin(x) * y", {"x": 0.5, "y": 2.0}
    graph = build(parse(source), source, frozenset(point))
    wrong = evaluate(graph, point, seed=2.0).gradients()["x"]
    numeric = _central_difference(graph, point, "x", 1e-6)
    assert numeric == pytest.approx(2.0 * math.cos(0.5), rel=1e-8)
    assert abs(wrong - numeric) > 1e-6 * (1 + abs(wrong))


# ---------------------------------------------------------------------------------------------
# Evaluation errors and non-finite gradients
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, bindings, node_text, words", [
    ("1/(x-1) + 2", {"x": 1.0}, "1/(x-1)", "division by zero"),
    ("log(0)", {}, "log(0)", "log needs a positive argument"),
    ("a = 2; b = log(a - 2)", {}, "log(a - 2)", "log needs a positive argument"),
    ("sqrt(-1)", {}, "sqrt(-1)", "sqrt needs a non-negative argument"),
    ("exp(1000)", {}, "exp(1000)", "overflows"),
    ("9^9^9^9", {}, "9^9^9", "overflows"),
    ("x^0.5", {"x": -1.0}, "x^0.5", "negative base"),
    ("0^-1", {}, "0^-1", "negative power"),
    ("1e308*10", {}, "1e308*10", "not a finite"),
])
def test_evaluation_errors_name_the_node(source, bindings, node_text, words):
    with pytest.raises(EvalError) as info:
        run(source, bindings)
    message = str(info.value)
    assert info.value.exit_code == ExitStatus.EVALUATION == 3
    assert words in message
    assert f"in {node_text} at line 1" in message
    lines = message.splitlines()
    caret = lines[-1].index("^") - 2
    assert source[caret:caret + len(node_text)] == node_text


def test_infinite_gradient_is_a_warning_not_an_error():
    result = run("sqrt(x)", {"x": 0.0})
    assert result.value == 0.0
    assert result.gradients() == {"x": math.inf}
    assert len(result.warnings) == 1
    assert "sqrt(x)" in result.warnings[0] and "inf" in result.warnings[0]
    assert run("sqrt(x)", {"x": 4.0}).warnings == []


def test_exponent_gradient_with_a_negative_base_is_nan_and_warned():
    result = run("x^y", {"x": -3.0, "y": 2.0})
    assert result.value == 9.0
    gradients = result.gradients()
    assert gradients["x"] == -6.0 and math.isnan(gradients["y"])
    assert len(result.warnings) == 1 and "x^y" in result.warnings[0]


# ---------------------------------------------------------------------------------------------
# Long chains and deep nesting: forward and backward without recursion
# ---------------------------------------------------------------------------------------------

def test_ten_thousand_statement_chain():
    steps = 10_000
    source = "c = x\n" + "c = c + x*y\n" * (steps - 1)
    x, y = 1.5, 0.25
    result = run(source, {"x": x, "y": y})
    assert result.value == approx(x + (steps - 1) * x * y)
    assert result.gradients() == {"x": approx(1 + (steps - 1) * y), "y": approx((steps - 1) * x)}


def test_ten_thousand_factor_product():
    factors = 10_000
    source = "*".join(["x"] * factors)
    result = run(source, {"x": 1.0001})
    assert result.value == approx(1.0001 ** factors, rel=1e-10)
    assert result.gradients()["x"] == approx(factors * 1.0001 ** (factors - 1), rel=1e-10)


def test_hundred_thousand_deep_nesting():
    depth = 100_000
    parens = "(" * depth + "x*3" + ")" * depth
    result = run(parens, {"x": 2.0})
    assert result.value == 6.0 and result.gradients() == {"x": 3.0}

    negations = "-" * (depth + 1) + "x"
    result = run(negations, {"x": 2.0})
    assert result.value == -2.0 and result.gradients() == {"x": -1.0}


def test_hundred_thousand_nested_functions():
    depth = 100_000
    source = "sin(" * depth + "x" + ")" * depth
    value, slope = 0.5, 1.0
    for _ in range(depth):
        slope *= math.cos(value)
        value = math.sin(value)
    result = run(source, {"x": 0.5})
    assert result.value == approx(value)
    assert result.gradients()["x"] == approx(slope, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# One walk: backward's scalar fast path and the contributions iterator apply the same rules
# ---------------------------------------------------------------------------------------------

WALK_FORMULAS = ["(x+y)^2*z", "sqrt(x) + 0*sqrt(y)", "relu(-x)*sqrt(y) + max(x, y)", "a = x*y; a*a - a/z",
                 "sinh(x)*cosh(y) + sign(z)*x"]


@pytest.mark.parametrize("source", WALK_FORMULAS)
def test_the_scalar_fast_path_sums_the_same_contributions(source):
    from cgraph_cli.engine import backward, contributions
    from cgraph_cli.ops import OPS

    bindings = {"x": 0.0, "y": 0.0, "z": 2.0} if "0*" in source else {"x": 0.7, "y": 1.3, "z": 2.1}
    graph = build(parse(source), source, frozenset(bindings))
    values = forward(graph, bindings)
    fast = backward(graph, values, 1.0, OPS)
    walked = [None] * len(graph)
    walked[graph.output] = 1.0
    for _, input_id, _, _, sent in contributions(graph, values, walked, OPS):
        if sent is not None:
            walked[input_id] = sent if walked[input_id] is None else walked[input_id] + sent
    walked = [(0.0 if g is None else g) if need else None for g, need in zip(walked, graph.needs_grad)]
    assert [repr(g) for g in fast] == [repr(g) for g in walked]


def test_a_zero_upstream_passes_nothing_on_and_warns_of_nothing():
    """sqrt(y) receives 0 from 0*sqrt(y): the engine sends nothing to y, so there is no warning for it."""
    result = run("sqrt(x) + 0*sqrt(y)", {"x": 0.0, "y": 0.0})
    assert result.gradients() == {"x": math.inf, "y": 0.0}
    assert result.warnings == ["gradient of sqrt(x) is inf with respect to x (at x = 0): its local derivative "
                               "is not finite"]


@pytest.mark.parametrize("source, op", [("x*y", "mul"), ("-x", "neg"), ("sum([x, y] * [1, 2])", "mul")])
def test_a_rule_returning_the_wrong_number_of_gradients_is_an_internal_error(source, op):
    from cgraph_cli.engine import backward
    from cgraph_cli.ops import OPS, OpTable, array_table

    bindings = {"x": 1.0, "y": 2.0}
    graph = build(parse(source), source, frozenset(bindings))
    table = array_table() if graph.uses_tensors else OPS
    broken = OpTable([row._replace(vjp=lambda g, out, *inputs: (g,) * (len(inputs) + 1)) if row.name == op
                      else row for row in table.values()], table.backend)
    values = forward(graph, bindings, table)
    with pytest.raises(AssertionError, match=f"the vjp rule of {op} returned"):
        backward(graph, values, 1.0, broken)
