"""Issue 12's tensor rows (shapes, reductions with keepdims and tuple axes, selections, losses) against
NumPy formulas written here, PyTorch's numbers, and central finite differences. Keyword values the
grammar cannot write yet (tuples, True) are set on the graph by hand: graph.attrs is what the parser
fills, and the engine binds it to the rows."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cgraph_cli.engine import evaluate, forward
from cgraph_cli.errors import EvalError, ExitStatus
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.ops import NO_GRADIENT, OPS, TENSOR_OPS, array_table
from conftest import run_cgraph
from test_tensors import central_differences

NUMPY_OPS = array_table()
RNG = np.random.default_rng(1212)


def graph_of(source, bindings, attrs=None, data=()):
    """The graph of `source`; attrs {op: {keyword: value}} set on every node of that op, as the
    parser would for keyword values it cannot parse yet (axis=(0, 2), keepdims=True)."""
    graph = build(parse(source), source, frozenset(bindings), frozenset(data))
    for op, keywords in (attrs or {}).items():
        nodes = [i for i, name in enumerate(graph.ops) if name == op]
        assert nodes, f"no {op} node in {source}"
        for node_id in nodes:
            graph.attrs[node_id] = {**graph.attrs.get(node_id, {}), **keywords}
    return graph


def run(source, bindings, attrs=None, data=(), seed=None):
    bindings = {name: np.array(v, dtype=float) if isinstance(v, list) else v for name, v in bindings.items()}
    return evaluate(graph_of(source, bindings, attrs, data), bindings, seed)


def node_value(result, op):
    return result.values[result.graph.ops.index(op)]


def close(got, expected, rtol=1e-9, atol=1e-12):
    """Same shape, same numbers: relative 1e-9 with an absolute floor of 1e-12."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def fd_check(graph, bindings, seed=None):
    """Every gradient of the graph against central differences (the seed random for a tensor output)."""
    output = forward(graph, bindings, NUMPY_OPS)[graph.output]
    if seed is None and np.ndim(output):
        seed = RNG.uniform(-1, 1, size=np.shape(output))
    result = evaluate(graph, bindings, seed=seed)
    for name, gradient in result.gradients().items():
        assert np.shape(gradient) == np.shape(bindings[name])
        numeric = central_differences(graph, bindings, name, 1.0 if seed is None else seed)
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6, err_msg=f"d/d{name}")
    return result


T234 = RNG.normal(size=(2, 3, 4))
X34 = RNG.normal(size=(3, 4))


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, attrs, reference", [
    ("reshape(T, shape=-1)", None, lambda T: T.reshape(-1)),
    ("reshape(T, shape=24)", {"reshape": {"shape": (4, -1)}}, lambda T: T.reshape(4, -1)),
    ("reshape(T, shape=24)", {"reshape": {"shape": (3, 2, 2, 2)}}, lambda T: T.reshape(3, 2, 2, 2)),
    ("flatten(T)", None, lambda T: T.ravel()),
    ("transpose(T)", None, lambda T: T.transpose()),
    ("transpose(T)", {"transpose": {"axes": (1, 0, 2)}}, lambda T: T.transpose(1, 0, 2)),
    ("transpose(T)", {"transpose": {"axes": (2, 0, 1)}}, lambda T: T.transpose(2, 0, 1)),
    ("transpose(T)", {"transpose": {"axes": (-1, 1, 0)}}, lambda T: T.transpose(2, 1, 0)),
    ("unsqueeze(T, axis=0)", {"unsqueeze": {"axis": (0, 4)}}, lambda T: T[np.newaxis, :, :, :, np.newaxis]),
    ("unsqueeze(T, axis=-1)", None, lambda T: T[..., np.newaxis]),
])
def test_shape_ops_move_the_elements_as_numpy_and_the_gradient_back(source, attrs, reference):
    seed = RNG.normal(size=reference(T234).shape)
    result = run(source, {"T": T234}, attrs, seed=seed)
    close(result.value, reference(T234), rtol=0, atol=0)
    # the gradient puts each seed element back where its value came from: reference(T) of the
    # gradient equals the seed, and the gradient has T's shape
    gradient = result.gradients()["T"]
    assert gradient.shape == T234.shape
    close(reference(gradient), seed, rtol=0, atol=0)
    fd_check(result.graph, {"T": T234})


def test_transpose_by_axes_sends_back_the_inverse_permutation():
    seed = RNG.normal(size=(4, 2, 3))
    result = run("transpose(T)", {"T": T234}, {"transpose": {"axes": (2, 0, 1)}}, seed=seed)
    close(result.gradients()["T"], np.transpose(seed, (1, 2, 0)), rtol=0, atol=0)   # argsort((2, 0, 1))


