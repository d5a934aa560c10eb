"""The fast paths of graph.build and the engine give bit-for-bit what the plain paths give.

graph.build appends the common nodes (arithmetic, numbers, names already met, sin(x), -x) to the
graph's columns itself; engine.forward and the scalar backward look each node's function up as the
loop reaches it, with a branch for one input; backward returns its list as it is when every node
that needs a gradient received one; find_kinks and gradient_warnings skip in C when nothing can be
flagged. Each is compared here with the plain way, written in the test (every node through
Graph.add; the op rows called one by one; the `contributions` walk summed), on random programs from
tests/fuzzing.py: floats compared by their bits (float.hex), arrays by their bytes.
"""

import math
import os
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgraph_cli import ast, calls, engine
from cgraph_cli.errors import CgraphError
from cgraph_cli.grammar import parse
from cgraph_cli.graph import Graph, _assign, _index, _lookup, _tensor, build
from cgraph_cli.ops import OPS, table_for

sys.path.insert(0, os.path.dirname(__file__))
import fuzzing as F  # noqa: E402

EXAMPLES = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
randoms = st.randoms(use_true_random=True)


def plain_build(program, source, bound=frozenset(), data=frozenset()) -> Graph:
    """graph.build with every node through Graph.add (and calls.call for every call): the plain way."""
    graph = Graph(source, data)
    for name in sorted(bound):
        graph.variables[name] = graph.add("var", (), None, name=name)
    results, shapes = [], ({}, {})
    for node in ast.postorder(program):
        kind = type(node)
        if kind is ast.Binary:
            right, left = results.pop(), results.pop()
            results.append(graph.add(node.op, (left, right), node.span))
        elif kind is ast.Unary:
            results.append(graph.add(node.op, (results.pop(),), node.span))
        elif kind is ast.Num:
            results.append(graph.add("const", (), node.span, constant=node.value))
        elif kind is ast.Name:
            results.append(_lookup(graph, node, source, bound))
        elif kind is ast.Call or kind is ast.Method:
            results.append(calls.call(graph, node, results, source, bound))
        elif kind is ast.Index:
            results.append(_index(graph, node, results, source))
        elif kind is ast.Attribute:
            results.append(calls.attribute(graph, node, results.pop(), source, bound))
        elif kind is ast.Tensor:
            count = len(node.elements)
            elements = tuple(results[len(results) - count:])
            del results[len(results) - count:]
            results.append(_tensor(graph, node, elements, shapes, source))
        else:
            results.append(_assign(graph, node.name, node.op, node.span, results.pop(), bound))
    graph.output = results[-1]
    return graph


def bits(value):
    """A value as its exact bits: float.hex, an array's dtype, shape and bytes, else repr."""
    if type(value) is float:
        return value.hex()
    if hasattr(value, "tobytes"):
        return (str(value.dtype), value.shape, value.tobytes().hex())
    return repr(value)


def columns(graph: Graph) -> tuple:
    return (graph.ops, graph.inputs, graph.names, graph.spans, graph.needs_grad,
            {k: bits(v) for k, v in graph.constants.items()}, repr(graph.attrs), graph.variables,
            graph.assigned, graph.output, graph.uses_tensors, graph.data)


def plain_forward(graph: Graph, bindings: dict, ops) -> list:
    """Each node's op row called on its inputs' values, one node after the other."""
    values = [None] * len(graph)
    for node_id, value in graph.constants.items():
        values[node_id] = value
    for name, node_id in graph.variables.items():
        values[node_id] = bindings[name]
    with ops.backend.forward_guard():
        for node_id, (op, arguments) in enumerate(zip(graph.ops, graph.inputs)):
            if arguments:
                values[node_id] = ops[op].forward(*[values[i] for i in arguments],
                                                  **graph.attrs.get(node_id, {}))
    return values


def plain_backward(graph: Graph, values: list, ops) -> list:
    """The contributions walk summed into a list; a node that needs a gradient and got none: 0."""
    grads = [None] * len(graph)
    if graph.needs_grad[graph.output]:
        grads[graph.output] = 1.0
    for _, input_id, _, _, sent in engine.contributions(graph, values, grads, ops):
        if sent is not None:
            grads[input_id] = sent if grads[input_id] is None else grads[input_id] + sent
    return [(0.0 if g is None else g) if need else None for g, need in zip(grads, graph.needs_grad)]


