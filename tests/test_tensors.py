"""Tensors in the engine and the NumPy op table: every gradient against NumPy written by hand in
the test, and against central finite differences for random shapes and values."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli.engine import evaluate, forward
from cgraph_cli.errors import BindingError, EvalError, ExitStatus, ParseError
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.ops import OPS, TENSOR_OPS, array_table
from cgraph_cli.ops import table_for as choose_ops
from cgraph_cli.ops.arrays import unbroadcast

NUMPY_OPS = array_table()


def graph_of(source, bindings):
    return build(parse(source), source, frozenset(bindings))


def run(source, bindings=None, seed=None):
    bindings = {name: (np.array(v, dtype=float) if isinstance(v, list) else v)
                for name, v in (bindings or {}).items()}
    return evaluate(graph_of(source, bindings), bindings, seed)


def close(got, expected, tol=1e-12):
    """Same shape, same numbers (NumPy's own result as the reference)."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def softmax_rows(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


RNG = np.random.default_rng(20240611)
X23 = RNG.normal(size=(2, 3))
W34 = RNG.normal(size=(3, 4))


# ---------------------------------------------------------------------------------------------
# The layers of the course material
# ---------------------------------------------------------------------------------------------

def test_matmul_gradients_are_g_wt_and_xt_g():
    result = run("sum(X @ W)", {"X": X23, "W": W34})
    ones = np.ones((2, 4))                       # G: the upstream gradient of X @ W under sum
    assert result.value == pytest.approx(float(np.sum(X23 @ W34)), rel=1e-12)
    gradients = result.gradients()
    close(gradients["X"], ones @ W34.T)          # (N×H)·(H×D) = N×D
    close(gradients["W"], X23.T @ ones)          # (D×N)·(N×H) = D×H
    assert gradients["X"].shape == (2, 3) and gradients["W"].shape == (3, 4)


def test_matmul_by_name_is_the_same_node_as_the_operator():
    by_operator = run("sum(X @ W)", {"X": X23, "W": W34})
    by_name = run("sum(matmul(X, W))", {"X": X23, "W": W34})
    assert by_name.value == by_operator.value
    for name in ("X", "W"):
        close(by_name.gradients()[name], by_operator.gradients()[name], tol=0)


def test_affine_layer_on_a_batch_sums_the_bias_gradient_over_the_batch():
    X, W = X23, W34
    b = np.array([0.5, -1.0, 2.0, 0.25])
    C = RNG.normal(size=(2, 4))
    result = run("sum((X @ W + b) * C)", {"X": X, "W": W, "b": b, "C": C})
    assert result.value == pytest.approx(float(np.sum((X @ W + b) * C)), rel=1e-12)
    gradients = result.gradients()
    close(gradients["b"], C.sum(axis=0))         # the column sums of the upstream gradient
    close(gradients["W"], X.T @ C)
    close(gradients["X"], C @ W.T)
    close(gradients["C"], X @ W + b)
    graph = result.graph
    add = graph.ops.index("add")
    assert result.reduced == {add: [{"input": graph.variables["b"], "axes": [0]}]}


def test_softmax_with_loss_for_one_row_is_y_minus_t():
    a, t = np.array([0.3, 2.9, 4.0]), np.array([0.0, 0.0, 1.0])
    y = np.exp(a) / np.exp(a).sum()
    result = run("softmax_cross_entropy(a, t)", {"a": a, "t": t})
    assert result.value == pytest.approx(-math.log(y[2]), rel=1e-12)
    close(result.gradients()["a"], y - t)
    # the course's rounded numbers
    close(y, [0.0182, 0.2452, 0.7366], tol=1e-4)
    close(result.gradients()["a"], [0.0182, 0.2452, -0.2634], tol=1e-4)


def test_softmax_with_loss_on_a_batch_is_divided_by_n():
    A = np.array([[0.3, 2.9, 4.0], [1.0, -2.0, 0.5]])
    T = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    Y = softmax_rows(A)
    result = run("softmax_cross_entropy(A, T)", {"A": A, "T": T})
    assert result.value == pytest.approx(-np.sum(T * np.log(Y)) / 2, rel=1e-12)
    close(result.gradients()["A"], (Y - T) / 2)
    close(result.gradients()["T"], -np.log(Y) / 2)


@pytest.mark.parametrize("a, t", [
    ([0.3, 2.9, 4.0], [0.0, 0.0, 1.0]),
    ([[0.3, 2.9, 4.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0]],
     [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]),
])
def test_cross_entropy_of_softmax_equals_the_fused_node(a, t):
    separate = run("cross_entropy(softmax(a), t)", {"a": a, "t": t})
    fused = run("softmax_cross_entropy(a, t)", {"a": a, "t": t})
    assert separate.value == pytest.approx(fused.value, rel=1e-12)
    close(separate.gradients()["a"], fused.gradients()["a"], tol=1e-12)
    close(separate.gradients()["t"], fused.gradients()["t"], tol=1e-12)


def test_cross_entropy_of_given_probabilities():
    Y = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    T = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    result = run("cross_entropy(Y, T)", {"Y": Y, "T": T})
    assert result.value == pytest.approx(-(math.log(0.6) + math.log(0.25)) / 2, rel=1e-12)
    close(result.gradients()["Y"], -T / Y / 2)


def test_relu_mask_is_zero_where_the_input_was_not_positive_and_the_kink_is_flagged():
    x = np.array([[-2.0, 0.0, 3.0], [0.5, -0.1, 0.0]])
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    result = run("sum(relu(x) * w)", {"x": x, "w": w})
    assert result.value == pytest.approx(float(np.sum(np.maximum(x, 0) * w)))
    close(result.gradients()["x"], np.where(x > 0, w, 0.0))
    relu = result.graph.ops.index("relu")
    assert result.kinks[relu] == "relu at 0 in 2 of 6 elements: gradient 0 used"


def test_relu_without_zeros_has_no_kink():
    result = run("sum(relu(x))", {"x": [-1.0, 2.0]})
    assert result.kinks == {}
    close(result.gradients()["x"], [0.0, 1.0])


def test_sigmoid_gradient_is_y_times_one_minus_y_elementwise():
    x = np.array([[-3.0, 0.0, 1.0], [2.0, -0.5, 40.0]])
    y = 1 / (1 + np.exp(-x))
    result = run("sum(sigmoid(x))", {"x": x})
    close(result.gradients()["x"], y * (1 - y))
    assert result.value == pytest.approx(float(y.sum()), rel=1e-12)


# Underflow to 0 is a float64 result, not an error: the scalar path gives sigmoid(-800) = 0 and
# exp(-800) = 0, and a stable softmax exists precisely for logits far apart.

def test_sigmoid_of_a_large_negative_array_underflows_to_zero_as_a_scalar_does():
    assert run("sigmoid(x)", {"x": -800.0}).value == 0.0
    result = run("sum(sigmoid(x))", {"x": [-800.0, 800.0]})
    assert result.value == 1.0
    close(result.gradients()["x"], [0.0, 0.0])


def test_exp_of_an_array_underflows_to_zero_as_a_scalar_does():
    assert run("exp(x)", {"x": -800.0}).value == 0.0
    result = run("sum(exp(x))", {"x": [-800.0, 0.0]})
    assert result.value == 1.0
    close(result.gradients()["x"], [0.0, 1.0])


def test_softmax_of_logits_far_apart():
    result = run("sum(softmax(a) * r)", {"a": [0.0, -800.0], "r": [1.0, 2.0]})
    assert result.value == 1.0
    close(result.values[result.graph.ops.index("softmax")], [1.0, 0.0])
    close(result.gradients()["a"], [0.0, 0.0])


def test_softmax_with_loss_is_stable_for_logits_far_apart():
    result = run("softmax_cross_entropy(a, t)", {"a": [0.0, 1000.0], "t": [1.0, 0.0]})
    assert result.value == 1000.0
    close(result.gradients()["a"], [-1.0, 1.0])


def test_the_neuron_written_with_vectors_gives_the_core_numbers():
    result = run("sigmoid(dot(w, [x0, x1, 1]))", {"w": [2.0, -3.0, -3.0], "x0": -1.0, "x1": -2.0})
    assert result.value == pytest.approx(0.7310585786, abs=1e-10)
    slope = 0.7310585786300049 * (1 - 0.7310585786300049)          # sigmoid'(1)
    gradients = result.gradients()
    assert gradients["x0"] == pytest.approx(2 * slope, rel=1e-12)
    assert gradients["x1"] == pytest.approx(-3 * slope, rel=1e-12)
    close(gradients["w"], slope * np.array([-1.0, -2.0, 1.0]))
    assert (round(gradients["x0"], 4), round(gradients["x1"], 4)) == (0.3932, -0.5898)
    assert [round(v, 4) for v in gradients["w"]] == [-0.1966, -0.3932, 0.1966]
    assert isinstance(gradients["x0"], float) and isinstance(result.value, float)


def test_the_repeat_node_sums_the_broadcast_gradient_back_to_a_scalar():
    result = run("sum(x * [1, 1, 1])", {"x": 2.0})
    assert result.value == 6.0
    assert result.gradients() == {"x": 3.0}
    assert isinstance(result.gradients()["x"], float)
    mul = result.graph.ops.index("mul")
    assert result.reduced == {mul: [{"input": result.graph.variables["x"], "axes": [0]}]}


# ---------------------------------------------------------------------------------------------
# Indexing, slicing, reductions, shapes
# ---------------------------------------------------------------------------------------------

X45 = np.arange(20.0).reshape(4, 5) / 7 - 1
V5 = np.array([3.0, -1.0, 4.0, 1.0, -5.0])


@pytest.mark.parametrize("source, index", [
    ("X[:, 1]", (slice(None), 1)),
    ("X[1:3]", slice(1, 3)),
    ("X[0]", 0),
    ("X[-1, 2:]", (-1, slice(2, None))),
    ("X[::2, ::-1]", (slice(None, None, 2), slice(None, None, -1))),
])
def test_indexing_a_matrix_scatters_the_gradient_back(source, index):
    weights = RNG.normal(size=X45[index].shape)
    result = run(f"sum({source} * R)", {"X": X45, "R": weights})
    expected = np.zeros_like(X45)
    expected[index] = weights
    close(result.gradients()["X"], expected)
    close(result.values[result.graph.ops.index("index")], X45[index])


def test_indexing_a_vector_reversed_and_one_element():
    result = run("sum(x[::-1] * r) + 10 * x[0]", {"x": V5, "r": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert result.value == pytest.approx(float(np.sum(V5[::-1] * np.arange(1, 6)) + 10 * V5[0]))
    close(result.gradients()["x"], [5.0 + 10, 4.0, 3.0, 2.0, 1.0])


def test_an_element_of_a_vector_is_a_scalar():
    result = run("x[1] * x[1]", {"x": V5})
    assert result.value == 1.0 and isinstance(result.value, float)
    close(result.gradients()["x"], [0.0, -2.0, 0.0, 0.0, 0.0])
    assert result.seed is None


def test_transpose():
    C = RNG.normal(size=(5, 4))
    result = run("sum(transpose(X) * C)", {"X": X45, "C": C})
    close(result.gradients()["X"], C.T)
    close(result.values[result.graph.ops.index("transpose")], X45.T)


def test_mean_of_all_elements():
    result = run("mean(X)", {"X": X45})
    assert result.value == pytest.approx(float(X45.mean()), rel=1e-12)
    close(result.gradients()["X"], np.full((4, 5), 1 / 20))


@pytest.mark.parametrize("function, axis", [
    ("sum", 0), ("sum", 1), ("sum", -1), ("mean", 0), ("mean", 1), ("mean", -1),
])
def test_sum_and_mean_along_an_axis(function, axis):
    reduced = getattr(np, function)(X45, axis=axis)
    weights = RNG.normal(size=reduced.shape)
    result = run(f"sum({function}(X, axis={axis}) * R)", {"X": X45, "R": weights})
    close(result.values[result.graph.ops.index(function)], reduced)
    count = X45.shape[axis] if function == "mean" else 1
    close(result.gradients()["X"], np.broadcast_to(np.expand_dims(weights, axis), X45.shape) / count)


def test_max_reduction_sends_the_gradient_to_the_maximum():
    result = run("max(x)", {"x": V5})
    assert result.value == 4.0
    close(result.gradients()["x"], [0.0, 0.0, 1.0, 0.0, 0.0])
    assert result.kinks == {}


def test_max_reduction_with_ties_splits_evenly_and_flags_the_kink():
    x = np.array([1.0, 7.0, 7.0, 2.0, 7.0])
    result = run("max(x)", {"x": x})
    assert result.value == 7.0
    close(result.gradients()["x"], [0.0, 1 / 3, 1 / 3, 0.0, 1 / 3])
    reduce_max = result.graph.ops.index("reduce_max")
    assert result.kinks[reduce_max] == "max tie in 3 of 5 elements: gradient split evenly"


def test_max_along_an_axis_with_a_tie_in_one_row():
    X = np.array([[1.0, 5.0, 5.0], [4.0, 2.0, 0.0]])
    result = run("sum(max(X, axis=1) * r)", {"X": X, "r": [10.0, 100.0]})
    close(result.values[result.graph.ops.index("reduce_max")], [5.0, 4.0])
    close(result.gradients()["X"], [[0.0, 5.0, 5.0], [100.0, 0.0, 0.0]])
    assert "max tie in 2 of 6 elements" in result.kinks[result.graph.ops.index("reduce_max")]


def test_max_along_axis_0():
    result = run("sum(max(X, axis=0))", {"X": X45})
    close(result.gradients()["X"], np.vstack([np.zeros((3, 5)), np.ones((1, 5))]))


def test_max_with_two_arguments_stays_elementwise():
    result = run("sum(max(a, b))", {"a": [1.0, 5.0, 2.0], "b": [3.0, 0.0, 2.0]})
    assert result.value == 10.0
    close(result.gradients()["a"], [0.0, 1.0, 0.5])
    close(result.gradients()["b"], [1.0, 0.0, 0.5])


@pytest.mark.parametrize("axis", [None, -1, 1, 0])
def test_softmax_along_an_axis(axis):
    a = X45
    shifted = np.exp(a - a.max(axis=-1 if axis is None else axis, keepdims=True))
    y = shifted / shifted.sum(axis=-1 if axis is None else axis, keepdims=True)
    R = RNG.normal(size=a.shape)
    source = "sum(softmax(a) * R)" if axis is None else f"sum(softmax(a, axis={axis}) * R)"
    result = run(source, {"a": a, "R": R})
    close(result.values[result.graph.ops.index("softmax")], y)
    summed = np.sum(R * y, axis=-1 if axis is None else axis, keepdims=True)
    close(result.gradients()["a"], y * (R - summed))


def test_softmax_of_large_values_is_stable():
    result = run("softmax(a)", {"a": [1000.0, 1000.0]})
    close(result.value, [0.5, 0.5])


def test_log_softmax():
    a = np.array([[0.3, 2.9, 4.0], [1.0, -2.0, 0.5]])
    R = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    y = softmax_rows(a)
    result = run("sum(log_softmax(a) * R)", {"a": a, "R": R})
    close(result.values[result.graph.ops.index("log_softmax")], np.log(y))
    close(result.gradients()["a"], R - y * R.sum(axis=-1, keepdims=True))


def test_dot_of_vectors_is_the_inner_product():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, -5.0, 6.0])
    result = run("dot(a, b)", {"a": a, "b": b})
    assert result.value == 12.0 and isinstance(result.value, float)
    close(result.gradients()["a"], b)
    close(result.gradients()["b"], a)


def test_dot_of_matrices_and_of_a_matrix_and_a_vector():
    result = run("sum(dot(X, W))", {"X": X23, "W": W34})
    close(result.gradients()["X"], np.ones((2, 4)) @ W34.T)
    close(result.gradients()["W"], X23.T @ np.ones((2, 4)))
    v = np.array([1.0, -2.0, 0.5])
    r = np.array([3.0, 7.0])
    result = run("sum(dot(X, v) * r)", {"X": X23, "v": v, "r": r})
    close(result.value, np.sum(X23 @ v * r))
    close(result.gradients()["X"], np.outer(r, v))
    close(result.gradients()["v"], X23.T @ r)


def test_matmul_of_a_vector_and_a_matrix():
    v = np.array([1.0, -2.0, 0.5])
    result = run("sum(v @ W)", {"v": v, "W": W34})
    close(result.gradients()["v"], W34 @ np.ones(4))
    close(result.gradients()["W"], np.outer(v, np.ones(4)))


def test_matmul_with_a_batch_axis_sums_the_weight_gradient_over_it():
    T = RNG.normal(size=(2, 2, 3))
    result = run("sum(T @ W)", {"T": T, "W": W34})
    close(result.gradients()["W"], sum(T[i].T @ np.ones((2, 4)) for i in range(2)))
    close(result.gradients()["T"], np.broadcast_to(np.ones((2, 4)) @ W34.T, (2, 2, 3)))


def test_broadcasting_a_scalar_variable():
    M = np.array([[1.0, 2.0], [3.0, 4.0]])
    result = run("sum(s * M)", {"s": 2.0, "M": M})
    assert result.gradients()["s"] == 10.0
    close(result.gradients()["M"], np.full((2, 2), 2.0))
    mul = result.graph.ops.index("mul")
    assert result.reduced[mul] == [{"input": result.graph.variables["s"], "axes": [0, 1]}]


def test_broadcasting_a_row_vector_and_a_column():
    M = np.arange(6.0).reshape(2, 3)
    row = np.array([[10.0, 20.0, 30.0]])      # shape (1, 3): axis 0 summed, kept as 1
    column = np.array([[2.0], [-1.0]])         # shape (2, 1)
    result = run("sum((M + row) * column)", {"M": M, "row": row, "column": column})
    assert result.value == pytest.approx(float(np.sum((M + row) * column)))
    close(result.gradients()["row"], [[1.0, 1.0, 1.0]])
    close(result.gradients()["column"], np.sum(M + row, axis=1, keepdims=True))
    close(result.gradients()["M"], np.broadcast_to(column, (2, 3)))
    graph = result.graph
    assert result.reduced[graph.ops.index("add")] == [{"input": graph.variables["row"], "axes": [0]}]
    assert result.reduced[graph.ops.index("mul")] == [{"input": graph.variables["column"], "axes": [1]}]


def test_a_literal_with_expression_elements_gives_each_element_its_gradient():
    result = run("sum([x, 2 * x, y] * [1, 10, 100])", {"x": 3.0, "y": -1.0})
    assert result.value == 3 + 60 - 100
    assert result.gradients() == {"x": 21.0, "y": 100.0}


def test_a_literal_of_vectors_is_a_matrix():
    result = run("sum([a, b] * [[1, 2], [3, 4]])", {"a": [1.0, 1.0], "b": [2.0, 2.0]})
    assert result.value == 1 + 2 + 6 + 8
    close(result.gradients()["a"], [1.0, 2.0])
    close(result.gradients()["b"], [3.0, 4.0])


def test_elementwise_functions_of_the_core_apply_to_arrays():
    x = np.array([0.5, 1.0, 2.0])
    result = run("sum(exp(x) + log(x) + sqrt(x) + x^3 + tanh(x) + abs(-x))", {"x": x})
    expected = np.exp(x) + 1 / x + 0.5 / np.sqrt(x) + 3 * x**2 + (1 - np.tanh(x) ** 2) + 1
    close(result.gradients()["x"], expected)
    assert result.value == pytest.approx(
        float(np.sum(np.exp(x) + np.log(x) + np.sqrt(x) + x**3 + np.tanh(x) + x)), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# A tensor output: the seed
# ---------------------------------------------------------------------------------------------

def test_a_tensor_output_starts_from_ones():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    result = run("X * X", {"X": X})
    close(result.seed, np.ones((2, 2)))
    close(result.gradients()["X"], 2 * X)


def test_a_seed_gives_a_vector_jacobian_product():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -2.0]])
    seed = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 0.0]])
    result = run("X @ W", {"X": X, "W": W}, seed=seed)
    close(result.seed, seed)
    close(result.gradients()["X"], seed @ W.T)
    close(result.gradients()["W"], X.T @ seed)


