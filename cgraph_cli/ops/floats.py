"""The float64 backend of the op table (`MATH`): Python floats and the math module."""

import contextlib
import math
from types import SimpleNamespace

from cgraph_cli.ops.backend import COMPARE, COMPARISON_FUNCTIONS, base_slope, exponent_slope, kink_message, quotient, tensor_only


def _power(base: float, exponent: float) -> float:
    if base < 0 and exponent != int(exponent):
        raise ValueError("a negative base needs an integer exponent")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 to a negative power")
    return math.pow(base, exponent)


def _power_slope(base: float, exponent: float) -> float:
    try:
        return base_slope(base, exponent, math.pow, 0.0)
    except OverflowError:
        return math.inf


def _power_exponent_slope(out: float, base: float, exponent: float) -> float:
    return exponent_slope(out, base, exponent, math.log, 0.0)


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def softplus(x: float) -> float:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def gelu(x: float, approximate=0) -> float:
    """PyTorch's GELU: x*Phi(x) (Phi through erfc, accurate for large negative x), or the tanh form."""
    if approximate:
        inner = GELU_TANH * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + math.tanh(inner))
    return 0.5 * x * math.erfc(-x * SQRT1_2)


SQRT1_2 = math.sqrt(0.5)
GELU_TANH = math.sqrt(2.0 / math.pi)   # the tanh form's sqrt(2/pi)


def _round(x: float) -> float:
    """Round half to even, as NumPy (Python's round of a float is correctly rounded, ties to even)."""
    return float(round(x)) if math.isfinite(x) else x


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _kink(at_kink: bool, what: str, used: str, at=None):
    return kink_message(at_kink, what, used, at, lambda value: f"{value:.12g}")


def _tensors_only(*_, **__):
    raise AssertionError("tensor operations run on the NumPy backend (ops/arrays.py)")


MATH = SimpleNamespace(**tensor_only(dict(
    name="floats (ops/floats.py)",
    divide=lambda a, b: a / b, power=_power, power_slope=_power_slope,
    power_exponent_slope=_power_exponent_slope, quotient=quotient,
    exp=math.exp, log=math.log, log2=math.log2, log10=math.log10, sqrt=math.sqrt,
    sin=math.sin, cos=math.cos, tan=math.tan, tanh=math.tanh, sinh=math.sinh, cosh=math.cosh,
    sigmoid=sigmoid, relu=lambda a: a if a > 0 else 0.0, abs=abs, sign=_sign,
    maximum=lambda a, b: a if a >= b else b, minimum=lambda a, b: a if a <= b else b,
    asin=math.asin, acos=math.acos, atan=math.atan, atan2=math.atan2, asinh=math.asinh,
    acosh=math.acosh, atanh=math.atanh, log1p=math.log1p, expm1=math.expm1, erf=math.erf,
    softplus=softplus, silu=lambda a: a * sigmoid(a), gelu=gelu,
    elu=lambda a, alpha=1.0: a if a > 0 else alpha * math.expm1(a),
    leaky_relu=lambda a, negative_slope=0.01: a if a > 0 else negative_slope * a,
    floor=lambda a: float(math.floor(a)), ceil=lambda a: float(math.ceil(a)), round=_round,
    clip=lambda a, lo, hi: min(max(a, lo), hi),   # NumPy's clip: hi when lo > hi
    where=lambda cond, a, b: float(a if cond else b), parameter=float,
    LN2=math.log(2.0), LN10=math.log(10.0), PI=math.pi, kink=_kink,
    **{function: (lambda decide: lambda a, b: 1.0 if decide(a, b) else 0.0)(COMPARE[op][0])
       for op, function in COMPARISON_FUNCTIONS.items()},
    forward_guard=contextlib.nullcontext, backward_guard=contextlib.nullcontext, unbroadcast=None,
), _tensors_only))