def random_case(r, text: str):
    """(program, bound, data, bindings) for a random program, or None when it does not parse."""
    try:
        program = parse(text)
    except CgraphError:
        return None
    names = F.names_in(text)
    bound = frozenset(n for n in names if r.random() < 0.9)
    data = frozenset(n for n in sorted(bound) if r.random() < 0.15)
    bindings = {name: r.choice([0.0, -0.0, 1.0, -1.0, 2.0, 0.5]) if r.random() < 0.15 else r.uniform(-3, 3)
                for name in sorted(bound)}
    return program, bound, data, bindings


def both_builds(program, text, bound, data):
    """(fast, plain) graphs, or the same error from both."""
    try:
        fast = build(program, text, bound, data)
    except CgraphError as error:
        with pytest.raises(type(error)) as plain_error:
            plain_build(program, text, bound, data)
        assert str(plain_error.value) == str(error)
        return None, None
    return fast, plain_build(program, text, bound, data)


@EXAMPLES
@given(randoms, st.booleans())
def test_build_appends_what_graph_add_would(r, scalar):
    text = F.scalar_program(r) if scalar else F.program(r)
    case = random_case(r, text)
    if case is None:
        return
    program, bound, data, _ = case
    fast, plain = both_builds(program, text, bound, data)
    if fast is not None:
        assert columns(fast) == columns(plain)


@EXAMPLES
@given(randoms, st.booleans())
def test_forward_and_backward_give_the_plain_values_and_gradients_bit_for_bit(r, scalar):
    text = F.scalar_program(r) if scalar else F.program(r)
    case = random_case(r, text)
    if case is None:
        return
    program, bound, data, bindings = case
    graph, _ = both_builds(program, text, bound, data)
    if graph is None or set(graph.variables) - set(bindings):
        return
    ops = table_for(graph, bindings)
    try:
        want = plain_forward(graph, bindings, ops)
    except engine.EVALUATION_ERRORS:
        with pytest.raises(CgraphError):
            engine.forward(graph, bindings, ops)
        return
    try:
        values = engine.forward(graph, bindings, ops, finite=False)
    except CgraphError:   # a shape error the plain loop let through
        return
    assert [bits(v) for v in values] == [bits(v) for v in want]
    if ops is OPS:
        grads = engine.backward(graph, values, 1.0, ops)
        assert [bits(g) for g in grads] == [bits(g) for g in plain_backward(graph, values, ops)]
        assert engine.gradient_warnings(graph, values, grads, ops) == plain_warnings(graph, values, grads, ops)
        assert engine.find_kinks(graph, values, ops) == plain_kinks(graph, values, ops)


def plain_warnings(graph, values, grads, ops):
    """gradient_warnings without its first check: every contribution looked at."""
    saved = engine._all_finite
    engine._all_finite = lambda grads, ops: False
    try:
        return engine.gradient_warnings(graph, values, grads, ops)
    finally:
        engine._all_finite = saved


def plain_kinks(graph, values, ops):
    kinks = {}
    for node_id, name in enumerate(graph.ops):
        if ops[name].kink is not None:
            message = ops[name].kink(values[node_id], *(values[i] for i in graph.inputs[node_id]),
                                     **graph.attrs.get(node_id, {}))
            if message:
                kinks[node_id] = message
    return kinks


