"""The op table: one row per operation, holding every fact about it.

    vjp(upstream, out, *inputs) -> one gradient per input, in input order

`out` is the node's forward value, so rules like exp's reuse it. The engine does the
bookkeeping (summing where a value fans out, skipping constants, summing broadcasts back);
a rule only states its local derivative. Beside its rules a row says how formulas spell the
op (`names`), how it is shown (`symbol`, `latex`), whether it needs the NumPy backend
(`tensor`), its keywords, its kink, its domain, and how the symbolic
algebra holds it. Every list that names ops (the functions the parser knows, the tensor and
scalar ops, LaTeX names, the ops whose value jumps) is a view of the rows, at the bottom.

The rows are written once, against a backend `B` (ops/backend.py declares what it supplies):
`table(B)` builds the table for one kind of value. The rules use only arithmetic and `B`,
with integer constants, so the same rows serve floats, NumPy arrays, exact rationals and
symbolic expressions.

Kinks follow PyTorch's documented rule, the minimum-norm subgradient:
relu'(0) = 0, abs'(0) = 0, and a tie in max/min splits the upstream gradient
0.5/0.5. All three are written with sign (sign(0) = 0): relu' = sign(relu(x)),
abs' = sign(x), max'= (1 ± sign(a - b))/2. Each such row has a `kink` function
naming what was used, and the engine flags every node evaluated exactly at a kink.
"""

import math
from fractions import Fraction
from typing import Callable, NamedTuple, Optional

from cgraph_cli.ops.backend import COMPARE, COMPARISON_FUNCTIONS, DECLARED
from cgraph_cli.ops.floats import MATH


class Op(NamedTuple):
    name: str                     # the grammar's and JSON's name
    arity: int                    # -1: any number of inputs (a tensor literal's stack)
    forward: Callable
    vjp: Callable
    symbol: str                   # how the tree, table and pictures show it
    kink: Optional[Callable] = None   # (out, *inputs) -> message when at a kink, else None
    domain: str = ""              # what the argument must be, for a domain error message
    names: tuple = ()             # how a formula calls it: log(x), ln(x) (none for operators)
    params: tuple = ()            # constant parameters after the inputs, in NumPy's positional order,
    #                               each also a keyword: sum(X, 0) is sum(X, axis=0) (KEYWORD_KINDS)
    tensor: bool = False          # needs the NumPy backend
    latex: Optional[str] = None   # the LaTeX of a call; None: not written as a call (operators; abs is |x|)
    algebra: Optional[str] = None   # how a symbolic expression holds it: "call" (a node of its own
    #                               kind, printed as name(...)), "arithmetic" (sums, products and
    #                               powers), "leaf", or None: no symbolic or exact form (tensors)
    infix: bool = False           # written between its operands in messages (`symbol`): 1/3+2
    jumps: bool = False           # its value jumps (slope 0 on both sides): gradcheck compares values
    differentiable: bool = True   # False: no gradient flows through it (comparisons, argmax): its node
    #                               is a constant for the backward pass (graph.needs_grad False)
    rule: tuple = ()              # the derivative, one text per input, in cgraph syntax over the inputs
    #                               a, b, c and the result `out`: the local derivative for an
    #                               elementwise row (sin: "cos(a)"), the gradient sent, with `g` the
    #                               upstream gradient, for a tensor row (matmul: "g @ transpose(b)");
    #                               () where the language cannot write it (the README's table says "—")
    convention: str = ""          # what is used at a kink or a jump: "relu'(0) = 0"


class OpTable(dict):
    """{op name: Op} for one backend; `backend` is that B (the engine asks it for its guards)."""

    def __init__(self, rows, backend):
        super().__init__((op.name, op) for op in rows)
        self.backend = backend


def elementwise(name: str, forward: Callable, slope: Callable, **facts) -> Op:
    """A unary function row whose rule is `g * slope(out, a)` (JAX's defjvp for the common case):
    called by its name, a call in the algebra and in LaTeX (`\\name`) unless told otherwise."""
    facts = {"names": (name,), "algebra": "call", "latex": "\\" + name, **facts}
    return Op(name, 1, forward, lambda g, out, a: (g * slope(out, a),), facts.pop("symbol", name), **facts)


