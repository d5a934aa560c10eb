"""eval --each-line (one expression per line) and eval --points (one point per CSV row)."""

import json
import math
import random
import subprocess
import sys

import pytest

from cli_run import cgraph

POINT = ["--x", 0.7, "--y", -1.3]


def jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


# ----------------------------------------------------------------------------- --each-line

def test_each_line_gives_one_object_per_expression_in_order():
    source = "(x+y)^2\n\n# a comment\n   \nsin(x)*y\n  x - y  # trailing comment\n"
    result = cgraph("eval", "--each-line", *POINT, input=source)
    assert result.code == 0, result.err
    objects = jsonl(result.out)
    assert [o["line"] for o in objects] == [1, 5, 6]
    assert objects[0] == {"schema": 1, "line": 1, "value": (0.7 - 1.3) ** 2,
                          "gradients": {"x": 2 * (0.7 - 1.3), "y": 2 * (0.7 - 1.3)}}
    assert objects[1]["value"] == math.sin(0.7) * -1.3
    assert objects[1]["gradients"] == {"x": math.cos(0.7) * -1.3, "y": math.sin(0.7)}
    assert objects[2]["value"] == 0.7 + 1.3


def test_a_failing_line_reports_its_error_and_the_others_still_run():
    source = "x+y\nx *\nlog(x - 1)\nx*y\nx + z\n"
    result = cgraph("eval", "--each-line", *POINT, "--format", "jsonl", input=source)
    assert result.code == 3                               # the highest code met
    objects = jsonl(result.out)
    assert [o["line"] for o in objects] == [1, 2, 3, 4, 5]
    assert objects[1]["exit_code"] == 2 and objects[1]["error"].startswith("parse error")
    assert "line 2, column" in objects[1]["error"]        # the file's line, not the expression's
    assert objects[2]["exit_code"] == 3 and "log" in objects[2]["error"] and "line 3" in objects[2]["error"]
    assert objects[3]["value"] == 0.7 * -1.3
    assert objects[4]["exit_code"] == 2 and "unbound variable: z" in objects[4]["error"]
    assert result.err == ""


def test_exit_code_is_the_highest_met():
    assert cgraph("eval", "--each-line", *POINT, input="x\nx *\n").code == 2
    assert cgraph("eval", "--each-line", *POINT, input="x\ny\n").code == 0


def test_plain_each_line_is_one_awk_line_per_expression():
    result = cgraph("eval", "--each-line", *POINT, "--format", "plain", input="x*y\n)\nx\n")
    assert result.code == 2
    assert result.out.splitlines() == ["1 value -0.9099999999999999 x -1.3 y 0.7", "2 error 2",
                                       "3 value 0.7 x 1 y 0"]
    assert result.err.startswith("cgraph: line 2: parse error")


def test_each_line_kinks_and_warnings_are_in_the_objects():
    objects = jsonl(cgraph("eval", "--each-line", "--x", 0, input="relu(x)\nsqrt(x)\n").out)
    assert objects[0]["kinks"] == ["relu at 0: gradient 0 used"]
    assert objects[1]["gradients"] == {"x": "inf"} and objects[1]["warnings"]


def test_each_line_from_a_file_with_precision(tmp_path):
    path = tmp_path / "exprs.txt"
    path.write_text("x/3\n")
    result = cgraph("eval", "-f", path, "--each-line", "--x", 1, "--precision", 3)
    assert jsonl(result.out) == [{"schema": 1, "line": 1, "value": 0.333, "gradients": {"x": 0.333}}]


@pytest.mark.parametrize("words, fragment", [
    (["--format", "table"], "jsonl or plain"),
    (["--format", "csv"], "jsonl or plain"),
    (["--expect", "x=1"], "cgraph check"),
    (["--out", "f.csv"], "--out goes with --points"),
    (["--all"], "--all"),
    (["--full"], "--full is for one evaluation"),
    (["--seed", "[1]"], "--seed is for one evaluation"),
    (["--order", "2"], "--order 2 is for one evaluation"),
    (["--points", "data.csv"], "do not go together"),
])
def test_each_line_usage_errors(words, fragment):
    result = cgraph("eval", "--each-line", "--x", 1, *words, input="x\n")
    assert result.code == 2 and result.out == "" and fragment in result.err