@EXAMPLES
@given(randoms)
def test_tangents_through_the_fast_tables_are_the_plain_jvp_rules(r):
    """forward_with_tangents (one sweep) against each node's jvp row applied in a loop in the test."""
    text = F.scalar_program(r)
    case = random_case(r, text)
    if case is None:
        return
    program, bound, data, bindings = case
    graph, _ = both_builds(program, text, bound, data)
    if graph is None or set(graph.variables) - set(bindings):
        return
    seeds = {name: r.uniform(-1, 1) for name in sorted(graph.variables) if r.random() < 0.7}
    try:
        values, tangents = engine.forward_with_tangents(graph, bindings, seeds)
    except CgraphError:
        return
    want = [None] * len(graph)
    for name, tangent in seeds.items():
        want[graph.variables[name]] = tangent
    for node_id, (op, arguments) in enumerate(zip(graph.ops, graph.inputs)):
        dots = [want[i] for i in arguments]
        if arguments and any(dot is not None for dot in dots):
            want[node_id] = OPS[op].jvp(dots, values[node_id], *[values[i] for i in arguments],
                                        **graph.attrs.get(node_id, {}))
    assert [bits(t) for t in tangents] == [bits(0.0 if t is None else t) for t in want]


# ----------------------------------------------------------------------------------------------- edges

def evaluate(source: str, bindings: dict):
    graph = build(parse(source), source, frozenset(bindings))
    return graph, engine.evaluate(graph, bindings)


def test_nodes_after_the_output_get_no_gradient():
    """The last statement reads a variable: the nodes of the statement before it come after the output."""
    graph, result = evaluate("a = x*y + sin(y); x", {"x": 0.5, "y": 2.0})
    assert graph.output == graph.variables["x"] < len(graph) - 1
    assert result.gradients() == {"x": 1.0, "y": 0.0}
    assert result.grads[graph.assigned["a"]] == 0.0


def test_a_node_reached_only_by_zero_gets_a_zero_gradient():
    """0*sin(x): sin(x) receives 0.0, passes nothing on, and x's gradient is the 0.0 filled in."""
    graph, result = evaluate("0*sin(x) + y", {"x": 0.5, "y": 2.0})
    assert result.grads[graph.variables["x"]] == 0.0 and math.copysign(1, result.grads[graph.variables["x"]]) == 1
    assert result.gradients() == {"x": 0.0, "y": 1.0}


def test_a_negative_zero_gradient_is_kept():
    """x*y at y = -0.0: x receives -0.0 (not the 0.0 of a node that received nothing)."""
    graph, result = evaluate("x*y", {"x": 1.5, "y": -0.0})
    assert math.copysign(1, result.grads[graph.variables["x"]]) == -1


def test_every_scalar_op_row_through_the_fast_loops():
    """One node of each scalar op with one or two inputs, forward and backward against the rows."""
    for name, op in OPS.items():
        if op.tensor or op.arity not in (1, 2) or op.params or not op.names and not op.infix:
            continue
        spelled = op.names[0] if op.names else None
        source = f"{spelled}(x)" if op.arity == 1 else f"{spelled}(x, y)" if spelled else f"x {op.symbol} y"
        graph = build(parse(source), source, frozenset("xy"))
        for bindings in ({"x": 0.75, "y": 0.4}, {"x": 1.75, "y": 0.4}):   # acosh needs x >= 1
            try:
                values = engine.forward(graph, bindings)
                break
            except CgraphError:
                continue
        else:
            raise AssertionError(f"{name}: no point in its domain")
        assert [bits(v) for v in values] == [bits(v) for v in plain_forward(graph, bindings, OPS)], name
        grads = engine.backward(graph, values)
        assert [bits(g) for g in grads] == [bits(g) for g in plain_backward(graph, values, OPS)], name


def test_warnings_and_kinks_still_found():
    graph, result = evaluate("sqrt(x) + relu(y) + abs(y)", {"x": 0.0, "y": 0.0})
    assert result.warnings and "sqrt(x)" in result.warnings[0]
    assert sorted(result.kinks.values()) == sorted(plain_kinks(graph, result.values, OPS).values())
    assert len(result.kinks) == 2
    graph, result = evaluate("x*y + sin(x)", {"x": 0.0, "y": 0.0})
    assert result.kinks == {} and result.warnings == []