def _function(name: str, arity: int, forward: Callable, vjp: Callable, **facts) -> Op:
    """A row called by its name in formulas, a call in the algebra."""
    facts = {"names": (name,), "algebra": "call", **facts}
    return Op(name, arity, forward, vjp, facts.pop("symbol", name), **facts)


def _arithmetic(name: str, arity: int, forward: Callable, vjp: Callable, symbol: str, **facts) -> Op:
    return Op(name, arity, forward, vjp, symbol, algebra="arithmetic", **facts)


def _tensor(name: str, arity: int, forward: Callable, vjp: Callable, **facts) -> Op:
    facts = {"names": (name,), **facts}
    return Op(name, arity, forward, vjp, facts.pop("symbol", name), tensor=True, **facts)


AXIS = ("axis",)


def table(B) -> OpTable:
    """The op table for the values of backend B (build it once per backend: see table_for)."""
    missing = [name for name in DECLARED if not hasattr(B, name)]
    if missing:
        raise AttributeError(f"the backend {getattr(B, 'name', B)} does not define {', '.join(missing)} "
                             "(declared in ops/backend.py)")
    return OpTable(_scalar_rows(B) + _tensor_rows(B), B)


def _scalar_rows(B) -> tuple:
    def max_vjp(g, out, a, b):
        s = B.sign(a - b)
        return g / 2 * (1 + s), g / 2 * (1 - s)   # g/2 first: g*(1+s) overflows for g above 9e307

    def min_vjp(g, out, a, b):
        s = B.sign(a - b)
        return g / 2 * (1 - s), g / 2 * (1 + s)

    positive = "a positive argument"
    return (
        # ----- leaves: values come from the bindings (var) or the source text (const) -----
        Op("var", 0, _leaf, _leaf, "input", algebra="leaf"),
        Op("const", 0, _leaf, _leaf, "const", algebra="leaf"),
        # ----- arithmetic -----
        _arithmetic("add", 2, lambda a, b: a + b, lambda g, out, a, b: (g, g), "+", infix=True),
        _arithmetic("sub", 2, lambda a, b: a - b, lambda g, out, a, b: (g, -g), "-", infix=True),
        _arithmetic("mul", 2, lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a), "*", infix=True),
        _arithmetic("div", 2, B.divide, lambda g, out, a, b: (g / b, -g * out / b), "/", infix=True),
        _arithmetic("pow", 2, B.power,
                    lambda g, out, a, b: (g * B.power_slope(a, b), g * B.power_exponent_slope(out, a, b)),
                    "^", names=("pow",), infix=True,
                    domain="a non-negative base unless the exponent is an integer"),
        _arithmetic("neg", 1, lambda a: -a, lambda g, out, a: (-g,), "neg"),
        _arithmetic("pos", 1, lambda a: a, lambda g, out, a: (g,), "pos"),
        # ----- elementary functions -----
        elementwise("exp", B.exp, lambda out, a: out),
        _function("log", 1, B.log, lambda g, out, a: (g / a,), names=("log", "ln"), latex=r"\ln",
                  domain=positive),
        _function("log2", 1, B.log2, lambda g, out, a: (g / (a * B.LN2),), latex=r"\log_{2}", domain=positive),
        _function("log10", 1, B.log10, lambda g, out, a: (g / (a * B.LN10),), latex=r"\log_{10}",
                  domain=positive),
        _arithmetic("sqrt", 1, B.sqrt, lambda g, out, a: (B.quotient(g, 2 * out),), "sqrt", names=("sqrt",),
                    domain="a non-negative argument"),
        elementwise("sin", B.sin, lambda out, a: B.cos(a), domain="a finite argument"),
        _function("cos", 1, B.cos, lambda g, out, a: (-g * B.sin(a),), latex=r"\cos",
                  domain="a finite argument"),
        elementwise("tan", B.tan, lambda out, a: 1 + out * out, domain="a finite argument"),
        elementwise("tanh", B.tanh, lambda out, a: 1 - out * out),
        elementwise("sinh", B.sinh, lambda out, a: B.cosh(a)),
        elementwise("cosh", B.cosh, lambda out, a: B.sinh(a)),
        _function("sigmoid", 1, B.sigmoid, lambda g, out, a: (g * out * (1 - out),), latex=r"\sigma"),
        # ----- kinks: the minimum-norm subgradient at the kink -----
        elementwise("relu", B.relu, lambda out, a: B.sign(out), latex=r"\operatorname{relu}",
                    kink=lambda out, a: B.kink(a == 0, "relu at 0", "gradient 0 used")),
        elementwise("abs", B.abs, lambda out, a: B.sign(a), latex=None,
                    kink=lambda out, a: B.kink(a == 0, "abs at 0", "gradient 0 used")),
        _function("max", 2, B.maximum, max_vjp, latex=r"\max",
                  kink=lambda out, a, b: B.kink(a == b, "max tie", "gradient split 0.5/0.5", at=a)),
        _function("min", 2, B.minimum, min_vjp, latex=r"\min",
                  kink=lambda out, a, b: B.kink(a == b, "min tie", "gradient split 0.5/0.5", at=a)),
        # flat on both sides of its jump
        elementwise("sign", B.sign, lambda out, a: 0, latex=r"\operatorname{sign}", jumps=True),
        # ----- comparisons: 1 where true, else 0; no gradient flows through them -----
        *(Op(op, 2, getattr(B, function), _no_gradient, COMPARE[op][1], algebra="call", infix=True, latex=COMPARE[op][2],
             differentiable=False, jumps=True, convention="no gradient (piecewise constant)")
          for op, function in COMPARISON_FUNCTIONS.items()),
    )


