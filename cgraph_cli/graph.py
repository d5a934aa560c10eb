"""AST to computational graph: a flat tape of nodes, every input before its users.

The graph is stored by columns (one list per field) rather than as a list of
node objects: a million-node tape then costs a few lists, and the engine's loops
read plain lists. `Graph.node(i)` gives a readable view of one node.
"""

from typing import NamedTuple, Optional

from cgraph_cli import ast, calls, fastparse, grammar
from cgraph_cli.bindings import MAX_DIMENSIONS
from cgraph_cli.errors import CgraphError, ParseError, UsageError, caret_context
from cgraph_cli.text import excerpt
from cgraph_cli.ops import BOOLEANS, CONSTANTS, FUNCTIONS, NO_GRADIENT, OPS, SCALAR_OPS, TENSOR_OPS

RESERVED = {"value"}
# The functions of one input called with one argument: no parameters to read (graph.build's fast path).
UNARY_CALLS = {name: op for name, op in FUNCTIONS.items() if isinstance(op, str) and OPS[op].arity == 1}
# Of those, the scalar ops through which a gradient flows: build appends their nodes itself.
PLAIN_UNARY_CALLS = {name: op for name, op in UNARY_CALLS.items() if op not in TENSOR_OPS and op not in NO_GRADIENT}
BINARY_SPECIAL = NO_GRADIENT | {"matmul"}   # the infix ops whose nodes are not plain arithmetic
ARGUMENT_FORMS = (ast.Keyword, ast.Tuple, ast.List)   # arguments that are not an input's expression


class Node(NamedTuple):
    id: int
    op: str
    inputs: tuple
    name: Optional[str]
    span: tuple
    text: str
    constant: Optional[float]   # a const node's value


class Graph:
    """The tape: ops[i], inputs[i] (ids, duplicates kept: x*x has two), names[i], spans[i]."""

    def __init__(self, source: str, data=frozenset()):
        self.source = source
        self.data = frozenset(data)    # variables bound as data (--const): no gradient, as constants
        self.ops: list = []
        self.inputs: list = []
        self.names: list = []
        self.spans: list = []
        self.constants: dict = {}      # node id -> value, for const nodes (a float or an array)
        self.attrs: dict = {}          # node id -> keyword arguments of its op (axis=, index key=)
        self.uses_tensors = False      # any tensor op or literal: evaluate with the NumPy backend
        self.needs_grad: list = []     # does the node depend on a variable that is not data?
        self.variables: dict = {}      # variable name -> node id (one node per variable)
        self.assigned: dict = {}       # assigned name -> node id of its last assignment
        self.output: int = -1

    def __len__(self) -> int:
        return len(self.ops)

    def add(self, op: str, inputs: tuple, span: tuple, name=None, constant=None, attrs=None) -> int:
        node_id = len(self.ops)
        if attrs:
            self.attrs[node_id] = attrs
        if op in TENSOR_OPS:
            self.uses_tensors = True
        self.ops.append(op)
        self.inputs.append(inputs)
        self.names.append(name)
        self.spans.append(span)
        needs = self.needs_grad
        if op == "var":
            needs.append(name not in self.data)
        elif op in NO_GRADIENT:      # a comparison: a constant for the backward pass
            needs.append(False)
        elif len(inputs) == 2:
            needs.append(needs[inputs[0]] or needs[inputs[1]])
        else:
            needs.append(any(needs[i] for i in inputs))
        if constant is not None:
            self.constants[node_id] = constant
        return node_id

    def text(self, node_id: int) -> str:
        """The source text the node came from (the name, for a variable)."""
        if self.ops[node_id] == "var":
            return self.names[node_id]
        start, end = self.spans[node_id]
        return self.source[start:end]

    def label(self, node_id: int) -> str:
        """`name = text` for an assigned node (unless its text already says so), else the text."""
        text, name = self.text(node_id), self.names[node_id]
        if not name or self.ops[node_id] == "var":
            return text
        head = text[len(name):].lstrip()
        if text.startswith(name) and head[:1] in "=+-*/" and "=" in head[:2]:
            return text   # `c += 1`, `a = x`: the statement itself
        return f"{name} = {text}"

    def excerpt(self, node_id: int, width: int = 48, escape: bool = True) -> str:
        """`short_text(text(node_id), width)` read in bounded windows (time independent of the
        node's span), control characters escaped unless not `escape`: how every renderer and
        message shows a node."""
        if self.ops[node_id] == "var" or not self.spans[node_id]:
            return excerpt(self.text(node_id), 0, len(self.text(node_id)), width, escape)
        start, end = self.spans[node_id]
        return excerpt(self.source, start, end, width, escape)

    def label_excerpt(self, node_id: int, width: int = 48, escape: bool = True,
                      without_name: bool = False) -> str:
        """`short_text(label(node_id), width)` read in bounded windows; `without_name` leaves out
        the leading assigned name (the tree draws it in its own style)."""
        name = self.names[node_id]
        if not name or self.ops[node_id] == "var" or not self.spans[node_id]:
            return self.excerpt(node_id, width, escape)
        start, end = self.spans[node_id]
        head = self.source[start:min(end, start + len(name) + 64)]
        rest = head[len(name):].lstrip()
        if head.startswith(name) and rest[:1] in "=+-*/" and "=" in rest[:2]:   # the statement itself
            return excerpt(self.source, start + len(name) if without_name else start, end, width, escape)
        return excerpt(self.source, start, end, width, escape, " = " if without_name else f"{name} = ")

    def node(self, node_id: int) -> Node:
        return Node(node_id, self.ops[node_id], self.inputs[node_id], self.names[node_id],
                    self.spans[node_id], self.text(node_id), self.constants.get(node_id))

    def used(self) -> set:
        """The names the formula reads (the variables whose nodes it uses) or assigns."""
        return {name for name, node_id in self.variables.items() if self.spans[node_id] is not None} | \
            set(self.assigned)

    def differentiable(self) -> list:
        """The variables that carry a gradient (every one not bound as data), sorted."""
        if not self.data:
            return sorted(self.variables)
        return sorted(name for name in self.variables if name not in self.data)

    def users(self) -> list:
        """For each node, the ids of the nodes that use it (once per use)."""
        users = [[] for _ in self.ops]
        for node_id, inputs in enumerate(self.inputs):
            for i in inputs:
                users[i].append(node_id)
        return users


