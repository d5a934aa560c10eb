"""THE op table: each row holds an operation's forward function and its vector-Jacobian rule.

    vjp(upstream, out, *inputs) -> one gradient per input, in input order

`out` is the node's forward value, so rules like exp's reuse it. The engine does
the bookkeeping (summing where a value fans out, skipping constants); a rule only
states its local derivative. Adding an operation is adding a row.

The rows are written once, against a backend `B` that supplies the elementary
functions (`B.exp`, `B.cos`, `B.sign`, ...): `table(B)` builds the table for one
kind of value. The rules use only arithmetic and `B`, with integer constants, so
the same rows serve floats (the `MATH` backend here) and any other number type a
backend provides.

Kinks follow PyTorch's documented rule, the minimum-norm subgradient:
relu'(0) = 0, abs'(0) = 0, and a tie in max/min splits the upstream gradient
0.5/0.5. All three are written with sign (sign(0) = 0): relu' = sign(relu(x)),
abs' = sign(x), max'= (1 ± sign(a - b))/2. Each such row has a `kink` function
naming what was used, and the engine flags every node evaluated exactly at a kink.
"""

import contextlib
import math
from types import SimpleNamespace
from typing import Callable, NamedTuple, Optional


class Op(NamedTuple):
    name: str                     # the grammar's and JSON's name
    arity: int                    # -1: any number of inputs (a tensor literal's stack)
    forward: Callable
    vjp: Callable
    symbol: str                   # how the tree, table and pictures show it
    kink: Optional[Callable] = None   # (out, *inputs) -> message when at a kink, else None
    domain: str = ""              # what the argument must be, for a domain error message


class OpTable(dict):
    """{op name: Op} for one backend; `backend` is that B (the engine asks it for its guards)."""

    def __init__(self, rows, backend):
        super().__init__((op.name, op) for op in rows)
        self.backend = backend