@pytest.mark.parametrize("words, fragment", [
    (["--format", "jsonl"], "--format jsonl goes with --each-line"),
    (["--format", "csv"], "--format csv goes with --points"),
    (["--out", "f.csv"], "--out goes with --points"),
])
def test_batch_options_alone_are_usage_errors(words, fragment):
    result = cgraph("eval", "x", "--x", 1, *words)
    assert result.code == 2 and result.out == "" and fragment in result.err


POINT_4 = {"x": 0.7, "y": -1.3, "z": 2.1, "w": 0.4}
FUNCTIONS = {"sin": math.sin, "cos": math.cos, "tanh": math.tanh, "sigmoid": lambda v: 1 / (1 + math.exp(-v))}
BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _random_expression(rng, depth=0):
    """(text, value at POINT_4): random expressions of a dozen or so operations, finite there."""
    if depth > 3 or rng.random() < 0.25:
        if rng.random() < 0.7:
            name = rng.choice(list(POINT_4))
            return name, POINT_4[name]
        text = f"{rng.uniform(0.1, 3):.2f}"
        return text, float(text)
    kind = rng.randrange(5)
    a, va = _random_expression(rng, depth + 1)
    if kind == 0:
        name = rng.choice(list(FUNCTIONS))
        return f"{name}({a})", FUNCTIONS[name](va)
    if kind == 1:
        return f"exp(tanh({a}))", math.exp(math.tanh(va))
    b, vb = _random_expression(rng, depth + 1)
    if kind < 4:
        op = rng.choice(list(BINARY))
        return f"({a} {op} {b})", BINARY[op](va, vb)
    return f"({a}) / (1 + ({b})^2)", va / (1 + vb ** 2)


def test_ten_thousand_expressions_in_one_process(tmp_path):
    rng = random.Random(20261123)
    expressions = [_random_expression(rng) for _ in range(10_000)]
    path = tmp_path / "exprs.txt"
    path.write_text("\n".join(text for text, _ in expressions) + "\n")
    done = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", "-f", str(path), "--each-line",
                           *[word for name, v in POINT_4.items() for word in (f"--{name}", str(v))]],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    objects = jsonl(done.stdout)
    assert [o["line"] for o in objects] == list(range(1, 10_001))
    assert all(set(o["gradients"]) == set(POINT_4) for o in objects)
    for (text, value), result in zip(expressions, objects):
        assert result["value"] == pytest.approx(value, rel=1e-12, abs=1e-12), text


# ----------------------------------------------------------------------------- --points

POINTS_EXPR = "sigmoid(x*y + sin(x)) * (x^2 + y)"


def by_hand(x, y):
    """The points expression's value and gradient, derived by hand (as the anchors' NumPy script does)."""
    s = 1 / (1 + math.exp(-(x * y + math.sin(x))))
    q = x * x + y
    return s * q, s * (1 - s) * (y + math.cos(x)) * q + 2 * x * s, s * (1 - s) * x * q + s


def read_csv(text):
    lines = text.splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def test_points_value_and_gradients_per_row(tmp_path):
    rng = random.Random(7)
    rows = [(round(rng.uniform(-3, 3), 3), round(rng.uniform(-3, 3), 3)) for _ in range(200)]
    path = tmp_path / "points.csv"
    path.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in rows))
    result = cgraph("eval", POINTS_EXPR, "--points", path)
    assert result.code == 0, result.err
    header, table = read_csv(result.out)
    assert header == ["x", "y", "value", "d_x", "d_y"]
    assert len(table) == 200
    for (x, y), row in zip(rows, table):
        assert row[:2] == [str(x), str(y)]                         # the input text, as it was
        assert [float(v) for v in row[2:]] == pytest.approx(by_hand(x, y), rel=1e-12, abs=1e-14)


