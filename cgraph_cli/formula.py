"""Expressions to text: cgraph's own syntax (it parses back with cgraph) and LaTeX.

A subexpression used more than once is printed once, as an assignment to a temporary name
(`t1 = sin(x); t2 = sin(t1); cos(x)*cos(t1)*cos(t2)`), so the text grows linearly with the
size of the expression DAG however much of it is shared; `inline=True` expands every use
instead (refused when that text would be huge). The temporary names are chosen so that
they cannot clash with any name of the input. Printing walks an explicit stack, never
recursion, so a formula thousands of levels deep prints like a flat one.
"""

import functools
import re
from fractions import Fraction

from cgraph_cli import rational
from cgraph_cli.errors import UsageError
from cgraph_cli.ops import LATEX, OPS
from cgraph_cli.ops.backend import COMPARE as COMPARISONS

# Precedence levels, lowest first, as in the grammar: a part needing level L is put in
# parentheses when its own level is lower.
COMPARE, SUM, PRODUCT, UNARY, POWER, ATOM = range(6)
HALF = Fraction(1, 2)
INLINE_LIMIT = 1_000_000   # characters: --inline beyond this is refused

LATEX_FUNCTIONS = LATEX   # each row's `latex`; abs is written |x| (call_form)
SHADOWED = {"pi": ("acos", -1), "e": ("exp", 1)}   # a named constant written when a variable has its name
GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"}