def build(program: ast.Program, source: str, bound=frozenset(), data=frozenset()) -> Graph:
    """Turn a parsed program into a Graph; `bound` names are variables even if named pi or e;
    `data` names (--const) are variables without a gradient: their nodes, and the nodes that
    depend only on them and literals, have needs_grad False, as literal constants have.

    One pass over the nodes in post-order with a stack of results, never recursion:
    a 100,000-deep nesting is as easy as a 100,000-term sum. The common nodes go to `sink`'s
    functions, which fastparse also calls while it reads a text (from_text).
    """
    graph = Graph(source, data)
    name, number, binary, unary, call, assign, finish, _ = sink(graph, bound)
    Num, Name, Binary, Unary, Call = ast.Num, ast.Name, ast.Binary, ast.Unary, ast.Call
    literal_shapes, literal_depths = {}, {}   # id(ast.Tensor) -> its shape (ragged literals), its depth
    results = []
    push, pop = results.append, results.pop
    for node in ast.postorder(program):
        kind = type(node)
        if kind is Binary:
            right = pop()
            results[-1] = binary(node[0], results[-1], right, node[3])
        elif kind is Name:
            push(name(*node))
        elif kind is Num:
            push(number(*node))
        elif kind is Call:
            function, arguments, span = node
            if len(arguments) != 1 or type(arguments[0]) in ARGUMENT_FORMS or function not in UNARY_CALLS:
                push(calls.call(graph, node, results, source, bound))
            else:
                results[-1] = call(function, (results[-1],), span)
        elif kind is ast.Method:
            push(calls.call(graph, node, results, source, bound))
        elif kind is Unary:   # -x, +x
            results[-1] = unary(node[0], results[-1], node[2])
        elif kind is ast.Index:
            push(_index(graph, node, results, source))
        elif kind is ast.Attribute:
            push(calls.attribute(graph, node, pop(), source, bound))
        elif kind is ast.Tensor:
            count = len(node.elements)
            elements = tuple(results[len(results) - count:])
            del results[len(results) - count:]
            push(_tensor(graph, node, elements, (literal_shapes, literal_depths), source))
        else:
            push(assign(node.name, node.op, pop(), node.span))
    return finish(program.span, results)