def test_squeeze_all_axes_of_length_one_or_the_chosen_ones():
    C = RNG.normal(size=(1, 3, 1, 2))
    for attrs, expected in [(None, (3, 2)), ({"squeeze": {"axis": 0}}, (3, 1, 2)),
                            ({"squeeze": {"axis": (0, 2)}}, (3, 2)), ({"squeeze": {"axis": -2}}, (1, 3, 2))]:
        result = run("sum(squeeze(C) * squeeze(C))", {"C": C}, attrs)
        assert node_value(result, "squeeze").shape == expected
        close(result.gradients()["C"], 2 * C)


def test_flatten_of_a_scalar_is_a_vector_of_one_and_its_gradient_a_float():
    result = run("sum(flatten(s) * 3)", {"s": 2.0})
    close(node_value(result, "flatten"), [2.0])
    assert result.gradients() == {"s": 3.0} and type(result.gradients()["s"]) is float
    assert result.reduced == {}   # moved back by reshape, not summed over a broadcast axis


@pytest.mark.parametrize("source, attrs, message", [
    ("reshape(T, shape=5)", None, "cannot reshape array of size 24 into shape (5,)"),
    ("squeeze(T, axis=0)", None, "cannot select an axis to squeeze out which has size not equal to one"),
    ("unsqueeze(T, axis=0)", {"unsqueeze": {"axis": None}}, "unsqueeze needs axis="),
    ("transpose(T)", {"transpose": {"axes": (0, 1)}}, "axes don't match array"),
])
def test_shape_errors_are_evaluation_errors_naming_the_node(source, attrs, message):
    with pytest.raises(EvalError) as error:
        run(source, {"T": T234}, attrs)
    assert error.value.exit_code == ExitStatus.EVALUATION
    assert message in error.value.message and source in error.value.message


# ---------------------------------------------------------------------------------------------
# Reductions: keepdims and tuple axes on every one, values against NumPy
# ---------------------------------------------------------------------------------------------

def _std(a, axis=None, keepdims=False, ddof=0):
    return np.sqrt(np.sum((a - a.mean(axis=axis, keepdims=True)) ** 2, axis=axis, keepdims=keepdims)
                   / (np.size(a) / np.size(np.sum(a, axis=axis)) - ddof))


REFERENCES = {   # the reduction written with NumPy here
    "sum": lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims),
    "mean": lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims) * np.size(np.sum(a, axis=axis))
    / np.size(a),
    "max": lambda a, axis, keepdims: np.max(a, axis=axis, keepdims=keepdims),
    "min": lambda a, axis, keepdims: -np.max(-a, axis=axis, keepdims=keepdims),
    "prod": lambda a, axis, keepdims: np.exp(np.sum(np.log(np.abs(a)), axis=axis, keepdims=keepdims))
    * np.prod(np.sign(a), axis=axis, keepdims=keepdims),
    "var": lambda a, axis, keepdims: _std(a, axis, keepdims) ** 2,
    "std": _std,
    "norm": lambda a, axis, keepdims: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
    "logsumexp": lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
}
OP_OF = {"max": "reduce_max", "min": "reduce_min", "var": "variance"}
AXES = [None, 0, -1, (0, 2), (1, 2), (0, 1, 2), (2, 0), (-1, 0)]


@pytest.mark.parametrize("function", sorted(REFERENCES))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_along_axes_with_keepdims_against_numpy_and_finite_differences(function, axis, keepdims):
    op = OP_OF.get(function, function)
    bindings = {"T": T234}
    result = run(f"{function}(T)", bindings, {op: {"axis": axis, "keepdims": keepdims}})
    close(result.value, REFERENCES[function](T234, axis, keepdims))
    if keepdims:
        assert np.ndim(result.value) == 3
    fd_check(result.graph, bindings)


@settings(max_examples=25, deadline=None)
@given(function=st.sampled_from(sorted(REFERENCES)),
       shape=st.lists(st.integers(1, 3), min_size=1, max_size=4),
       data=st.data(), random_seed=st.integers(0, 2**32 - 1))
