"""The syntax tree: immutable nodes that carry their source span (start, end offsets).

NamedTuples rather than dataclasses: a million-operation formula builds a million
of them, and a tuple is built several times faster than a frozen dataclass.
The `AstBuilder` methods are named after the grammar's aliases (`add`, `call`, ...),
so one builder serves both our LALR driver and Lark's own parser. The builder never
raises (graph.build checks meaning): it only decides, from the op rows, which
arguments are constant parameters (`sum(X, 0)`, `axis=(0, 1)`) and which subscripts
are constant (`x[-1]`, `x[[0, 2]]`), and leaves their nodes out of the postorder, so
they put nothing on the tape.
"""

from typing import NamedTuple, Union

from cgraph_cli.ops import BOOLEANS, COMPARISONS, CONSTANTS, FUNCTIONS, METHODS, OPS

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
    op: str          # "add", "sub", "mul", "div", "pow", "matmul", a comparison "lt" ... "ne"
    left: "Expr"
    right: "Expr"
    span: Span


class Call(NamedTuple):
    func: str
    args: tuple      # expressions, a List (stack, concatenate), Tuples, Keywords
    span: Span


class Method(NamedTuple):
    """`a.f(args)`: f(a, args) with the op METHODS names; args[0] is the receiver a."""
    func: str
    args: tuple
    span: Span


class Attribute(NamedTuple):
    """`A.T` (the only attribute; graph.build explains the others)."""
    name: str
    operand: "Expr"
    span: Span


class Tuple(NamedTuple):
    """`(2, 3)` as an argument: a shape or axes (graph.build checks its elements are integers)."""
    elements: tuple
    span: Span


class List(NamedTuple):
    """`[a, b]` as the argument of stack or concatenate: its elements are the op's inputs."""
    elements: tuple
    span: Span


class IntegerList(NamedTuple):
    """`[0, 2]` of integer constants in an index (x[[0, 2]]): items are Integers or IntegerLists."""
    items: tuple
    span: Span


class Integer(NamedTuple):
    """An integer constant in an index or a slice (`x[-1]`); checked by graph.build."""
    text: str        # "-1": the literal as written, sign included
    span: Span


class Slice(NamedTuple):
    start: Union[Integer, None]
    stop: Union[Integer, None]
    step: Union[Integer, None]
    span: Span


class Index(NamedTuple):
    operand: "Expr"
    subscripts: tuple   # of Integer, IntegerList, Slice, and expressions (x[i]: an input of the node)
    span: Span


class Tensor(NamedTuple):
    """A literal `[a, b, c]`; its elements may be expressions and literals themselves."""
    elements: tuple
    span: Span


class Keyword(NamedTuple):
    """A keyword argument of a call (`axis=0`, `keepdims=True`, `axis=(0, 1)`): a constant parameter."""
    name: str
    value: "Expr"    # or a Tuple; graph.build checks it is a constant of the keyword's kind
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


Expr = Union[Num, Name, Unary, Binary, Call, Method, Attribute, Index, Tensor]

AUGMENTED = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}
# the functions of no input (constructors: zeros(3)), whose one argument is a parameter
NULLARY = frozenset(name for name, op in FUNCTIONS.items() if isinstance(op, str) and OPS[op].arity == 0)
GATHERED = ("shape", "axes")   # x.reshape(2, 3) is x.reshape((2, 3)); x.transpose(1, 0)


def choose(func: str, positional: int, method: bool = False):
    """The op a call builds and how many of its positional arguments are inputs (the rest fill the
    row's params); op None when no row fits (graph.build says why). A list function (stack,
    concatenate: arity -1) has one input argument, the list. A spelling with several ops (max)
    chooses by the count of positional arguments, so its params go by keyword only."""
    choice = METHODS.get(func) if method else FUNCTIONS.get(func)
    if choice is None:
        return None, positional
    if isinstance(choice, dict):
        return choice.get(positional), positional
    arity = OPS[choice].arity
    return choice, min(1 if arity < 0 else arity, positional)


def split(node):
    """(op, inputs, params, keywords) of a Call or Method: the arguments that are the op's inputs,
    the positional ones that fill its params, and the Keywords; a method's positional integers
    after the receiver are gathered into one Tuple where the row's first param is a shape or axes."""
    args = node.args
    positional = [arg for arg in args if type(arg) is not Keyword]
    keywords = [arg for arg in args if type(arg) is Keyword]
    op, count = choose(node.func, len(positional), type(node) is Method)
    inputs, params = positional[:count], positional[count:]
    if (type(node) is Method and op is not None and len(params) > 1 and OPS[op].params
            and OPS[op].params[0] in GATHERED and all(_integer_constant(p) for p in params)):
        span = None if params[0].span is None else (params[0].span[0], params[-1].span[1])
        params = [Tuple(tuple(params), span)]
    return op, inputs, params, keywords


def _fitting(op, params: list) -> list:
    """The positional params when the row takes that many (else they stay on the tape: an error)."""
    return params if op is not None and len(params) <= len(OPS[op].params) else []


def _integer_constant(node) -> bool:
    return type(node) is Num or (type(node) is Unary and node.op == "neg" and type(node.operand) is Num)


def constant_nodes(node):
    """The kept nodes of a constant parameter (a number, -2, True, pi, one operation of two of them
    such as 1/10 or 2*pi, a tuple of them) in
    postorder, or None when the expression is not one (graph.build then says it must be)."""
    kind = type(node)
    if kind is Num or (kind is Name and (node.name in CONSTANTS or node.name in BOOLEANS)):
        return [node]
    if kind is Unary:
        inner = constant_nodes(node.operand)
        return None if inner is None or type(node.operand) is Unary else inner + [node]
    if kind is Binary and node.op in ("add", "sub", "mul", "div", "pow"):   # 1/10, 2*pi: one operation
        left, right = constant_nodes(node.left), constant_nodes(node.right)
        if left is None or right is None or type(node.left) is Binary or type(node.right) is Binary:
            return None
        return left + right + [node]
    if kind is Tuple:
        nodes = []
        for element in node.elements:
            inner = constant_nodes(element)
            if inner is None:
                return None
            nodes += inner
        return nodes
    return None


