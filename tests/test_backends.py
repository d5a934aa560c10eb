"""The op rows and their backends agree: every backend defines every function the rows may call,
every scalar op has its exact, symbolic and LaTeX forms, and the lists that name ops are views
of the rows equal to what they were written as before (issue 9), plus sinh and cosh."""

import inspect

import pytest

from cgraph_cli import ops
from cgraph_cli.ops import OPS, backend, table
from cgraph_cli.ops.algebra import Algebra
from cgraph_cli.ops.arrays import NUMPY
from cgraph_cli.ops.floats import MATH
from cgraph_cli.ops.rationals import RATIONALS

BACKENDS = {"floats (ops/floats.py MATH)": MATH, "arrays (ops/arrays.py NUMPY)": NUMPY,
            "rationals (ops/rationals.py RATIONALS)": RATIONALS, "algebra (ops/algebra.py Algebra)": Algebra()}


class _Recorder:
    """A backend that records which names the rows take from it while the table is built."""

    def __init__(self):
        self.names = set()

    def __getattr__(self, name):
        self.names.add(name)
        return lambda *_, **__: None


def _names_in(function) -> set:
    """The attribute names a rule's code reads (B.cos, B.sign, ...), nested functions included."""
    names, codes = set(), [function.__code__]
    while codes:
        code = codes.pop()
        names |= set(code.co_names)
        codes += [c for c in code.co_consts if inspect.iscode(c)]
    closure = function.__closure__ or ()
    for cell in closure:
        if callable(cell.cell_contents) and hasattr(cell.cell_contents, "__code__"):
            names |= _names_in(cell.cell_contents)
    return names


def _used_names() -> set:
    recorder = _Recorder()
    rows = table(recorder).values()
    used = set(recorder.names)
    for op in rows:
        for function in (op.vjp, op.kink):
            if function is not None:
                used |= _names_in(function) & set(backend.DECLARED)
    return used


def test_the_rows_call_only_declared_backend_functions():
    recorder = _Recorder()
    table(recorder)
    undeclared = recorder.names - set(backend.DECLARED)
    assert not undeclared, f"rows call backend functions not declared in ops/backend.py: {sorted(undeclared)}"


@pytest.mark.parametrize("label", BACKENDS)
def test_every_backend_defines_every_declared_function(label):
    """No fallback: each name must be defined by the backend itself (a class, an instance or a namespace)."""
    backend_object = BACKENDS[label]
    defined = set(vars(backend_object)) | set(vars(type(backend_object))) if not isinstance(
        backend_object, type(MATH)) else set(vars(backend_object))
    assert not hasattr(type(backend_object), "__getattr__"), f"{label} answers unknown names by __getattr__"
    missing = sorted((_used_names() | set(backend.DECLARED)) - defined)
    assert not missing, f"the {label} backend does not define: {', '.join(missing)}"


@pytest.mark.parametrize("label", ["floats (ops/floats.py MATH)", "rationals (ops/rationals.py RATIONALS)",
                                   "algebra (ops/algebra.py Algebra)"])
def test_scalar_backends_refuse_tensor_functions_with_one_stub(label):
    backend_object = BACKENDS[label]
    stubs = {getattr(backend_object, name) for name in backend.TENSOR_FUNCTIONS}
    assert len(stubs) == 1, f"{label}: the tensor-only names point to more than one function"


# What users get where an op has no exact or symbolic form (tensors).
NO_SYMBOLIC_FORM = "symbolic derivatives and exact arithmetic are for scalar formulas"


