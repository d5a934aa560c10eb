"""gradcheck: reverse mode against central differences; failing on a wrong rule, inconclusive at kinks."""

import json
import math

import pytest
from hypothesis import given, settings

from cgraph_cli.gradcheck import gradcheck, judge, relative_error
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.ops import OPS, OpTable
from cli_run import cgraph
from test_engine import FORMULAS, POINTS


def check(source, bindings, ops=None, **options):
    graph = build(parse(source), source, frozenset(bindings))
    evaluation, rows = gradcheck(graph, bindings, ops=ops, **options)
    return {row.variable: row for row in rows}


def with_rule(name, vjp):
    """A copy of the float op table with one op's vector-Jacobian rule replaced (never shipped)."""
    rows = [op._replace(vjp=vjp) if op.name == name else op for op in OPS.values()]
    return OpTable(rows, OPS.backend)


# ----------------------------------------------------------------------------- passing

def test_the_seeds_examples_pass():
    rows = check("1/(1+exp(-(w0*x0 + w1*x1 + w2)))", {"w0": 2.0, "w1": -3.0, "w2": -3.0, "x0": -1.0, "x1": -2.0})
    assert {row.status for row in rows.values()} == {"ok"}
    assert rows["x0"].analytic == pytest.approx(0.3932238664829637, rel=1e-12)
    assert rows["x0"].reference == pytest.approx(0.3932238664829637, rel=1e-8)
    assert rows["x0"].rel_error < 1e-8


@settings(max_examples=60, deadline=None)
@given(source=FORMULAS, x=POINTS, y=POINTS)
def test_well_defined_expressions_pass(source, x, y):
    rows = check(source, {"x": x, "y": y})
    assert all(row.status == "ok" for row in rows.values()), (source, x, y, rows)


def test_tensor_elements_are_checked_one_by_one():
    numpy = pytest.importorskip("numpy")
    W = numpy.array([[0.5, -1.0], [0.25, 2.0]])
    X = numpy.array([[1.0, 2.0], [3.0, -4.0]])
    rows = check("sum(tanh(X @ W))", {"X": X, "W": W})
    assert sorted(rows) == ["W[0, 0]", "W[0, 1]", "W[1, 0]", "W[1, 1]",
                            "X[0, 0]", "X[0, 1]", "X[1, 0]", "X[1, 1]"]
    assert all(row.status == "ok" for row in rows.values())
    # by hand: d/dW[0,1] sum(tanh(XW)) = sum_i X[i,0] * (1 - tanh(XW)[i,1]^2)
    T = numpy.tanh(X @ W)
    assert rows["W[0, 1]"].analytic == pytest.approx(float(X[:, 0] @ (1 - T[:, 1] ** 2)), rel=1e-12)


# ----------------------------------------------------------------------------- failing

def test_a_wrong_rule_fails():
    """sin's rule written as cos' (a classic slip): d sin(x) = -sin(x)... is caught."""
    wrong = with_rule("sin", lambda g, out, a: (-g * math.sin(a),))
    rows = check("sin(x) * y + x", {"x": 0.5, "y": 2.0}, ops=wrong)
    assert rows["x"].status == "fail"
    assert rows["x"].analytic == pytest.approx(-2.0 * math.sin(0.5) + 1.0)
    assert rows["x"].reference == pytest.approx(2.0 * math.cos(0.5) + 1.0, rel=1e-8)
    assert rows["y"].status == "ok"          # sin's rule plays no part in dy


def test_a_slightly_wrong_rule_fails_and_the_tolerance_decides():
    wrong = with_rule("exp", lambda g, out, a: (g * out * 1.01,))
    rows = check("exp(x)", {"x": 0.3}, ops=wrong)
    assert rows["x"].status == "fail"
    assert rows["x"].rel_error == pytest.approx(0.01 / 1.01, rel=1e-6)
    assert check("exp(x)", {"x": 0.3}, ops=wrong, rtol=0.02)["x"].status == "ok"


def test_a_fan_out_bug_fails():
    """A mul rule that forgets the second operand's share: x*x then has gradient x, not 2x."""
    wrong = with_rule("mul", lambda g, out, a, b: (g * b, 0 * g))
    assert check("x*x", {"x": 3.0}, ops=wrong)["x"].status == "fail"


def test_judge_uses_atol_plus_rtol_times_the_larger():
    assert judge("x", 1.0, 1.0 + 1e-3, atol=1e-5, rtol=1e-3).status == "ok"      # 1e-3 <= 1e-5 + 1.001e-3
    assert judge("x", 1.0, 1.0 + 1.1e-3, atol=1e-5, rtol=1e-3).status == "fail"
    assert judge("x", 0.0, 9e-6, atol=1e-5, rtol=1e-3).status == "ok"
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(2.0, 1.0) == 0.5
    assert relative_error(-1.0, 1.0) == 2.0


# ----------------------------------------------------------------------------- kinks and domains

