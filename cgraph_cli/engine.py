"""The evaluator: a forward loop over the tape, then a backward loop over it reversed.

    forward:  for node in tape:            value[node] = op.forward(*value[inputs])
    backward: for node in reversed(tape):  grad[input] += op.vjp(grad[node], ...)[k]

The `+=` is the fan-out rule: a value used several times receives the sum of its
users' contributions. Constants (nodes that depend on no variable) carry no
gradient. Returns plain data; renderers do the printing.
"""

import math
from typing import NamedTuple

from functools import partial
from itertools import compress

from cgraph_cli.errors import BindingError, EvalError, caret_context
from cgraph_cli.graph import Graph
from cgraph_cli.ops import OPS, table_for
from cgraph_cli.text import printable


class Evaluation(NamedTuple):
    graph: Graph
    values: list
    grads: list          # None for constants
    kinks: dict          # node id -> message, for nodes evaluated exactly at a kink
    warnings: list       # messages about non-finite gradients
    reduced: dict = {}   # node id -> [{"input": id, "axes": [...]}]: gradients summed back by broadcasting
    seed: object = None  # the upstream gradient of the output: None for 1.0, else the array used
    tangents: list = None   # eval --tangent: every node's tangent (forward_tangents), else None

    @property
    def value(self):
        return self.values[self.graph.output]

    def gradients(self) -> dict:
        """d(output)/d(variable) for every variable that is not data (--const), by name."""
        grads, variables = self.grads, self.graph.variables
        return {name: (grads[variables[name]] if grads[variables[name]] is not None else 0.0)
                for name in self.graph.differentiable()}




def evaluate(graph: Graph, bindings: dict, seed=None, ops: dict = None, tangents: dict = None) -> Evaluation:
    """Forward, then backward. `ops`: the op table of the values' backend (chosen from the
    graph and bindings when not given). `seed`: the output's upstream gradient; for a
    non-scalar output it defaults to ones of its shape (the gradient of its sum). `tangents`
    (eval --tangent): variable name -> tangent, every node's tangent computed in the forward sweep."""
    ops = ops if ops is not None else table_for(graph, bindings)
    if tangents is None:
        values, tangent_list = forward(graph, bindings, ops), None
    else:
        values, tangent_list = forward_with_tangents(graph, bindings, tangents, ops)
    output = values[graph.output]
    shape = getattr(output, "shape", ())
    if seed is None:
        seed_used = 1.0 if not shape else _ones(output)
    else:
        seed_used = seed
        if getattr(seed, "shape", ()) != shape:
            raise BindingError(f"--seed has shape {getattr(seed, 'shape', ())} but the output has shape "
                               f"{shape}: give an upstream gradient of the output's shape")
    reduced = {}
    grads = backward(graph, values, seed_used, ops, reduced)
    return Evaluation(graph, values, grads, find_kinks(graph, values, ops),
                      gradient_warnings(graph, values, grads, ops), reduced,
                      None if (seed is None and not shape) else seed_used, tangent_list)


def _ones(value):
    import numpy

    return numpy.ones_like(value, dtype=float)


# ZeroDivision, Overflow, FloatingPoint; domain and shape errors; an index out of range
EVALUATION_ERRORS = (ArithmeticError, ValueError, IndexError)


def node_functions(graph: Graph, ops: dict, part: str) -> list:
    """Each node's forward function or vjp rule, with its op's keyword arguments bound."""
    functions = list(map(ops.column(part).__getitem__, graph.ops))   # one dict lookup per node, in C
    if graph.attrs:
        for node_id, attrs in graph.attrs.items():
            functions[node_id] = partial(functions[node_id], **attrs)
    return functions


def _each_function(graph: Graph, ops: dict, part: str, backwards: bool = False):
    """node_functions as an iterator over the tape (from its end if `backwards`): without keyword
    arguments to bind, each is looked up as the loop reaches it, with no list of a million."""
    if graph.attrs:
        functions = node_functions(graph, ops, part)
        return reversed(functions) if backwards else iter(functions)
    return map(ops.column(part).__getitem__, reversed(graph.ops) if backwards else graph.ops)


def forward(graph: Graph, bindings: dict, ops: dict = OPS, finite: bool = True) -> list:
    """Every node's value; with `finite`, a non-finite one (an overflow, an inf literal) is an EvalError
    naming the node (False: for a caller that silenced the backend to find the bad rows itself)."""
    values = _leaf_values(graph, bindings)
    node_id = -1
    try:
        with ops.backend.forward_guard():
            for node_id, function, arguments in zip(range(len(graph)), _each_function(graph, ops, "forward"),
                                                    graph.inputs):
                if len(arguments) == 2:
                    a, b = arguments
                    values[node_id] = function(values[a], values[b])
                elif len(arguments) == 1:
                    values[node_id] = function(values[arguments[0]])
                elif arguments:
                    values[node_id] = function(*[values[i] for i in arguments])
    except EVALUATION_ERRORS as error:
        raise _evaluation_error(graph, values, node_id, error) from None
    if finite:
        _require_finite(graph, values)
    return values


