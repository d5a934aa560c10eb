"""Exact arithmetic (--exact): evaluate with rationals wherever every operation is rational.

The op table is the same one floats use (`ops.table(RATIONALS)`); the backend below keeps
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

import contextlib
import json
import math
from fractions import Fraction
from pathlib import Path

from cgraph_cli import rational
from cgraph_cli.errors import BindingError, EvalError, UsageError, caret_context
from cgraph_cli.ops import MATH, table
from cgraph_cli.rational import TooLarge, fraction_text

EVALUATION_ERRORS = (ArithmeticError, ValueError)
ZERO, ONE = Fraction(0), Fraction(1)


def _floating(*values) -> bool:
    return any(isinstance(v, float) for v in values)


def _exact_or_float(float_function, exact_function):
    """The exact result when there is one, else the float result (noticed by the caller)."""
    def function(*args):
        if not _floating(*args):
            result = exact_function(*args)
            if result is not None:
                return result
        return float_function(*(_to_float(a) for a in args))
    return function


def _to_float(value) -> float:
    return value if isinstance(value, float) else float(value)


def _log(value) -> float:
    """Natural log of a positive rational, also of one too small or large for a float."""
    if isinstance(value, Fraction):
        if value <= 0:
            raise ValueError("math domain error")
        return math.log(value.numerator) - math.log(value.denominator)
    return math.log(value)


def _positive(value):
    if value <= 0:
        raise ValueError("math domain error")
    return None


def _sqrt(value):
    if value < 0:
        raise ValueError("math domain error")
    return rational.power(value, Fraction(1, 2))


def _at_zero(result):
    return lambda x: Fraction(result) if x == 0 else None


def _power(base, exponent):
    if _floating(base, exponent):
        return MATH.power(_to_float(base), _to_float(exponent))
    result = rational.power(base, exponent)
    return MATH.power(float(base), float(exponent)) if result is None else result


def _power_slope(base, exponent):
    """d(base^exponent)/d(base) = exponent * base^(exponent-1); infinite at 0 for exponent < 1."""
    if exponent == 0:
        return ZERO if not _floating(base, exponent) else 0.0
    if base == 0 and exponent < 1:
        return math.inf
    return exponent * _power(base, exponent - 1)


def _power_exponent_slope(out, base, exponent):
    """d(base^exponent)/d(exponent) = base^exponent * log(base)."""
    if base > 0:
        return out * RATIONALS.log(base)
    if base == 0 and exponent >= 0:
        return ZERO
    return math.nan


def _quotient(numerator, denominator):
    if denominator:
        return numerator / denominator
    return math.copysign(math.inf, numerator) if numerator else math.nan


def _sign(value):
    kind = float if isinstance(value, float) else Fraction
    return kind((value > 0) - (value < 0))


def _relu(value):
    return value if value > 0 else (0.0 if isinstance(value, float) else ZERO)


def _kink(at_kink: bool, what: str, used: str, at=None):
    if not at_kink:
        return None
    return f"{what}{'' if at is None else f' at {number_text(at)}'}: {used}"


def _tensors_only(*_, **__):
    raise UsageError("exact arithmetic is for scalar formulas")


class _Rationals:
    """The backend of ops.table for exact values (Fractions), falling back to float64."""

    divide = staticmethod(lambda a, b: a / b)
    power = staticmethod(_power)
    power_slope = staticmethod(_power_slope)
    power_exponent_slope = staticmethod(_power_exponent_slope)
    quotient = staticmethod(_quotient)
    exp = staticmethod(_exact_or_float(math.exp, _at_zero(1)))
    log = staticmethod(_exact_or_float(_log, lambda x: _positive(x) or (ZERO if x == 1 else None)))
    log2 = staticmethod(_exact_or_float(lambda x: _log(x) / math.log(2),
                                        lambda x: _positive(x) or rational.logarithm(x, 2)))
    log10 = staticmethod(_exact_or_float(lambda x: _log(x) / math.log(10),
                                         lambda x: _positive(x) or rational.logarithm(x, 10)))
    sqrt = staticmethod(_exact_or_float(math.sqrt, _sqrt))
    sin = staticmethod(_exact_or_float(math.sin, _at_zero(0)))
    cos = staticmethod(_exact_or_float(math.cos, _at_zero(1)))
    tan = staticmethod(_exact_or_float(math.tan, _at_zero(0)))
    tanh = staticmethod(_exact_or_float(math.tanh, _at_zero(0)))
    sigmoid = staticmethod(_exact_or_float(MATH.sigmoid, _at_zero(Fraction(1, 2))))
    relu = staticmethod(_relu)
    abs = staticmethod(abs)
    sign = staticmethod(_sign)
    maximum = staticmethod(lambda a, b: a if a >= b else b)
    minimum = staticmethod(lambda a, b: a if a <= b else b)
    LN2, LN10 = math.log(2.0), math.log(10.0)     # irrational: a gradient through log2 is a float
    kink = staticmethod(_kink)
    forward_guard = backward_guard = staticmethod(contextlib.nullcontext)
    unbroadcast = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _tensors_only


RATIONALS = _Rationals()


def number_text(value) -> str:
    """An exact value as `11/5`, a float fallback as its shortest repr."""
    if isinstance(value, Fraction):
        return fraction_text(value)
    if isinstance(value, int):
        return str(value)
    return repr(value)


class _GradientTooLarge(TooLarge):
    def __init__(self, op: str, out):
        super().__init__(op)
        self.op, self.out = op, out


def _size_checked(op):
    """op with a vjp that refuses gradients beyond MAX_DIGITS digits (naming its node later)."""
    def vjp(upstream, out, *args, **keywords):
        local = op.vjp(upstream, out, *args, **keywords)
        for contribution in local:
            if isinstance(contribution, Fraction):
                try:
                    rational.check_size(contribution)
                except TooLarge:
                    raise _GradientTooLarge(op.name, out) from None
        return local
    return op._replace(vjp=vjp)


def exact_table():
    ops = table(RATIONALS)
    for name in list(ops):
        if ops[name].arity:
            ops[name] = _size_checked(ops[name])
    return ops


def evaluate(graph, bindings: dict, auto: bool = False):
    """Forward with rationals, then engine.backward: an engine.Evaluation whose values and
    gradients are Fractions (floats past an irrational operation, with --exact-auto)."""
    from cgraph_cli.engine import Evaluation, backward, find_kinks
    from cgraph_cli.symbolic import require_scalar

    require_scalar(graph, bindings, "--exact")
    ops = exact_table()
    notes = []
    values = _forward(graph, bindings, ops, auto, notes)
    try:
        grads = backward(graph, values, ONE, ops)
    except _GradientTooLarge as error:
        candidates = [i for i, v in enumerate(values) if v is error.out and graph.ops[i] == error.op]
        node_id = max(candidates) if candidates else graph.output
        raise EvalError(f"exact arithmetic: the gradient through {_where(graph, node_id)} has more than "
                        f"{rational.MAX_DIGITS:,} digits; leave out --exact to compute in float64")
    # the engine gives 0.0 to a node no gradient reached: in exact arithmetic that is exactly 0
    grads = [ZERO if isinstance(g, float) and g == 0 else g for g in grads]
    _check_gradients(graph, values, grads, ops, auto, notes)
    return Evaluation(graph, values, grads, find_kinks(graph, values, ops), notes)


def _forward(graph, bindings: dict, ops, auto: bool, notes: list) -> list:
    from cgraph_cli.engine import unbound_message

    missing = sorted(name for name in graph.variables if name not in bindings)
    if missing:
        raise BindingError(unbound_message(missing))
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
    for node_id in range(len(graph) - 1, -1, -1):
        upstream, arguments = grads[node_id], graph.inputs[node_id]
        if upstream is None or isinstance(upstream, float) or not arguments:
            continue
        inputs = [values[i] for i in arguments]
        if _floating(values[node_id], *inputs):
            continue
        local = ops[graph.ops[node_id]].vjp(upstream, values[node_id], *inputs)
        for input_id, contribution in zip(arguments, local):
            if not graph.needs_grad[input_id] or not isinstance(contribution, float):
                continue
            if math.isfinite(contribution):
                what = f"the local derivative of {graph.text(node_id)} with respect to {graph.text(input_id)}"
                _left_rationals(graph, node_id, what, auto, notes)
            else:
                notes.append(f"gradient of {graph.text(node_id)} is {contribution} with respect to "
                             f"{graph.text(input_id)}: its local derivative is not finite")


def _shown(value) -> str:
    """A number for a message: long exact ones cut in the middle, with their length."""
    text = number_text(value)
    if len(text) <= 40:
        return text
    return f"{text[:16]}…{text[-8:]} ({len(text)} characters)"


def _call_text(op: str, arguments: list) -> str:
    shown = [_shown(a) for a in arguments]
    infix = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}
    if op in infix:
        left, right = [f"({text})" if text[0] == "-" or "/" in text else text for text in shown]
        return f"{left}{infix[op]}{right}"
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
    text = graph.text(node_id)
    text = text if len(text) <= 60 else text[:30] + "…" + text[-30:]
    span = graph.spans[node_id]
    if span is None:
        return text
    if not caret:
        line = graph.source.count("\n", 0, span[0]) + 1
        column = span[0] - graph.source.rfind("\n", 0, span[0])
        return f"{text} (line {line}, column {column})"
    return f"{text} at {caret_context(graph.source, *span)}"


# ----- bindings read exactly -----

def parse_binding(text: str, source: str) -> Fraction:
    """A binding's exact value: `0.1` is 1/10, `1/3` is 1/3."""
    stripped = text.strip()
    if stripped.startswith(("[", "@")):
        raise UsageError(f"{source}: --exact is for scalar formulas; this binding is a tensor")
    try:
        value = rational.parse_exact(stripped)
    except TooLarge as error:
        raise BindingError(f"{source}: {error}")
    except ZeroDivisionError:
        raise BindingError(f"{source}: {text} divides by zero")
    if value is None:
        raise BindingError(f"{source}: expected a number such as 2, -0.5, 1e-3 or 1/3, got {text!r}")
    return value


