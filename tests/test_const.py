"""--const NAME and a case's `const = [...]`: a bound variable that is data carries no gradient on any
output path, asking for its gradient is a usage error, and minimize never trains it.

References are computed here by hand (NumPy for the softmax case, the derivative written out for the
polynomials), never by the code under test.

Every run goes through the in-process runner fixture `cgraph` (tests/conftest.py)."""

import json
import math

import numpy
import pytest

SOFTMAX = ("eval", "softmax_cross_entropy(a, t)", "--a", "[0.3, 2.9, 4.0]", "--t", "[0, 0, 1]", "--const", "t")
A = numpy.array([0.3, 2.9, 4.0])
T = numpy.array([0.0, 0.0, 1.0])
DATA_ERROR = "cgraph: usage error: t is data (--const t): it has no gradient to ask for\n"


def softmax(z):
    e = numpy.exp(z - z.max())
    return e / e.sum()


def usage_error(cgraph, *args, input=None) -> str:
    code, out, err = cgraph(*args, input=input)
    assert (code, out) == (2, ""), err
    return err


# ----------------------------------------------------------------------------- eval's formats

def test_the_motivating_case_gives_gradients_only_for_a(cgraph):
    code, out, err = cgraph(*SOFTMAX, "--format", "json")
    assert code == 0 and err == ""
    document = json.loads(out)
    assert set(document["gradients"]) == {"a"}
    assert document["gradients"]["a"] == pytest.approx(softmax(A) - T, rel=1e-12, abs=1e-15)
    assert document["value"] == pytest.approx(-math.log(softmax(A)[2]), rel=1e-12)
    t_node = next(node for node in document["nodes"] if node["name"] == "t")
    assert t_node["op"] == "var" and t_node["grad"] is None


def test_without_const_the_labels_get_a_gradient(cgraph):
    code, out, _ = cgraph(*SOFTMAX[:-2], "--format", "json")
    assert code == 0 and set(json.loads(out)["gradients"]) == {"a", "t"}


def test_nodes_that_depend_only_on_data_and_literals_carry_no_gradient(cgraph):
    code, out, _ = cgraph("eval", "u = t*2 + 1; u*x", "--x", 3, "--t", 5, "--const", "t", "--format", "json")
    document = json.loads(out)
    by_text = {node["text"]: node for node in document["nodes"]}
    assert by_text["t*2"]["grad"] is None and by_text["2"]["grad"] is None
    assert by_text["u*x"]["grad"] == 1.0
    assert document["gradients"] == {"x": 11.0}   # d(u*x)/dx = u = 2t + 1


def test_plain_has_no_line_for_data(cgraph):
    code, out, _ = cgraph("eval", "x*t + t^2", "--x", 1, "--t", 2, "--const", "t", "--format", "plain")
    assert (code, out) == (0, "value 6\nx 2\n")


def test_tree_shows_a_dash_for_data(cgraph):
    code, out, _ = cgraph(*SOFTMAX, env={"COLUMNS": "120"})
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] in (["a"], ["t"])}
    assert rows["t"].rstrip().endswith("—")
    assert "-0.263403086231" in out
    t_block = out[out.index("#1 t"):].split("Gradients of the inputs")[0]
    assert "grad" not in t_block


def test_table_shows_a_dash_for_data(cgraph):
    code, out, _ = cgraph("eval", "x*t", "--x", 1, "--t", 2, "--const", "t", "--format", "table",
                          env={"COLUMNS": "120"})
    assert code == 0
    cells = {row[0]: row for row in ([cell.strip() for cell in line.strip("│").split("│")]
                                     for line in out.splitlines() if line.startswith("│"))}
    assert cells["#0"][1:] == ["t", "var", "", "2", "—"]
    assert cells["#1"][1:] == ["x", "var", "", "1", "2"]


def test_steps_send_nothing_to_data(cgraph):
    code, out, _ = cgraph("eval", "x*t", "--x", 1, "--t", 2, "--const", "t", "--steps", "--format", "json")
    steps = json.loads(out)["steps"]
    inputs = {item["id"]: item for item in steps[0]["inputs"]}
    assert inputs[0]["sent"] is None and inputs[1]["sent"] == 2.0
    assert [step["name"] for step in steps[1:]] == ["x"]


def test_exact_and_order_two(cgraph):
    code, out, _ = cgraph("eval", "x^2*t", "--x", "1/3", "--t", 2, "--const", "t", "--exact", "--format", "plain")
    assert (code, out) == (0, "value 2/9\nx 4/3\n")
    code, out, _ = cgraph("eval", "x^2*t^3", "--x", 1, "--t", 2, "--const", "t", "--order", "2",
                          "--format", "json")
    document = json.loads(out)
    assert document["gradients"] == {"x": 16.0} and document["hessian"] == {"x": {"x": 16.0}}


