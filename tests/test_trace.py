"""`eval --steps`'s evaluation trace and rule texts: the trace is a cgraph program computing the same
value, and each rule text, appended to it with the upstream gradient bound, computes what the engine
sent (within 4 units in the last place), evaluated by cgraph itself."""

import json

import numpy as np
import pytest

from cgraph_cli.engine import evaluate
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build
from cgraph_cli.steps import backward_steps
from cgraph_cli import trace
from conftest import runner

cgraph = runner({"COLUMNS": "160"})

STAGED = ("sigy = 1/(1+exp(-y)); num = x + sigy; sigx = 1/(1+exp(-x)); xpy = x + y; "
          "xpysqr = xpy^2; den = sigx + xpysqr; invden = 1/den; f = num*invden")
rng = np.random.default_rng(7)
X, W, T = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), np.eye(2)[[0, 1, 1, 0]]
A, u, w = rng.normal(size=(3, 3)), rng.normal(size=3), rng.uniform(0.1, 0.9, size=3)

SCALAR = [
    ("q = x + y; f = q*z", dict(x=1.0, y=2.0, z=-4.0)),
    (STAGED, dict(x=3.0, y=-4.0)),
    ("s = w0*x0 + w1*x1 + w2; f = sigmoid(s)", dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)),
    ("1/x + x^2 + abs(a) - 3*x + x^-1.5 + x^y", dict(x=2.0, a=-1.0, y=0.7)),
    ("c = x*2; c = c*3 + c; f = c*y - c/x", dict(x=1.3, y=0.4)),            # a name assigned twice
    ("x = x + 1; f = x*x + sin(x)", dict(x=0.3)),                           # a variable reassigned
    ("v1*v2 + sin(v1) - v_1", dict(v1=0.5, v2=1.5, v_1=2.0)),              # names like trace names
    ("g*h + exp(g) + abs(h)", dict(g=0.2, h=-1.1)),                         # the upstream's usual name
    ("tanh(x) + log(y) + sqrt(y) + max(x, y) + min(x, y) + clip(x, 0, y) + where(x > y, x, y)",
     dict(x=0.6, y=1.4)),
    ("leaky_relu(x - 1, 0.2) + elu(x - 1, alpha=0.5) + atan2(x, y) + erf(x) + softplus(x) + silu(y) "
     "+ gelu(x) + relu(y) + floor(x) + log1p(x) + expm1(y) + log2(y) + log10(y) + cos(x) + tan(x)",
     dict(x=0.6, y=1.4)),
    ("asin(x) + acos(x) + atan(x) + asinh(y) + acosh(y) + atanh(x) + sinh(x) + cosh(y) + -x + square(y)",
     dict(x=0.3, y=1.7)),
    ("pi*x + e^x", dict(x=0.5, pi=1.5)),                                    # pi bound: a variable
]
TENSOR = [
    ("h = X @ W + b; loss = sum(tanh(h))", dict(X=X, W=W, b=rng.normal(size=2))),
    ("h = X @ W + b; loss = mean(h^2)", dict(X=X, W=W, b=rng.normal(size=(1, 2)))),
    ("softmax_cross_entropy(X @ W, T)", dict(X=X, W=W, T=T)),
    ("softmax_cross_entropy(X @ W, t) + cross_entropy(softmax(X @ W), t)", dict(X=X, W=W, t=np.array([0., 1, 1, 0]))),
    ("softmax_cross_entropy(u, w)", dict(u=u, w=w)),   # a target whose rows do not sum to 1
    ("mse(X @ W, T) + cross_entropy(softmax(X @ W), T)", dict(X=X, W=W, T=T)),
    ("sum(softmax(u) * w) + sum(log_softmax(u) * w) + sum(cumsum(u) * w)", dict(u=u, w=w)),
    ("sum(diag(u) @ A) + sum(unsqueeze(u, 0) * A) + u[0]*u[2] + sum(A[:, 1])", dict(u=u, A=A)),
    ("s*sum(u*2 + s) + dot([s, u[1]], [u[0], s])", dict(u=u, s=0.7)),
    ("binary_cross_entropy(sigmoid(u), w) + sum(transpose(A) @ A)", dict(u=u, w=w, A=A)),
]


def run(source, bindings):
    return evaluate(build(parse(source), source, frozenset(bindings)), bindings)


def close(got, want, ulps=4):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape
    scale = np.maximum(np.abs(got), np.abs(want))
    return bool(np.all(np.abs(got - want) <= ulps * np.spacing(scale) + 1e-300))


def program(evaluation):
    return "\n".join(statement for _, _, statement, _ in trace.forward_trace(evaluation))