def written_value(value, source: str) -> Fraction:
    """A binding as written in a TOML or JSON file: 2, 0.1 (the decimal it was written as), "1/3"."""
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise UsageError(f"{source}: --exact is for scalar formulas")
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, int):
        return Fraction(value)
    return parse_binding(str(value), source)


def exact_bindings(pairs: list, var_words, vars_file, checked: dict) -> dict:
    """The bindings bindings.collect already checked and merged (`checked`), read again from
    their text as exact rationals: --vars FILE.json first, the command line over it."""
    exact = {}
    if vars_file is not None:
        data = json.loads(Path(vars_file).read_text(encoding="utf-8"),
                          parse_float=lambda text: parse_binding(text, f"--vars {vars_file}"))
        for name, value in data.items():
            if isinstance(value, bool) or not isinstance(value, (int, Fraction, str)):
                raise UsageError(f"--vars {vars_file}: {name}: --exact is for scalar formulas")
            exact[name] = Fraction(value) if not isinstance(value, str) else \
                parse_binding(value, f"--vars {vars_file}: {name}")
    words = [word.partition("=") for word in var_words]
    for name, text in list(pairs) + [(name.strip(), text) for name, _, text in words]:
        exact[name] = parse_binding(text, f"--{name}")
    return {name: exact[name] for name in checked}
