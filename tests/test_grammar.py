"""The grammar file, the LALR driver over Lark's tables, and the parse-error messages.

The driver (cgraph_cli.grammar.parse) is pinned to Lark's own parser: random
programs give the same AST through both, and random garbage is rejected by both.
"""

import hashlib
import json

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Transformer, Transformer_NonRecursive, v_args
from lark.parsers.lalr_analysis import LALR_Analyzer

from cgraph_cli import ast, parse_tables
from cgraph_cli.ast import AstBuilder, Assign, Binary, Name, Num, Program, Unary
from cgraph_cli.engine import evaluate
from cgraph_cli.errors import ExitStatus, ParseError
from cgraph_cli.grammar import Parser, export_tables, grammar_text, lark_parser, parse, tables
from cgraph_cli.graph import build


def run(source, **bindings):
    return evaluate(build(parse(source), source, frozenset(bindings)), bindings)


def strip(node):
    """The AST with every span replaced by None (and Program.postorder dropped)."""
    if isinstance(node, Program):
        return Program(tuple(strip(s) for s in node.statements), None)
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        return type(node)(*[None if field == "span" else strip(getattr(node, field))
                            for field in node._fields])
    if isinstance(node, tuple):
        return tuple(strip(item) for item in node)
    return node


def shape(program):
    """What the two parsers must agree on: statements and spans (postorder is checked apart).

    A program of nothing but comments and whitespace has no position in Lark's tree."""
    return program.statements, (program.span if program.statements else None)


# ---------------------------------------------------------------------------------------------
# The grammar builds, without conflicts, and its tables export
# ---------------------------------------------------------------------------------------------

def _strict_lalr(parser):
    """Rebuild the LALR tables with strict=True: a shift/reduce conflict raises instead of
    being silently resolved as a shift (Lark's default, which lark_parser() uses)."""
    analyzer = LALR_Analyzer(parser.parser.parser_conf, strict=True)
    analyzer.compute_lalr()
    return analyzer


def test_lark_parser_builds_lalr_tables_without_conflicts():
    parser = lark_parser()
    assert parser.options.parser == "lalr"
    analyzer = _strict_lalr(parser)
    assert len(analyzer.parse_table.states) == len(parser.parser.parser.parser.parse_table.states)
    tree = parser.parse("x + 1")
    assert tree.data == "program" and tree.children[0].data == "add"


def test_the_strict_conflict_check_can_fail():
    """The check above is not vacuous: an ambiguous power rule is reported."""
    ambiguous = grammar_text().replace('postfix ("^" | "**") unary', 'power ("^" | "**") power')
    assert ambiguous != grammar_text()
    parser = lark.Lark(ambiguous, parser="lalr", lexer="basic")
    with pytest.raises(lark.exceptions.GrammarError, match="Shift/Reduce"):
        _strict_lalr(parser)


def test_export_tables_gives_json_data_the_driver_runs():
    data = export_tables(lark_parser())
    assert json.loads(json.dumps(data)) == data
    assert set(data) >= {"grammar_sha256", "start", "states", "rules", "terminals", "ignore"}
    assert data["grammar_sha256"] == hashlib.sha256(grammar_text().encode()).hexdigest()
    assert 0 <= data["start"] < len(data["states"])
    names = [name for name, _ in data["terminals"]]
    assert {"NUMBER", "NAME", "AUGOP", "_NEWLINE", "LPAR", "RPAR"} <= set(names)
    assert "COMMENT" in data["ignore"]
    # a longer operator is tried before its prefix, as Lark's lexer does
    assert names.index("AUGOP") < names.index("PLUS")
    for rule in data["rules"]:
        origin, size, kind, callback, kept = rule[:5]
        assert kind in ("pass", "call", "splice")
        assert all(0 <= i < size for i in kept)
        if kind == "call":
            assert callable(getattr(AstBuilder, callback))
    reloaded = json.loads(json.dumps(data))
    program = Parser(reloaded).parse("a = 2; a * (3 + b)")
    assert strip(program) == strip(parse("a = 2; a * (3 + b)"))
    assert run("a = 2; a * (3 + b)", b=1.0).value == 8.0


