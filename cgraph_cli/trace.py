"""The evaluation trace (the Wengert list) and the rule texts written with its names.

forward_trace: one statement per node in evaluation order, in cgraph syntax, `q = x + y`,
`v4 = q*z`: a node is named by the user's name where that name still means it at the end of the
program (its last assignment, and not a variable's name), else by a trace name: a prefix followed
by a number (v1, v2, ...), the prefix `v`, `v_`, `v__`, ... the first that no name of the program
uses followed by digits only (formula.temp_prefix's rule), so a trace name never collides with one
of the program. Variables are not written (`x = x`); literals are written as numbers. The
statements in order are a cgraph program computing the same value.

rule_texts: the op row's rule template with a, b, c and out replaced, token by token (whole
identifiers only: the `a` of `abs` is kept), by the trace's names of the inputs and the node.

tangent_trace (eval --tangent --steps): each statement's tangent, `v̇3 = v̇1 + v̇2`, a name with a dot
over its first letter standing for that name's tangent: the sum of each input's tangent times its
local derivative (a scalar row), the op applied to the tangents (a linear one), the product rule
(matmul, dot); an input that depends on no seeded variable is left out (its tangent is 0).
"""

import functools
import inspect
import re
from fractions import Fraction

from cgraph_cli.ops import FUNCTIONS, OPS

IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*")
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")
ATOM = re.compile(r"-?[A-Za-z_][A-Za-z0-9_]*|[0-9.]+(e-?[0-9]+)?")
PLACES = ("a", "b", "c")
# what the op rows' tensor templates write besides cgraph's functions: their own words (spread, n, N,
# k, C) or an attribute (a.shape): a template using one is not cgraph syntax and is shown as `—`
KNOWN = frozenset(FUNCTIONS) | {"g", "out", "True", "False", "pi", "e", *PLACES}
INDEXED = frozenset({"cross_entropy", "softmax_cross_entropy"})   # b may hold class indices: one_hot(b, C)
LOSSES = frozenset({"cross_entropy", "softmax_cross_entropy", "nll", "mse", "binary_cross_entropy"})


def prefix_for(names, stem: str = "v") -> str:
    """`v`, or `v_`, `v__`, ...: a prefix that no name of the program starts with followed by digits."""
    pattern = re.compile(re.escape(stem) + r"(_*)[0-9]+")
    taken = {match.group(1) for match in map(pattern.fullmatch, names) if match}
    tail = ""
    while tail in taken:
        tail += "_"
    return stem + tail


def upstream_name(graph) -> str:
    """The name of the upstream gradient in rule texts: `g`, unless the program uses it (then g_, ...)."""
    names = set(graph.variables) | set(graph.assigned)
    name = "g"
    while name in names:
        name += "_"
    return name


def trace_names(graph) -> list:
    """Each node's name in the trace (None for a literal, which is written as its number)."""
    prefix = prefix_for(set(graph.variables) | set(graph.assigned))
    names, count = [], 0
    variables, assigned = graph.variables, graph.assigned
    for node_id, (op, name) in enumerate(zip(graph.ops, graph.names)):
        if op == "var":
            names.append(name)
        elif op == "const":
            names.append(None)
        elif name is not None and assigned.get(name) == node_id and name not in variables:
            names.append(name)
        else:
            count += 1
            names.append(f"{prefix}{count}")
    return names


def number_text(value) -> str:
    """A literal as cgraph reads it back: 2.5, (-3.0), (11/5), [[1.0, 2.0], [3.0, 4.0]]."""
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 and value >= 0 else f"({value})"
    if hasattr(value, "tolist") and getattr(value, "ndim", 0):
        return _nested(value.tolist())
    value = float(value)
    text = str(int(value)) if value.is_integer() and abs(value) < 2 ** 53 else repr(value)
    return f"({text})" if value < 0 or text.startswith("-") else text


def _nested(item) -> str:
    if isinstance(item, list):
        return "[" + ", ".join(_nested(element) for element in item) + "]"
    item = float(item)
    return str(int(item)) if item.is_integer() and abs(item) < 2 ** 53 else repr(item)


LITERAL = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def operand_texts(graph, values, names) -> "callable":
    """An input as a statement writes it: its trace name, or a literal as the user wrote it (1.1, not
    11/10 under --exact) when that is a plain number, else its value's digits."""
    def operand(node_id):
        name = names[node_id]
        if name is not None:
            return name
        span = graph.spans[node_id]
        if span and span[1] - span[0] <= 40 and LITERAL.fullmatch(graph.source, *span):
            return graph.source[span[0]:span[1]]
        return number_text(values[node_id])
    return operand


