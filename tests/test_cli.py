"""The `cgraph` command line against issue 2's spec: exact outputs and exit codes.

Success paths go through click's CliRunner on the `cli` group (Click >= 8.2 keeps stdout and
stderr apart); error paths through `main`, as the console script runs (errors become one
message and an exit code); a few real subprocesses check exit codes, standard input, large
inputs, closed pipes, terminals and that no traceback ever reaches the user.
"""

import json
import math
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cgraph_cli import __version__
from cgraph_cli.cli import cli
from conftest import Result, clean_env, on_terminal, run_main as run  # noqa: F401
from seeds import STAGED, staged_reference

ANSI = "\x1b["


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def ok(*args, input=None):
    """`cgraph ARGS` through CliRunner on the click group; must succeed. Returns stdout."""
    result = CliRunner().invoke(cli, [str(a) for a in args], input=input)
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert ANSI not in result.stdout
    return result.stdout


def fails(code, *args, input=None) -> str:
    """Run; expect exit `code`, nothing on stdout, one `cgraph: ...` message on stderr. Returns it."""
    result = run(*args, input=input)
    assert result.code == code, result
    assert result.out == ""
    assert result.err.startswith("cgraph: "), result.err
    assert result.err.count("cgraph: ") == 1, result.err
    assert "Traceback" not in result.err
    assert "internal error" not in result.err
    return result.err


def sub(*args, input=None, timeout=30, env=None) -> Result:
    """A real `python -m cgraph_cli ARGS` process; never a traceback on stderr."""
    data = input.encode() if isinstance(input, str) else input
    proc = subprocess.run([sys.executable, "-m", "cgraph_cli", *args], input=data,
                          capture_output=True, timeout=timeout, env=env or clean_env(),
                          stdin=None if data is not None else subprocess.DEVNULL)
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), err)


def doc(*args, input=None) -> dict:
    return json.loads(ok(*args, "--format", "json", input=input))


def approx(value, rel=1e-9):
    return pytest.approx(value, rel=rel, abs=1e-12)


def sigmoid(t):
    return 1.0 / (1.0 + math.exp(-t))


def named(document, name):
    """The node holding an assigned name (not the input variable of that name)."""
    nodes = [n for n in document["nodes"] if n["name"] == name and n["op"] != "var"]
    assert nodes, f"no node named {name}"
    return nodes[-1]


# ---------------------------------------------------------------------------------------------
# The seeds' published numbers, through the JSON output
# ---------------------------------------------------------------------------------------------

def test_seed_square_of_sum():
    d = doc("eval", "(x+y)^2", "--x", "1", "--y", "3")
    assert d["value"] == 16
    assert d["gradients"] == {"x": 8, "y": 8}


def test_seed_sum_times_z():
    d = doc("eval", "(x+y)*z", "--x", "1", "--y", "3", "--z", "-3")
    assert d["value"] == -12
    assert d["gradients"] == {"x": -3, "y": -3, "z": 4}


def test_seed_apple_price_count_tax():
    d = doc("eval", "price*count*tax", "--price", "100", "--count", "2", "--tax", "1.1")
    assert d["value"] == approx(220)
    assert d["value"] == 100.0 * 2.0 * 1.1          # full float precision: 220.00000000000003
    assert d["gradients"] == {"price": approx(2.2), "count": approx(110), "tax": approx(200)}


def test_seed_sigmoid_and_its_expansion_agree():
    d = doc("eval", "sigmoid(x)", "--x", "1.0")
    assert d["value"] == pytest.approx(0.7310585786, abs=1e-10)
    assert d["gradients"]["x"] == pytest.approx(0.1966119332, abs=1e-10)
    y = d["value"]
    assert d["gradients"]["x"] == approx(y * (1 - y), rel=1e-12)
    e = doc("eval", "1/(1+exp(-x))", "--x", "1.0")
    assert e["value"] == approx(d["value"], rel=1e-15)
    assert e["gradients"]["x"] == approx(d["gradients"]["x"], rel=1e-12)
    assert len(e["nodes"]) > len(d["nodes"])        # several primitive nodes, not one gate
    assert "exp" in {n["op"] for n in e["nodes"]}


def test_seed_neuron():
    d = doc("eval", "1/(1+exp(-(w0*x0 + w1*x1 + w2)))",
            "--w0", "2", "--w1", "-3", "--w2", "-3", "--x0", "-1", "--x1", "-2")
    f = sigmoid(2 * -1 + -3 * -2 + -3)
    ddot = (1 - f) * f
    assert d["value"] == pytest.approx(0.7310585786, abs=1e-10)
    g = d["gradients"]
    assert set(g) == {"w0", "w1", "w2", "x0", "x1"}
    assert (g["x0"], g["x1"]) == (approx(2 * ddot), approx(-3 * ddot))
    assert (g["w0"], g["w1"], g["w2"]) == (approx(-1 * ddot), approx(-2 * ddot), approx(ddot))
    assert round(g["x0"], 4) == 0.3932 and round(g["x1"], 4) == -0.5898
    assert (round(g["w0"], 4), round(g["w1"], 4), round(g["w2"], 4)) == (-0.1966, -0.3932, 0.1966)


def test_seed_staged_program_every_named_node(tmp_path):
    program = tmp_path / "staged.cg"
    program.write_text(STAGED)
    d = doc("eval", "-f", program, "--x", "3", "--y", "-4")
    values, grads, inputs = staged_reference()
    assert d["value"] == approx(values["f"], rel=1e-12)
    assert d["gradients"] == {"x": approx(inputs["x"], rel=1e-12), "y": approx(inputs["y"], rel=1e-12)}
    for name in values:
        node = named(d, name)
        assert node["value"] == approx(values[name], rel=1e-12), name
        assert node["grad"] == approx(grads[name], rel=1e-12), name
    assert d["output"] == named(d, "f")["id"]


