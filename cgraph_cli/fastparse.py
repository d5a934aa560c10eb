"""A fast path in front of the LALR driver, for the common subset of the language.

Numbers, names, + - * / @ ^ **, comparisons, unary minus and plus, calls with positional
arguments, parentheses, assignments (= += -= *= /=), `;` and newlines, comments. The tokens
are found by one regular expression and the operators are ordered by precedence climbing,
written as a loop with an explicit stack (a 10^5-deep nesting needs no recursion). The
nodes are built in the order a bottom-up parser reduces them, with the spans the LALR
driver gives them, so the Program is exactly the driver's (tests/test_fastparse.py compares
them on generated programs, and checks PRECEDENCE against grammar/cgraph.lark).

The parser emits its nodes into a Sink, one function per kind of node, each returning what stands
for the node from then on: `parse` gives the Sink of AST nodes (`ast_sink`) and returns the Program;
graph.from_text gives graph.sink, which appends the nodes to a Graph's columns while the text is
read (no syntax tree is built), the graph graph.build would make of the Program.

`run` returns None for anything else: indexing, methods, attributes, tensors, tuples,
keywords, any character it does not know, every syntax error. The caller (grammar.parse) then runs
the LALR driver, which is the definition of the language and gives the caret message. (A sink may
refuse a node by raising its own exception, which `run` lets through: graph.sink refuses the calls
that need their syntax tree.)
"""

import re
from itertools import accumulate, pairwise
from typing import Callable, NamedTuple

from cgraph_cli.ast import AUGMENTED, NULLARY, AstBuilder, Assign, Binary, Call, Name, Num, Unary
from cgraph_cli.ops import COMPARISONS

# (binding, associativity) by operator, loosest first, as the rules of grammar/cgraph.lark nest:
# compare < sum < product < unary < power. Comparisons do not chain.
PRECEDENCE = {
    "<": (1, "none"), "<=": (1, "none"), ">": (1, "none"), ">=": (1, "none"), "==": (1, "none"),
    "!=": (1, "none"),
    "+": (2, "left"), "-": (2, "left"),
    "*": (3, "left"), "/": (3, "left"), "@": (3, "left"),
    "^": (5, "right"), "**": (5, "right"),
}
UNARY = 4          # "-" unary: looser than power (-x^2 is -(x^2)), tighter than * and /
COMPARE = 1
NODE = {"+": "add", "-": "sub", "*": "mul", "/": "div", "@": "matmul", "^": "pow", "**": "pow"}

# The grammar's terminals for this subset, and what it ignores (blanks, a comment to the newline),
# as one regular expression without groups: findall then gives the tokens as strings, which tile the
# text, so a token's offset is the sum of the lengths before it (several times faster than a match
# object, or a tuple of groups, per token). "." stands for any other character.
SKIP = re.compile(r"[ \t\f\r]*(?:#[^\n]*)?")   # what the grammar ignores before a token
NUMBER_PATTERN = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"   # the grammar's NUMBER and NAME
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
# A name and the parenthesis right after it ("sin(") are one token: the opening of a call. The
# alternatives are tried in turn, the common single characters first (15% fewer instructions than
# blanks first); each alternative starts with characters no earlier one matches, except "." last.
TOKEN = re.compile(f"[(),^@;\\n]|{NAME_PATTERN}\\(?|{NUMBER_PATTERN}|\\*[*=]?|[-+/=<>!]=?|[ \\t\\f\\r]+|#[^\\n]*|.",
                   re.DOTALL)
NAME, NUMBER, IGNORED = "name", "number", "ignored"   # a token's kind, by its first character
KIND = {**dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", NAME),
        **dict.fromkeys("0123456789.", NUMBER), **dict.fromkeys(" \t\f\r#", IGNORED)}
# An operator (and a closing parenthesis, comma, separator or the end) first applies the pending
# operators that bind at least `pops` tightly: a right-associative one leaves its equals (2^3^2 is
# 2^(3^2)), so does a comparison (then refused: a < b < c); markers (parentheses, calls, an
# assignment) bind 0, the bottom of the stack -1.
# The stack's entries are (kind, start, detail, binding), on top of BOTTOM.
# token -> (pops, binding, the operator's entry on the stack); binding None for the tokens that are not
# operators. A binary operator's entry is its node's kind and binding alone (its span is its operands').
AFTER_OPERAND = {sign: (binding + (associativity != "left"), binding,
                        (NODE.get(sign) or COMPARISONS[sign], None, None, binding))
                 for sign, (binding, associativity) in PRECEDENCE.items()}