def _parameter(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, tuple):
        return "(" + ", ".join(_parameter(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value) if isinstance(value, float) else str(value)


def _subscript(part, inputs) -> str:
    if part is None:
        return next(inputs)
    if isinstance(part, slice):
        text = ":".join("" if v is None else str(v) for v in (part.start, part.stop, part.step))
        return text[:-1] if text.endswith(":") and part.step is None else text
    if isinstance(part, (list, tuple)):
        return "[" + ", ".join(str(v) for v in part) + "]"
    return str(part)


def expression(graph, node_id: int, operand) -> str:
    """The node's op applied to its inputs' trace names, in cgraph syntax."""
    op, inputs, attrs = graph.ops[node_id], graph.inputs[node_id], graph.attrs.get(node_id, {})
    args = [operand(i) for i in inputs]
    row = OPS[op]
    if op == "pos":
        return args[0]
    if op == "neg":
        return "-" + args[0]
    if row.infix:
        return row.symbol.join(args) if op in ("mul", "div", "pow") else f" {row.symbol} ".join(args)
    if op == "matmul":
        return " @ ".join(args)
    if op == "index":
        rest = iter(args[1:])
        return args[0] + "[" + ", ".join(_subscript(part, rest) for part in attrs["key"]) + "]"
    keywords = [f"{name}={_parameter(value)}" for name, value in attrs.items()]
    if op in ("stack", "concatenate"):
        listed = "[" + ", ".join(args) + "]"
        if op == "stack" and not keywords:
            return listed
        return f"{op}({', '.join([listed, *keywords])})"
    return f"{row.names[0] if row.names else op}({', '.join(args + keywords)})"


def forward_trace(evaluation, names=None) -> list:
    """[(node id, name, statement, value)] for every node that is not a leaf, in evaluation order
    (a leaf output, `x` or `3`, gets a statement of its own so the program has a value)."""
    graph, values = evaluation.graph, evaluation.values
    names = names if names is not None else trace_names(graph)
    operand = operand_texts(graph, values, names)
    trace = []
    for node_id, op in enumerate(graph.ops):
        if op in ("var", "const"):
            continue
        trace.append((node_id, names[node_id], f"{names[node_id]} = {expression(graph, node_id, operand)}",
                      values[node_id]))
    if graph.ops[graph.output] in ("var", "const"):
        name = prefix_for(set(graph.variables) | set(graph.assigned)) + "0"
        trace.append((graph.output, name, f"{name} = {operand(graph.output)}", values[graph.output]))
    return trace


DOT = "\u0307"   # combining dot above: ẋ, v̇3 (Newton's notation for a tangent)


def dotted(name: str) -> str:
    return name[0] + DOT + name[1:]


def tangent_trace(evaluation, names=None) -> list:
    """[(tangent statement or None, tangent)] beside each entry of forward_trace, in its order:
    `v̇3 = v̇1 + v̇2`, `v̇4 = 0` for a node that depends on no seeded variable, None (shown as —)
    where the language cannot write the rule (the reductions other than sum and mean, the losses)."""
    graph, values, tangents = evaluation.graph, evaluation.values, evaluation.tangents
    names = names if names is not None else trace_names(graph)
    operand = operand_texts(graph, values, names)
    upstream = upstream_name(graph)
    live = [False] * len(graph)
    texts = [None] * len(graph)
    for node_id, op in enumerate(graph.ops):
        inputs = graph.inputs[node_id]
        if op == "var":
            live[node_id] = _nonzero(tangents[node_id])
            continue
        if op == "const":
            continue
        live[node_id] = OPS[op].differentiable and any(live[i] for i in inputs)
        rhs = _tangent_rule(graph, values, names, operand, upstream, live, node_id) if live[node_id] else "0"
        texts[node_id] = None if rhs is None else f"{dotted(names[node_id])} = {rhs}"
    result = []
    for node_id, name, _, _ in forward_trace(evaluation, names):
        text = texts[node_id]
        if graph.ops[node_id] in ("var", "const"):   # a leaf output's own statement, v0 = x
            text = f"{dotted(name)} = {dotted(names[node_id]) if live[node_id] else '0'}"
        result.append((text, tangents[node_id]))
    return result


def _nonzero(tangent) -> bool:
    return bool((tangent != 0).any()) if hasattr(tangent, "shape") else tangent != 0


def _tangent_rule(graph, values, names, operand, upstream, live, node_id):
    op, inputs = graph.ops[node_id], graph.inputs[node_id]
    row = OPS[op]

    def tangent_of(i):
        return dotted(names[i]) if live[i] else "0*" + _grouped(operand(i))

    if getattr(row.jvp, "linear", False):
        if op == "index":
            return expression(graph, node_id, lambda i: tangent_of(i) if i == inputs[0] else operand(i))
        return expression(graph, node_id, tangent_of)
    if getattr(row.jvp, "product", False):
        a, b = inputs
        terms = [expression(graph, node_id, lambda i, k=k: dotted(names[i]) if i == inputs[k] else operand(i))
                 for k in (0, 1) if live[inputs[k]]]
        return " + ".join(terms)
    if op in ("softmax", "log_softmax"):
        axis = graph.attrs.get(node_id, {}).get("axis", -1)
        dot, out = dotted(names[inputs[0]]), names[node_id]
        if op == "softmax":
            return f"{out} * ({dot} - sum({dot} * {out}, axis={axis}, keepdims=True))"
        return f"{dot} - sum(exp({out}) * {dot}, axis={axis}, keepdims=True)"
    if row.tensor:
        return None
    terms = []
    for position, input_id in enumerate(inputs):
        if not live[input_id]:
            continue
        _, local = rule_texts(graph, values, names, node_id, position, upstream)
        if local is None:
            return None
        term = times(dotted(names[input_id]), local)
        if term != "0":
            terms.append(term)
    if not terms:
        return "0"
    text = terms[0]
    for term in terms[1:]:
        text += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
    return text


def substitute(template: str, mapping: dict) -> str:
    """`template` with each whole identifier in `mapping` replaced, the text around it kept (a
    keyword name such as `axis=` and an attribute after a `.` are not replaced)."""
    def replace(match):
        name, before, after = match.group(0), template[:match.start()], template[match.end():]
        if name not in mapping or before.endswith(".") or re.match(r"\s*=(?!=)", after):
            return name
        return mapping[name]
    return IDENTIFIER.sub(replace, template)


def atom(text: str) -> bool:
    """A name, a number or one call f(...): safe to multiply without parentheses."""
    if ATOM.fullmatch(text):
        return not text.startswith("-")
    match = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\((.*)\)", text)
    return bool(match) and _balanced(match.group(1))


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _product(text: str) -> bool:
    """Only `*` at depth 0 (sigmoid's out*(1 - out)), not starting with a sign: g*text reads right."""
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1, "[": 1, "]": -1}.get(char, 0)
        if depth == 0 and char in "+-/<>=@,":
            return False
    return not text.startswith("-")