def test_reductions_on_random_shapes_and_axes(function, shape, data, random_seed):
    rng = np.random.default_rng(random_seed)
    ndim = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                               st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                               .map(tuple)))
    keepdims = data.draw(st.booleans())
    T = rng.uniform(0.5, 2, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    # std of one element is std's kink (zero variance), tested on its own below
    assume(function != "std" or np.size(T) > np.size(np.sum(T, axis=axis)))
    op = OP_OF.get(function, function)
    result = run(f"{function}(T)", {"T": T}, {op: {"axis": axis, "keepdims": keepdims}})
    close(result.value, REFERENCES[function](T, axis, keepdims))
    fd_check(result.graph, {"T": T})


@pytest.mark.parametrize("function, op", [("argmax", np.argmax), ("argmin", np.argmin)])
def test_argmax_and_argmin_are_float_indices_as_numpy_with_no_gradient(function, op):
    X = np.array([[1.0, 7.0, 7.0, 2.0], [9.0, -1.0, 9.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            result = run(f"{function}(X) + 0 * sum(X)", {"X": X}, {function: {"axis": axis, "keepdims": keepdims}})
            value = node_value(result, function)
            expected = op(X, axis=axis, keepdims=keepdims)
            close(value, expected, rtol=0, atol=0)   # ties: the first, as NumPy
            assert np.asarray(value).dtype == np.float64
            if axis is None and not keepdims:
                assert type(value) is float
            close(result.gradients()["X"], np.zeros_like(X))
    assert function in NO_GRADIENT and not OPS[function].differentiable


def test_argmax_over_a_tuple_of_axes_is_the_index_in_the_flattened_block():
    result = run("argmax(T)", {"T": T234}, {"argmax": {"axis": (0, 2)}})
    expected = [np.argmax(T234[:, j, :].ravel()) for j in range(3)]   # block (2, 4) of each j, row-major
    close(result.value, expected, rtol=0, atol=0)
    assert run("argmin(T)", {"T": T234}, {"argmin": {"axis": (0, 1, 2)}}).value == float(np.argmin(T234))


def test_min_of_one_argument_reduces_and_of_two_stays_elementwise():
    x, y = np.array([3.0, -1.0, 4.0]), np.array([0.0, 5.0, 4.0])
    reduced = run("min(x)", {"x": x})
    assert reduced.value == -1.0 and reduced.graph.ops[-1] == "reduce_min"
    close(reduced.gradients()["x"], [0.0, 1.0, 0.0])
    elementwise = run("sum(min(x, y))", {"x": x, "y": y})
    assert elementwise.value == 3.0 and "min" in elementwise.graph.ops
    close(elementwise.gradients()["x"], [0.0, 1.0, 0.5])


@pytest.mark.parametrize("function, what", [("max", "max tie"), ("min", "min tie")])
def test_ties_split_evenly_over_a_tuple_of_axes_and_are_flagged(function, what):
    T = np.zeros((2, 2, 2))
    T[0, 0, 0] = T[1, 0, 1] = 5.0 if function == "max" else -5.0   # a tie in column 0 of axis 1
    T[0, 1, 1] = 3.0 if function == "max" else -3.0
    op = OP_OF[function]
    result = run(f"sum({function}(T) * r)", {"T": T, "r": [10.0, 100.0]}, {op: {"axis": (0, 2)}})
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0] = expected[1, 0, 1] = 5.0   # 10 split two ways
    expected[0, 1, 1] = 100.0
    close(result.gradients()["T"], expected)
    assert result.kinks[result.graph.ops.index(op)] == f"{what} in 2 of 8 elements: gradient split evenly"


@pytest.mark.parametrize("function", ["max", "min"])
def test_a_selection_sends_unselected_elements_exactly_0_under_an_infinite_upstream(function):
    """sqrt(max(x) - 5) at max(x) = 5: sqrt sends inf; the elements that are not the maximum get 0,
    not inf * 0 = nan (PyTorch's masked backward)."""
    x = [1.0, 5.0, 2.0] if function == "max" else [9.0, 5.0, 7.0]
    source = "sqrt(max(x) - 5)" if function == "max" else "sqrt(5 - min(x))"
    result = run(source, {"x": x})
    gradient = result.gradients()["x"]
    assert gradient[0] == 0.0 and gradient[2] == 0.0
    assert math.isinf(gradient[1])
    op = OPS[OP_OF[function]]
    for upstream in (math.inf, math.nan, -math.inf):
        sent = NUMPY_OPS[OP_OF[function]].vjp(upstream, 5.0, np.array(x))[0]
        assert sent[0] == 0.0 and sent[2] == 0.0 and not np.isfinite(sent[1])
    assert op.rule == ("where(a == spread(out), spread(g) / k, 0)",)


def test_prod_gradient_is_the_product_of_the_others_also_at_zeros():
    def others(x):   # the independent reference: the product of every other element
        return np.array([np.prod(np.delete(x, i)) for i in range(len(x))])

    for x in ([2.0, 0.0, 3.0, -1.5], [0.0, 4.0, 0.0, 2.0], [1.5, -2.0, 0.5, 3.0], [0.0]):
        x = np.array(x)
        result = run("prod(x)", {"x": x})
        assert result.value == pytest.approx(float(np.prod(x)), rel=1e-12, abs=0)
        close(result.gradients()["x"], others(x))
    result = run("sum(prod(X, axis=1) * r)", {"X": [[2.0, 0.0, 3.0], [1.0, 2.0, 4.0]], "r": [1.0, 10.0]})
    close(result.gradients()["X"], [[0.0, 6.0, 0.0], [80.0, 40.0, 20.0]])


def test_var_and_std_with_ddof_against_the_formula():
    x = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])   # mean 5, squared deviations sum 32
    for ddof in (0, 1, 3):
        var = run("var(x, ddof=%d)" % ddof, {"x": x})
        std = run("std(x, ddof=%d)" % ddof, {"x": x})
        assert var.value == pytest.approx(32 / (8 - ddof), rel=1e-12)
        assert std.value == pytest.approx(math.sqrt(32 / (8 - ddof)), rel=1e-12)
        close(var.gradients()["x"], 2 * (x - 5) / (8 - ddof))
        close(std.gradients()["x"], (x - 5) / ((8 - ddof) * math.sqrt(32 / (8 - ddof))))
    assert run("std(x)", {"x": x}).value == 2.0   # the textbook example


@pytest.mark.parametrize("source", ["var(x, ddof=3)", "std(x, ddof=4)"])
def test_ddof_leaving_no_degrees_of_freedom_is_an_evaluation_error(source):
    with pytest.raises(EvalError, match=r"ddof=\d leaves no degrees of freedom in 3 elements"):
        run(source, {"x": [1.0, 2.0, 3.0]})


def test_std_of_zero_variance_has_gradient_0_and_is_flagged():
    result = run("std(x)", {"x": [0.1, 0.1, 0.1]})   # the float mean of 0.1s is not 0.1
    assert result.value == 0.0
    close(result.gradients()["x"], [0.0, 0.0, 0.0])
    assert result.kinks == {result.graph.ops.index("std"): "std of zero variance: gradient 0 used"}
    assert run("var(x)", {"x": [0.1, 0.1, 0.1]}).value == 0.0
    rows = run("sum(std(X, axis=1))", {"X": [[0.3, 0.3], [1.0, 3.0]]})
    close(rows.gradients()["X"], [[0.0, 0.0], [-0.5, 0.5]])
    assert rows.kinks[rows.graph.ops.index("std")] == "std of zero variance in 1 of 2 elements: gradient 0 used"
    assert run("std(x)", {"x": [1.0, 2.0]}).kinks == {}


def test_norm_l2_and_l1_against_the_formulas():
    X = np.array([[3.0, -4.0], [0.0, 12.0]])
    l2 = run("norm(X)", {"X": X})
    assert l2.value == 13.0
    close(l2.gradients()["X"], X / 13)
    l1 = run("norm(X, ord=1)", {"X": X})
    assert l1.value == 19.0
    close(l1.gradients()["X"], np.sign(X))
    assert l1.kinks == {l1.graph.ops.index("norm"): "norm (ord=1) at an element 0 in 1 of 4 elements: gradient 0 used"}
    rows = run("sum(norm(X, axis=1) * r)", {"X": X, "r": [2.0, 3.0]})
    close(node_value(rows, "norm"), [5.0, 12.0])
    close(rows.gradients()["X"], [[2 * 3 / 5, 2 * -4 / 5], [0.0, 3.0]])
    # the matrix is not a matrix norm: NumPy's norm(X, 1) of a matrix would be its largest column sum
    assert run("norm(X, ord=1)", {"X": X}).value == np.sum(np.abs(X))


def test_norm_of_zero_has_gradient_0_and_is_flagged():
    result = run("norm(x)", {"x": [0.0, 0.0, 0.0]})
    assert result.value == 0.0
    close(result.gradients()["x"], [0.0, 0.0, 0.0])
    assert result.kinks == {result.graph.ops.index("norm"): "norm at 0: gradient 0 used"}
    rows = run("sum(norm(X, axis=0))", {"X": [[0.0, 3.0], [0.0, 4.0]]})
    close(rows.gradients()["X"], [[0.0, 0.6], [0.0, 0.8]])
    assert rows.kinks[rows.graph.ops.index("norm")] == "norm at 0 in 1 of 2 elements: gradient 0 used"


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e-310])
def test_norm_neither_overflows_nor_underflows(scale):
    x = np.array([3.0, -4.0]) * scale
    result = run("norm(x)", {"x": x})
    assert result.value == pytest.approx(5 * scale, rel=1e-9)
    close(result.gradients()["x"], [0.6, -0.8])


