"""Exact arithmetic (--exact, --exact-auto) and the rational helpers.

References: the seeds' published numbers (the apple example), hand-computed fractions, and an
independent forward-mode evaluator over Fraction dual numbers written here (no engine, no op table).
"""

import json
import math
import subprocess
import sys
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli import exact, rational
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cli_run import cgraph

APPLE = ("price*count*tax", "--price", "100", "--count", "2", "--tax", "1.1")


def exact_evaluation(source, auto=False, **bindings):
    values = {name: Fraction(value) for name, value in bindings.items()}
    graph = build(parse(source), source, frozenset(values))
    return exact.evaluate(graph, values, auto=auto)


# ----- the seeds' examples through the CLI -----

def test_apple_example_is_exact():
    document = json.loads(cgraph("eval", *APPLE, "--exact", "--format", "json").out)
    assert document["value"] == 220
    assert document["gradients"] == {"price": "11/5", "count": 110, "tax": 200}
    assert cgraph("eval", *APPLE, "--exact", "--format", "plain").out == \
        "value 220\ncount 110\nprice 11/5\ntax 200\n"
    assert cgraph("grad", *APPLE, "--exact").out == "count 110\nprice 11/5\ntax 200\n"
    assert cgraph("grad", *APPLE, "--exact", "--wrt", "price").out == "11/5\n"
    # without --exact, float64 as before
    assert json.loads(cgraph("eval", *APPLE, "--format", "json").out)["value"] == 220.00000000000003
    tree = cgraph("eval", *APPLE, "--exact").out
    assert "value 220" in tree and "11/5" in tree and "11/10" in tree


def test_fraction_bindings_are_exact():
    result = cgraph("eval", "(x+y)^2", "--x", "1/3", "--y", "1", "--exact", "--format", "json")
    document = json.loads(result.out)
    assert document["value"] == "16/9"
    assert document["gradients"] == {"x": "8/3", "y": "8/3"}
    assert cgraph("grad", "(x+y)^2", "-v", "x=1/3", "--y=1", "--exact").out == "x 8/3\ny 8/3\n"


def test_decimals_are_read_exactly():
    assert cgraph("eval", "x*3", "--x", "0.1", "--exact", "--format", "plain").out == "value 3/10\nx 3\n"
    assert cgraph("eval", "0.1 + 0.2 - x", "--x", "0.3", "--exact", "--format", "plain").out == \
        "value 0\nx -1\n"
    assert cgraph("eval", "x*3", "--x", "0.1", "--format", "plain").out == \
        "value 0.30000000000000004\nx 3\n"


def test_vars_file_is_read_exactly(tmp_path):
    path = tmp_path / "point.json"
    path.write_text('{"x": 0.1, "y": 2, "z": "1/3"}')
    result = cgraph("eval", "x*y + z", "--vars", path, "--y", "5", "--exact", "--format", "plain")
    assert result.out == "value 5/6\nx 5\ny 1/10\nz 1\n"


def test_precision_rounds_exact_values_on_request():
    assert cgraph("eval", "x/3", "--x", "1", "--exact", "--format", "plain", "--precision", "4").out == \
        "value 0.3333\nx 0.3333\n"
    document = json.loads(cgraph("eval", "x/3", "--x", "1", "--exact", "--format", "json",
                                 "--precision", "3").out)
    assert document["value"] == 0.333


# ----- irrational operations -----

def test_an_irrational_operation_is_an_error_naming_the_node():
    result = cgraph("eval", "y = x + 1; exp(y)*2", "--x", "0", "--exact")
    assert result.code == 3 and result.out == ""
    assert "exp(1) is not rational" in result.err and "exp(y)" in result.err
    assert "--exact-auto" in result.err
    pi = cgraph("eval", "pi*r^2", "--r", "2", "--exact")
    assert pi.code == 3 and "pi is not rational" in pi.err


def test_exact_auto_falls_back_to_float_and_says_where():
    result = cgraph("eval", "y = x + 1; exp(y)*2", "--x", "0", "--exact-auto", "--format", "json")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["value"] == 2 * math.e and document["gradients"]["x"] == 2 * math.e
    assert "exp(1) is not rational: computed in float64 from exp(y) (line 1, column 12) on" in result.err
    assert document["warnings"] and "exp(y)" in document["warnings"][0]
    # the rational part stays exact
    nodes = {node["text"]: node["value"] for node in document["nodes"]}
    assert nodes["x + 1"] == 1