def times(g: str, local: str) -> str:
    """g times the local derivative, written plainly: g, -g, 0, g*z, g*(1/z)."""
    if local == "1":
        return g
    if local == "-1":
        return "-" + g
    if local == "0":
        return "0"
    return f"{g}*{local}" if atom(local) or _product(local) else f"{g}*({local})"


@functools.lru_cache(maxsize=None)
def _template_ok(template: str) -> bool:
    """A tensor template is shown when every word in it is cgraph's (no spread, n, N, k, a.shape)."""
    tokens = TOKEN.findall(template)
    for k, token in enumerate(tokens):
        if token[0].isalpha() or token[0] == "_":
            keyword = k + 1 < len(tokens) and tokens[k + 1] == "=" and tokens[k + 2:k + 3] != ["="]
            if token not in KNOWN and not keyword and token not in _PARAMS:
                return False
            if k and tokens[k - 1] == ".":
                return False
    return True


_PARAMS = frozenset(name for op in OPS.values() for name in op.params) | {"N", "n", "C"}


@functools.lru_cache(maxsize=None)
def _defaults_of(op: str) -> dict:
    return _defaults(OPS[op])


def _defaults(row) -> dict:
    try:
        parameters = inspect.signature(row.vjp).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _shape(value):
    return tuple(getattr(value, "shape", ()))