def test_a_chain_of_every_fast_node_kind():
    """Numbers, names met before, sin(x), -x, + - * / ^ and assignments in one program, built both ways."""
    r = random.Random(7)
    terms = [f"{r.choice(['sin', 'exp', 'tanh', '-'])}({r.choice('xyz')}*{r.uniform(0, 1):.4f})"
             f"{r.choice('+-*/')}{r.choice('xyz')}" for _ in range(300)]
    source = "a = " + " + ".join(terms) + "\na *= x\n-a^2"
    program = parse(source)
    bound = frozenset("xyz")
    fast, plain = build(program, source, bound), plain_build(program, source, bound)
    assert columns(fast) == columns(plain)
    bindings = {"x": 0.3, "y": -0.2, "z": 0.9}
    values = engine.forward(fast, bindings)
    assert [bits(v) for v in values] == [bits(v) for v in plain_forward(plain, bindings, OPS)]
    assert [bits(g) for g in engine.backward(fast, values)] == [bits(g) for g in plain_backward(plain, values, OPS)]


@pytest.mark.parametrize("source", ["sin(x) + x", "x + sin(x) + exp(x)*-x", "a = tanh(x); a + sin(a) - -a",
                                    "y*x + sigmoid(x) + log(x*y) + x/y"])
def test_fan_out_through_one_and_two_input_nodes_sums_every_contribution(source):
    """A value used by several nodes (one-input and two-input ones) receives the sum of what each sends."""
    bindings = {"x": 0.6, "y": 1.7}
    graph = build(parse(source), source, frozenset(bindings))
    values = engine.forward(graph, bindings)
    grads = engine.backward(graph, values)
    assert [bits(g) for g in grads] == [bits(g) for g in plain_backward(graph, values, OPS)]
    x = 0.6
    if source == "sin(x) + x":
        assert grads[graph.variables["x"]] == math.cos(x) + 1.0


# --------------------------------------------------------------- op tables are fixed once built

def _with_sin_as_cos(rows):
    return [op._replace(forward=math.cos) if op.name == "sin" else op for op in rows]


@pytest.mark.parametrize("change", [
    lambda t: t.__setitem__("sin", t["sin"]), lambda t: t.update({}), lambda t: t.__ior__({}),
    lambda t: t.__delitem__("sin"), lambda t: t.pop("sin"), lambda t: t.popitem(),
    lambda t: t.setdefault("sin", None), lambda t: t.clear(),
])
def test_an_op_table_is_fixed_once_built(change):
    """The engine caches each table's columns (OpTable.column): a table changed in place would leave
    the engine calling the old rows, so every way of changing one is refused."""
    from cgraph_cli.ops import table
    from cgraph_cli.ops.floats import MATH

    ops = table(MATH)
    with pytest.raises(TypeError, match="fixed once built"):
        change(ops)
    assert "sin" in ops and ops.column("forward")["sin"] is ops["sin"].forward


def test_a_new_table_is_how_rows_change():
    """What a changed table is for: a new OpTable, whose column is its own rows'."""
    from cgraph_cli.ops import OpTable, table
    from cgraph_cli.ops.floats import MATH

    ops = table(MATH)
    graph = build(parse("sin(x)"), "sin(x)", frozenset())
    assert engine.forward(graph, {"x": 0.5}, ops=ops)[-1] == math.sin(0.5)   # the column is now cached
    changed = OpTable(_with_sin_as_cos(ops.values()), ops.backend)
    assert engine.forward(graph, {"x": 0.5}, ops=changed)[-1] == math.cos(0.5)
    assert engine.forward(graph, {"x": 0.5}, ops=ops)[-1] == math.sin(0.5)


def test_the_exact_table_checks_sizes_in_every_rule():
    """ops/rationals.size_checked builds a new table (tables are fixed): every rule that has inputs
    is the size-checked one, and an exact run still gives exact gradients."""
    from fractions import Fraction

    from cgraph_cli.ops import exact_table, table
    from cgraph_cli.ops.rationals import RATIONALS

    exact, plain = exact_table(), table(RATIONALS)
    assert exact.keys() == plain.keys() and exact.backend is plain.backend
    assert all((exact[name].vjp is not plain[name].vjp) == bool(plain[name].arity) for name in plain)
    graph = build(parse("x^3/3 + x*y"), "x^3/3 + x*y", frozenset("xy"))
    evaluation = engine.evaluate(graph, {"x": Fraction(1, 2), "y": Fraction(2)})
    assert evaluation.gradients() == {"x": Fraction(1, 4) + 2, "y": Fraction(1, 2)}
