"""The symbolic backend of the op table: an `Algebra` of expressions (derivatives.py runs it).

An `Algebra` is a backend for the op table (`ops.table(Algebra())`): its values are `Expr`
nodes of an expression DAG, and its functions (exp, sign, power_slope, ...) build nodes. The
op table's vjp rules, written once for every backend, then build derivative expressions, and
engine.backward runs them unchanged: `symbolic.gradients(graph)` is the derivative graph.

Each algebra hash-conses its nodes: one object per distinct expression, so structural
equality is identity (`is`) and a subexpression reached twice is one node, printed once. It
simplifies as it builds, keeping canonical forms:

- a sum is constant + sum of coefficient*term (like terms collected, so x - x is 0; a
  multiple of a sum, -(a + b), is spread over the terms it joins);
- a product is coefficient * product of base^exponent (repeated factors become powers);
- constants are exact rationals (decimal literals read exactly), folded as they meet;
- 0 and 1 vanish where they are identities; exp(log(x)) is x, log(exp(x)) is x.

Cancelling changes where a formula is defined, so x/x becomes 1 only when x is provably
nonzero (exp(..), sigmoid(..), a nonzero constant, a sum of positive terms): otherwise a
product keeps x and 1/x apart. To keep the size linear in the input's, a sum (product) of more
than FLAT_OPERANDS terms (factors) joins a larger one as a unit unless some of their terms
combine: flattening it would copy it, and a shared one would be printed twice.
"""

import contextlib
import math
from fractions import Fraction

from cgraph_cli import rational
from cgraph_cli.errors import UsageError
from cgraph_cli.ops.backend import (COMPARE, EXACT_AT_ZERO, PARAMETER_DEFAULTS, POSITIVE_FUNCTIONS, exact_parameter,
                                    tensor_only)
from cgraph_cli.ops.expr import Expr

FLAT_OPERANDS = 4   # a sum (product) with more terms (factors) is flattened only if that combines some
MAX_FLAT = 64       # and never into more than this
ATOMS = frozenset({"const", "var", "named"})
ZERO, ONE, HALF = Fraction(0), Fraction(1), Fraction(1, 2)


def _tensor_operation(*_, **__):
    raise UsageError("symbolic derivatives and exact arithmetic are for scalar formulas")


