"""THE op table: each row holds an operation's forward function and its vector-Jacobian rule.

    vjp(upstream, out, *inputs) -> one gradient per input, in input order

`out` is the node's forward value, so rules like exp's reuse it. The engine does
the bookkeeping (summing where a value fans out, skipping constants); a rule only
states its local derivative. Adding an operation is adding a row.

Kinks follow PyTorch's documented rule, the minimum-norm subgradient:
relu'(0) = 0, abs'(0) = 0, and a tie in max/min splits the upstream gradient
0.5/0.5. Each such row has a `kink` function naming what was used, and the
engine flags every node evaluated exactly at a kink.
"""

import math
from typing import Callable, NamedTuple, Optional

INF = math.inf
LN2 = math.log(2.0)
LN10 = math.log(10.0)


class Op(NamedTuple):
    name: str                     # the grammar's and JSON's name
    arity: int
    forward: Callable
    vjp: Callable
    symbol: str                   # how the tree, table and pictures show it
    kink: Optional[Callable] = None   # (out, *inputs) -> message when at a kink, else None
    domain: str = ""              # what the argument must be, for a domain error message


def _quotient(numerator: float, denominator: float) -> float:
    """numerator/denominator, with a zero denominator giving a signed infinity (a gradient, not a value)."""
    if denominator:
        return numerator / denominator
    return math.copysign(INF, numerator) if numerator else math.nan


def _power(base: float, exponent: float) -> float:
    if base < 0 and exponent != int(exponent):
        raise ValueError("a negative base needs an integer exponent")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 to a negative power")
    return math.pow(base, exponent)


def _power_vjp(upstream, out, base, exponent):
    if exponent == 0:
        d_base = 0.0
    elif base == 0 and exponent < 1:
        d_base = INF          # x^0.5 at 0: the slope is infinite
    else:
        try:
            d_base = exponent * math.pow(base, exponent - 1)
        except OverflowError:
            d_base = INF
    if base > 0:
        d_exponent = out * math.log(base)
    elif base == 0 and exponent >= 0:
        d_exponent = 0.0      # PyTorch's convention: 0^y has zero slope in y for y >= 0
    else:
        d_exponent = math.nan  # a negative base has no real logarithm
    return upstream * d_base, upstream * d_exponent


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _max_vjp(upstream, out, a, b):
    if a == b:                 # a tie splits the gradient (balanced, like PyTorch)
        half = upstream * 0.5
        return half, half
    return (upstream, 0.0) if a > b else (0.0, upstream)


def _min_vjp(upstream, out, a, b):
    if a == b:
        half = upstream * 0.5
        return half, half
    return (upstream, 0.0) if a < b else (0.0, upstream)


def _tie(name):
    return lambda out, a, b: f"{name} tie at {a:.12g}: gradient split 0.5/0.5" if a == b else None


def _leaf(*_):
    raise AssertionError("leaves have no forward function or local derivative")


ROWS = (
    # ----- leaves: values come from the bindings (var) or the source text (const) -----
    Op("var", 0, _leaf, _leaf, "input"),
    Op("const", 0, _leaf, _leaf, "const"),
    # ----- arithmetic -----
    Op("add", 2, lambda a, b: a + b, lambda g, out, a, b: (g, g), "+"),
    Op("sub", 2, lambda a, b: a - b, lambda g, out, a, b: (g, -g), "-"),
    Op("mul", 2, lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a), "*"),
    Op("div", 2, lambda a, b: a / b, lambda g, out, a, b: (g / b, -g * out / b), "/"),
    Op("pow", 2, _power, _power_vjp, "^"),
    Op("neg", 1, lambda a: -a, lambda g, out, a: (-g,), "neg"),
    Op("pos", 1, lambda a: a, lambda g, out, a: (g,), "pos"),
    # ----- elementary functions -----
    Op("exp", 1, math.exp, lambda g, out, a: (g * out,), "exp"),
    Op("log", 1, math.log, lambda g, out, a: (g / a,), "log", domain="a positive argument"),
    Op("log2", 1, math.log2, lambda g, out, a: (g / (a * LN2),), "log2", domain="a positive argument"),
    Op("log10", 1, math.log10, lambda g, out, a: (g / (a * LN10),), "log10",
       domain="a positive argument"),
    Op("sqrt", 1, math.sqrt, lambda g, out, a: (_quotient(0.5 * g, out),), "sqrt",
       domain="a non-negative argument"),
    Op("sin", 1, math.sin, lambda g, out, a: (g * math.cos(a),), "sin", domain="a finite argument"),
    Op("cos", 1, math.cos, lambda g, out, a: (-g * math.sin(a),), "cos", domain="a finite argument"),
    Op("tan", 1, math.tan, lambda g, out, a: (g * (1.0 + out * out),), "tan",
       domain="a finite argument"),
    Op("tanh", 1, math.tanh, lambda g, out, a: (g * (1.0 - out * out),), "tanh"),
    Op("sigmoid", 1, _sigmoid, lambda g, out, a: (g * out * (1.0 - out),), "sigmoid"),
    # ----- kinks: the minimum-norm subgradient at the kink -----
    Op("relu", 1, lambda a: a if a > 0 else 0.0, lambda g, out, a: (g if a > 0 else 0.0,), "relu",
       kink=lambda out, a: "relu at 0: gradient 0 used" if a == 0 else None),
    Op("abs", 1, abs, lambda g, out, a: (g * _sign(a),), "abs",
       kink=lambda out, a: "abs at 0: gradient 0 used" if a == 0 else None),
    Op("max", 2, lambda a, b: a if a >= b else b, _max_vjp, "max", kink=_tie("max")),
    Op("min", 2, lambda a, b: a if a <= b else b, _min_vjp, "min", kink=_tie("min")),
)

OPS = {op.name: op for op in ROWS}

# The functions a formula may call, by the name it uses, and the op each builds.
FUNCTIONS = {
    "exp": "exp", "log": "log", "ln": "log", "log2": "log2", "log10": "log10", "sqrt": "sqrt",
    "abs": "abs", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh",
    "sigmoid": "sigmoid", "relu": "relu", "max": "max", "min": "min", "pow": "pow",
}

CONSTANTS = {"pi": math.pi, "e": math.e}