def from_text(text: str, bound=frozenset(), data=frozenset()) -> Graph:
    """build(grammar.parse(text), text, bound, data), in one pass when fastparse takes the text."""
    graph = at_once(text, bound, data)
    return graph if graph is not None else build(grammar.parse(text), text, bound, data)


def at_once(text: str, bound=frozenset(), data=frozenset()):
    """The graph of `text` built while fastparse reads it (its nodes go to `sink` as they are read, and
    no syntax tree is built): the graph build(grammar.parse(text), ...) gives (tests/test_fastparse.py).
    None for a text fastparse does not take, one with a call that needs its syntax tree, and any error:
    parse then build meet it in their order (and grammar.parse does not try fastparse again on a text it
    declined)."""
    try:
        return fastparse.run(text, sink(Graph(text, data), bound))
    except (CgraphError, NeedsTree):
        return None


class NeedsTree(Exception):
    """graph.sink refuses a call: calls.call builds it from its syntax tree (parameters, arity)."""


def sink(graph: Graph, bound=frozenset()) -> "fastparse.Sink":
    """The functions that append a program's nodes to `graph`, children first, each returning the new
    node's id (a name already met: its node's); the bound names' nodes come first, used or not.

    The common nodes (arithmetic, numbers, names already met, sin(x)) are appended to the columns here,
    with the columns' methods bound once: what Graph.add would do, without a call per node. Everything
    else (the first use of each name, comparisons, sum(X), assignments) goes through Graph.add and the
    helpers. A call other than f(x) of a function of one input raises NeedsTree (graph.build gives
    its syntax tree to calls.call), as soon as its function is named when that is not one of them.
    """
    for bound_name in sorted(bound):
        graph.variables[bound_name] = graph.add("var", (), None, name=bound_name)
    source = graph.source
    ops, spans, needs = graph.ops, graph.spans, graph.needs_grad
    add_op, add_inputs, add_span, add_name, add_need = (ops.append, graph.inputs.append, spans.append,
                                                        graph.names.append, needs.append)
    constants, assigned, variables = graph.constants, graph.assigned, graph.variables
    plain_unary = PLAIN_UNARY_CALLS

    def name(text, span):
        node_id = assigned.get(text) if assigned else None
        if node_id is None:
            node_id = variables.get(text)
            if node_id is None or spans[node_id] is None:   # its first use: a node, or its span
                node_id = _lookup(graph, ast.Name(text, span), source, bound)
        return node_id

    def number(value, text, span):
        node_id = len(ops)
        constants[node_id] = value
        add_op("const")
        add_inputs(())
        add_span(span)
        add_name(None)
        add_need(False)
        return node_id

    def binary(op, left, right, span):
        if op in BINARY_SPECIAL:
            if op in NO_GRADIENT:   # a comparison
                return graph.add(op, (left, right), span)
            graph.uses_tensors = True   # matmul
        node_id = len(ops)
        add_op(op)
        add_inputs((left, right))
        add_span(span)
        add_name(None)
        add_need(needs[left] or needs[right])
        return node_id

    def unary(op, operand, span):
        node_id = len(ops)
        add_op(op)
        add_inputs((operand,))
        add_span(span)
        add_name(None)
        add_need(needs[operand])
        return node_id

    def call(function, arguments, span):
        if len(arguments) != 1 or function not in UNARY_CALLS:
            raise NeedsTree
        op = plain_unary.get(function)
        if op is None:              # sum(X), argmax(x): through Graph.add
            return graph.add(UNARY_CALLS[function], (arguments[0],), span)
        return unary(op, arguments[0], span)

    def assign(target, op, value, span):
        return _assign(graph, target, op, span, value, bound)

    def finish(span, statements):
        if not statements:
            raise UsageError("the expression is empty: give a formula such as \"(x+y)^2\"")
        graph.output = statements[-1]
        return graph

    def opens(function):
        if function not in UNARY_CALLS:
            raise NeedsTree

    return fastparse.Sink(name, number, binary, unary, call, assign, finish, opens)


