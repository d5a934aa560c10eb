"""The syntax of issue 12: comparisons, methods and A.T, module prefixes, tuples, keyword values,
positional parameters, lists as arguments, constructors, and every parse error they bring (one
message, a caret, exit 2)."""

import math

import numpy as np
import pytest

from cgraph_cli import ast
from cgraph_cli.ast import Binary, Name
from cgraph_cli.engine import evaluate
from cgraph_cli.errors import ExitStatus, ParseError
from cgraph_cli.grammar import MODULES, parse
from cgraph_cli.graph import build
from cgraph_cli.ops import BOOLEANS, COMPARISONS, KEYWORD_KINDS, METHODS, OPS

from conftest import run_cgraph


def graph_of(source, bound=()):
    return build(parse(source), source, frozenset(bound))


def run(source, **bindings):
    bindings = {k: (np.array(v, dtype=float) if isinstance(v, list) else v) for k, v in bindings.items()}
    return evaluate(graph_of(source, bindings), bindings)


def error_of(source, bound=()) -> str:
    with pytest.raises(ParseError) as info:
        graph_of(source, bound)
    assert info.value.exit_code == ExitStatus.USAGE == 2
    message = str(info.value)
    assert "line 1, column" in message and "^" in message   # a caret under the place
    return message


def caret_text(source: str, message: str) -> str:
    """The source text the caret line marks (^ and ~)."""
    lines = message.splitlines()
    shown = next(i for i, line in enumerate(lines) if line == "  " + source)
    marks = lines[shown + 1][2:]
    start = marks.index("^")
    return source[start:len(marks.rstrip())]


# ---------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sign, op", sorted(COMPARISONS.items()))
def test_each_comparison_builds_the_binary_node_of_its_op(sign, op):
    (statement,) = parse(f"a {sign} b").statements
    assert statement == Binary(op, Name("a", (0, 1)), Name("b", (len(sign) + 3, len(sign) + 4)),
                               (0, len(sign) + 4))
    truth = {"lt": 1 < 2, "le": 1 <= 2, "gt": 1 > 2, "ge": 1 >= 2, "eq": 1 == 2, "ne": 1 != 2}[op]
    assert run(f"a {sign} b", a=1.0, b=2.0).value == float(truth)
    assert run(f"a {sign} b", a=2.0, b=2.0).value == float(eval(f"2 {sign} 2"))   # noqa: S307 (test)


def test_comparisons_bind_less_tightly_than_sums():
    (statement,) = parse("a + 1 < b * 2 - c").statements
    assert statement.op == "lt" and statement.left.op == "add" and statement.right.op == "sub"
    assert run("a + 1 < b * 2 - c", a=1.0, b=2.0, c=1.0).value == 1.0   # 2 < 3
    assert run("-a < b", a=1.0, b=-0.5).value == 1.0                    # (-a) < b


def test_equal_signs_are_told_apart():
    """`=` assigns, `==` compares, `<=` is one token: x = a < b; f(x == 0) and keywords still work."""
    result = run("x = a < b; y = x == 0; z = a <= b; y + 2*z + sum(v, axis=0)", a=1.0, b=2.0, v=[1, 2])
    assert result.value == 0 + 2 * 1 + 3
    assert run("max(x == 0, x)", x=0.0).value == 1.0


def test_comparisons_carry_no_gradient():
    result = run("(x > 0) * x + (x < y)", x=2.0, y=3.0)
    assert result.value == 3.0
    assert result.gradients() == {"x": 1.0, "y": 0.0}


@pytest.mark.parametrize("source, hint", [
    ("a < b < c", "write (a < b) * (b < c)"),
    ("a == b != c", "write (a == b) * (b != c)"),
    ("x + 1 <= y >= 2", "write (x + 1 <= y) * (y >= 2)"),
])
def test_chained_comparisons_are_a_parse_error_with_the_product_as_hint(source, hint):
    message = error_of(source)
    assert "comparisons do not chain: " + hint in message
    assert "\nexpected " not in message


def test_comparison_operators_print_in_expected_lists():
    message = error_of("a <")
    assert "unexpected end of input" in message


# ---------------------------------------------------------------------------------------------
# Methods, A.T, module prefixes
# ---------------------------------------------------------------------------------------------