def _tensor_rows(B) -> tuple:
    """The tensor ops (the NumPy backend; a graph using one is evaluated with it)."""
    return (
        # a literal [a, b] (axis 0), stack([a, b], axis=1): element k receives g's slice k along axis
        _tensor("stack", -1, B.stack, lambda g, out, *elements, axis=0: B.unstack(g, len(elements), axis),
                symbol="[…]", params=AXIS),
        # x[0], X[:, 1], x[[0, 2]], x[i]: `key` holds the constant subscripts, None where an input (an
        # integer-valued tensor or scalar) supplies one; the gradient is scattered back with np.add.at
        # (repeated indices accumulate), every other element receives exactly 0, the indices receive 0
        _tensor("index", -1, B.index, lambda g, out, a, *indices, key: B.scatter(g, a, key, indices),
                symbol="[]", names=(), convention="selection: an element not selected receives 0; "
                                                  "a repeated index accumulates"),
        # ----- lists of inputs (concatenate([a, b], axis=0)) and constructors -----
        _tensor("concatenate", -1, B.concatenate,
                lambda g, out, *elements, axis=0: B.split(g, elements, axis), names=("concatenate", "cat"),
                params=AXIS),
        # constant tensors: graph.build evaluates them into one const node (no gradient)
        _constructor("zeros", B.zeros, ("shape",)),
        _constructor("ones", B.ones, ("shape",)),
        _constructor("full", B.full, ("shape", "fill_value")),
        _constructor("eye", B.eye, ("n",)),
        _constructor("arange", B.arange, ("start", "stop", "step"), names=("arange", "range")),
        _tensor("matmul", 2, B.matmul, lambda g, out, a, b: B.matmul_grads(g, a, b), symbol="@"),
        _tensor("dot", 2, B.dot, lambda g, out, a, b: B.dot_grads(g, a, b)),
        _tensor("transpose", 1, B.transpose, lambda g, out, a: (B.transpose(g),)),
        _tensor("sum", 1, B.sum, lambda g, out, a, axis=None: (B.spread(g, a, axis),), params=AXIS),
        _tensor("mean", 1, B.mean, lambda g, out, a, axis=None: (B.spread(g, a, axis) / B.count(a, axis),),
                params=AXIS),
        _tensor("reduce_max", 1, B.amax,
                lambda g, out, a, axis=None: (B.spread(g, a, axis) * B.argmax_share(out, a, axis),),
                symbol="max", names=("max",), params=AXIS,
                kink=lambda out, a, axis=None: B.kink(B.ties(out, a, axis), "max tie", "gradient split evenly")),
        _tensor("softmax", 1, B.softmax,
                lambda g, out, a, axis=-1: (out * (g - B.sum(g * out, axis, keepdims=True)),), params=AXIS),
        _tensor("log_softmax", 1, B.log_softmax,
                lambda g, out, a, axis=-1: (g - B.exp(out) * B.sum(g, axis, keepdims=True),), params=AXIS),
        # mean over the batch (the first axis of a matrix) of -sum t·log y
        _tensor("cross_entropy", 2, B.cross_entropy,
                lambda g, out, y, t: (-g * B.quotient(t, y) / B.batch(y), -g * B.log(y) / B.batch(y)),
                domain="y > 0 wherever t is not 0"),
        # the fused, numerically stable Softmax-with-Loss: d/da = (softmax(a)·Σt - t) / N, which is the
        # course's (softmax(a) - t) / N when each row of t sums to 1 (one-hot labels)
        _tensor("softmax_cross_entropy", 2, B.softmax_cross_entropy,
                lambda g, out, a, t: (g * (B.softmax(a) * B.sum(t, -1, keepdims=True) - t) / B.batch(a),
                                      -g * B.log_softmax(a) / B.batch(a))),
    )