def test_irrational_local_derivatives_are_reported_too():
    result = cgraph("eval", "log2(x)", "--x", "8", "--exact")
    assert result.code == 3 and "local derivative of log2(x)" in result.err
    result = cgraph("eval", "log2(x)", "--x", "8", "--exact-auto", "--format", "plain")
    assert result.out == f"value 3\nx {1 / (8 * math.log(2))!r}\n"
    assert cgraph("eval", "2^y", "--y", "3", "--exact").code == 3


@pytest.mark.parametrize("source, bindings, value, gradient", [
    ("sqrt(x)", {"x": "4/9"}, "2/3", "3/4"),
    ("exp(x) + cos(x) + sigmoid(x)", {"x": "0"}, "5/2", "5/4"),
    ("log(x) + log10(x*100)", {"x": "1"}, "2", None),
    ("x^0.5 + x^(3/2)", {"x": "9/4"}, "39/8", None),
    ("abs(x) + relu(x) + sign(x)", {"x": "-1/2"}, "-1/2", "-1"),
    ("max(x, y)", {"x": "1/3", "y": "1/3"}, "1/3", "1/2"),
])
def test_functions_at_rational_points_stay_exact(source, bindings, value, gradient):
    args = [item for name, text in bindings.items() for item in (f"--{name}", text)]
    result = cgraph("eval", source, *args, "--exact-auto", "--format", "json")
    document = json.loads(result.out)
    assert str(document["value"]) == value
    if gradient is not None:
        assert str(document["gradients"]["x"]) == gradient
        assert result.err == ""


def test_kinks_are_flagged_with_exact_values():
    document = json.loads(cgraph("eval", "max(x, y)", "--x", "1/3", "--y", "1/3", "--exact",
                                 "--format", "json").out)
    assert document["nodes"][-1]["kink"] == "max tie at 1/3: gradient split 0.5/0.5"


def test_domain_errors_and_infinite_slopes():
    assert cgraph("eval", "x/(y - 1)", "--x", "1", "--y", "1", "--exact").code == 3
    assert cgraph("eval", "sqrt(x)", "--x", "-1/4", "--exact").code == 3
    assert cgraph("eval", "x^(1/3)", "--x", "-8", "--exact").code == 3
    result = cgraph("eval", "sqrt(x)", "--x", "0", "--exact", "--format", "json")
    assert result.code == 0 and json.loads(result.out)["gradients"]["x"] == "inf"
    assert "not finite" in result.err


# ----- sizes -----

def test_too_large_a_rational_is_exit_3_at_once():
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", "9^9^9^9", "--exact"],
                          capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < 2
    assert done.returncode == 3 and "more than 4,000 digits" in done.stderr and done.stdout == ""
    squaring = "c = 3*x\n" + "c = c*c\n" * 20 + "c"
    result = cgraph("eval", squaring, "--x", "1", "--exact")
    assert result.code == 3 and "c*c" in result.err and len(result.err) < 1000
    assert cgraph("eval", "x", "--x", "1e999999999", "--exact").code == 2
    assert cgraph("diff", "c = 3\n" + "c = c*c\n" * 20 + "c*x").code == 3


def test_big_exact_numbers_print_in_full_for_machines():
    result = cgraph("eval", "2^200*x", "--x", "1", "--exact", "--format", "plain")
    assert result.out == f"value {2 ** 200}\nx {2 ** 200}\n"
    assert "≈1.60693804426e+60" in cgraph("eval", "2^200*x", "--x", "1", "--exact").out


# ----- where --exact does not apply -----

def test_tensors_and_batches_are_refused():
    result = cgraph("eval", "sum(v*v)", "--v", "[1, 2]", "--exact")
    assert result.code == 2 and "scalar" in result.err
    assert cgraph("grad", "sum(v)", "--v", "[1, 2]", "--exact").code == 2
    assert cgraph("eval", "x", "--each-line", "--exact", input="x\n").code == 2


def test_bad_exact_bindings():
    assert cgraph("eval", "x", "--x", "1/0", "--exact").code == 2
    assert cgraph("eval", "x", "--x", "abc", "--exact").code == 2


# ----- diff, hessian and eval --order 2 with --exact -----