def test_every_scalar_op_has_exact_symbolic_and_latex_forms():
    algebra, exact = Algebra(), ops.exact_table()
    arguments = [algebra.variable("x"), algebra.variable("y"), algebra.variable("z")]
    for name, op in OPS.items():
        if op.tensor:
            assert op.algebra is None, f"tensor op {name} claims a symbolic form"
            continue
        assert op.algebra in ("leaf", "arithmetic", "call"), f"op {name}: no symbolic form stated"
        assert name in exact, f"op {name}: no exact form"
        if op.algebra != "call":
            continue
        built = table(algebra)[name].forward(*arguments[:op.arity])
        assert built.kind == name, f"op {name}: the algebra builds {built.kind}, not a {name} node"
        assert op.latex is not None or name == "abs", f"op {name}: no LaTeX form (abs alone is |x|)"


def test_tensor_ops_have_no_exact_form_and_say_so():
    from cgraph_cli.errors import UsageError

    with pytest.raises(UsageError, match=NO_SYMBOLIC_FORM):
        Algebra().matmul(1, 2)
    with pytest.raises(UsageError, match="exact arithmetic is for scalar formulas"):
        RATIONALS.matmul(1, 2)


def test_exact_values_at_zero_are_the_functions_values():
    for name, value in backend.EXACT_AT_ZERO.items():
        assert OPS[name].forward(0.0) == float(value), name
        assert RATIONALS.__getattribute__(name)(value * 0) == value, name


# ----- the views equal the literal lists they replaced (ops.py, symbolic.py, formula.py, gradcheck.py at
# 89cf209), with the two functions added since: sinh and cosh -----

NEW = {"sinh", "cosh"}


# The views as they stood when they were literal lists (issue 9): every entry is still there, as it
# was. Rows added since (issue 12's functions) extend them; their own tests pin what they add.
def _extends(view, original):
    if isinstance(view, dict):
        assert {k: view.get(k) for k in original} == dict(original)
    else:
        assert set(original) <= set(view), sorted(set(original) - set(view))


def test_functions_view():
    _extends(ops.FUNCTIONS, {
        "exp": "exp", "log": "log", "ln": "log", "log2": "log2", "log10": "log10", "sqrt": "sqrt",
        "abs": "abs", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh",
        "sigmoid": "sigmoid", "relu": "relu", "max": {1: "reduce_max", 2: "max"},
        "min": {1: "reduce_min", 2: "min"},
        "pow": "pow", "sign": "sign",
        "matmul": "matmul", "dot": "dot", "transpose": "transpose", "sum": "sum", "mean": "mean",
        "softmax": "softmax", "log_softmax": "log_softmax", "cross_entropy": "cross_entropy",
        "softmax_cross_entropy": "softmax_cross_entropy",
        "sinh": "sinh", "cosh": "cosh",
    })


def test_keywords_and_tensor_ops_views():
    for op in ("sum", "mean", "reduce_max", "softmax", "log_softmax"):
        assert "axis" in ops.KEYWORDS[op]
    _extends(ops.TENSOR_OPS, {"stack", "index", "matmul", "dot", "transpose", "sum", "mean", "reduce_max",
                              "softmax", "log_softmax", "cross_entropy", "softmax_cross_entropy"})


def test_symbolic_views():
    functions = frozenset({"exp", "log", "log2", "log10", "sin", "cos", "tan", "tanh", "sigmoid",
                           "relu", "abs", "sign", "max", "min"})
    _extends(ops.SYMBOLIC_FUNCTIONS, functions | NEW)
    _extends(ops.SCALAR_OPS, functions | NEW | {"var", "const", "add", "sub", "mul", "div", "pow", "neg",
                                                "pos", "sqrt"})
    assert not ops.SCALAR_OPS & ops.TENSOR_OPS


def test_latex_view():
    _extends(ops.LATEX, {
        "exp": r"\exp", "log": r"\ln", "log2": r"\log_{2}", "log10": r"\log_{10}", "sin": r"\sin",
        "cos": r"\cos", "tan": r"\tan", "tanh": r"\tanh", "sigmoid": r"\sigma",
        "relu": r"\operatorname{relu}", "sign": r"\operatorname{sign}", "max": r"\max", "min": r"\min",
        "sinh": r"\sinh", "cosh": r"\cosh",
    })


