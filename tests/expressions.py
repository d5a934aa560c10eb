"""Random well-defined formulas for the symbolic and exact property tests (hypothesis strategies).

Every formula is defined, finite and smooth enough on [-2, 2]^3 (divisions and logarithms only of
1 + a^2 and the like); `programs` adds assignments so that subexpressions are shared (a DAG).
"""

from hypothesis import strategies as st

VARIABLES = ("x", "y", "z")

SMOOTH_UNARY = (
    "(-{})", "sin({})", "cos({})", "tanh({})", "sigmoid({})", "exp(tanh({}))", "log(1 + ({})^2)",
    "sqrt(2 + sin({}))", "1/(1 + ({})^2)", "({})^2", "({})^3", "log2(3 + cos({}))",
    "pow(1.5 + sin({}), 2.5)",
)
KINKED_UNARY = ("relu({})", "abs({})")
SMOOTH_BINARY = ("({} + {})", "({} - {})", "({} * {})", "({})/(1 + ({})^2)", "0.5*({})*({})",
                 "pow(1.5 + sin({}), cos({}))")
KINKED_BINARY = ("max({}, {})", "min({}, {})")


def formulas(names=VARIABLES, kinks: bool = True, max_leaves: int = 10):
    leaves = st.sampled_from(names) | st.sampled_from(("2", "3", "0.5", "1.25", "pi"))
    unary = SMOOTH_UNARY + (KINKED_UNARY if kinks else ())
    binary = SMOOTH_BINARY + (KINKED_BINARY if kinks else ())

    def extend(children):
        return (st.tuples(st.sampled_from(unary), children).map(lambda t: t[0].format(t[1]))
                | st.tuples(st.sampled_from(binary), children, children).map(
                    lambda t: t[0].format(t[1], t[2])))

    return st.recursive(leaves, extend, max_leaves=max_leaves)


@st.composite
def programs(draw, kinks: bool = True):
    """`a = F1; b = F2(a); F3(a, b)`: later statements use the earlier names, often twice."""
    first = draw(formulas(kinks=kinks, max_leaves=6))
    second = draw(formulas(VARIABLES + ("a", "a"), kinks=kinks, max_leaves=6))
    last = draw(formulas(VARIABLES + ("a", "b", "b"), kinks=kinks, max_leaves=8))
    return f"a = {first}\nb = {second}\n{last}"


points = st.fixed_dictionaries({name: st.floats(-2, 2, allow_nan=False) for name in VARIABLES})
