"""Hand-derived derivative formulas against reverse mode: `cgraph gradcheck EXPR --grad x=FORMULA`
and `grad_formula = { x = "..." }` in a check case, at the bound point and at nearby points drawn
from a fixed seed. The nearby points are recomputed here from their documented rule (random.Random
(seed), u in [-1, 1], x + u * 0.1 * max(1, |x|), variables sorted by name), never by cgraph."""

import json
import math
import random

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli.engine import forward
from cgraph_cli.errors import BindingError, ParseError
from cgraph_cli.expect import Tolerance
from cgraph_cli.gradcheck import check_formulas, nearby_points, parse_formulas
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cli_run import cgraph

TIGHT = Tolerance(1e-9, 1e-12)


def documented_points(bindings, samples=5, seed=0):
    """The nearby points by the README's rule, written out here."""
    generator = random.Random(seed)
    points = []
    for _ in range(samples):
        point = dict(bindings)
        for name in sorted(bindings):
            value = bindings[name]
            if isinstance(value, numpy.ndarray):
                moved = value.astype(float).copy().reshape(-1)
                for i in range(moved.size):
                    moved[i] += generator.uniform(-1, 1) * 0.1 * max(1.0, abs(moved[i]))
                point[name] = moved.reshape(value.shape)
            else:
                point[name] = value + generator.uniform(-1, 1) * 0.1 * max(1.0, abs(value))
        points.append(point)
    return points


def rows_of(source, bindings, formulas, tolerance=TIGHT, samples=5, seed=0):
    graph = build(parse(source), source, frozenset(bindings))
    parsed = parse_formulas(formulas, bindings, (), lambda name: f"--grad {name}")
    return {row.variable: row for row in check_formulas(graph, bindings, parsed, tolerance, samples, seed)}


def central(source, point, name, h=1e-6):
    graph = build(parse(source), source, frozenset(point))
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (forward(graph, up)[graph.output] - forward(graph, down)[graph.output]) / (2 * h)


# ----------------------------------------------------------------------------- the nearby points

def test_nearby_points_follow_the_documented_rule():
    bindings = {"y": -4.0, "x": 3.0, "W": numpy.array([[1.0, -20.0], [0.5, 0.0]])}
    got = nearby_points(bindings, ["x", "y", "W"], 4, 7)
    expected = documented_points(bindings, 4, 7)
    for mine, theirs in zip(got, expected):
        assert mine["x"] == theirs["x"] and mine["y"] == theirs["y"]
        assert numpy.array_equal(mine["W"], theirs["W"])
    assert nearby_points(bindings, ["x", "y", "W"], 4, 7)[0]["x"] == got[0]["x"]   # fixed by the seed
    assert nearby_points(bindings, ["x", "y", "W"], 4, 8)[0]["x"] != got[0]["x"]


@settings(max_examples=50, deadline=None)
@given(x=st.floats(-1e6, 1e6), seed=st.integers(0, 2**32))
def test_nearby_points_stay_near(x, seed):
    for point in nearby_points({"x": x, "t": 5.0}, ["x"], 5, seed):
        assert abs(point["x"] - x) <= 0.1 * max(1.0, abs(x)) * (1 + 1e-15)
        assert point["t"] == 5.0   # not named: data stays


def test_zero_samples_is_the_bound_point_only():
    assert nearby_points({"x": 1.0}, ["x"], 0, 0) == []
    row = rows_of("x^3", {"x": 1.0}, {"x": "3*x^2 + (x-1)"}, samples=0)["x"]
    assert row.status == "ok" and row.points == 1


# ----------------------------------------------------------------------------- right and wrong formulas

@settings(max_examples=40, deadline=None)
@given(x=st.floats(-2, 2), y=st.floats(-2, 2))
def test_a_right_formula_agrees_everywhere(x, y):
    rows = rows_of("sin(x)*y^2 + exp(x*y)", {"x": x, "y": y},
                   {"x": "cos(x)*y^2 + y*exp(x*y)", "y": "2*y*sin(x) + x*exp(x*y)"})
    assert rows["x"].status == rows["y"].status == "ok"
    assert rows["x"].points == 6 and rows["x"].point is None
    # the reported numbers are at the bound point: the formula as the test computes it, and reverse
    # mode against a central difference of the program
    reference = math.cos(x) * y ** 2 + y * math.exp(x * y)
    assert rows["x"].reference == pytest.approx(reference, rel=1e-9, abs=1e-12)
    assert rows["x"].analytic == pytest.approx(central("sin(x)*y^2 + exp(x*y)", {"x": x, "y": y}, "x"),
                                               rel=1e-5, abs=1e-6)


