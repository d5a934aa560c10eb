"""`cgraph jacobian` (issue 13, section 3): the Jacobian of a tensor output with respect to each chosen
variable, by reverse mode (one backward pass per output element) or forward mode (one tangent pass per
variable element), whichever needs fewer passes. Every reference here is computed in the test with
NumPy formulas or central differences of a NumPy function, never by cgraph."""

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import run_cgraph
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.jacobians import choose, jacobian, pass_counts

RTOL, ATOL = 1e-9, 1e-12
MODES = ["reverse", "forward"]


def close(got, expected, rtol=RTOL, atol=ATOL):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def as_text(value) -> str:
    return json.dumps(np.asarray(value, dtype=float).tolist())


def run_json(*args):
    result = run_cgraph("jacobian", *args, "--format", "json")
    assert result.code == 0, result.err
    return result.json()


# ----- the examples of the issue -----

@pytest.mark.parametrize("mode", MODES)
def test_softmax_jacobian_is_diag_y_minus_y_y_transposed(mode):
    a = np.array([0.3, -1.2, 2.5])
    e = np.exp(a - a.max())
    y = e / e.sum()
    expected = np.diag(y) - np.outer(y, y)   # d y_i / d a_j = y_i (δ_ij - y_j)
    body = run_json("softmax(a)", "--a", as_text(a), "--mode", mode)
    assert list(body) == ["schema", "value", "jacobian", "mode", "passes"] and body["schema"] == 1
    close(body["value"], y)
    close(body["jacobian"]["a"], expected)
    assert body["mode"] == mode and body["passes"] == 3


@pytest.mark.parametrize("mode", MODES)
def test_matmul_jacobian_is_w_for_x_and_delta_times_x_for_w(mode):
    rng = np.random.default_rng(13)
    m, n = 2, 3
    W, x = rng.normal(size=(m, n)), rng.normal(size=n)
    body = run_json("W @ x", "--W", as_text(W), "--x", as_text(x), "--mode", mode)
    assert list(body["jacobian"]) == ["W", "x"]
    close(body["value"], W @ x)
    close(body["jacobian"]["x"], W)
    expected = np.zeros((m, m, n))
    for i in range(m):
        for j in range(m):
            for k in range(n):
                expected[i, j, k] = (i == j) * x[k]   # d (Wx)_i / d W_jk = δ_ij x_k
    close(body["jacobian"]["W"], expected)
    assert body["passes"] == (m if mode == "reverse" else m * n + n)


def test_auto_picks_the_mode_with_fewer_passes_and_a_tie_goes_to_reverse():
    rng = np.random.default_rng(1)
    wide, tall = rng.normal(size=(2, 5)), rng.normal(size=(5, 2))
    body = run_json("tanh(W @ x)", "--W", as_text(wide), "--x", as_text(np.ones(5)), "--wrt", "x")
    assert (body["mode"], body["passes"]) == ("reverse", 2)
    body = run_json("tanh(W @ x)", "--W", as_text(tall), "--x", as_text(np.ones(2)), "--wrt", "x")
    assert (body["mode"], body["passes"]) == ("forward", 2)
    body = run_json("softmax(a)", "--a", "[1, 2, 3]")
    assert (body["mode"], body["passes"]) == ("reverse", 3)
    assert pass_counts((4,), [(2,), (3, 1), ()]) == {"reverse": 4, "forward": 6}
    assert choose({"reverse": 4, "forward": 4}) == "reverse"
    assert choose({"reverse": 5, "forward": 4}) == "forward"
    assert choose({"reverse": 1, "forward": 4}, "forward") == "forward"


# ----- a random composite against central differences; both modes agree -----

SOURCE = "tanh(B @ a + c) * sum(a^2) + sin(B @ a) * c"


def composite(a, B, c):
    return np.tanh(B @ a + c) * np.sum(a ** 2) + np.sin(B @ a) * c


def central(function, point: dict, name: str, step=1e-6):
    """d function / d point[name], element by element: shape output.shape + point[name].shape."""
    value = np.asarray(point[name], dtype=float)
    columns = []
    for index in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[index] += step
        down[index] -= step
        columns.append((function(**dict(point, **{name: up})) - function(**dict(point, **{name: down})))
                       / (2 * step))
    output = np.asarray(function(**point))
    return np.moveaxis(np.array(columns), 0, -1).reshape(output.shape + value.shape)


