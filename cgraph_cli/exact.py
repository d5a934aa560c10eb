"""Exact arithmetic (--exact): evaluate with rationals wherever every operation is rational.

The op table is the same one floats use (`ops.exact_table()`); its backend (ops/rationals.py) keeps
Fractions through + - * /, integer powers, rational roots of exact powers (sqrt(4/9) = 2/3)
and the few exact values of the elementary functions (exp(0) = 1, log2(8) = 3). Decimal
literals and bindings are read as exact decimals, so the apple example gives 220, 11/5,
110, 200 rather than 2.2000000000000006.

Where an operation leaves the rationals (exp(1), sqrt(2), pi), the backend computes it in
float64 and evaluation reports the node: an error (exit 3) under --exact, a warning under
--exact-auto, after which the values that depend on it are floats. No exact number may
have more than rational.MAX_DIGITS digits: `9^9^9^9` is exit 3 at once.

The forward loop is our own (the engine's reads float constants and checks finiteness with
float conversions that overflow on big rationals); the backward pass is engine.backward.
"""

import math
from fractions import Fraction

from cgraph_cli import rational
from cgraph_cli.engine import Evaluation, backward, contributions, find_kinks, forward_tangents, unbound_message
from cgraph_cli.errors import BindingError, EvalError, caret_context
from cgraph_cli.graph import require_scalar
from cgraph_cli.ops import INFIX, exact_table
from cgraph_cli.ops.rationals import GradientTooLarge, number_text
from cgraph_cli.rational import TooLarge
from cgraph_cli.text import printable

EVALUATION_ERRORS = (ArithmeticError, ValueError)
ZERO, ONE = Fraction(0), Fraction(1)


def _floating(*values) -> bool:
    return any(isinstance(v, float) for v in values)


def evaluate(graph, bindings: dict, auto: bool = False, tangents: dict = None):
    """Forward with rationals, then engine.backward: an engine.Evaluation whose values and
    gradients are Fractions (floats past an irrational operation, with --exact-auto); with
    `tangents` (name -> Fraction), every node's exact tangent too."""
    require_scalar(graph, bindings, "--exact")
    ops = exact_table()
    notes = []
    values = _forward(graph, bindings, ops, auto, notes)
    try:
        grads = backward(graph, values, ONE, ops)
    except GradientTooLarge as error:
        candidates = [i for i, v in enumerate(values) if v is error.out and graph.ops[i] == error.op]
        node_id = max(candidates) if candidates else graph.output
        raise EvalError(f"exact arithmetic: the gradient through {_where(graph, node_id)} has more than "
                        f"{rational.MAX_DIGITS:,} digits; leave out --exact to compute in float64")
    # the engine gives 0.0 to a node no gradient reached: in exact arithmetic that is exactly 0
    grads = [ZERO if isinstance(g, float) and g == 0 else g for g in grads]
    _check_gradients(graph, values, grads, ops, auto, notes)
    return Evaluation(graph, values, grads, find_kinks(graph, values, ops), notes,
                      tangents=None if tangents is None else exact_tangents(graph, values, tangents))


def exact_tangents(graph, values: list, seeds: dict) -> list:
    """engine.forward_tangents over the exact table: exact tangents (Fractions), a tangent with more
    than rational.MAX_DIGITS digits an error naming its node (exit 3)."""
    try:
        return forward_tangents(graph, values, seeds, exact_table())
    except GradientTooLarge as error:
        candidates = [i for i, v in enumerate(values) if v is error.out and graph.ops[i] == error.op]
        node_id = max(candidates) if candidates else graph.output
        raise EvalError(f"exact arithmetic: the tangent through {_where(graph, node_id)} has more than "
                        f"{rational.MAX_DIGITS:,} digits; leave out --exact to compute in float64")


