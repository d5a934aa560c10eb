"""The parser's fast path (cgraph_cli/fastparse.py) against the LALR driver it stands in front of.

Where the fast path returns a Program it must be exactly the driver's (statements, spans, the
postorder); where the driver refuses a text the fast path must return None, so the driver gives the
caret message. Its precedence table is read back from grammar/cgraph.lark here.
"""

import os
import random
from pathlib import Path
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgraph_cli import fastparse
from cgraph_cli.ast import Binary, Call, Name, Num, Unary
from cgraph_cli.errors import CgraphError, ParseError
from cgraph_cli.grammar import get_parser, lark_parser, parse
from cgraph_cli.graph import at_once, build, from_text
from cgraph_cli.ops import COMPARISONS

from conftest import clean_env
from fuzzing import program, render, scalar_tree
from test_engine_speedpaths import columns   # everything a Graph holds, as plain data


def driver(text):
    """The LALR driver's Program, or "error" when it refuses the text."""
    try:
        return get_parser().parse(text)
    except ParseError:
        return "error"


def signature(program_):
    """The Program as flat data, without recursion (a 10^5-deep nesting compares too): each node of
    the postorder with its children replaced by their positions in it; the statements by position."""
    position = {}
    rows = []
    for i, node in enumerate(program_.postorder):
        fields = []
        for field in node:
            if id(field) in position:
                fields.append(("node", position[id(field)]))
            elif type(field) is tuple and any(id(item) in position for item in field):
                fields.append(tuple(("node", position[id(item)]) for item in field))
            else:
                fields.append(field)
        position[id(node)] = i
        rows.append((type(node).__name__, tuple(fields)))
    return rows, [position.get(id(s)) for s in program_.statements], program_.span


def check(text, handled=None):
    """The fast path's Program is the driver's, or the fast path declines; it never accepts a text
    the driver refuses. handled=True/False: the fast path must (not) take the text."""
    fast = fastparse.parse(text)
    reference = driver(text)
    if handled is not None:
        assert (fast is not None) == handled, text
    if fast is not None:
        assert reference != "error", f"the fast path accepts {text!r}, the driver refuses it"
        assert fast == reference, text          # NamedTuple equality: statements, spans, postorder
    return fast


# ----------------------------------------------------------------------------------- edge cases

@pytest.mark.parametrize("text", [
    "-x^2", "x^-2", "2^3^2", "2**3**2", "2**-x**2", "-2^-3^4", "x^-y*z", "a*-b^c", "--x", "+-x", "- +x",
    "a - -b", "a-b-c", "a/b/c", "a/b*c", "a+b*c", "(a+b)*c", "a @ b * c", "((x))", "(-x)^2", "-(x)",
    "x^(y)", "a < b", "(a < b) < c", "x = a <= b + 1", "f(x == 0)", "-a < -b", "a != b", "a >= b + 1",
    "f()", "f ( )", " f ( x ) ", "max(1, 2) + (3)", "sin(x)^2", "f(g(h(x)))", "f(a,b,c)", "sum(x, 0)",
    "relu(x) * sigmoid(y - 1)", "ones(3)", "eye(3) * 2", "arange(4) + x", "max(x, y, z)", "f(-x)", "f((x))",
    "", " ", "\n", ";", ";;", "x", " x ; ", "\n\n x;", "x;y", "x\ny", "x ;\n y", "x\r\ny", "a = 1; a",
    "a += 1", "a -= 2*x", "a *= -1", "a /= 2", "a = -x^2\nb = a + 1\nb",
    "# only a comment", "x # c", "  # c\n x", "x # c\n# d", "(x # inside\n + 1)", "f(\n x ,\n (y))\n",
    "(x\n+\ny)", "1.5e3 + .5 + 2. + 7e+1 + 2.5E-2", "00", "1e999", "_t + Xy_2", "x\t+\fy",
])
def test_fast_path_matches_the_driver_on_edge_cases(text):
    check(text, handled=True)


