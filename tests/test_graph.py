"""AST to graph: a flat tape, one node per variable, inputs before users."""

import pytest

from cgraph_cli.ast import Program
from cgraph_cli.errors import ExitStatus, ParseError, UsageError
from cgraph_cli.grammar import parse
from cgraph_cli.graph import RESERVED, build


def graph_of(source, bound=()):
    return build(parse(source), source, frozenset(bound))


PROGRAMS = [
    "(x+y)*z",
    "x*x + x*y + x",
    "b = a + a; c = b + b",
    "c = x; c = c + c + 1; c *= y; c",
    "sigy = 1/(1+exp(-y)); num = x + sigy; sigx = 1/(1+exp(-x)); xpy = x + y; "
    "xpysqr = xpy^2; den = sigx + xpysqr; invden = 1/den; f = num*invden",
    "max(y, x) - min(2, pi) + pow(x, e)",
    "a = x; b = a; c = b*x; -c",
]


def test_one_node_per_variable():
    graph = graph_of("x*x + x*y + x*(y - x)")
    assert graph.ops.count("var") == 2
    assert set(graph.variables) == {"x", "y"}
    x, y = graph.variables["x"], graph.variables["y"]
    used = [i for inputs in graph.inputs for i in inputs if graph.ops[i] == "var"]
    assert sorted(set(used)) == sorted({x, y})
    assert used.count(x) == 5 and used.count(y) == 2


def test_bound_variables_come_first_in_name_order():
    graph = graph_of("z + x", bound={"z", "x", "unused"})
    assert graph.ops[:3] == ["var", "var", "var"]
    assert graph.names[:3] == ["unused", "x", "z"]
    assert graph.variables == {"unused": 0, "x": 1, "z": 2}
    # a bound variable takes the span of its first use; an unused one has none
    assert graph.spans[graph.variables["z"]] == (0, 1)
    assert graph.spans[graph.variables["x"]] == (4, 5)
    assert graph.spans[graph.variables["unused"]] is None
    assert len(graph) == 4 and graph.ops[3] == "add"


def test_inputs_keep_duplicates_and_order():
    graph = graph_of("x*x")
    x = graph.variables["x"]
    assert graph.inputs[graph.output] == (x, x)
    graph = graph_of("y - x", bound={"x", "y"})
    assert graph.inputs[graph.output] == (graph.variables["y"], graph.variables["x"])
    graph = graph_of("x - y", bound={"x", "y"})
    assert graph.inputs[graph.output] == (graph.variables["x"], graph.variables["y"])
    graph = graph_of("max(y, x)", bound={"x", "y"})
    assert graph.ops[graph.output] == "max"
    assert graph.inputs[graph.output] == (graph.variables["y"], graph.variables["x"])
    graph = graph_of("b = a + a; c = b + b")
    b = graph.assigned["b"]
    assert graph.inputs[b] == (graph.variables["a"],) * 2
    assert graph.inputs[graph.assigned["c"]] == (b, b)
    assert graph.users()[b] == [graph.assigned["c"], graph.assigned["c"]]


@pytest.mark.parametrize("source", PROGRAMS)
def test_tape_order_puts_inputs_before_users(source):
    graph = graph_of(source)
    assert len(graph.ops) == len(graph.inputs) == len(graph.names) == len(graph.spans) == len(graph.needs_grad)
    for node_id, inputs in enumerate(graph.inputs):
        assert all(0 <= i < node_id for i in inputs), (node_id, graph.ops[node_id], inputs)
        if graph.ops[node_id] in ("var", "const"):
            assert inputs == ()
    assert graph.output == len(graph) - 1 or graph.ops[graph.output] == "var"


@pytest.mark.parametrize("source", PROGRAMS)
def test_a_hand_built_program_gives_the_same_graph(source):
    """build() reads the parser's post-order list, or walks a Program that has none."""
    parsed = parse(source)
    by_hand = Program(parsed.statements, parsed.span)
    assert by_hand.postorder == ()
    first, second = build(parsed, source), build(by_hand, source)
    assert (first.ops, first.inputs, first.names, first.spans, first.constants, first.output) == (
        second.ops, second.inputs, second.names, second.spans, second.constants, second.output)


def test_node_fields():
    source = "a = (x + 1) * 2.5"
    graph = graph_of(source)
    assert graph.ops == ["var", "const", "add", "const", "mul"]
    assert graph.inputs == [(), (), (0, 1), (), (2, 3)]
    assert graph.constants == {1: 1.0, 3: 2.5}
    assert graph.needs_grad == [True, False, True, False, True]
    assert graph.names == ["x", None, None, None, "a"]
    assert graph.assigned == {"a": 4} and graph.variables == {"x": 0}
    assert [graph.text(i) for i in range(5)] == ["x", "1", "x + 1", "2.5", "(x + 1) * 2.5"]
    assert graph.label(4) == source
    node = graph.node(4)
    assert (node.id, node.op, node.inputs, node.name, node.text, node.constant) == (
        4, "mul", (2, 3), "a", "(x + 1) * 2.5", None)
    assert graph.node(3).constant == 2.5
    assert graph.output == 4


