"""`eval --steps`: the backward pass step by step, against the course's hand-written staged pass."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli.engine import evaluate
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.steps import backward_steps, edge_gradients
from conftest import runner

STAGED = ("sigy = 1/(1+exp(-y)); num = x + sigy; sigx = 1/(1+exp(-x)); xpy = x + y; "
          "xpysqr = xpy^2; den = sigx + xpysqr; invden = 1/den; f = num*invden")
STAGED_WITH_SIGMOID = ("sigy = sigmoid(y); num = x + sigy; sigx = sigmoid(x); xpy = x + y; "
                       "xpysqr = xpy^2; den = sigx + xpysqr; invden = 1/den; f = num*invden")

cgraph = runner({"COLUMNS": "150"})   # wide enough that rich does not wrap the steps table


def run(source, bindings):
    return evaluate(build(parse(source), source, frozenset(bindings)), bindings)


def hand_written_backward_pass(x=3.0, y=-4.0):
    """The course's staged backward pass, line by line: (gradient name, receiver, value, is +=)."""
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    lines = []
    dnum = invden;                              lines.append(("dnum", "num", dnum, dnum))
    dinvden = num;                              lines.append(("dinvden", "invden", dinvden, dinvden))
    dden = (-1.0 / (den ** 2)) * dinvden;       lines.append(("dden", "den", dden, dden))
    dsigx = 1 * dden;                           lines.append(("dsigx", "sigx", dsigx, dsigx))
    dxpysqr = 1 * dden;                         lines.append(("dxpysqr", "xpysqr", dxpysqr, dxpysqr))
    dxpy = (2 * xpy) * dxpysqr;                 lines.append(("dxpy", "xpy", dxpy, dxpy))
    dx = 1 * dxpy;                              lines.append(("dx", "x", dxpy, dx))
    dy = 1 * dxpy;                              lines.append(("dy", "y", dxpy, dy))
    step = ((1 - sigx) * sigx) * dsigx
    dx += step;                                 lines.append(("dx +=", "x", step, dx))
    dx += 1 * dnum;                             lines.append(("dx +=", "x", dnum, dx))
    dsigy = 1 * dnum;                           lines.append(("dsigy", "sigy", dsigy, dsigy))
    step = ((1 - sigy) * sigy) * dsigy
    dy += step;                                 lines.append(("dy +=", "y", step, dy))
    return lines, dict(sigx=sigx, sigy=sigy, xpy=xpy, den=den, num=num, invden=invden)


def named_lines(document):
    """From `eval --steps --format json`: every contribution sent to a named node or a variable,
    in the order the pass runs, as (receiver, sent, running total or sent)."""
    names = {node["id"]: node["name"] for node in document["nodes"] if node["name"]}
    lines = []
    for step in document["steps"]:
        for contribution in step["inputs"]:
            receiver = names.get(contribution["id"])
            if receiver is None or contribution["sent"] is None:
                continue
            total = contribution["total"]
            lines.append((receiver, contribution["sent"], total, contribution["contribution"],
                          contribution["contributions"]))
    return lines


@pytest.mark.parametrize("source", [STAGED, STAGED_WITH_SIGMOID])
def test_staged_steps_match_the_hand_written_backward_pass_line_by_line(source):
    code, out, err = cgraph("eval", source, "--x", 3, "--y", -4, "--steps", "--format", "json")
    assert code == 0 and err == ""
    document = json.loads(out)
    expected, _ = hand_written_backward_pass()
    got = named_lines(document)
    assert [receiver for receiver, *_ in got] == [receiver for _, receiver, _, _ in expected]
    for (name, receiver, value, total), (got_receiver, sent, running, index, count) in zip(expected, got):
        assert sent == pytest.approx(value, rel=1e-12, abs=1e-15), name
        assert running == pytest.approx(total, rel=1e-12, abs=1e-15), name
        assert (index > 1) == name.endswith("+="), name     # the += lines are the later contributions
    # x receives three contributions (xpy, the sigmoid of x, num), y two (xpy, the sigmoid of y)
    x_lines = [line for line in got if line[0] == "x"]
    assert [(index, count) for *_, index, count in x_lines] == [(1, 3), (2, 3), (3, 3)]
    y_lines = [line for line in got if line[0] == "y"]
    assert [(index, count) for *_, index, count in y_lines] == [(1, 2), (2, 2)]
    assert document["gradients"]["x"] == x_lines[-1][2] and document["gradients"]["y"] == y_lines[-1][2]


def test_staged_steps_upstream_of_every_named_node():
    """Each named node's line shows its gradient: dnum, dinvden, dden, dsigx, dxpysqr, dxpy, dsigy."""
    expected, _ = hand_written_backward_pass()
    final = {receiver: total for _, receiver, _, total in expected}
    _, out, _ = cgraph("eval", STAGED, "--x", 3, "--y", -4, "--steps", "--format", "json")
    document = json.loads(out)
    upstream = {step["name"]: step["upstream"] for step in document["steps"] if step["name"]}
    assert upstream["f"] == 1.0
    for name in ("num", "invden", "den", "sigx", "xpysqr", "xpy", "sigy", "x", "y"):
        assert upstream[name] == pytest.approx(final[name], rel=1e-12), name
    order = [step["name"] for step in document["steps"] if step["name"]]
    assert order == ["f", "invden", "den", "xpysqr", "xpy", "sigx", "num", "sigy", "y", "x"]