def test_norm_takes_ord_1_or_2():
    with pytest.raises(EvalError, match="norm takes ord=1 or ord=2"):
        run("norm(x, ord=3)", {"x": [1.0, 2.0]})


def test_logsumexp_is_stable_and_its_gradient_is_the_softmax():
    x = np.array([1000.0, 1000.0, -1000.0])
    result = run("logsumexp(x)", {"x": x})
    assert result.value == pytest.approx(1000 + math.log(2), rel=1e-15)
    close(result.gradients()["x"], [0.5, 0.5, 0.0])
    x = np.array([0.5, -1.0, 2.0])
    result = run("logsumexp(x)", {"x": x})
    assert result.value == pytest.approx(math.log(sum(math.exp(v) for v in x)), rel=1e-12)
    close(result.gradients()["x"], np.exp(x) / np.exp(x).sum())


def test_cumsum_against_the_running_sums_written_out():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    seed = np.array([[1.0, -1.0, 2.0], [0.5, 3.0, -2.0]])
    along = run("cumsum(X, axis=1)", {"X": X}, seed=seed)
    close(along.value, [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]])
    expected = [[sum(seed[i, j:]) for j in range(3)] for i in range(2)]   # what each element feeds
    close(along.gradients()["X"], expected)
    down = run("cumsum(X, axis=0)", {"X": X}, seed=seed)
    close(down.gradients()["X"], [[1.5, 2.0, 0.0], [0.5, 3.0, -2.0]])
    flat_seed = np.arange(6.0)
    flat = run("cumsum(X)", {"X": X}, seed=flat_seed)   # axis None flattens, as NumPy
    close(flat.value, [1.0, 3.0, 6.0, 10.0, 15.0, 21.0])
    close(flat.gradients()["X"], [[15.0, 15.0, 14.0], [12.0, 9.0, 5.0]])


