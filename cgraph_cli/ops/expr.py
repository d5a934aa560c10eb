"""The values of the symbolic backend: nodes of a hash-consed expression DAG (ops/algebra.py builds them)."""


class Expr:
    """A node of a hash-consed expression DAG; build them with an Algebra, compare with `is`.

    kind: "const" (value: Fraction), "var" or "named" (name; a named constant such as pi has
    a float value), "add" (value: the constant; children: the terms; numbers: their
    coefficients), "mul" (value: the coefficient; children: the bases; numbers: exponents),
    "pow" (children: base, exponent; a power the product form cannot hold), or the name of
    an op whose row says `algebra="call"` (ops.SYMBOLIC_FUNCTIONS; children: its arguments).
    """

    __slots__ = ("algebra", "kind", "children", "numbers", "value", "name", "serial",
                 "positive", "nonzero")

    def __add__(self, other):
        return self.algebra.add(self, self.algebra.lift(other))

    __radd__ = __add__

    def __sub__(self, other):
        return self.algebra.add(self, self.algebra.scale(self.algebra.lift(other), -1))

    def __rsub__(self, other):
        return self.algebra.add(self.algebra.lift(other), self.algebra.scale(self, -1))

    def __mul__(self, other):
        return self.algebra.mul(self, self.algebra.lift(other))

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self.algebra.divide(self, other)

    def __rtruediv__(self, other):
        return self.algebra.divide(other, self)

    def __pow__(self, other):
        return self.algebra.power(self, other)

    def __rpow__(self, other):
        return self.algebra.power(other, self)

    def __neg__(self):
        return self.algebra.scale(self, -1)

    def __pos__(self):
        return self

    def __bool__(self):
        """False only for the constant 0, so engine.backward skips zero gradients."""
        return not (self.kind == "const" and self.value == 0)

    def __repr__(self):
        """The node alone (formula.Printer writes the whole expression in cgraph syntax)."""
        return f"Expr({self.kind!r}, {len(self.children)} children, value={self.value!r}, name={self.name!r})"