def test_points_is_one_vectorized_pass(tmp_path, monkeypatch):
    """One forward pass over whole columns, not a loop over rows."""
    from cgraph_cli import engine

    calls = []
    original = engine.forward
    monkeypatch.setattr(engine, "forward", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    path = tmp_path / "points.csv"
    path.write_text("x,y\n" + "".join(f"{i / 100},{1 - i / 1000}\n" for i in range(1000)))
    result = cgraph("eval", POINTS_EXPR, "--points", path)
    assert result.code == 0 and len(result.out.splitlines()) == 1001
    assert len(calls) == 1


def test_points_fixed_variables_and_unused_columns_get_gradient_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x,unused\n1,5\n2.5,6\n-1e0,7\n")
    result = cgraph("eval", "x*z + z^2", "--points", path, "--z", 3)
    assert result.code == 0, result.err
    header, table = read_csv(result.out)
    assert header == ["x", "unused", "value", "d_x", "d_unused", "d_z"]
    assert table[2][:2] == ["-1e0", "7"]
    assert [[float(v) for v in row[2:]] for row in table] == [
        [1 * 3 + 9, 3, 0, 1 + 6], [2.5 * 3 + 9, 3, 0, 2.5 + 6], [-3 + 9, 3, 0, -1 + 6]]


def test_points_precision_out_file_and_kink_note(tmp_path):
    path, out = tmp_path / "p.csv", tmp_path / "out.csv"
    path.write_text("x\n0\n1\n2\n")
    result = cgraph("eval", "relu(x)/3", "--points", path, "--out", out, "--precision", 4)
    assert result.code == 0 and result.out == ""
    assert out.read_text().splitlines() == ["x,value,d_x", "0,0,0", "1,0.3333,0.3333", "2,0.6667,0.3333"]
    assert "relu at 0 in 1 of 3 rows: gradient 0 used" in result.err


def test_points_quoted_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b'"x","y"\r\n"1",2\r\n\r\n3,"4"\r\n')
    result = cgraph("eval", "x*y", "--points", path)
    assert result.code == 0, result.err
    assert result.out.splitlines() == ['"x","y",value,d_x,d_y', '"1",2,2.0,2.0,1.0', '3,"4",12.0,4.0,3.0']


