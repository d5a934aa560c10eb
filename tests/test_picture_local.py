"""`cgraph graph --local`: each edge carries its rule, written with the trace's names (issue 13, §2)."""

from conftest import run_cgraph

STAGED = ["q = x + y; f = q*z", "--x", "-2", "--y", "5", "--z", "-4"]
NEURON = ["s = w0*x0 + w1*x1 + w2; f = sigmoid(s)", "--w0", "2", "--x0", "-1", "--w1", "-3", "--x1", "-2",
          "--w2", "-3"]


def test_mermaid_and_dot_edges_carry_the_rules_of_the_steps():
    mermaid = run_cgraph("graph", *STAGED, "--local", "--to", "mermaid")
    assert mermaid.code == 0, mermaid.err
    for rule in ("∂q/∂x = 1", "∂q/∂y = 1", "∂f/∂q = z", "∂f/∂z = q"):
        assert rule in mermaid.out
    dot = run_cgraph("graph", *NEURON, "--local", "--to", "dot")
    assert dot.code == 0, dot.err
    assert "∂f/∂s = f*(1 - f)" in dot.out and "∂v1/∂w0 = x0" in dot.out
    assert ">v1<" in dot.out or "v1" in dot.out.split("∂v1")[0]   # the unnamed node is drawn as v1
    assert "grey: the rule" in dot.out


def test_a_broadcast_bias_shows_the_engines_sum_and_a_tensor_op_its_gradient_sent():
    dot = run_cgraph("graph", "h = X @ W + b; loss = sum(h)", "--X", "[[1,2],[3,4]]", "--W", "[[1,0],[0,1]]",
                     "--b", "[1, 2]", "--const", "X", "--local", "--to", "dot")
    assert dot.code == 0, dot.err
    assert "sent = transpose(X) @ g" in dot.out and "∂h/∂b = 1; sent = sum(g, axis=0)" in dot.out


def test_without_local_no_rules_and_without_bindings_local_is_a_usage_error():
    plain = run_cgraph("graph", *STAGED, "--to", "mermaid")
    assert plain.code == 0 and "∂" not in plain.out and "#57606a" not in plain.out
    unbound = run_cgraph("graph", "q = x + y; f = q*z", "--local")
    assert unbound.code == 2 and unbound.out == ""
    assert "--local writes the rules at a point: bind x, y, z" in unbound.err