def test_trace_and_its_gradient_the_identity():
    X = np.arange(12.0).reshape(3, 4)
    result = run("trace(X)", {"X": X})
    assert result.value == 0.0 + 5.0 + 10.0
    close(result.gradients()["X"], np.eye(3, 4))
    with pytest.raises(EvalError, match="trace needs a matrix"):
        run("trace(x)", {"x": [1.0, 2.0]})


@pytest.mark.parametrize("k", [0, 1, -1, 2])
def test_diag_both_ways_with_an_offset(k):
    v = np.array([1.0, -2.0, 3.0])
    seed = RNG.normal(size=(3 + abs(k), 3 + abs(k)))
    to_matrix = run(f"diag(v, k={k})", {"v": v}, seed=seed)
    close(to_matrix.value, np.diag(v, k))
    close(to_matrix.gradients()["v"], [seed[i + max(-k, 0), i + max(k, 0)] for i in range(3)])
    X = RNG.normal(size=(3, 4))
    length = len(np.diag(X, k))
    seed = RNG.normal(size=length)
    to_vector = run(f"diag(X, k={k})", {"X": X}, seed=seed)
    close(to_vector.value, [X[i + max(-k, 0), i + max(k, 0)] for i in range(length)])
    expected = np.zeros((3, 4))
    for i in range(length):
        expected[i + max(-k, 0), i + max(k, 0)] = seed[i]
    close(to_vector.gradients()["X"], expected)


def test_diag_of_a_rank_3_array_is_an_evaluation_error():
    with pytest.raises(EvalError, match="diag needs a vector or a matrix"):
        run("diag(T)", {"T": T234})


@pytest.mark.parametrize("source", ["prod(x)", "var(x)", "std(x + 1)", "norm(x)", "logsumexp(x)", "min(x)",
                                    "argmax(x)", "trace([[x, 1], [2, x]])"])
def test_a_scalar_result_is_a_python_float(source):
    result = run(source, {"x": 2.0})
    assert type(result.value) is float


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------

A = np.array([[0.3, 2.9, 4.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [2.0, 1.0, -1.0]])
LABELS = np.array([2.0, 0.0, 1.0, 0.0])


def log_softmax_rows(a):
    a = a - a.max(axis=-1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=-1, keepdims=True))


def test_softmax_cross_entropy_with_class_indices_is_pytorchs_cross_entropy():
    """F.cross_entropy(torch.tensor([[1., 2., 3.]]), torch.tensor([2])) = 0.4076059644443804."""
    result = run("softmax_cross_entropy(a, t)", {"a": [[1.0, 2.0, 3.0]], "t": [2.0]}, data={"t"})
    assert result.value == pytest.approx(0.4076059644443804, rel=1e-12)
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    close(result.gradients()["a"], [p - [0.0, 0.0, 1.0]])
    batch = run("softmax_cross_entropy(A, t)", {"A": A, "t": LABELS}, data={"t"})
    rows = np.arange(4)
    assert batch.value == pytest.approx(-np.mean(log_softmax_rows(A)[rows, LABELS.astype(int)]), rel=1e-12)
    expected = np.exp(log_softmax_rows(A))
    expected[rows, LABELS.astype(int)] -= 1
    close(batch.gradients()["A"], expected / 4)