BOTTOM = (None, None, None, -1)
END = (1, None, None)   # a newline ends a statement only outside parentheses: it is looked at apart
AFTER_OPERAND.update(dict.fromkeys([")", ",", ";", ""], END))
ASSIGNING = {"=": None, **AUGMENTED}   # a sign -> the op of an Assign: = += -= *= /=
PAREN, CALL, STATEMENT = "(", "call", "="   # the markers on the stack


class Declined(Exception):
    """Not this path's: the LALR driver parses the text (or says where it is wrong)."""


class Sink(NamedTuple):
    """What the parser emits, children before parents (the order a bottom-up parser reduces them),
    each function returning what stands for the new node: an AST node, or a graph node's id. The
    arguments come in the order of the AST node's fields."""
    name: Callable      # (name, span), a name read as an operand
    number: Callable    # (value, text, span)
    binary: Callable    # (kind, left, right, span): "add", ..., "pow", or a comparison's kind
    unary: Callable     # (kind, operand, span): "neg" or "pos"
    call: Callable      # (function, arguments (a list), span)
    assign: Callable    # (target, op, value, span): op None for "=", "add" for "+=", ...
    program: Callable   # (span, statements (a list)): what `run` returns
    opens: Callable     # (function): a call of it begins, told once per function name


def ast_sink() -> Sink:
    """The Sink of AST nodes: the Program the LALR driver's AstBuilder makes."""
    builder = AstBuilder()
    keep = builder.built.append
    new = tuple.__new__          # a node built without the NamedTuple's Python-level __new__

    def kept(kind):
        def node(*fields):       # the node's fields, in their order
            made = new(kind, fields)
            keep(made)
            return made
        return node

    def call(function, arguments, span):
        if len(arguments) == 1 and function not in NULLARY:   # f(x): AstBuilder.call's common case
            made = new(Call, (function, tuple(arguments), span))
            keep(made)
            return made
        return builder.call(span, function, *arguments)

    return Sink(kept(Name), kept(Num), kept(Binary), kept(Unary), call, kept(Assign),
                lambda span, statements: builder.program(span, *statements), lambda function: None)


def parse(text: str):
    """The Program of `text` as the LALR driver builds it, or None when the driver must parse it."""
    return run(text, ast_sink())


def run(text: str, sink: Sink):
    """What `sink.program` returns for `text`, or None when the driver must parse it."""
    if text is _declined[0]:
        return None
    try:
        return _parse(text, sink)
    except Declined:
        _declined[0] = text
        return None


# The last text `run` declined: a text is not read twice to learn that (grammar.parse after
# graph.at_once). Whether a text is declined depends on the text alone, never on the sink.
_declined = [None]