def test_each_line_and_points_leave_data_out(tmp_path, cgraph):
    code, out, _ = cgraph("eval", "--each-line", "--x", 1, "--t", 2, "--const", "t", input="x*t\nx+1\n")
    assert code == 0
    assert [json.loads(line)["gradients"] for line in out.splitlines()] == [{"x": 2.0}, {"x": 1.0}]
    points = tmp_path / "p.csv"
    points.write_text("x,t\n1,2\n3,4\n")
    code, out, _ = cgraph("eval", "x*t + s", "--points", points, "--s", 1, "--const", "t")
    assert (code, out) == (0, "x,t,value,d_x,d_s\n1,2,3.0,2.0,1.0\n3,4,13.0,4.0,1.0\n")
    code, out, _ = cgraph("eval", "x*t + s", "--points", points, "--s", 1, "--const", "s")
    assert out.splitlines()[0] == "x,t,value,d_x,d_t"


# ----------------------------------------------------------------------------- the other commands

def test_grad_lists_only_the_parameters(cgraph):
    code, out, _ = cgraph("grad", "w*x - y", "--w", 2, "--x", 3, "--y", 1, "--const", "x", "--const", "y")
    assert (code, out) == (0, "w 3\n")


def test_graph_pictures_draw_data_edges_without_a_gradient(cgraph):
    code, out, _ = cgraph("graph", "x*t", "--x", 1, "--t", 2, "--const", "t", "--to", "dot")
    assert code == 0
    edges = {line.split("->")[0].strip(): line for line in out.splitlines() if "->" in line}
    assert "#cf222e" not in edges["n0"] and "#cf222e" in edges["n1"]   # n0 is t (bound names come first)
    code, out, _ = cgraph("graph", "x*t", "--x", 1, "--t", 2, "--const", "t", "--to", "mermaid")
    t_edge = next(line for line in out.splitlines() if line.strip().startswith("n0 -->"))
    assert "cf222e" not in t_edge


def test_gradcheck_checks_only_the_parameters(cgraph):
    code, out, _ = cgraph("gradcheck", "x^2*t^3", "--x", 1, "--t", 2, "--const", "t", "--format", "plain")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines() if line.strip()] == ["x"]
    assert float(out.split()[1]) == 16.0   # 2*x*t^3