def test_a_scalar_class_index_for_a_vector_of_logits():
    """The course's example: a = [0.3, 2.9, 4.0], label 2: softmax(a) - one_hot = [0.0182, 0.2452, -0.2634]."""
    result = run("softmax_cross_entropy(a, t)", {"a": [0.3, 2.9, 4.0], "t": 2.0}, data={"t"})
    close(result.gradients()["a"], [0.0182, 0.2452, -0.2634], rtol=0, atol=1e-4)
    assert result.value == pytest.approx(-log_softmax_rows(np.array([0.3, 2.9, 4.0]))[2], rel=1e-12)


@pytest.mark.parametrize("source", ["softmax_cross_entropy(A, t)", "cross_entropy(softmax(A), t)"])
def test_class_indices_equal_one_hot_targets(source):
    one_hot = np.eye(3)[LABELS.astype(int)]
    by_index = run(source, {"A": A, "t": LABELS})
    by_rows = run(source, {"A": A, "t": one_hot})
    assert by_index.value == pytest.approx(by_rows.value, rel=1e-12)
    close(by_index.gradients()["A"], by_rows.gradients()["A"])
    close(by_index.gradients()["t"], np.zeros(4), rtol=0, atol=0)   # labels get no gradient


def test_cross_entropy_of_probabilities_with_class_indices():
    Y = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    result = run("cross_entropy(Y, t)", {"Y": Y, "t": [1.0, 2.0]}, data={"t"})
    assert result.value == pytest.approx(-(math.log(0.6) + math.log(0.25)) / 2, rel=1e-12)
    close(result.gradients()["Y"], [[0.0, -1 / 0.6 / 2, 0.0], [0.0, 0.0, -1 / 0.25 / 2]])
    # a zero probability where no label points is fine
    assert run("cross_entropy(Y, t)", {"Y": [[0.0, 1.0]], "t": [1.0]}).value == 0.0


def test_nll_is_pytorchs_nll_loss():
    logp = log_softmax_rows(A)
    result = run("nll(L, t)", {"L": logp, "t": LABELS}, data={"t"})
    rows = np.arange(4)
    assert result.value == pytest.approx(-np.mean(logp[rows, LABELS.astype(int)]), rel=1e-12)
    expected = np.zeros_like(logp)
    expected[rows, LABELS.astype(int)] = -1 / 4
    close(result.gradients()["L"], expected)
    assert run("nll(v, t)", {"v": [-1.0, -2.0, -0.5], "t": 1.0}).value == 2.0
    fused = run("softmax_cross_entropy(A, t)", {"A": A, "t": LABELS})
    unfused = run("nll(log_softmax(A), t)", {"A": A, "t": LABELS})
    assert unfused.value == pytest.approx(fused.value, rel=1e-12)
    close(unfused.gradients()["A"], fused.gradients()["A"])


@pytest.mark.parametrize("source, t, message", [
    ("softmax_cross_entropy(A, t)", [2.0, 0.5, 1.0, 0.0], r"class index 0.5 \(t\[1\]\) is not an integer from 0 to 2"),
    ("softmax_cross_entropy(A, t)", [2.0, 0.0, 3.0, 0.0], r"class index 3 \(t\[2\]\) is not an integer from 0 to 2"),
    ("cross_entropy(softmax(A), t)", [-1.0, 0.0, 1.0, 0.0], r"class index -1 \(t\[0\]\) is not an integer"),
    ("nll(A, t)", [0.0, 0.0, 1.0, 7.0], r"class index 7 \(t\[3\]\)"),
    ("one_hot(t, num_classes=3)", [0.0, 1.0, 2.5], r"class index 2.5 \(t\[2\]\)"),
])
def test_a_bad_class_index_is_an_evaluation_error_naming_the_node(source, t, message):
    with pytest.raises(EvalError, match=message) as error:
        run(source, {"A": A, "t": t}, data={"t"})
    assert error.value.exit_code == ExitStatus.EVALUATION
    assert source in error.value.message