def test_seed_staged_program_one_line_with_semicolons():
    source = "; ".join(line.split("#")[0].strip() for line in STAGED.splitlines()) + ";"
    d = doc("eval", source, "--x", "3", "--y", "-4")
    values, grads, inputs = staged_reference()
    assert d["value"] == approx(values["f"], rel=1e-12)
    assert named(d, "den")["grad"] == approx(grads["den"], rel=1e-12)


# ---------------------------------------------------------------------------------------------
# JSON: the public schema
# ---------------------------------------------------------------------------------------------

def test_json_schema():
    d = doc("eval", "(x+y)^2", "--x", "1", "--y", "3")
    assert set(d) == {"schema", "value", "gradients", "output", "nodes", "warnings"}
    assert d["warnings"] == []
    nodes = d["nodes"]
    assert [n["id"] for n in nodes] == list(range(len(nodes)))
    for node in nodes:
        assert {"id", "op", "name", "inputs", "value", "grad", "text", "span"} <= set(node)
        assert all(i < node["id"] for i in node["inputs"])       # evaluation order
    out = nodes[d["output"]]
    assert out["value"] == d["value"] == 16 and out["grad"] == 1 and out["text"] == "(x+y)^2"
    assert out["op"] == "pow" and out["span"] == [0, 7]
    x = next(n for n in nodes if n["op"] == "var" and n["name"] == "x")
    assert x["inputs"] == [] and x["value"] == 1 and x["grad"] == 8 and x["text"] == "x"
    const = next(n for n in nodes if n["op"] == "const")
    assert const["value"] == 2 and const["grad"] is None and const["name"] is None


def test_json_literal_constants_are_not_inputs():
    d = doc("eval", "2*x + pi", "--x", "1")
    assert d["gradients"] == {"x": 2}
    assert d["value"] == approx(2 + math.pi, rel=1e-15)


def test_json_bound_unused_variable_has_gradient_zero():
    assert doc("eval", "x*2", "--x", "1", "--y", "5")["gradients"] == {"x": 2, "y": 0}
    assert ok("eval", "x*2", "--x", "1", "--y", "5", "--format", "plain") == "value 2\nx 2\ny 0\n"


def test_json_gradients_x_is_the_input_after_reassignment():
    d = doc("eval", "x = x*3; x + 1", "--x", "2")
    assert d["value"] == 7 and d["gradients"] == {"x": 3}
    assert named(d, "x")["op"] == "mul"


def test_json_repeated_node_fan_out():
    d = doc("eval", "x*x + x", "--x", "3")
    assert d["value"] == 12 and d["gradients"] == {"x": 7}
    assert sum(1 for n in d["nodes"] if n["op"] == "var") == 1


@pytest.mark.parametrize("expr, x, kink, grad", [
    ("relu(x)", "0", "relu at 0: gradient 0 used", 0),
    ("abs(x)", "0", "abs at 0: gradient 0 used", 0),
])
def test_json_kink_flag(expr, x, kink, grad):
    d = doc("eval", expr, "--x", x)
    assert d["gradients"] == {"x": grad}
    assert d["nodes"][d["output"]]["kink"] == kink


def test_json_max_tie_splits_gradient():
    d = doc("eval", "max(x,y)", "--x", "1", "--y", "1")
    assert d["gradients"] == {"x": 0.5, "y": 0.5}
    assert "kink" in d["nodes"][d["output"]]


def test_json_no_kink_key_away_from_kinks():
    d = doc("eval", "relu(x)", "--x", "1")
    assert all("kink" not in n for n in d["nodes"])


@pytest.mark.parametrize("expr, text", [("sqrt(x)", "inf"), ("-sqrt(x)", "-inf")])
def test_json_non_finite_gradient_is_a_string_and_warns(expr, text):
    result = CliRunner().invoke(cli, ["eval", expr, "--x", "0", "--format", "json"])
    assert result.exit_code == 0
    d = json.loads(result.stdout)                     # strict JSON: no bare Infinity
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    assert d["value"] == 0 and d["gradients"] == {"x": text}
    assert d["warnings"] and "sqrt(x)" in d["warnings"][0]
    assert "warning" in result.stderr and "sqrt(x)" in result.stderr


def test_json_non_finite_gradient_subprocess_exit_0():
    r = sub("eval", "sqrt(x)", "--x", "0", "--format", "json")
    assert r.code == 0
    assert json.loads(r.out)["gradients"]["x"] == "inf"
    assert r.err.startswith("cgraph: warning:") and "sqrt(x)" in r.err


def test_json_full_float_precision():
    out = ok("eval", "x/3", "--x", "1", "--format", "json")
    assert json.loads(out)["value"] == 1 / 3
    assert "0.3333333333333333" in out
    assert ok("eval", "x/3", "--x", "1", "--format", "plain") == "value 0.3333333333333333\nx 0.3333333333333333\n"


def test_precision_option():
    d = doc("eval", "x/3", "--x", "1", "--precision", "3")
    assert d["value"] == 0.333 and d["gradients"] == {"x": 0.333}
    assert ok("eval", "x/3", "--x", "1", "--format", "plain", "--precision", "3") == "value 0.333\nx 0.333\n"
    assert ok("grad", "x/3", "--x", "1", "--precision", "2") == "x 0.33\n"
    bad = run("eval", "x", "--x", "1", "--precision", "0")
    assert bad.code == 2 and bad.out == "" and "--precision" in bad.err