def test_diff_and_hessian_exact():
    assert cgraph("diff", "x/3 + 0.1*y", "--exact").out == "d/dx = 1/3\nd/dy = 1/10\n"
    assert cgraph("diff", "x/3 + 0.1*y").out == "d/dx = 1/3\nd/dy = 0.1\n"
    hessian = json.loads(cgraph("hessian", "x^3*y^2/3", "--x", "1/2", "--y", "3", "--exact",
                                "--format", "json").out)
    # d2/dx2 = 2xy^2 = 9, d2/dxdy = 2x^2y = 3/2, d2/dy2 = 2x^3/3 = 1/12
    assert hessian["hessian"] == {"x": {"x": 9, "y": "3/2"}, "y": {"x": "3/2", "y": "1/12"}}
    document = json.loads(cgraph("eval", "(x+y)^2", "--x", "1/3", "--y", "1", "--exact", "--order", "2",
                                 "--format", "json").out)
    assert document["value"] == "16/9" and document["hessian"]["x"] == {"x": 2, "y": 2}


# ----- the rational helpers -----

@pytest.mark.parametrize("text, value", [
    ("2.5", Fraction(5, 2)), (".5", Fraction(1, 2)), ("5.", Fraction(5)), ("1e-3", Fraction(1, 1000)),
    ("6.02E23", Fraction(602 * 10 ** 21)), ("-1/3", Fraction(-1, 3)), ("+0.1", Fraction(1, 10)),
    ("pi", None), ("1/3/4", None), ("", None),
])
def test_parse_exact(text, value):
    assert rational.parse_exact(text) == value


def test_parse_exact_refuses_huge_literals_before_computing_them():
    with pytest.raises(rational.TooLarge):
        rational.parse_exact("1e99999999999")
    with pytest.raises(rational.TooLarge):
        rational.parse_exact("1e-5000")
    assert rational.parse_exact("0e99999999999") == 0


@pytest.mark.parametrize("base, exponent, result", [
    (Fraction(4, 9), Fraction(1, 2), Fraction(2, 3)), (8, Fraction(1, 3), 2),
    (Fraction(27, 8), Fraction(-2, 3), Fraction(4, 9)),
    (2, Fraction(1, 2), None), (-2, 3, -8), (0, 0, 1), (-1, 10 ** 9, 1), (5, -2, Fraction(1, 25)),
])
def test_rational_power(base, exponent, result):
    assert rational.power(Fraction(base), Fraction(exponent)) == result


def test_rational_power_errors():
    with pytest.raises(ValueError):
        rational.power(Fraction(-8), Fraction(1, 3))
    with pytest.raises(ZeroDivisionError):
        rational.power(Fraction(0), Fraction(-1))
    with pytest.raises(rational.TooLarge):
        rational.power(Fraction(9), Fraction(387420489))


@given(st.integers(0, 10 ** 40), st.integers(2, 7))
def test_integer_root(n, k):
    root = rational.integer_root(n ** k, k)
    assert root == n
    other = rational.integer_root(n ** k + 1, k)
    assert other is None or other ** k == n ** k + 1


