"""Tensors through the command line: bindings, files, shapes in every format, seeds, errors.

Runs `cgraph` in-process with click's CliRunner (the console script's error handling included),
and a few real subprocesses for what only a fresh interpreter shows (what gets imported)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import Result, runner

WIDE = {"COLUMNS": "250"}   # rich wraps to the terminal: wide enough that notes stay on one line


cgraph = runner(WIDE)


def ok(*args):
    result = cgraph(*args)
    assert result.code == 0, result.err
    return result


def text(array) -> str:
    """A tensor as a command-line binding, every digit kept."""
    return json.dumps(np.asarray(array, dtype=float).tolist())


def close(got, expected, tol=1e-12):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def element_lines(name, array) -> dict:
    """What plain / grad print for a tensor, computed here: {"NAME[i,j]": value}."""
    array = np.asarray(array, dtype=float)
    return {f"{name}[{','.join(map(str, index))}]": float(array[index]) for index in np.ndindex(array.shape)}


def node(document, op=None, name=None):
    matches = [n for n in document["nodes"] if (op is None or n["op"] == op) and
               (name is None or n["name"] == name)]
    assert len(matches) == 1, matches
    return matches[0]


RNG = np.random.default_rng(7)
X = RNG.normal(size=(2, 3)).round(3)     # N×D
W = RNG.normal(size=(3, 4)).round(3)     # D×H


# ---------------------------------------------------------------------------------------------
# The layers of the course material, with NumPy by hand
# ---------------------------------------------------------------------------------------------

def test_matmul_layer():
    document = ok("eval", "sum(X @ W)", "--X", text(X), "--W", text(W), "--format", "json").json()
    G = np.ones((2, 4))
    close(document["gradients"]["X"], G @ W.T)
    close(document["gradients"]["W"], X.T @ G)
    assert node(document, name="X")["shape"] == [2, 3]
    assert node(document, name="W")["shape"] == [3, 4]
    matmul = node(document, op="matmul")
    assert matmul["shape"] == [2, 4] and matmul["text"] == "X @ W"
    close(matmul["value"], X @ W)
    close(matmul["grad"], G)
    assert document["value"] == pytest.approx(float(np.sum(X @ W)), rel=1e-12)
    assert "shape" not in node(document, op="sum") and "seed" not in document


AFFINE = dict(b=np.array([0.1, -0.2, 0.3, 0.5]), C=np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 2.0, 0.0]]))


def affine(*extra):
    return cgraph("eval", "sum((X @ W + b) * C)", "--X", text(X), "--W", text(W),
                  "--b", text(AFFINE["b"]), "--C", text(AFFINE["C"]), *extra)


def test_affine_layer_on_a_batch_json():
    result = affine("--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    b, C = AFFINE["b"], AFFINE["C"]
    close(document["gradients"]["b"], C.sum(axis=0))            # column sums of C
    close(document["gradients"]["W"], X.T @ C)
    close(document["gradients"]["X"], C @ W.T)
    close(document["gradients"]["C"], X @ W + b)
    add = node(document, op="add")
    assert add["reduced"] == [{"input": node(document, name="b")["id"], "axes": [0]}]
    assert [n["id"] for n in document["nodes"] if "reduced" in n] == [add["id"]]


@pytest.mark.parametrize("output_format", ["tree", "table"])
def test_affine_layer_says_the_bias_gradient_was_summed_over_axis_0(output_format):
    result = affine("--format", output_format)
    assert result.code == 0, result.err
    assert "gradient to b summed over axis 0 (broadcast)" in result.out
    assert result.out.count("summed over") == 1
    assert "(2, 4)" in result.out and "(4,)" in result.out     # the shapes are shown


def test_softmax_with_loss_one_row_is_y_minus_t():
    a, t = np.array([0.3, 2.9, 4.0]), np.array([0.0, 0.0, 1.0])
    y = np.exp(a) / np.exp(a).sum()
    lines = ok("grad", "softmax_cross_entropy(a, t)", "--a", "[0.3, 2.9, 4.0]", "--t", "[0, 0, 1]",
               "--wrt", "a").lines()
    assert lines.keys() == {"a[0]", "a[1]", "a[2]"}
    close([lines["a[0]"], lines["a[1]"], lines["a[2]"]], y - t)


def test_softmax_with_loss_on_a_batch_json():
    A = np.array([[0.3, 2.9, 4.0], [2.0, 1.0, -1.0]])
    T = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    Y = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
    document = ok("eval", "softmax_cross_entropy(A, T)", "--A", text(A), "--T", text(T),
                  "--format", "json").json()
    close(document["gradients"]["A"], (Y - T) / 2)
    assert document["value"] == pytest.approx(-np.sum(T * np.log(Y)) / 2, rel=1e-12)


@pytest.mark.parametrize("a, t", [
    ("[0.3, 2.9, 4.0]", "[0, 0, 1]"),
    ("[[0.3, 2.9, 4.0], [2, 1, -1], [0, 0, 0]]", "[[0, 0, 1], [0, 1, 0], [0.25, 0.25, 0.5]]"),
])
def test_cross_entropy_of_softmax_matches_the_fused_node(a, t):
    separate = ok("eval", "cross_entropy(softmax(a), t)", "--a", a, "--t", t, "--format", "json").json()
    fused = ok("eval", "softmax_cross_entropy(a, t)", "--a", a, "--t", t, "--format", "json").json()
    close(separate["gradients"]["a"], fused["gradients"]["a"], tol=1e-12)
    assert separate["value"] == pytest.approx(fused["value"], rel=1e-12)


def test_relu_mask_and_its_kink():
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -0.5, 0.0]])
    r = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    document = ok("eval", "sum(relu(x) * r)", "--x", text(x), "--r", text(r), "--format", "json").json()
    close(document["gradients"]["x"], np.where(x > 0, r, 0.0))
    assert node(document, op="relu")["kink"] == "relu at 0 in 2 of 6 elements: gradient 0 used"
    tree = ok("eval", "sum(relu(x) * r)", "--x", text(x), "--r", text(r)).out
    assert "⚠ relu at 0 in 2 of 6 elements: gradient 0 used" in tree


def test_sigmoid_gradient_elementwise():
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    y = 1 / (1 + np.exp(-x))
    lines = ok("eval", "sum(sigmoid(x))", "--x", text(x), "--format", "plain").lines()
    close([lines[f"x[{i}]"] for i in range(4)], y * (1 - y))
    assert lines["value"] == pytest.approx(float(y.sum()), rel=1e-12)


def test_the_neuron_with_vectors():
    args = ("sigmoid(dot(w, [x0, x1, 1]))", "--w", "[2,-3,-3]", "--x0", "-1", "--x1", "-2")
    lines = ok("eval", *args, "--format", "plain").lines()
    assert lines["value"] == pytest.approx(0.7310585786, abs=1e-10)
    assert round(lines["x0"], 4) == 0.3932 and round(lines["x1"], 4) == -0.5898
    assert [round(lines[f"w[{i}]"], 4) for i in range(3)] == [-0.1966, -0.3932, 0.1966]
    slope = 0.7310585786300049 * (1 - 0.7310585786300049)
    close([lines["w[0]"], lines["w[1]"], lines["w[2]"]], slope * np.array([-1.0, -2.0, 1.0]))
    assert ok("grad", *args, "--wrt", "x0").out == f"{2 * slope!r}\n"


def test_the_repeat_node():
    assert ok("grad", "sum(x * [1, 1, 1])", "--x", "2", "--wrt", "x").out == "3\n"
    document = ok("eval", "sum(x * [1, 1, 1])", "--x", "2", "--format", "json").json()
    assert document["gradients"] == {"x": 3.0}
    assert node(document, op="mul")["reduced"] == [{"input": node(document, name="x")["id"], "axes": [0]}]


# ---------------------------------------------------------------------------------------------
# Indexing, reductions, broadcasting
# ---------------------------------------------------------------------------------------------

M = np.arange(12.0).reshape(3, 4) / 4 - 1


@pytest.mark.parametrize("source, index", [
    ("X[:, 1]", (slice(None), 1)),
    ("X[1:3]", slice(1, 3)),
    ("X[0]", 0),
    ("X[::-1, 2]", (slice(None, None, -1), 2)),
])
def test_an_index_scatters_the_gradient_back(source, index):
    R = RNG.normal(size=M[index].shape).round(3)
    lines = ok("grad", f"sum({source} * R)", "--X", text(M), "--R", text(R), "--wrt", "X").lines()
    expected = np.zeros_like(M)
    expected[index] = R
    assert lines == pytest.approx(element_lines("X", expected), rel=1e-12, abs=1e-15)


def test_a_reversed_vector_and_its_first_element():
    lines = ok("grad", "sum(x[::-1] * [1, 2, 3]) + x[0]", "--x", "[5, 6, 7]", "--wrt", "x").lines()
    assert lines == {"x[0]": 4.0, "x[1]": 2.0, "x[2]": 1.0}


def test_an_index_in_json_keeps_its_source_text():
    document = ok("eval", "sum(X[:, 1])", "--X", text(M), "--format", "json").json()
    index = node(document, op="index")
    assert index["attrs"] == {"key": "[:, 1]"} and index["shape"] == [3]
    close(index["value"], M[:, 1])


def test_transpose_and_mean():
    R = RNG.normal(size=(4, 3)).round(3)
    document = ok("eval", "mean(transpose(X) * R)", "--X", text(M), "--R", text(R),
                  "--format", "json").json()
    close(document["gradients"]["X"], R.T / 12)
    assert document["value"] == pytest.approx(float(np.mean(M.T * R)), rel=1e-12)


@pytest.mark.parametrize("function", ["sum", "mean", "max", "softmax"])
@pytest.mark.parametrize("axis", [0, 1])
def test_an_axis_keyword(function, axis):
    numpy_function = {"sum": np.sum, "mean": np.mean, "max": np.max,
                      "softmax": lambda a, axis: np.exp(a) / np.exp(a).sum(axis=axis, keepdims=True)}
    reduced = numpy_function[function](M, axis=axis)
    document = ok("eval", f"{function}(X, axis={axis})", "--X", text(M), "--format", "json").json()
    op = {"max": "reduce_max"}.get(function, function)
    close(node(document, op=op)["value"], reduced)
    assert node(document, op=op)["attrs"] == {"axis": axis}
    ones = np.ones(M.shape)
    expected = {"sum": ones, "mean": ones / M.shape[axis],
                "max": (M == np.max(M, axis=axis, keepdims=True)).astype(float),
                "softmax": np.zeros(M.shape)}[function]       # softmax: sum(softmax) is constant
    close(document["gradients"]["X"], expected, tol=1e-12)
    assert document["seed"] == (np.ones(reduced.shape).tolist())


def test_max_with_ties_splits_the_gradient_and_says_so():
    args = ("eval", "max(x)", "--x", "[1, 4, 4, 2, 4]")
    document = ok(*args, "--format", "json").json()
    close(document["gradients"]["x"], [0.0, 1 / 3, 1 / 3, 0.0, 1 / 3])
    assert node(document, op="reduce_max")["kink"] == "max tie in 3 of 5 elements: gradient split evenly"
    assert "max tie in 3 of 5 elements: gradient split evenly" in ok(*args, "--format", "table").out


def test_log_softmax():
    a = np.array([[0.3, 2.9, 4.0], [2.0, 1.0, -1.0]])
    R = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]])
    Y = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    document = ok("eval", "sum(log_softmax(a) * R)", "--a", text(a), "--R", text(R),
                  "--format", "json").json()
    close(node(document, op="log_softmax")["value"], np.log(Y))
    close(document["gradients"]["a"], R - Y * R.sum(axis=1, keepdims=True))


def test_dot_of_vectors_and_of_matrices():
    lines = ok("grad", "dot(a, b)", "--a", "[1, 2, 3]", "--b", "[4, 5, 6]").lines()
    assert lines == {"a[0]": 4.0, "a[1]": 5.0, "a[2]": 6.0, "b[0]": 1.0, "b[1]": 2.0, "b[2]": 3.0}
    document = ok("eval", "sum(dot(X, W))", "--X", text(X), "--W", text(W), "--format", "json").json()
    close(document["gradients"]["X"], np.ones((2, 4)) @ W.T)
    close(document["gradients"]["W"], X.T @ np.ones((2, 4)))


def test_broadcasting_a_scalar_and_a_row_vector():
    document = ok("eval", "sum((X + r) * s)", "--X", text(M), "--r", "[1, 2, 3, 4]", "--s", "2",
                  "--format", "json").json()
    assert document["gradients"]["s"] == pytest.approx(float(np.sum(M + [1, 2, 3, 4])), rel=1e-12)
    close(document["gradients"]["r"], [6.0, 6.0, 6.0, 6.0])      # 3 rows × s
    close(document["gradients"]["X"], np.full((3, 4), 2.0))
    assert node(document, op="add")["reduced"] == [{"input": node(document, name="r")["id"], "axes": [0]}]
    assert node(document, op="mul")["reduced"] == [{"input": node(document, name="s")["id"],
                                                    "axes": [0, 1]}]
    table = ok("eval", "sum((X + r) * s)", "--X", text(M), "--r", "[1, 2, 3, 4]", "--s", "2",
               "--format", "table").out
    assert "gradient to r summed over axis 0" in table and "gradient to s summed over axes 0, 1" in table


# ---------------------------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------------------------

def test_json_nested_lists_and_shapes_and_the_ones_seed():
    document = ok("eval", "X @ W", "--X", text(X), "--W", text(W), "--format", "json").json()
    close(document["value"], X @ W)
    assert isinstance(document["value"], list) and isinstance(document["value"][0], list)
    assert document["seed"] == np.ones((2, 4)).tolist()
    close(document["gradients"]["X"], np.ones((2, 4)) @ W.T)
    assert node(document, op="matmul")["shape"] == [2, 4]


@pytest.mark.parametrize("output_format", ["tree", "table"])
def test_human_formats_say_a_tensor_output_started_from_ones(output_format):
    out = ok("eval", "X * 2", "--X", "[[1, 2], [3, 4]]", "--format", output_format).out
    assert "The output has shape (2, 2), not a scalar" in out
    assert "ones unless --seed was given" in out


def test_plain_prints_one_line_per_element():
    out = ok("eval", "X @ W", "--X", "[[1, 2], [3, 4]]", "--W", "[[1, 0], [0, 2]]", "--format", "plain").out
    assert out.splitlines()[:4] == ["value[0,0] 1", "value[0,1] 4", "value[1,0] 3", "value[1,1] 8"]
    Xm, Wm = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 2.0]])
    G = np.ones((2, 2))
    expected = {**element_lines("value", Xm @ Wm), **element_lines("W", Xm.T @ G),
                **element_lines("X", G @ Wm.T)}
    assert Result(0, out, "").lines() == expected
    assert len(out.splitlines()) == 12


def test_grad_wrt_a_matrix_prints_element_lines():
    out = ok("grad", "sum(W * W * W)", "--W", "[[1, 2, 3], [4, 5, 6]]", "--wrt", "W").out
    W23 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert out == "".join(f"{label} {value:g}\n" for label, value in element_lines("W", 3 * W23**2).items())


def test_a_seed_gives_a_vector_jacobian_product():
    seed = np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 0.25, 0.0, -3.0]])
    document = ok("eval", "X @ W", "--X", text(X), "--W", text(W), "--seed", text(seed),
                  "--format", "json").json()
    assert document["seed"] == seed.tolist()
    close(document["gradients"]["X"], seed @ W.T)
    close(document["gradients"]["W"], X.T @ seed)
    lines = ok("grad", "tanh(v)", "--v", "[0.5, -1, 2]", "--seed", "[1, 2, 3]", "--wrt", "v").lines()
    v = np.array([0.5, -1.0, 2.0])
    close([lines[f"v[{i}]"] for i in range(3)], (1 - np.tanh(v) ** 2) * [1, 2, 3])


def test_a_seed_of_the_wrong_shape_is_exit_2():
    result = cgraph("eval", "x * 2", "--x", "[1, 2, 3]", "--seed", "[1, 0]", "--format", "json")
    assert result.code == 2 and result.out == ""
    assert "--seed has shape (2,) but the output has shape (3,)" in result.err


def test_full_prints_every_element_where_the_default_elides():
    x = text(np.arange(20.0) + 100)
    for output_format in ("tree", "table"):
        default = ok("eval", "x * 2", "--x", x, "--format", output_format).out
        full = ok("eval", "x * 2", "--x", x, "--format", output_format, "--full").out
        assert "..." in default and "110" not in default and "238" in default
        assert "..." not in full
        assert all(str(100 + i) in full for i in range(20))        # every element of x
        assert all(str(2 * (100 + i)) in full for i in range(20))  # and of the output


# ---------------------------------------------------------------------------------------------
# Bindings from files and --vars
# ---------------------------------------------------------------------------------------------

def test_a_matrix_from_npy_json_and_csv(tmp_path):
    W23 = np.array([[1.5, -2.0, 3.0], [0.25, 5.0, -6.0]])
    np.save(tmp_path / "w.npy", W23)
    (tmp_path / "w.json").write_text(json.dumps(W23.tolist()))
    (tmp_path / "w.csv").write_text("1.5,-2,3\n0.25,5,-6\n")
    (tmp_path / "header.csv").write_text("a,b,c\n1.5,-2,3\n0.25,5,-6\n")
    for file in ("w.npy", "w.json", "w.csv", "header.csv"):
        document = ok("eval", "sum(W * W)", "--W", f"@{tmp_path / file}", "--format", "json").json()
        close(node(document, name="W")["value"], W23)
        close(document["gradients"]["W"], 2 * W23)


def test_csv_columns_by_name_and_one_column_as_a_vector(tmp_path):
    (tmp_path / "data.csv").write_text("x1,x2,y\n1,2,3\n4,5,6\n7,8,9\n")
    (tmp_path / "one.csv").write_text("3\n-1\n2\n")
    document = ok("eval", "sum(D)", "--D", f"@{tmp_path / 'data.csv'}:x1,y", "--format", "json").json()
    assert node(document, name="D")["value"] == [[1.0, 3.0], [4.0, 6.0], [7.0, 9.0]]
    document = ok("eval", "sum(D)", "--D", f"@{tmp_path / 'data.csv'}:x2", "--format", "json").json()
    assert node(document, name="D")["value"] == [2.0, 5.0, 8.0] and node(document, name="D")["shape"] == [3]
    document = ok("eval", "dot(v, v)", "--v", f"@{tmp_path / 'one.csv'}", "--format", "json").json()
    assert node(document, name="v")["shape"] == [3] and document["value"] == 14.0
    close(document["gradients"]["v"], [6.0, -2.0, 4.0])


def test_vars_file_with_nested_lists_and_v_option(tmp_path):
    (tmp_path / "vars.json").write_text(json.dumps({"X": [[1, 2], [3, 4]], "s": 2}))
    lines = ok("grad", "sum(X @ W) * s", "--vars", tmp_path / "vars.json", "-v", "W=[[1, 0], [0, 1]]").lines()
    Xv, Wv, G = np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2), np.ones((2, 2))
    assert lines == {**element_lines("W", 2 * Xv.T @ G), **element_lines("X", 2 * G @ Wv.T),
                     "s": float(np.sum(Xv @ Wv))}


@pytest.mark.parametrize("binding, message", [
    ("@{tmp}/missing.npy", "cannot read"),
    ("@{tmp}/w.txt", "@FILE must end in .npy, .json or .csv"),
    ("@{tmp}/bad.json", "cannot read"),
    ("@{tmp}/ragged.csv", "rows have different numbers of columns"),
    ("@{tmp}/plain.csv:x1", "no header line"),
    ("@{tmp}/header.csv:nope", "has no column nope"),
    ("@{tmp}/text.npy", "not numbers"),
])
def test_a_bad_file_is_exit_2(tmp_path, binding, message):
    (tmp_path / "w.txt").write_text("1 2 3\n")
    (tmp_path / "bad.json").write_text("[[1, 2], oops")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "plain.csv").write_text("1,2\n3,4\n")
    (tmp_path / "header.csv").write_text("a,b\n1,2\n")
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    result = cgraph("eval", "sum(W)", "--W", binding.format(tmp=tmp_path), "--format", "json")
    assert (result.code, result.out) == (2, ""), result.err
    assert result.err.startswith("cgraph: binding error: --W") and message in result.err
    assert "Traceback" not in result.err and len(result.err.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# Errors: one message on stderr, nothing on stdout, the documented exit code
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, code, first_line", [
    (("X @ W", "--X", "[[1,2,3],[4,5,6]]", "--W", "[[1,2],[3,4]]"), 3,
     "cgraph: evaluation error: shape mismatch in X @ W: (2, 3) @ (2, 2) at line 1, column 1:"),
    (("sum([[1,2],[3]])",), 2,
     "cgraph: parse error: ragged tensor literal: element 1 has shape (2,) but element 2 has shape (1,), "
     "at line 1, column 12:"),
    (("sum([x, y])", "--x", "[1, 2]", "--y", "3"), 3,
     "cgraph: evaluation error: ragged tensor: its elements have shapes (2,), () in [x, y] "
     "at line 1, column 5:"),
    (("sum(W)", "--W", "[[1,2],[3]]"), 2,
     "cgraph: binding error: --W: ragged tensor: the lists at depth 2 differ in length or mix numbers "
     "and lists"),
    (("x[5]", "--x", "[1, 2]"), 3,
     "cgraph: evaluation error: index 5 is out of bounds for axis 0 with size 2 in x[5] (shape (2,)) "
     "at line 1, column 1:"),
    (("X[0, 0, 0]", "--X", "[[1, 2]]"), 3, "cgraph: evaluation error: too many indices"),
    (("sum(x, axes=0)", "--x", "[1, 2]"), 2,
     "cgraph: parse error: sum() has no keyword 'axes' (it takes: axis, keepdims), at line 1, column 8:"),
    (("sum(x, axis=2)", "--x", "[1, 2]"), 3, "cgraph: evaluation error: "),
    (("sum(W)", "--W", "[1, 2"), 2, "cgraph: binding error: --W: not a tensor literal"),
    (("sum(W)", "--W", "[]"), 2, "cgraph: binding error: --W: empty tensors are not supported"),
    (("sum(W)", "--W", '[1, "a"]'), 2, "cgraph: binding error: --W: tensor elements must be numbers"),
])
def test_errors(args, code, first_line):
    result = cgraph("eval", *args, "--format", "json")
    assert result.code == code, result.err
    assert result.out == ""
    assert result.err.startswith(first_line), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


@pytest.mark.parametrize("args", [("x @ y", "--x", "2", "--y", "3"), ("2 @ 3",)])
def test_matmul_of_scalars_is_exit_3_not_an_internal_error(args):
    result = cgraph("eval", *args)
    assert (result.code, result.out) == (3, ""), result.err
    assert result.err.startswith("cgraph: evaluation error: ") and "matmul needs arrays" in result.err


@pytest.mark.parametrize("args", [("sum(x, axis=0)", "--x", "3"), ("max(x, axis=0)", "--x", "3")])
def test_an_axis_of_a_scalar_is_not_an_internal_error(args):
    result = cgraph("eval", *args, "--format", "plain")
    assert result.code in (0, 3), result.err
    assert result.out in ("", "value 3\nx 1\n")


@pytest.mark.parametrize("source, value", [("dot(x, y)", "6"), ("softmax(x)", "1"), ("log_softmax(x)", "0"),
                                           ("transpose(x)", "2")])
def test_plain_prints_a_number_for_a_scalar_tensor_op(source, value):
    out = ok("eval", source, "--x", "2", "--y", "3", "--format", "plain").out
    assert out.splitlines()[0] == f"value {value}"


def test_the_ragged_literal_error_shows_where():
    result = cgraph("eval", "[[1,2],[3]]")
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines()[1:] == ["  [[1,2],[3]]", "         ^~~"]


def test_a_shape_mismatch_shows_the_node():
    result = cgraph("grad", "sum(relu(X @ W + b))", "--X", "[[1,2,3],[4,5,6]]", "--W", "[[1,2],[3,4]]",
                    "--b", "[1, 2]")
    assert result.code == 3 and result.out == ""
    assert result.err.splitlines() == [
        "cgraph: evaluation error: shape mismatch in X @ W: (2, 3) @ (2, 2) at line 1, column 10:",
        "  sum(relu(X @ W + b))",
        "           ^~~~~"]


# ---------------------------------------------------------------------------------------------
# Real processes: exit codes, and NumPy stays out of scalar runs
# ---------------------------------------------------------------------------------------------

def python(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_a_shape_mismatch_in_a_real_process():
    done = python("-m", "cgraph_cli", "eval", "X @ W", "--X", "[[1,2,3],[4,5,6]]", "--W", "[[1,2],[3,4]]")
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.startswith("cgraph: evaluation error: shape mismatch in X @ W: (2, 3) @ (2, 2)")


def test_numpy_is_a_declared_dependency():
    """CI installs the project into a fresh virtualenv: NumPy must come with it (the issue: "NumPy
    becomes a required dependency, still imported only when a tensor appears")."""
    try:
        import tomllib
    except ModuleNotFoundError:   # Python 3.10: the tomli backport, a dependency there
        import tomli as tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    names = [requirement.split(">")[0].split("=")[0].split("<")[0].strip().lower()
             for requirement in project["dependencies"]]
    assert "numpy" in names, project["dependencies"]


def test_scalar_runs_do_not_import_numpy():
    done = python("-X", "importtime", "-m", "cgraph_cli", "eval", "x*y", "--x", "1", "--y", "2",
                  "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["value"] == 2.0
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    assert "cgraph_cli.engine" in imported          # the log is the one we think it is
    assert not [name for name in imported if name.split(".")[0] == "numpy"]
    tensor = python("-X", "importtime", "-m", "cgraph_cli", "eval", "sum(x)", "--x", "[1, 2]",
                    "--format", "json")
    assert tensor.returncode == 0 and "numpy" in tensor.stderr   # the check can see numpy


def test_scalar_formats_and_grad_do_not_import_numpy():
    program = (
        "import sys\n"
        "from cgraph_cli.cli import _run\n"
        "codes = [int(_run(['eval', '(x+y)*z', '--x', '1', '--y', '3', '--z', '-3', '--format', f], False))\n"
        "         for f in ('tree', 'table', 'json', 'plain')]\n"
        "codes.append(int(_run(['grad', 'max(x, y) + relu(x)', '--x', '1', '--y', '2'], False)))\n"
        "print(codes, 'numpy' in sys.modules, file=sys.stderr)\n")
    done = python("-c", program)
    assert done.stderr.strip().splitlines()[-1] == "[0, 0, 0, 0, 0] False"


@pytest.mark.parametrize("args", [("grad", "X*2"), ("eval", "X*2", "--format", "plain")])
def test_plain_lines_of_a_tensor_output_say_on_stderr_that_the_seed_was_ones(args):
    result = cgraph(*args, "--X", "[1, 2]")
    assert result.code == 0
    assert "X[0] 2\nX[1] 2\n" in result.out
    assert "not a scalar: the gradients are those of sum(output)" in result.err


def test_no_seed_note_when_the_seed_is_given():
    result = cgraph("grad", "X*2", "--X", "[1, 2]", "--seed", "[1, 0]")
    assert (result.code, result.out, result.err) == (0, "X[0] 2\nX[1] 0\n", "")