def test_a_seed_of_the_wrong_shape_is_a_binding_error():
    with pytest.raises(BindingError, match=r"--seed has shape \(2,\) but the output has shape \(3,\)"):
        run("2 * x", {"x": [1.0, 2.0, 3.0]}, seed=np.array([1.0, 1.0]))


def test_a_scalar_output_has_no_recorded_seed():
    assert run("sum(x)", {"x": [1.0, 2.0]}).seed is None


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

def test_shape_mismatch_names_the_node_and_both_shapes():
    with pytest.raises(EvalError) as error:
        run("X @ W", {"X": np.ones((2, 3)), "W": np.ones((2, 2))})
    assert error.value.exit_code == ExitStatus.EVALUATION
    assert error.value.message.startswith("shape mismatch in X @ W: (2, 3) @ (2, 2)")


def test_shape_mismatch_in_an_elementwise_node():
    with pytest.raises(EvalError, match=r"shape mismatch in a \+ b: \(2,\) \+ \(3,\)"):
        run("sum(a + b)", {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]})


def test_a_ragged_literal_is_a_parse_error():
    with pytest.raises(ParseError) as error:
        graph_of("sum([[1, 2], [3]])", {})
    assert error.value.exit_code == ExitStatus.USAGE
    assert "ragged" in error.value.message and "column" in error.value.message


