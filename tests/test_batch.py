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
    assert objects[0] == {"line": 1, "value": (0.7 - 1.3) ** 2,
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
    assert jsonl(result.out) == [{"line": 1, "value": 0.333, "gradients": {"x": 0.333}}]


@pytest.mark.parametrize("words, fragment", [
    (["--format", "table"], "jsonl or plain"),
    (["--format", "csv"], "jsonl or plain"),
    (["--expect", "x=1"], "cgraph check"),
    (["--out", "f.csv"], "--out goes with --points"),
    (["--all"], "--all"),
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