def test_a_wrong_formula_fails_at_the_bound_point():
    row = rows_of("(x+y)^2", {"x": 1.0, "y": 3.0}, {"y": "2*x+y"})["y"]
    assert (row.status, row.analytic, row.reference, row.abs_error) == ("fail", 8.0, 5.0, 3.0)
    assert row.note == "differs at the bound point" and row.point == {"x": 1.0, "y": 3.0}
    assert row.rel_error == pytest.approx(3 / 8, rel=1e-12)


def test_right_at_the_point_wrong_nearby_names_the_first_point():
    """3x^2 + (x-1) equals d(x^3)/dx at x = 1 only: the first nearby point shows it."""
    row = rows_of("x^3", {"x": 1.0}, {"x": "3*x^2 + (x-1)"})["x"]
    first = documented_points({"x": 1.0})[0]["x"]
    assert row.status == "fail" and row.points == 2
    assert row.point == {"x": first}
    assert row.note == f"differs at nearby point 1 (x={first!r})"
    assert row.analytic == pytest.approx(3 * first ** 2, rel=1e-12)
    assert row.reference == pytest.approx(3 * first ** 2 + first - 1, rel=1e-12)


def test_the_tolerance_decides():
    assert rows_of("x^2", {"x": 1.0}, {"x": "2*x*1.0001"}, Tolerance(1e-3, 0))["x"].status == "ok"
    assert rows_of("x^2", {"x": 1.0}, {"x": "2*x*1.0001"}, Tolerance(1e-5, 0))["x"].status == "fail"


def test_points_outside_the_programs_domain_are_skipped():
    """log(x) at x = 0.02: a nearby point below 0 cannot be evaluated; the others are compared."""
    outside = sum(point["x"] <= 0 for point in documented_points({"x": 0.02}))
    assert 0 < outside < 5
    row = rows_of("log(x)", {"x": 0.02}, {"x": "1/x"})["x"]
    assert row.status == "ok" and row.points == 6 - outside
    assert row.note == f"agrees at {6 - outside} points ({outside} nearby points outside the program's domain)"


def test_a_formula_that_fails_where_the_program_does_not_is_a_disagreement():
    points = documented_points({"x": 0.02})
    first_negative = next(i for i, point in enumerate(points, 1) if point["x"] < 0)
    row = rows_of("x^2", {"x": 0.02}, {"x": "2*sqrt(x)^2/sqrt(x)*sqrt(x)"})["x"]
    assert row.status == "fail" and row.reference is None
    assert row.note.startswith(f"the formula fails at nearby point {first_negative} (")
    assert "sqrt needs a non-negative argument" in row.note


def test_tensor_variables_are_compared_element_by_element():
    W = numpy.array([[1.0, -2.0], [0.5, 3.0]])
    rows = rows_of("sum(W*W) + sum(v*v)", {"W": W, "v": numpy.array([1.0, 2.0])}, {"W": "2*W", "v": "v"})
    assert rows["W"].status == "ok" and numpy.array_equal(rows["W"].reference, 2 * W)
    assert rows["v"].status == "fail" and rows["v"].abs_error == 2.0   # 2v - v at v = [1, 2]
    assert rows["W"].rel_error is None
    shape = rows_of("sum(W*W)", {"W": W}, {"W": "sum(W)"})["W"]
    assert shape.status == "fail" and shape.note == ("differs at the bound point (the formula has shape scalar; "
                                              "the gradient of W has the shape of W, [2, 2])")