def table(B) -> OpTable:
    """The op table for the values of backend B."""
    def max_vjp(g, out, a, b):
        s = B.sign(a - b)
        return g * (1 + s) / 2, g * (1 - s) / 2

    def min_vjp(g, out, a, b):
        s = B.sign(a - b)
        return g * (1 - s) / 2, g * (1 + s) / 2

    rows = (
        # ----- leaves: values come from the bindings (var) or the source text (const) -----
        Op("var", 0, _leaf, _leaf, "input"),
        Op("const", 0, _leaf, _leaf, "const"),
        # ----- arithmetic -----
        Op("add", 2, lambda a, b: a + b, lambda g, out, a, b: (g, g), "+"),
        Op("sub", 2, lambda a, b: a - b, lambda g, out, a, b: (g, -g), "-"),
        Op("mul", 2, lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a), "*"),
        Op("div", 2, B.divide, lambda g, out, a, b: (g / b, -g * out / b), "/"),
        Op("pow", 2, B.power,
           lambda g, out, a, b: (g * B.power_slope(a, b), g * B.power_exponent_slope(out, a, b)), "^",
           domain="a non-negative base unless the exponent is an integer"),
        Op("neg", 1, lambda a: -a, lambda g, out, a: (-g,), "neg"),
        Op("pos", 1, lambda a: a, lambda g, out, a: (g,), "pos"),
        # ----- elementary functions -----
        Op("exp", 1, B.exp, lambda g, out, a: (g * out,), "exp"),
        Op("log", 1, B.log, lambda g, out, a: (g / a,), "log", domain="a positive argument"),
        Op("log2", 1, B.log2, lambda g, out, a: (g / (a * B.LN2),), "log2", domain="a positive argument"),
        Op("log10", 1, B.log10, lambda g, out, a: (g / (a * B.LN10),), "log10",
           domain="a positive argument"),
        Op("sqrt", 1, B.sqrt, lambda g, out, a: (B.quotient(g, 2 * out),), "sqrt",
           domain="a non-negative argument"),
        Op("sin", 1, B.sin, lambda g, out, a: (g * B.cos(a),), "sin", domain="a finite argument"),
        Op("cos", 1, B.cos, lambda g, out, a: (-g * B.sin(a),), "cos", domain="a finite argument"),
        Op("tan", 1, B.tan, lambda g, out, a: (g * (1 + out * out),), "tan", domain="a finite argument"),
        Op("tanh", 1, B.tanh, lambda g, out, a: (g * (1 - out * out),), "tanh"),
        Op("sigmoid", 1, B.sigmoid, lambda g, out, a: (g * out * (1 - out),), "sigmoid"),
        # ----- kinks: the minimum-norm subgradient at the kink -----
        Op("relu", 1, B.relu, lambda g, out, a: (g * B.sign(out),), "relu",
           kink=lambda out, a: B.kink(a == 0, "relu at 0", "gradient 0 used")),
        Op("abs", 1, B.abs, lambda g, out, a: (g * B.sign(a),), "abs",
           kink=lambda out, a: B.kink(a == 0, "abs at 0", "gradient 0 used")),
        Op("max", 2, B.maximum, max_vjp, "max",
           kink=lambda out, a, b: B.kink(a == b, "max tie", "gradient split 0.5/0.5", at=a)),
        Op("min", 2, B.minimum, min_vjp, "min",
           kink=lambda out, a, b: B.kink(a == b, "min tie", "gradient split 0.5/0.5", at=a)),
        Op("sign", 1, B.sign, lambda g, out, a: (g * 0,), "sign"),   # flat on both sides of its jump
        # ----- tensors (the NumPy backend; a graph using one is evaluated with it) -----
        Op("stack", -1, B.stack, lambda g, out, *elements: tuple(g[i] for i in range(len(elements))),
           "[…]"),
        Op("index", 1, B.index, lambda g, out, a, key: (B.scatter(g, a, key),), "[]"),
        Op("matmul", 2, B.matmul, lambda g, out, a, b: B.matmul_grads(g, a, b), "@"),
        Op("dot", 2, B.dot, lambda g, out, a, b: B.dot_grads(g, a, b), "dot"),
        Op("transpose", 1, B.transpose, lambda g, out, a: (B.transpose(g),), "transpose"),
        Op("sum", 1, B.sum, lambda g, out, a, axis=None: (B.spread(g, a, axis),), "sum"),
        Op("mean", 1, B.mean, lambda g, out, a, axis=None: (B.spread(g, a, axis) / B.count(a, axis),),
           "mean"),
        Op("reduce_max", 1, B.amax,
           lambda g, out, a, axis=None: (B.spread(g, a, axis) * B.argmax_share(out, a, axis),), "max",
           kink=lambda out, a, axis=None: B.kink(B.ties(out, a, axis), "max tie", "gradient split evenly")),
        Op("softmax", 1, B.softmax,
           lambda g, out, a, axis=-1: (out * (g - B.sum(g * out, axis, keepdims=True)),), "softmax"),
        Op("log_softmax", 1, B.log_softmax,
           lambda g, out, a, axis=-1: (g - B.exp(out) * B.sum(g, axis, keepdims=True),), "log_softmax"),
        # mean over the batch (the first axis of a matrix) of -sum t·log y
        Op("cross_entropy", 2, B.cross_entropy,
           lambda g, out, y, t: (-g * B.quotient(t, y) / B.batch(y), -g * B.log(y) / B.batch(y)),
           "cross_entropy", domain="y > 0 wherever t is not 0"),
        # the fused, numerically stable Softmax-with-Loss: d/da = (softmax(a) - t) / N
        Op("softmax_cross_entropy", 2, B.softmax_cross_entropy,
           lambda g, out, a, t: (g * (B.softmax(a) - t) / B.batch(a), -g * B.log_softmax(a) / B.batch(a)),
           "softmax_cross_entropy"),
    )
    return OpTable(rows, B)


def _leaf(*_):
    raise AssertionError("leaves have no forward function or local derivative")


# ----- the float64 backend -----