def _constructor(name: str, forward: Callable, params: tuple, **facts) -> Op:
    """A constant tensor from constant parameters (arity 0): graph.build evaluates it."""
    return _tensor(name, 0, forward, _no_gradient, params=params, differentiable=False,
                   convention="a constant: no gradient", **facts)


def _no_gradient(*_, **__):
    raise AssertionError("no gradient flows through this op: graph.build marks its node needs_grad False")


def _leaf(*_):
    raise AssertionError("leaves have no forward function or local derivative")


OPS = table(MATH)   # the float table, built once per process
_BUILT = {}         # the NumPy and exact tables, built once per process when first needed


def array_table() -> OpTable:
    """The NumPy backend's table (importing NumPy)."""
    if "arrays" not in _BUILT:
        from cgraph_cli.ops import arrays
        _BUILT["arrays"] = table(arrays.NUMPY)
    return _BUILT["arrays"]


def exact_table() -> OpTable:
    """The exact backend's table, its rules refusing gradients with too many digits."""
    if "rationals" not in _BUILT:
        from cgraph_cli.ops import rationals   # here, not at the top: a float run never needs it (start-up)
        _BUILT["rationals"] = rationals.size_checked(table(rationals.RATIONALS))
    return _BUILT["rationals"]


def table_for(graph, values: dict) -> OpTable:
    """The op table for a graph and its bindings: floats unless a tensor is involved, then NumPy
    (imported only then); exact rationals (--exact: Fraction bindings) get the exact backend's table."""
    if not graph.uses_tensors and any(isinstance(v, Fraction) for v in values.values()):
        return exact_table()
    if graph.uses_tensors or any(type(v) not in (float, int) for v in values.values()):
        return array_table()
    return OPS


# ----- views of the rows -----

def _spellings(rows) -> dict:
    """How formulas call each op; one spelling for several ops is chosen by argument count."""
    spellings = {}
    for op in rows:
        for name in op.names:
            if name in spellings:
                other = spellings[name]
                spellings[name] = {**(other if isinstance(other, dict) else {OPS[other].arity: other}),
                                   op.arity: op.name}
            else:
                spellings[name] = op.name
    return spellings