def _leaf_values(graph: Graph, bindings: dict) -> list:
    """The values list of a forward pass, its leaves filled in (an unbound variable: a BindingError)."""
    if not graph.variables.keys() <= bindings.keys():
        missing = sorted(name for name in graph.variables if name not in bindings)
        raise BindingError(unbound_message(missing, bindings))
    values = [None] * len(graph)
    for node_id, value in graph.constants.items():
        values[node_id] = value
    for name, node_id in graph.variables.items():
        values[node_id] = bindings[name]
    return values


def _require_finite(graph: Graph, values: list) -> None:
    try:
        finite = all(map(math.isfinite, values))
    except TypeError:   # arrays among the values: each value checked on its own
        finite = all(map(_finite, values))
    if not finite:
        node_id = next(i for i, v in enumerate(values) if not _finite(v))
        raise _evaluation_error(graph, values, node_id, None)


def backward(graph: Graph, values: list, seed=1.0, ops: dict = OPS, reduced: dict = None,
             keep: set = None) -> list:
    """Reverse mode from the output: each input receives the sum of what its users' rules send
    it (`contributions`). With a backend that broadcasts, each contribution is summed back to
    its input's shape, and recorded in `reduced`.

    `keep` (array backends): the nodes whose gradients the caller wants; every other node's
    gradient and value is released as soon as it has been passed on (its users come later on
    the tape, so nothing reads it again), and only the kept gradients are returned."""
    grads = [None] * len(graph)
    if graph.needs_grad[graph.output]:
        grads[graph.output] = seed
    needs = graph.needs_grad
    if ops.backend.unbroadcast is None and keep is None:
        _scalar_backward(graph, values, grads, ops)
        # Only a node that needs a gradient can receive one: when as many received one as need one
        # (counted in C; a scalar is never == None), the list is the answer as it is.
        if len(grads) - grads.count(None) == needs.count(True):
            return grads
        for i in compress(range(len(grads)), needs):   # the others got None from no user (or a 0 upstream)
            if grads[i] is None:
                grads[i] = _zero_like(values[i])
        return grads
    else:
        done = None
        for node_id, input_id, _, _, sent in contributions(graph, values, grads, ops, reduced):
            if keep is not None and node_id != done:
                _release(done, grads, values, keep)
                done = node_id
            if sent is not None:
                grads[input_id] = sent if grads[input_id] is None else grads[input_id] + sent
        _release(done, grads, values, keep)
    return [(_zero_like(values[i]) if g is None else g) if need and (keep is None or i in keep) else None
            for i, (g, need) in enumerate(zip(grads, needs))]


def contributions(graph: Graph, values: list, grads: list, ops: dict = OPS, reduced: dict = None):
    """Every rule application of the backward pass, in its order, as
    (node, input, upstream, local, sent): the node's gradient `upstream`, what its rule
    returned for that input (`local`, at the node's shape), and what the input receives
    (`sent`, summed back to the input's shape; None for a constant input).

    The skip rules are stated here once: a node that received no gradient, or exactly zero,
    passes nothing on (so a flat relu stops an infinite slope below it from becoming nan);
    leaves have no rule. `grads[node]` is read when the walk reaches the node, so backward can
    fill `grads` while it walks; replays (warnings, exact notes, --steps) pass the final ones."""
    needs, inputs = graph.needs_grad, graph.inputs
    rules = node_functions(graph, ops, "vjp")
    fit = ops.backend.unbroadcast
    with ops.backend.backward_guard():
        for node_id in range(graph.output, -1, -1):
            upstream = grads[node_id]
            arguments = inputs[node_id]
            if upstream is None or not arguments or _is_zero(upstream):
                continue
            local = rules[node_id](upstream, values[node_id], *[values[i] for i in arguments])
            if len(local) != len(arguments):
                raise _arity_error(graph, node_id, local)
            for input_id, contribution in zip(arguments, local):
                sent = None
                if needs[input_id]:
                    sent = contribution
                    if fit is not None:
                        sent, axes = fit(contribution, values[input_id])
                        if axes and reduced is not None:
                            reduced.setdefault(node_id, []).append({"input": input_id, "axes": axes})
                yield node_id, input_id, upstream, contribution, sent