@given(st.fractions(max_denominator=10 ** 12))
def test_decimal_text_is_exact(value):
    text = rational.decimal_text(value)
    if text is not None:
        assert Fraction(text) == value
    else:   # not a terminating decimal, or one of more than 20 significant digits
        places = next((k for k in range(200) if (10 ** k) % value.denominator == 0), None)
        assert places is None or len(str(abs(value.numerator) * 10 ** places // value.denominator)) > 20


def test_logarithm():
    assert rational.logarithm(Fraction(8), 2) == 3 and rational.logarithm(Fraction(1, 1000), 10) == -3
    assert rational.logarithm(Fraction(1), 10) == 0 and rational.logarithm(Fraction(6), 2) is None


# ----- exactness against an independent forward-mode reference -----

class Dual:
    """value + derivative*eps over Fractions: forward mode, written independently of the engine."""

    def __init__(self, value, derivative=Fraction(0)):
        self.value, self.derivative = Fraction(value), Fraction(derivative)

    def __add__(self, other):
        return Dual(self.value + other.value, self.derivative + other.derivative)

    def __sub__(self, other):
        return Dual(self.value - other.value, self.derivative - other.derivative)

    def __mul__(self, other):
        return Dual(self.value * other.value, self.derivative * other.value + self.value * other.derivative)

    def __truediv__(self, other):
        return Dual(self.value / other.value,
                    (self.derivative * other.value - self.value * other.derivative) / other.value ** 2)

    def power(self, n: int):
        return Dual(self.value ** n, n * self.value ** (n - 1) * self.derivative if n else 0)


def _sign(value):
    return (value > 0) - (value < 0)


REFERENCE = {
    "add": (lambda a, b: f"({a} + {b})", lambda a, b: a + b),
    "sub": (lambda a, b: f"({a} - {b})", lambda a, b: a - b),
    "mul": (lambda a, b: f"({a} * {b})", lambda a, b: a * b),
    "div": (lambda a, b: f"({a})/(1 + ({b})^2)", lambda a, b: a / (Dual(1) + b.power(2))),
    "square": (lambda a: f"({a})^2", lambda a: a.power(2)),
    "cube": (lambda a: f"({a})**3", lambda a: a.power(3)),
    "neg": (lambda a: f"(-{a})", lambda a: Dual(0) - a),
    "abs": (lambda a: f"abs({a})", lambda a: Dual(abs(a.value), _sign(a.value) * a.derivative)),
    "relu": (lambda a: f"relu({a})", lambda a: Dual(max(a.value, 0), a.derivative if a.value > 0 else 0)),
    "max": (lambda a, b: f"max({a}, {b})",
            lambda a, b: a if a.value > b.value else b if b.value > a.value
            else Dual(a.value, (a.derivative + b.derivative) / 2)),
}


def trees():
    leaves = st.sampled_from(["x", "y", "0.5", "3", "1/3"])
    unary = st.sampled_from(["square", "cube", "neg", "abs", "relu"])
    binary = st.sampled_from(["add", "sub", "mul", "div", "max"])
    return st.recursive(leaves, lambda children: st.tuples(unary, children) | st.tuples(binary, children, children),
                        max_leaves=8)


def text_of(tree):
    if isinstance(tree, str):
        return tree
    return REFERENCE[tree[0]][0](*map(text_of, tree[1:]))


def reference(tree, point, wrt):
    if isinstance(tree, str):
        if tree in point:
            return Dual(point[tree], 1 if tree == wrt else 0)
        return Dual(Fraction(tree))
    return REFERENCE[tree[0]][1](*(reference(child, point, wrt) for child in tree[1:]))


rationals = st.fractions(min_value=-3, max_value=3, max_denominator=7)


@settings(max_examples=150, deadline=None)
@given(trees(), rationals, rationals)
def test_exact_values_and_gradients_equal_an_independent_reference(tree, x, y):
    source = text_of(tree)
    evaluation = exact_evaluation(source, x=x, y=y)
    gradients = evaluation.gradients()
    for name in ("x", "y"):
        expected = reference(tree, {"x": x, "y": y}, name)
        assert evaluation.value == expected.value
        assert isinstance(gradients[name], Fraction) and gradients[name] == expected.derivative, name


# ----- check --exact and eval --steps --exact (other commands that take the flag) -----

CASES = """
[[case]]
name = "apple"
expr = "subtotal = price*count; subtotal*tax"
vars = { price = 100, count = 2, tax = 1.1 }
value = 220
grad = { price = "11/5", count = 110, tax = 200 }
rtol = 0
atol = 0

[[case]]
name = "third"
expr = "(x+y)^2"
vars = { x = "1/3", y = 1 }
value = "16/9"
grad = { x = "8/3", y = "8/3" }

[[case]]
name = "irrational"
expr = "exp(x)"
vars = { x = 1 }
value = 2.718281828459045
"""


def test_check_exact(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text(CASES)
    strict = cgraph("check", path, "--exact", "--format", "json")
    assert strict.code == 1
    report = json.loads(strict.out)
    passed = {case["name"]: case["passed"] for case in report["cases"]}
    assert passed == {"apple": True, "third": True, "irrational": False}
    assert "exp(1) is not rational" in strict.out
    assert cgraph("check", path, "--exact-auto").code == 0
    # in float64 the apple case misses an exact (zero-tolerance) comparison: 220.00000000000003
    assert cgraph("check", path).code == 1


def test_steps_with_exact():
    result = cgraph("eval", *APPLE, "--exact", "--steps", "--format", "plain")
    backward = [line for line in result.out.splitlines() if line.startswith("backward")]
    assert backward[1] == "backward\t2\tprice*count\t11/10\tprice\t2\t11/5\t\tg*count\tcount\t100\t110\t\tg*price"