def test_raggedness_seen_only_once_bound_is_an_evaluation_error():
    with pytest.raises(EvalError, match=r"ragged tensor: its elements have shapes \(2,\), \(\)"):
        run("sum([x, y])", {"x": [1.0, 2.0], "y": 3.0})


def test_an_index_out_of_range_is_an_evaluation_error():
    with pytest.raises(EvalError, match=r"index 5 is out of bounds .* in x\[5\] \(shape \(3,\)\)"):
        run("x[5]", {"x": [1.0, 2.0, 3.0]})


def test_an_unknown_keyword_is_a_parse_error():
    with pytest.raises(ParseError, match="no keyword 'axes'"):
        graph_of("sum(X, axes=0)", {"X": None})


def test_matmul_of_scalars_is_an_evaluation_error():
    """NumPy's matmul rejects scalars; the backend says "use * to scale" (exit 3, not a crash)."""
    with pytest.raises(EvalError, match="matmul needs arrays"):
        run("x @ y", {"x": 2.0, "y": 3.0})


@pytest.mark.parametrize("source", ["sum(x, axis=0)", "max(x, axis=0)", "mean(x, axis=0)"])
def test_a_reduction_along_an_axis_of_a_scalar_is_an_evaluation_error_or_the_identity(source):
    """NumPy's sum and max accept axis=0 on a 0-d array (mean does not): either is fine, a crash is not."""
    try:
        result = run(source, {"x": 3.0})
    except EvalError as error:
        assert "axis 0 is out of bounds" in error.message
    else:
        assert (result.value, result.gradients()) == (3.0, {"x": 1.0})