# ---------------------------------------------------------------------------------------------
# plain and grad
# ---------------------------------------------------------------------------------------------

def test_plain_format():
    assert ok("eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "plain") == "value 16\nx 8\ny 8\n"


def test_plain_apple():
    out = ok("eval", "price*count*tax", "--price", "100", "--count", "2", "--tax", "1.1",
             "--format", "plain")
    assert out == "value 220.00000000000003\ncount 110.00000000000001\nprice 2.2\ntax 200\n"


def test_grad_lines():
    assert ok("grad", "(x+y)^2", "--x", "1", "--y", "3") == "x 8\ny 8\n"


def test_grad_one_wrt_prints_bare_number():
    assert ok("grad", "x*y", "--x", "2", "--y", "3", "--wrt", "x") == "3\n"


def test_grad_one_wrt_subprocess():
    r = sub("grad", "x*y", "--x", "2", "--y", "3", "--wrt", "x")
    assert (r.code, r.out, r.err) == (0, "3\n", "")


def test_grad_several_wrt():
    assert ok("grad", "x*y", "--x", "2", "--y", "3", "--wrt", "y", "--wrt", "x") == "y 2\nx 3\n"


def test_grad_wrt_assigned_name():
    assert ok("grad", "b = x*y; b + 1", "--x", "2", "--y", "3", "--wrt", "b") == "1\n"


def test_grad_wrt_unknown_name():
    err = fails(2, "grad", "x*y", "--x", "2", "--y", "3", "--wrt", "z")
    assert "z" in err


def test_grad_takes_var_option():
    assert ok("grad", "format*2", "-v", "format=5") == "format 2\n"


# ---------------------------------------------------------------------------------------------
# Tree and table
# ---------------------------------------------------------------------------------------------

APPLE = ["price*count*tax", "--price", "100", "--count", "2", "--tax", "1.1"]


def test_tree_apple_prints_220():
    out = ok("eval", *APPLE)
    assert "220.00000000000003" not in out and "220.000" not in out
    assert re.search(r"price\*count\*tax .*value 220 ", out)
    assert re.search(r"value \(output\)\s+\S?\s*220\b", out)


def test_tree_is_the_default_format():
    assert ok("eval", *APPLE) == ok("eval", *APPLE, "--format", "tree")


def test_tree_shows_values_gradients_and_input_table():
    out = ok("eval", "(x+y)^2", "--x", "1", "--y", "3")
    first = out.splitlines()[0]
    assert "(x+y)^2" in first and "pow" in first and "value 16" in first and "grad 1" in first
    assert re.search(r"x\+y\s+add\s+value 4\s+grad 8", out)
    assert re.search(r"^x\s+.*\b1\b.*\b8$", out, re.M)      # the inputs' gradient table
    assert re.search(r"^y\s+.*\b3\b.*\b8$", out, re.M)


def test_table_apple_prints_220():
    out = ok("eval", *APPLE, "--format", "table")
    assert "220.0000" not in out
    row = next(line for line in out.splitlines() if "price*count*tax" in line)
    assert re.search(r"\b220\b", row) and "mul" in row
    for column in ("id", "op", "inputs", "value", "grad"):
        assert column in out.splitlines()[1]


def test_table_rows_in_evaluation_order():
    out = ok("eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "table")
    ids = [int(m) for m in re.findall(r"^\S\s*#(\d+) ", out, re.M)]
    assert ids == sorted(ids) == list(range(5))
    assert re.search(r"#4 .*\(x\+y\)\^2.*pow.*#2, #3.*16.*1", out)


def test_precision_in_human_formats():
    out = ok("eval", "x/3", "--x", "1")
    assert "0.333333333333 " in out or "0.333333333333\n" in out   # 12 significant digits
    assert "0.3333333333333" not in out
    assert "value 0.33 " in ok("eval", "x/3", "--x", "1", "--precision", "2")


@pytest.mark.parametrize("fmt", ["tree", "table"])
def test_kink_flagged_in_human_formats(fmt):
    assert "relu at 0: gradient 0 used" in ok("eval", "relu(x)", "--x", "0", "--format", fmt)


def test_tree_shared_node_shown_once():
    out = ok("eval", "b = a + a; c = b + b; d = c + c", "--a", "1")
    assert len(re.findall(r"#1 b = a \+ a", out)) == 1
    assert len(re.findall(r"#2 c = b \+ b", out)) == 1
    assert re.search(r"↑ #1\b", out) and re.search(r"↑ #2\b", out)
    assert re.search(r"^a\s.*\b8$", out, re.M)


def test_tree_doubling_dag_stays_small():
    program = "; ".join(f"a{i + 1} = a{i} + a{i}" for i in range(40))
    out = ok("eval", program, "--a0", "1")
    assert len(out.splitlines()) < 200                  # not 2^40 lines
    assert ok("eval", program, "--a0", "1", "--format", "plain") == f"value {2.0 ** 40:.0f}\na0 {2 ** 40}\n"


def test_tree_all_prints_a_moderate_graph_whole():
    terms = 30
    out = ok("eval", "+".join(["x"] * terms), "--x", "1", "--all")
    ids = {int(i) for i in re.findall(r"#(\d+)", out)}
    assert ids == set(range(terms))
    assert "not shown" not in out and "omitted" not in out


ELISION = re.compile(r"(\d+)(?: of \d+)? nodes? (?:not shown|omitted)")


def test_large_sum_tree_is_elided_with_a_note():
    source = "+".join(["x"] * 5000)
    out = ok("eval", source, "--x", "1")
    assert len(out.splitlines()) < 150
    match = ELISION.search(out)
    assert match and int(match.group(1)) > 4000 and "--all" in out
    assert re.search(r"^x\s.*\b5000$", out, re.M)      # the inputs' table still says it all


def test_large_sum_table_is_elided_with_a_note():
    out = ok("eval", "+".join(["x"] * 5000), "--x", "1", "--format", "table")
    assert len(out.splitlines()) < 150
    match = ELISION.search(out)
    assert match and int(match.group(1)) > 4000 and "--all" in out
    assert "#4999" in out and "#0" in out                # the output and the input


def deep_nesting(depth):
    return "(" * depth + "x" + "+1)" * depth


def test_all_on_a_deep_graph_stays_bounded_and_complete():
    depth = 1000                # 2001 nodes; depth² indentation would be ~2 MB of spaces alone
    out = ok("eval", deep_nesting(depth), "--x", "1", "--all")
    assert len(out) < 200 * (2 * depth + 1)              # linear in the number of nodes
    assert len(out) < depth * depth
    assert max(len(line) for line in out.splitlines()) < 400
    ids = {int(i) for i in re.findall(r"#(\d+)", out)}
    assert ids >= set(range(2 * depth + 1))              # --all: every node is there


def test_deep_nesting_default_tree_subprocess_is_bounded():
    r = sub("eval", "-", "--x", "1", input=deep_nesting(100_000), timeout=30)
    assert r.code == 0
    assert len(r.out) < 50_000
    assert max(len(line) for line in r.out.splitlines()) < 400
    assert "100001" in r.out


# ---------------------------------------------------------------------------------------------
# Binding variables
# ---------------------------------------------------------------------------------------------

def plain(*args, input=None):
    return ok("eval", *args, "--format", "plain", input=input)


def test_binding_equals_form():
    assert plain("x*2", "--x=1.5") == "value 3\nx 2\n"


def test_binding_negative_value():
    assert plain("x+y", "--x", "1", "--y", "-4") == "value -3\nx 1\ny 1\n"
    assert plain("x", "--x=-4") == "value -4\nx 1\n"
    assert plain("x", "--x", "-1e-3") == "value -0.001\nx 1\n"
    assert plain("x", "--x", ".5") == "value 0.5\nx 1\n"


def test_expression_beginning_with_minus():
    assert plain("-1/f^2", "--f", "2") == "value -0.25\nf 0.25\n"
    assert plain("-x", "--x", "3") == "value -3\nx -1\n"


def test_expression_beginning_with_minus_subprocess():
    r = sub("eval", "-1/f^2", "--f", "2", "--format", "plain")
    assert (r.code, r.out, r.err) == (0, "value -0.25\nf 0.25\n", "")


def test_options_before_and_after_expression():
    assert ok("eval", "--format", "plain", "--x", "2", "x*x") == "value 4\nx 4\n"
    assert ok("eval", "--format=plain", "x*x", "--x", "2") == "value 4\nx 4\n"


def test_var_option_short_and_long():
    assert plain("x*y", "-v", "x=2", "--var", "y=3") == "value 6\nx 3\ny 2\n"


def test_var_binds_a_name_that_is_one_of_our_options():
    assert plain("format*2", "-v", "format=2") == "value 4\nformat 2\n"
    assert plain("all + vars + file", "-v", "all=1", "-v", "vars=2", "-v", "file=3") == \
        "value 6\nall 1\nfile 1\nvars 1\n"


def test_double_dash_name_of_a_short_option_is_a_binding():
    assert plain("f + v", "--f", "1", "--v", "2") == "value 3\nf 1\nv 1\n"


def test_vars_file_and_command_line_override(tmp_path):
    point = tmp_path / "point.json"
    point.write_text('{"x": 1, "y": 5, "z": "1/4"}')
    assert plain("x+y+z", "--vars", point) == "value 6.25\nx 1\ny 1\nz 1\n"
    assert plain("x*y", "--vars", point, "--y", "3") == "value 3\nx 3\ny 1\nz 0\n"
    assert plain("x*y", "--vars", point, "-v", "y=3") == "value 3\nx 3\ny 1\nz 0\n"


@pytest.mark.parametrize("content", ['[1, 2]', '{"x": ', '{"x": true}', '{"value": 1}',
                                     '{"x": "abc"}', '{"1x": 1}', '{"x": 1e999}', '{"x": NaN}'])
def test_vars_file_errors(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    fails(2, "eval", "x", "--vars", bad)


def test_vars_file_missing(tmp_path):
    err = fails(2, "eval", "x", "--vars", tmp_path / "nope.json")
    assert "nope.json" in err


def test_name_bound_twice_is_an_error():
    err = fails(2, "eval", "x", "--x", "1", "--x", "2")
    assert err == ("cgraph: binding error: x is bound twice on the command line (1 and 2); "
                   "give each variable one value\n")
    fails(2, "eval", "x", "--x", "1", "-v", "x=2")
    fails(2, "eval", "x", "-v", "x=1", "--var", "x=1")


@pytest.mark.parametrize("args", [["--value", "3"], ["-v", "value=3"], ["--value=3"]])
def test_value_is_reserved(args):
    err = fails(2, "eval", "value + 1", *args)
    assert "value" in err and "reserved" in err


def test_unbound_variables_one_error_naming_all():
    err = fails(2, "eval", "x + y*z + x", "--y", "1")
    first = err.splitlines()[0]
    assert first == "cgraph: binding error: unbound variables: x, z"
    assert "--x" in err and "--z" in err


def test_unbound_single_variable():
    err = fails(2, "eval", "sin(t)")
    assert err.splitlines()[0] == "cgraph: binding error: unbound variable: t"


def test_fractions_accepted():
    assert plain("x", "--x", "1/3") == "value 0.3333333333333333\nx 1\n"
    assert plain("x", "--x", "-1/3") == "value -0.3333333333333333\nx 1\n"
    assert plain("x", "-v", "x=2/4") == "value 0.5\nx 1\n"


@pytest.mark.parametrize("text", ["-inf", "inf", "nan", "+Infinity", "1e999", "abc", "", "1..2",
                                  "0x10", "1/0", "1" + "0" * 400 + "/1"])
def test_bad_binding_values_give_a_clean_error(text):
    err = fails(2, "eval", "x", "--x", text)
    assert "--x" in err


def test_minus_inf_subprocess():
    r = sub("eval", "x", "--x", "-inf")
    assert r.code == 2 and r.out == "" and r.err.startswith("cgraph: binding error:")
    assert "-inf" in r.err


@pytest.mark.parametrize("args", [["--x"], ["-v"], ["-v", "x"], ["--1x", "2"], ["--format"],
                                  ["--format", "yaml"], ["-f"]])
def test_malformed_options_exit_2(args):
    result = run("eval", "x", *args)
    assert result.code == 2 and result.out == "" and "Traceback" not in result.err
    assert result.err.strip()


def test_double_dash_ends_options():
    assert ok("eval", "--x", "2", "--format", "plain", "--", "-x") == "value -2\nx -1\n"
    # after --, even a word that looks like a binding is the expression: --x is -(-x)
    assert ok("eval", "--x", "2", "--format", "plain", "--", "--x") == "value 2\nx 1\n"


# ---------------------------------------------------------------------------------------------
# Input: EXPR, -f FILE, standard input
# ---------------------------------------------------------------------------------------------

def test_input_from_file(tmp_path):
    program = tmp_path / "prog.cg"
    program.write_text("# product\n\nz = x*y\nz + 0;\n")
    assert plain("-f", program, "--x", "2", "--y", "3") == "value 6\nx 3\ny 2\n"
    assert plain("--file", program, "--x", "2", "--y", "3") == "value 6\nx 3\ny 2\n"


def test_input_from_stdin():
    assert ok("eval", "--x", "2", "--y", "3", "--format", "plain", input="x*y\n") == "value 6\nx 3\ny 2\n"


def test_input_dash_reads_stdin():
    assert ok("eval", "-", "--x", "2", "--y", "3", "--format", "plain", input="x*y") == "value 6\nx 3\ny 2\n"
    assert ok("eval", "-f", "-", "--x", "2", "--y", "3", "--format", "plain", input="x*y") == \
        "value 6\nx 3\ny 2\n"


def test_stdin_pipe_subprocess(tmp_path):
    r = sub("eval", "--x", "2", "--y", "3", "--format", "plain", input="x*y\n")
    assert (r.code, r.out, r.err) == (0, "value 6\nx 3\ny 2\n", "")
    program = tmp_path / "prog.cg"
    program.write_text(STAGED)
    with open(program, "rb") as handle:     # cgraph eval - < prog.cg
        proc = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", "-", "--x", "3", "--y", "-4",
                               "--format", "json"], stdin=handle, capture_output=True, timeout=30)
    assert proc.returncode == 0 and proc.stderr == b""
    assert json.loads(proc.stdout)["value"] == approx(staged_reference()[0]["f"], rel=1e-12)


def test_grad_reads_stdin():
    assert ok("grad", "--x", "2", "--y", "3", input="x*y") == "x 3\ny 2\n"


def test_expr_and_file_together_is_an_error(tmp_path):
    program = tmp_path / "prog.cg"
    program.write_text("x")
    fails(2, "eval", "x", "-f", program, "--x", "1")


def test_several_unquoted_words_advise_quoting():
    err = fails(2, "eval", "x", "+", "y", "--x", "1", "--y", "2")
    assert "quote" in err and '"x + y"' in err


def test_missing_file(tmp_path):
    err = fails(2, "eval", "-f", tmp_path / "missing.cg")
    assert "missing.cg" in err


def test_empty_input():
    fails(2, "eval", "")
    fails(2, "eval", input="")
    fails(2, "eval", input="  \n# only a comment\n")


def test_no_expression_with_terminal_stdin_prints_usage():
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", "--x", "1"], stdin=slave,
                              capture_output=True, timeout=20, env=clean_env())
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert "cgraph eval" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# Errors: exit codes, one message, nothing on stdout
# ---------------------------------------------------------------------------------------------