def graph_of(source, bindings):
    return build(parse(source), source, frozenset(bindings))


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_a_random_composite_agrees_with_central_differences_in_both_modes(m, n, seed):
    rng = np.random.default_rng(seed)
    point = {"a": rng.uniform(-1.5, 1.5, size=n), "B": rng.uniform(-1, 1, size=(m, n)),
             "c": float(rng.uniform(-1, 1))}
    graph = graph_of(SOURCE, point)
    results = {mode: jacobian(graph, point, ["B", "a", "c"], mode) for mode in MODES}
    for name in ("B", "a", "c"):
        numeric = central(composite, point, name)
        for mode, result in results.items():
            assert result.mode == mode
            close(result.jacobians[name], numeric, rtol=1e-6, atol=1e-7)
        close(results["reverse"].jacobians[name], results["forward"].jacobians[name], rtol=1e-12, atol=1e-13)
    assert results["reverse"].passes == m and results["forward"].passes == m * n + n + 1


@pytest.mark.parametrize("source, point", [
    ("x * [1, 2, 3] + y^2", {"x": 0.5, "y": -2.0}),                        # scalar variables, vector output
    ("A.T @ A", {"A": [[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]]}),            # a matrix output
    ("cumsum(exp(v))", {"v": [0.1, -0.2, 0.3, 0.4]}),
    ("x", {"x": [1.0, 2.0]}),                                              # the output is the variable
    ("[1, 2] * 3 + 0 * x", {"x": 2.0}),                                    # an output that ignores x
])
def test_both_modes_agree_and_match_central_differences(source, point):
    point = {name: np.array(v) if isinstance(v, list) else v for name, v in point.items()}
    graph = graph_of(source, point)
    names = sorted(point)
    reverse, forward = (jacobian(graph, point, names, mode) for mode in MODES)
    for name in names:
        close(reverse.jacobians[name], forward.jacobians[name], rtol=1e-12, atol=1e-13)

    def function(**values):
        from cgraph_cli.engine import forward as run_forward
        from cgraph_cli.ops import array_table

        return np.asarray(run_forward(graph, values, array_table())[graph.output], dtype=float)

    for name in names:
        close(reverse.jacobians[name], central(function, point, name), rtol=1e-6, atol=1e-7)


def test_the_identity_and_an_ignored_variable_are_exact():
    body = run_json("x", "--x", "[1, 2, 3]", "--mode", "forward")
    assert body["jacobian"]["x"] == np.eye(3).tolist()
    body = run_json("[1, 2] * 3 + 0 * x", "--x", "2")
    assert body["jacobian"]["x"] == [0.0, 0.0]


# ----- a scalar output: the Jacobian is the gradient -----

@pytest.mark.parametrize("args", [
    ["x^2 * y + sin(y)", "--x", "1.5", "--y", "-0.5"],
    ["sum(W @ x) * k", "--W", "[[1, 2], [3, 4]]", "--x", "[0.5, -1]", "--k", "3"],
    ["softmax_cross_entropy(a, t)", "--a", "[0.3, 2.9, 4.0]", "--t", "[0, 0, 1]", "--const", "t"],
])
@pytest.mark.parametrize("mode", ["auto"] + MODES)
def test_a_scalar_output_gives_the_gradient(args, mode):
    body = run_json(*args, "--mode", mode)
    grads = run_cgraph("grad", *args, "--precision", "17")
    assert grads.code == 0, grads.err
    expected = {}
    for line in grads.out.splitlines():
        label, number = line.rsplit(" ", 1)
        name, _, index = label.partition("[")
        expected.setdefault(name, []).append(((tuple(map(int, index[:-1].split(","))) if index else ()),
                                              float(number)))
    assert set(body["jacobian"]) == set(expected)
    for name, entries in expected.items():
        got = np.asarray(body["jacobian"][name], dtype=float)
        for index, number in entries:
            assert got[index] == pytest.approx(number, rel=1e-12, abs=1e-15), (name, index)
    if mode == "auto":
        assert (body["mode"], body["passes"]) == ("reverse", 1)


def test_hand_derived_scalar_jacobian():
    x, y = 1.5, -0.5
    body = run_json("x^2 * y + sin(y)", "--x", str(x), "--y", str(y), "--mode", "forward")
    assert body["jacobian"]["x"] == pytest.approx(2 * x * y, rel=RTOL, abs=ATOL)
    assert body["jacobian"]["y"] == pytest.approx(x ** 2 + math.cos(y), rel=RTOL, abs=ATOL)
    assert (body["mode"], body["passes"]) == ("forward", 2)