def _forward(graph, bindings: dict, ops, auto: bool, notes: list) -> list:
    missing = sorted(name for name in graph.variables if name not in bindings)
    if missing:
        raise BindingError(unbound_message(missing, bindings))
    values = [None] * len(graph)
    forwards = {name: op.forward for name, op in ops.items()}
    for node_id, (op, inputs) in enumerate(zip(graph.ops, graph.inputs)):
        if op == "var":
            values[node_id] = Fraction(bindings[graph.names[node_id]])
            continue
        if op == "const":
            text = graph.text(node_id)
            try:
                value = rational.parse_exact(text)
            except TooLarge as error:
                raise EvalError(f"exact arithmetic: {error} in {_where(graph, node_id)}")
            if value is None:                       # pi, e
                value = float(graph.constants[node_id])
                _left_rationals(graph, node_id, text, auto, notes)
            values[node_id] = value
            continue
        arguments = [values[i] for i in inputs]
        try:
            value = forwards[op](*arguments)
            if isinstance(value, Fraction):
                rational.check_size(value)
        except TooLarge:
            raise EvalError(f"exact arithmetic: {_call_text(op, arguments)} has more than "
                            f"{rational.MAX_DIGITS:,} digits, too large to be useful, in "
                            f"{_where(graph, node_id)}\nleave out --exact to compute in float64") from None
        except EVALUATION_ERRORS as error:
            raise EvalError(f"{_error_text(op, arguments, error)} in {_where(graph, node_id)}") from None
        if isinstance(value, float):
            if not math.isfinite(value):
                raise EvalError(f"{_call_text(op, arguments)} is {value}: not a finite float64 "
                                f"in {_where(graph, node_id)}")
            if not _floating(*arguments):
                _left_rationals(graph, node_id, _call_text(op, arguments), auto, notes)
        values[node_id] = value
    return values


def _left_rationals(graph, node_id: int, what: str, auto: bool, notes: list) -> None:
    if not auto:
        raise EvalError(f"exact arithmetic: {what} is not rational, in {_where(graph, node_id)}\n"
                        "use --exact-auto to compute it in float64 from there on, or leave out --exact")
    notes.append(f"exact arithmetic: {what} is not rational: computed in float64 from "
                 f"{_where(graph, node_id, caret=False)} on")


def _check_gradients(graph, values, grads, ops, auto: bool, notes: list) -> None:
    """Find where the backward pass left the rationals (log2's 1/(x ln 2), d(2^y)/dy) and
    which local derivatives were infinite (sqrt at 0): as the forward pass reports them."""
    if not any(isinstance(g, float) for g in grads):
        return
    for node_id, input_id, upstream, local, sent in contributions(graph, values, grads, ops):
        if sent is None or not isinstance(local, float) or isinstance(upstream, float) or \
                _floating(values[node_id], *(values[i] for i in graph.inputs[node_id])):
            continue
        if math.isfinite(local):
            what = f"the local derivative of {graph.excerpt(node_id, 60)} with respect to {graph.excerpt(input_id, 60)}"
            _left_rationals(graph, node_id, what, auto, notes)
        else:
            notes.append(f"gradient of {graph.excerpt(node_id, 60)} is {local} with respect to "
                         f"{graph.excerpt(input_id, 60)}: its local derivative is not finite")


def _shown(value) -> str:
    """A number for a message: long exact ones cut in the middle, with their length."""
    text = number_text(value)
    if len(text) <= 40:
        return text
    return f"{text[:16]}…{text[-8:]} ({len(text)} characters)"


def _call_text(op: str, arguments: list) -> str:
    shown = [_shown(a) for a in arguments]
    if op in INFIX:
        left, right = [f"({text})" if text[0] == "-" or "/" in text else text for text in shown]
        return f"{left}{INFIX[op]}{right}"
    names = {"maximum": "max", "minimum": "min"}
    return f"{names.get(op, op)}({', '.join(shown)})"


def _error_text(op: str, arguments: list, error) -> str:
    if isinstance(error, ZeroDivisionError):
        return "division by zero" if op == "div" else f"{_call_text(op, arguments)}: division by zero"
    if isinstance(error, OverflowError):
        return f"{_call_text(op, arguments)} overflows float64 (larger than 1.8e308)"
    if str(error) == "math domain error":
        return f"{_call_text(op, arguments)} is outside the domain of {op}"
    return f"{_call_text(op, arguments)}: {error}"


def _where(graph, node_id: int, caret: bool = True) -> str:
    span = graph.spans[node_id]
    long = graph.ops[node_id] != "var" and span and span[1] - span[0] > 60   # read the ends only
    text = graph.source[span[0]:span[0] + 30] + "…" + graph.source[span[1] - 30:span[1]] if long \
        else graph.text(node_id)
    text = printable(text, keep="\n")
    if span is None:
        return text
    if not caret:
        line = graph.source.count("\n", 0, span[0]) + 1
        column = span[0] - graph.source.rfind("\n", 0, span[0])
        return f"{text} (line {line}, column {column})"
    return f"{text} at {caret_context(graph.source, *span)}"