def test_points_underflow_is_not_an_error(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x\n-1000\n1000\n0\n")
    header, table = read_csv(cgraph("eval", "sigmoid(x) + exp(x - 2000)", "--points", path).out)
    assert header == ["x", "value", "d_x"]
    assert [float(row[1]) for row in table] == [0.0, 1.0, 0.5]
    assert [float(row[2]) for row in table] == [0.0, 0.0, 0.25]


def test_points_a_failing_row_stops_the_run_with_exit_3(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2\n\n3,-4\n5,-6\n")
    result = cgraph("eval", "log(y) + x", "--points", path)
    assert result.code == 3 and result.out == ""
    assert "row 2 of" in result.err and "(line 4: x=3.0, y=-4.0)" in result.err
    assert "log needs a positive argument, got -4" in result.err


@pytest.mark.parametrize("expr", ["sum(x)", "mean(x*y)", "x @ y", "softmax(x)", "x[0]", "max(x)",
                                  "[x, y]", "x + sum(y)"])
def test_points_rejects_expressions_that_mix_rows(tmp_path, expr):
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2\n3,4\n")
    result = cgraph("eval", expr, "--points", path)
    assert result.code == 2 and result.out == "" and "reduces or mixes rows" in result.err


@pytest.mark.parametrize("csv, words, fragment", [
    ("x,value\n1,2\n", [], "'value' is reserved"),
    ("x,d_x\n1,2\n", [], "the column d_x clashes"),
    ("x,x\n1,2\n", [], "names x twice"),
    ("x,2y\n1,2\n", [], "not a variable name"),
    ("x,y\n1,2\n", ["--y", "3"], "y is both a column"),
    ("x,y\n1,2\n3\n", [], "row 2 (line 3): expected 2 fields (x, y), got 1"),
    ("x,y\n1,2\n3,4,5\n", [], "row 2 (line 3): expected 2 fields"),
    ("x,y\n1,2\n3,abc\n", [], "row 2 (line 3): column y: 'abc' is not a finite number"),
    ("x,y\n1,nan\n", [], "row 1 (line 2): column y: 'nan'"),
    ("", [], "the file is empty"),
    ("x,y\n1,2\n", ["--z", "[1, 2]"], "not tensors"),
    ("x,y\n1,2\n", ["--format", "json"], "--points writes CSV"),
])
def test_points_usage_errors(tmp_path, csv, words, fragment):
    path = tmp_path / "p.csv"
    path.write_text(csv)
    result = cgraph("eval", "x*y*z", "--points", path, "--z", 1, *words) if "--z" not in words else \
        cgraph("eval", "x*y*z", "--points", path, *words)
    assert result.code == 2, result
    assert result.out == "" and fragment in result.err, result.err


def test_points_missing_file_and_unbound_variable(tmp_path):
    assert "cannot read" in cgraph("eval", "x", "--points", tmp_path / "none.csv").err
    path = tmp_path / "p.csv"
    path.write_text("x\n1\n")
    result = cgraph("eval", "x*q", "--points", path)
    assert result.code == 2 and "unbound variable: q" in result.err


def test_points_on_a_million_rows(tmp_path):
    numpy = pytest.importorskip("numpy")
    rng = numpy.random.default_rng(20261123)
    xy = numpy.round(rng.uniform(-3, 3, size=(1_000_000, 2)), 2)
    path, out = tmp_path / "points.csv", tmp_path / "out.csv"
    path.write_text("x,y\n" + "\n".join(map("{},{}".format, xy[:, 0].tolist(), xy[:, 1].tolist())) + "\n")
    done = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", POINTS_EXPR, "--points", str(path),
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = numpy.loadtxt(out, delimiter=",", skiprows=1)
    assert result.shape == (1_000_000, 5)
    assert numpy.array_equal(result[:, :2], xy)
    x, y = xy[:, 0], xy[:, 1]
    s = 1 / (1 + numpy.exp(-(x * y + numpy.sin(x))))
    q = x * x + y
    numpy.testing.assert_allclose(result[:, 2], s * q, rtol=1e-12, atol=1e-14)
    numpy.testing.assert_allclose(result[:, 3], s * (1 - s) * (y + numpy.cos(x)) * q + 2 * x * s,
                                  rtol=1e-10, atol=1e-13)
    numpy.testing.assert_allclose(result[:, 4], s * (1 - s) * x * q + s, rtol=1e-10, atol=1e-13)


def test_points_non_finite_gradients_are_written_and_warned(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x\n4\n0\n")
    result = cgraph("eval", "sqrt(x)", "--points", path)
    assert result.code == 0
    assert result.out.splitlines() == ["x,value,d_x", "4,2.0,0.25", "0,0.0,inf"]
    assert "d_x is not finite in 1 of 2 rows (first: row 2, line 3)" in result.err


def test_backward_keep_releases_the_rest_and_returns_the_same_kept_gradients():
    """engine.backward(keep=...), which --points uses: the kept gradients are those of a full pass."""
    numpy = pytest.importorskip("numpy")
    from cgraph_cli.engine import backward, forward
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build
    from cgraph_cli.ops import array_table

    OPS = array_table()

    source = "a = x*y + sin(x); b = sigmoid(a) * (x^2 + y); b * a"
    columns = {"x": numpy.linspace(-2, 2, 7), "y": numpy.linspace(1, 3, 7)}
    graph = build(parse(source), source, frozenset(columns))
    full = backward(graph, forward(graph, columns, OPS), numpy.ones(7), OPS)
    values = forward(graph, columns, OPS)
    keep = set(graph.variables.values())
    kept = backward(graph, values, numpy.ones(7), OPS, keep=keep)
    for node_id in range(len(graph)):
        if node_id in keep:
            numpy.testing.assert_array_equal(kept[node_id], full[node_id])
        elif graph.needs_grad[node_id]:
            assert kept[node_id] is None and values[node_id] is None   # released once passed on