def test_unary_minus_against_power_builds_the_grammar_s_trees():
    (neg,) = fastparse.parse("-x^2").statements
    assert type(neg) is Unary and neg.operand.op == "pow" and neg.span == (0, 4)
    (power,) = fastparse.parse("x^-2").statements
    assert power.op == "pow" and type(power.right) is Unary and power.right.span == (2, 4)
    (tower,) = fastparse.parse("2^3^2").statements
    assert tower.left == Num(2.0, "2", (0, 1)) and tower.right.op == "pow" and tower.right.span == (2, 5)
    (chain,) = fastparse.parse("a-b-c").statements
    assert chain.left.op == "sub" and chain.right == Name("c", (4, 5))


def test_spans_take_in_the_parentheses_of_an_operand():
    (node,) = fastparse.parse("(x+1) * 2").statements
    assert node.span == (0, 9) and node.left.span == (1, 4)
    (call,) = fastparse.parse("f ( x )").statements
    assert type(call) is Call and call.span == (0, 7)


@pytest.mark.parametrize("text", [
    "x[0]", "x.sum()", "A.T", "[1, 2]", "sum(X, axis=0)", "reshape(x, (2, 3))", "f(x,)", "(2, 3)",
    "a < b < c", "x = y = 1", "(x) = 1", "-x = 1", "f(x) = 1", "1 2", "2x", "x (y) (z)", "(x)(y)",
    "x +", "x + * 2", "(x", "x)", "f(", "f(x", ",x", "x;;+", "x = ", "= 1", "a ** = 2", "a ^= 2", "x\u2212y",
    "x é", "x ! y", "x ? y", "1..2", "(x;y)", "x +\n y",
])
def test_fast_path_declines_what_it_does_not_handle(text):
    check(text, handled=False)


def test_fallback_keeps_the_caret_message():
    """An error goes to the LALR driver: the message, caret and hint are the driver's."""
    for text, hint in [("x + * 2", "unexpected '*'"), ("2x", "implicit multiplication"),
                       ("a < b < c", "comparisons do not chain"), ("sin(x", "unexpected end of input")]:
        assert fastparse.parse(text) is None
        with pytest.raises(ParseError) as caught:
            parse(text)
        assert hint in caught.value.message
        assert "^" in caught.value.message and "column" in caught.value.message


def test_unsupported_syntax_still_parses_through_the_driver():
    for text in ["x[0] + 1", "A.T @ x", "sum(X, axis=(0, 1))", "[1, 2] * x"]:
        assert fastparse.parse(text) is None
        assert parse(text) == get_parser().parse(text)


def test_grammar_parse_takes_the_fast_path(monkeypatch):
    """grammar.parse runs the driver only when the fast path declines."""
    calls = []
    real = type(get_parser()).parse
    monkeypatch.setattr(type(get_parser()), "parse", lambda self, text: calls.append(text) or real(self, text))
    parse("sin(x) * y + 1")
    assert calls == []
    parse("x[0]")
    assert calls == ["x[0]"]


def test_deep_nesting_needs_no_recursion():
    depth = 100_000
    text = "sin(" * depth + "x" + ")" * depth
    fast = fastparse.parse(text)
    assert fast is not None and len(fast.postorder) == depth + 1
    assert fast.statements[0].span == (0, len(text))
    text = "(" * depth + "-x" + ")^2" * depth
    fast = fastparse.parse(text)
    assert fast is not None and len(fast.postorder) == 2 * depth + 2
    small = "(" * 3000 + "-x" + ")^2" * 3000
    assert signature(fastparse.parse(small)) == signature(get_parser().parse(small))


# ---------------------------------------------------------------------- the table is the grammar's