def forward_tangents(graph: Graph, values: list, seeds: dict, ops=OPS) -> list:
    """Forward mode: every node's tangent, its directional derivative along `seeds` (variable name ->
    its tangent: a float, Fraction or array of the variable's shape; other variables get 0), from the
    forward `values`, in one pass over the tape: tangent[node] = op.jvp(tangents of its inputs, ...).

    A node depending on no seeded variable (or only through an op without a gradient) carries no
    tangent while the pass runs (None: its users skip it) and gets a zero of its value's kind at the
    end (0.0, Fraction 0, zeros of its shape). `ops`: the table of the values' backend."""
    return _sweep(graph, values, seeds, ops, None)


def forward_with_tangents(graph: Graph, bindings: dict, seeds: dict, ops=OPS) -> tuple:
    """(values, tangents): `forward` and `forward_tangents` in one sweep over the tape, each node's
    value then its tangent (scalar backends; an array backend runs the two passes, each under its
    own error mode: NumPy's errors raise in the forward pass only)."""
    if ops.backend.unbroadcast is not None:
        values = forward(graph, bindings, ops)
        return values, forward_tangents(graph, values, seeds, ops)
    values = _leaf_values(graph, bindings)
    tangents = _sweep(graph, values, seeds, ops, node_functions(graph, ops, "forward"))
    _require_finite(graph, values)
    return values, tangents


def _sweep(graph: Graph, values: list, seeds: dict, ops, functions) -> list:
    """The tangents pass; with `functions` (the nodes' forward functions) each node's value is
    computed first, in the same loop (values holds only the leaves then)."""
    tangents = [None] * len(graph)
    for name, tangent in seeds.items():
        if name not in graph.variables:
            raise BindingError(f"--tangent {printable(name)}: no such variable in the formula")
        tangents[graph.variables[name]] = tangent
    rules = node_functions(graph, ops, "jvp")
    compute = functions is not None
    arrays = ops.backend.unbroadcast is not None   # an elementwise op's tangent may need its node's shape
    node_id = -1
    try:
        with (ops.backend.forward_guard() if compute else ops.backend.backward_guard()):
            for node_id, function, rule, arguments in zip(range(len(graph)), functions or rules, rules,
                                                          graph.inputs):
                if len(arguments) == 2:
                    a, b = arguments
                    va, vb = values[a], values[b]
                    if compute:
                        values[node_id] = function(va, vb)
                    da, db = tangents[a], tangents[b]
                    if da is not None or db is not None:
                        tangents[node_id] = rule((da, db), values[node_id], va, vb)
                elif len(arguments) == 1:
                    a = arguments[0]
                    va = values[a]
                    if compute:
                        values[node_id] = function(va)
                    if tangents[a] is not None:
                        tangents[node_id] = rule((tangents[a],), values[node_id], va)
                elif arguments:
                    inputs = [values[i] for i in arguments]
                    if compute:
                        values[node_id] = function(*inputs)
                    dots = [tangents[i] for i in arguments]
                    if any(dot is not None for dot in dots):
                        tangents[node_id] = rule(dots, values[node_id], *inputs)
                else:
                    continue
                if arrays and tangents[node_id] is not None:
                    tangents[node_id] = _at_shape(tangents[node_id], values[node_id])
    except EVALUATION_ERRORS as error:
        raise _evaluation_error(graph, values, node_id, error) from None
    if arrays:
        return [_zero_tangent(value) if tangent is None else tangent for tangent, value in zip(tangents, values)]
    zero = {None: ops.backend.parameter(0)}   # the backend's 0: 0.0, Fraction(0), the expression 0
    return list(map(zero.get, tangents, tangents))   # None -> 0, any other tangent kept (a C loop)


def _at_shape(tangent, value):
    """A tangent at its node's shape (an elementwise op's input broadcast against a larger one)."""
    import numpy

    shape = numpy.shape(value)
    if numpy.shape(tangent) == shape:
        return tangent
    return numpy.broadcast_to(tangent, shape).astype(float) if shape else float(tangent)


def _zero_tangent(value):
    if type(value) is float:
        return 0.0
    return value * 0 if hasattr(value, "shape") or hasattr(value, "denominator") else 0.0