def test_hessian_rows_and_columns_leave_data_out(cgraph):
    code, out, _ = cgraph("hessian", "x^2*t^3 + x*y", "--x", 1, "--y", 2, "--t", 2, "--const", "t",
                          "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["variables"] == ["x", "y"]
    assert document["hessian"] == {"x": {"x": 16.0, "y": 1.0}, "y": {"x": 1.0, "y": 0.0}}


def test_diff_differentiates_only_the_parameters(cgraph):
    code, out, _ = cgraph("diff", "x*t + t^2", "--t", 2, "--const", "t")
    assert (code, out) == (0, "d/dx = 2\n")


# ----------------------------------------------------------------------------- minimize

def test_minimize_with_several_variables_needs_wrt(cgraph):
    err = usage_error(cgraph, "minimize", "(w*x - y)^2", "--w", 0, "--x", 2, "--y", 4)
    assert err == ("cgraph: usage error: several variables are bound (w, x, y): say which to train with "
                   "--wrt NAME (repeatable, e.g. --wrt w), so that data is not trained; mark data with "
                   "--const NAME\n")


def test_minimize_never_trains_data(cgraph):
    code, out, _ = cgraph("minimize", "(w*x - y)^2", "--w", 0, "--x", 2, "--y", 4, "--const", "x",
                          "--const", "y", "--format", "json")
    document = json.loads(out)
    assert code == 0 and set(document["variables"]) == {"w"} and set(document["gradients"]) == {"w"}
    assert document["variables"]["w"] == pytest.approx(2, abs=1e-6)   # w*2 = 4


def test_minimize_with_one_variable_trains_it(cgraph):
    code, out, _ = cgraph("minimize", "(x-3)^2", "--x", 0, "--format", "json")
    assert code == 0 and json.loads(out)["variables"]["x"] == pytest.approx(3, abs=1e-6)


# ----------------------------------------------------------------------------- asking for a gradient

@pytest.mark.parametrize("args", [
    ("grad", "x*t", "--x", 1, "--t", 2, "--const", "t", "--wrt", "t"),
    ("grad", "x*t", "--x", 1, "--t", 2, "--const", "t", "--expect", "t=1"),
    ("eval", "x*t", "--x", 1, "--t", 2, "--const", "t", "--expect", "t=1"),
    ("diff", "x*t", "--t", 2, "--const", "t", "--wrt", "t"),
    ("hessian", "x*t", "--x", 1, "--t", 2, "--const", "t", "--wrt", "t"),
    ("minimize", "(x-t)^2", "--x", 1, "--t", 2, "--const", "t", "--wrt", "t"),
])
def test_asking_for_the_gradient_of_data_is_a_usage_error(args, cgraph):
    assert usage_error(cgraph, *args) == DATA_ERROR


@pytest.mark.parametrize("command", ["eval", "grad", "gradcheck", "graph", "minimize", "diff", "hessian"])
def test_const_must_be_bound_and_used(command, cgraph):
    assert usage_error(cgraph, command, "x*t", "--x", 1, "--const", "t") == (
        "cgraph: usage error: --const t: t is not bound; data needs a value (--t VALUE), or drop --const t\n")
    assert usage_error(cgraph, command, "x*tt", "--x", 1, "--tt", 2, "--t", 3, "--const", "t") == (
        "cgraph: usage error: --const t: the formula does not use t; did you mean tt?\n")


# ----------------------------------------------------------------------------- check cases

def write(tmp_path, text):
    path = tmp_path / "cases.toml"
    path.write_text(text)
    return path


def test_a_case_with_const_passes_without_the_data_gradient(tmp_path, cgraph):
    cases = write(tmp_path, '[[case]]\nexpr = "w*x - y"\nvars = { w = 2, x = 3, y = 1 }\n'
                            'const = ["x", "y"]\nvalue = 5\ngrad = { w = 3 }\n')
    code, out, err = cgraph("check", cases, "--format", "json")
    assert code == 0, out + err
    (case,) = json.loads(out)["cases"]
    assert [check["what"] for check in case["checks"]] == ["value", "grad w"]


def test_a_case_asking_for_the_gradient_of_data_is_a_usage_error(tmp_path, cgraph):
    cases = write(tmp_path, '[[case]]\nname = "lab"\nexpr = "x*t"\nvars = { x = 1, t = 2 }\n'
                            'const = ["t"]\ngrad = { t = 1 }\n')
    err = usage_error(cgraph, "check", cases)
    assert "(case 'lab', key 'grad.t', line 6)" in err
    assert err.endswith('t is data (const = ["t"], as --const t): it has no gradient to ask for\n')


def test_a_case_const_is_validated_like_the_other_keys(tmp_path, cgraph):
    cases = write(tmp_path, '[[case]]\nexpr = "x*t"\nvars = { x = 1, t = 2 }\nconst = ["tt"]\n')
    err = usage_error(cgraph, "check", cases)
    assert "key 'const'" in err and err.endswith("tt is not one of this case's vars; did you mean 't'?\n")
    cases = write(tmp_path, '[[case]]\nexpr = "x*t"\nvars = { x = 1, t = 2 }\nconst = "t"\n')
    assert 'expected a list of variable names such as ["t"]' in usage_error(cgraph, "check", cases)
    cases = write(tmp_path, '[[case]]\nexpr = "x*t"\nvars = { x = 1, t = 2 }\nconts = ["t"]\n')
    assert "did you mean 'const'?" in usage_error(cgraph, "check", cases)


def test_a_case_const_the_formula_does_not_use_fails_the_case(tmp_path, cgraph):
    cases = write(tmp_path, '[[case]]\nexpr = "x"\nvars = { x = 1, t = 2 }\nconst = ["t"]\nvalue = 1\n')
    code, out, _ = cgraph("check", cases, "--format", "json")
    (case,) = json.loads(out)["cases"]
    assert code == 1 and "const t: the formula does not use t" in case["error"]


def test_gradcheck_with_only_data_has_nothing_to_check(cgraph):
    code, out, err = cgraph("gradcheck", "t*2", "--t", 1, "--const", "t")
    assert (code, out) == (2, "")
    assert err == ("cgraph: binding error: the formula has no variables to check: bind one, e.g. --x 1 "
                   "(--const marks data, which has no gradient)\n")


def test_each_line_needs_data_bound_but_not_used_by_every_line(cgraph):
    assert usage_error(cgraph, "eval", "--each-line", "--x", 1, "--const", "t", input="x\n").startswith(
        "cgraph: usage error: --const t: t is not bound")
    code, out, _ = cgraph("eval", "--each-line", "--x", 1, "--t", 2, "--const", "t", input="x\n")
    assert code == 0 and json.loads(out)["gradients"] == {"x": 1.0}


def test_const_of_something_that_is_not_a_name_says_so(cgraph):
    code, out, err = cgraph("eval", "x+1", "--x", 2, "--const", "1")
    assert code == 2 and out == ""
    assert "'1' is not a name" in err and "--1" not in err
