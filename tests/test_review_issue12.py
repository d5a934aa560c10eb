"""What a review of issue 12's change found, each as a test (before the fixes: exit 70, 21 GB, a silent
gather for a mask, Python's own TypeError text, a refused 1/10)."""

import json

import pytest

from conftest import run_cgraph


@pytest.mark.parametrize("source", ["cumsum(x, axis=(0, 1))", "concatenate([x, x], axis=(0, 1))",
                                    "stack([x, x], axis=(0,))", "softmax(x, (0,))", "argmax(x, axis=(0, 1))",
                                    "unsqueeze(x, (0, 1))"])
def test_a_tuple_axis_for_a_single_axis_function_is_a_parse_error(source):
    result = run_cgraph("eval", source, "--x", "[[1, 2]]")
    assert result.code == 2, result.err
    assert "axis= takes one integer" in result.err and "^" in result.err


def test_reductions_still_take_a_tuple_axis():
    result = run_cgraph("eval", "sum(x, axis=(0, 1)) + std(x, axis=(0, 1))", "--x", "[[1, 2]]", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["value"] == pytest.approx(3.5, rel=1e-12)


@pytest.mark.parametrize("source, words", [
    ("sum(one_hot(i, 100000000))", "cgraph refuses more than 10^8"),
    ("one_hot(i, 0)", "num_classes of 1 or more, got 0"),
])
def test_one_hot_refuses_absurd_sizes_and_no_classes(source, words):
    result = run_cgraph("eval", source, "--i", "[0, 1, 2]")
    assert result.code == 3 and words in result.err and result.out == ""


@pytest.mark.parametrize("source", ["x[x > 0]", "x[True]", "x[x != 1]"])
def test_a_boolean_mask_is_refused_not_taken_for_indices(source):
    result = run_cgraph("eval", source, "--x", "[1, 0]")
    assert result.code == 2 and "boolean mask" in result.err and "where(x > 0, x, 0)" in result.err


def test_messages_name_what_is_missing_or_meant():
    full = run_cgraph("eval", "full(2)")
    assert full.code == 2 and "full() needs its fill_value: write full(shape, fill_value)" in full.err
    assert "missing" not in full.err
    maximum = run_cgraph("eval", "max(x, 0, axis=0)", "--x", "[1, 2]")
    assert maximum.code == 2 and "max() with 1 input takes axis=: max(x, axis=...)" in maximum.err


@pytest.mark.parametrize("source, expected", [
    ("leaky_relu(x, 1/10)", 0.1), ("elu(x, alpha=0.5*2)", 0.36787944117144233), ("leaky_relu(x, pi/5)", 0.6283185307179586),
])
def test_a_parameter_may_be_one_operation_of_two_constants(source, expected):
    result = run_cgraph("grad", source, "--x", "-1")
    assert result.code == 0, result.err
    assert float(result.out.split()[-1]) == pytest.approx(expected, rel=1e-12)
    assert run_cgraph("eval", "arange(0, 1, 1/4)", "--format", "json").code == 0


def test_binary_cross_entropy_of_zero_is_zero_not_minus_zero():
    result = run_cgraph("eval", "binary_cross_entropy(p, t)", "--p", "[0]", "--t", "[0]", "--format", "plain")
    assert result.code == 0 and result.out.splitlines()[0] == "value 0"


def test_every_function_is_a_method_and_numpys_names_are_functions():
    """The methods come from the rows (every function of one input or more), so they cannot drift from
    the functions: x.gelu(), x.asinh(), arcsin(x), clamp(x, 0, 1) all exist."""
    from cgraph_cli.ops import FUNCTIONS, METHODS, OPS

    for name, op in FUNCTIONS.items():
        if not isinstance(op, dict) and OPS[op].arity >= 1:
            assert METHODS[name] == op, name
    assert METHODS["max"] == "reduce_max" and METHODS["min"] == "reduce_min" and METHODS["var"] == "variance"
    result = run_cgraph("grad", "x.gelu() + x.asinh() + arcsin(x/2) + clamp(x, 0, 1) + x.atan2(2) + x.softplus()",
                        "--x", "0.3")
    assert result.code == 0, result.err
    import math

    phi = 0.5 * (1 + math.erf(0.3 / math.sqrt(2)))
    expected = (phi + 0.3 * math.exp(-0.045) / math.sqrt(2 * math.pi) + 1 / math.sqrt(1.09)
                + 0.5 / math.sqrt(1 - 0.0225) + 1 + 2 / 4.09 + 1 / (1 + math.exp(-0.3)))
    assert float(result.out.split()[-1]) == pytest.approx(expected, rel=1e-12)