def _scalar_backward(graph: Graph, values: list, grads: list, ops: dict) -> None:
    """`contributions` summed into `grads`, written out for backends without broadcasting
    (floats, rationals, expressions): the same skip rules, without a generator's cost per edge."""
    needs, inputs = graph.needs_grad, graph.inputs
    rules = _each_function(graph, ops, "vjp", backwards=True)
    # From the last node: those after the output (its statements' unused results) have no gradient.
    for node_id, rule, arguments, out in zip(range(len(graph) - 1, -1, -1), rules,
                                             reversed(inputs), reversed(values)):
        upstream = grads[node_id]   # read now: its users, later on the tape, have all sent theirs
        if not upstream:   # None (no gradient reached it) or exactly zero
            continue
        if len(arguments) == 2:
            a, b = arguments
            try:
                local_a, local_b = rule(upstream, out, values[a], values[b])
            except ValueError:
                raise _arity_error(graph, node_id, rule(upstream, out, values[a], values[b])) from None
            if needs[a]:
                sum_a = grads[a]
                grads[a] = local_a if sum_a is None else sum_a + local_a
            if needs[b]:
                sum_b = grads[b]
                grads[b] = local_b if sum_b is None else sum_b + local_b
        elif len(arguments) == 1:
            a = arguments[0]
            try:
                local_a, = rule(upstream, out, values[a])
            except ValueError:
                raise _arity_error(graph, node_id, rule(upstream, out, values[a])) from None
            if needs[a]:
                sum_a = grads[a]
                grads[a] = local_a if sum_a is None else sum_a + local_a
        elif arguments:
            local = rule(upstream, out, *[values[i] for i in arguments])
            if len(local) != len(arguments):
                raise _arity_error(graph, node_id, local)
            for input_id, contribution in zip(arguments, local):
                if needs[input_id]:
                    grads[input_id] = contribution if grads[input_id] is None else grads[input_id] + contribution


def _arity_error(graph: Graph, node_id: int, local) -> AssertionError:
    """A rule that did not return one gradient per input: a bug in its row (exit 70)."""
    try:
        count = len(local)
    except TypeError:
        count = "no tuple of"
    return AssertionError(f"the vjp rule of {graph.ops[node_id]} returned {count} gradients for "
                          f"{len(graph.inputs[node_id])} inputs")


def _release(node_id, grads: list, values: list, keep) -> None:
    if node_id is not None and keep is not None and node_id not in keep:
        grads[node_id] = values[node_id] = None


def _zero_like(value):
    return value * 0 if hasattr(value, "shape") else 0.0


def _is_zero(value) -> bool:
    try:
        return not value
    except ValueError:   # an array of several elements: never skipped
        return False


def find_kinks(graph: Graph, values: list, ops: dict = OPS) -> dict:
    kinks = {}
    rules = ops.column("kink")
    if not any(map(rules.__getitem__, set(graph.ops))):   # no op with a kink on the tape
        return kinks
    for node_id, rule in enumerate(map(rules.__getitem__, graph.ops)):
        if rule is not None:
            message = rule(values[node_id], *(values[i] for i in graph.inputs[node_id]),
                           **graph.attrs.get(node_id, {}))
            if message:
                kinks[node_id] = message
    return kinks


def gradient_warnings(graph: Graph, values: list, grads: list, ops: dict = OPS) -> list:
    """Name each node whose local derivative turned a finite gradient into inf or nan."""
    if _all_finite(grads, ops):
        return []
    warnings = []
    for node_id, input_id, upstream, local, sent in contributions(graph, values, grads, ops):
        if sent is not None and _finite(upstream) and not _finite(local):
            at = ", ".join(f"{graph.excerpt(i, 60)} = {_describe(values[i])}" for i in graph.inputs[node_id])
            warnings.append(f"gradient of {graph.excerpt(node_id, 60)} is {_describe(local)} with "
                            f"respect to {graph.excerpt(input_id, 60)} (at {at}): its local derivative "
                            "is not finite")
    return warnings


def _all_finite(grads: list, ops) -> bool:
    """Is every gradient that is not None finite? Scalars in one pass in C (None and zeros, falsy,
    are left out by the filter; a zero is finite); arrays, and expressions, one by one."""
    if ops.backend.unbroadcast is None:
        try:
            return all(map(math.isfinite, filter(None, grads)))
        except TypeError:   # symbolic expressions: no float value
            pass
    return all(g is None or _finite(g) for g in grads)


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except TypeError:
        import numpy

        return bool(numpy.isfinite(value).all())


def _describe(value) -> str:
    shape = getattr(value, "shape", ())
    if not shape:
        return f"{float(value):.12g}"
    import numpy

    bad = int(numpy.count_nonzero(~numpy.isfinite(value)))
    plural = "element" if bad == 1 else "elements"
    return f"an array of shape {shape}" + (f" with {bad} non-finite {plural}" if bad else "")