def test_formula_errors_name_their_option():
    with pytest.raises(ParseError) as error:
        parse_formulas({"x": "2*(x+*y)"}, {"x": 1.0, "y": 2.0}, (), lambda name: f"--grad {name}")
    assert error.value.message.startswith("--grad x: unexpected '*' at line 1, column 6:\n  2*(x+*y)\n       ^")
    with pytest.raises(BindingError, match=r"--grad x: the formula uses z, which is not bound \(bound: x, y\)"):
        parse_formulas({"x": "z*x"}, {"x": 1.0, "y": 2.0}, (), lambda name: f"--grad {name}")


# ----------------------------------------------------------------------------- the command

def gradcheck_json(*args):
    result = cgraph("gradcheck", *args, "--format", "json")
    return result, (json.loads(result.out) if result.out else None)


def test_the_command_passes_right_formulas_and_reports_them():
    result, report = gradcheck_json("(x+y)^2", "--x", "1", "--y", "3", "--grad", "x=2*(x+y)", "--grad", "y=2*(x+y)")
    assert result.code == 0, result.err
    assert list(report)[0] == "schema" and report["schema"] == 1
    formulas = report["formulas"]
    assert (formulas["samples"], formulas["random_seed"]) == (5, 0)
    assert [(row["variable"], row["formula"], row["status"], row["points"], row["at"]) for row in formulas["checks"]] \
        == [("x", "2*(x+y)", "ok", 6, None), ("y", "2*(x+y)", "ok", 6, None)]
    assert report["ok"] == 4 and report["failed"] == 0


def test_the_command_fails_with_the_first_disagreeing_point():
    result = cgraph("gradcheck", "x^3", "--x", "1", "--grad", "x=3*x^2 + (x-1)")
    first = documented_points({"x": 1.0})[0]["x"]
    assert result.code == 1
    assert f"x: differs at nearby point 1 (x={first!r})" in result.out
    assert "formula x" in result.err and "1 of 2 gradients differ" in result.err
    assert cgraph("gradcheck", "x^3", "--x", "1", "--grad", "x=3*x^2 + (x-1)", "--samples", "0").code == 0


def test_random_seed_changes_the_points():
    _, zero = gradcheck_json("x^3", "--x", "1", "--grad", "x=3*x^2+(x-1)")
    _, other = gradcheck_json("x^3", "--x", "1", "--grad", "x=3*x^2+(x-1)", "--random-seed", "5")
    assert zero["formulas"]["checks"][0]["at"] == {"x": documented_points({"x": 1.0})[0]["x"]}
    assert other["formulas"]["checks"][0]["at"] == {"x": documented_points({"x": 1.0}, seed=5)[0]["x"]}
    assert other["formulas"]["random_seed"] == 5


def test_plain_lines_carry_the_formulas():
    result = cgraph("gradcheck", "x*y", "--x", "2", "--y", "3", "--grad", "x=y", "--format", "plain")
    assert result.out.splitlines()[-1] == "formula x 3 3 0 ok"


def test_without_formulas_the_json_has_no_formulas_key():
    _, report = gradcheck_json("x*y", "--x", "2", "--y", "3")
    assert report["schema"] == 1 and "formulas" not in report


@pytest.mark.parametrize("args, code, message", [
    (["--grad", "x=2*(x+*y)"], 2, "parse error: --grad x: unexpected '*' at line 1, column 6:\n  2*(x+*y)\n       ^"),
    (["--grad", "q=1"], 2, "binding error: --grad q: no variable q in the formula (it has: x, y)"),
    (["--grad", "x=z"], 2, "--grad x: the formula uses z, which is not bound"),
    (["--grad", "x"], 2, "--grad x: write NAME=FORMULA"),
    (["--grad", "=x"], 2, "--grad =x: write NAME=FORMULA"),
    (["--grad", "x=y", "--grad", "x=y"], 2, "--grad x is given twice"),
    (["--grad", "y=1", "--const", "y"], 2, "--grad y: y is data (--const y)"),
    (["--samples", "-1", "--grad", "x=1"], 2, "--samples"),
])
def test_bad_formulas_are_one_clear_message(args, code, message):
    result = cgraph("gradcheck", "x*y", "--x", "2", "--y", "3", *args)
    assert result.code == code and message in result.err, result.err
    assert "Traceback" not in result.err and result.out == ""


