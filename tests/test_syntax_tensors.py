"""The rows of issue 12's syntax: concatenate, stack along an axis, indexing with integer lists and
integer-valued inputs, the constructors. Gradients against central finite differences on random
inputs, against NumPy written here (np.add.at, np.split), and at the edges (repeated indices, an
infinite upstream, non-integral and out-of-range indices)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli.engine import evaluate, forward
from cgraph_cli.errors import EvalError, ExitStatus
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.ops import array_table

from conftest import run_cgraph

NUMPY_OPS = array_table()


def graph_of(source, bindings, data=()):
    return build(parse(source), source, frozenset(bindings), frozenset(data))


def run(source, bindings, data=(), seed=None):
    return evaluate(graph_of(source, bindings, data), bindings, seed)


def close(got, expected):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def central(graph, bindings, name, seed, step=1e-6):
    """d(sum(seed * output))/d(bindings[name]) by central differences, element by element."""
    value = np.asarray(bindings[name], dtype=float)
    result = np.zeros(value.shape)
    for index in np.ndindex(value.shape):
        sides = []
        for sign in (1, -1):
            moved = value.copy()
            moved[index] += sign * step
            moved = float(moved) if np.ndim(bindings[name]) == 0 else moved
            out = forward(graph, dict(bindings, **{name: moved}), NUMPY_OPS)[graph.output]
            sides.append(float(np.sum(seed * out)))
        result[index] = (sides[0] - sides[1]) / (2 * step)
    return result


# Each case: the formula, its variables' shapes from the dimensions n, m, k, and the index data
# (names bound as data: integer-valued arrays, no gradient).
CASES = [
    ("concatenate([A, B], axis=0)", {"A": "n,m", "B": "k,m"}, {}),
    ("concatenate([A, B, A], axis=1)", {"A": "n,m", "B": "n,k"}, {}),
    ("concatenate([A, B], axis=-1)", {"A": "n,m", "B": "n,k"}, {}),
    ("concatenate([u, v, u])", {"u": "m", "v": "k"}, {}),
    ("stack([A, B], axis=0)", {"A": "n,m", "B": "n,m"}, {}),
    ("stack([A, B, A], axis=2)", {"A": "n,m", "B": "n,m"}, {}),
    ("stack([u, v], -1)", {"u": "m", "v": "m"}, {}),
    ("stack([x, y, x])", {"x": "", "y": ""}, {}),
    ("v[[0, 1, 1, 0]]", {"v": "m"}, {}),
    ("A[[0, 1], -1]", {"A": "n,m"}, {}),
    ("A[[[0], [1]], [0, 1]]", {"A": "n,m"}, {}),
    ("A[:, [1, 1, 0]]", {"A": "n,m"}, {}),
    ("v[i]", {"v": "m"}, {"i": "index"}),
    ("A[rows, t]", {"A": "n,m"}, {"rows": "rows", "t": "classes"}),
    ("A[arange(2), t[:2]]", {"A": "n,m"}, {"t": "classes"}),
    ("A[i] * v[i]", {"A": "n,m", "v": "m"}, {"i": "index"}),
    ("v[t] * v[t]", {"v": "m"}, {"t": "classes"}),   # repeated indices accumulate
]


def _bindings(variables, data, n, m, k, rng):
    dims = {"n": n, "m": m, "k": k}
    bindings = {}
    for name, shape_text in variables.items():
        shape = tuple(dims[part] for part in shape_text.split(",") if part)
        bindings[name] = float(rng.uniform(-2, 2)) if not shape else rng.uniform(-2, 2, size=shape)
    for name, kind in data.items():
        if kind == "index":      # a scalar index into the first axis (n >= 2, m >= 2)
            bindings[name] = float(rng.integers(0, 2))
        elif kind == "rows":     # one row index per row, repeats allowed
            bindings[name] = rng.integers(0, n, size=n).astype(float)
        else:                    # class labels in range for the last axis of size m, one per row
            bindings[name] = rng.integers(-m, m, size=n).astype(float)
    return bindings


@pytest.mark.parametrize("source, variables, data", CASES, ids=[case[0] for case in CASES])
@settings(max_examples=12, deadline=None)
@given(n=st.integers(2, 4), m=st.integers(2, 4), k=st.integers(1, 3), random_seed=st.integers(0, 2**32 - 1))
def test_gradients_agree_with_central_differences(source, variables, data, n, m, k, random_seed):
    rng = np.random.default_rng(random_seed)
    bindings = _bindings(variables, data, n, m, k, rng)
    graph = graph_of(source, bindings, data)
    output = forward(graph, bindings, NUMPY_OPS)[graph.output]
    seed = rng.uniform(-1, 1, size=np.shape(output)) if np.ndim(output) else 1.0
    result = evaluate(graph, bindings, seed=seed if np.ndim(output) else None)
    gradients = result.gradients()
    assert set(gradients) == set(variables)   # the index data has none
    for name in variables:
        assert np.shape(gradients[name]) == np.shape(bindings[name]), name
        np.testing.assert_allclose(gradients[name], central(graph, bindings, name, seed), rtol=1e-6,
                                   atol=1e-7, err_msg=f"d/d{name} of {source}")


# ---------------------------------------------------------------------------------------------
# Against NumPy written here
# ---------------------------------------------------------------------------------------------

RNG = np.random.default_rng(12)
A, B = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3))


def test_concatenate_value_and_gradient_are_numpy_s_split():
    G = RNG.normal(size=(6, 3))
    result = run("concatenate([A, B], axis=0)", {"A": A, "B": B}, seed=G)
    close(result.value, np.concatenate([A, B], axis=0))
    close(result.gradients()["A"], G[:2])
    close(result.gradients()["B"], G[2:])
    C = RNG.normal(size=(2, 5))
    G = RNG.normal(size=(2, 8))
    result = run("concatenate([A, C], 1)", {"A": A, "C": C}, seed=G)
    close(result.value, np.hstack([A, C]))
    close(result.gradients()["A"], G[:, :3])
    close(result.gradients()["C"], G[:, 3:])


def test_stack_along_an_axis_sends_each_element_its_slice():
    A2 = RNG.normal(size=(2, 3))
    G = RNG.normal(size=(2, 2, 3))
    result = run("stack([A, A2], axis=1)", {"A": A, "A2": A2}, seed=G)
    close(result.value, np.stack([A, A2], axis=1))
    close(result.gradients()["A"], G[:, 0, :])
    close(result.gradients()["A2"], G[:, 1, :])
    G = RNG.normal(size=(2, 3, 2))
    result = run("stack([A, A2], -1)", {"A": A, "A2": A2}, seed=G)
    close(result.gradients()["A"], G[..., 0])


def test_a_literal_is_still_a_stack_along_the_first_axis():
    result = run("sum([x, 2 * x] * w)", {"x": 1.5, "w": np.array([3.0, 5.0])})
    assert result.value == 1.5 * 3 + 3.0 * 5
    assert result.gradients()["x"] == 3 + 2 * 5


def test_integer_array_indexing_accumulates_repeated_indices():
    v = np.array([1.0, 2.0, 3.0])
    G = np.array([0.5, 0.25, -1.0, 2.0])
    result = run("v[[0, 0, 2, 0]]", {"v": v}, seed=G)
    close(result.value, v[[0, 0, 2, 0]])
    expected = np.zeros(3)
    np.add.at(expected, [0, 0, 2, 0], G)
    close(result.gradients()["v"], expected)
    assert result.gradients()["v"][0] == 0.5 + 0.25 + 2.0
    # mixed with an integer: X[[0, 1], 2]
    X = RNG.normal(size=(3, 4))
    result = run("sum(X[[0, 1, 1], 2])", {"X": X})
    expected = np.zeros((3, 4))
    np.add.at(expected, ([0, 1, 1], 2), 1.0)
    close(result.value, X[[0, 1, 1], 2].sum())
    close(result.gradients()["X"], expected)


def test_the_cs231n_idiom_probs_range_n_y():
    """probs[range(N), y] picks each row's label; the gradient is 1 there, 0 elsewhere."""
    P = RNG.uniform(0.1, 1, size=(4, 3))
    y = np.array([2.0, 0.0, 1.0, 2.0])
    result = run("-sum(log(P[range(4), y])) / 4", {"P": P, "y": y}, data={"y"})
    close(result.value, -np.mean(np.log(P[np.arange(4), y.astype(int)])))
    expected = np.zeros_like(P)
    expected[np.arange(4), y.astype(int)] = -1 / (4 * P[np.arange(4), y.astype(int)])
    close(result.gradients()["P"], expected)
    assert "y" not in result.gradients()