class AstBuilder:
    """Builds AST nodes; each method gets the span and the kept children of one rule.

    A bottom-up parser reduces children before their parent and statements in
    order, so the nodes in the order they are built are a valid evaluation
    order: the Program keeps that list (`postorder`), and graph.build reads it
    in one pass instead of walking the tree.
    """

    def __init__(self):
        self.built = []
        self.dropped = set()   # ids of built nodes to leave out of the postorder (see _drop)

    def _keep(self, node):
        self.built.append(node)
        return node

    def _drop(self, nodes: list) -> None:
        """Leave the nodes of a constant parameter or subscript out of the postorder, so graph.build
        puts nothing on the tape for them: at once when they are the last built (the usual case),
        else when the program is done (one pass)."""
        built, count = self.built, len(nodes)
        if count <= len(built) and all(a is b for a, b in zip(built[len(built) - count:], nodes)):
            del built[len(built) - count:]
        else:
            self.dropped.update(id(node) for node in nodes)

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

    def compare(self, span, left, op, right):
        return self._keep(Binary(COMPARISONS[str(op)], left, right, span))

    def index(self, span, operand, *subscripts):
        """Integer constants and lists of them become part of the key (no node on the tape)."""
        if any(type(s) is Num or type(s) is Unary or type(s) is Tensor for s in subscripts):
            subscripts = tuple(self._subscript(s) for s in subscripts)
        return self._keep(Index(operand, subscripts, span))

    def _subscript(self, node):
        constant = _integers(node)
        if constant is None:
            return node
        self._drop(_nodes_of(node))
        return constant

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
        nodes = constant_nodes(value)
        if nodes:
            self._drop(nodes)
        return Keyword(str(name), value, span)

    def tuple(self, span, *elements):
        return Tuple(elements, span)

    def neg(self, span, operand):
        return self._keep(Unary("neg", operand, span))

    def pos(self, span, operand):
        return self._keep(Unary("pos", operand, span))

    def call(self, span, func, *args):
        node = Call(str(func), args, span)
        if len(args) != 1 or type(args[0]) is Tensor or node.func in NULLARY:   # params, or a list
            node = self._parameters(node)
        return self._keep(node)

    def method(self, span, receiver, func, *args):
        return self._keep(self._parameters(Method(str(func), (receiver,) + args, span)))

    def attribute(self, span, operand, name):
        return self._keep(Attribute(str(name), operand, span))

    def _parameters(self, node):
        """Drop the nodes of constant positional parameters (keywords dropped theirs already), and
        turn the list argument of stack or concatenate into a List of inputs."""
        op, inputs, params, _ = split(node)
        nodes = []
        for param in _fitting(op, params):
            nodes += constant_nodes(param) or ()
        if nodes:
            self._drop(nodes)
        if op is not None and OPS[op].arity < 0 and inputs and type(inputs[0]) is Tensor:
            self._drop([inputs[0]])
            listed = List(inputs[0].elements, inputs[0].span)
            node = node._replace(args=tuple(listed if arg is inputs[0] else arg for arg in node.args))
        return node

    def assign(self, span, name, value):
        return self._keep(Assign(str(name), None, value, span))

    def augassign(self, span, name, op, value):
        return self._keep(Assign(str(name), AUGMENTED[str(op)], value, span))

    def program(self, span, *statements):
        built, self.built = self.built, []
        if self.dropped:
            dropped, self.dropped = self.dropped, set()
            built = [node for node in built if id(node) not in dropped]
        return Program(statements, span, tuple(built))


def _integers(node):
    """An integer-constant subscript as an Integer or IntegerList (x[-1], x[[0, 2]]), else None."""
    kind = type(node)
    if kind is Num:
        return Integer(node.text, node.span)
    if kind is Unary and node.op == "neg" and type(node.operand) is Num:
        return Integer("-" + node.operand.text, node.span)
    if kind is Tensor:
        items = [_integers(element) for element in node.elements]
        return None if any(item is None for item in items) else IntegerList(tuple(items), node.span)
    return None


def _nodes_of(node) -> list:
    """The kept nodes of an integer-constant subscript (see _integers), in postorder."""
    if type(node) is Tensor:
        return [inner for element in node.elements for inner in _nodes_of(element)] + [node]
    return [node.operand, node] if type(node) is Unary else [node]


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
    """The sub-expressions of an expression node that are on the tape, in source order (as the
    builder keeps them: constant parameters and subscripts are not)."""
    kind = type(node)
    if kind is Binary:
        return (node.left, node.right)
    if kind is Unary or kind is Attribute:
        return (node.operand,)
    if kind is Call or kind is Method:
        op, inputs, params, keywords = split(node)
        found = []
        for arg in inputs:
            found += arg.elements if type(arg) is List or type(arg) is Tuple else (arg,)
        fitting = _fitting(op, params)
        for arg in params + [keyword.value for keyword in keywords]:
            if constant_nodes(arg) is None or (arg in params and not fitting):
                found += arg.elements if type(arg) is Tuple else (arg,)
        return tuple(found)
    if kind is Index:
        return (node.operand,) + tuple(s for s in node.subscripts
                                       if type(s) not in (Integer, IntegerList, Slice))
    if kind is Tensor:
        return node.elements
    return ()