def test_parse_error_shows_line_caret_and_expected():
    err = fails(2, "eval", "x + * y", "--x", "1", "--y", "2")
    lines = err.splitlines()
    assert lines[0].startswith("cgraph: parse error:") and "column 5" in lines[0]
    assert lines[1] == "  x + * y"
    assert lines[2] == "      ^"
    assert "expected" in err


def test_parse_error_on_a_later_line(tmp_path):
    program = tmp_path / "prog.cg"
    program.write_text("a = x\nb = a +\n")
    err = fails(2, "eval", "-f", program, "--x", "1")
    assert "line 2" in err


def test_unknown_function_suggests_closest():
    err = fails(2, "eval", "sinn(x)", "--x", "1")
    assert "sinn" in err and "did you mean 'sin'?" in err


@pytest.mark.parametrize("expr", ["max(x, x, x)", "exp(x, x)", "pow(x)", "sigmoid()", "relu(x, x)"])
def test_wrong_arity_is_a_parse_error(expr):
    err = fails(2, "eval", expr, "--x", "1")
    assert err.startswith("cgraph: parse error:")


@pytest.mark.parametrize("expr, hint", [("2x", "2*x"), ("2(x+1)", "2*")])
def test_implicit_multiplication_suggests_star(expr, hint):
    assert hint in fails(2, "eval", expr, "--x", "1")