def test_tables_are_cached_in_the_user_cache_and_rebuilt_when_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_tables, "PACKAGED", tmp_path / "none.json")   # as in a checkout
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CGRAPH_NO_CACHE", raising=False)
    sha = hashlib.sha256(grammar_text().encode()).hexdigest()
    source = "a = 2; a * (3 + b)"
    built = tables.__wrapped__()
    files = list((tmp_path / "cgraph").glob("parser-*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text()) == json.loads(json.dumps(built))
    # a second start reads the file (same data, although Lark numbers its states anew per build)
    assert tables.__wrapped__() == json.loads(files[0].read_text())
    # a stale or corrupt cache is rebuilt, not trusted
    for planted in (json.dumps({"grammar_sha256": "0" * 64, "states": []}), "{not json"):
        files[0].write_text(planted)
        rebuilt = tables.__wrapped__()
        assert rebuilt["grammar_sha256"] == sha and rebuilt["states"]
        assert json.loads(files[0].read_text())["grammar_sha256"] == sha
        assert strip(Parser(rebuilt).parse(source)) == strip(parse(source))


def test_no_cache_environment_variable_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_tables, "PACKAGED", tmp_path / "none.json")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CGRAPH_NO_CACHE", "1")
    data = tables.__wrapped__()
    assert data["states"]
    assert not (tmp_path / "cgraph").exists()


# ---------------------------------------------------------------------------------------------
# Precedence and associativity
# ---------------------------------------------------------------------------------------------

def test_power_is_right_associative():
    assert strip(parse("2^3^2")).statements == (
        Binary("pow", Num(2.0, "2", None), Binary("pow", Num(3.0, "3", None), Num(2.0, "2", None), None),
               None),)
    assert run("2^3^2").value == 512.0
    assert run("2**3**2").value == 512.0
    assert run("2^3**2").value == 512.0


def test_unary_minus_is_looser_than_power():
    assert strip(parse("-x^2")).statements == (
        Unary("neg", Binary("pow", Name("x", None), Num(2.0, "2", None), None), None),)
    assert run("-x^2", x=3.0).value == -9.0
    assert run("-2^2").value == -4.0
    assert run("(-2)^2").value == 4.0


def test_exponent_may_be_negated():
    assert run("2^-1").value == 0.5
    assert run("2**-2").value == 0.25
    assert run("2^-x^2", x=1.0).value == 0.5        # 2^(-(x^2))
    assert run("4^2^-1").value == 2.0               # 4^(2^(-1))


def test_double_star_is_power():
    assert run("2**3").value == 8.0
    assert strip(parse("2**3")) == strip(parse("2^3"))


def test_minus_and_divide_are_left_associative():
    a, b, c = Name("a", None), Name("b", None), Name("c", None)
    assert strip(parse("a - b - c")).statements == (Binary("sub", Binary("sub", a, b, None), c, None),)
    assert strip(parse("a / b / c")).statements == (Binary("div", Binary("div", a, b, None), c, None),)
    assert run("a - b - c", a=10.0, b=3.0, c=2.0).value == 5.0
    assert run("a / b / c", a=24.0, b=4.0, c=2.0).value == 3.0


def test_products_bind_tighter_than_sums():
    assert run("1 + 2 * 3").value == 7.0
    assert run("(1 + 2) * 3").value == 9.0
    assert run("2 * 3 ^ 2").value == 18.0
    assert run("8 - 2 * 3 - 1").value == 1.0
    assert run("x - -y", x=1.0, y=2.0).value == 3.0
    assert run("--x", x=5.0).value == 5.0
    assert run("-+-x", x=5.0).value == 5.0


def test_numbers():
    for text, value in [("3", 3.0), ("3.", 3.0), (".5", 0.5), ("1.25", 1.25), ("1e3", 1000.0),
                        ("2.5E-2", 0.025), ("1e+2", 100.0)]:
        (number,) = parse(text).statements
        assert number == Num(value, text, (0, len(text)))


def test_spans_cover_the_source_text():
    source = "a = (x + 1) * sin(y)"
    (statement,) = parse(source).statements
    assert statement.span == (0, len(source))
    product = statement.value
    assert source[slice(*product.span)] == "(x + 1) * sin(y)"
    assert source[slice(*product.left.span)] == "x + 1"
    assert source[slice(*product.right.span)] == "sin(y)"


# ---------------------------------------------------------------------------------------------
# Programs: separators, comments, newlines, augmented assignment
# ---------------------------------------------------------------------------------------------

def test_semicolons_and_newlines_separate_statements():
    expected = strip(parse("a = 1; b = a + 1; b * 3"))
    assert len(expected.statements) == 3
    assert strip(parse("a = 1\nb = a + 1\nb * 3")) == expected
    assert strip(parse("a = 1;\nb = a + 1\n;b * 3")) == expected
    assert run("a = 1; b = a + 1; b * 3").value == 6.0


def test_trailing_semicolon_blank_lines_and_comments():
    assert run("x * 2;", x=4.0).value == 8.0
    assert len(parse(";;x;;").statements) == 1
    source = "\n\n# heading\n\na = 2   # two\n\n\nb = a^2  # square\n   \n# end"
    program = parse(source)
    assert [type(s) for s in program.statements] == [Assign, Assign]
    assert run(source).value == 4.0
    assert parse("# only a comment").statements == ()
    assert parse("\n;\n").statements == ()


def test_newlines_inside_parentheses_are_whitespace():
    assert run("(1 +\n 2\n) * 3").value == 9.0
    assert run("max(1,\n    2)\n").value == 2.0
    assert run("f = (x  # comment inside\n + 1)\nf * 2", x=1.0).value == 4.0
    with pytest.raises(ParseError, match="unexpected end of line"):
        parse("1 +\n 2")            # outside parentheses a newline ends the statement


def test_augmented_assignment():
    (first, second, third, fourth, fifth) = parse("c = 2; c += 3; c *= 4; c -= 1; c /= 2").statements
    assert (first.op, second.op, third.op, fourth.op, fifth.op) == (None, "add", "mul", "sub", "div")
    assert all(s.name == "c" for s in (first, second, third, fourth, fifth))
    assert run("c = 2; c += 3; c *= 4; c -= 1; c /= 2").value == 9.5
    result = run("c = x\nc *= x\nc += 1", x=3.0)
    assert result.value == 10.0 and result.gradients() == {"x": 6.0}


def test_postorder_lists_children_before_parents():
    program = parse("a = x * (y + 1); b = sin(a, 2); -b")
    assert program.postorder == ast.postorder(Program(program.statements, program.span))
    kinds = [type(node).__name__ for node in program.postorder]
    assert kinds == ["Name", "Name", "Num", "Binary", "Binary", "Assign",
                     "Name", "Num", "Call", "Assign", "Name", "Unary"]


def test_a_failed_parse_leaves_nothing_behind():
    with pytest.raises(ParseError):
        parse("x + (y * ")
    program = parse("z")
    assert program.postorder == (Name("z", (0, 1)),)


# ---------------------------------------------------------------------------------------------
# The driver is pinned to Lark's own parser
# ---------------------------------------------------------------------------------------------

RULES = ["number", "name", "add", "sub", "mul", "div", "pow", "neg", "pos", "call", "assign",
         "augassign", "program", "matmul", "compare", "index", "method", "attribute", "tensor", "tuple",
         "keyword", "slice", "integer", "negative_integer"]


def _inline_adapter():
    """An inline transformer for lark_parser(transformer=...): AstBuilder methods, no spans
    (Lark's inline transformers cannot take meta; it raises NotImplementedError)."""
    builder = AstBuilder()

    def method(rule):
        return lambda self, *children: getattr(builder, rule)(None, *children)

    return v_args(inline=True)(type("InlineAdapter", (Transformer,), {r: method(r) for r in RULES}))()


def _meta_adapter():
    """A tree transformer with Lark's propagated positions as the spans."""
    builder = AstBuilder()

    def method(rule):
        def build_node(self, meta, *children):
            span = (0, 0) if meta.empty else (meta.start_pos, meta.end_pos)
            return getattr(builder, rule)(span, *children)
        return build_node

    return v_args(inline=True, meta=True)(
        type("MetaAdapter", (Transformer_NonRecursive,), {r: method(r) for r in RULES}))()


def test_lark_inline_transformer_rejects_meta():
    """Why the span comparison goes through a tree: Lark's inline transformer has no meta."""
    @v_args(inline=True, meta=True)
    class WithMeta(Transformer):
        def add(self, meta, left, right):
            return left
    with pytest.raises(NotImplementedError):
        lark_parser(transformer=WithMeta())


@pytest.fixture(scope="module")
def lark_parsers():
    return lark_parser(), lark_parser(transformer=_inline_adapter())


def lark_ast(parsers, text):
    tree_parser, _ = parsers
    return _meta_adapter().transform(tree_parser.parse(text))


def lark_inline_ast(parsers, text):
    _, inline_parser = parsers
    return inline_parser.parse(text)


def test_lark_and_driver_agree_on_examples(lark_parsers):
    for text in ["(x+1) * 2 ; a += -3^2", "f = sin(\n x ,\n (y))\n", "(((x)))", "-(x)", "x^(y)",
                 "\n\n x;", "max(1,2)+ (3)", "", " x ; ", "  # c\n x", "x # c", "2**-x**2",
                 "x.sum(0)", "A.T @ x.reshape(2, 3)", "a < b", "x = a <= b + 1", "f(x == 0)",
                 "sum(X, axis=(0, 1), keepdims=True)", "zeros((2,))", "stack([a, b], 1)", "x[[0, 2], -1]",
                 "P[arange(3), t]", "x[i][::-1]", "np.exp(x)", "sum(x, dim=-1)"]:
        ours = parse(text)
        assert shape(lark_ast(lark_parsers, text)) == shape(ours), text
        assert strip(lark_inline_ast(lark_parsers, text)) == strip(ours), text


WHITESPACE = st.sampled_from(["", " ", "  ", "\t"])
INSIDE_PARENS = st.sampled_from(["", " ", "\n", " \n  ", "\n# note\n", "\r\n"])
NAMES = st.sampled_from(["x", "y", "z1", "_t", "pi", "e", "value", "sin", "Xy_2"])
NUMBERS = st.one_of(
    st.sampled_from(["0", "1", "2.", ".5", "3.25", "1e3", "2.5E-2", "7e+1", "00"]),
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(repr),
)
FUNCTIONS = st.sampled_from(["sin", "exp", "max", "f", "pow", "sum", "stack", "concatenate", "zeros"])
METHOD_NAMES = st.sampled_from(["sum", "max", "reshape", "exp", "foo", "T"])
PARAMETERS = st.sampled_from(["0", "-1", "(2, 3)", "(2,)", "True", "False", "pi", "2.5", "(0, -1)"])
SUBSCRIPTS = st.sampled_from(["0", "-1", ":", "1:", "::-1", ":2", "[0, 2]", "[[0], [1]]", "i", "i + 1",
                              "-i", "[i, 0]"])


def _operand(text: str) -> str:
    """Comparisons do not chain: an operand holding one (or a keyword's =) is parenthesized."""
    return f"({text})" if any(sign in text for sign in "<>=!") else text


def _expressions():
    def extend(inner):
        return st.one_of(
            st.builds(lambda a, w1, op, w2, b: f"{_operand(a)}{w1}{op}{w2}{_operand(b)}",
                      inner, WHITESPACE, st.sampled_from(["+", "-", "*", "/", "^", "**", "@"]), WHITESPACE,
                      inner),
            st.builds(lambda op, a: f"{op}{a}", st.sampled_from(["-", "+", "- "]), inner),
            st.builds(lambda w1, a, w2: f"({w1}{a}{w2})", INSIDE_PARENS, inner, INSIDE_PARENS),
            st.builds(lambda f, a: f"{f}({a})", FUNCTIONS, inner),
            st.builds(lambda f, a, w, b: f"{f}({a},{w}{b})", FUNCTIONS, inner, INSIDE_PARENS, inner),
            # new in issue 12: methods, attributes, parameters, keywords, tuples, lists, indexing
            st.builds(lambda a, m: f"({a}).{m}()", inner, METHOD_NAMES),
            st.builds(lambda a, m, p: f"({a}).{m}({p})", inner, METHOD_NAMES, PARAMETERS),
            st.builds(lambda a: f"({a}).T", inner),
            st.builds(lambda f, a, p: f"{f}({a}, {p})", FUNCTIONS, inner, PARAMETERS),
            st.builds(lambda f, a, k, p: f"{f}({a}, {k}={p})", FUNCTIONS, inner,
                      st.sampled_from(["axis", "dim", "keepdims", "shape"]), st.one_of(PARAMETERS, inner)),
            st.builds(lambda f, a, b: f"{f}([{a}, {b}], axis=0)", FUNCTIONS, inner, inner),
            st.builds(lambda a, b: f"[{a}, {b}]", inner, inner),
            st.builds(lambda a, i: f"({a})[{i}]", inner, SUBSCRIPTS),
            st.builds(lambda a, i, j: f"({a})[{i}, {j}]", inner, SUBSCRIPTS, SUBSCRIPTS),
        )
    def compare(inner):
        return st.one_of(inner, st.builds(lambda a, op, b: f"{_operand(a)} {op} {_operand(b)}", inner,
                                          st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), inner))
    return st.recursive(st.one_of(NAMES, NUMBERS), lambda inner: compare(extend(inner)), max_leaves=12)


