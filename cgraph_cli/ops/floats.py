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
    LN2=math.log(2.0), LN10=math.log(10.0), kink=_kink,
    **{function: (lambda decide: lambda a, b: 1.0 if decide(a, b) else 0.0)(COMPARE[op][0])
       for op, function in COMPARISON_FUNCTIONS.items()},
    forward_guard=contextlib.nullcontext, backward_guard=contextlib.nullcontext, unbroadcast=None,
), _tensors_only))