@pytest.mark.parametrize("source, bindings, variable, where", [
    ("relu(x)", {"x": 0.0}, "x", "relu(x)"),
    ("relu(x - 1)", {"x": 1 + 5e-7}, "x", "relu(x - 1)"),          # the probe x - eps crosses 0
    ("abs(x) * 3", {"x": 0.0}, "x", "abs(x)"),
    ("max(x, y)", {"x": 2.0, "y": 2.0}, "x", "max(x, y)"),
    ("min(x, 2)", {"x": 2.0}, "x", "min(x, 2)"),
    ("sign(x) + x", {"x": 0.0}, "x", "sign(x)"),
])
def test_probes_across_a_kink_are_inconclusive(source, bindings, variable, where):
    row = check(source, bindings)[variable]
    assert row.status == "inconclusive"
    assert where in row.note


def test_away_from_kinks_the_same_ops_pass():
    rows = check("relu(x) + abs(y) + max(x, y) + min(x, y)", {"x": 0.5, "y": -1.5})
    assert {row.status for row in rows.values()} == {"ok"}
    # relu(x) + abs(y) + max(x, y) + min(x, y) with x > 0 > y and x > y
    assert rows["x"].analytic == 1 + 0 + 1 + 0 and rows["y"].analytic == 0 - 1 + 0 + 1


def test_a_probe_outside_the_domain_is_inconclusive():
    row = check("sqrt(x)", {"x": 0.0})["x"]
    assert row.status == "inconclusive" and "sqrt" in row.note


# ----------------------------------------------------------------------------- the command

def test_command_passes_and_prints_both_gradients():
    result = cgraph("gradcheck", "sigmoid(x*y + sin(x)) * (x^2 + y)", "--x", 0.5, "--y", -1.2,
                    "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["ok"], report["failed"], report["inconclusive"]) == (2, 0, 0)
    assert report["eps"] == 1e-6 and report["atol"] == 1e-5 and report["rtol"] == 1e-3
    x = report["checks"][0]
    s = 1 / (1 + math.exp(-(0.5 * -1.2 + math.sin(0.5))))
    q = 0.25 - 1.2
    assert x["analytic"] == pytest.approx(s * (1 - s) * (-1.2 + math.cos(0.5)) * q + 2 * 0.5 * s, rel=1e-12)
    assert x["rel_error"] < 1e-6


def test_command_inconclusive_alone_exits_0_with_a_note():
    result = cgraph("gradcheck", "relu(x) + y", "--x", 0, "--y", 1, "--format", "plain")
    assert result.code == 0
    assert result.out.splitlines()[0].split()[-1] == "inconclusive"
    assert result.err.startswith("cgraph: note: 1 variable inconclusive, not failed: x: ")


def test_command_table_and_against():
    result = cgraph("gradcheck", "1/(1+exp(-x))", "--x", 1, "--against", "sigmoid(x)")
    assert result.code == 0 and "2 ok" not in result.out and "3 ok, 0 failed" in result.out
    wrong = cgraph("gradcheck", "x^2", "--x", 3, "--against", "2*x", "--format", "plain")
    assert wrong.code == 1
    assert "against value 9 6" in wrong.out and "against d/dx 6 2" in wrong.out
    assert "check failed: 2 of 3 gradients differ: value, d/dx" in wrong.err


def test_command_errors():
    assert cgraph("gradcheck", "3 + 4").code == 2                       # nothing to check
    assert cgraph("gradcheck", "x +").code == 2
    assert cgraph("gradcheck", "log(x)", "--x", -1).code == 3
    assert cgraph("gradcheck", "x", "--x", 1, "--eps", 0).code == 2


@pytest.mark.parametrize("source, bindings", [
    ("norm(x) + std(x, ddof=1) + norm(x, 1)", ["--x", "[1, 2, 0.5]"]),
    ("atan2(x, 2) + atan2(1, x) + elu(x, 0.5)", ["--x", "-0.7"]),
    ("sum(elu(x) + leaky_relu(x, 0.2) + clip(x, -0.5, 0.5))", ["--x", "[1, -1.3, 0.2]"]),
])
def test_rows_whose_slope_varies_smoothly_are_not_taken_for_crossing_a_kink(source, bindings):
    """A kink row's `branch` (elu, atan2, std, norm) says which side of its kink a point is on; their
    smoothly varying local derivatives once made every probe look like a crossing (all inconclusive)."""
    result = cgraph("gradcheck", source, *bindings, "--format", "plain")
    assert result.code == 0, result.err
    assert all(line.split()[-1] == "ok" for line in result.out.splitlines()), result.out


def test_a_probe_across_atan2s_cut_is_inconclusive():
    result = cgraph("gradcheck", "atan2(y, x)", "--y", "1e-9", "--x", "-1", "--format", "plain")
    assert result.code == 0, result.err
    assert "y -1 - - inconclusive" in result.out and "crosses its kink at atan2(y, x)" in result.err