@pytest.mark.parametrize("source, value", [
    ("dot(x, y)", 6.0), ("softmax(x)", 1.0), ("log_softmax(x)", 0.0), ("transpose(x)", 2.0),
    ("sum(x)", 2.0), ("mean(x)", 2.0), ("max(x)", 2.0), ("[x][0]", 2.0),
])
def test_a_scalar_result_of_a_tensor_op_is_a_python_float(source, value):
    """Values are Python floats for scalars (plain prints repr: np.float64(6.0) is not a number)."""
    result = run(source, {"x": 2.0, "y": 3.0} if "y" in source else {"x": 2.0})
    assert result.value == value
    assert type(result.value) is float


# ---------------------------------------------------------------------------------------------
# The backends
# ---------------------------------------------------------------------------------------------

def test_scalars_stay_on_the_float_backend_and_tensors_choose_numpy():
    scalar = graph_of("x * y", {"x": 1.0, "y": 2.0})
    assert choose_ops(scalar, {"x": 1.0, "y": 2.0}) is OPS
    assert choose_ops(scalar, {"x": np.ones(2), "y": 2.0}) is NUMPY_OPS
    assert choose_ops(graph_of("sum([1, 2])", {}), {}) is NUMPY_OPS


def test_the_numpy_table_has_the_same_rows_as_the_float_table():
    assert set(NUMPY_OPS) == set(OPS)
    assert TENSOR_OPS <= set(NUMPY_OPS)