def test_precedence_table_is_the_grammar_s():
    """Read the operator levels back from grammar/cgraph.lark: the chain of `?rule: next` unit rules
    orders the levels; a binary rule's operand rules give its associativity."""
    lark = lark_parser()
    rules = lark.rules
    units = {r.origin.name: r.expansion[0].name for r in rules
             if len(r.expansion) == 1 and not r.expansion[0].is_term and r.alias is None}
    chain, level = ["expr"], {}
    while chain[-1] in units:
        chain.append(units[chain[-1]])
    for i, name in enumerate(chain[1:chain.index("postfix")], start=1):   # compare=1 ... power=5
        level[name] = i
    patterns = {t.name: t.pattern for t in lark.terminals}
    found = {}
    for r in rules:
        names = [s.name for s in r.expansion]
        if r.origin.name not in level or len(names) != 3 or not r.expansion[1].is_term:
            continue
        origin, tighter = r.origin.name, chain[chain.index(r.origin.name) + 1]
        if names[0] == origin and names[2] == tighter:
            associativity = "left"
        elif names[0] == tighter and names[2] == tighter:
            associativity = "none"
        else:
            assert names[0] == tighter and level.get(names[2], 99) < level[origin]
            associativity = "right"
        pattern = patterns[names[1]]
        signs = [pattern.value] if pattern.type == "str" else \
            [s for s in COMPARISONS if re.fullmatch(pattern.value, s)]
        for sign in signs:
            found[sign] = (level[origin], associativity)
    assert found == fastparse.PRECEDENCE
    prefix = {(r.expansion[0].name, r.alias) for r in rules if r.origin.name == "unary" and len(r.expansion) == 2}
    assert prefix == {("MINUS", "neg"), ("PLUS", "pos")} and fastparse.UNARY == level["unary"]
    assert patterns["NUMBER"].value.replace("(", "(?:") == fastparse.NUMBER_PATTERN
    assert patterns["NAME"].value == fastparse.NAME_PATTERN


# ------------------------------------------------------------------------- generated programs

def _subset_program(r: random.Random) -> str:
    """A program of the fast path's subset, from tests/fuzzing.py's scalar trees: statements,
    assignments, separators, comments, comparisons, spaces and newlines inside parentheses."""
    lines = []
    for _ in range(r.randint(1, 4)):
        text = render(r, scalar_tree(r, r.randint(1, 5), functions=True))
        if r.random() < 0.2:
            text = f"({text}) {r.choice(sorted(COMPARISONS))} {render(r, scalar_tree(r, 2))}"
        if r.random() < 0.2:
            text = text.replace("(", r.choice(["(\n", "( ", "(# c\n"]), 1)
        kind = r.random()
        if kind < 0.3:
            text = f"{r.choice(['a', 'b', 'loss'])}{r.choice([' = ', '=', ' += ', '*='])}{text}"
        if r.random() < 0.15:
            text += " # note\n"   # the comment ends at the newline, before any separator
        lines.append(text)
    text = lines[0]
    for line in lines[1:]:
        text += r.choice(["\n", "; ", ";", "\n\n", "\r\n", " ;\n"]) + line
    return r.choice(["", "\n", "# head\n", ";"]) + text + r.choice(["", "\n", ";", " # end"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=st.randoms(use_true_random=False))
def test_fast_path_matches_the_driver_on_subset_programs(r):
    check(_subset_program(r), handled=True)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=st.randoms(use_true_random=False))
def test_fast_path_matches_or_declines_on_the_fuzzers_programs(r):
    """tests/fuzzing.py's programs of the whole language (tensors, indexing, methods, parameters drawn
    from the op rows): the fast path gives the driver's Program or declines."""
    check(program(r))


GARBAGE = st.lists(st.sampled_from(list("xy12.eE+-*/^()=;,# \n\t\r_<>!@") + ["**", "+=", "==", "<=", "sin(",
                                                                         "f()", "\u00e9"]),
                   max_size=20).map("".join)


@settings(max_examples=50, deadline=None)
@given(text=GARBAGE)
def test_fast_path_never_accepts_what_the_driver_refuses(text):
    check(text)


def grammar_terminal(name):
    """A terminal's pattern as grammar/cgraph.lark writes it (`NAME: /.../`)."""
    text = (Path(__file__).resolve().parent.parent / "grammar" / "cgraph.lark").read_text()
    return re.search(rf"^{name}: /(.*)/$", text, re.M).group(1)


OPERATORS = {"**", "*=", "+=", "-=", "/=", "==", "<=", ">=", "!="}


def token_is_well_formed(token):
    """A name (with the "(" of a call), a number, blanks, a comment, an operator, or one character."""
    return bool(re.fullmatch(grammar_terminal("NAME") + r"\(?", token)
                or re.fullmatch(grammar_terminal("NUMBER"), token)
                or re.fullmatch(r"[ \t\f\r]+|#[^\n]*", token)
                or token in OPERATORS or len(token) == 1)