def test_a_scalar_formula_imports_no_numpy():
    program = ("import sys\nfrom cgraph_cli.cli import _run\n"
               "code = int(_run(['jacobian', 'x*y', '--x', '2', '--y', '3', '--format', 'json'], False))\n"
               "print(code, 'numpy' in sys.modules, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "0 False"
    assert json.loads(done.stdout)["jacobian"] == {"x": 3.0, "y": 2.0}


@pytest.mark.parametrize("mode", MODES)
def test_exact_rationals_for_a_scalar_formula(mode):
    body = run_json("x*y + x/y", "--x", "1/3", "--y", "2", "--exact", "--mode", mode)
    assert body["value"] == "5/6"
    assert body["jacobian"] == {"x": "5/2", "y": "1/4"}   # y + 1/y, x - x/y^2
    result = run_cgraph("jacobian", "softmax(a)", "--a", "[1, 2]", "--exact")
    assert result.code == 2 and "scalar formulas" in result.err and len(result.err.splitlines()) == 1


# ----- formats -----

def test_plain_lines():
    result = run_cgraph("jacobian", "W @ x", "--W", "[[1, 2], [3, 4]]", "--x", "[5, 6]", "--wrt", "x",
                        "--format", "plain")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "mode reverse", "passes 2", "value[0] 17", "value[1] 39",
        "jacobian value[0] x[0] 1", "jacobian value[0] x[1] 2",
        "jacobian value[1] x[0] 3", "jacobian value[1] x[1] 4"]


def test_csv_one_row_per_output_element():
    W, x, b = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]]), np.array([5.0, 6.0]), np.array([0.25, 0.5])
    result = run_cgraph("jacobian", "W @ x + [1, 1, 1] * sum(b)", "--W", as_text(W), "--x", as_text(x),
                        "--b", as_text(b), "--wrt", "x", "--wrt", "b", "--format", "csv")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "index,value,d_x[0],d_x[1],d_b[0],d_b[1]"
    value = W @ x + b.sum()
    for i, line in enumerate(lines[1:]):
        fields = line.split(",")
        assert fields[0] == str(i)
        close([float(f) for f in fields[1:]], [value[i], *W[i], 1.0, 1.0])
    assert len(lines) == 4


@pytest.mark.parametrize("args", [
    ["A @ A", "--A", "[[1, 2], [3, 4]]"],                    # a matrix output
    ["W @ x", "--W", "[[1, 2], [3, 4]]", "--x", "[5, 6]"],   # a matrix variable (W)
    ["sum(x)", "--x", "[1, 2]"],                             # a scalar output
    ["x * [1, 2]", "--x", "3"],                              # a scalar variable
])
def test_csv_is_refused_unless_vector_output_and_vector_variables(args):
    result = run_cgraph("jacobian", *args, "--format", "csv")
    assert result.code == 2 and result.out == ""
    assert len(result.err.splitlines()) == 1 and "--format json" in result.err, result.err


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")


@pytest.mark.parametrize("columns", ["60", "80", "120", None])
@pytest.mark.parametrize("args", [
    ["softmax(a)", "--a", "[0.3, -1.2, 2.5]"],
    ["tanh(W @ x) * k", "--W", "[[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]", "--x", "[1.5, -2.5, 0.7]", "--k", "3"],
    ["x^2 * y + sin(y)", "--x", "1.5", "--y", "-0.5"],
])
def test_every_number_of_the_table_appears_unbroken_at_every_width(args, columns):
    body = run_json(*args)
    result = run_cgraph("jacobian", *args, env={"COLUMNS": columns})
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert max(map(len, lines)) <= int(columns or 80), result.out
    found = set(NUMBER.findall(result.out))
    expected = {"%.12g" % v for j in body["jacobian"].values() for v in np.ravel(j)}
    expected |= {"%.12g" % v for v in np.ravel(body["value"])}
    expected = {"0" if text == "-0" else text for text in expected}
    assert expected <= found, (expected - found, result.out)
    assert f"{body['mode']} mode: {body['passes']} " in " ".join(lines)


def test_a_small_jacobian_prints_whole_and_a_large_one_elides_unless_full():
    small = run_cgraph("jacobian", "x * 2", "--x", as_text(np.arange(6.0)), env={"COLUMNS": "200"})
    assert small.code == 0 and "…" not in small.out and "x[5]" in small.out and "value[5]" in small.out
    large = run_cgraph("jacobian", "x * 2", "--x", as_text(np.arange(7.0)), env={"COLUMNS": "200"})
    assert large.code == 0 and "…" in large.out
    assert "x[2]" in large.out and "x[4]" in large.out and "x[3]" not in large.out
    assert "value[2]" in large.out and "value[3]" not in large.out
    full = run_cgraph("jacobian", "x * 2", "--x", as_text(np.arange(7.0)), "--full", env={"COLUMNS": "200"})
    assert full.code == 0 and "…" not in full.out and "x[3]" in full.out and "value[3]" in full.out