def test_pi_and_e_are_constant_nodes_unless_bound():
    graph = graph_of("pi*e")
    assert graph.ops == ["const", "const", "mul"] and graph.variables == {}
    assert graph.constants[0] == pytest.approx(3.141592653589793)
    assert graph.constants[1] == pytest.approx(2.718281828459045)
    graph = graph_of("pi*e", bound={"e"})
    assert graph.variables == {"e": 0}
    assert graph.ops == ["var", "const", "mul"]


def test_naming_a_named_node_makes_a_node_of_its_own():
    graph = graph_of("a = x; b = a; b")
    x = graph.variables["x"]
    a, b = graph.assigned["a"], graph.assigned["b"]
    assert graph.ops[a] == graph.ops[b] == "pos"
    assert graph.inputs[a] == (x,) and graph.inputs[b] == (a,)
    assert graph.names[x] == "x" and graph.names[a] == "a" and graph.names[b] == "b"
    assert graph.output == b


def test_reassignment_moves_the_name_to_the_new_node():
    graph = graph_of("c = x + 1; c = c * c; c += 2")
    first = graph.ops.index("add")
    square = graph.ops.index("mul")
    last = graph.assigned["c"]
    assert graph.inputs[square] == (first, first)
    assert graph.ops[last] == "add" and graph.inputs[last][0] == square
    assert graph.text(last) == "c += 2"
    assert graph.output == last
    assert graph.ops.count("var") == 1


def test_assigned_then_used_as_a_function_name_hints_multiplication():
    with pytest.raises(ParseError) as info:
        graph_of("x = 2; x(3)")
    message = str(info.value)
    assert "unknown function 'x'" in message
    assert "'x' is a variable, not a function: write x*(...)" in message


@pytest.mark.parametrize("source, suggestion", [
    ("sinn(x)", "sin"), ("expp(x)", "exp"), ("sqr(x)", "sqrt"), ("tanhh(x)", "tanh"),
    ("sigmod(x)", "sigmoid"), ("x + lg2(x)", "log2"),
])
def test_unknown_function_suggests_the_closest_name(source, suggestion):
    with pytest.raises(ParseError) as info:
        graph_of(source)
    message = str(info.value)
    assert info.value.exit_code == ExitStatus.USAGE
    name = source[source.index("(") - len(source.split("(")[0].split()[-1]):source.index("(")]
    assert f"unknown function '{name}'" in message
    assert f"did you mean '{suggestion}'?" in message
    caret_line = message.splitlines()[2]
    column = caret_line.index("^") - 2
    assert source[column:column + len(name)] == name
    assert caret_line.count("~") == len(name) - 1


def test_unknown_function_without_a_close_name_lists_the_functions():
    with pytest.raises(ParseError) as info:
        graph_of("foo(x)")
    listed = str(info.value).split("known functions: ")[1].split(", ")
    assert listed == sorted(listed) and listed[0] == "abs"
    assert {"cos", "cosh", "cross_entropy", "dot", "exp"} <= set(listed)   # cosh: issue 9


@pytest.mark.parametrize("source, words", [
    ("max(1, 2, 3)", "max() takes 1 or 2 arguments, got 3"),
    ("min(1, 2, 3)", "min() takes 2 arguments, got 3"),
    ("sin(1, 2)", "sin() takes 1 argument, got 2"),
    ("pow(2)", "pow() takes 2 arguments, got 1"),
])
def test_wrong_arity(source, words):
    with pytest.raises(ParseError) as info:
        graph_of(source)
    assert words in str(info.value)
    assert "line 1, column 1" in str(info.value)


@pytest.mark.parametrize("source", ["value = 3", "value += 1", "value + 1", "x = 1; 2*value"])
def test_value_is_reserved(source):
    assert "value" in RESERVED
    with pytest.raises(ParseError) as info:
        graph_of(source)
    assert "'value' is reserved" in str(info.value)


def test_empty_program_is_a_usage_error():
    for source in ["", "  # nothing\n;;"]:
        with pytest.raises(UsageError, match="empty"):
            graph_of(source)


def test_labels_show_assignments():
    graph = graph_of("a = x*2; a += 1; b = a")
    labels = [graph.label(i) for i in range(len(graph))]
    assert labels == ["x", "2", "a = x*2", "1", "a += 1", "b = a"]


@pytest.mark.parametrize("source", ["sum(x, axis=99999999999999999999)", "x[-99999999999999999999]"])
def test_an_index_or_axis_too_large_for_any_array_is_a_parse_error(source):
    with pytest.raises(ParseError, match="out of range"):
        graph_of(source)