def test_methods_mean_the_function_with_the_receiver_first():
    X = [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]
    a = np.array(X)
    assert run("X.sum()", X=X).value == a.sum()
    np.testing.assert_array_equal(run("X.sum(0)", X=X).value, a.sum(axis=0))
    np.testing.assert_array_equal(run("X.mean(axis=1)", X=X).value, a.mean(axis=1))
    np.testing.assert_array_equal(run("X.max(0)", X=X).value, a.max(axis=0))   # the reduction
    assert run("X.max()", X=X).value == 5.0
    assert run("x.exp().log()", x=2.0).value == pytest.approx(2.0, rel=1e-15)
    assert run("x.tanh() + x.relu() + x.sigmoid() + x.sqrt() + x.abs()", x=0.25).value == pytest.approx(
        math.tanh(0.25) + 0.25 + 1 / (1 + math.exp(-0.25)) + 0.5 + 0.25, rel=1e-15)
    np.testing.assert_array_equal(run("(X.T @ X)", X=X).value, a.T @ a)
    np.testing.assert_array_equal(run("X.transpose()", X=X).value, a.T)
    assert run("v.dot(w)", v=[1, 2], w=[3, 4]).value == 11.0
    assert run("x.pow(3)", x=2.0).value == 8.0


def test_method_names_are_numpy_and_pytorch_spellings_of_existing_rows():
    assert METHODS["max"] == "reduce_max" and METHODS["sum"] == "sum" and METHODS["t"] == "transpose"
    assert all(op in OPS and OPS[op].arity != 0 for op in METHODS.values())   # never a leaf (var)
    assert METHODS.get("var") != "var"
    for method in ("sum", "mean", "max", "exp", "log", "tanh", "relu", "sigmoid", "sqrt", "abs",
                   "transpose", "softmax", "log_softmax"):
        assert method in METHODS, method


def test_a_method_gradient_is_the_function_gradient():
    by_method = run("X.sum(0) @ w + X.T.sum()", X=[[1, 2], [3, 4]], w=[0.5, -1])
    by_function = run("sum(X, axis=0) @ w + sum(transpose(X))", X=[[1, 2], [3, 4]], w=[0.5, -1])
    assert by_method.value == by_function.value
    np.testing.assert_array_equal(by_method.gradients()["X"], by_function.gradients()["X"])
    np.testing.assert_array_equal(by_method.gradients()["X"], [[1.5, 0], [1.5, 0]])


@pytest.mark.parametrize("source, hint", [
    ("np.exp(x)", "cgraph's functions need no module prefix: write exp(x)"),
    ("numpy.sum(x, 0)", "write sum(x, 0)"),
    ("torch.relu(x)", "write relu(x)"),
    ("F.relu(x)", "write relu(x)"),
    ("math.sin(x)", "write sin(x)"),
    ("np.maximum(x, 0)", "write max(x, 0)"),
    ("np.max(x, 0)", "write max(x, axis=0) for NumPy's reduction over axis 0; cgraph's max(x, 0) is the "
                     "elementwise maximum of x and 0"),
    ("np.min(X, 1)", "write min(X, axis=1)"),
    ("np.pi * x", "write pi"),
    ("torch.frobnicate(x)", "it has no function 'frobnicate'"),
])
def test_module_prefixes_are_a_parse_error_with_a_hint(source, hint):
    message = error_of(source)
    assert hint in message
    assert "unbound" not in message
    assert caret_text(source, message) == source.split(".")[0] + "."


def test_a_module_name_that_is_bound_is_a_receiver():
    assert run("F.exp()", F=0.0).value == 1.0
    assert run("np = 2; np.exp()").value == pytest.approx(math.exp(2), rel=1e-15)
    assert {"np", "numpy", "math", "torch", "jnp", "F", "tf"} <= MODULES


@pytest.mark.parametrize("source, words, marked", [
    ("x.foo()", "unknown method '.foo()'", "foo"),
    ("x.sums()", "did you mean .sum()?", "sums"),
    ("x.max", "a method needs parentheses: write x.max()", "max"),
    ("x.shape", "the only attribute is .T (the transpose)", "shape"),
    ("x.T()", "unknown method '.T()'", "T"),
])
def test_unknown_methods_and_attributes(source, words, marked):
    message = error_of(source, {"x"})
    assert words in message
    assert caret_text(source, message) == marked


def test_method_argument_counts_do_not_count_the_receiver():
    count = len(OPS["sum"].params)
    message = error_of("x.sum(" + ", ".join(["0"] * (count + 1)) + ")")
    assert f".sum() takes 0 arguments and at most {count} parameter" in message
    assert f"got {count + 1}" in message
    assert ".exp() takes 0 arguments, got 1" in error_of("x.exp(2)")