def test_the_table_says_the_mode_and_the_passes():
    out = run_cgraph("jacobian", "tanh(W @ x)", "--W", as_text(np.ones((3, 2))), "--x", "[1, 2]",
                     "--wrt", "x").out
    assert "forward mode: 2 tangent passes, one per variable element (reverse mode: 3)" in out
    out = run_cgraph("jacobian", "x*y", "--x", "2", "--y", "3").out
    assert "reverse mode: 1 backward pass" in out and "d value / d x, y" in out


# ----- errors: one line, exit 2 -----

@pytest.mark.parametrize("args, words", [
    (["softmax(a)", "--a", "[1, 2]", "--wrt", "b"], ["--wrt b", "no variable b", "it has: a"]),
    (["W @ x", "--W", "[[1]]", "--x", "[2]", "--wrt", "xx"], ["--wrt xx", "did you mean x?"]),
    (["q = W @ x; q * 2", "--W", "[[1]]", "--x", "[2]", "--wrt", "q"], ["q is an assigned name"]),
    (["a * t", "--a", "[1, 2]", "--t", "[3, 4]", "--const", "t", "--wrt", "t"], ["t is data (--const t)"]),
    (["a * t", "--a", "[1, 2]", "--t", "[3, 4]", "--const", "t", "--const", "a"],
     ["no variable to differentiate", "--const a, --const t"]),
    (["[1, 2] * 3"], ["no variable to differentiate"]),
    (["softmax(a)", "--a", "[1, 2]", "--mode", "sideways"], ["--mode"]),
])
def test_errors_are_one_line_and_exit_2(args, words):
    result = run_cgraph("jacobian", *args)
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.out == ""
    first = result.err.splitlines()[0]
    assert "Traceback" not in result.err and result.err.startswith("cgraph: ")
    for word in words:
        assert word in first, (word, result.err)
    if "--mode" not in words:
        assert len(result.err.splitlines()) == 1, result.err


def test_an_evaluation_error_is_exit_3():
    result = run_cgraph("jacobian", "log(x)", "--x", "[1, -1]")
    assert result.code == 3 and len(result.err.splitlines()) >= 1 and "Traceback" not in result.err


def test_a_too_large_jacobian_is_refused_before_any_pass():
    from cgraph_cli.errors import EvalError

    point = {"W": np.zeros((400, 300)), "x": np.zeros(300)}
    with pytest.raises(EvalError, match="would have"):
        jacobian(graph_of("W @ x", point), point, ["W", "x"])


def test_a_non_finite_local_derivative_is_named_on_stderr():
    result = run_cgraph("jacobian", "sqrt(x)", "--x", "[0, 4]", "--format", "json")
    assert result.code == 0
    jac = result.json()["jacobian"]["x"]
    assert jac[0][0] == "inf" and jac[1][1] == pytest.approx(0.25, rel=RTOL)   # 1 / (2 sqrt(4))
    assert "warning: gradient of sqrt(x)" in result.err and "not finite" in result.err
    clean = run_cgraph("jacobian", "sqrt(x)", "--x", "[1, 4]", "--format", "json")
    assert clean.code == 0 and clean.err == ""


def test_exact_auto_says_where_it_left_the_rationals():
    result = run_cgraph("jacobian", "exp(x)*y", "--x", "1", "--y", "2", "--exact-auto", "--format", "json")
    assert result.code == 0 and "not rational" in result.err
    body = result.json()
    assert body["jacobian"]["x"] == pytest.approx(2 * math.e, rel=RTOL)
    assert body["jacobian"]["y"] == pytest.approx(math.e, rel=RTOL)
    strict = run_cgraph("jacobian", "exp(x)*y", "--x", "1", "--y", "2", "--exact")
    assert strict.code == 3 and "Traceback" not in strict.err


def test_the_examples_of_the_help_run():
    import shlex

    from cgraph_cli.commands.jacobian import command

    examples = [line.strip() for line in command.help.splitlines() if line.strip().startswith("cgraph jacobian")]
    assert len(examples) == 3
    for example in examples:
        words = shlex.split(example)[1:]
        if any(word.startswith("@") for word in words):   # a file of weights: bound inline here instead
            words = [json.dumps(np.eye(2).tolist()) if word.startswith("@") else word for word in words]
        result = run_cgraph(*words)
        assert result.code == 0, (example, result.err)