# The functions a formula may call, by the name it uses: the op each builds (by argument
# count where that decides: max(X) reduces, max(a, b) is elementwise).
FUNCTIONS = _spellings(OPS.values())
KEYWORDS = {op.name: set(op.params) for op in OPS.values() if op.params}
TENSOR_OPS = {op.name for op in OPS.values() if op.tensor}     # need the NumPy backend
SCALAR_OPS = frozenset(op.name for op in OPS.values() if op.algebra is not None)
# The function kinds a symbolic expression may hold (a node printed as name(...)).
SYMBOLIC_FUNCTIONS = frozenset(op.name for op in OPS.values() if op.algebra == "call")
LATEX = {op.name: op.latex for op in OPS.values() if op.latex is not None}
INFIX = {op.name: op.symbol for op in OPS.values() if op.infix}
JUMPS = {op.name for op in OPS.values() if op.jumps}
NO_GRADIENT = frozenset(op.name for op in OPS.values() if not op.differentiable)
COMPARISONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}

# What a keyword (or positional parameter) of a call may be, by its name (graph.build checks it):
# "int" an integer constant; "axes" an integer or a tuple of them (axis=(0, 1)); "shape" a
# non-negative integer or a tuple of them; "bool" True/False (or 0/1); "number" any real constant.
KEYWORD_KINDS = {"axis": "axes", "keepdims": "bool", "shape": "shape", "axes": "axes", "ddof": "int",
                 "ord": "int", "approximate": "bool", "alpha": "number", "negative_slope": "number",
                 "n": "int", "start": "number", "stop": "number", "step": "number",
                 "fill_value": "number", "num_classes": "int", "k": "int"}
# PyTorch's spellings of NumPy's keywords (sum(x, dim=0, keepdim=True)).
KEYWORD_ALIASES = {"dim": "axis", "keepdim": "keepdims"}

CONSTANTS = {"pi": math.pi, "e": math.e}
# True and False in a formula are the numbers 1 and 0 (unless bound), and booleans as parameters.
BOOLEANS = {"True": 1.0, "False": 0.0}

def _method_op(target: str):
    """The op a method builds: the row named `target` when it takes inputs, else the op a function
    spelled `target` builds (x.var() is the variance, never the input leaf `var`); None: no such op."""
    if target in OPS and OPS[target].arity != 0:
        return target
    spelled = FUNCTIONS.get(target)
    return spelled if isinstance(spelled, str) and OPS[spelled].arity != 0 else None


# Methods a.f(args), meaning the op's f(a, args) with NumPy's signature (x.max(0) is the reduction
# over axis 0), by method name: NumPy's ndarray methods and PyTorch's Tensor methods. Entries whose
# op is not a row are left out.
METHODS = {method: _method_op(op) for method, op in {
    "sum": "sum", "mean": "mean", "max": "reduce_max", "min": "reduce_min", "amax": "reduce_max",
    "amin": "reduce_min", "prod": "prod", "var": "var", "std": "std", "norm": "norm",
    "logsumexp": "logsumexp", "cumsum": "cumsum", "argmax": "argmax", "argmin": "argmin",
    "trace": "trace", "diagonal": "diag",
    "reshape": "reshape", "view": "reshape", "transpose": "transpose", "permute": "transpose",
    "t": "transpose", "flatten": "flatten", "squeeze": "squeeze", "unsqueeze": "unsqueeze",
    "dot": "dot", "matmul": "matmul", "clip": "clip", "clamp": "clip", "pow": "pow",
    "exp": "exp", "log": "log", "log2": "log2", "log10": "log10", "sqrt": "sqrt", "abs": "abs",
    "sign": "sign", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh", "sinh": "sinh",
    "cosh": "cosh", "asin": "asin", "acos": "acos", "atan": "atan", "arcsin": "asin", "arccos": "acos",
    "arctan": "atan", "log1p": "log1p", "expm1": "expm1", "erf": "erf", "square": "square",
    "relu": "relu", "sigmoid": "sigmoid", "softmax": "softmax", "log_softmax": "log_softmax",
    "floor": "floor", "ceil": "ceil", "round": "round", "neg": "neg",
}.items() if _method_op(op) is not None}