def _assign(graph: Graph, name: str, op, span: tuple, value: int, bound) -> int:
    """`name = value` (op None) or `name += value` (op "add"), ...: the node that holds the name."""
    if name in RESERVED:
        raise ParseError(f"'{name}' is reserved (it names the output) and cannot be assigned, at "
                         + caret_context(graph.source, *span))
    if op is not None:
        target = _lookup(graph, ast.Name(name, span), graph.source, bound)
        value = graph.add(op, (target, value), span)
    elif graph.names[value] is not None or graph.ops[value] in ("var", "const"):
        # `b = a` names a node that already has a name: give b a node of its own.
        value = graph.add("pos", (value,), span)
    graph.names[value] = name
    graph.assigned[name] = value
    return value


def _lookup(graph: Graph, node: ast.Name, source: str, bound) -> int:
    name = node.name
    if name in graph.assigned:
        return graph.assigned[name]
    if name in graph.variables:
        node_id = graph.variables[name]
        if graph.spans[node_id] is None:
            graph.spans[node_id] = node.span   # a bound variable's span is its first use
        return node_id
    if name in CONSTANTS and name not in bound:
        return graph.add("const", (), node.span, constant=CONSTANTS[name])
    if name in BOOLEANS and name not in bound:
        return graph.add("const", (), node.span, constant=BOOLEANS[name])
    if name in RESERVED:
        raise ParseError(f"'{name}' is reserved (it names the output) and cannot be a variable, at "
                         + caret_context(source, *node.span))
    graph.variables[name] = graph.add("var", (), node.span, name=name)
    return graph.variables[name]


def _tensor(graph: Graph, node: ast.Tensor, elements: tuple, literals: tuple, source: str) -> int:
    """A literal [a, b, ...]: one const node when every element is a number, else a stack node."""
    literal_shapes, literal_depths = literals
    _check_depth(node, literal_depths, source)
    shapes = [literal_shapes.get(id(e), () if _is_number(graph, e, i) else None)
              for e, i in zip(node.elements, elements)]
    known = [(i, shape) for i, shape in enumerate(shapes) if shape is not None]
    for i, shape in known[1:]:
        if shape != known[0][1]:
            raise ParseError(f"ragged tensor literal: element {known[0][0] + 1} has shape {known[0][1]} "
                             f"but element {i + 1} has shape {shape}, at "
                             + caret_context(source, *node.elements[i].span))
    if len(known) == len(shapes):
        literal_shapes[id(node)] = (len(shapes),) + known[0][1]
    graph.uses_tensors = True
    n = len(graph.ops)
    folded = all(graph.ops[e] == "const" and graph.names[e] is None for e in elements) and \
        len({getattr(graph.constants[e], "shape", ()) for e in elements}) == 1   # ragged: stack's shape error
    if folded and list(elements) == list(range(n - len(elements), n)):
        import numpy

        value = numpy.array([graph.constants.pop(e) for e in elements], dtype=float)
        for column in (graph.ops, graph.inputs, graph.names, graph.spans, graph.needs_grad):
            del column[n - len(elements):]
        return graph.add("const", (), node.span, constant=value)
    return graph.add("stack", elements, node.span)


def _is_number(graph: Graph, element, node_id: int) -> bool:
    """A number in a literal: `3`, or a named constant such as pi (a const node holding a float)."""
    return type(element) is ast.Num or (graph.ops[node_id] == "const" and graph.names[node_id] is None
                                        and isinstance(graph.constants.get(node_id), float))


def _check_depth(node: ast.Tensor, depths: dict, source: str) -> None:
    """A literal nests at most MAX_DIMENSIONS brackets deep (the limit of bound tensors)."""
    depth = 1 + max((depths.pop(id(e), 0) for e in node.elements if type(e) is ast.Tensor), default=0)
    if depth > MAX_DIMENSIONS:
        raise ParseError(f"a tensor literal of more than {MAX_DIMENSIONS} dimensions is not supported, at "
                         + caret_context(source, *node.span))
    depths[id(node)] = depth