class Printer:
    """Prints one expression (its shared subexpressions as temporaries) in cgraph syntax."""

    OPEN, CLOSE = "(", ")"

    def __init__(self, root, avoid=(), inline: bool = False, exact: bool = False):
        self.root = root
        self.exact = exact
        self.shadowed = {name for name in SHADOWED if name in avoid}   # pi or e bound as a variable
        self.order = _postorder(root)
        self.temps = {}
        if inline:
            _check_inline_size(self.order)
            return
        uses = {}
        for node in self.order:
            for child in node.children:
                uses[child] = uses.get(child, 0) + 1
        prefix = temp_prefix(avoid)
        for node in self.order:
            if uses.get(node, 0) >= 2 and not _simple(node):
                self.temps[node] = f"{prefix}{len(self.temps) + 1}"

    # ----- whole programs -----

    def assignments(self) -> list:
        """(name, text) for each temporary, in an order where each is defined before use."""
        return [(name, self.text(node, define=True)) for node, name in self.temps.items()]

    def program(self) -> str:
        """`t1 = ...; t2 = ...; formula` on one line: a cgraph program whose value is the root."""
        lines = [f"{name} = {text}" for name, text in self.assignments()]
        return "; ".join(lines + [self.text(self.root)])

    # ----- one expression -----

    def text(self, node, define: bool = False) -> str:
        out = []
        stack = [(node, COMPARE, define)]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            expr, needed, defining = item
            if not defining and expr in self.temps:
                out.append(self.temp_name(expr))
                continue
            level, parts = self.form(expr)
            if level < needed:
                stack.append(self.CLOSE)
            for part in reversed(parts):
                stack.append(part if isinstance(part, str) else (part[0], part[1], False))
            if level < needed:
                stack.append(self.OPEN)
        return "".join(out)

    def temp_name(self, node) -> str:
        return self.temps[node]

    def level(self, node) -> int:
        """The precedence level of the node's printed form, without printing it."""
        if node in self.temps:
            return ATOM
        kind = node.kind
        if kind == "const":
            return self.number_level(node.value)
        if kind == "add":
            return SUM
        if kind == "pow":
            return ATOM if _is_half(node.children[1]) else POWER
        if kind == "mul":
            return self.product_level(*self.split(node.value, zip(node.children, node.numbers)))
        if kind in COMPARISONS:
            return COMPARE
        return ATOM

    def form(self, node):
        """(level, parts) of one node: parts are strings and (child, level needed) pairs."""
        kind = node.kind
        if kind == "const":
            return self.number_level(node.value), [self.number(node.value)]
        if kind == "named" and node.name in self.shadowed:   # pi of a derivative, a variable pi bound
            function, argument = SHADOWED[node.name]
            return self.call_form(function, [node.algebra.constant(argument)])
        if kind in ("var", "named"):
            return ATOM, [self.name(node.name)]
        if kind == "add":
            return SUM, self.sum_parts(node)
        if kind == "mul":
            return self.product(*self.split(node.value, zip(node.children, node.numbers)))
        if kind == "pow":
            base, exponent = node.children
            if _is_half(exponent):
                return self.root_form(base)
            return self.power_form(base, [(exponent, UNARY)])
        if kind in COMPARISONS:   # a < b: not chained (the grammar refuses a < b < c)
            left, right = node.children
            return COMPARE, [(left, SUM), f" {self.comparison(kind)} ", (right, SUM)]
        return self.call_form(node.kind, node.children)

    def comparison(self, kind: str) -> str:
        return COMPARISONS[kind][1]

    def sum_parts(self, node) -> list:
        """Positive terms first, then the constant if positive, then the negative ones: x - 1, 1 - y."""
        constant = node.value
        terms = list(zip(node.children, node.numbers))
        items = [t for t in terms if t[1] > 0] + ([(None, constant)] if constant > 0 else [])
        items += [t for t in terms if t[1] < 0] + ([(None, constant)] if constant < 0 else [])
        parts = []
        for index, (term, coefficient) in enumerate(items):
            if index:
                parts.append(" - " if coefficient < 0 else " + ")
            elif coefficient < 0:
                parts.append("-")
            magnitude = abs(coefficient)
            if term is None:
                parts.append(self.number(magnitude))
                continue
            if term.kind == "add" and coefficient == 1:   # a sum kept whole: + needs no parentheses
                parts.append((term, SUM))
                continue
            if term.kind == "mul" and term not in self.temps:
                factors = zip(term.children, term.numbers)
                level, term_parts = self.product(*self.split(magnitude * term.value, factors))
            else:
                level, term_parts = self.product(*self.split(magnitude, [(term, Fraction(1))]))
            parts.extend(term_parts if level >= PRODUCT else [self.OPEN, *term_parts, self.CLOSE])
        return parts

    def split(self, coefficient, factors):
        """A product as (negative, numerator entries, denominator entries); an entry is
        ("number", text) or ("factor", base, positive exponent)."""
        negative = coefficient < 0
        magnitude = abs(coefficient)
        numerator, denominator = [], []
        if magnitude != 1:
            text = self.coefficient_text(magnitude)
            if text is not None:
                numerator.append(("number", text))
            else:
                if magnitude.numerator != 1:
                    numerator.append(("number", str(magnitude.numerator)))
                denominator.append(("number", str(magnitude.denominator)))
        for base, exponent in factors:
            entry = ("factor", base, abs(exponent))
            (numerator if exponent > 0 else denominator).append(entry)
        return negative, numerator, denominator

    def coefficient_text(self, magnitude: Fraction):
        """A coefficient written as one number (0.1*x), or None to write it as p/q (x/3, 3*x/4)."""
        if magnitude.denominator == 1:
            return str(magnitude.numerator)
        denominator = magnitude.denominator
        if self.exact or (denominator & (denominator - 1) == 0 and denominator <= 16):
            return None
        return rational.decimal_text(magnitude)

    def product_level(self, negative, numerator, denominator) -> int:
        if denominator or len(numerator) > 1:
            return PRODUCT
        level = self.entry_level(numerator[0]) if numerator else ATOM
        return min(level, UNARY) if negative else level

    def product(self, negative, numerator, denominator):
        level = self.product_level(negative, numerator, denominator)
        parts = ["-"] if negative else []
        # the left operand of * may itself be a product: a*b*c, not (a*b)*c
        parts += self.joined(numerator or [("number", "1")], "*", first=PRODUCT if level == PRODUCT else UNARY)
        if denominator:
            if len(denominator) == 1 and self.entry_level(denominator[0]) >= POWER:
                parts += ["/"] + self.joined(denominator, "*")
            else:
                parts += ["/("] + self.joined(denominator, "*") + [")"]
        return level, parts

    def joined(self, entries, separator, first: int = UNARY) -> list:
        parts = []
        for index, entry in enumerate(entries):
            if index:
                parts.append(separator)
            if index == 0 and entry[0] == "factor" and entry[2] == 1:
                parts.append((entry[1], first))
            else:
                parts.extend(self.entry_parts(entry))
        return parts

    def entry_level(self, entry) -> int:
        if entry[0] == "number":
            return ATOM
        _, base, exponent = entry
        if exponent == 1:
            level = self.level(base)
            return level if level >= UNARY else ATOM   # parenthesized below UNARY
        return ATOM if exponent == HALF else POWER

    def entry_parts(self, entry) -> list:
        if entry[0] == "number":
            return [entry[1]]
        _, base, exponent = entry
        if exponent == 1:
            return [(base, UNARY)]
        if exponent == HALF:
            return self.root_form(base)[1]
        return self.power_form(base, [self.exponent_text(exponent)])[1]

    def exponent_text(self, exponent: Fraction) -> str:
        text = self.number(exponent)
        return text if self.number_level(exponent) >= UNARY else f"({text})"

    def root_form(self, base):
        return ATOM, ["sqrt(", (base, SUM), ")"]

    def power_form(self, base, exponent_parts):
        return POWER, [(base, ATOM), "^", *exponent_parts]

    def call_form(self, kind, args):
        """name(a, b); a row's parameters after its inputs as keywords: leaky_relu(x, negative_slope=0.2)."""
        parts = [kind, "("]
        params = OPS[kind].params if kind in OPS else ()
        arity = len(args) - len(params) if params and len(args) > OPS[kind].arity else len(args)
        for index, arg in enumerate(args):
            if index:
                parts.append(", ")
            if index >= arity:
                parts.append(f"{params[index - arity]}=")
            parts.append((arg, COMPARE))
        return ATOM, parts + [")"]

    # ----- numbers and names -----

    def number(self, value: Fraction) -> str:
        """220, 0.1, 2.5e-30, 1/3 (and 11/5 rather than 2.2 in exact mode)."""
        if value.denominator == 1 or self.exact:
            return rational.fraction_text(value)
        return rational.decimal_text(value) or rational.fraction_text(value)

    def number_level(self, value: Fraction) -> int:
        plain = value.denominator == 1 or (not self.exact and rational.decimal_text(value) is not None)
        if not plain:
            return PRODUCT     # 1/3
        return UNARY if value < 0 else ATOM

    def name(self, name: str) -> str:
        return name