@settings(max_examples=100, deadline=None)
@given(text=GARBAGE)
def test_tokens_tile_the_text_and_are_the_grammar_s_terminals(text):
    """Offsets are the sums of the tokens' lengths, so the tokens must tile the text; each is whole
    (a name or number never split in two, a blank run never split, two-character operators kept)."""
    tokens = fastparse.TOKEN.findall(text)
    assert "".join(tokens) == text
    assert all(token_is_well_formed(token) for token in tokens), tokens
    for a, b in zip(tokens, tokens[1:]):   # maximal munch: no token could have taken the next one's start
        assert not (re.fullmatch(grammar_terminal("NAME"), a) and re.match(r"[A-Za-z0-9_(]", b)), (a, b)
        assert not (a[0] in " \t\f\r" and b[0] in " \t\f\r"), (a, b)
        assert a + b[:1] not in OPERATORS, (a, b)


def test_the_token_checks_can_fail():
    assert not token_is_well_formed("x y") and not token_is_well_formed("1.2.3") and token_is_well_formed("sin(")


def test_the_checks_can_fail():
    """check() notices a fast path that builds another tree, or accepts an invalid text."""
    original = fastparse.parse
    try:
        fastparse.parse = lambda text: get_parser().parse("y")
        with pytest.raises(AssertionError):
            check("x")
        fastparse.parse = lambda text: get_parser().parse("x")
        with pytest.raises(AssertionError):
            check("x +")
    finally:
        fastparse.parse = original
    assert type(fastparse.parse("x+1").statements[0]) is Binary


# ----------------------------------------------------------------- the graph built while parsing

def check_graph(text, bound=frozenset(), data=frozenset(), handled=None):
    """graph.at_once gives the graph that build gives from the driver's Program, or None; where parse
    then build fail it gives None (and from_text raises their error). handled: it must (not) take the text."""
    fast = at_once(text, bound, data)
    try:
        reference = build(get_parser().parse(text), text, bound, data)
    except CgraphError as error:
        reference = error
    if handled is not None:
        assert (fast is not None) == handled, text
    if fast is not None:
        assert not isinstance(reference, CgraphError), f"at_once takes {text!r}: {reference.message}"
        assert columns(fast) == columns(reference) and fast.source == reference.source, text
        assert columns(from_text(text, bound, data)) == columns(reference)
    elif isinstance(reference, CgraphError):
        with pytest.raises(CgraphError) as caught:
            from_text(text, bound, data)
        assert (type(caught.value), caught.value.message) == (type(reference), reference.message)
    return fast


@pytest.mark.parametrize("text", [
    "-x^2", "2**-x**2", "a*-b^c", "--x", "+-x", "a - -b", "a/b*c", "a @ b * c", "((x))", "(-x)^2",
    "x = a <= b + 1", "f(x == 0)", "sin(x)^2", "relu(x) * sigmoid(y - 1)", "sin(cos(tanh(x)))", "sum(x)",
    "argmax(x) + 1", "a = 1; a", "a += 1", "a -= 2*x", "a = x\nb = a\nb * a", "x = 2; x", "x += 1; x",
    "pi * x", "e ^ true", "(x # inside\n + 1)", "f (\n x )", "1.5e3 + .5 + 2. + 7e+1 + 2.5E-2", "1e999",
])
def test_the_graph_built_while_parsing_is_build_s(text):
    for bound in [frozenset(), frozenset("xy"), frozenset({"pi", "e", "x", "a"})]:
        check_graph(text, bound, handled=not text.startswith("f") or "sin" in text)
        check_graph(text, bound, frozenset("x") & bound)


@pytest.mark.parametrize("text", [
    "max(x, y)", "f(a,b,c)", "ones(3)", "zeros(2) + x", "f()", "pi()", "sum(x, 0)", "unknown(x)", "x[0]",
    "value", "value = 1", "value + 1", "", ";", "x + * 2", "a = x; a(y)", "exp(x, y)", "1 2",
])
def test_the_graph_built_while_parsing_declines_or_errs_as_build(text):
    """A call other than f(x), a reserved name, an empty program, a syntax error: at_once gives None,
    and from_text meets the error that parse then build meets."""
    for bound in [frozenset(), frozenset("xy")]:
        check_graph(text, bound, handled=False)