def test_an_index_bound_as_a_variable_receives_zero():
    result = run("v[i] * 3", {"v": np.array([1.0, 2.0]), "i": 1.0})
    assert result.value == 6.0
    assert result.gradients()["i"] == 0.0
    close(result.gradients()["v"], [0.0, 3.0])


def test_an_element_not_selected_receives_exactly_zero_under_an_infinite_upstream():
    """sqrt(v[[0]]) at v[0] = 0: the selected element's gradient is inf, every other one exactly 0."""
    for source in ("sum(sqrt(v[[0]]))", "sum(sqrt(v[i]))", "sqrt(v[0])"):
        result = run(source, {"v": np.array([0.0, 4.0, 9.0]), "i": 0.0}, data={"i"})
        grad = result.gradients()["v"]
        assert grad[0] == np.inf, source
        assert grad[1] == 0.0 and grad[2] == 0.0 and not np.isnan(grad).any(), source


@pytest.mark.parametrize("source, bindings, words", [
    ("v[i]", {"i": 0.5}, "index 0.5 is not an integer in v[i] (shape (3,))"),
    ("v[t]", {"t": np.array([0.0, 1.25])}, "index 1.25 is not an integer in v[t]"),
    ("v[i]", {"i": 3.0}, "index 3 is out of bounds for axis 0 with size 3 in v[i]"),
    ("v[i]", {"i": -4.0}, "index -4 is out of bounds"),
    ("v[i]", {"i": 1e300}, "index 1e+300 is out of range in v[i]"),
    ("v[[0, 5]]", {}, "index 5 is out of bounds for axis 0 with size 3 in v[[0, 5]]"),
])
def test_bad_indices_are_evaluation_errors_naming_the_node(source, bindings, words):
    bindings = {"v": np.array([1.0, 2.0, 3.0]), **bindings}
    with pytest.raises(EvalError) as info:
        run(source, bindings)
    assert info.value.exit_code == ExitStatus.EVALUATION == 3
    assert words in str(info.value)
    assert "^" in str(info.value)