@pytest.mark.parametrize("source, t, message", [
    ("softmax_cross_entropy(A, t)", np.zeros(3),
     "softmax_cross_entropy needs targets t of shape (4, 3) or class indices t of shape (4,), got t of shape (3,)"),
    ("cross_entropy(A, t)", np.zeros((4, 2)),
     "cross_entropy needs targets t of shape (4, 3) or class indices t of shape (4,), got t of shape (4, 2)"),
    ("nll(A, t)", np.zeros((4, 3)), "nll needs class indices t of shape (4,), got t of shape (4, 3)"),
])
def test_targets_of_another_shape_are_an_evaluation_error(source, t, message):
    with pytest.raises(EvalError) as error:
        run(source, {"A": A, "t": t})
    assert error.value.exit_code == ExitStatus.EVALUATION
    assert error.value.message.startswith(message + f" in {source}")


def test_one_hot_is_pytorchs_and_carries_no_gradient():
    t = np.array([[0.0, 2.0], [1.0, 1.0]])
    result = run("sum(one_hot(t, num_classes=4) * R) + sum(t)", {"t": t, "R": RNG.normal(size=(2, 2, 4))})
    close(node_value(result, "one_hot"), np.eye(4)[t.astype(int)], rtol=0, atol=0)
    close(result.gradients()["t"], np.ones((2, 2)))   # from sum(t) only
    close(run("one_hot(t)", {"t": [0.0, 3.0, 1.0]}).value, np.eye(4)[[0, 3, 1]])   # C = largest + 1
    assert "one_hot" in NO_GRADIENT


def test_mse_is_the_mean_of_squares_over_every_element():
    Y, T = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))
    result = run("mse(Y, T)", {"Y": Y, "T": T})
    assert result.value == pytest.approx(float(np.sum((Y - T) ** 2) / 6), rel=1e-12)
    close(result.gradients()["Y"], 2 * (Y - T) / 6)
    close(result.gradients()["T"], -2 * (Y - T) / 6)
    broadcast = run("mse(Y, s)", {"Y": Y, "s": 0.5})
    assert broadcast.gradients()["s"] == pytest.approx(float(-2 * np.sum(Y - 0.5) / 6), rel=1e-12)


def test_binary_cross_entropy_against_the_formula():
    p, t = np.array([0.2, 0.7, 0.9, 0.5]), np.array([0.0, 1.0, 0.3, 1.0])
    result = run("binary_cross_entropy(p, t)", {"p": p, "t": t})
    assert result.value == pytest.approx(float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))), rel=1e-12)
    close(result.gradients()["p"], (p - t) / (p * (1 - p)) / 4)
    close(result.gradients()["t"], (np.log(1 - p) - np.log(p)) / 4)


def test_binary_cross_entropy_clamps_its_logs_at_minus_100_as_pytorch():
    """PyTorch: F.binary_cross_entropy(tensor([0.]), tensor([1.])) = 100, with gradient -1e12
    (the slope (p - t)/max(p(1 - p), 1e-12)); p = 0 with t = 0 costs nothing."""
    result = run("binary_cross_entropy(p, t)", {"p": [0.0], "t": [1.0]})
    assert result.value == 100.0
    close(result.gradients()["p"], [-1e12])
    close(result.gradients()["t"], [100.0])
    both = run("binary_cross_entropy(p, t)", {"p": [0.0, 1.0, 0.5], "t": [0.0, 1.0, 1.0]})
    assert both.value == pytest.approx(math.log(2) / 3, rel=1e-12)
    close(both.gradients()["p"], [0.0, 0.0, (0.5 - 1) / 0.25 / 3])


@pytest.mark.parametrize("p", [[1.5, 0.5], [-0.1, 0.5]])
def test_binary_cross_entropy_needs_probabilities(p):
    with pytest.raises(EvalError, match=r"binary_cross_entropy needs p in \[0, 1\]"):
        run("binary_cross_entropy(p, t)", {"p": p, "t": [1.0, 0.0]})


# ---------------------------------------------------------------------------------------------
# The rows' texts
# ---------------------------------------------------------------------------------------------

MINE = {"matmul", "dot", "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "sum", "mean", "reduce_max",
        "reduce_min", "prod", "variance", "std", "norm", "logsumexp", "cumsum", "trace", "diag", "argmax",
        "argmin", "softmax", "log_softmax", "cross_entropy", "softmax_cross_entropy", "nll", "mse",
        "binary_cross_entropy", "one_hot"}


def test_every_tensor_row_has_one_rule_per_input_or_no_gradient():
    assert MINE <= TENSOR_OPS
    for name in sorted(MINE):
        op = OPS[name]
        if op.differentiable:
            assert len(op.rule) == op.arity and all(op.rule), name
        else:
            assert op.rule == () and op.convention, name
        if op.kink is not None:
            assert op.convention, name
        for text in op.rule:   # cgraph syntax over g, a, b, out and the rule words
            assert text.count("(") == text.count(")"), (name, text)