@pytest.mark.parametrize("expr, args", [
    ("1/0", []), ("x/(y-y)", ["--x", "1", "--y", "2"]), ("log(0)", []), ("ln(x)", ["--x", "-1"]),
    ("sqrt(-1)", []), ("exp(1000)", []), ("x^0.5", ["--x", "-1"]), ("exp(x)*0", ["--x", "1000"]),
])
def test_evaluation_errors_exit_3(expr, args):
    err = fails(3, "eval", expr, *args)
    assert err.startswith("cgraph: evaluation error:")


def test_evaluation_error_names_the_node():
    err = fails(3, "eval", "x + log(y-1)", "--x", "1", "--y", "1")
    assert "log(y-1)" in err.splitlines()[0]
    assert "  x + log(y-1)" in err and "      ^" in err


def test_evaluation_error_on_grad_too():
    fails(3, "grad", "1/x", "--x", "0")


def test_tower_of_powers_overflows_fast():
    start = time.monotonic()
    r = sub("eval", "9^9^9^9", timeout=10)
    assert r.code == 3 and r.out == "" and r.err.startswith("cgraph: evaluation error:")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("args, code", [
    (["eval", "1+", "--format", "json"], 2),
    (["eval", "sinn(1)"], 2),
    (["eval", "x+y"], 2),
    (["eval", "1/0", "--format", "json"], 3),
    (["grad", "log(0)"], 3),
    (["eval", "x", "--x", "1", "--x", "2"], 2),
    (["frobnicate"], 2),
])
def test_error_exit_codes_subprocess(args, code):
    r = sub(*args)
    assert r.code == code and r.out == "" and r.err.strip()