class LatexPrinter(Printer):
    r"""The same forms in LaTeX: \frac for quotients, \sqrt, ^{...}, \left( \right)."""

    OPEN, CLOSE = r"\left(", r"\right)"

    def temp_name(self, node) -> str:
        return latex_name(self.temps[node])

    def product_level(self, negative, numerator, denominator) -> int:
        if denominator:
            return UNARY if negative else ATOM
        if len(numerator) > 1:
            return PRODUCT
        level = self.entry_level(numerator[0]) if numerator else ATOM
        return min(level, UNARY) if negative else level

    def product(self, negative, numerator, denominator):
        level = self.product_level(negative, numerator, denominator)
        parts = ["-"] if negative else []
        if denominator:
            parts += [r"\frac{", *self.juxtaposed(numerator or [("number", "1")], braced=True), "}{",
                      *self.juxtaposed(denominator, braced=True), "}"]
        else:
            parts += self.juxtaposed(numerator)
        return level, parts

    def juxtaposed(self, entries, braced: bool = False) -> list:
        """Factors side by side (2 x), with \\cdot before a factor that starts with a digit."""
        if braced and len(entries) == 1 and entries[0][0] == "factor" and entries[0][2] == 1:
            return [(entries[0][1], SUM)]      # alone inside braces: no parentheses needed
        parts = []
        for index, entry in enumerate(entries):
            if index:
                parts.append(r" \cdot " if _starts_with_digit(entry) else " ")
            parts.extend(self.entry_parts(entry))
        return parts

    def exponent_text(self, exponent: Fraction) -> str:
        return self.number(exponent)

    def root_form(self, base):
        return ATOM, [r"\sqrt{", (base, SUM), "}"]

    def power_form(self, base, exponent_parts):
        exponent_parts = [(part[0], SUM) if isinstance(part, tuple) else part for part in exponent_parts]
        return POWER, [(base, ATOM), "^{", *exponent_parts, "}"]

    def call_form(self, kind, args):
        if kind == "abs":
            return ATOM, [r"\left|", (args[0], SUM), r"\right|"]
        parts = [LATEX_FUNCTIONS[kind], r"\left("]
        for index, arg in enumerate(args):
            if index:
                parts.append(", ")
            parts.append((arg, COMPARE))
        return ATOM, parts + [r"\right)"]

    def number(self, value: Fraction) -> str:
        if value.denominator == 1 or (not self.exact and rational.decimal_text(value)):
            return super().number(value)
        sign = "-" if value < 0 else ""
        return rf"{sign}\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"

    def number_level(self, value: Fraction) -> int:
        return UNARY if value < 0 else ATOM

    def comparison(self, kind: str) -> str:
        return COMPARISONS[kind][2]

    def name(self, name: str) -> str:
        return latex_name(name)