# ---------------------------------------------------------------------------------------------
# Tuples, keyword values and positional parameters
# ---------------------------------------------------------------------------------------------

def test_tuples_and_booleans_as_keyword_values():
    X = [[1.0, 2.0], [3.0, 4.0]]
    assert run("sum(X, axis=(0, 1))", X=X).value == 10.0
    assert run("sum(X, axis=(1,))", X=X).value.tolist() == [3.0, 7.0]
    assert run("sum(X, axis=(-1, 0))", X=X).value == 10.0
    assert graph_of("sum(X, axis=(0, 1))").attrs == {1: {"axis": (0, 1)}}


def test_positional_parameters_fill_the_params_in_order():
    X = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(run("sum(X, 0)", X=X).value, [4.0, 6.0])
    np.testing.assert_array_equal(run("sum(X, -1)", X=X).value, [3.0, 7.0])
    np.testing.assert_array_equal(run("softmax(X, 0)", X=X).value, run("softmax(X, axis=0)", X=X).value)
    assert graph_of("sum(X, 0)").attrs == {1: {"axis": 0}}


def test_pytorch_keyword_spellings_are_numpy_s():
    X = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(run("sum(X, dim=1)", X=X).value, [3.0, 7.0])
    np.testing.assert_array_equal(run("X.softmax(dim=0)", X=X).value, run("softmax(X, axis=0)", X=X).value)
    assert "sum() has no keyword 'dimension'" in error_of("sum(X, dimension=0)")


def test_count_still_chooses_between_max_and_its_reduction():
    assert run("max(X)", X=[1, 5, 2]).value == 5.0
    np.testing.assert_array_equal(run("max(X, 0)", X=[1, -5, 2]).value, [1, 0, 2])   # elementwise
    np.testing.assert_array_equal(run("max(X, axis=0)", X=[[1, 5], [3, 2]]).value, [3, 5])
    message = error_of("max(X, 0, 1)")
    assert "max() takes 1 or 2 arguments, got 3" in message and "max(X, axis=0)" in message


def test_constant_parameters_leave_no_node_on_the_tape():
    for source in ("sum(X, 0)", "sum(X, axis=-1)", "sum(X, axis=(0, 1))", "X.sum(0)", "sum(X, dim=-1)",
                   "x[0]", "x[-1]", "x[[0, 2]]", "X[[0, 1], -1]"):
        graph = graph_of(source)
        assert graph.ops.count("const") == 0, (source, graph.ops)
        assert len(graph) == 2, (source, graph.ops)
    graph = graph_of("concatenate([a, b], axis=0)")
    assert graph.ops == ["var", "var", "concatenate"] and graph.inputs[2] == (0, 1)


def test_names_that_are_constants_may_be_parameters_unless_bound():
    assert graph_of("full((2, 2), pi)").constants[0].tolist() == [[math.pi] * 2] * 2
    message = error_of("full((2, 2), pi)", {"pi"})
    assert "the parameter fill_value of full() must be a constant (a number)" in message


@pytest.mark.parametrize("source, words, marked", [
    ("sum(X, k)", "the parameter axis of sum() must be a constant (an integer or a tuple of integers", "k"),
    ("sum(X, axis=k + 1)", "the parameter axis of sum() must be a constant", "k + 1"),
    ("sum(X, axis=(0, k))", "the parameter axis of sum() must be a constant", "(0, k)"),
    ("sum(X, axis=1.5)", "axis= takes an integer or a tuple of integers, such as 0 or (0, 1), got 1.5",
     "1.5"),
    ("sum(X, axis=True)", "axis= takes an integer or a tuple of integers", "True"),
    ("zeros((2, -1))", "zeros needs sizes of 0 or more, got (2, -1)", "zeros((2, -1))"),
    ("zeros((2, -3))", "shape= takes a size or a tuple of sizes", "(2, -3)"),
    ("zeros((2, 1.5))", "shape= takes a size or a tuple of sizes, such as 3 or (2, 3), got (2, 1.5)",
     "(2, 1.5)"),
    ("eye(2.5)", "n= takes an integer, got 2.5", "2.5"),
    ("sum(X, axis=0, axis=1)", "axis given twice", "axis=1"),
    ("sum(X, 0, axis=1)", "axis given by position and by keyword", "axis=1"),
    ("sum(X, axis=0, 1)", "a positional argument cannot follow the keyword argument axis=", "1"),
    ("sum(X, 0, 1, 2)", "sum() takes 1 argument and at most 2 parameters (axis, keepdims), got 4",
     "sum(X, 0, 1, 2)"),
    ("exp((1, 2))", "a tuple such as (2, 3) is a shape or axes, given as a parameter", "(1, 2)"),
    ("sum(X, axis=99999999999999999999)", "out of range", "99999999999999999999"),
    ("sin(x, 2)", "sin() takes 1 argument, got 2", "sin(x, 2)"),
])
def test_parameter_mistakes_are_parse_errors_at_the_parameter(source, words, marked):
    message = error_of(source)
    assert words in message
    assert caret_text(source, message) == marked