class Algebra:
    """Builds and simplifies expressions; also the backend `B` of ops.table(B)."""

    name = "algebra (ops/algebra.py)"

    def __init__(self):
        self._nodes = {}
        self.zero = self.constant(ZERO)
        self.one = self.constant(ONE)
        self.LN2 = self.call("log", self.constant(2))
        self.LN10 = self.call("log", self.constant(10))
        self.PI = self.named("pi", math.pi)

    # ----- leaves -----

    def constant(self, value) -> Expr:
        value = rational.check_size(Fraction(value))
        return self._node("const", ("c", value), (), (), value, positive=value > 0, nonzero=value != 0)

    def variable(self, name: str) -> Expr:
        return self._node("var", ("v", name), (), (), None, name=name)

    def named(self, name: str, value: float) -> Expr:
        """A constant known by name (pi, e): printed by name, never folded into a number."""
        return self._node("named", ("n", name), (), (), value, name=name, positive=value > 0,
                          nonzero=value != 0)

    def literal(self, text: str, value) -> Expr:
        """A const node of a graph, from its source text: `0.1` is exactly 1/10."""
        number = rational.parse_exact(text)
        if number is not None:
            return self.constant(number)
        if text.isidentifier():
            return self.named(text, value)
        return self.constant(Fraction(value))

    def lift(self, value) -> Expr:
        if isinstance(value, Expr):
            if value.algebra is not self:
                raise ValueError("an expression of another algebra")
            return value
        if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
            return self.constant(value)
        raise TypeError(f"cannot use {value!r} in a symbolic expression")

    # ----- sums -----

    def add(self, a: Expr, b: Expr) -> Expr:
        if not a:
            return b
        if not b:
            return a
        if a.kind == "const" and b.kind == "const":
            return self.constant(a.value + b.value)
        constant_a, terms_a = self._terms(a)
        constant_b, terms_b = self._terms(b)
        collected = _collect(terms_a + terms_b)
        if len(collected) == len(terms_a) + len(terms_b) or len(collected) > MAX_FLAT:
            # Nothing combined: flattening a longer sum would only copy its terms (twice over
            # when it is also used elsewhere), so it stays one term of the new sum.
            if len(terms_a) > FLAT_OPERANDS:
                constant_a, terms_a = self._terms(a, flatten=False)
            if len(terms_b) > FLAT_OPERANDS:
                constant_b, terms_b = self._terms(b, flatten=False)
            collected = _collect(terms_a + terms_b)
        return self._sum(constant_a + constant_b, collected)

    def _terms(self, x: Expr, flatten: bool = True):
        """x as (constant, [(term, coefficient)]), each term a product with coefficient 1;
        without `flatten`, a sum is one term of its own."""
        if x.kind == "const":
            return x.value, []
        if x.kind == "add":
            return (x.value, list(zip(x.children, x.numbers))) if flatten else (ZERO, [(x, ONE)])
        if flatten and x.kind == "mul" and len(x.children) == 1 and x.numbers[0] == 1 \
                and x.children[0].kind == "add":
            c, inner = x.value, x.children[0]      # inside a sum, c*(a + b) is c*a + c*b
            return c * inner.value, [(term, rational.check_size(c * coefficient))
                                     for term, coefficient in zip(inner.children, inner.numbers)]
        if x.kind == "mul" and x.value != 1:
            return ZERO, [(self._product(ONE, list(zip(x.children, x.numbers))), x.value)]
        return ZERO, [(x, ONE)]

    def _sum(self, constant: Fraction, collected: dict) -> Expr:
        items = [(term, c) for term, c in collected.items() if c != 0]
        if not items:
            return self.constant(constant)
        if len(items) == 1 and constant == 0:
            return self.scale(*items[0])
        items.sort(key=lambda item: item[0].serial)
        terms = tuple(term for term, _ in items)
        coefficients = tuple(c for _, c in items)
        constant = rational.check_size(constant)
        positive = constant >= 0 and all(c > 0 and t.positive for t, c in items)
        return self._node("add", ("+", constant, terms, coefficients), terms, coefficients, constant,
                          positive=positive, nonzero=positive)

    def scale(self, x: Expr, factor) -> Expr:
        """factor * x for a rational factor."""
        factor = Fraction(factor)
        if factor == 1:
            return x
        if factor == 0:
            return self.zero
        if x.kind == "const":
            return self.constant(x.value * factor)
        if x.kind == "mul":
            return self._product(x.value * factor, list(zip(x.children, x.numbers)))
        return self._product(factor, [(x, ONE)])

    # ----- products and powers -----

    def mul(self, a: Expr, b: Expr) -> Expr:
        if not a or not b:
            return self.zero
        if a is self.one:
            return b
        if b is self.one:
            return a
        if a.kind == "const":
            return self.scale(b, a.value)
        if b.kind == "const":
            return self.scale(a, b.value)
        coefficient_a, factors_a = self._factors(a)
        coefficient_b, factors_b = self._factors(b)
        merged = _merge(factors_a + factors_b)
        if len(merged) == len(factors_a) + len(factors_b) or len(merged) > MAX_FLAT:
            if len(factors_a) > FLAT_OPERANDS:      # as for sums: a longer product stays whole
                factors_a = [(self._product(ONE, factors_a), ONE)]
            if len(factors_b) > FLAT_OPERANDS:
                factors_b = [(self._product(ONE, factors_b), ONE)]
            merged = _merge(factors_a + factors_b)
        factors = [(base, exponent) for (base, _), exponent in merged.items() if exponent != 0]
        return self._product(coefficient_a * coefficient_b, factors)

    def _factors(self, x: Expr):
        if x.kind == "mul":
            return x.value, list(zip(x.children, x.numbers))
        return ONE, [(x, ONE)]

    def _product(self, coefficient: Fraction, factors: list) -> Expr:
        coefficient = rational.check_size(Fraction(coefficient))
        if coefficient == 0:
            return self.zero
        if not factors:
            return self.constant(coefficient)
        if coefficient == 1 and len(factors) == 1 and factors[0][1] == 1:
            return factors[0][0]
        factors.sort(key=lambda item: (item[0].serial, item[1]))
        bases = tuple(base for base, _ in factors)
        exponents = tuple(Fraction(e) for _, e in factors)
        positive = coefficient > 0 and all(base.positive for base in bases)
        nonzero = all(base.nonzero for base in bases)
        return self._node("mul", ("*", coefficient, bases, exponents), bases, exponents, coefficient,
                          positive=positive, nonzero=nonzero)

    def power(self, a, b) -> Expr:
        a, b = self.lift(a), self.lift(b)
        if b.kind != "const":
            if a is self.one:
                return a
            return self._node("pow", ("^", a, b), (a, b), (), None,
                              positive=a.positive, nonzero=a.nonzero)
        q = b.value
        if q == 0:
            return self.one
        if q == 1:
            return a
        if a.kind == "const":
            try:
                folded = rational.power(a.value, q)
            except (ArithmeticError, ValueError):   # 0^-1, (-8)^0.5, too large: left for evaluation
                folded = None
            if folded is not None:
                return self.constant(folded)
            return self._node("pow", ("^", a, b), (a, b), (), None,
                              positive=a.positive, nonzero=a.nonzero)
        if a.kind == "mul":
            if q.denominator == 1:   # (c*x^2*y)^3 = c^3*x^6*y^3
                coefficient = rational.power(a.value, q)
                return self._product(coefficient, [(base, e * q) for base, e in zip(a.children, a.numbers)])
            # (x^2)^0.5 is |x|, not x: a fractional power of a product stays whole
            return self._node("pow", ("^", a, b), (a, b), (), None, positive=a.positive,
                              nonzero=a.nonzero)
        return self._product(ONE, [(a, q)])

    def divide(self, a, b) -> Expr:
        return self.mul(self.lift(a), self.power(b, -1))

    # ----- functions -----

    def call(self, kind: str, *args) -> Expr:
        """A function node, simplified where the result is exact: exp(0) = 1, sign(exp(x)) = 1."""
        args = tuple(self.lift(a) for a in args)
        simpler = self._simplify_call(kind, args)
        if simpler is not None:
            return simpler
        positive = kind in POSITIVE_FUNCTIONS or (kind in ("relu", "abs", "max") and args[0].positive)
        nonzero = positive or (kind == "abs" and args[0].nonzero)
        return self._node(kind, (kind,) + args, args, (), None, positive=positive, nonzero=nonzero)

    def _simplify_call(self, kind: str, args: tuple):
        x = args[0]
        value = x.value if x.kind == "const" else None
        if kind == "where":              # the chosen branch only: the other is never looked at
            cond, a, b = args
            if cond.kind == "const":
                return a if cond.value != 0 else b
            return a if a is b else None
        if kind in COMPARE:
            y = args[1]
            if y is x or (value is not None and y.kind == "const"):
                decide = COMPARE[kind][0]
                return self.constant(int(decide(0, 0) if y is x else decide(value, y.value)))
            if x.positive and y is self.zero:       # exp(x) > 0
                return self.constant(int(COMPARE[kind][0](1, 0)))
            return None
        if kind in ("max", "min"):
            y = args[1]
            if y is x:
                return x
            if value is not None and y.kind == "const":
                return self.constant(max(value, y.value) if kind == "max" else min(value, y.value))
            return None
        if len(args) > 1:                 # atan2, clip, and leaky_relu, elu, gelu with a parameter
            if kind in ("leaky_relu", "elu") and x.positive:
                return x
            if any(arg.kind != "const" for arg in args):
                return None
            values = [arg.value for arg in args]
            if kind == "clip":
                return self.constant(min(max(values[0], values[1]), values[2]))
            if kind == "leaky_relu":
                return self.constant(value if value > 0 else value * values[1])
            if (kind == "atan2" and value == 0 < values[1]) or (kind == "gelu" and value == 0):
                return self.zero
            return self.constant(value) if kind == "elu" and value >= 0 else None
        if kind in ("exp", "log") and x.kind == ("log" if kind == "exp" else "exp"):
            return x.children[0]            # exp(log(x)) = x where log(x) exists; log(exp(x)) = x
        if kind == "log" and x.kind == "named" and x.name == "e":
            return self.one
        if kind in ("relu", "abs", "leaky_relu", "elu") and x.positive:
            return x
        if kind == "sign":
            if x.positive:
                return self.one
            if x.kind == "sign":
                return x
        if kind in ("floor", "ceil", "round") and x.kind == kind:
            return x
        if value is None:
            return None
        if kind == "log":
            return self.zero if value == 1 else None
        if kind in ("log2", "log10"):
            exact = rational.logarithm(value, 2 if kind == "log2" else 10)
            return None if exact is None else self.constant(exact)
        if kind in ("relu", "abs", "sign", "floor", "ceil", "round", "leaky_relu", "elu"):
            if kind in ("leaky_relu", "elu") and value < 0:
                return None if kind == "elu" else self.constant(value * PARAMETER_DEFAULTS[kind]["negative_slope"])
            return self.constant({"relu": max(value, ZERO), "abs": abs(value), "leaky_relu": value, "elu": value,
                                  "sign": (value > 0) - (value < 0), "floor": math.floor(value),
                                  "ceil": math.ceil(value), "round": round(value)}[kind])
        if value == 1 and kind in ("acos", "acosh"):
            return self.zero
        if value == 0 and kind in EXACT_AT_ZERO:
            return self.constant(EXACT_AT_ZERO[kind])
        return None

    def _with_parameters(self, kind: str, a, **parameters) -> Expr:
        """leaky_relu(x) or, away from the defaults, leaky_relu(x, 1/5): the parameters as constants."""
        values = [exact_parameter(v) if not isinstance(v, Expr) else v for v in parameters.values()]
        values = [self.lift(v) for v in values]
        defaults = PARAMETER_DEFAULTS[kind]
        if all(v.kind == "const" and v.value == defaults[name] for v, name in zip(values, parameters)):
            return self.call(kind, a)
        return self.call(kind, a, *values)

    # ----- the backend interface of ops.table -----

    def power_slope(self, a, b) -> Expr:
        """d(a^b)/da = b*a^(b-1)."""
        b = self.lift(b)
        if not b:
            return self.zero
        return self.mul(b, self.power(a, self.add(b, self.constant(-1))))

    def power_exponent_slope(self, out, a, b) -> Expr:
        """d(a^b)/db = a^b*log(a)."""
        return self.mul(self.lift(out), self.call("log", a))

    def quotient(self, numerator, denominator) -> Expr:
        return self.divide(numerator, denominator)

    def sqrt(self, a) -> Expr:
        return self.power(a, HALF)

    def exp(self, a): return self.call("exp", a)
    def log(self, a): return self.call("log", a)
    def log2(self, a): return self.call("log2", a)
    def log10(self, a): return self.call("log10", a)
    def sin(self, a): return self.call("sin", a)
    def cos(self, a): return self.call("cos", a)
    def tan(self, a): return self.call("tan", a)
    def tanh(self, a): return self.call("tanh", a)
    def sinh(self, a): return self.call("sinh", a)
    def cosh(self, a): return self.call("cosh", a)
    def sigmoid(self, a): return self.call("sigmoid", a)
    def relu(self, a): return self.call("relu", a)
    def abs(self, a): return self.call("abs", a)
    def sign(self, a): return self.call("sign", a)
    def maximum(self, a, b): return self.call("max", a, b)
    def less(self, a, b): return self.call("lt", a, b)
    def less_equal(self, a, b): return self.call("le", a, b)
    def greater(self, a, b): return self.call("gt", a, b)
    def greater_equal(self, a, b): return self.call("ge", a, b)
    def equal(self, a, b): return self.call("eq", a, b)
    def not_equal(self, a, b): return self.call("ne", a, b)
    def minimum(self, a, b): return self.call("min", a, b)

    def asin(self, a): return self.call("asin", a)
    def acos(self, a): return self.call("acos", a)
    def atan(self, a): return self.call("atan", a)
    def atan2(self, y, x): return self.call("atan2", y, x)
    def asinh(self, a): return self.call("asinh", a)
    def acosh(self, a): return self.call("acosh", a)
    def atanh(self, a): return self.call("atanh", a)
    def log1p(self, a): return self.call("log1p", a)
    def expm1(self, a): return self.call("expm1", a)
    def erf(self, a): return self.call("erf", a)
    def softplus(self, a): return self.call("softplus", a)
    def silu(self, a): return self.call("silu", a)
    def floor(self, a): return self.call("floor", a)
    def ceil(self, a): return self.call("ceil", a)
    def round(self, a): return self.call("round", a)
    def clip(self, a, lo, hi): return self.call("clip", a, lo, hi)
    def where(self, cond, a, b): return self.call("where", cond, a, b)
    def gelu(self, a, approximate=0): return self._with_parameters("gelu", a, approximate=approximate)
    def elu(self, a, alpha=1): return self._with_parameters("elu", a, alpha=alpha)

    def leaky_relu(self, a, negative_slope=Fraction(1, 100)):
        return self._with_parameters("leaky_relu", a, negative_slope=negative_slope)

    def parameter(self, value) -> Expr:
        return self.constant(exact_parameter(value))

    def kink(self, *_, **__):
        return None     # a formula has no point of evaluation, so no kink to flag

    forward_guard = backward_guard = staticmethod(contextlib.nullcontext)
    unbroadcast = None
    # Tensor functions of the op table (stack, matmul, ...): graphs using them are refused
    # before evaluation (graph.require_scalar); the rows only need something to point at.
    tensor_only(locals(), staticmethod(_tensor_operation))

    # ----- rebuilding -----

    def rebuild(self, roots: list, replacements: dict) -> list:
        """The roots with some nodes replaced (variables by numbers), simplified again."""
        done = dict(replacements)
        stack = list(roots)
        while stack:
            node = stack[-1]
            if node in done:
                stack.pop()
                continue
            if node.kind == "where":
                if node.children[0] not in done:
                    stack.append(node.children[0])
                    continue
                cond = done[node.children[0]]
                if cond.kind == "const":     # folded: rebuild the chosen branch only
                    chosen = node.children[1] if cond.value != 0 else node.children[2]
                    if chosen not in done:
                        stack.append(chosen)
                        continue
                    stack.pop()
                    done[node] = done[chosen]
                    continue
            pending = [child for child in node.children if child not in done]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            children = [done[child] for child in node.children]
            if all(new is old for new, old in zip(children, node.children)):
                done[node] = node
            else:
                done[node] = self._apply(node, children)
        return [done[root] for root in roots]

    def _apply(self, node: Expr, children: list) -> Expr:
        kind = node.kind
        if kind == "add":
            result = self.constant(node.value)
            for child, coefficient in zip(children, node.numbers):
                result = self.add(result, self.scale(child, coefficient))
            return result
        if kind == "mul":
            result = self.constant(node.value)
            for child, exponent in zip(children, node.numbers):
                result = self.mul(result, self.power(child, self.constant(exponent)))
            return result
        if kind == "pow":
            return self.power(*children)
        return self.call(kind, *children)

    # ----- hash-consing -----

    def _node(self, kind, key, children, numbers, value, name=None, positive=False, nonzero=False):
        node = self._nodes.get(key)
        if node is None:
            node = Expr()
            node.algebra, node.kind, node.children, node.numbers = self, kind, children, numbers
            node.value, node.name, node.serial = value, name, len(self._nodes)
            node.positive, node.nonzero = positive, positive or nonzero
            self._nodes[key] = node
        return node


def _collect(terms: list) -> dict:
    """Like terms combined: {term: total coefficient}."""
    collected = {}
    for term, coefficient in terms:
        if term in collected:
            collected[term] = rational.check_size(collected[term] + coefficient)
        else:
            collected[term] = coefficient
    return collected


def _merge(factors: list) -> dict:
    """Repeated factors combined into powers: {(base, sign key): total exponent}. x^2 * x^-1
    stays apart unless x is provably nonzero: x/x is not 1 at x = 0."""
    merged = {}
    for base, exponent in factors:
        key = (base, 0 if base.nonzero else (1 if exponent > 0 else -1))
        merged[key] = merged[key] + exponent if key in merged else exponent
    return merged