def test_sigmoid_steps_show_the_local_derivative_of_the_course():
    """With sigmoid(), the sigx and sigy lines hold (1 - s) * s, as the course's dsigx line does."""
    _, values = hand_written_backward_pass()
    _, out, _ = cgraph("eval", STAGED_WITH_SIGMOID, "--x", 3, "--y", -4, "--steps", "--format", "json")
    steps = {step["name"]: step for step in json.loads(out)["steps"] if step["name"]}
    for name, s in (("sigx", values["sigx"]), ("sigy", values["sigy"])):
        (only,) = steps[name]["inputs"]
        assert only["local"] == pytest.approx((1 - s) * s, rel=1e-12)
    (local_den,) = [c["local"] for c in steps["invden"]["inputs"] if c["sent"] is not None]
    assert local_den == pytest.approx(-1 / values["den"] ** 2, rel=1e-12)
    locals_f = [c["local"] for c in steps["f"]["inputs"]]
    assert locals_f == pytest.approx([values["invden"], values["num"]], rel=1e-12)


def test_staged_table_marks_the_running_totals():
    code, out, _ = cgraph("eval", STAGED, "--x", 3, "--y", -4, "--steps")
    assert code == 0
    assert "Backward pass, in the order it runs" in out
    lines = out.splitlines()
    # the xpy line starts both totals, the later x and y lines add to them
    assert any("xpy = x + y" in line and "1.58319 (1/3)" in line for line in lines)
    assert any("+= -0.0357615" in line and "1.54743 (2/3)" in line for line in lines)
    assert any("num = x + sigy" in line and "+= 0.512144" in line and "2.05957 (3/3)" in line
               for line in lines)
    assert any("+= 0.00904586" in line and "1.59223 (2/2)" in line for line in lines)
    assert "dx = 2.05957" in out and "dy = 1.59223" in out


def test_plain_steps_one_line_per_node():
    code, out, _ = cgraph("eval", "(x+y)*z", "--x", 1, "--y", 3, "--z", -3, "--steps", "--format", "plain")
    assert code == 0
    assert out.splitlines() == [
        "forward\t1\tv1\tv1 = x + y\t4",
        "forward\t2\tv2\tv2 = v1*z\t-12",
        "backward\t1\t(x+y)*z\t1\tx+y\t-3\t-3\t\tg*z\tz\t4\t4\t\tg*v1",
        "backward\t2\tx+y\t-3\tx\t1\t-3\t\tg\ty\t1\t-3\t\tg",
        "backward\t3\tz\t4",
        "backward\t4\ty\t-3",
        "backward\t5\tx\t-3",
    ]
    # no variable: no backward step, only the forward trace
    assert cgraph("eval", "2+3", "--steps", "--format", "plain")[1] == "forward\t1\tv1\tv1 = 2 + 3\t5\n"


def test_a_zero_upstream_passes_nothing_on():
    result = run("relu(x) * y", {"x": 2.0, "y": 0.0})
    steps = {result.graph.ops[s.node]: s for s in backward_steps(result)}
    assert steps["relu"].passes_nothing and steps["relu"].upstream == 0.0
    assert result.gradients() == {"x": 0.0, "y": 2.0}
    code, out, _ = cgraph("eval", "relu(x) * y", "--x", 2, "--y", 0, "--steps")
    assert "passes nothing on" in out


def test_tensor_steps_sum_broadcast_gradients_back_to_the_input_shape():
    numpy = pytest.importorskip("numpy")
    bindings = {"w": numpy.array([1.0, 2.0]), "b": 0.5}
    result = run("sum(w * b)", bindings)
    sent = edge_gradients(result)
    graph = result.graph
    mul = graph.inputs[graph.output][0]
    to_w, to_b = sent[mul, 0], sent[mul, 1]
    assert to_w.tolist() == [0.5, 0.5]
    assert to_b == 3.0 and not hasattr(to_b, "shape")   # summed over the broadcast axis
    steps = backward_steps(result)
    finals = {graph.names[s.node]: s.upstream for s in steps if graph.ops[s.node] == "var"}
    assert finals["b"] == 3.0 and finals["w"].tolist() == [0.5, 0.5]


EXPRESSIONS = ["x*x*y + x", "b = x + x; c = b*b + y; c*x", "exp(x)*sin(x) + x/y - y*y*x",
               "max(x, y) * min(x, y) + x", "c = x; c *= y; c += x; c * c"]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(EXPRESSIONS), st.floats(0.2, 3), st.floats(0.2, 3))
def test_last_running_total_is_exactly_the_engines_gradient(source, x, y):
    result = run(source, {"x": x, "y": y})
    last = {}
    for step in backward_steps(result):
        for contribution in step.contributions:
            if contribution.gradient is not None:
                last[contribution.input] = contribution
    for node_id, contribution in last.items():
        assert contribution.index == contribution.count
        assert contribution.total == result.grads[node_id]   # same additions, same order: exact