def unbound_message(missing: list, bound=()) -> str:
    shown = [_short(name, 40) for name in missing[:10]]
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    names = ", ".join(shown) + more
    spelled = {_spelling(name): name for name in bound}
    meant = ", ".join(f"{spelled[_spelling(name)]} (bound)" for name in missing[:10]
                      if _spelling(name) in spelled)
    if meant:
        return f"unbound {'variable' if len(missing) == 1 else 'variables'}: {names}\ndid you mean {meant}?"
    example = " ".join(f"--{name} VALUE" for name in shown[:3])
    noun = "variable" if len(missing) == 1 else "variables"
    return f"unbound {noun}: {names}\ngive a value with {example} (or -v NAME=VALUE, or --vars FILE.json)"


def did_you_mean(name: str, known) -> str | None:
    """The known name a mistyped one most likely means (w_1 for W1; a close spelling), else None."""
    import difflib

    spelled = {_spelling(other): other for other in known}
    if _spelling(name) in spelled:
        return spelled[_spelling(name)]
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _spelling(name: str) -> str:
    """A name as a person may misremember it: w_1, W1 and w1 are the same spelling."""
    return name.replace("_", "").lower()


def _evaluation_error(graph: Graph, values: list, node_id: int, error) -> EvalError:
    if graph.spans[node_id] is None:   # a variable (bound values are finite; a probe of one may not be)
        return EvalError(f"{printable(graph.names[node_id])} is {_describe(values[node_id])}: not a finite float64")
    op = OPS[graph.ops[node_id]]
    arguments = [values[i] for i in graph.inputs[node_id]]
    shown = ", ".join(_describe(v) for v in arguments)
    shapes = [getattr(v, "shape", ()) for v in arguments]
    where = caret_context(graph.source, *graph.spans[node_id])
    text, node_text = str(error), printable(_short(graph.text(node_id)), keep="\n")
    if error is None:
        what = f"{op.name}({shown}) is {_describe(values[node_id])}: not a finite float64"
    elif isinstance(error, OverflowError) or "overflow" in text:
        what = f"{op.name}({shown}) overflows float64 (larger than 1.8e308)"
    elif (op.domain and isinstance(error, (FloatingPointError, ValueError)) and not _shape_error(error, shapes)
          and not (op.name == "pow" and "divide by zero" in text)):
        what = f"{op.name} needs {op.domain}, got {shown}"
    elif isinstance(error, ZeroDivisionError) or "divide by zero" in text:
        what = "division by zero" if op.name == "div" else f"{op.name}({shown}): {text}"
    elif isinstance(error, IndexError):
        return EvalError(f"{text} in {node_text} (shape {shapes[0]}) at {where}")
    elif _shape_error(error, shapes):
        if op.name == "stack":
            what = "ragged tensor: its elements have shapes " + ", ".join(map(str, shapes))
        elif len(shapes) == 2:
            return EvalError(f"shape mismatch in {node_text}: {shapes[0]} {op.symbol} {shapes[1]} at {where}")
        else:
            what = f"{op.name} of shape {shapes[0]}: {error}"
    else:
        what = f"{op.name}({shown}): {error}"
    return EvalError(f"{what} in {node_text} at {where}")


def _shape_error(error, shapes) -> bool:
    return isinstance(error, ValueError) and not isinstance(error, ArithmeticError) and any(shapes)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width // 2] + "…" + text[-width // 2:]


def check_tangent(graph, bindings: dict, name: str, value, source: str, seeds: dict, data: str) -> None:
    """A tangent for `name` (eval --tangent, the API's tangent=) must be for a variable of the formula,
    not data, given once, of the variable's shape: a BindingError (UsageError for data) otherwise.
    `source` names it in messages (`--tangent x`, `tangent['x']`); `data` how data is marked there."""
    from cgraph_cli.errors import UsageError
    from cgraph_cli.text import unknown_name

    if name not in graph.variables:
        meant = did_you_mean(name, graph.variables)
        raise BindingError(unknown_name(source, name, sorted(graph.variables))
                           + (f"; did you mean {meant}?" if meant else ""))
    if name in graph.data:
        raise UsageError(f"{name} is data ({data}): it has no tangent; leave out {data} to differentiate "
                         "along it")
    if name in seeds:
        raise BindingError(f"{source} is given twice")
    have, want = getattr(value, "shape", ()), getattr(bindings.get(name), "shape", ())
    if have != want and name in bindings:   # (an unbound variable: the evaluation's own error)
        def shown(shape):
            return "a scalar" if not shape else f"shape {tuple(shape)}"
        raise BindingError(f"{source}: the tangent is {shown(have)} but {name} is {shown(want)}; "
                           f"give a tangent of {name}'s shape")