def test_user_text_is_never_evaluated_by_python():
    result = cgraph("gradcheck", "x", "--x", "1", "--grad", "x=__import__('os').system('echo hi')")
    assert result.code == 2 and "parse error: --grad x" in result.err


# ----------------------------------------------------------------------------- in a check case

CASE = """
[[case]]
name = "square"
expr = "(x+y)^2"
vars = { x = 1, y = 3 }
grad_formula = { x = "2*(x+y)", y = "FORMULA" }
"""


def check_case(tmp_path, formula, extra=""):
    path = tmp_path / "cases.toml"
    path.write_text(CASE.replace("FORMULA", formula) + extra)
    return cgraph("check", path, "--format", "json")


def test_a_case_checks_its_formulas(tmp_path):
    good = check_case(tmp_path, "2*(x+y)")
    assert good.code == 0, good.err
    checks = good.json()["cases"][0]["checks"]
    assert [(c["what"], c["expected"], c["got"], c["passed"]) for c in checks] == \
        [("grad x formula", 8, 8, True), ("grad y formula", 8, 8, True)]
    bad = check_case(tmp_path, "2*x + 2")
    assert bad.code == 1
    assert bad.json()["cases"][0]["checks"][1]["note"] == "differs at the bound point"


def test_a_case_and_the_command_use_the_same_points(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nexpr = "x^3"\nvars = { x = 1 }\ngrad_formula = { x = "3*x^2 + (x-1)" }\n'
                    'random_seed = 5\n')
    case_note = cgraph("check", path, "--format", "json").json()["cases"][0]["checks"][0]["note"]
    _, report = gradcheck_json("x^3", "--x", "1", "--grad", "x=3*x^2 + (x-1)", "--random-seed", "5")
    assert case_note == report["formulas"]["checks"][0]["note"]
    path.write_text('samples = 0\n[[case]]\nexpr = "x^3"\nvars = { x = 1 }\ngrad_formula = { x = "3*x^2 + (x-1)" }\n')
    assert cgraph("check", path).code == 0


@pytest.mark.parametrize("formula, extra, fragments", [
    ("2*(x+", "", ("key 'grad_formula.y'", "line 6", "unexpected end of input at line 1, column 6", "^")),
    ("z", "", ("key 'grad_formula.y'", "the formula uses z, which is not bound")),
    ("2*(x+y)", "samples = -1\n", ("key 'samples'", "must be an integer from 0 to 10000")),
    ("2*(x+y)", "random_seed = 1.5\n", ("key 'random_seed'", "must be an integer")),
])
def test_a_malformed_formula_is_a_malformed_cases_file(tmp_path, formula, extra, fragments):
    result = check_case(tmp_path, formula, extra)
    assert result.code == 2 and result.out == ""
    for fragment in fragments:
        assert fragment in result.err, result.err


def test_grad_formula_keys_must_be_bound_variables(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nexpr = "x*t"\nvars = { x = 1, t = 2 }\nconst = ["t"]\n'
                    'grad_formula = { t = "x" }\n')
    assert "t is data (const)" in cgraph("check", path).err
    path.write_text('[[case]]\nexpr = "x"\nvars = { x = 1 }\ngrad_formula = { q = "1" }\n')
    assert "q is not one of this case's vars" in cgraph("check", path).err
    path.write_text('[[case]]\nexpr = "x"\nvars = { x = 1 }\ngrad_formula = { x = 1 }\n')
    assert "expected a formula as a string" in cgraph("check", path).err


def test_formulas_in_exact_cases(tmp_path):
    """--exact computes the case in rationals; its formulas are still compared (in float64)."""
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nexpr = "x^3/3"\nvars = { x = "1/3" }\nvalue = "1/81"\ngrad_formula = { x = "x^2" }\n')
    result = cgraph("check", path, "--exact", "--format", "json")
    assert result.code == 0, result.out
    check = result.json()["cases"][0]["checks"][1]
    assert check["what"] == "grad x formula" and check["got"] == pytest.approx(1 / 9, rel=1e-12)
    path.write_text(path.read_text().replace('"x^2"', '"x^2/2"'))
    assert cgraph("check", path, "--exact").code == 1