def latex_name(name: str) -> str:
    """x, w_{0}, \\alpha, \\mathrm{price}: a variable's name in LaTeX."""
    match = re.fullmatch(r"([A-Za-z]+)_?([0-9]+)", name)
    if match:
        return f"{latex_name(match.group(1))}_{{{match.group(2)}}}"
    if name in GREEK:
        return "\\" + name
    if len(name) == 1:
        return name
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def temp_prefix(avoid) -> str:
    """`t`, or `t_`, `t__`, ... : a prefix no input name starts with followed by digits only,
    so the temporaries t1, t2, ... cannot clash with the input's names."""
    return _temp_prefix(avoid if isinstance(avoid, frozenset) else frozenset(avoid))


@functools.lru_cache(maxsize=8)
def _temp_prefix(avoid: frozenset) -> str:
    """One pass over the names, once per set of names (`diff` prints one formula per variable)."""
    taken = {match.group(1) for match in map(re.compile(r"(t_*)[0-9]+").fullmatch, avoid) if match}
    prefix = "t"
    while prefix in taken:
        prefix += "_"
    return prefix


def _simple(node) -> bool:
    """Cheap to repeat: an atom, or a one- or two-operand node over atoms (2*x, x^2, sin(x), x*y)."""
    if not node.children:
        return True
    return (node.kind != "add" and len(node.children) <= 2
            and all(not child.children for child in node.children))


def _is_half(node) -> bool:
    return node.kind == "const" and node.value == HALF


def _starts_with_digit(entry) -> bool:
    if entry[0] == "number":
        return True
    base = entry[1]
    return base.kind == "const" or (base.kind == "pow" and base.children[0].kind == "const")


def _postorder(root) -> list:
    """Every node reachable from root once, each after its children (an explicit stack)."""
    order, seen = [], {root}
    stack = [(root, iter(root.children))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            order.append(node)
        elif child not in seen:
            seen.add(child)
            stack.append((child, iter(child.children)))
    return order


def _check_inline_size(order) -> None:
    """Refuse --inline when expanding every shared use would print an enormous text."""
    size = {}
    for node in order:
        size[node] = 4 + sum(size[child] for child in node.children)
        if size[node] > INLINE_LIMIT:
            raise UsageError(f"written without shared subexpressions the formula would exceed "
                             f"{INLINE_LIMIT:,} characters; leave out --inline to print each shared "
                             "subexpression once, as an assignment")