def test_a_non_integral_constant_index_is_a_parse_error():
    result = run_cgraph("eval", "v[[0, 1.5]]", "--v", "[1, 2, 3]")
    assert result.code == 2 and "an index or axis must be an integer, got 1.5" in result.err
    for ragged in ("v[[[0], [1, 2]]]", "v[[0, [1]]]"):
        result = run_cgraph("eval", f"sum({ragged})", "--v", "[1, 2, 3]")
        assert result.code == 2, result.err
        assert result.err.startswith("cgraph: parse error: ragged index list"), result.err
        assert "Traceback" not in result.err


@pytest.mark.parametrize("args, code, first_line", [
    (("v[i]", "--v", "[1, 2]", "--i", "0.5"), 3,
     "cgraph: evaluation error: index 0.5 is not an integer in v[i] (shape (2,)) at line 1, column 1:"),
    (("P[arange(2), t]", "--P", "[[1, 2], [3, 4]]", "--t", "[0, 2]", "--const", "t"), 3,
     "cgraph: evaluation error: index 2 is out of bounds for axis 1 with size 2 in P[arange(2), t]"),
    (("concatenate([a, b])", "--a", "[1, 2]", "--b", "3"), 3,
     "cgraph: evaluation error: shape mismatch in concatenate([a, b]): (2,) concatenate ()"),
    (("concatenate([a, b], axis=1)", "--a", "[[1, 2]]", "--b", "[[1], [2]]"), 3,
     "cgraph: evaluation error: shape mismatch in concatenate([a, b], axis=1)"),
    (("stack([a, b])", "--a", "[1, 2]", "--b", "[3]"), 3, "cgraph: evaluation error: "),
])
def test_cli_evaluation_errors(args, code, first_line):
    result = run_cgraph("eval", *args, "--format", "json")
    assert result.code == code, result.err
    assert result.out == ""
    assert result.err.startswith(first_line), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


def test_cli_index_with_data_labels_end_to_end():
    result = run_cgraph("eval", "sum(P[arange(2), t])", "--P", "[[1, 2], [3, 4]]", "--t", "[1, 0]",
                        "--const", "t", "--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["value"] == 5.0
    assert document["gradients"] == {"P": [[0.0, 1.0], [1.0, 0.0]]}
    index = next(node for node in document["nodes"] if node["op"] == "index")
    assert index["attrs"] == {"key": "[arange(2), t]"}
    assert [node["op"] for node in document["nodes"]] == ["var", "var", "const", "index", "sum"]


def test_cli_constructors_are_const_nodes_without_gradient():
    result = run_cgraph("eval", "sum(W * ones((2, 2)) + eye(2))", "--W", "[[1, 2], [3, 4]]", "--format",
                        "json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["value"] == 12.0
    constants = [node for node in document["nodes"] if node["op"] == "const"]
    assert [node["text"] for node in constants] == ["ones((2, 2))", "eye(2)"]
    assert all(node["grad"] is None for node in constants)


@pytest.mark.parametrize("source", ["[3, arange(4)]", "[ones((2,)), zeros((3,))]", "[[1], arange(2)]"])
def test_a_ragged_literal_of_constants_is_the_shape_error_not_a_crash(source):
    """Found by bench/fuzz.py (seed 1301): constants of different shapes were folded into one array."""
    result = run_cgraph("eval", source)
    assert (result.code, result.out) == (3, "") and "ragged tensor" in result.err, result.err
