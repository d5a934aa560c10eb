"""The exact backend of the op table (`RATIONALS`): Fractions, falling back to float64.

It keeps Fractions through + - * /, integer powers, rational roots of exact powers
(sqrt(4/9) = 2/3) and the exact values of the elementary functions the rows state
(`at_zero`: exp(0) = 1) or that rational.py finds (log2(8) = 3). Where an operation leaves
the rationals (exp(1), sqrt(2)) it computes in float64; exact.py notices and reports it.
"""

import contextlib
import math
from fractions import Fraction

from cgraph_cli import rational
from cgraph_cli.errors import UsageError
from cgraph_cli.ops.backend import (COMPARE, COMPARISON_FUNCTIONS, EXACT_AT_ZERO, base_slope, exact_parameter,
                                     exponent_slope, kink_message,
                                     quotient, tensor_only)
from cgraph_cli.ops.floats import MATH, gelu, sigmoid, softplus
from cgraph_cli.rational import TooLarge, fraction_text

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


def _at_zero(name: str):
    """The exact value of `name` at 0 (exp(0) = 1), else None (computed in float64)."""
    result = EXACT_AT_ZERO[name]
    return lambda x: result if x == 0 else None


def _power(base, exponent):
    if _floating(base, exponent):
        return MATH.power(_to_float(base), _to_float(exponent))
    result = rational.power(base, exponent)
    return MATH.power(float(base), float(exponent)) if result is None else result


def _power_slope(base, exponent):
    return base_slope(base, exponent, _power, 0.0 if _floating(base, exponent) else ZERO)


def _power_exponent_slope(out, base, exponent):
    """out * log(base), a float (log is irrational): infinite past float64's range, never an
    OverflowError (x^400 at 10 is exact; its slope in a constant exponent is not wanted)."""
    try:
        return exponent_slope(out, base, exponent, RATIONALS.log, ZERO)
    except OverflowError:
        return math.inf if (out > 0) == (base > 1) else -math.inf


def _sign(value):
    kind = float if isinstance(value, float) else Fraction
    return kind((value > 0) - (value < 0))


def _relu(value):
    return value if value > 0 else (0.0 if isinstance(value, float) else ZERO)


def _integral(function):
    """floor, ceil, round: exact on rationals (round half to even, as Python's and NumPy's)."""
    return lambda x: float(function(x)) if isinstance(x, float) else Fraction(function(x))


def _gelu(a, approximate=0):
    return ZERO if a == 0 and not _floating(a) else gelu(_to_float(a), approximate)


def _elu(a, alpha=ONE):
    if a > 0 or (a == 0 and not _floating(a)):
        return a if a > 0 else ZERO
    return _to_float(alpha) * math.expm1(_to_float(a))


def _where(cond, a, b):
    chosen = a if cond else b
    return Fraction(chosen) if isinstance(chosen, int) else chosen


def number_text(value) -> str:
    """An exact value as `11/5`, a float fallback as its shortest repr."""
    if isinstance(value, Fraction):
        return fraction_text(value)
    if isinstance(value, int):
        return str(value)
    return repr(value)


def _kink(at_kink: bool, what: str, used: str, at=None):
    return kink_message(at_kink, what, used, at, number_text)


def _tensors_only(*_, **__):
    raise UsageError("exact arithmetic is for scalar formulas")