def _tensor_applies(op: str, attrs: dict, values: list) -> bool:
    """Where a tensor row's template is the vjp's arithmetic: the 2-D case of matmul and dot (transpose
    reverses every axis), the last axis for softmax, log_softmax and cumsum (the templates write
    axis=-1), one axis for diag; losses with a target of the prediction's shape (not class indices)."""
    shapes = [_shape(v) for v in values]
    if op in ("matmul", "dot"):
        return all(len(s) == 2 for s in shapes)
    if op in ("softmax", "log_softmax"):
        axis = attrs.get("axis", -1)
        return axis in (-1, len(shapes[0]) - 1)
    if op == "cumsum":
        return len(shapes[0]) == 1
    if op == "diag":
        return len(shapes[0]) == 1
    if op in LOSSES and op != "nll":
        return shapes[0] == shapes[1] or (op in INDEXED and len(shapes[1]) == len(shapes[0]) - 1)
    return True


def _loss_words(op, values) -> dict:
    """N (the batch: rows of a matrix, 1 for a vector), n (elements of a) and C (classes) as numbers."""
    if op not in LOSSES:
        return {}
    shape = _shape(values[0])
    size = 1
    for s in shape:
        size *= s
    return {"N": str(shape[0] if len(shape) > 1 else 1), "n": str(size), "C": str(shape[-1] if shape else 1)}


REDUCTIONS = frozenset({"sum", "mean", "variance", "std", "norm", "logsumexp", "reduce_max", "reduce_min"})


def _concrete(op: str, template: str, attrs: dict, inputs: list, out):
    """A tensor template with its words made cgraph syntax at this node's shapes: spread(x) is x
    unsqueezed at the reduced axes times ones(a's shape), n the count each result reduces, k 1 where
    no maximum is tied, a.shape and argsort(axes) the numbers they are; None where that cannot be done."""
    shape = _shape(inputs[0]) if inputs else ()
    if "a.shape" in template:
        template = template.replace("a.shape", _shape_text(shape))
    if "argsort(axes)" in template:
        axes = attrs.get("axes")
        if axes is None:
            template = template.replace(", argsort(axes)", "")
        else:
            order = sorted(range(len(axes)), key=lambda k: axes[k])
            template = template.replace("argsort(axes)", _parameter(tuple(order)))
    if op == "trace":
        if len(shape) != 2 or shape[0] != shape[1]:
            return None
        template = template.replace("eye(n)", f"eye({shape[0]})")
    if op not in REDUCTIONS:
        return template
    if not shape or (op == "norm" and attrs.get("ord", 2) != 2):
        return None
    axis, keepdims = attrs.get("axis"), attrs.get("keepdims", False)
    axes = tuple(range(len(shape))) if axis is None else tuple(
        a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,)))
    count = 1
    for a in axes:
        count *= shape[a]
    if op in ("reduce_max", "reduce_min"):
        import numpy as np   # a tensor node: NumPy is loaded already

        ties = np.sum(np.asarray(inputs[0]) == np.expand_dims(out, axes) if not keepdims and axis is not None
                      else np.asarray(inputs[0]) == out)
        if ties != np.size(out):
            return None   # a tie: k differs between the slices
        template = template.replace("/ k", "/ 1")
    if axis is not None and "mean(a)" in template:
        template = template.replace("mean(a)", f"mean(a, axis={_parameter(axis)}, keepdims=True)")
        template = template.replace("spread(mean(", "(mean(")   # kept dims: it broadcasts itself
    template = _expand_spread(template, shape, axes if axis is not None and not keepdims else ())
    if template.startswith("(") and template.endswith(")") and _balanced(template[1:-1]) \
            and _outer(template):
        template = template[1:-1]   # sum: g * ones((2, 3)), not in parentheses
    return re.sub(r"(?<![A-Za-z0-9_])n(?![A-Za-z0-9_(])", str(count), template)


def _outer(text: str) -> bool:
    """Does the first parenthesis close at the very end (one group, not `(a) * (b)`)?"""
    depth = 0
    for k, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return k == len(text) - 1
    return False


def _shape_text(shape: tuple) -> str:
    return str(shape[0]) if len(shape) == 1 else _parameter(tuple(shape))


def _expand_spread(template: str, shape: tuple, unsqueezed: tuple) -> str:
    """Every spread(x) of a template as (x copied over a's shape): x unsqueezed at the reduced axes
    (unless they were kept), times ones(shape)."""
    while "spread(" in template:
        start = template.index("spread(")
        depth, end = 0, start + len("spread")
        for end in range(start + len("spread"), len(template)):
            depth += {"(": 1, ")": -1}.get(template[end], 0)
            if depth == 0:
                break
        inner = template[start + len("spread("):end]
        for axis in sorted(unsqueezed):
            inner = f"unsqueeze({inner}, {axis})"
        template = f"{template[:start]}({inner} * ones({_shape_text(shape)})){template[end + 1:]}"
    return template


