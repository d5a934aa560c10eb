"""--expect on eval and grad, and the comparison every check shares (expect.compare)."""

import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cgraph_cli.expect import Tolerance, compare, parse_expectation
from cli_run import cgraph


def test_the_one_line_form_passes_and_still_prints():
    result = cgraph("grad", "(x+y)^2", "--x", 1, "--y", 3, "--expect", "x=8", "--expect", "y=8")
    assert (result.code, result.out, result.err) == (0, "x 8\ny 8\n", "")


def test_a_failed_expectation_exits_1_and_says_what_differed():
    result = cgraph("grad", "(x+y)^2", "--x", 1, "--y", 3, "--expect", "x=8", "--expect", "y=7",
                    "--expect", "value=17")
    assert result.code == 1
    assert result.out == "x 8\ny 8\n"          # the normal output is printed all the same
    assert result.err.startswith("cgraph: check failed: 2 of 3 expectations failed (rtol 1e-06, atol 1e-09)")
    assert "grad y: expected 7, got 8 (difference 1)" in result.err
    assert "value: expected 17, got 16 (difference 1)" in result.err
    assert "grad x" not in result.err


def test_assigned_names_check_their_value_and_gradient():
    args = ["eval", "subtotal = price*count; subtotal*tax", "--price", 100, "--count", 2, "--tax", 1.1,
            "--format", "plain"]
    assert cgraph(*args, "--expect", "value=220", "--expect", "subtotal=200",
                  "--expect", "subtotal.grad=1.1", "--expect", "tax=200").code == 0
    result = cgraph(*args, "--expect", "subtotal.grad=1.2")
    assert result.code == 1 and "subtotal.grad: expected 1.2, got 1.1" in result.err
    assert result.out.startswith("value 220")


def test_a_reassigned_name_means_its_last_assignment():
    result = cgraph("eval", "c = x*2; c = c + 1; c*c", "--x", 1, "--format", "json",
                    "--expect", "c=3", "--expect", "c.grad=6", "--expect", "x=12")
    assert result.code == 0, result.err


def test_tolerances():
    args = ["grad", "sigmoid(x)", "--x", 1, "--expect", "x=0.1966"]
    assert cgraph(*args).code == 1
    assert cgraph(*args, "--rtol", "1e-3").code == 0
    assert cgraph(*args, "--atol", "1e-4").code == 0
    assert cgraph("eval", "x-x", "--x", 1, "--format", "plain", "--expect", "value=1e-10").code == 0


def test_exact_and_non_finite_expected_values():
    assert cgraph("eval", "x*3", "--x", "1/3", "--format", "plain", "--expect", "value=1").code == 0
    assert cgraph("grad", "sqrt(x)", "--x", 0, "--expect", "x=inf").code == 0
    assert cgraph("grad", "sqrt(x)", "--x", 0, "--expect", "x=1").code == 1


@pytest.mark.parametrize("words, fragment", [
    (["--expect", "q=1"], "no variable or assigned name q"),
    (["--expect", "x"], "NAME=VALUE"),
    (["--expect", "x=abc"], "expected a number"),
    (["--expect", "x.value=1"], "only 'grad'"),
    (["--expect", "value.grad=1"], "always 1"),
    (["--rtol", "-1", "--expect", "x=1"], "--rtol"),
])
def test_mistakes_in_expect_are_usage_errors_with_nothing_printed(words, fragment):
    result = cgraph("grad", "x*y", "--x", 2, "--y", 3, *words)
    assert result.code == 2, result
    assert result.out == ""
    assert fragment in result.err


def test_through_the_console_script_in_a_shell_and():
    done = subprocess.run(f'"{sys.executable}" -m cgraph_cli grad "(x+y)^2" --x 1 --y 3 --expect x=8 '
                          '--expect y=8 > /dev/null && echo ok', shell=True, capture_output=True, text=True)
    assert done.stdout == "ok\n"
    done = subprocess.run([sys.executable, "-m", "cgraph_cli", "grad", "x*y", "--x", "2", "--y", "3",
                           "--expect", "x=4"], capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == "x 3\ny 2\n" and "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- compare()

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(finite, finite, st.floats(1e-12, 0.5), st.floats(0, 1.0))
def test_compare_agrees_with_math_isclose(a, b, rtol, atol):
    comparison = compare(a, b, Tolerance(rtol, atol))
    difference = abs(a - b)
    if not math.isfinite(difference):   # two huge numbers of opposite sign
        return
    assert comparison.passed == math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
    assert comparison.difference == difference


def test_compare_non_finite():
    tolerance = Tolerance()
    assert compare(math.inf, math.inf, tolerance).passed
    assert not compare(math.inf, -math.inf, tolerance).passed
    assert compare(math.nan, math.nan, tolerance).passed
    assert not compare(1.0, math.nan, tolerance).passed
    assert not compare(1.0, None, tolerance).passed


def test_compare_tensors_elementwise_and_by_shape():
    numpy = pytest.importorskip("numpy")
    tolerance = Tolerance()
    assert compare(numpy.array([1.0, 2.0]), numpy.array([1.0, 2.0 + 1e-12]), tolerance).passed
    failed = compare(numpy.array([[1.0, 2.0], [3.0, 4.0]]), numpy.array([[1.0, 2.5], [3.0, 4.0]]), tolerance)
    assert not failed.passed and failed.difference == 0.5
    assert "1 of 4 elements differ, first at [0, 1]" == failed.note
    shape = compare(numpy.array([1.0, 2.0]), numpy.array([1.0, 2.0, 3.0]), tolerance)
    assert not shape.passed and shape.note == "shape [2] expected, got [3]"
    assert not compare(1.0, numpy.array([1.0]), tolerance).passed
    infinite = numpy.array([numpy.inf, 0.5])
    assert compare(infinite, infinite.copy(), tolerance).passed
    assert not compare(numpy.array([-numpy.inf, 0.5]), infinite, tolerance).passed
    assert not compare(numpy.array([1e308, 0.5]), infinite, tolerance).passed
    assert compare(numpy.array([numpy.nan]), numpy.array([numpy.nan]), tolerance).passed


def test_expect_tensors_with_inf_and_nan():
    assert cgraph("grad", "sqrt(x)", "--x", "[0, 1]", "--expect", "x=[inf, 0.5]").code == 0
    assert cgraph("grad", "sqrt(x)", "--x", "[0, 1]", "--expect", "x=[-inf, 0.5]").code == 1
    assert cgraph("grad", "sqrt(x)", "--x", "[0, 1]", "--expect", "x=[infinite, 0.5]").code == 2


def test_parse_expectation():
    assert parse_expectation("x=8") == ("x", False, 8.0, "x=8")
    assert parse_expectation("s.grad=1/4").expected == 0.25
    assert parse_expectation("value=-inf").expected == -math.inf
    assert parse_expectation("w=[[1, 2], [3, 4]]").expected.tolist() == [[1, 2], [3, 4]]


def test_deeply_nested_lists_are_binding_errors_not_crashes(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    result = cgraph("grad", "x", "--x", 1, "--expect", f"x={deep}")
    # Python <= 3.12's json gives up on the depth ("... is not a list of numbers"); 3.13's reads it and
    # NumPy refuses it ("expected a rectangular list of numbers")
    assert result.code == 2 and "list of numbers" in result.err and len(result.err) < 400
    assert cgraph("eval", "x", "--x", deep).code == 2
    path = tmp_path / "vars.json"
    path.write_text('{"x": ' + deep + "}")
    assert cgraph("eval", "x", "--vars", path).code == 2