EXPRESSIONS = _expressions()
STATEMENTS = st.one_of(
    EXPRESSIONS,
    st.builds(lambda n, w1, w2, e: f"{n}{w1}={w2}{e}", NAMES, WHITESPACE, WHITESPACE, EXPRESSIONS),
    st.builds(lambda n, w1, op, w2, e: f"{n}{w1}{op}{w2}{e}", NAMES, WHITESPACE,
              st.sampled_from(["+=", "-=", "*=", "/="]), WHITESPACE, EXPRESSIONS),
)
SEPARATORS = st.lists(st.sampled_from([";", "\n", " ; ", ";\n", "\n\n", "  # c\n", "\r\n", "\n \t\n"]),
                      min_size=1, max_size=2).map("".join)


@st.composite
def programs(draw):
    leading = draw(st.lists(SEPARATORS, max_size=1).map("".join))
    statements = draw(st.lists(STATEMENTS, min_size=0, max_size=4))
    text = leading
    for statement in statements:
        text += statement + draw(SEPARATORS)
    if statements and draw(st.booleans()):
        text = text.rstrip(";\n \t\r")
        text = text if text.strip() else text + "x"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["", " # end", "\n# end"]))
    return text


def _outcome(function, text, errors):
    try:
        return "ok", function(text)
    except errors as error:
        return "error", type(error).__name__


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=programs())
def test_driver_matches_lark_on_random_programs(lark_parsers, text):
    ours = parse(text)            # these programs are valid by construction
    assert shape(lark_ast(lark_parsers, text)) == shape(ours)
    assert strip(lark_inline_ast(lark_parsers, text)) == strip(ours)
    assert ours.postorder == ast.postorder(Program(ours.statements, ours.span))