@pytest.mark.parametrize("source", ["(2, 3) + x", "x = (2,)", "x[(0, 1)]", "sum((2, 3) * x)"])
def test_a_tuple_that_is_not_an_argument_is_a_parse_error_with_a_hint(source):
    message = error_of(source)
    assert "a tuple such as (2, 3) is" in message and "[2, 3]" in message


def test_every_param_of_every_row_has_a_kind():
    for op in OPS.values():
        for param in op.params:
            assert param in KEYWORD_KINDS, (op.name, param)


def test_true_and_false_are_one_and_zero_in_formulas_unless_bound():
    assert BOOLEANS == {"True": 1.0, "False": 0.0}
    assert run("x * True + False", x=3.0).value == 3.0
    assert run("True * 2").value == 2.0
    result = evaluate(graph_of("True * 2", {"True"}), {"True": 5.0})
    assert result.value == 10.0


# ---------------------------------------------------------------------------------------------
# Lists as arguments and constructors
# ---------------------------------------------------------------------------------------------

def test_a_list_argument_is_the_inputs_not_a_literal():
    result = run("concatenate([a, b])", a=[1, 2], b=[3])   # sizes differ: no ragged-literal error
    assert result.value.tolist() == [1.0, 2.0, 3.0]
    assert result.graph.ops == ["var", "var", "concatenate"]
    assert run("concatenate([[1, 2], [3]])").value.tolist() == [1.0, 2.0, 3.0]
    assert run("stack([a, b], axis=1)", a=[1, 2], b=[3, 4]).value.tolist() == [[1, 3], [2, 4]]
    assert run("stack([a, b])", a=[1, 2], b=[3, 4]).value.tolist() == [[1, 2], [3, 4]]
    assert run("cat([a, b], 0)", a=[1], b=[2]).value.tolist() == [1.0, 2.0]
    message = error_of("stack(a, b)")
    assert "stack() takes a list of its inputs: write stack([a, b], axis=0)" in message


def test_constructors_are_one_const_node_with_numpy_s_values():
    cases = {
        "zeros((2, 3))": np.zeros((2, 3)), "zeros(3)": np.zeros(3), "ones((2,))": np.ones(2),
        "full((2, 2), -1.5)": np.full((2, 2), -1.5), "full(3, 7)": np.full(3, 7.0), "eye(3)": np.eye(3),
        "arange(4)": np.arange(4.0), "arange(1, 2, 0.25)": np.arange(1, 2, 0.25),
        "arange(5, 1, -2)": np.arange(5.0, 1, -2), "range(3)": np.arange(3.0), "zeros(0)": np.zeros(0),
        "ones(shape=(1, 2))": np.ones((1, 2)), "arange(stop=3)": np.arange(3.0),
    }
    for source, expected in cases.items():
        graph = graph_of(source)
        assert graph.ops == ["const"] and graph.uses_tensors, source
        value = graph.constants[0]
        assert value.dtype == np.float64 and value.shape == expected.shape, source
        np.testing.assert_array_equal(value, expected)
    result = run("sum(x * ones((2, 3)))", x=2.0)
    assert result.value == 12.0 and result.gradients() == {"x": 6.0}


@pytest.mark.parametrize("source, words", [
    ("zeros((100000, 100000))", "zeros would have 10,000,000,000 elements; cgraph refuses more than 10^8"),
    ("ones(100000001)", "ones would have 100,000,001 elements"),
    ("eye(20000)", "eye would have 400,000,000 elements"),
    ("arange(1e12)", "arange would have 1,000,000,000,000 elements"),
    ("arange(0, 1, 0)", "arange's step must not be 0"),
    ("eye(-1)", "eye needs n of 0 or more"),
])
def test_absurd_constructors_are_refused_before_allocating(source, words):
    assert words in error_of(source)


# ---------------------------------------------------------------------------------------------
# Postorder, the hot loop, end to end
# ---------------------------------------------------------------------------------------------