SPECIAL = ["pi * x", "e + true", "x += pi", "sum(x)", "argmax(y)", "max(x, y)", "zeros(2)", "value",
           "b = x", "x = 2", "sigmoid(z) >= 0.5"]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=st.randoms(use_true_random=False))
def test_the_graph_built_while_parsing_matches_build_on_subset_programs(r):
    text = _subset_program(r)
    if r.random() < 0.4:
        text = r.choice(SPECIAL) + r.choice([";", "\n"]) + text
    bound = frozenset(r.sample(["x", "y", "z", "pi", "e", "a", "true", "w"], r.randint(0, 5)))
    data = frozenset(r.sample(sorted(bound), r.randint(0, len(bound))))
    check_graph(text, bound, data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=st.randoms(use_true_random=False))
def test_the_graph_built_while_parsing_matches_or_declines_on_the_fuzzers_programs(r):
    check_graph(program(r), frozenset(r.sample(["x", "y", "z", "X", "A"], r.randint(0, 4))))


def test_the_common_formula_is_built_while_parsing(monkeypatch):
    """No syntax tree is built for the subset's formulas: neither the driver nor graph.build runs."""
    from cgraph_cli import graph as graph_module

    def refuse(*args):
        raise AssertionError("parse then build")

    monkeypatch.setattr(graph_module, "build", refuse)
    monkeypatch.setattr(type(get_parser()), "parse", refuse)
    assert len(from_text("a = sin(x) * y + 1; a^2 - x", frozenset("xy"))) == 9
    depth = 100_000   # no recursion
    assert len(from_text("tanh(" * depth + "x" + ")" * depth)) == depth + 1


def test_the_graph_checks_can_fail(monkeypatch):
    """check_graph notices a graph other than build's, and a text at_once takes where build fails."""
    wrong = from_text("x + 1")
    monkeypatch.setitem(globals(), "at_once", lambda text, bound=(), data=(): wrong)
    with pytest.raises(AssertionError):
        check_graph("x + 2", handled=True)
    with pytest.raises(AssertionError):
        check_graph("value", handled=True)


@pytest.mark.parametrize("text", ["x[0] + 1", "A.T @ x", "x +", "2x"])
def test_a_text_fastparse_declines_is_read_by_it_once(monkeypatch, text):
    """graph.from_text then grammar.parse: the second is told the first declined (no second reading)."""
    runs = []
    original = fastparse._parse
    monkeypatch.setattr(fastparse, "_parse", lambda *args: runs.append(1) or original(*args))
    try:
        from_text(text, frozenset("xA"))
    except ParseError:
        pass
    assert runs == [1]
    assert fastparse.parse("x + 1") is not None and runs == [1, 1]   # another text is read


def test_a_call_that_needs_its_tree_stops_the_graph_at_its_function_s_name(monkeypatch):
    """`max(` is refused when it is read, before its arguments go to the graph."""
    emitted = []
    original = fastparse._parse
    monkeypatch.setattr(fastparse, "_parse", lambda text, sink: original(
        text, sink._replace(binary=lambda *args: emitted.append(args) or sink.binary(*args))))
    graph = from_text("x * y + max(x" + " + x" * 1000 + ", y)", frozenset("xy"))
    assert len(graph) == 2 + 1 + 1000 + 2 and graph.ops[-2] == "max"
    assert len(emitted) == 1 + 1002   # x * y at once, then the syntax tree's 1,002


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_a_parse_error_does_not_wait_for_the_vars_file(tmp_path):
    """load_graph reads a --vars file after it parses the formula (the file may be a pipe)."""
    fifo = tmp_path / "vars.json"
    os.mkfifo(fifo)   # nobody writes it: opening it for reading blocks
    try:
        done = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", "x +", "--vars", str(fifo)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15,
                              env=clean_env())
    except subprocess.TimeoutExpired:
        pytest.fail("cgraph waited for --vars before it reported the parse error of `x +`")
    assert done.returncode == 2 and "parse error" in done.stderr