GARBAGE = st.one_of(
    st.lists(st.sampled_from(list("xy12.eE+-*/^()=;,# \n\t\r_[]:<>!@T") + ["\x00", "é", "**", "+=", "==",
                                                                          "<=", "sum", "np"]),
             max_size=20).map("".join),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(text=GARBAGE)
def test_driver_and_lark_accept_and_reject_the_same_strings(lark_parsers, text):
    lark_result = _outcome(lambda t: lark_ast(lark_parsers, t), text, lark.exceptions.LarkError)
    our_result = _outcome(parse, text, ParseError)   # anything but a ParseError fails the test
    assert lark_result[0] == our_result[0], (text, lark_result, our_result)
    if our_result[0] == "ok":
        assert shape(lark_result[1]) == shape(our_result[1])


# ---------------------------------------------------------------------------------------------
# Parse errors
# ---------------------------------------------------------------------------------------------

def parse_error(text) -> str:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.exit_code == ExitStatus.USAGE == 2
    return str(info.value)


def caret_column(message: str, shown_line: str) -> int:
    """The 1-based column the caret under `shown_line` points at."""
    lines = message.splitlines()
    index = lines.index("  " + shown_line)
    caret_line = lines[index + 1]
    return caret_line.index("^") - 1


def test_error_names_line_column_caret_and_expected():
    message = parse_error("x + * 2")
    assert "unexpected '*'" in message
    assert "line 1, column 5" in message
    assert caret_column(message, "x + * 2") == 5
    expected_line = message.splitlines()[-1]
    assert expected_line.startswith("expected ")
    for word in ("a name", "a number", "'('", "'-'"):
        assert word in expected_line


def test_error_on_a_later_line():
    source = "a = 1\nb = a +\nc = 2"
    message = parse_error(source)
    assert "unexpected end of line" in message
    assert "line 2, column 8" in message
    assert caret_column(message, "b = a +") == 8


def test_caret_lines_up_after_a_tab():
    message = parse_error("\tx + * 2")
    assert "line 1, column 6" in message
    assert caret_column(message, " x + * 2") == 6


def test_implicit_multiplication_hints():
    message = parse_error("2x")
    assert "implicit multiplication" in message and "write 2*x" in message
    assert caret_column(message, "2x") == 2
    message = parse_error("2(x+1)")
    assert "write 2*(...)" in message
    assert caret_column(message, "2(x+1)") == 2
    assert "write (...)*(...)" in parse_error("(x)(y)")
    assert "write x*y" in parse_error("x y")


@pytest.mark.parametrize("source, hint", [
    ("2.5x", "write 2.5*x"),
    ("1e5x", "write 1e5*x"),
    ("2.5e-3x", "write 2.5e-3*x"),
    ("1.5e+2(x)", "write 1.5e+2*(...)"),
])
def test_implicit_multiplication_hint_repeats_the_whole_number(source, hint):
    assert hint in parse_error(source)


def test_caret_on_a_very_long_line_is_windowed():
    source = "y = 1\n" + "x+" * 50_000 + "*1"
    message = parse_error(source)
    assert "unexpected '*' at line 2, column 100001" in message
    shown, caret = message.splitlines()[1:3]
    assert len(shown) < 100 and shown.startswith("  …")
    assert shown[caret.index("^")] == "*"


def test_nul_byte_is_a_clean_parse_error():
    message = parse_error("x + \x00 + y")
    assert "unexpected character '\\x00'" in message
    assert "\x00" not in message                  # shown escaped, never raw
    assert caret_column(message, "x + \\x00 + y") == 5


@pytest.mark.parametrize("character", ["é", "😀", "·", "→", "\u00a0"])
def test_non_ascii_characters_are_a_clean_parse_error(character):
    message = parse_error(f"x + {character}")
    assert "unexpected character" in message
    assert "line 1, column 5" in message


@pytest.mark.parametrize("digit", ["\u0663", "\uff13", "\u09e9"])   # Arabic-Indic, fullwidth, Bengali 3
def test_non_ascii_digits_are_not_numbers(digit):
    """The NUMBER terminal uses \\d, which in Python's re matches every Unicode digit,
    and float() accepts them: `x + ٣` silently means x + 3."""
    message = parse_error(f"x + {digit}")
    assert "unexpected character" in message


def test_unexpected_end_of_input():
    for text, column in [("x +", 4), ("sin(x,", 7), ("a = ", 5)]:
        message = parse_error(text)
        assert "unexpected end of input" in message
        assert f"line 1, column {column}" in message
        assert "expected" in message
    assert "expected ')'" in parse_error("(x + 1")


def test_other_unexpected_tokens():
    assert "unexpected ')'" in parse_error("x)")
    assert "unexpected '='" in parse_error("x = = 2")
    assert "unexpected '^'" in parse_error("x ^ ^ 2")


# ---------------------------------------------------------------------------------------------
# Robustness: no recursion anywhere between the text and the graph
# ---------------------------------------------------------------------------------------------

def test_hundred_thousand_nested_parentheses():
    depth = 100_000
    source = "(" * depth + "x" + ")" * depth
    program = parse(source)
    assert program.statements == (Name("x", (depth, depth + 1)),)
    assert program.span == (0, len(source))
    graph = build(program, source, frozenset({"x"}))
    assert graph.ops == ["var"]
    assert graph.output == graph.variables["x"]


def test_hundred_thousand_term_sum():
    terms = 100_000
    source = "+".join(["x"] * terms)
    program = parse(source)
    (total,) = program.statements
    assert total.op == "add" and total.right == Name("x", (len(source) - 1, len(source)))
    graph = build(program, source, frozenset({"x"}))
    assert len(graph) == terms            # one var node and terms-1 additions
    assert graph.ops.count("var") == 1 and graph.ops.count("add") == terms - 1


def test_hundred_thousand_nested_unary_minus():
    depth = 100_000
    source = "-" * depth + "x"
    graph = build(parse(source), source, frozenset({"x"}))
    assert graph.ops.count("neg") == depth