@pytest.mark.parametrize("shape, grad_shape, axes", [
    ((), (2, 3), [0, 1]),
    ((3,), (2, 3), [0]),
    ((1, 3), (2, 3), [0]),
    ((2, 1), (2, 3), [1]),
    ((4, 1, 3), (2, 4, 5, 3), [0, 2]),
    ((2, 3), (2, 3), None),
])
def test_unbroadcast_sums_a_gradient_back_to_the_input_shape(shape, grad_shape, axes):
    grad = RNG.normal(size=grad_shape)
    value = np.zeros(shape) if shape else 0.0
    summed, summed_axes = unbroadcast(grad, value)
    assert summed_axes == axes
    assert np.shape(summed) == shape
    # reference: the sum of every grad element that was broadcast from the same input element
    expected = np.zeros(shape)
    padded = (1,) * (len(grad_shape) - len(shape)) + shape
    for index in np.ndindex(grad_shape):
        target = tuple(0 if size == 1 else i for i, size in zip(index, padded))
        expected.reshape(padded)[target] += grad[index]
    close(summed, expected)


# ---------------------------------------------------------------------------------------------
# Property tests: every tensor gradient against central finite differences
# ---------------------------------------------------------------------------------------------

# Each formula with its variables: name -> (shape in the dimensions n, m, k; values).
# Values: "any" in (-2, 2); "positive" in (0.5, 2.5); "away" at least 0.1 from 0 (kinks);
# "unit" in (-0.9, 0.9) (tan, asin, acos); "prob" a positive row-normalised matrix; "open" in (0.05, 0.95);
# "zeros" like "any" with about a third of the elements exactly 0 (prod); "labels" class indices
# 0..m-1, bound as data (no gradient: they are not perturbed).
FORMULAS = [
    # tensor ops
    ("sum(X @ W)", {"X": ("n,m", "any"), "W": ("m,k", "any")}),
    ("sum(matmul(X, W) * R)", {"X": ("n,m", "any"), "W": ("m,k", "any"), "R": ("n,k", "any")}),
    ("sum(v @ W)", {"v": ("m", "any"), "W": ("m,k", "any")}),
    ("sum(X @ v)", {"X": ("n,m", "any"), "v": ("m", "any")}),
    ("v @ u", {"v": ("m", "any"), "u": ("m", "any")}),
    ("sum(T @ W)", {"T": ("2,n,m", "any"), "W": ("m,k", "any")}),
    ("sum(dot(X, W) * R)", {"X": ("n,m", "any"), "W": ("m,k", "any"), "R": ("n,k", "any")}),
    ("dot(v, u)", {"v": ("m", "any"), "u": ("m", "any")}),
    ("sum(dot(X, v))", {"X": ("n,m", "any"), "v": ("m", "any")}),
    ("sum(dot(s, X))", {"s": ("", "any"), "X": ("n,m", "any")}),
    ("sum(transpose(X) @ Y)", {"X": ("n,m", "any"), "Y": ("n,k", "any")}),
    ("sum((X @ W + b) * C)", {"X": ("n,m", "any"), "W": ("m,k", "any"), "b": ("k", "any"),
                              "C": ("n,k", "any")}),
    ("sum(relu(X @ W + b))", {"X": ("n,m", "any"), "W": ("m,k", "any"), "b": ("k", "any")}),
    ("sum(sum(X, axis=0) * r)", {"X": ("n,m", "any"), "r": ("m", "any")}),
    ("sum(sum(X, axis=1) * c)", {"X": ("n,m", "any"), "c": ("n", "any")}),
    ("sum(sum(T, axis=-1) * R)", {"T": ("2,n,m", "any"), "R": ("2,n", "any")}),
    ("mean(X) * s", {"X": ("n,m", "any"), "s": ("", "any")}),
    ("sum(mean(X, axis=0) * r)", {"X": ("n,m", "any"), "r": ("m", "any")}),
    ("sum(mean(X, axis=1) * c)", {"X": ("n,m", "any"), "c": ("n", "any")}),
    ("max(X) * s", {"X": ("n,m", "any"), "s": ("", "any")}),
    ("sum(max(X, axis=0) * r)", {"X": ("n,m", "any"), "r": ("m", "any")}),
    ("sum(max(X, axis=1) * c)", {"X": ("n,m", "any"), "c": ("n", "any")}),
    ("sum(softmax(X) * R)", {"X": ("n,m", "any"), "R": ("n,m", "any")}),
    ("sum(softmax(X, axis=0) * R)", {"X": ("n,m", "any"), "R": ("n,m", "any")}),
    ("sum(softmax(v) * r)", {"v": ("m", "any"), "r": ("m", "any")}),
    ("sum(log_softmax(X) * R)", {"X": ("n,m", "any"), "R": ("n,m", "any")}),
    ("sum(log_softmax(X, axis=0) * R)", {"X": ("n,m", "any"), "R": ("n,m", "any")}),
    ("cross_entropy(P, T)", {"P": ("n,m", "positive"), "T": ("n,m", "prob")}),
    ("cross_entropy(softmax(A), T)", {"A": ("n,m", "any"), "T": ("n,m", "prob")}),
    ("cross_entropy(softmax(a), t)", {"a": ("m", "any"), "t": ("m", "prob")}),
    ("softmax_cross_entropy(A, T)", {"A": ("n,m", "any"), "T": ("n,m", "prob")}),
    ("softmax_cross_entropy(a, t)", {"a": ("m", "any"), "t": ("m", "prob")}),
    ("sum([x, y * x, 1] * r)", {"x": ("", "any"), "y": ("", "any"), "r": ("3", "any")}),
    ("sum([u, v] * R)", {"u": ("m", "any"), "v": ("m", "any"), "R": ("2,m", "any")}),
    ("sigmoid(dot(w, [x0, x1, 1]))", {"w": ("3", "any"), "x0": ("", "any"), "x1": ("", "any")}),
    ("sum(X[:, 0] * c) + sum(X[-1] * r)", {"X": ("n,m", "any"), "c": ("n", "any"),
                                           "r": ("m", "any")}),
    ("sum(X[1:3] * X[1:3])", {"X": ("n,m", "any")}),
    ("sum(v[::-1] * u) + v[0] * v[0]", {"v": ("m", "any"), "u": ("m", "any")}),
    ("sum(X[::2, 1:] ^ 2)", {"X": ("n,m", "any")}),
    # lists of inputs, integer-array indexing, methods (the syntax of issue 12)
    ("sum(concatenate([X, Y], axis=0) ^ 3)", {"X": ("n,m", "any"), "Y": ("k,m", "any")}),
    ("concatenate([X, Y], 1)", {"X": ("n,m", "any"), "Y": ("n,k", "any")}),
    ("stack([X, Y], axis=1)", {"X": ("n,m", "any"), "Y": ("n,m", "any")}),
    ("sum(v[[0, 1, 0]] ^ 3) + sum(X[arange(2), [1, 0]] * r)", {"v": ("m", "any"), "X": ("n,m", "any"),
                                                               "r": ("2", "any")}),
    ("sum(X.T @ Y) + X.sum() * s", {"X": ("n,m", "any"), "Y": ("n,k", "any"), "s": ("", "any")}),
    # broadcasting
    ("sum(X * s + b)", {"X": ("n,m", "any"), "s": ("", "any"), "b": ("m", "any")}),
    ("sum(X * row - col)", {"X": ("n,m", "any"), "row": ("1,m", "any"), "col": ("n,1", "any")}),
    ("sum(x * [1, 2, 3])", {"x": ("", "any")}),
    # elementwise functions of the core on arrays
    ("sum(X * Y - Y / P + (-X))", {"X": ("n,m", "any"), "Y": ("n,m", "any"), "P": ("n,m", "positive")}),
    ("sum(P ^ X + X ^ 3)", {"P": ("n,m", "positive"), "X": ("n,m", "any")}),
    ("sum(exp(X) + log(P) + log2(P) + log10(P) + sqrt(P))", {"X": ("n,m", "any"),
                                                             "P": ("n,m", "positive")}),
    ("sum(sin(X) * cos(X) + tan(U) + tanh(X))", {"X": ("n,m", "any"), "U": ("n,m", "unit")}),
    ("sum(sigmoid(X) * R)", {"X": ("n,m", "any"), "R": ("n,m", "any")}),
    ("sum(sinh(X) * R + cosh(X))", {"X": ("n,m", "any"), "R": ("n,m", "any")}),
    ("sum(relu(Z) * R + abs(Z) + sign(Z))", {"Z": ("n,m", "away"), "R": ("n,m", "any")}),
    ("sum(max(X, Y) * 2 + min(X, Y))", {"X": ("n,m", "any"), "Y": ("n,m", "any")}),
    # issue 12's elementwise functions (tests/test_functions.py has their references)
    ("sum(asin(U) + acos(U) * R + atan(X) + atan2(X, P) * R + asinh(X))",
     {"U": ("n,m", "unit"), "R": ("n,m", "any"), "X": ("n,m", "any"), "P": ("n,m", "positive")}),
    ("sum(acosh(1 + P) + atanh(U * 0.9) + log1p(P - 0.4) * R + expm1(X) + erf(X))",
     {"P": ("n,m", "positive"), "U": ("n,m", "unit"), "R": ("n,m", "any"), "X": ("n,m", "any")}),
    ("sum(softplus(X) * R + silu(X) + gelu(X) + gelu(X, approximate=1) * R + square(X))",
     {"X": ("n,m", "any"), "R": ("n,m", "any")}),
    ("sum(leaky_relu(Z) * R + elu(Z, alpha=2) + elu(Z))", {"Z": ("n,m", "away"), "R": ("n,m", "any")}),
    ("sum(clip(X, L, H) * R)", {"X": ("n,m", "any"), "L": ("n,m", "any"), "H": ("m", "any"), "R": ("n,m", "any")}),
    ("sum(where(Z, X, Y) * R + floor(X) + ceil(X) + round(X))",
     {"Z": ("n,m", "away"), "X": ("n,m", "any"), "Y": ("m", "any"), "R": ("n,m", "any")}),
    # a tensor output: reverse mode from a random seed (a vector-Jacobian product)
    ("X @ W", {"X": ("n,m", "any"), "W": ("m,k", "any")}),
    ("softmax(X)", {"X": ("n,m", "any")}),
    ("X[1:] * s", {"X": ("n,m", "any"), "s": ("", "any")}),
    ("exp(v) / sum(exp(v))", {"v": ("m", "any")}),
    # shapes (tensor outputs: a random seed tells a wrong order of elements from the right one)
    ("reshape(X, shape=-1)", {"X": ("n,m", "any")}),
    ("flatten(T)", {"T": ("2,n,m", "any")}),
    ("flatten(s) * 2", {"s": ("", "any")}),
    ("squeeze(C)", {"C": ("n,1", "any")}),
    ("squeeze(T, axis=0)", {"T": ("1,n,m", "any")}),
    ("unsqueeze(X, axis=1)", {"X": ("n,m", "any")}),
    ("unsqueeze(v, axis=-1) * X", {"v": ("n", "any"), "X": ("n,m", "any")}),
    ("transpose(T)", {"T": ("2,n,m", "any")}),
    # reductions, along an axis and with keepdims
    ("sum(X, axis=1, keepdims=1)", {"X": ("n,m", "any")}),
    ("mean(T, axis=0, keepdims=1)", {"T": ("2,n,m", "any")}),
    ("max(X, axis=0, keepdims=1)", {"X": ("n,m", "any")}),
    ("min(X) * s", {"X": ("n,m", "any"), "s": ("", "any")}),
    ("min(X, axis=1)", {"X": ("n,m", "any")}),
    ("min(T, axis=-1, keepdims=1)", {"T": ("2,n,m", "any")}),
    ("prod(X) * s", {"X": ("n,m", "zeros"), "s": ("", "any")}),
    ("prod(X, axis=1)", {"X": ("n,m", "zeros")}),
    ("prod(T, axis=0, keepdims=1)", {"T": ("3,n,m", "zeros")}),
    ("prod(v)", {"v": ("m", "any")}),
    ("var(X) * s", {"X": ("n,m", "any"), "s": ("", "any")}),
    ("var(X, axis=0, ddof=1)", {"X": ("n,m", "any")}),
    ("var(T, axis=-1, keepdims=1)", {"T": ("2,n,m", "any")}),
    ("std(X)", {"X": ("n,m", "any")}),
    ("std(X, axis=1, ddof=1)", {"X": ("n,m", "any")}),
    ("std(T, axis=0, keepdims=1)", {"T": ("2,n,m", "any")}),
    ("norm(X)", {"X": ("n,m", "any")}),
    ("norm(v) * s", {"v": ("m", "any"), "s": ("", "any")}),
    ("norm(X, axis=1)", {"X": ("n,m", "any")}),
    ("norm(X, axis=0, keepdims=1)", {"X": ("n,m", "any")}),
    ("norm(Z, ord=1)", {"Z": ("n,m", "away")}),
    ("norm(Z, ord=1, axis=0)", {"Z": ("n,m", "away")}),
    ("logsumexp(X)", {"X": ("n,m", "any")}),
    ("logsumexp(X, axis=1)", {"X": ("n,m", "any")}),
    ("logsumexp(T, axis=0, keepdims=1)", {"T": ("2,n,m", "any")}),
    ("cumsum(X)", {"X": ("n,m", "any")}),
    ("cumsum(X, axis=0)", {"X": ("n,m", "any")}),
    ("cumsum(T, axis=-1)", {"T": ("2,n,m", "any")}),
    ("cumsum(v) * v", {"v": ("m", "any")}),
    ("trace(S) * trace(S)", {"S": ("n,n", "any")}),
    ("trace(X)", {"X": ("n,m", "any")}),
    ("diag(v)", {"v": ("m", "any")}),
    ("diag(v, k=-1)", {"v": ("m", "any")}),
    ("diag(X)", {"X": ("n,m", "any")}),
    ("diag(X, k=1)", {"X": ("n,m", "any")}),
    ("diag(diag(v))", {"v": ("m", "any")}),
    # losses; L and l are class indices (data: integers in 0..m-1)
    ("cross_entropy(softmax(A), L)", {"A": ("n,m", "any"), "L": ("n", "labels")}),
    ("cross_entropy(P, l)", {"P": ("m", "positive"), "l": ("", "labels")}),
    ("softmax_cross_entropy(A, L)", {"A": ("n,m", "any"), "L": ("n", "labels")}),
    ("softmax_cross_entropy(a, l)", {"a": ("m", "any"), "l": ("", "labels")}),
    ("nll(log_softmax(A), L)", {"A": ("n,m", "any"), "L": ("n", "labels")}),
    ("nll(a, l)", {"a": ("m", "any"), "l": ("", "labels")}),
    ("mse(X, Y)", {"X": ("n,m", "any"), "Y": ("n,m", "any")}),
    ("mse(X, r)", {"X": ("n,m", "any"), "r": ("m", "any")}),
    ("mse(v, s)", {"v": ("m", "any"), "s": ("", "any")}),
    ("binary_cross_entropy(Q, T)", {"Q": ("n,m", "open"), "T": ("n,m", "open")}),
    ("binary_cross_entropy(sigmoid(v), u)", {"v": ("m", "any"), "u": ("m", "open")}),
]