def test_postorder_by_hand_matches_the_builder_on_the_new_syntax():
    for source in ["x.sum(0) + A.T @ v", "sum(X, axis=(0, 1), keepdims=True)", "stack([a, b], 1)",
                   "x[[0, 2], i, -1:]", "zeros((2, 3)) < y", "sum(X, 0, 1)", "exp((1, 2))",
                   "concatenate([a, [1, 2]], axis=0)", "np.max(x, 0)", "full((2, 2), pi)"]:
        program = parse(source)
        assert program.postorder == ast.postorder(ast.Program(program.statements, program.span)), source


def test_a_hundred_thousand_methods_in_a_chain_parse_and_build_linearly():
    source = "x" + ".exp().log()" * 50_000
    graph = graph_of(source)
    assert len(graph) == 100_001
    assert evaluate(graph, {"x": 0.5}).value == pytest.approx(0.5, rel=1e-9)


@pytest.mark.parametrize("args, code, first_line", [
    (("a < b < c", "--a", 1, "--b", 2, "--c", 3), 2, "cgraph: parse error: unexpected comparison '<'"),
    (("np.exp(x)", "--x", 1), 2, "cgraph: parse error: module prefix 'np.' at line 1, column 1:"),
    (("sum(X, k)", "--X", "[1, 2]", "--k", 0), 2, "cgraph: parse error: the parameter axis of sum()"),
    (("zeros((99999, 99999))",), 2, "cgraph: parse error: zeros would have"),
    (("x.shape", "--x", 1), 2, "cgraph: parse error: unknown attribute '.shape'"),
])
def test_cli_errors_are_one_message_with_the_exit_code(args, code, first_line):
    result = run_cgraph("eval", *args, "--format", "json")
    assert result.code == code, result.err
    assert result.out == ""
    assert result.err.startswith(first_line), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


def test_cli_methods_and_comparisons_end_to_end():
    result = run_cgraph("eval", "(X.sum(0) > 2) * X.sum(0)", "--X", "[[1, 2], [3, -4]]", "--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["value"] == [4.0, 0.0]
    assert document["gradients"]["X"] == [[1.0, 0.0], [1.0, 0.0]]
    ops = [node["op"] for node in document["nodes"]]
    assert ops == ["var", "sum", "const", "gt", "sum", "mul"]


def test_a_method_s_positional_integers_are_gathered_into_a_shape(monkeypatch):
    """x.reshape(2, 3) is x.reshape((2, 3)) where the row's first param is a shape or axes (checked
    here on a stand-in row, so the rule is tested whichever shape rows exist)."""
    from cgraph_cli.ops import Op

    row = Op("reshape_like", 1, lambda a, shape: a, lambda g, out, a, shape: (g,), "reshape_like",
             params=("shape",), tensor=True)
    monkeypatch.setattr(ast, "METHODS", {**METHODS, "reshape_like": "reshape_like"})
    monkeypatch.setattr(ast, "OPS", {**OPS, "reshape_like": row})
    for source in ("x.reshape_like(2, 3)", "x.reshape_like((2, 3))", "x.reshape_like(-1, 3)"):
        program = parse(source)
        assert [type(node).__name__ for node in program.postorder] == ["Name", "Method"], source
        op, inputs, params, keywords = ast.split(program.statements[0])
        assert op == "reshape_like" and [i.name for i in inputs] == ["x"] and not keywords
        (shape,) = params
        assert type(shape) is ast.Tuple and len(shape.elements) == 2
        assert source[slice(*shape.span)] in ("2, 3", "(2, 3)", "-1, 3")
    # not gathered: a function call, a non-integer, a row whose first param is not a shape
    assert len(ast.split(parse("sum(x, 2, 3)").statements[0])[2]) == 2
    assert len(ast.split(parse("x.reshape_like(2, k)").statements[0])[2]) == 2
    assert len(ast.split(parse("x.sum(0, 1)").statements[0])[2]) == 2


@pytest.mark.skipif("reshape" not in METHODS or "transpose" not in METHODS
                    or not OPS["transpose"].params, reason="the shape rows arrive with the tensor rows")
def test_reshape_and_transpose_methods_take_numpy_s_forms():
    X = np.arange(6.0).reshape(2, 3)
    for source in ("X.reshape(3, 2)", "X.reshape((3, 2))", "reshape(X, (3, 2))", "X.reshape(-1, 2)"):
        np.testing.assert_array_equal(run(source, X=X.tolist()).value, X.reshape(3, 2))
    np.testing.assert_array_equal(run("X.transpose(1, 0)", X=X.tolist()).value, X.T)