def test_debug_shows_traceback():
    proc = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", "1/0", "--debug"],
                          capture_output=True, timeout=30, env=clean_env())
    assert proc.returncode != 0 and b"Traceback" in proc.stderr


# ---------------------------------------------------------------------------------------------
# Inputs that must not hang or crash
# ---------------------------------------------------------------------------------------------

def test_hundred_thousand_nested_parentheses():
    source = "(" * 100_000 + "x" + ")" * 100_000
    r = sub("eval", "--x", "2", "--format", "plain", input=source, timeout=30)
    assert (r.code, r.out) == (0, "value 2\nx 1\n")


def test_hundred_thousand_unclosed_parentheses():
    r = sub("eval", "--x", "2", input="(" * 100_000 + "x", timeout=30)
    assert r.code == 2 and r.out == "" and len(r.err) < 2000


def test_hundred_thousand_term_sum():
    r = sub("eval", "--x", "1", "--format", "plain", input="+".join(["x"] * 100_000), timeout=30)
    assert (r.code, r.out) == (0, "value 100000\nx 100000\n")


def test_hundred_thousand_term_sum_human_formats_bounded(tmp_path):
    program = tmp_path / "sum.cg"
    program.write_text("+".join(["x"] * 100_000))
    for fmt in ("tree", "table"):
        r = sub("eval", "-f", str(program), "--x", "1", "--format", fmt, timeout=30)
        assert r.code == 0 and len(r.out) < 50_000, fmt


def test_many_statements_scale(tmp_path):
    """100,000 one-line statements (1 MB): a linear parse takes about a second."""
    program = tmp_path / "lines.cg"
    program.write_text("y = x\n" * 100_000)
    r = sub("eval", "-f", str(program), "--x", "1", "--format", "plain", timeout=10)
    assert (r.code, r.out) == (0, "value 1\nx 1\n")


@pytest.mark.parametrize("content, code", [
    ("@" * 10_000_000, 2),                               # garbage: error at column 1, short message
    ("# a comment line\n" * 600_000 + "x\n", 0),         # long program text
    ("x" + " " * 10_000_000 + "+1\n", 0),                # one 10 MB line
    ("1" * 10_000_000, 3),                               # one 10 MB number: not a finite float64
    ("x+1\n" + "y" * 10_000_000, 2),                     # a 10 MB name, unbound
], ids=["garbage", "comments", "long-line", "long-number", "long-name"])   # pytest < 9.2: 10 MB ids, E2BIG
def test_ten_megabyte_files(tmp_path, content, code):
    program = tmp_path / "big.cg"
    program.write_text(content)
    r = sub("eval", "-f", str(program), "--x", "1", "--format", "plain", timeout=30)
    assert r.code == code
    assert len(r.err) < 5_000                            # the message is cut to a window
    if code:
        assert r.out == ""


@pytest.mark.parametrize("data", [b"x\x00+1", b"\x00", b"x+1\x00", b"x = 1\x00\nx"])
def test_nul_bytes(data):
    r = sub("eval", "--x", "1", input=data)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("cgraph: ") and "\x00" not in r.err


@pytest.mark.parametrize("source", ["λ+1", "x²", "😀", "x\u202e+1", "ｘ+1", "x\u0301", "∑x", "x×y",
                                    "x\u00a0+1", "x\u2212y", "١+1", "x÷2"])
def test_arbitrary_unicode_is_a_parse_error(source):
    r = sub("eval", source, "--x", "1", "--y", "1")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("cgraph: parse error:")