def _quotient(numerator: float, denominator: float) -> float:
    """numerator/denominator, a zero denominator giving a signed infinity (a slope, not a value)."""
    if denominator:
        return numerator / denominator
    return math.copysign(math.inf, numerator) if numerator else math.nan


def _power(base: float, exponent: float) -> float:
    if base < 0 and exponent != int(exponent):
        raise ValueError("a negative base needs an integer exponent")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 to a negative power")
    return math.pow(base, exponent)


def _power_slope(base: float, exponent: float) -> float:
    """d(base^exponent)/d(base) = exponent * base^(exponent-1)."""
    if exponent == 0:
        return 0.0
    if base == 0 and exponent < 1:
        return math.inf          # x^0.5 at 0: the slope is infinite
    try:
        return exponent * math.pow(base, exponent - 1)
    except OverflowError:
        return math.inf


def _power_exponent_slope(out: float, base: float, exponent: float) -> float:
    """d(base^exponent)/d(exponent) = base^exponent * log(base)."""
    if base > 0:
        return out * math.log(base)
    if base == 0 and exponent >= 0:
        return 0.0               # PyTorch's convention: 0^y has zero slope in y for y >= 0
    return math.nan              # a negative base has no real logarithm


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _kink(at_kink: bool, what: str, used: str, at=None):
    """The message flagging a node evaluated exactly at a kink, else None."""
    if not at_kink:
        return None
    return f"{what}{'' if at is None else f' at {at:.12g}'}: {used}"


def _tensors_only(*_, **__):
    raise AssertionError("tensor operations run on the NumPy backend (numpy_backend.NUMPY)")


MATH = SimpleNamespace(
    divide=lambda a, b: a / b, power=_power, power_slope=_power_slope,
    power_exponent_slope=_power_exponent_slope, quotient=_quotient,
    exp=math.exp, log=math.log, log2=math.log2, log10=math.log10, sqrt=math.sqrt,
    sin=math.sin, cos=math.cos, tan=math.tan, tanh=math.tanh, sigmoid=_sigmoid,
    relu=lambda a: a if a > 0 else 0.0, abs=abs, sign=_sign,
    maximum=lambda a, b: a if a >= b else b, minimum=lambda a, b: a if a <= b else b,
    LN2=math.log(2.0), LN10=math.log(10.0), kink=_kink,
    forward_guard=contextlib.nullcontext, backward_guard=contextlib.nullcontext, unbroadcast=None,
    **{name: _tensors_only for name in (
        "stack", "index", "scatter", "matmul", "matmul_grads", "dot", "dot_grads", "transpose", "sum",
        "mean", "amax", "spread", "count", "argmax_share", "ties", "softmax", "log_softmax", "cross_entropy",
        "softmax_cross_entropy", "batch")},
)

OPS = table(MATH)

# The functions a formula may call, by the name it uses: the op each builds (by argument
# count where that decides: max(X) reduces, max(a, b) is elementwise), and its keywords.
FUNCTIONS = {
    "exp": "exp", "log": "log", "ln": "log", "log2": "log2", "log10": "log10", "sqrt": "sqrt",
    "abs": "abs", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh",
    "sigmoid": "sigmoid", "relu": "relu", "max": {1: "reduce_max", 2: "max"}, "min": "min",
    "pow": "pow", "sign": "sign",
    "matmul": "matmul", "dot": "dot", "transpose": "transpose", "sum": "sum", "mean": "mean",
    "softmax": "softmax", "log_softmax": "log_softmax", "cross_entropy": "cross_entropy",
    "softmax_cross_entropy": "softmax_cross_entropy",
}
KEYWORDS = {"sum": {"axis"}, "mean": {"axis"}, "reduce_max": {"axis"}, "softmax": {"axis"},
            "log_softmax": {"axis"}}
# Ops that need the NumPy backend; a graph with one of them is evaluated with it.
TENSOR_OPS = {"stack", "index", "matmul", "dot", "transpose", "sum", "mean", "reduce_max", "softmax",
              "log_softmax", "cross_entropy", "softmax_cross_entropy"}

CONSTANTS = {"pi": math.pi, "e": math.e}
