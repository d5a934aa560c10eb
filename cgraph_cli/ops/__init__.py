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

Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0 (abs' = sign(x)), a tie in max/min
splits the upstream gradient 0.5/0.5, leaky_relu'(0) = negative_slope, elu'(0) = alpha,
clip gives x the gradient on its bounds. Selections (relu, max, min, clip, where) route
the gradient with B.where(cond, g, 0): an input not selected receives exactly 0, even for
an inf or nan upstream (sqrt(relu(x)) at -1 has gradient 0). Each kink row has a `kink`
function naming what was used, and the engine flags every node evaluated exactly at a kink;
floor, ceil and round are piecewise constant (`jumps`), flagged at their jumps.
"""

import math
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
    branch: Optional[Callable] = None   # (out, *inputs) -> which side of its kinks the point is on, a
    #                               piecewise-constant value (gradcheck compares it between the point and
    #                               each probe); None: the local derivative itself is piecewise constant
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
    one_axis: bool = False        # its axis= is one integer (cumsum, softmax), not a tuple (sum)
    differentiable: bool = True   # False: no gradient flows through it (comparisons, argmax): its node
    #                               is a constant for the backward pass (graph.needs_grad False)
    rule: tuple = ()              # the derivative, one text per input, in cgraph syntax over the inputs
    #                               a, b, c and the result `out`: the local derivative for an
    #                               elementwise row (sin: "cos(a)"), the gradient sent, with `g` the
    #                               upstream gradient, for a tensor row (matmul: "g @ transpose(b)");
    #                               () where the language cannot write it (the README's table says "—")
    convention: str = ""          # what is used at a kink or a jump: "relu'(0) = 0"
    jvp: Optional[Callable] = None   # the tangent rule (forward mode): jvp(dots, out, *inputs) -> the
    #                               tangent of out, `dots` holding one tangent per input, None for an
    #                               input that depends on no seeded variable (never all None); returns
    #                               None for a tangent 0 (a row through which no gradient flows)


class OpTable(dict):
    """{op name: Op} for one backend; `backend` is that B (the engine asks it for its guards). A table
    is fixed once built (the engine caches its columns): a changed table is a new OpTable."""

    def __init__(self, rows, backend):
        super().__init__((op.name, op) for op in rows)
        self.backend = backend
        self._columns = {}

    def column(self, part: str) -> dict:
        """{op name: that op's `part`} (its forward, vjp, jvp or kink), built once per table: the
        engine looks each node's function up in it, and a batch of short formulas asks for it often."""
        column = self._columns.get(part)
        if column is None:
            column = self._columns[part] = {name: getattr(op, part) for name, op in self.items()}
        return column

    def _fixed(self, *args, **kwargs):
        raise TypeError("an OpTable is fixed once built: build another (OpTable(rows, backend))")

    __setitem__ = __delitem__ = __ior__ = update = pop = popitem = setdefault = clear = _fixed


def elementwise(name: str, forward: Callable, slope: Optional[Callable], **facts) -> Op:
    """A unary function row whose rule is `g * slope(out, a)` (JAX's defjvp for the common case), its
    tangent `ȧ * slope(out, a)`, or `vjp=` given: called by its name, a call in the algebra and in
    LaTeX (`\\name`) unless told otherwise."""
    facts = {"names": (name,), "algebra": "call", "latex": "\\" + name, **facts}
    vjp = facts.pop("vjp", None)
    if vjp is None:
        vjp = lambda g, out, a: (g * slope(out, a),)   # noqa: E731
        facts.setdefault("jvp", lambda dots, out, a: dots[0] * slope(out, a))
    return Op(name, 1, forward, vjp, facts.pop("symbol", name), **{"jvp": tangent_from_vjp(vjp, 1), **facts})


def tangent_from_vjp(vjp: Callable, arity: int, params: tuple = ()) -> Callable:
    """An elementwise row's tangent: the sum over its inputs of ȧ_k times its local derivative, which
    is what its vjp sends input k for the upstream ȧ_k (elementwise, g enters each gradient linearly):
    the vjp's own arithmetic, so the conventions at kinks and ties are the vjp's. An input whose
    tangent is None (it depends on no seeded variable) adds nothing, not 0 * its slope (0^y's inf)."""
    if arity == 1 and not params:
        return lambda dots, out, a: vjp(dots[0], out, a)[0]
    if arity == 1:
        return lambda dots, out, a, **values: vjp(dots[0], out, a, **values)[0]

    def jvp(dots, out, *inputs, **params):
        total = None
        for k, dot in enumerate(dots):
            if dot is not None:
                term = vjp(dot, out, *inputs, **params)[k]
                total = term if total is None else total + term
        return total
    return jvp


def _no_tangent(*_, **__):
    """The tangent of a row through which no gradient flows (comparisons, argmax, constructors): 0."""
    return None


def _function(name: str, arity: int, forward: Callable, vjp: Callable, **facts) -> Op:
    """A row called by its name in formulas, a call in the algebra (elementwise: its tangent from its vjp)."""
    facts = {"names": (name,), "algebra": "call", "jvp": tangent_from_vjp(vjp, arity, facts.get("params", ())),
             **facts}
    return Op(name, arity, forward, vjp, facts.pop("symbol", name), **facts)


def _arithmetic(name: str, arity: int, forward: Callable, vjp: Callable, symbol: str, **facts) -> Op:
    facts = {"jvp": tangent_from_vjp(vjp, arity, facts.get("params", ())), **facts}
    return Op(name, arity, forward, vjp, symbol, algebra="arithmetic", **facts)


def _add_jvp(dots, out, a, b):
    da, db = dots
    return db if da is None else da if db is None else da + db


def _sub_jvp(dots, out, a, b):
    da, db = dots
    return -db if da is None else da if db is None else da - db


def _mul_jvp(dots, out, a, b):   # the product rule
    da, db = dots
    return a * db if da is None else da * b if db is None else da * b + a * db


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
    # Selections route the upstream gradient: B.where(cond, g, 0) is g where cond holds and an exact 0
    # elsewhere, so an input that is not selected receives 0 even when g is inf or nan (PyTorch's masked
    # backward; a local slope of 0 times an infinite g would be nan).
    def max_vjp(g, out, a, b):   # the winner takes g, a tie splits it 0.5/0.5, the loser gets exactly 0
        tie = B.where(B.equal(a, b), g / 2, 0)
        return B.where(B.greater(a, b), g, tie), B.where(B.less(a, b), g, tie)

    def min_vjp(g, out, a, b):
        tie = B.where(B.equal(a, b), g / 2, 0)
        return B.where(B.less(a, b), g, tie), B.where(B.greater(a, b), g, tie)

    def clip_vjp(g, out, a, lo, hi):
        """PyTorch's clamp: x takes g inside the bounds and on them, lo where x is below it (lo <= hi),
        hi where it is the result (x above it, or lo above it: NumPy's and PyTorch's clip is hi then)."""
        return (B.where(B.greater_equal(a, lo) * B.less_equal(a, hi), g, 0),
                B.where(B.less(a, lo) * B.less_equal(lo, hi), g, 0),
                B.where(B.greater(B.maximum(a, lo), hi), g, 0))

    def gelu_vjp(g, out, a, approximate=0):
        if approximate:   # 0.5*a*(1 + tanh(k*(a + c*a^3))), k = sqrt(2/pi), c = 0.044715
            k, c = B.sqrt(2 / B.PI), B.parameter(0.044715)
            t = B.tanh(k * (a + c * a * a * a))
            return (g * ((1 + t) / 2 + a * (1 - t) * (1 + t) * k * (1 + 3 * c * a * a) / 2),)
        return (g * ((1 + B.erf(a / B.sqrt(2))) / 2 + a * B.exp(-a * a / 2) / B.sqrt(2 * B.PI)),)

    def silu_vjp(g, out, a):
        s = B.sigmoid(a)
        return (g * s * (1 + a * (1 - s)),)

    def flat(g, out, a):          # piecewise constant: an exact 0, whatever the upstream
        return (B.where(0, g, 0),)

    def jump(what: str, at):
        return lambda out, a: B.kink(at(a), what, "gradient 0 used (piecewise constant)")

    positive = "a positive argument"
    constant = "piecewise constant: gradient 0"
    return (
        # ----- leaves: values come from the bindings (var) or the source text (const) -----
        Op("var", 0, _leaf, _leaf, "input", algebra="leaf", jvp=_leaf),
        Op("const", 0, _leaf, _leaf, "const", algebra="leaf", jvp=_leaf),
        # ----- arithmetic -----
        _arithmetic("add", 2, lambda a, b: a + b, lambda g, out, a, b: (g, g), "+", infix=True, rule=("1", "1"),
                    jvp=_add_jvp),
        _arithmetic("sub", 2, lambda a, b: a - b, lambda g, out, a, b: (g, -g), "-", infix=True, rule=("1", "-1"),
                    jvp=_sub_jvp),
        _arithmetic("mul", 2, lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a), "*", infix=True,
                    rule=("b", "a"), jvp=_mul_jvp),
        _arithmetic("div", 2, B.divide, lambda g, out, a, b: (g / b, -g * out / b), "/", infix=True,
                    rule=("1/b", "-out/b")),
        _arithmetic("pow", 2, B.power,
                    lambda g, out, a, b: (g * B.power_slope(a, b), g * B.power_exponent_slope(out, a, b)),
                    "^", names=("pow",), infix=True,
                    domain="a non-negative base unless the exponent is an integer",
                    rule=("b*a^(b - 1)", "out*log(a)"),
                    convention="d/db at a = 0 is 0 for b >= 0 (PyTorch); nan for a < 0"),
        _arithmetic("neg", 1, lambda a: -a, lambda g, out, a: (-g,), "neg", rule=("-1",)),
        _arithmetic("pos", 1, lambda a: a, lambda g, out, a: (g,), "pos", rule=("1",)),
        _function("square", 1, lambda a: a * a, lambda g, out, a: (g * 2 * a,), algebra="arithmetic",
                  rule=("2*a",)),
        # ----- elementary functions -----
        elementwise("exp", B.exp, lambda out, a: out, rule=("out",)),
        _function("log", 1, B.log, lambda g, out, a: (g / a,), names=("log", "ln"), latex=r"\ln",
                  domain=positive, rule=("1/a",)),
        _function("log2", 1, B.log2, lambda g, out, a: (g / (a * B.LN2),), latex=r"\log_{2}", domain=positive,
                  rule=("1/(a*log(2))",)),
        _function("log10", 1, B.log10, lambda g, out, a: (g / (a * B.LN10),), latex=r"\log_{10}",
                  domain=positive, rule=("1/(a*log(10))",)),
        _function("log1p", 1, B.log1p, lambda g, out, a: (B.quotient(g, 1 + a),),
                  latex=r"\operatorname{log1p}", domain="an argument above -1", rule=("1/(1 + a)",)),
        elementwise("expm1", B.expm1, lambda out, a: B.exp(a), latex=r"\operatorname{expm1}", rule=("exp(a)",)),
        _arithmetic("sqrt", 1, B.sqrt, lambda g, out, a: (B.quotient(g, 2 * out),), "sqrt", names=("sqrt",),
                    domain="a non-negative argument", rule=("1/(2*out)",)),
        elementwise("sin", B.sin, lambda out, a: B.cos(a), domain="a finite argument", rule=("cos(a)",)),
        _function("cos", 1, B.cos, lambda g, out, a: (-g * B.sin(a),), latex=r"\cos",
                  domain="a finite argument", rule=("-sin(a)",)),
        elementwise("tan", B.tan, lambda out, a: 1 + out * out, domain="a finite argument", rule=("1 + out^2",)),
        elementwise("tanh", B.tanh, lambda out, a: 1 - out * out, rule=("1 - out^2",)),
        elementwise("sinh", B.sinh, lambda out, a: B.cosh(a), rule=("cosh(a)",)),
        elementwise("cosh", B.cosh, lambda out, a: B.sinh(a), rule=("sinh(a)",)),
        # (1 - a)(1 + a) rather than 1 - a^2: accurate near the ends of the domain, where the slope is inf
        _function("asin", 1, B.asin, lambda g, out, a: (B.quotient(g, B.sqrt((1 - a) * (1 + a))),),
                  names=("asin", "arcsin"), latex=r"\arcsin", domain="an argument in [-1, 1]",
                  rule=("1/sqrt(1 - a^2)",)),
        _function("acos", 1, B.acos, lambda g, out, a: (B.quotient(-g, B.sqrt((1 - a) * (1 + a))),),
                  names=("acos", "arccos"), latex=r"\arccos", domain="an argument in [-1, 1]",
                  rule=("-1/sqrt(1 - a^2)",)),
        _function("atan", 1, B.atan, lambda g, out, a: (g / (1 + a * a),), names=("atan", "arctan"),
                  latex=r"\arctan", rule=("1/(1 + a^2)",)),
        _function("atan2", 2, B.atan2, lambda g, out, a, b: (B.quotient(g * b, a * a + b * b),
                                                              B.quotient(-g * a, a * a + b * b)),
                  names=("atan2", "arctan2"), latex=r"\operatorname{atan2}", rule=("b/(a^2 + b^2)", "-a/(a^2 + b^2)"),
                  convention="on the cut y = 0, x < 0 the value jumps by 2*pi: the slope of either side;"
                             " atan2(0, 0) = 0 with gradient nan (PyTorch)",
                  kink=lambda out, a, b: B.kink((a == 0) & (b <= 0), "atan2 on its branch cut",
                                                "the slope of either side used"),
                  branch=lambda out, a, b: B.where(B.less(b, 0), B.sign(a), 0)),
        _function("asinh", 1, B.asinh, lambda g, out, a: (g / B.sqrt(a * a + 1),),
                  latex=r"\operatorname{arsinh}", rule=("1/sqrt(a^2 + 1)",)),
        _function("acosh", 1, B.acosh, lambda g, out, a: (B.quotient(g, B.sqrt((a - 1) * (a + 1))),),
                  latex=r"\operatorname{arcosh}", domain="an argument of at least 1", rule=("1/sqrt(a^2 - 1)",)),
        _function("atanh", 1, B.atanh, lambda g, out, a: (B.quotient(g, (1 - a) * (1 + a)),),
                  latex=r"\operatorname{artanh}", domain="an argument in (-1, 1)", rule=("1/(1 - a^2)",)),
        elementwise("erf", B.erf, lambda out, a: 2 * B.exp(-a * a) / B.sqrt(B.PI), latex=r"\operatorname{erf}",
                    rule=("2*exp(-a^2)/sqrt(pi)",)),
        # ----- activations (PyTorch's definitions) -----
        _function("sigmoid", 1, B.sigmoid, lambda g, out, a: (g * out * (1 - out),), latex=r"\sigma",
                  rule=("out*(1 - out)",)),
        elementwise("softplus", B.softplus, lambda out, a: B.sigmoid(a), latex=r"\operatorname{softplus}",
                    rule=("sigmoid(a)",)),   # max(a, 0) + log1p(exp(-|a|)): no overflow, no threshold
        _function("silu", 1, B.silu, silu_vjp, latex=r"\operatorname{silu}",
                  rule=("sigmoid(a)*(1 + a*(1 - sigmoid(a)))",)),
        _function("gelu", 1, lambda a, approximate=0: B.gelu(a, B.parameter(approximate)), gelu_vjp,
                  latex=r"\operatorname{gelu}", params=("approximate",),
                  rule=("0.5*(1 + erf(a/sqrt(2))) + a*exp(-a^2/2)/sqrt(2*pi)",),
                  convention="approximate=1: the tanh form and its own derivative"),
        # ----- kinks: PyTorch's one-sided choice, or the minimum-norm subgradient -----
        _function("relu", 1, B.relu, lambda g, out, a: (B.where(B.greater(a, 0), g, 0),),
                  latex=r"\operatorname{relu}", rule=("where(a > 0, 1, 0)",),
                  convention="relu'(0) = 0; exactly 0 where a <= 0, also for an inf or nan upstream",
                  kink=lambda out, a: B.kink(a == 0, "relu at 0", "gradient 0 used")),
        _function("leaky_relu", 1, lambda a, negative_slope=0.01: B.leaky_relu(a, B.parameter(negative_slope)),
                  lambda g, out, a, negative_slope=0.01: (
                      B.where(B.greater(a, 0), g, g * B.parameter(negative_slope)),),
                  latex=r"\operatorname{leaky\_relu}", params=("negative_slope",),
                  rule=("where(a > 0, 1, negative_slope)",), convention="leaky_relu'(0) = negative_slope (PyTorch)",
                  kink=lambda out, a, negative_slope=0.01: B.kink(a == 0, "leaky_relu at 0",
                                                                 "gradient negative_slope used")),
        _function("elu", 1, lambda a, alpha=1: B.elu(a, B.parameter(alpha)),
                  lambda g, out, a, alpha=1: (B.where(B.greater(a, 0), g, g * (out + B.parameter(alpha))),),
                  latex=r"\operatorname{elu}", params=("alpha",), rule=("where(a > 0, 1, out + alpha)",),
                  convention="elu'(0) = alpha, the left slope (PyTorch); no kink for alpha = 1",
                  kink=lambda out, a, alpha=1: B.kink((a == 0) & (alpha != 1), "elu at 0", "gradient alpha used"),
                  branch=lambda out, a, alpha=1: B.sign(a)),
        _function("abs", 1, B.abs, lambda g, out, a: (g * B.sign(a),), latex=None, rule=("sign(a)",),
                  convention="abs'(0) = 0 (not a selection: g*sign(a))",
                  kink=lambda out, a: B.kink(a == 0, "abs at 0", "gradient 0 used")),
        _function("max", 2, B.maximum, max_vjp, latex=r"\max",
                  rule=("where(a > b, 1, where(a == b, 0.5, 0))", "where(b > a, 1, where(a == b, 0.5, 0))"),
                  convention="tie: split 0.5/0.5; the other input gets exactly 0",
                  kink=lambda out, a, b: B.kink(a == b, "max tie", "gradient split 0.5/0.5", at=a)),
        _function("min", 2, B.minimum, min_vjp, latex=r"\min",
                  rule=("where(a < b, 1, where(a == b, 0.5, 0))", "where(b < a, 1, where(a == b, 0.5, 0))"),
                  convention="tie: split 0.5/0.5; the other input gets exactly 0",
                  kink=lambda out, a, b: B.kink(a == b, "min tie", "gradient split 0.5/0.5", at=a)),
        _function("clip", 3, B.clip, clip_vjp, names=("clip", "clamp"), latex=r"\operatorname{clip}",
                  rule=("where((a >= b)*(a <= c), 1, 0)", "where((a < b)*(b <= c), 1, 0)",
                        "where(max(a, b) > c, 1, 0)"),
                  convention="on a bound: all to x (PyTorch's clamp); lo > hi: all to hi",
                  kink=lambda out, a, lo, hi: B.kink((a == lo) | (a == hi), "clip at a bound", "gradient to x")),
        _function("where", 3, B.where,
                  lambda g, out, cond, a, b: (B.where(0, g, 0), B.where(cond, g, 0), B.where(cond, 0, g)),
                  latex=r"\operatorname{where}", rule=("0", "where(a, 1, 0)", "where(a, 0, 1)"),
                  convention="cond (nonzero: true) gets no gradient; the branch not chosen gets exactly 0"),
        # ----- piecewise constant: flat on both sides of each jump -----
        elementwise("sign", B.sign, None, latex=r"\operatorname{sign}", jumps=True, vjp=flat, rule=("0",),
                    convention=constant),
        elementwise("floor", B.floor, None, latex=r"\operatorname{floor}", jumps=True, vjp=flat, rule=("0",),
                    convention=constant, kink=jump("floor at an integer", lambda a: a == B.floor(a))),
        elementwise("ceil", B.ceil, None, latex=r"\operatorname{ceil}", jumps=True, vjp=flat, rule=("0",),
                    convention=constant, kink=jump("ceil at an integer", lambda a: a == B.floor(a))),
        elementwise("round", B.round, None, latex=r"\operatorname{round}", jumps=True, vjp=flat, rule=("0",),
                    convention=constant + "; half to even (NumPy)",
                    kink=jump("round at a half-integer", lambda a: a - B.floor(a) == B.parameter(0.5))),
        # ----- comparisons: 1 where true, else 0; no gradient flows through them -----
        *(Op(op, 2, getattr(B, function), _no_gradient, COMPARE[op][1], algebra="call", infix=True, latex=COMPARE[op][2],
             differentiable=False, jumps=True, convention="no gradient (piecewise constant)", jvp=_no_tangent)
          for op, function in COMPARISON_FUNCTIONS.items()),
    )


def _tensor_rows(B) -> tuple:
    """The tensor ops (the NumPy backend; a graph using one is evaluated with it).

    Their `rule` is the gradient sent, in cgraph's syntax over g (the upstream gradient), the inputs
    a, b and `out`, with four words of its own: spread(x) is x copied back over the reduced axes
    (the shape of a), n the number of elements each result reduces (of the whole array for a loss),
    N the batch (a matrix's rows, 1 for a vector), k the number of tied maxima (or minima)."""
    reduction = ("axis", "keepdims")

    # Tangents. A linear op applied to its inputs' tangents is its tangent; a bilinear one (matmul, dot)
    # takes the product rule; a reduction's tangent sums ȧ times what its vjp sends for an upstream
    # of ones (max's 1/k on tied maxima, prod's product of the others: the vjp's conventions); a loss
    # (a scalar) is <its gradient, ȧ> summed over its inputs.
    def linear(forward):   # (`linear` and `product` tell the trace how to write the rule: trace.py)
        def jvp(dots, out, *inputs, **params):
            return forward(*[x * 0 if dot is None else dot for dot, x in zip(dots, inputs)], **params)
        jvp.linear = True
        return jvp

    def bilinear(product):
        def jvp(dots, out, a, b):
            da, db = dots
            return product(a, db) if da is None else product(da, b) if db is None else product(da, b) + product(a, db)
        jvp.product = True
        return jvp

    def weighted(vjp):
        def jvp(dots, out, a, **params):
            weights = vjp(out * 0 + 1, out, a, **params)[0]
            return B.sum(weights * dots[0], params.get("axis"), params.get("keepdims", False))
        return jvp

    def scalar_output(vjp):
        def jvp(dots, out, *inputs):
            total = None
            for dot, sent in zip(dots, vjp(1.0, out, *inputs)):
                if dot is not None:
                    total = B.sum(sent * dot) if total is None else total + B.sum(sent * dot)
            return total
        return jvp

    def index_jvp(dots, out, a, *indices, key):   # the same elements of ȧ; the indices carry none
        return None if dots[0] is None else B.index(dots[0], *indices, key=key)

    def selection(name, symbol, forward, what):
        vjp = lambda g, out, a, axis=None, keepdims=False: (B.route(g, out, a, axis, keepdims),)   # noqa: E731
        return _tensor(name, 1, forward, vjp, symbol=symbol, names=(symbol,), params=reduction, jvp=weighted(vjp),
            kink=lambda out, a, axis=None, keepdims=False: B.kink(B.ties(out, a, axis, keepdims), what,
                                                                  "gradient split evenly"),
            rule=("where(a == spread(out), spread(g) / k, 0)",),
            convention=f"{what}: split evenly (1/k each); every other element gets exactly 0")

    def no_gradient(name, arity, forward, convention="", **facts):
        return _tensor(name, arity, forward, _no_gradient, differentiable=False, jumps=True, jvp=_no_tangent,
                       convention="no gradient (piecewise constant)" + convention, **facts)

    rows = (
        # a literal [a, b] (axis 0), stack([a, b], axis=1): element k receives g's slice k along axis
        _tensor("stack", -1, B.stack, lambda g, out, *elements, axis=0: B.unstack(g, len(elements), axis),
                one_axis=True, jvp=linear(B.stack),
                symbol="[…]", params=AXIS),
        # x[0], X[:, 1], x[[0, 2]], x[i]: `key` holds the constant subscripts, None where an input (an
        # integer-valued tensor or scalar) supplies one; the gradient is scattered back with np.add.at
        # (repeated indices accumulate), every other element receives exactly 0, the indices receive 0
        _tensor("index", -1, B.index, lambda g, out, a, *indices, key: B.scatter(g, a, key, indices),
                symbol="[]", names=(), jvp=index_jvp, convention="selection: an element not selected receives 0; "
                                                  "a repeated index accumulates"),
        # ----- lists of inputs (concatenate([a, b], axis=0)) and constructors -----
        _tensor("concatenate", -1, B.concatenate,
                lambda g, out, *elements, axis=0: B.split(g, elements, axis), names=("concatenate", "cat"),
                one_axis=True, jvp=linear(B.concatenate),
                params=AXIS),
        # constant tensors: graph.build evaluates them into one const node (no gradient)
        _constructor("zeros", B.zeros, ("shape",)),
        _constructor("ones", B.ones, ("shape",)),
        _constructor("full", B.full, ("shape", "fill_value")),
        _constructor("eye", B.eye, ("n",)),
        _constructor("arange", B.arange, ("start", "stop", "step"), names=("arange", "range")),
        # ----- products -----
        _tensor("matmul", 2, B.matmul, lambda g, out, a, b: B.matmul_grads(g, a, b), symbol="@",
                jvp=bilinear(B.matmul),
                rule=("g @ transpose(b)", "transpose(a) @ g")),
        _tensor("dot", 2, B.dot, lambda g, out, a, b: B.dot_grads(g, a, b), jvp=bilinear(B.dot),
                rule=("g @ transpose(b)", "transpose(a) @ g")),
        # ----- shapes: the gradient is g moved back into a's shape -----
        _tensor("reshape", 1, B.reshape, lambda g, out, a, shape=None: (B.like(g, a),), params=("shape",),
                jvp=linear(B.reshape), rule=("reshape(g, a.shape)",)),
        _tensor("flatten", 1, B.flatten, lambda g, out, a: (B.like(g, a),), jvp=linear(B.flatten),
                rule=("reshape(g, a.shape)",)),
        _tensor("squeeze", 1, B.squeeze, lambda g, out, a, axis=None: (B.like(g, a),), params=("axis",),
                jvp=linear(B.squeeze),
                rule=("reshape(g, a.shape)",)),
        _tensor("unsqueeze", 1, B.unsqueeze, lambda g, out, a, axis=None: (B.like(g, a),), params=("axis",),
                jvp=linear(B.unsqueeze),
                one_axis=True,
                rule=("squeeze(g, axis)",)),
        _tensor("transpose", 1, B.transpose, lambda g, out, a, axes=None: (B.untranspose(g, axes),),
                params=("axes",), jvp=linear(B.transpose), rule=("transpose(g, argsort(axes))",)),
        # ----- reductions over all elements, an axis or a tuple of axes (keepdims keeps them, as 1s) -----
        _tensor("sum", 1, B.sum, lambda g, out, a, axis=None, keepdims=False: (B.spread(g, a, axis, keepdims),),
                params=reduction, jvp=linear(B.sum), rule=("spread(g)",)),
        _tensor("mean", 1, B.mean, lambda g, out, a, axis=None, keepdims=False: (
            B.spread(g, a, axis, keepdims) / B.count(a, axis),), params=reduction, jvp=linear(B.mean),
            rule=("spread(g) / n",)),
        selection("reduce_max", "max", B.amax, "max tie"),
        selection("reduce_min", "min", B.amin, "min tie"),
        _tensor("prod", 1, B.prod, lambda g, out, a, axis=None, keepdims=False: (
            B.prod_grad(g, a, axis, keepdims),), params=reduction, jvp="weighted",
            rule=("spread(g) * (the product of the others)",),
            convention="the product of the others, also where an element is 0 (not out/a)"),
        # (named variance: "var" is the op of a variable)
        _tensor("variance", 1, B.var, lambda g, out, a, axis=None, ddof=0, keepdims=False: (
            B.var_grad(g, a, axis, ddof, keepdims),), symbol="var", names=("var",),
            params=("axis", "ddof", "keepdims"), jvp="weighted",
            rule=("2 * spread(g) * (a - spread(mean(a))) / (n - ddof)",)),
        _tensor("std", 1, B.std, lambda g, out, a, axis=None, ddof=0, keepdims=False: (
            B.std_grad(g, out, a, axis, ddof, keepdims),), params=("axis", "ddof", "keepdims"), jvp="weighted",
            rule=("spread(g / out) * (a - spread(mean(a))) / (n - ddof)",),
            kink=lambda out, a, axis=None, ddof=0, keepdims=False: B.kink(out == 0, "std of zero variance",
                                                                          "gradient 0 used"),
            branch=lambda out, a, axis=None, ddof=0, keepdims=False: B.equal(out, 0),
            convention="zero variance: gradient 0 (the minimum-norm subgradient)"),
        _tensor("norm", 1, B.norm, lambda g, out, a, ord=2, axis=None, keepdims=False: (
            B.norm_grad(g, out, a, ord, axis, keepdims),), params=("ord", "axis", "keepdims"), jvp="weighted",
            rule=("spread(g / out) * a",),
            kink=lambda out, a, ord=2, axis=None, keepdims=False: B.kink(
                B.norm_kinks(out, a, ord), "norm at 0" if ord != 1 else "norm (ord=1) at an element 0",
                "gradient 0 used"),
            branch=lambda out, a, ord=2, axis=None, keepdims=False: B.sign(a) if ord == 1 else B.equal(out, 0),
            convention="ord=1: spread(g) * sign(a); a norm of 0 (an element 0 for ord=1): gradient 0"),
        _tensor("logsumexp", 1, B.logsumexp, lambda g, out, a, axis=None, keepdims=False: (
            B.logsumexp_grad(g, out, a, axis, keepdims),), params=reduction, jvp="weighted",
            rule=("spread(g) * exp(a - spread(out))",)),
        _tensor("cumsum", 1, B.cumsum, lambda g, out, a, axis=None: (B.cumsum_grad(g, a, axis),),
                params=("axis",), rule=("cumsum(g[::-1])[::-1]",), one_axis=True, jvp=linear(B.cumsum)),
        _tensor("trace", 1, B.trace, lambda g, out, a: (B.trace_grad(g, a),), rule=("g * eye(n)",),
                jvp=linear(B.trace)),
        _tensor("diag", 1, B.diag, lambda g, out, a, k=0: (B.diag_grad(g, a, k),), params=("k",),
                jvp=linear(B.diag), rule=("diag(g, k)",)),
        no_gradient("argmax", 1, B.argmax, params=reduction, convention="; a tie: the first, as NumPy",
                    one_axis=True),
        no_gradient("argmin", 1, B.argmin, params=reduction, convention="; a tie: the first, as NumPy",
                    one_axis=True),
        # ----- layers -----
        _tensor("softmax", 1, B.softmax,
                lambda g, out, a, axis=-1: (out * (g - B.sum(g * out, axis, keepdims=True)),), params=AXIS,
                one_axis=True,   # its Jacobian diag(out) - out outᵀ is symmetric: the tangent is the vjp of ȧ
                jvp=lambda dots, out, a, axis=-1: out * (dots[0] - B.sum(dots[0] * out, axis, keepdims=True)),
                rule=("out * (g - sum(g * out, axis=-1, keepdims=True))",)),
        _tensor("log_softmax", 1, B.log_softmax,
                lambda g, out, a, axis=-1: (g - B.exp(out) * B.sum(g, axis, keepdims=True),), params=AXIS,
                one_axis=True,
                jvp=lambda dots, out, a, axis=-1: dots[0] - B.sum(B.exp(out) * dots[0], axis, keepdims=True),
                rule=("g - exp(out) * sum(g, axis=-1, keepdims=True)",)),
        # ----- losses: means over the batch (PyTorch's defaults). A target t with one axis fewer than
        # the prediction holds class indices along its last axis: one_hot(t, C), and t gets no gradient
        _tensor("cross_entropy", 2, B.cross_entropy, lambda g, out, y, t: B.cross_entropy_grads(g, y, t),
                domain="y > 0 wherever t is not 0", rule=("-g * b / (N * a)", "-g * log(a) / N"), jvp="scalar_output",
                convention=_INDICES),
        # the fused, numerically stable Softmax-with-Loss: d/da = (softmax(a)·Σt - t) / N, which is the
        # course's (softmax(a) - t) / N when each row of t sums to 1 (one-hot labels)
        _tensor("softmax_cross_entropy", 2, B.softmax_cross_entropy,
                lambda g, out, a, t: B.softmax_cross_entropy_grads(g, a, t),
                rule=("g * (softmax(a) * sum(b, axis=-1, keepdims=True) - b) / N", "-g * log_softmax(a) / N"),
                jvp="scalar_output",
                convention=_INDICES),
        _tensor("nll", 2, B.nll, lambda g, out, logp, t: B.nll_grads(g, logp, t),
                rule=("-g * one_hot(b, C) / N", "0"), convention="b: class indices, no gradient",
                jvp="scalar_output"),
        _tensor("mse", 2, B.mse, lambda g, out, y, t: B.mse_grads(g, y, t),
                rule=("2 * g * (a - b) / n", "-2 * g * (a - b) / n"), jvp="scalar_output"),
        _tensor("binary_cross_entropy", 2, B.binary_cross_entropy,
                lambda g, out, p, t: B.binary_cross_entropy_grads(g, p, t), domain="p in [0, 1]", jvp="scalar_output",
                rule=("g * (a - b) / (n * max(a * (1 - a), 1e-12))",
                      "g * (max(log1p(-a), -100) - max(log(a), -100)) / n"),
                convention="each log clamped at -100, the slope's a(1 - a) at 1e-12 (PyTorch's)"),
        no_gradient("one_hot", 1, B.one_hot, params=("num_classes",)),
    )
    derived = {"weighted": weighted, "scalar_output": scalar_output}   # tangents made from the row's vjp
    return tuple(row._replace(jvp=derived[row.jvp](row.vjp)) if isinstance(row.jvp, str) else row for row in rows)


_INDICES = "class indices b (one axis fewer than a): b is one_hot(b, C) and gets no gradient"


def _constructor(name: str, forward: Callable, params: tuple, **facts) -> Op:
    """A constant tensor from constant parameters (arity 0): graph.build evaluates it."""
    return _tensor(name, 0, forward, _no_gradient, params=params, differentiable=False, jvp=_no_tangent,
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
    kinds = set(map(type, values.values()))
    if graph.uses_tensors:
        return array_table()
    if kinds <= {float, int}:   # the common case, first
        return OPS
    from fractions import Fraction   # here: a float run never needs it (start-up)

    if any(issubclass(kind, Fraction) for kind in kinds):
        return exact_table()
    return array_table()


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
# Every function of one input or more is a method too (x.gelu(), x.atan2(y)); beside them NumPy's and
# PyTorch's own names, and the reductions that a method means (x.max(0) reduces; max(x, 0) does not).
_METHOD_NAMES = {
    "max": "reduce_max", "min": "reduce_min", "amax": "reduce_max", "amin": "reduce_min",
    "diagonal": "diag", "view": "reshape", "permute": "transpose", "t": "transpose",
}
METHODS = {**{name: op.name for op in OPS.values() if op.arity != 0 for name in op.names},
           **{method: _method_op(op) for method, op in _METHOD_NAMES.items() if _method_op(op) is not None}}