def test_unicode_on_stdin_and_in_files(tmp_path):
    r = sub("eval", "--x", "1", input="x + 😀 # ünïcode\n")
    assert r.code == 2 and r.err.startswith("cgraph: parse error:")
    r = sub("eval", "--x", "1", "--format", "plain", input="x # ünïcode cömment 😀\n")
    assert (r.code, r.out) == (0, "value 1\nx 1\n")


def test_byte_order_mark_does_not_crash(tmp_path):
    program = tmp_path / "bom.cg"
    program.write_bytes(b"\xef\xbb\xbfx*2\n")
    r = sub("eval", "-f", str(program), "--x", "1", "--format", "plain")
    assert r.code in (0, 2)


def test_invalid_utf8_file(tmp_path):
    program = tmp_path / "bad.cg"
    program.write_bytes(b"x + \xff\xfe 1")
    r = sub("eval", "-f", str(program), "--x", "1")
    assert r.code == 2 and r.out == "" and "UTF-8" in r.err


def test_invalid_utf8_stdin():
    r = sub("eval", "--x", "1", input=b"x*\xc3\x28")
    assert r.code == 2 and r.out == "" and "UTF-8" in r.err


def test_invalid_utf8_argument():
    proc = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", b"x+\xff", "--x", "1"],
                          capture_output=True, timeout=30, env=clean_env())
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr


def test_c_locale_output_does_not_crash():
    env = clean_env(LC_ALL="C", LANG="C")
    r = sub("eval", "(x+y)^2", "--x", "1", "--y", "3", env=env)
    assert r.code == 0 and "16" in r.out
    r = sub("eval", "λ", env=env)
    assert r.code == 2