def _subscript(part, source: str):
    if type(part) is ast.Integer:
        return calls.integer(part, source)
    if type(part) is ast.IntegerList:
        items = [_subscript(item, source) for item in part.items]
        shapes = {_list_shape(item) for item in items}
        if len(shapes) > 1 or None in shapes:
            raise ParseError("ragged index list: its elements differ in length or mix numbers and lists, at "
                             + caret_context(source, *part.span))
        return items
    bounds = [None if bound is None else calls.integer(bound, source) for bound in part[:3]]
    if bounds[2] == 0:
        raise ParseError("a slice step cannot be zero, at " + caret_context(source, *part.span))
    return slice(*bounds)


def _list_shape(item):
    """The shape of a nested list of ints (None when ragged)."""
    if not isinstance(item, list):
        return ()
    shapes = {_list_shape(inner) for inner in item}
    return None if len(shapes) != 1 or None in shapes else (len(item),) + shapes.pop()


STATIC_SUBSCRIPTS = (ast.Integer, ast.IntegerList, ast.Slice)


def _index(graph: Graph, node: ast.Index, results: list, source: str) -> int:
    """x[0], X[:, 1], x[[0, 2]]: a key of constants; x[i], P[arange(3), t]: the subscripts that are
    expressions are inputs of the node after the operand (None in the key where each goes)."""
    key = tuple(None if type(part) not in STATIC_SUBSCRIPTS else _subscript(part, source)
                for part in node.subscripts)
    count = key.count(None) + 1
    arguments = tuple(results[len(results) - count:])
    del results[len(results) - count:]
    for part, argument in zip([p for p in node.subscripts if type(p) not in STATIC_SUBSCRIPTS], arguments[1:]):
        if graph.ops[argument] in NO_GRADIENT and OPS[graph.ops[argument]].infix or \
                (type(part) is ast.Name and part.name in BOOLEANS):
            raise ParseError("a boolean mask (x[x > 0]) is not an index here: NumPy's masked selection "
                             "has a size that depends on the values; write where(x > 0, x, 0) to keep the "
                             "shape, at " + caret_context(source, *part.span))
    return graph.add("index", arguments, node.span, attrs={"key": key})


def check_data(graph: Graph, bound, where: str = "--const") -> None:
    """Each data name must be bound and used by the formula (a usage error otherwise)."""
    check_data_bound(graph.data, bound, where)
    for name in sorted(graph.data):
        node_id = graph.variables.get(name)
        if node_id is None or graph.spans[node_id] is None:
            import difflib

            used = [n for n in graph.variables if graph.spans[graph.variables[n]] is not None]
            close = difflib.get_close_matches(name, used, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(f"{where} {name}: the formula does not use {name}{hint}")


def check_data_bound(data, bound, where: str = "--const") -> None:
    """Data needs a value: a data name that is not bound is a usage error."""
    for name in sorted(data):
        if not name.isidentifier():
            raise UsageError(f"{where} {name}: {where} takes the name of a variable of the formula, "
                             f"and {name!r} is not a name")
        if name not in bound:
            raise UsageError(f"{where} {name}: {name} is not bound; data needs a value "
                             f"(--{name} VALUE), or drop {where} {name}")


def refuse_data(graph: Graph, names) -> None:
    """Asking for a data variable's gradient (--wrt t, --expect t=..., a case's grad) is a usage error."""
    for name in names:
        if name in graph.data:
            raise UsageError(f"{name} is data (--const {name}): it has no gradient to ask for")
        node_id = graph.assigned.get(name)
        if graph.data and node_id is not None and not graph.needs_grad[node_id]:
            data = ", ".join(f"--const {d}" for d in sorted(graph.data))
            raise UsageError(f"{name} depends only on data ({data}) and literals: it has no gradient to ask for")


def require_scalar(graph, bindings=None, what: str = "diff") -> None:
    """Exit 2 for a graph with tensor ops or a tensor binding: the symbolic and exact paths are scalar."""
    from fractions import Fraction

    tensor_ops = sorted(set(graph.ops) - SCALAR_OPS)
    if tensor_ops or getattr(graph, "uses_tensors", False):
        shown = ", ".join(tensor_ops) or "tensor literals"
        raise UsageError(f"{what} works on scalar formulas; this one uses tensors ({shown})")
    for name, value in (bindings or {}).items():
        if not isinstance(value, (int, float, Fraction)) or isinstance(value, bool):
            raise UsageError(f"{what} works on scalar formulas; --{name} is a tensor")