def _summed(text: str, input_shape: tuple, out_shape: tuple) -> str:
    """The engine's sum back to an input's shape (a bias broadcast over a batch: sum(g, axis=0))."""
    if input_shape == out_shape:
        return text
    if not input_shape:
        return f"sum({text})"
    leading = len(out_shape) - len(input_shape)
    ones = tuple(leading + i for i, size in enumerate(input_shape)
                 if size == 1 and out_shape[leading + i] != 1)
    if leading:
        text = f"sum({text}, axis={_parameter(tuple(range(leading))) if leading > 1 else 0})"
    if ones:
        kept = tuple(axis - leading for axis in ones)
        text = f"sum({text}, axis={_parameter(kept) if len(kept) > 1 else kept[0]}, keepdims=True)"
    return text


def rule_texts(graph, values, names, node_id: int, position: int, upstream: str = "g"):
    """(rule, local_rule) for the gradient node_id sends to its input at `position`: the sent gradient
    in terms of `upstream` and trace names, and the local derivative alone for a scalar row (None
    where the row has no text the language can evaluate)."""
    op = graph.ops[node_id]
    row = OPS[op]
    if position >= len(row.rule):
        return None, None
    attrs = graph.attrs.get(node_id, {})
    if op == "gelu" and attrs.get("approximate"):
        return None, None   # the row writes the exact gelu's derivative only
    operand = operand_texts(graph, values, names)
    inputs = graph.inputs[node_id]
    mapping = {place: _grouped(operand(i)) for place, i in zip(PLACES, inputs)}
    mapping["out"] = names[node_id]
    mapping["g"] = upstream
    for name, value in {**_defaults_of(op), **attrs}.items():
        mapping[name] = _grouped(_parameter(value) if not isinstance(value, float) else number_text(value))
    if "pi" in graph.variables:
        mapping["pi"] = repr(3.141592653589793)
    if "e" in graph.variables:
        mapping["e"] = repr(2.718281828459045)
    template = row.rule[position]
    if row.tensor:
        template = _concrete(op, template, attrs, [values[i] for i in inputs], values[node_id])
        if template is None:
            return None, None
    if op == "pow" and position == 0 and graph.ops[inputs[1]] == "const" and not _shape(values[inputs[1]]):
        template = _power_rule(values[inputs[1]])   # x^2: 2*x, not 2*x^(2 - 1)
    if row.tensor:
        arguments = [values[i] for i in inputs]
        if not _template_ok(template) or not _tensor_applies(op, attrs, arguments):
            return None, None
        mapping.update(_loss_words(op, arguments))
        if op in INDEXED and len(_shape(arguments[1])) < len(_shape(arguments[0])):
            if position == 1:
                return f"0*{mapping['b']}", None   # class indices get no gradient: zeros of their shape
            template = IDENTIFIER.sub(lambda m: "one_hot(b, C)" if m.group(0) == "b" else m.group(0), template)
            template = template.replace("one_hot(b, C)", "one_hot(" + mapping["b"] + ", " + mapping["C"] + ")")
        text = substitute(template, mapping)
        return (text if _parses(text) else None), None
    local = substitute(template, mapping)
    sent = times(upstream, local)
    if graph.uses_tensors:
        sent = _summed(sent, _shape(values[inputs[position]]), _shape(values[node_id]))
    return sent, local


@functools.lru_cache(maxsize=256)
def _parses(text: str) -> bool:
    """Is a tensor rule, its words replaced, cgraph syntax (the grammar's own check)?"""
    from cgraph_cli.errors import CgraphError
    from cgraph_cli.grammar import parse

    try:
        parse(text)
    except CgraphError:
        return False
    return True


def _power_rule(k) -> str:
    """d/da a^k for a literal k, its exponent k - 1 computed: 2*a, 3*a^2, -1*a^(-2)."""
    if k == 1:
        return "1"
    if k == 0:
        return "0"
    less = number_text(k - 1)
    return f"{number_text(k)}*a" if k - 1 == 1 else f"{number_text(k)}*a^{less}"


def _grouped(text: str) -> str:
    return text if atom(text) or text.startswith("[") or text.startswith("(") else f"({text})"