def test_closed_pipe_large_json_ends_quietly(tmp_path):
    program = tmp_path / "sum.cg"
    program.write_text("+".join(["x"] * 30_000))         # ~6 MB of JSON: far past a pipe buffer
    proc = subprocess.Popen([sys.executable, "-m", "cgraph_cli", "eval", "-f", str(program), "--x", "1",
                             "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env())
    head = proc.stdout.read(10)                           # | head -c 10
    proc.stdout.close()
    err = proc.stderr.read()
    code = proc.wait(timeout=60)
    assert head == b'{"schema":'
    assert err == b"", err.decode()
    assert code in (0, 141)


@pytest.mark.parametrize("fmt", ["tree", "table", "plain", "json"])
def test_closed_pipe_before_any_output_ends_quietly(fmt):
    proc = subprocess.Popen([sys.executable, "-m", "cgraph_cli", "eval", "(x+y)^2", "--x", "1", "--y", "3",
                             "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env())
    proc.stdout.close()                                   # the reader is gone before we write
    err = proc.stderr.read()
    code = proc.wait(timeout=30)
    assert err == b"", err.decode()
    assert code in (0, 141)


def test_ctrl_c_exits_130_without_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "cgraph_cli", "eval", "--x", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env())
    time.sleep(1.5)                                       # started, waiting for standard input
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert out == b"" and b"Traceback" not in err


# ---------------------------------------------------------------------------------------------
# --help, --version, python -m
# ---------------------------------------------------------------------------------------------

def commands():
    import click
    with click.Context(cli) as ctx:
        return cli.list_commands(ctx)


def test_eval_and_grad_are_commands():
    assert {"eval", "grad"} <= set(commands())


@pytest.mark.parametrize("command", commands())
def test_help_on_every_command_shows_an_example(command):
    out = ok(command, "--help")
    assert re.search(rf"^\s+(\S+=\$\()?cgraph {command} \S", out, re.M), out
    assert ok(command, "-h") == out


def test_group_help_shows_an_example():
    out = ok("--help")
    assert re.search(r'^\s+cgraph eval "\(x\+y\)\^2" --x 1 --y 3', out, re.M)


@pytest.mark.parametrize("command, names", [
    ("eval", ["--format", "--precision", "--all", "--file", "--var", "--vars", "--debug", "--help"]),
    ("grad", ["--wrt", "--precision", "--file", "--var", "--vars", "--debug", "--help"]),
])
def test_help_lists_reserved_option_names(command, names):
    out = ok(command, "--help")
    section = out[out.index("Reserved"):]
    for name in names:
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", section), name
    assert "-v NAME=VALUE" in section


def test_version():
    assert ok("--version") == f"cgraph, version {__version__}\n"
    r = sub("--version")
    assert (r.code, r.out) == (0, f"cgraph, version {__version__}\n")


def test_python_dash_m():
    r = sub("eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "plain")
    assert (r.code, r.out, r.err) == (0, "value 16\nx 8\ny 8\n", "")


def test_console_script():
    script = Path(sys.executable).parent / "cgraph"
    if not script.exists():
        pytest.skip("no cgraph console script next to this interpreter")
    proc = subprocess.run([str(script), "eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "json"],
                          capture_output=True, timeout=30, env=clean_env())
    assert proc.returncode == 0 and json.loads(proc.stdout)["gradients"] == {"x": 8, "y": 8}


def test_unknown_command_exit_2():
    result = run("frobnicate")
    assert result.code == 2 and result.out == ""


# ---------------------------------------------------------------------------------------------
# Colour: rich's conventions
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["eval", "(x+y)^2", "--x", "1", "--y", "3"],
    ["eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "table"],
    ["eval", "relu(x)", "--x", "0"],
    ["eval", "1+"],
    ["eval", "--help"],
])
def test_no_colour_when_piped(args):
    r = sub(*args, env=clean_env(TERM="xterm-256color"))
    assert ANSI not in r.out and ANSI not in r.err


COLOUR_CODES = set(range(30, 39)) | set(range(40, 49)) | set(range(90, 98)) | set(range(100, 108))


def has_colour(text):
    """Any SGR sequence that sets a foreground or background colour (bold and dim are not colour)."""
    for match in re.finditer(r"\x1b\[([0-9;]*)m", text):
        if {int(p) for p in match.group(1).split(";") if p} & COLOUR_CODES:
            return True
    return False


def test_colour_on_a_terminal_and_no_color_turns_it_off():
    args = ["eval", "(x+y)^2", "--x", "1", "--y", "3"]
    assert has_colour(on_terminal(args))
    plain_out = on_terminal(args, NO_COLOR="1")
    assert "value 16" in re.sub(r"\x1b\[[0-9;]*m", "", plain_out)
    assert not has_colour(plain_out)


# ---------------------------------------------------------------------------------------------
# The registry of commands
# ---------------------------------------------------------------------------------------------

def test_every_registered_command_loads_under_its_name_and_takes_debug():
    import importlib

    from cgraph_cli.commands import COMMANDS

    assert sorted(COMMANDS) == sorted(cli.list_commands(None))
    for name, where in COMMANDS.items():
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert command.name == name
        assert any("--debug" in param.opts for param in command.params), name


# What the JSON path (the cold start bench/startup.py times) must not load: other formats' and
# commands' modules, the LALR tables' module (the common formulas go through fastparse), and what
# only an error message, a fraction binding or --exact needs.
NOT_ON_THE_JSON_PATH = ("numpy", "rich", "lark", "pathlib", "hashlib", "difflib", "cgraph_cli.parse_tables",
                        "cgraph_cli.rational", "cgraph_cli.exact", "cgraph_cli.render.tree",
                        "cgraph_cli.render.steps", "cgraph_cli.derivatives", "fractions", "decimal")


def modules_loaded_by(*args) -> tuple:
    """(exit code, the modules of commands/, the NOT_ON_THE_JSON_PATH modules) that a fresh
    interpreter loads running `cgraph ARGS` in-process, beyond what importing click loads."""
    program = ("import sys\n"
               "import click\n"
               "before = set(sys.modules)\n"
               "from cgraph_cli.cli import _run\n"
               "code = int(_run(sys.argv[1:], False))\n"
               "new = set(sys.modules) - before\n"
               "print(code, sorted(m for m in new if m.startswith('cgraph_cli.commands')), file=sys.stderr)\n"
               f"print(sorted(m for m in new if m in {NOT_ON_THE_JSON_PATH!r} "
               f"or m.split('.')[0] in {NOT_ON_THE_JSON_PATH!r}), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=60)
    code, commands = done.stderr.strip().splitlines()[-2].split(" ", 1)
    return int(code), commands, done.stderr.strip().splitlines()[-1]


def test_a_command_imports_only_its_own_module_of_commands():
    code, commands, unneeded = modules_loaded_by("eval", "(x+y)^2", "--x", "1", "--y", "3", "--format", "json")
    assert (code, commands) == (0, "['cgraph_cli.commands', 'cgraph_cli.commands.eval', 'cgraph_cli.commands.support']")
    assert unneeded == "[]"


def test_the_check_of_the_json_path_sees_the_modules_it_names():
    """The same check finds them where they are needed: a fraction binding and the tree (rational,
    rich), a misspelt function (difflib's did-you-mean)."""
    code, _, unneeded = modules_loaded_by("eval", "x^2", "--x", "1/3", "--format", "tree")
    assert code == 0 and "'cgraph_cli.rational'" in unneeded and "'rich'" in unneeded
    code, _, unneeded = modules_loaded_by("eval", "sinn(x)", "--x", "1", "--format", "json")
    assert code == 2 and "'difflib'" in unneeded


def test_help_and_completion_list_every_command_with_its_short_help():
    """The commands load lazily, yet `cgraph --help` and shell completion show each one's help."""
    import importlib

    from cgraph_cli.commands import COMMANDS

    shown, whole = {}, {}   # the short help completion shows; the first sentence --help cuts to fit
    for name, where in COMMANDS.items():
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        shown[name], whole[name] = command.get_short_help_str(), command.get_short_help_str(10**6)
    done = subprocess.run([sys.executable, "-m", "cgraph_cli", "--help"], capture_output=True, text=True,
                          timeout=60, env={**clean_env(), "COLUMNS": "200"})
    listed = done.stdout.split("Commands:\n", 1)[1].splitlines()
    assert done.returncode == 0 and len(listed) == len(COMMANDS)
    for line in listed:
        name, help_text = line.split(None, 1)
        assert len(help_text) > 20 and whole[name].startswith(help_text.removesuffix("...")), line
    assert sorted(line.split()[0] for line in listed) == sorted(COMMANDS)
    env = {**clean_env(), "_CGRAPH_COMPLETE": "zsh_complete", "COMP_WORDS": "cgraph ", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-m", "cgraph_cli"], capture_output=True, text=True, timeout=60, env=env)
    triples = done.stdout.splitlines()
    completed = {triples[i + 1]: triples[i + 2] for i in range(0, len(triples), 3)}
    assert done.returncode == 0 and completed == shown


@pytest.mark.parametrize("args, what", [
    (("grad", "x*y", "--x", "2", "--y", "3"), "variable or assigned name"),
    (("diff", "x*y"), "variable or assigned name"),
    (("hessian", "x*y", "--x", "2", "--y", "3"), "variable or assigned name"),
    (("minimize", "x*y", "--x", "2", "--y", "3"), "variable"),
])
def test_an_unknown_wrt_is_said_in_one_wording_by_every_command(args, what):
    err = fails(2, *args, "--wrt", "q")
    assert err == f"cgraph: binding error: --wrt q: no {what} q in the formula (it has: x, y)\n"
