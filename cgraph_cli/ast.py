"""The syntax tree: immutable nodes that carry their source span (start, end offsets).

NamedTuples rather than dataclasses: a million-operation formula builds a million
of them, and a tuple is built several times faster than a frozen dataclass.
The `AstBuilder` methods are named after the grammar's aliases (`add`, `call`, ...),
so one builder serves both our LALR driver and Lark's own parser.
"""

from typing import NamedTuple, Union

Span = tuple  # (start, end) offsets into the source text


class Num(NamedTuple):
    value: float
    text: str
    span: Span


class Name(NamedTuple):
    name: str
    span: Span


class Unary(NamedTuple):
    op: str          # "neg" or "pos"
    operand: "Expr"
    span: Span


class Binary(NamedTuple):
    op: str          # "add", "sub", "mul", "div", "pow"
    left: "Expr"
    right: "Expr"
    span: Span


class Call(NamedTuple):
    func: str
    args: tuple
    span: Span


class Integer(NamedTuple):
    """An integer constant in an index, a slice or a keyword (`axis=-1`); checked by graph.build."""
    text: str        # "-1": the literal as written, sign included
    span: Span


class Slice(NamedTuple):
    start: Union[Integer, None]
    stop: Union[Integer, None]
    step: Union[Integer, None]
    span: Span


class Index(NamedTuple):
    operand: "Expr"
    subscripts: tuple   # of Integer and Slice
    span: Span


class Tensor(NamedTuple):
    """A literal `[a, b, c]`; its elements may be expressions and literals themselves."""
    elements: tuple
    span: Span


class Keyword(NamedTuple):
    """A keyword argument of a call: only integer constants (`axis=0`)."""
    name: str
    value: Integer
    span: Span


class Assign(NamedTuple):
    name: str
    op: Union[str, None]   # None for "=", else "add"/"sub"/"mul"/"div" for += -= *= /=
    value: "Expr"
    span: Span


class Program(NamedTuple):
    statements: tuple
    span: Span
    postorder: tuple = ()   # every node, children before parents, statements in order


Expr = Union[Num, Name, Unary, Binary, Call, Index, Tensor]

AUGMENTED = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}


class AstBuilder:
    """Builds AST nodes; each method gets the span and the kept children of one rule.

    A bottom-up parser reduces children before their parent and statements in
    order, so the nodes in the order they are built are a valid evaluation
    order: the Program keeps that list (`postorder`), and graph.build reads it
    in one pass instead of walking the tree.
    """

    def __init__(self):
        self.built = []

    def _keep(self, node):
        self.built.append(node)
        return node

    def number(self, span, text):
        return self._keep(Num(float(text), str(text), span))

    def name(self, span, text):
        return self._keep(Name(str(text), span))

    def add(self, span, left, right):
        return self._keep(Binary("add", left, right, span))

    def sub(self, span, left, right):
        return self._keep(Binary("sub", left, right, span))

    def mul(self, span, left, right):
        return self._keep(Binary("mul", left, right, span))

    def div(self, span, left, right):
        return self._keep(Binary("div", left, right, span))

    def pow(self, span, left, right):
        return self._keep(Binary("pow", left, right, span))

    def matmul(self, span, left, right):
        return self._keep(Binary("matmul", left, right, span))

    def index(self, span, operand, *subscripts):
        return self._keep(Index(operand, subscripts, span))

    def tensor(self, span, *elements):
        return self._keep(Tensor(elements, span))

    def integer(self, span, text):
        return Integer(str(text), span)

    def negative_integer(self, span, text):
        return Integer("-" + str(text), span)

    def slice(self, span, *parts):
        """parts: Integers and ':' tokens in source order, e.g. (':', ':', Integer(-1)) for ::-1."""
        bounds, current = [], None
        for part in parts:
            if type(part) is Integer:
                current = part
            else:
                bounds.append(current)
                current = None
        bounds.append(current)
        bounds += [None] * (3 - len(bounds))
        return Slice(bounds[0], bounds[1], bounds[2], span)

    def keyword(self, span, name, value):
        return Keyword(str(name), value, span)

    def neg(self, span, operand):
        return self._keep(Unary("neg", operand, span))

    def pos(self, span, operand):
        return self._keep(Unary("pos", operand, span))

    def call(self, span, func, *args):
        return self._keep(Call(str(func), args, span))

    def assign(self, span, name, value):
        return self._keep(Assign(str(name), None, value, span))

    def augassign(self, span, name, op, value):
        return self._keep(Assign(str(name), AUGMENTED[str(op)], value, span))

    def program(self, span, *statements):
        built, self.built = self.built, []
        return Program(statements, span, tuple(built))


def postorder(program: Program) -> tuple:
    """Every node of the program, children before parents (for a Program built by hand)."""
    if program.postorder or not program.statements:
        return program.postorder
    order = []
    stack = [(statement, False) for statement in reversed(program.statements)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        inner = (node.value,) if type(node) is Assign else children(node)
        stack.extend((child, False) for child in reversed(inner))
    return tuple(order)


def names(program: Program) -> set:
    """Every name a program reads or assigns."""
    return {node.name for node in postorder(program) if type(node) is Name or type(node) is Assign}


def children(node) -> tuple:
    """The sub-expressions of an expression node, in source order."""
    kind = type(node)
    if kind is Binary:
        return (node.left, node.right)
    if kind is Unary:
        return (node.operand,)
    if kind is Call:
        return tuple(arg for arg in node.args if type(arg) is not Keyword)
    if kind is Index:
        return (node.operand,)
    if kind is Tensor:
        return node.elements
    return ()