def test_the_reductions_take_keepdims_and_numpys_keyword_order():
    from cgraph_cli.ops import KEYWORDS

    for name in ("sum", "mean", "reduce_max", "reduce_min", "prod", "variance", "std", "norm", "logsumexp",
                 "argmax", "argmin"):
        assert {"axis", "keepdims"} <= KEYWORDS[name], name
        assert OPS[name].params[-1] == "keepdims"
    assert OPS["norm"].params == ("ord", "axis", "keepdims")        # np.linalg.norm(x, ord, axis, keepdims)
    assert OPS["variance"].params == ("axis", "ddof", "keepdims")   # np.var(a, axis, dtype, out, ddof, keepdims)
    assert OPS["one_hot"].params == ("num_classes",) and OPS["reshape"].params == ("shape",)


# ---------------------------------------------------------------------------------------------
# Through the command line, with the syntax that parses today
# ---------------------------------------------------------------------------------------------

def test_cli_class_indices_with_const_labels():
    result = run_cgraph("eval", "softmax_cross_entropy(a, t)", "--a", "[[1, 2, 3], [1, 2, 3]]", "--t", "[2, 0]",
                        "--const", "t", "--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert document["value"] == pytest.approx((0.4076059644443804 + 2.4076059644443806) / 2, rel=1e-12)
    close(document["gradients"]["a"], [(p - [0, 0, 1]) / 2, (p - [1, 0, 0]) / 2])
    assert "t" not in document["gradients"]


def test_cli_a_bad_class_index_is_one_message_and_exit_3():
    result = run_cgraph("eval", "softmax_cross_entropy(a, t)", "--a", "[[1, 2, 3]]", "--t", "[1.5]", "--const", "t")
    assert result.code == 3 and result.out == ""
    assert result.err.startswith("cgraph: evaluation error: class index 1.5 (t[0]) is not an integer from 0 to 2 "
                                 "in softmax_cross_entropy(a, t)")
    assert "Traceback" not in result.err


def test_cli_keepdims_and_the_selection_under_an_infinite_upstream():
    result = run_cgraph("eval", "sum(x - max(x, axis=1, keepdims=1))", "--x", "[[1, 5], [7, 2]]", "--format", "json")
    assert result.code == 0, result.err
    close(result.json()["gradients"]["x"], [[1.0, -1.0], [-1.0, 1.0]])
    result = run_cgraph("grad", "sqrt(max(x) - 5)", "--x", "[1, 5, 2]", "--wrt", "x")
    assert result.code == 0, result.err
    assert result.lines() == {"x[0]": 0.0, "x[1]": math.inf, "x[2]": 0.0}


def test_cli_norm_at_zero_is_flagged():
    result = run_cgraph("eval", "norm(x)", "--x", "[0, 0]", "--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["gradients"]["x"] == [0.0, 0.0]
    assert [n["kink"] for n in document["nodes"] if n["op"] == "norm"] == ["norm at 0: gradient 0 used"]


def test_cli_argmax_has_no_gradient_and_gradcheck_passes_through_the_new_rows():
    result = run_cgraph("eval", "argmax(x) * sum(x)", "--x", "[1, 5, 2]", "--format", "json")
    assert result.code == 0, result.err
    assert result.json()["value"] == 8.0
    assert result.json()["gradients"]["x"] == [1.0, 1.0, 1.0]
    result = run_cgraph("gradcheck", "logsumexp(x) + std(x, ddof=1) + norm(x) + prod(x) + var(cumsum(x))",
                        "--x", "[0.5, -1.25, 2]")
    assert result.code == 0, result.out + result.err


@pytest.mark.parametrize("name", sorted(MINE - {"matmul"}))
@pytest.mark.parametrize("value", ["[[0.5, 0.25], [0.125, 0.5]]", "[0.5, 0.25]", "0.5", "[[]]"], ids=str)
def test_every_tensor_function_without_keywords_gives_a_value_or_one_message(name, value):
    """Bound, and sliced empty ([[]][:, 0:0]): a value, or one error line with exit 3, never exit 70."""
    function = {"reduce_max": "max", "reduce_min": "min", "variance": "var"}.get(name, name)
    x = "x[:, 0:0]" if value == "[[]]" else "x"
    call = f"{function}({x}, {x})" if OPS[name].arity == 2 else f"{function}({x})"
    result = run_cgraph("eval", call, "--x", "[[1, 2]]" if value == "[[]]" else value, "--format", "json")
    assert result.code in (0, 3), result.err
    if result.code == 3:
        assert result.out == "" and result.err.startswith("cgraph: evaluation error: ")
        assert len([line for line in result.err.splitlines() if line.startswith("cgraph")]) == 1