SMALL = 2   # dimensions n, m, k are drawn in SMALL..4 (X[1:3] needs n >= 2 to be non-empty)


def _values(kind, shape, rng, classes=2):
    if kind == "labels":
        values = rng.integers(0, classes, size=shape).astype(float)
    elif kind == "open":
        values = rng.uniform(0.05, 0.95, size=shape)
    elif kind == "zeros":
        values = rng.uniform(-2, 2, size=shape) * (rng.uniform(size=shape) > 1 / 3)
    elif kind == "any":
        values = rng.uniform(-2, 2, size=shape)
    elif kind == "positive":
        values = rng.uniform(0.5, 2.5, size=shape)
    elif kind == "away":
        values = rng.uniform(0.1, 2, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    elif kind == "unit":   # inside (-1, 1) with a margin: asin' and acos' blow up at ±1, where a central
        values = rng.uniform(-0.9, 0.9, size=shape)   # difference is off by percents (a flaky failure)
    else:   # prob: rows of positive weights summing to 1
        values = rng.uniform(0.1, 1, size=shape)
        values = values / values.sum(axis=-1, keepdims=True)
    return float(values) if shape == () else values


def _point(variables, dims, rng):
    bindings = {}
    for name, (shape_text, kind) in variables.items():
        shape = tuple(dims[part] if part in dims else int(part)
                      for part in shape_text.split(",") if part)
        bindings[name] = _values(kind, shape, rng, dims["m"])
    return bindings


def _data(variables) -> frozenset:
    return frozenset(name for name, (_, kind) in variables.items() if kind == "labels")


def central_differences(graph, bindings, name, seed, step=1e-6):
    """d(sum(seed * output))/d(bindings[name]), element by element."""
    def output_at(value):
        moved = dict(bindings, **{name: value})
        return float(np.sum(seed * forward(graph, moved, NUMPY_OPS)[graph.output]))

    value = np.asarray(bindings[name], dtype=float)
    result = np.zeros(value.shape)
    for index in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[index] += step
        down[index] -= step
        as_given = (lambda a: float(a)) if np.ndim(bindings[name]) == 0 else (lambda a: a)
        result[index] = (output_at(as_given(up)) - output_at(as_given(down))) / (2 * step)
    return result


def test_the_formulas_cover_every_tensor_op_and_every_elementwise_function():
    covered = set()
    for source, variables in FORMULAS:
        covered |= set(graph_of(source, variables).ops)
    from cgraph_cli.ops import NO_GRADIENT   # no gradient to check: tested in test_ops.py

    assert covered >= set(NUMPY_OPS) - {"pos"} - NO_GRADIENT, set(NUMPY_OPS) - covered


@pytest.mark.parametrize("source, variables", FORMULAS, ids=[source for source, _ in FORMULAS])
@settings(max_examples=15, deadline=None)
@given(n=st.integers(SMALL, 4), m=st.integers(SMALL, 4), k=st.integers(1, 4),
       random_seed=st.integers(0, 2**32 - 1))
def test_gradients_agree_with_central_differences(source, variables, n, m, k, random_seed):
    rng = np.random.default_rng(random_seed)
    bindings = _point(variables, {"n": n, "m": m, "k": k}, rng)
    graph = build(parse(source), source, frozenset(bindings), _data(variables))
    output = forward(graph, bindings, NUMPY_OPS)[graph.output]
    seed = rng.uniform(-1, 1, size=np.shape(output)) if np.ndim(output) else None
    result = evaluate(graph, bindings, seed=seed)
    gradients = result.gradients()
    assert set(gradients) == set(bindings) - _data(variables)
    for name, value in ((name, bindings[name]) for name in gradients):
        assert np.shape(gradients[name]) == np.shape(value), name
        numeric = central_differences(graph, bindings, name, 1.0 if seed is None else seed)
        np.testing.assert_allclose(gradients[name], numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"d/d{name} of {source} at {bindings}")


# ----- softmax_cross_entropy with targets that are not one-hot (issue 12's fix)

def test_softmax_cross_entropy_with_targets_not_summing_to_one():
    """PyTorch's numbers for a = [1, 2, 3], t = [1, 1, 0]: d/da = (softmax(a)·Σt - t)/N."""
    evaluation = run("softmax_cross_entropy(a, t)", {"a": [1.0, 2, 3], "t": [1.0, 1, 0]})
    assert evaluation.value == pytest.approx(3.815211928888761, rel=1e-12)
    np.testing.assert_allclose(evaluation.gradients()["a"], [-0.81994, -0.51054, 1.33048], atol=1e-5)


def test_softmax_cross_entropy_batch_equals_the_unfused_formula_written_here():
    rng = np.random.default_rng(7)
    a, t = rng.normal(size=(4, 3)), rng.uniform(0, 1, size=(4, 3))
    y = np.exp(a - a.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    expected_value = -np.sum(t * np.log(y)) / 4
    expected_grad = (y * t.sum(axis=1, keepdims=True) - t) / 4
    evaluation = run("softmax_cross_entropy(a, t)", {"a": a, "t": t})
    assert evaluation.value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(evaluation.gradients()["a"], expected_grad, rtol=1e-9, atol=1e-12)