@pytest.mark.parametrize("source, bindings", SCALAR + TENSOR)
def test_the_forward_trace_is_a_program_of_the_same_value(source, bindings):
    evaluation = run(source, bindings)
    again = run(program(evaluation), bindings)
    assert np.array_equal(np.asarray(again.value), np.asarray(evaluation.value))
    # every statement's value is the node's value, and the statements are in evaluation order
    ids = [node_id for node_id, *_ in trace.forward_trace(evaluation)]
    assert ids == sorted(ids) and ids[-1] == evaluation.graph.output


@pytest.mark.parametrize("source, bindings", SCALAR + TENSOR)
def test_every_rule_text_computes_what_the_engine_sent(source, bindings):
    evaluation = run(source, bindings)
    graph = evaluation.graph
    names, g = trace.trace_names(graph), trace.upstream_name(graph)
    assert g not in set(graph.variables) | set(graph.assigned)
    head = program(evaluation)
    checked = 0
    for step in backward_steps(evaluation):
        for position, c in enumerate(step.contributions):
            if c.gradient is None:
                continue
            rule, local = trace.rule_texts(graph, evaluation.values, names, step.node, position, g)
            if not graph.uses_tensors:
                assert rule is not None, (graph.ops[step.node], position)   # every scalar row has one
            if rule is None:
                continue
            got = run(f"{head}\n{rule}", {**bindings, g: step.upstream}).value
            assert close(got, c.gradient), (graph.ops[step.node], rule, got, c.gradient)
            if local is not None and c.local is not None:
                assert close(run(f"{head}\n{local}", bindings).value, c.local), (local, c.local)
            checked += 1
    assert checked


def test_trace_names_never_collide_with_the_programs():
    evaluation = run("v1*v2 + v_1", dict(v1=1.0, v2=2.0, v_1=3.0))
    names = trace.trace_names(evaluation.graph)
    assert [n for n in names if n not in ("v1", "v2", "v_1")] == ["v__1", "v__2"]
    assert trace.prefix_for({"x", "v"}) == "v" and trace.prefix_for({"v3", "v_x"}) == "v_"


def test_substitution_is_by_whole_identifiers():
    mapping = {"a": "abc", "b": "(q + 1)", "axis": "0"}
    assert trace.substitute("abs(a) + b*a^b + sum(a, axis=-1) + a.shape", mapping) == \
        "abs(abc) + (q + 1)*abc^(q + 1) + sum(abc, axis=-1) + abc.shape"
    assert trace.substitute("squeeze(g, axis)", mapping) == "squeeze(g, 0)"
    assert trace.times("g", "1/z") == "g*(1/z)" and trace.times("g", "f*(1 - f)") == "g*f*(1 - f)"
    assert trace.times("g", "-1") == "-g" and trace.times("g", "-out/b") == "g*(-out/b)"


def test_literals_are_written_as_numbers_and_a_literal_exponent_is_computed():
    evaluation = run("x*-3 + 2.5^x + x/(1/3) + x^2 + x^-1.5", dict(x=0.5))
    statements = [s for _, _, s, _ in trace.forward_trace(evaluation)]
    assert statements[:7] == ["v1 = -3", "v2 = x*v1", "v3 = 2.5^x", "v4 = v2 + v3", "v5 = 1/3", "v6 = x/v5",
                              "v7 = v4 + v6"]
    graph, names = evaluation.graph, trace.trace_names(evaluation.graph)
    pows = [node_id for node_id, op in enumerate(graph.ops) if op == "pow"]
    rules = [[trace.rule_texts(graph, evaluation.values, names, node_id, k)[1] for k in (0, 1)] for node_id in pows]
    assert rules[0][1] == "v3*log(2.5)"
    assert rules[1][0] == "2*x" and rules[2][0] == "v10*x^(v10 - 1)"   # -1.5 is neg(1.5): a node


def test_eval_steps_shows_the_trace_and_the_rules():
    code, out, _ = cgraph("eval", "q = x + y; f = q*z", "--x", 1, "--y", 2, "--z", -4, "--steps")
    assert code == 0
    assert out.index("Forward pass") < out.index("Backward pass")
    for text in ("q = x + y", "f = q*z", "∂f/∂q = z", "∂f/∂z = q", "∂q/∂x = 1"):
        assert text in out, text
    lines = out.splitlines()
    assert any("∂f/∂q = z" in line and "-4" in line for line in lines)
    assert any("∂f/∂z = q" in line and " 3 " in line for line in lines)
    code, out, _ = cgraph("eval", "s = w0*x0 + w1*x1 + w2; f = sigmoid(s)", "--w0", 2, "--x0", -1,
                          "--w1", -3, "--x1", -2, "--w2", -3, "--steps")
    assert any("∂f/∂s = f*(1 - f)" in line and "0.196612" in line for line in out.splitlines())