class _Rationals:
    """The backend of ops.table for exact values (Fractions), falling back to float64."""

    name = "rationals (ops/rationals.py)"
    divide = staticmethod(lambda a, b: a / b)
    power = staticmethod(_power)
    power_slope = staticmethod(_power_slope)
    power_exponent_slope = staticmethod(_power_exponent_slope)
    quotient = staticmethod(quotient)
    exp = staticmethod(_exact_or_float(math.exp, _at_zero("exp")))
    log = staticmethod(_exact_or_float(_log, lambda x: _positive(x) or (ZERO if x == 1 else None)))
    log2 = staticmethod(_exact_or_float(lambda x: _log(x) / math.log(2),
                                        lambda x: _positive(x) or rational.logarithm(x, 2)))
    log10 = staticmethod(_exact_or_float(lambda x: _log(x) / math.log(10),
                                         lambda x: _positive(x) or rational.logarithm(x, 10)))
    sqrt = staticmethod(_exact_or_float(math.sqrt, _sqrt))
    sin = staticmethod(_exact_or_float(math.sin, _at_zero("sin")))
    cos = staticmethod(_exact_or_float(math.cos, _at_zero("cos")))
    tan = staticmethod(_exact_or_float(math.tan, _at_zero("tan")))
    tanh = staticmethod(_exact_or_float(math.tanh, _at_zero("tanh")))
    sinh = staticmethod(_exact_or_float(math.sinh, _at_zero("sinh")))
    cosh = staticmethod(_exact_or_float(math.cosh, _at_zero("cosh")))
    sigmoid = staticmethod(_exact_or_float(sigmoid, _at_zero("sigmoid")))
    asin = staticmethod(_exact_or_float(math.asin, _at_zero("asin")))
    acos = staticmethod(_exact_or_float(math.acos, lambda x: ZERO if x == 1 else None))
    atan = staticmethod(_exact_or_float(math.atan, _at_zero("atan")))
    atan2 = staticmethod(_exact_or_float(math.atan2, lambda y, x: ZERO if y == 0 and x > 0 else None))
    asinh = staticmethod(_exact_or_float(math.asinh, _at_zero("asinh")))
    acosh = staticmethod(_exact_or_float(math.acosh, lambda x: ZERO if x == 1 else None))
    atanh = staticmethod(_exact_or_float(math.atanh, _at_zero("atanh")))
    log1p = staticmethod(_exact_or_float(math.log1p, _at_zero("log1p")))
    expm1 = staticmethod(_exact_or_float(math.expm1, _at_zero("expm1")))
    erf = staticmethod(_exact_or_float(math.erf, _at_zero("erf")))
    softplus = staticmethod(_exact_or_float(softplus, lambda x: None))   # log(2) at 0: never rational
    silu = staticmethod(_exact_or_float(MATH.silu, _at_zero("silu")))
    gelu = staticmethod(_gelu)
    elu = staticmethod(_elu)
    leaky_relu = staticmethod(lambda a, negative_slope=Fraction(1, 100): a if a > 0 else negative_slope * a)
    floor, ceil, round = (staticmethod(_integral(f)) for f in (math.floor, math.ceil, round))
    clip = staticmethod(lambda a, lo, hi: min(max(a, lo), hi))
    where = staticmethod(_where)
    parameter = staticmethod(exact_parameter)
    relu = staticmethod(_relu)
    abs = staticmethod(abs)
    sign = staticmethod(_sign)
    maximum = staticmethod(lambda a, b: a if a >= b else b)
    minimum = staticmethod(lambda a, b: a if a <= b else b)
    locals().update({function: staticmethod((lambda decide: lambda a, b: Fraction(int(bool(decide(a, b)))))(
        COMPARE[op][0])) for op, function in COMPARISON_FUNCTIONS.items()})
    LN2, LN10, PI = math.log(2.0), math.log(10.0), math.pi   # irrational: a gradient through log2 is a float
    kink = staticmethod(_kink)
    forward_guard = backward_guard = staticmethod(contextlib.nullcontext)
    unbroadcast = None
    tensor_only(locals(), staticmethod(_tensors_only))


RATIONALS = _Rationals()


class GradientTooLarge(TooLarge):
    """A gradient through op `op` (forward value `out`) with more than rational.MAX_DIGITS digits."""

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
                    raise GradientTooLarge(op.name, out) from None
        return local

    def jvp(dots, out, *args, **keywords):
        tangent = op.jvp(dots, out, *args, **keywords)
        if isinstance(tangent, Fraction):
            try:
                rational.check_size(tangent)
            except TooLarge:
                raise GradientTooLarge(op.name, out) from None
        return tangent
    return op._replace(vjp=vjp, jvp=jvp)


def size_checked(ops):
    """The exact table: `ops` (an OpTable over RATIONALS) with every rule size-checked."""
    return type(ops)([_size_checked(op) if op.arity else op for op in ops.values()], ops.backend)   # a new table
