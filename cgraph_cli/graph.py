"""AST to computational graph: a flat tape of nodes, every input before its users.

The graph is stored by columns (one list per field) rather than as a list of
node objects: a million-node tape then costs a few lists, and the engine's loops
read plain lists. `Graph.node(i)` gives a readable view of one node.
"""

import difflib
from fractions import Fraction
from typing import NamedTuple, Optional

from cgraph_cli import ast
from cgraph_cli.bindings import MAX_DIMENSIONS
from cgraph_cli.errors import ParseError, UsageError, caret_context
from cgraph_cli.text import excerpt
from cgraph_cli.grammar import MODULES
from cgraph_cli.ops import (BOOLEANS, CONSTANTS, FUNCTIONS, KEYWORD_ALIASES, KEYWORD_KINDS, KEYWORDS, METHODS,
                            NO_GRADIENT, OPS, SCALAR_OPS, TENSOR_OPS)

RESERVED = {"value"}
# The functions of one input called with one argument: no parameters to read (graph.build's fast path).
UNARY_CALLS = {name: op for name, op in FUNCTIONS.items() if isinstance(op, str) and OPS[op].arity == 1}
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

    def differentiable(self) -> list:
        """The variables that carry a gradient (every one not bound as data), sorted."""
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
    a 100,000-deep nesting is as easy as a 100,000-term sum.
    """
    if not program.statements:
        raise UsageError("the expression is empty: give a formula such as \"(x+y)^2\"")
    graph = Graph(source, data)
    for name in sorted(bound):   # bound names, used or not, are the graph's first nodes
        graph.variables[name] = graph.add("var", (), None, name=name)
    Num, Name, Binary, Unary, Call = ast.Num, ast.Name, ast.Binary, ast.Unary, ast.Call
    ops, inputs, spans, names, needs = graph.ops, graph.inputs, graph.spans, graph.names, graph.needs_grad
    constants = graph.constants
    literal_shapes, literal_depths = {}, {}   # id(ast.Tensor) -> its shape (ragged literals), its depth
    results = []
    push, pop = results.append, results.pop
    for node in ast.postorder(program):
        kind = type(node)
        if kind is Binary:
            right = pop()
            left = pop()
            if node.op == "matmul":
                graph.uses_tensors = True
            elif node.op in NO_GRADIENT:
                push(graph.add(node.op, (left, right), node.span))
                continue
            push(len(ops))
            ops.append(node.op)
            inputs.append((left, right))
            spans.append(node.span)
            names.append(None)
            needs.append(needs[left] or needs[right])
        elif kind is Name:
            push(_lookup(graph, node, source, bound))
        elif kind is Num:
            push(len(ops))
            constants[len(ops)] = node.value
            ops.append("const")
            inputs.append(())
            spans.append(node.span)
            names.append(None)
            needs.append(False)
        elif kind is Call and len(node.args) == 1 and node.func in UNARY_CALLS \
                and type(node.args[0]) not in ARGUMENT_FORMS:   # sin(x): the common case, quickly
            push(graph.add(UNARY_CALLS[node.func], (pop(),), node.span))
        elif kind is Call or kind is ast.Method:
            push(_call(graph, node, results, source, bound))
        elif kind is Unary:
            push(graph.add(node.op, (pop(),), node.span))
        elif kind is ast.Index:
            push(_index(graph, node, results, source))
        elif kind is ast.Attribute:
            push(_attribute(graph, node, pop(), source, bound))
        elif kind is ast.Tensor:
            count = len(node.elements)
            elements = tuple(results[len(results) - count:])
            del results[len(results) - count:]
            push(_tensor(graph, node, elements, (literal_shapes, literal_depths), source))
        else:
            push(_assign(graph, node, pop(), source, bound))
    graph.output = results[-1]
    return graph


def _assign(graph: Graph, statement: ast.Assign, value: int, source: str, bound) -> int:
    name = statement.name
    if name in RESERVED:
        raise ParseError(f"'{name}' is reserved (it names the output) and cannot be assigned, at "
                         + caret_context(source, *statement.span))
    if statement.op is not None:
        target = _lookup(graph, ast.Name(name, statement.span), source, bound)
        value = graph.add(statement.op, (target, value), statement.span)
    elif graph.names[value] is not None or graph.ops[value] in ("var", "const"):
        # `b = a` names a node that already has a name: give b a node of its own.
        value = graph.add("pos", (value,), statement.span)
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
    folded = all(graph.ops[e] == "const" and graph.names[e] is None for e in elements)
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


def _integer(part: ast.Integer, source: str) -> int:
    text = part.text
    if not text.lstrip("-").isdigit():
        raise ParseError(f"an index or axis must be an integer, got {text}, at "
                         + caret_context(source, *part.span))
    # beyond any array's rank or size (NumPy would call it an overflow); the length is checked first,
    # as int() refuses more than 4,300 digits
    if len(text.lstrip("-").lstrip("0")) > 19 or abs(int(text)) >= 2 ** 62:
        shown = text if len(text) <= 30 else text[:12] + "…" + text[-12:]
        raise ParseError(f"an index or axis this large ({shown}) is out of range, at "
                         + caret_context(source, *part.span))
    return int(text)


def _subscript(part, source: str):
    if type(part) is ast.Integer:
        return _integer(part, source)
    if type(part) is ast.IntegerList:
        items = [_subscript(item, source) for item in part.items]
        shapes = {_list_shape(item) for item in items}
        if len(shapes) > 1 or None in shapes:
            raise ParseError("ragged index list: its elements differ in length or mix numbers and lists, at "
                             + caret_context(source, *part.span))
        return items
    bounds = [None if bound is None else _integer(bound, source) for bound in part[:3]]
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


KIND_WORDS = {"int": "an integer", "axis": "one integer (this function takes a single axis)", "axes": "an integer or a tuple of integers, such as 0 or (0, 1)",
              "shape": "a size or a tuple of sizes, such as 3 or (2, 3)", "bool": "True or False",
              "number": "a number"}


def _call(graph: Graph, node, results: list, source: str, bound) -> int:
    """The node of a call f(...) or a method a.f(...): its inputs from the results, its constant
    parameters (positional ones after the inputs, and keywords) as attrs; a constructor (zeros)
    becomes one const node. Every mistake is a parse error with a caret."""
    method = type(node) is ast.Method
    if method:
        _refuse_module(graph, node, source, bound)
    op, inputs, params, keywords = ast.split(node)
    shown = f".{node.func}()" if method else f"{node.func}()"
    if op is None:
        _unknown_call(graph, node, len(inputs) + len(params), source, bound)
    row = OPS[op]
    _check_counts(node, row, shown, inputs, params, source)
    keyword_seen = None
    for arg in node.args:
        if type(arg) is ast.Keyword:
            keyword_seen = arg
        elif keyword_seen is not None:
            raise ParseError(f"a positional argument cannot follow the keyword argument {keyword_seen.name}=, at "
                             + caret_context(source, *arg.span))
    attrs, by_keyword = {}, set()
    for name, param in zip(row.params, params):
        attrs[name] = _parameter(graph, param, name, shown, source, bound, row)
    for keyword in keywords:
        name = keyword.name
        if name not in row.params and KEYWORD_ALIASES.get(name) in row.params:
            name = KEYWORD_ALIASES[name]   # PyTorch's dim=, keepdim=
        if name not in row.params:
            allowed = ", ".join(sorted(KEYWORDS.get(op, ()))) or "none"
            choice = FUNCTIONS.get(node.func)
            other = [OPS[o] for o in (choice.values() if isinstance(choice, dict) else ()) if o != op]
            hint = "".join(f"\n{node.func}() with {o.arity} input{'s' * (o.arity > 1)} takes {name}=: "
                           f"{node.func}(x, {name}=...)" for o in other if name in o.params)
            raise ParseError(f"{shown[:-2]}() has no keyword '{keyword.name}' (it takes: {allowed}), at "
                             + caret_context(source, *keyword.span) + hint)
        if name in attrs:
            again = "given twice" if name in by_keyword else "given by position and by keyword"
            raise ParseError(f"{name} {again}, at " + caret_context(source, *keyword.span))
        by_keyword.add(name)
        attrs[name] = _parameter(graph, keyword.value, name, shown, source, bound, row)
    count = 0
    for k, arg in enumerate(inputs):
        if type(arg) is ast.Tuple:
            raise ParseError(f"a tuple such as (2, 3) is a shape or axes, given as a parameter "
                             f"(reshape(x, (2, 3)), sum(X, axis=(0, 1))); argument {k + 1} of {shown} is an "
                             "input: for a tensor write [2, 3], at " + caret_context(source, *arg.span))
        count += len(arg.elements) if type(arg) is ast.List else 1
    if row.arity == 0:
        return _construct(graph, node, op, attrs, source)
    arguments = tuple(results[len(results) - count:])
    del results[len(results) - count:]
    return graph.add(op, arguments, node.span, attrs=attrs)


def _check_counts(node, row, shown: str, inputs: list, params: list, source: str) -> None:
    method = type(node) is ast.Method
    if row.arity < 0:
        if not inputs or type(inputs[0]) is not ast.List:
            example = f"{node.func}([a, b]" + (", axis=0)" if "axis" in row.params else ")")
            raise ParseError(f"{shown} takes a list of its inputs: write {example}, at "
                             + caret_context(source, *node.span))
        return
    if len(inputs) == row.arity and len(params) <= len(row.params):
        return
    arity = row.arity - method   # a method's receiver is not counted
    plural = "argument" if arity == 1 else "arguments"
    also = ""
    if row.params:
        count = len(row.params)
        also = (f" and at most {count} parameter{'s' if count > 1 else ''} ({', '.join(row.params)})")
        plural = "argument" if arity == 1 else "arguments"
    got = len(inputs) + len(params) - method
    hint = ("\nfor a base-2 logarithm write log2(x), or log(x)/log(2) for any base"
            if node.func in ("log", "ln") and got == 2 and not method else "")
    raise ParseError(f"{shown} takes {arity} {plural}{also}, got {got}, at "
                     + caret_context(source, *node.span) + hint)


def _unknown_call(graph: Graph, node, count: int, source: str, bound):
    """The parse error for a call no row fits: an unknown name, or a count no spelling takes."""
    name_span = (node.span[0], node.span[0] + len(node.func))
    if type(node) is ast.Method:
        if node.func in FUNCTIONS:
            hint = f"{node.func} is not a method: write {node.func}({_text(source, node.args[0])}, ...)"
        else:
            close = difflib.get_close_matches(node.func, list(METHODS), n=1)
            hint = f"did you mean .{close[0]}()?" if close else "methods: " + ", ".join(sorted(METHODS))
        at = source.find(node.func, node.args[0].span[1])
        raise ParseError(f"unknown method '.{node.func}()' at "
                         f"{caret_context(source, at, at + len(node.func))}\n{hint}")
    if node.func not in FUNCTIONS:
        if node.func in graph.variables or node.func in graph.assigned or node.func in bound:
            hint = f"'{node.func}' is a variable, not a function: write {node.func}*(...) to multiply"
        else:
            close = difflib.get_close_matches(node.func, list(FUNCTIONS), n=1)
            hint = f"did you mean '{close[0]}'?" if close else (
                "known functions: " + ", ".join(sorted(FUNCTIONS)))
        raise ParseError(f"unknown function '{node.func}' at {caret_context(source, *name_span)}\n{hint}")
    choice = FUNCTIONS[node.func]   # a spelling whose op the count chooses (max, min)
    wanted = " or ".join(map(str, sorted(choice)))
    extra = ""
    if count > max(choice):
        extra = f"\n(its argument count chooses the op, so parameters go by keyword: {node.func}(X, axis=0))"
    raise ParseError(f"{node.func}() takes {wanted} arguments, got {count}, at "
                     + caret_context(source, *node.span) + extra)


def _parameter(graph: Graph, node, name: str, shown: str, source: str, bound, row):
    """A constant parameter's value, checked against its kind (KEYWORD_KINDS; a row's `one_axis`
    makes its axis one integer): an int, a tuple of ints, a bool, or a float."""
    kind = "axis" if name == "axis" and row.one_axis else KEYWORD_KINDS.get(name, "number")
    value = _constant(graph, node, source, bound)
    if value is None:
        raise ParseError(f"the parameter {name} of {shown} must be a constant ({KIND_WORDS[kind]}), at "
                         + caret_context(source, *node.span))
    integers = isinstance(value, int) and not isinstance(value, bool)
    sizes = isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind in ("int", "axis") and integers or kind == "axes" and (integers or sizes):
        return value
    if kind == "shape" and (integers or sizes) and all(v >= -1 for v in (value if sizes else (value,))):
        return value
    if kind == "bool" and (isinstance(value, bool) or value in (0, 1)) and not isinstance(value, tuple):
        return bool(value)
    if kind == "number" and not isinstance(value, tuple):
        return float(value) if not integers else value
    raise ParseError(f"{name}= takes {KIND_WORDS[kind]}, got {_text(source, node)}, at "
                     + caret_context(source, *node.span))


# one operation of two constants in a parameter (leaky_relu(x, 1/10), 2*pi): floats, as the formula's own
_ARITHMETIC = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
               "div": lambda a, b: float(a) / b, "pow": lambda a, b: float(a) ** b}


def _constant(graph: Graph, node, source: str, bound):
    """The value of a constant written in a parameter: 2 (an int), 2.5, -1, True, pi, (2, 3); None
    for anything else (a variable, an expression)."""
    kind = type(node)
    if kind is ast.Num:
        if node.text.isdigit():
            return _integer(ast.Integer(node.text, node.span), source)
        return node.value
    if kind is ast.Name:
        name = node.name
        if name in bound or name in graph.assigned or name in graph.variables:
            return None
        if name in BOOLEANS:
            return name == "True"
        return CONSTANTS.get(name)
    if kind is ast.Unary and type(node.operand) in (ast.Num, ast.Name):
        value = _constant(graph, node.operand, source, bound)
        if value is None or isinstance(value, bool):
            return None
        if node.op == "neg" and type(node.operand) is ast.Num and node.operand.text.isdigit():
            return _integer(ast.Integer("-" + node.operand.text, node.span), source)
        return -value if node.op == "neg" else value
    if kind is ast.Binary and type(node.left) is not ast.Binary and type(node.right) is not ast.Binary:
        left, right = _constant(graph, node.left, source, bound), _constant(graph, node.right, source, bound)
        if left is None or right is None or isinstance(left, (bool, tuple)) or isinstance(right, (bool, tuple)):
            return None
        try:
            return _ARITHMETIC[node.op](left, right)
        except (ArithmeticError, ValueError, TypeError):
            return None
    if kind is ast.Tuple:
        values = tuple(_constant(graph, element, source, bound) for element in node.elements)
        return None if any(v is None or isinstance(v, tuple) for v in values) else values
    return None


def _construct(graph: Graph, node, op: str, attrs: dict, source: str) -> int:
    """A constructor (zeros((2, 3)), arange(5)): evaluated now, with NumPy, into one const node."""
    from cgraph_cli.ops import array_table

    try:
        value = array_table()[op].forward(**attrs)
    except TypeError:   # a parameter it needs was not given: full(2)
        missing = [name for name in OPS[op].params if name not in attrs]
        raise ParseError(f"{node.func}() needs its {' and '.join(missing)}: write {node.func}("
                         f"{', '.join(OPS[op].params)}), at " + caret_context(source, *node.span)) from None
    except (ValueError, OverflowError, MemoryError) as error:
        raise ParseError(f"{error}, at " + caret_context(source, *node.span)) from None
    graph.uses_tensors = True
    return graph.add("const", (), node.span, constant=value)


def _attribute(graph: Graph, node: ast.Attribute, operand: int, source: str, bound) -> int:
    """A.T is transpose(A); any other attribute is a parse error saying what to write."""
    receiver = node.operand
    if type(receiver) is ast.Name and receiver.name in MODULES and receiver.name not in bound \
            and receiver.name not in graph.assigned:
        what = f"write {node.name}" if node.name in CONSTANTS else "cgraph's functions need no module prefix"
        raise ParseError(f"module prefix '{receiver.name}.' at {caret_context(source, *_prefix(source, receiver))}"
                         f"\n{what}")
    if node.name == "T":
        return graph.add("transpose", (operand,), node.span)
    at = source.find(node.name, receiver.span[1])
    where = caret_context(source, at, at + len(node.name))
    if node.name in METHODS:
        hint = f"a method needs parentheses: write {_text(source, receiver)}.{node.name}()"
    else:
        hint = f"the only attribute is .T (the transpose); for a function f write f({_text(source, receiver)})"
    raise ParseError(f"unknown attribute '.{node.name}' at {where}\n{hint}")


# NumPy's and PyTorch's names for cgraph's functions, for the module-prefix hint (np.maximum(x, 0)).
MODULE_NAMES = {"maximum": "max", "minimum": "min", "power": "pow", "absolute": "abs", "amax": "max",
                "amin": "min",
                "cat": "concatenate", "concat": "concatenate"}


def _refuse_module(graph: Graph, node: ast.Method, source: str, bound) -> None:
    """np.exp(x), torch.relu(x), F.relu(x): a parse error saying to drop the prefix (never
    'unbound variable np'), unless the receiver is a bound or assigned name."""
    receiver = node.args[0]
    if type(receiver) is not ast.Name or receiver.name not in MODULES or receiver.name in bound \
            or receiver.name in graph.assigned:
        return
    name = node.func if node.func in FUNCTIONS else MODULE_NAMES.get(node.func)
    args = node.args[1:]
    inside = source[args[0].span[0]:args[-1].span[1]] if args else ""
    if len(inside) > 40 or "\n" in inside:
        inside = "..."
    positional = [arg for arg in args if type(arg) is not ast.Keyword]
    if name is None:
        close = difflib.get_close_matches(node.func, list(FUNCTIONS), n=1)
        hint = (f"cgraph's functions need no module prefix, and it has no function '{node.func}'"
                + (f": did you mean {close[0]}(...)?" if close else ""))
    elif node.func in ("max", "min", "amax", "amin") and len(positional) == 2 and inside != "...":
        first, second = (source[arg.span[0]:arg.span[1]] for arg in positional)
        hint = (f"cgraph's functions need no module prefix: write {name}({first}, axis={second}) for "
                f"NumPy's reduction over axis {second}; cgraph's {name}({first}, {second}) is the "
                f"elementwise {'maximum' if name == 'max' else 'minimum'} of {first} and {second}")
    else:
        hint = f"cgraph's functions need no module prefix: write {name}({inside})"
    raise ParseError(f"module prefix '{receiver.name}.' at {caret_context(source, *_prefix(source, receiver))}"
                     f"\n{hint}")


def _prefix(source: str, receiver) -> tuple:
    """The span of `np.` in `np.exp(x)`."""
    dot = source.find(".", receiver.span[1])
    return receiver.span[0], dot + 1


def _text(source: str, node, width: int = 30) -> str:
    text = source[node.span[0]:node.span[1]]
    return text if len(text) <= width and "\n" not in text else "..."


def check_data(graph: Graph, bound, where: str = "--const") -> None:
    """Each data name must be bound and used by the formula (a usage error otherwise)."""
    check_data_bound(graph.data, bound, where)
    for name in sorted(graph.data):
        node_id = graph.variables.get(name)
        if node_id is None or graph.spans[node_id] is None:
            used = [n for n in graph.variables if graph.spans[graph.variables[n]] is not None]
            close = difflib.get_close_matches(name, used, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(f"{where} {name}: the formula does not use {name}{hint}")


def check_data_bound(data, bound, where: str = "--const") -> None:
    """Data needs a value: a data name that is not bound is a usage error."""
    for name in sorted(data):
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
    tensor_ops = sorted(set(graph.ops) - SCALAR_OPS)
    if tensor_ops or getattr(graph, "uses_tensors", False):
        shown = ", ".join(tensor_ops) or "tensor literals"
        raise UsageError(f"{what} works on scalar formulas; this one uses tensors ({shown})")
    for name, value in (bindings or {}).items():
        if not isinstance(value, (int, float, Fraction)) or isinstance(value, bool):
            raise UsageError(f"{what} works on scalar formulas; --{name} is a tensor")