def test_eval_steps_json_has_forward_steps_and_rules():
    code, out, _ = cgraph("eval", "q = x + y; f = q*z", "--x", 1, "--y", 2, "--z", -4, "--steps",
                          "--format", "json")
    document = json.loads(out)
    assert document["forward_steps"] == [
        {"id": 3, "name": "q", "statement": "q = x + y", "value": 3.0},
        {"id": 4, "name": "f", "statement": "f = q*z", "value": -12.0}]
    first = document["steps"][0]["inputs"]
    assert [(i["rule"], i["local_rule"], i["sent"]) for i in first] == [("g*z", "z", -4.0), ("g*q", "q", 3.0)]


def test_eval_steps_tensor_rules_in_json_and_table():
    args = ["eval", "h = X @ W + b; loss = sum(h^2)", "--X", "[[1, 2, 3], [4, 5, 6]]",
            "--W", "[[1, 0], [0, 1], [1, 1]]", "--b", "[1, 2]", "--steps"]
    document = json.loads(cgraph(*args, "--format", "json")[1])
    rules = {(s["id"], i["id"]): i["rule"] for s in document["steps"] for i in s["inputs"]}
    assert "g @ transpose(W)" in rules.values() and "transpose(X) @ g" in rules.values()
    assert "sum(g, axis=0)" in rules.values()
    assert [s["statement"] for s in document["forward_steps"]] == [
        "v1 = X @ W", "h = v1 + b", "v2 = h^2", "loss = sum(v2)"]
    assert "g * ones((2, 2))" in rules.values()   # sum's spread(g), at the node's shape
    out = cgraph(*args)[1]
    assert "sent = g @ transpose(W)" in out and "∂h/∂b = 1; sent = sum(g, axis=0)" in out
    assert "  —  " not in out.replace("local —", "")
    out = runner({"COLUMNS": "80"})(args[0], "prod(b) + sum(X)", *args[2:])[1]   # records: `rule —`   # prod's text is not cgraph syntax
    assert "rule —" in out and "sent = g * ones((2, 3))" in out


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_steps_at_narrow_widths_never_cut_a_number(columns):
    run_ = runner({"COLUMNS": columns})
    code, out, _ = run_("eval", STAGED, "--x", 3, "--y", -4, "--steps")
    assert code == 0
    document = json.loads(run_("eval", STAGED, "--x", 3, "--y", -4, "--steps", "--format", "json",
                               "--precision", "6")[1])
    for statement in document["forward_steps"]:
        value = float(statement["value"])
        assert f"{value:.6g}" in out, (columns, value)


REDUCED = [
    ("sum(u*w) + mean(A) + sum(sum(A, axis=0) * u) + sum(mean(A, axis=1, keepdims=True) * A)", dict(u=u, w=w, A=A)),
    ("var(A) + std(u) + sum(var(A, axis=0) * u) + norm(u) + logsumexp(A) + sum(logsumexp(A, axis=1) * w)",
     dict(u=u, w=w, A=A)),
    ("max(u) + sum(max(A, axis=0) * w) + min(A) + trace(A) + sum(reshape(A, (9,)) * 2) + sum(flatten(A) * 3)"
     " + sum(transpose(A) * A) + sum(transpose(X, (1, 0)) @ X)", dict(u=u, w=w, A=A, X=X)),
]


@pytest.mark.parametrize("source, bindings", REDUCED)
def test_the_reductions_rules_are_written_at_the_nodes_shapes(source, bindings):
    evaluation = run(source, bindings)
    graph = evaluation.graph
    names, head = trace.trace_names(graph), program(evaluation)
    shown = 0
    for step in backward_steps(evaluation):
        for position, c in enumerate(step.contributions):
            if c.gradient is None:
                continue
            rule, _ = trace.rule_texts(graph, evaluation.values, names, step.node, position)
            op = graph.ops[step.node]
            if trace.OPS[op].tensor and op not in ("matmul", "dot"):
                assert rule is not None, op
                shown += 1
            if rule is not None:
                got = run(f"{head}\n{rule}", {**bindings, "g": step.upstream}).value
                assert close(got, c.gradient, ulps=8), (op, rule)
    assert shown >= 5


def test_the_trace_of_an_exact_evaluation_is_exact():
    from fractions import Fraction

    from cgraph_cli import exact

    def exactly(source, bindings):
        return exact.evaluate(build(parse(source), source, frozenset(bindings)), bindings)

    bindings = dict(price=Fraction(11, 5), count=Fraction(1, 3))
    evaluation = exactly("price*count*1.1 + count^2 - count/3", bindings)
    assert program(evaluation).splitlines()[1] == "v2 = v1*1.1"   # as written, not 11/10
    assert exactly(program(evaluation), bindings).value == evaluation.value == Fraction(121, 150)