def test_jumps_exact_values_and_infix_views():
    from fractions import Fraction

    from cgraph_cli import gradcheck

    from cgraph_cli.ops.backend import EXACT_AT_ZERO

    _extends(ops.JUMPS, {"sign"})
    exp, sin, cos, tan, tanh, sigmoid = 1, 0, 1, 0, 0, Fraction(1, 2)
    _extends(EXACT_AT_ZERO, {"exp": exp, "sin": sin, "cos": cos, "tan": tan, "tanh": tanh,
                             "sigmoid": sigmoid, "sinh": 0, "cosh": 1})
    _extends(ops.INFIX, {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"})


# ----- sinh and cosh, added through the rows alone: every command, against central differences -----

import json  # noqa: E402
import math  # noqa: E402

from cli_run import cgraph  # noqa: E402

X, Y, H = 0.5, 1.0, 1e-6


def _f(x, y):
    return math.sinh(x) * math.cosh(y)


def _central(f, x, y, which):
    if which == "x":
        return (f(x + H, y) - f(x - H, y)) / (2 * H)
    return (f(x, y + H) - f(x, y - H)) / (2 * H)


def test_sinh_cosh_eval_and_grad_against_central_differences():
    result = cgraph("eval", "sinh(x)*cosh(y)", "--x", X, "--y", Y, "--format", "json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["value"] == pytest.approx(_f(X, Y), rel=1e-12)
    for name in ("x", "y"):
        assert document["gradients"][name] == pytest.approx(_central(_f, X, Y, name), rel=1e-6)
    grad = cgraph("grad", "sinh(x)*cosh(y)", "--x", X, "--y", Y)
    assert grad.code == 0 and f"{_central(_f, X, Y, 'x'):.6g}"[:6] in grad.out


def test_sinh_cosh_on_tensors():
    result = cgraph("eval", "sum(sinh(v) + cosh(v))", "--v", "[0.5, 1]", "--format", "json")
    assert result.code == 0, result.err
    gradient = json.loads(result.out)["gradients"]["v"]
    assert gradient == pytest.approx([math.cosh(v) + math.sinh(v) for v in (0.5, 1.0)], rel=1e-12)


def test_sinh_cosh_exact_at_zero_and_exact_auto():
    exact = cgraph("eval", "sinh(x) + cosh(x)", "--x", "0", "--exact", "--format", "json")
    assert exact.code == 0, exact.err
    assert '"value": 1' in exact.out
    auto = cgraph("eval", "sinh(x) + cosh(x)", "--x", "1", "--exact-auto", "--format", "json")
    assert auto.code == 0
    assert "sinh(1) is not rational" in auto.err and "cosh(1) is not rational" in auto.err
    assert json.loads(auto.out)["gradients"]["x"] == pytest.approx(math.e, rel=1e-12)


def test_sinh_cosh_diff_latex_hessian_gradcheck():
    assert cgraph("diff", "sinh(x)*cosh(x)").out.strip() == "d/dx = sinh(x)^2 + cosh(x)^2"
    latex = cgraph("diff", "sinh(x)^2", "--latex")
    assert latex.code == 0 and r"2 \sinh\left(x\right) \cosh\left(x\right)" in latex.out
    hessian = cgraph("hessian", "sinh(x)*cosh(y)", "--x", X, "--y", Y, "--format", "json")
    assert hessian.code == 0, hessian.err
    rows = json.loads(hessian.out)["hessian"]
    dx = lambda x, y: math.cosh(x) * math.cosh(y)   # noqa: E731  (d/dx, by hand)
    assert rows["x"]["y"] == pytest.approx(_central(dx, X, Y, "y"), rel=1e-6)
    assert rows["x"]["x"] == pytest.approx(_central(dx, X, Y, "x"), rel=1e-6)
    check = cgraph("gradcheck", "sinh(x)*cosh(y)", "--x", X, "--y", Y)
    assert check.code == 0 and "2 ok, 0 failed" in check.out