def _parse(text: str, sink: Sink):
    name_node, number, binary, unary, call, assign, program, opens = sink
    values, spans = [], []       # the operands and their spans (with the parentheses around them)
    bare = False                 # is the last operand a bare name, not given to the sink yet? It may
    #                              be a function's ("f (x)") or an assignment's ("a = ...")
    stack = [BOTTOM]             # pending operators and markers (kind, start, detail, binding)
    top = -1                     # how the entry on top of the stack binds (-1: the stack is empty)
    statements = []
    operand = True               # is an operand expected next?
    depth = 0                    # open parentheses: a newline inside them is whitespace
    opened = {}                  # "sin(" -> "sin"

    tokens = TOKEN.findall(text)
    tokens.append("")            # the end
    # each token with where it starts and ends (a start is the same int object as the end before it)
    for token, (start, end) in zip(tokens, pairwise(accumulate(map(len, tokens), initial=0))):
        if operand:
            kind = KIND.get(token[:1])
            if kind is NAME:
                if token[-1] == "(":     # a call: its arguments are read as a parenthesis is
                    function = opened.get(token)
                    if function is None:
                        function = opened[token] = token[:-1]   # one string per function, not per call
                        opens(function)
                    stack.append((CALL, start, (function, len(values)), 0))
                    top = 0
                    depth += 1
                    continue
                values.append(token)     # given to the sink at the next token (see `bare`)
                spans.append((start, end))
                bare = True
                operand = False
                continue
            elif kind is NUMBER and token != ".":
                span = (start, end)
                values.append(number(float(token), token, span))
                spans.append(span)
                operand = False
                continue
            elif kind is IGNORED or token == "\n" and depth:
                continue
            elif token == "(":
                stack.append((PAREN, start, None, 0))
                top = 0
                depth += 1
                continue
            elif token == "-" or token == "+":
                stack.append(("neg" if token == "-" else "pos", start, None, UNARY))
                top = UNARY
                continue
            elif (token == ";" or token == "\n") and top < 0:
                continue                 # a separator between statements (or before the first)
            elif not token and top < 0:
                break                    # the end, after a separator or of an empty program
            elif token == ")" and stack[-1][0] == CALL and stack[-1][2][1] == len(values):
                _, call_start, (function, _), _ = stack.pop()   # f(): a call of no arguments
                top = stack[-1][3]
                depth -= 1
                span = (call_start, end)
                values.append(call(function, [], span))
                spans.append(span)
                operand = False
                continue
            raise Declined
        # after an operand: first apply the pending operators that bind at least `pops` tightly
        action = AFTER_OPERAND.get(token)
        if action is None:
            if KIND.get(token[:1]) is IGNORED:
                continue
            if token == "\n":
                if depth:
                    continue
                action = END
            elif token == "(":
                if not bare:
                    raise Declined       # "(" after an operand that is not a bare name: implicit multiplication
                opens(values[-1])
                stack.append((CALL, spans.pop()[0], (values.pop(), len(values)), 0))
                bare = False
                top = 0
                depth += 1
                operand = True
                continue
            elif token in ASSIGNING:     # = += -= *= /= after a statement's first name only
                if not bare or top >= 0 or len(values) != 1:
                    raise Declined
                stack.append((STATEMENT, spans.pop()[0], (values.pop(), ASSIGNING[token]), 0))
                bare = False
                top = 0
                operand = True
                continue
            else:
                raise Declined       # a name or number after an operand (implicit multiplication), ...
        if bare:                         # the name is an operand
            values[-1] = name_node(values[-1], spans[-1])
            bare = False
        pops, binding, entry = action
        while top >= pops:
            pending, operator_start, _, binds = stack.pop()
            top = stack[-1][3]
            if binds == UNARY:
                span = (operator_start, spans[-1][1])
                values[-1] = unary(pending, values[-1], span)
            else:
                right = values.pop()
                right_end = spans.pop()[1]
                span = (spans[-1][0], right_end)
                values[-1] = binary(pending, values[-1], right, span)
            spans[-1] = span
        if binding is not None:
            if binding == COMPARE and top == COMPARE:
                raise Declined       # a < b < c: a parse error
            stack.append(entry)
            top = binding
            operand = True
        elif token == ")":
            if top < 0:
                raise Declined
            kind, open_start, detail, _ = stack.pop()
            top = stack[-1][3]
            depth -= 1
            span = (open_start, end)
            if kind == PAREN:
                spans[-1] = span
            elif kind == CALL:
                function, base = detail
                if base == len(values) - 1:   # f(x)
                    values[-1] = call(function, (values[-1],), span)
                    spans[-1] = span
                else:
                    node = call(function, values[base:], span)
                    del values[base:], spans[base:]
                    values.append(node)
                    spans.append(span)
            else:
                raise Declined
        elif token == ",":
            if stack[-1][0] != CALL:
                raise Declined       # a tuple (2, 3), or a stray comma
            operand = True
        else:                            # ";", a newline outside parentheses, or the end
            node = values.pop()
            span = spans.pop()
            if top >= 0:
                kind, name_start, detail, _ = stack.pop()
                top = stack[-1][3]
                if kind != STATEMENT or top >= 0:
                    raise Declined   # an unclosed parenthesis
                target, op = detail
                node = assign(target, op, node, (name_start, span[1]))
            statements.append(node)
            if not token:
                break
            operand = True
    # the program spans its tokens, separators included: from the first to the end of the last
    last = len(tokens) - 2
    while last >= 0 and KIND.get(tokens[last][:1]) is IGNORED:
        last -= 1
    if last < 0:
        return program((len(text), len(text)), statements)
    return program((SKIP.match(text).end(), len(text) - sum(map(len, tokens[last + 1:]))), statements)
