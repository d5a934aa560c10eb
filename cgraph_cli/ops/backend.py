"""What a backend of the op table is: the functions the rows may call, declared once.

A backend `B` supplies the elementary functions of the rows (`B.exp`, `B.sign`, ...) for one
kind of value: floats (floats.py), NumPy arrays (arrays.py), exact rationals (rationals.py),
symbolic expressions (algebra.py). Every backend defines every name of `FUNCTIONS`,
`CONSTANTS` and `HOOKS` (tests/test_backends.py checks it); a scalar backend points the
`TENSOR_FUNCTIONS` at one stub of its own with `tensor_only`, never by a `__getattr__` fallback.
The helpers below are the parts of backend functions that are the same for several backends.
"""

import math

# The elementwise functions and slopes the rows call.
SCALAR_FUNCTIONS = (
    "divide", "power", "power_slope", "power_exponent_slope", "quotient",
    "exp", "log", "log2", "log10", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sigmoid",
    "relu", "abs", "sign", "maximum", "minimum", "kink",
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
    "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "log1p", "expm1", "erf",
    "softplus", "silu", "gelu", "elu", "leaky_relu", "floor", "ceil", "round", "clip",
    # where(cond, a, b): a where cond is nonzero, else b, never arithmetic on the other one (an inf or
    # nan there does not leak: the rules of selections use it, with 0 for an exact zero of the kind)
    "where",
    "parameter",   # a row's constant parameter (leaky_relu's 0.01) as a value of this backend
)
# The functions only an array backend computes (a graph using one is evaluated with NumPy).
TENSOR_FUNCTIONS = (
    "stack", "index", "scatter", "matmul", "matmul_grads", "dot", "dot_grads",
    "reshape", "like", "flatten", "squeeze", "unsqueeze", "transpose", "untranspose",
    "sum", "mean", "amax", "amin", "prod", "spread", "count", "route", "ties", "prod_grad",
    "var", "var_grad", "std", "std_grad", "norm", "norm_grad", "norm_kinks", "logsumexp", "logsumexp_grad",
    "cumsum", "cumsum_grad", "trace", "trace_grad", "diag", "diag_grad", "argmax", "argmin",
    "softmax", "log_softmax", "cross_entropy", "cross_entropy_grads", "softmax_cross_entropy",
    "softmax_cross_entropy_grads", "nll", "nll_grads", "mse", "mse_grads", "binary_cross_entropy",
    "binary_cross_entropy_grads", "one_hot",
    "unstack", "concatenate", "split", "zeros", "ones", "full", "eye", "arange",
)
FUNCTIONS = SCALAR_FUNCTIONS + TENSOR_FUNCTIONS
CONSTANTS = ("LN2", "LN10", "PI")
# What the engine asks a backend for: error modes around each pass, and (None for scalars) the
# function summing a gradient back to its input's shape.
HOOKS = ("forward_guard", "backward_guard", "unbroadcast")
DECLARED = FUNCTIONS + CONSTANTS + HOOKS
# (each backend also has a `name`, for messages: "floats (ops/floats.py)")


def _exact_constants() -> dict:
    """EXACT_AT_ZERO and PARAMETER_DEFAULTS, which hold Fractions: made when the exact or symbolic
    backend first asks (module __getattr__ below), so a float run never imports fractions."""
    from fractions import Fraction

    return {
        # The rational values the elementary functions take at 0 (the exact and symbolic backends keep
        # them exact: exp(0) = 1, not 1.0). log, sqrt and the kinks have exact rules of their own.
        "EXACT_AT_ZERO": {"exp": Fraction(1), "sin": Fraction(0), "cos": Fraction(1), "tan": Fraction(0),
                          "tanh": Fraction(0), "sinh": Fraction(0), "cosh": Fraction(1), "sigmoid": Fraction(1, 2),
                          "asin": Fraction(0), "atan": Fraction(0), "asinh": Fraction(0), "atanh": Fraction(0),
                          "log1p": Fraction(0), "expm1": Fraction(0), "erf": Fraction(0), "silu": Fraction(0),
                          "gelu": Fraction(0)},
        # The parameters' defaults of the rows that have them, by op (the algebra leaves a default out).
        "PARAMETER_DEFAULTS": {"leaky_relu": {"negative_slope": Fraction(1, 100)}, "elu": {"alpha": Fraction(1)},
                               "gelu": {"approximate": Fraction(0)}},
    }


def __getattr__(name: str):
    if name not in ("EXACT_AT_ZERO", "PARAMETER_DEFAULTS"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals().update(_exact_constants())   # the next access is an ordinary attribute
    return globals()[name]


# The comparisons (1 where true, else 0), by op name: how to decide one, and how it is written.
COMPARE = {"lt": (lambda a, b: a < b, "<", "<"), "le": (lambda a, b: a <= b, "<=", r"\le"),
           "gt": (lambda a, b: a > b, ">", ">"), "ge": (lambda a, b: a >= b, ">=", r"\ge"),
           "eq": (lambda a, b: a == b, "==", "="), "ne": (lambda a, b: a != b, "!=", r"\ne")}
COMPARISON_FUNCTIONS = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
                        "eq": "equal", "ne": "not_equal"}   # op name -> backend function

# The functions whose value is positive everywhere (the algebra may cancel f(x)/f(x) to 1).
POSITIVE_FUNCTIONS = frozenset({"exp", "sigmoid", "cosh", "softplus"})


def exact_parameter(value):
    """A row's parameter read exactly, a Fraction: 0.01 as 1/100, the decimal it was written as (True as 1)."""
    from fractions import Fraction

    if isinstance(value, Fraction):
        return value
    return Fraction(int(value)) if isinstance(value, (bool, int)) else Fraction(repr(float(value)))


def tensor_only(namespace: dict, stub) -> dict:
    """`namespace` (a class body's or a SimpleNamespace's dict) with every tensor function set to `stub`."""
    for name in TENSOR_FUNCTIONS:
        namespace[name] = stub
    return namespace


def quotient(numerator, denominator):
    """numerator/denominator, a zero denominator giving a signed infinity (a slope, not a value)."""
    if denominator:
        return numerator / denominator
    return math.copysign(math.inf, numerator) if numerator else math.nan


def kink_message(at_kink: bool, what: str, used: str, at=None, shown=None):
    """The message flagging a node evaluated exactly at a kink, else None; `shown(at)` writes the point."""
    if not at_kink:
        return None
    return f"{what}{'' if at is None else f' at {shown(at)}'}: {used}"


def base_slope(base, exponent, power, zero):
    """d(base^exponent)/d(base) = exponent * base^(exponent-1): `zero` where the exponent is 0,
    infinite at base 0 for an exponent below 1 (x^0.5 at 0)."""
    if exponent == 0:
        return zero
    if base == 0 and exponent < 1:
        return math.inf
    return exponent * power(base, exponent - 1)


def exponent_slope(out, base, exponent, log, zero):
    """d(base^exponent)/d(exponent) = base^exponent * log(base)."""
    if base > 0:
        return out * log(base)
    if base == 0 and exponent >= 0:
        return zero              # PyTorch's convention: 0^y has zero slope in y for y >= 0
    return math.nan              # a negative base has no real logarithm
