"""The Python API (`import cgraph_cli as cg`, cgraph_cli.testing): every public function against
values computed here (math formulas, central finite differences) and against the CLI's own output,
every error class, the host interpreter's state left alone, and the notebook representations."""

import gc
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgraph_cli as cg
from cgraph_cli import cli, errors
from cgraph_cli.testing import assert_formula, assert_gradients
from conftest import run_cgraph
from seeds import STAGED, staged_reference

ROOT = Path(__file__).resolve().parents[1]
RTOL, ATOL = 1e-9, 1e-12
HAS_DOT = shutil.which("dot") is not None


def close(got, expected, rtol=RTOL, atol=ATOL) -> bool:
    return bool(numpy.allclose(numpy.asarray(got, float), numpy.asarray(expected, float), rtol=rtol, atol=atol))


def central(f, point: dict, name: str, h: float = 1e-6) -> float:
    """d f / d name at point by central differences (f: a plain Python function of keywords)."""
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (f(**up) - f(**down)) / (2 * h)


def neuron(w0, w1, w2, x0, x1):
    return 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


NEURON = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
values = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


# ----------------------------------------------------------------------------- evaluate

def test_evaluate_the_readme_example_value_gradients_and_nodes():
    r = cg.evaluate("(x+y)*z", x=1, y=3, z=-3)
    assert r.value == -12.0
    assert r.gradients == {"x": -3.0, "y": -3.0, "z": 4.0}   # dz = x + y, dx = dy = z
    assert [(n.id, n.op, n.text, n.value, n.grad) for n in r.nodes] == [
        (0, "var", "x", 1.0, -3.0), (1, "var", "y", 3.0, -3.0), (2, "var", "z", -3.0, 4.0),
        (3, "add", "x+y", 4.0, -3.0), (4, "mul", "(x+y)*z", -12.0, 1.0)]
    assert r.nodes[4].inputs == (3, 2) and r.nodes[0].name == "x" and r.nodes[3].kink is None
    assert r.warnings == []


@settings(max_examples=40, deadline=None)
@given(values, values, values, values, values)
def test_evaluate_matches_the_formula_and_central_differences(w0, w1, w2, x0, x1):
    point = dict(w0=w0, w1=w1, w2=w2, x0=x0, x1=x1)
    r = cg.evaluate(NEURON, point)
    s = neuron(**point)
    assert math.isclose(r.value, s, rel_tol=RTOL, abs_tol=ATOL)
    # the sigmoid's derivative s(1 - s) times the coefficient of each input, written out here
    analytic = {"w0": s * (1 - s) * x0, "w1": s * (1 - s) * x1, "w2": s * (1 - s),
                "x0": s * (1 - s) * w0, "x1": s * (1 - s) * w1}
    for name, g in r.gradients.items():
        assert math.isclose(g, analytic[name], rel_tol=RTOL, abs_tol=ATOL)
        assert math.isclose(g, central(neuron, point, name), rel_tol=1e-6, abs_tol=1e-8)


def test_evaluate_the_staged_program_against_the_hand_written_backward_pass():
    values_, node_grads, expected = staged_reference(3.0, -4.0)
    r = cg.evaluate(STAGED, x=3, y=-4)
    assert close(r.value, values_["f"])
    for name in ("x", "y"):
        assert close(r.gradients[name], expected[name])
    named = {n.name: n for n in r.nodes if n.name}
    for name, g in node_grads.items():
        if name in named:
            assert close(named[name].grad, g)


def test_bindings_as_a_mapping_or_keywords_and_a_variable_named_like_an_option():
    assert cg.evaluate("x*y", {"x": 2, "y": 5}).value == 10.0
    assert cg.evaluate("x*y", {"x": 2, "y": 5}, y=7).value == 14.0    # a keyword wins
    r = cg.evaluate("exact*const + source", {"exact": 2, "const": 3}, source=1)
    assert r.value == 7.0 and r.gradients == {"const": 2.0, "exact": 3.0, "source": 1.0}


def test_binding_values_of_every_python_kind():
    weights = numpy.array([[1.0, 2.0], [3.0, 4.0]])
    r = cg.evaluate("sum(W @ v) + a + b + c + d", W=weights, v=(1, -1), a=Fraction(1, 4), b=numpy.float32(0.5),
                    c="1/4", d=numpy.int64(2))
    assert r.value == (1 - 2) + (3 - 4) + 0.25 + 0.5 + 0.25 + 2
    assert close(r.gradients["W"], [[1, -1], [1, -1]]) and close(r.gradients["v"], [4, 6])
    r.gradients["W"][0, 0] = 99.0
    assert weights[0, 0] == 1.0   # the caller's array was copied, never aliased
    assert close(cg.evaluate("sum(x^2)", x=[[1, 2], [3, 4]]).gradients["x"], [[2, 4], [6, 8]])


@pytest.mark.parametrize("value, words", [
    (True, "expected a number"), (math.nan, "not a finite"), (math.inf, "not a finite"), (10 ** 400, "not a finite"),
    ([[1, 2], [3]], "ragged"), ([], "empty"), ([1, "a"], "tensor elements must be numbers"),
    ([True, False], "got true"), ([1, math.nan], "finite"), ("abc", "expected a number"), ({"a": 1}, "got dict"),
])
def test_bad_binding_values_are_binding_errors(value, words):
    with pytest.raises(cg.BindingError) as caught:
        cg.evaluate("sum(x)", x=value)
    assert words in str(caught.value) and caught.value.exit_code == 2


def test_misused_arguments_are_type_or_value_errors():
    with pytest.raises(TypeError):
        cg.evaluate(42)
    with pytest.raises(TypeError):
        cg.evaluate("x", [("x", 1)])
    with pytest.raises(ValueError):
        cg.evaluate("x", x=1, exact="maybe")
    with pytest.raises(cg.BindingError):
        cg.evaluate("x", {"not a name": 1, "x": 1})


def test_const_and_kinks_and_unused_keyword_notes():
    r = cg.evaluate("softmax_cross_entropy(a, t)", a=[0.3, 2.9, 4.0], t=[0, 0, 1], const="t")
    e = numpy.exp([0.3, 2.9, 4.0])
    assert close(r.gradients["a"], e / e.sum() - [0, 0, 1]) and "t" not in r.gradients
    assert [n.grad for n in r.nodes if n.name == "t"] == [None]
    kinked = cg.evaluate("relu(x) + y", x=0, y=1, unused=3)
    assert [n.kink for n in kinked.nodes if n.op == "relu"][0]   # the convention met at x = 0
    assert kinked.warnings == ["unused is bound but not used in the formula"]
    assert cg.evaluate("x + y", {"x": 1, "y": 2, "spare": 3}).warnings == []   # a mapping: like --vars
    assert cg.evaluate("sqrt(x)", x=0).warnings   # an infinite local derivative: data, not printed


def test_exact_arithmetic():
    r = cg.evaluate("price*count*tax", price=100, count=2, tax=2.2, exact=True)
    assert r.value == 440 and r.gradients == {"count": 220, "price": Fraction(22, 5), "tax": 200}
    assert isinstance(r.gradients["price"], Fraction)
    with pytest.raises(cg.EvalError):
        cg.evaluate("exp(x)", x=1, exact=True)
    auto = cg.evaluate("exp(x)", x=1, exact="auto")
    assert math.isclose(auto.value, math.e, rel_tol=RTOL) and auto.warnings


def test_steps_carry_the_rules_and_end_at_the_gradients():
    r = cg.evaluate("q = x + y; f = q*z", x=-2, y=5, z=-4)
    steps = r.steps()
    assert [s["text"] for s in steps] == ["f = q*z", "q = x + y", "z", "y", "x"]
    first = steps[0]["inputs"]
    assert [(i["local_rule"], i["local"], i["sent"]) for i in first] == [("z", -4.0, -4.0), ("q", 3.0, 3.0)]
    finals = {s["name"]: s["upstream"] for s in steps if s["op"] == "var"}
    assert finals == r.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert [t["statement"] for t in r.trace()] == ["q = x + y", "f = q*z"]


@pytest.mark.parametrize("args, kwargs", [
    (("(x+y)*z", "--x", 1, "--y", 3, "--z", -3), dict(x=1, y=3, z=-3)),
    (("relu(x)*y", "--x", 0, "--y", "1/3", "--w", 2), dict(x=0, y="1/3", w=2)),
    (("sqrt(x)", "--x", 0), dict(x=0)),
    (("sum(relu(X @ W + b))", "--X", "[[1,2],[3,-4]]", "--W", "[[0.5,-1],[2,0.25]]", "--b", "[0.1,-0.2]"),
     dict(X=[[1, 2], [3, -4]], W=[[0.5, -1], [2, 0.25]], b=[0.1, -0.2])),
    (("softmax_cross_entropy(a, t)", "--a", "[0.3,2.9,4.0]", "--t", "[0,0,1]", "--const", "t"),
     dict(a=[0.3, 2.9, 4.0], t=[0, 0, 1], const=["t"])),
    (("a*X", "--a", 2, "--X", "[1,2,3]"), dict(a=2, X=[1, 2, 3])),
    (("price*count*tax", "--price", 100, "--count", 2, "--tax", 1.1, "--exact"),
     dict(price=100, count=2, tax=1.1, exact=True)),
])
def test_to_json_is_exactly_the_cli_document(args, kwargs):
    cli_out = run_cgraph("eval", *args, "--format", "json")
    assert cli_out.code == 0, cli_out.err
    assert cg.evaluate(args[0], **kwargs).to_json() == cli_out.out
    steps = run_cgraph("eval", *args, "--format", "json", "--steps")
    assert cg.evaluate(args[0], **kwargs).to_json(steps=True) == steps.out
    assert cg.evaluate(args[0], **kwargs).to_json(precision=3) == run_cgraph(
        "eval", *args, "--format", "json", "--precision", 3).out


# ----------------------------------------------------------------------------- pictures

def test_graph_text_formats_are_the_cli_s():
    r = cg.evaluate("(x+y)*z", x=1, y=3, z=-3)
    for fmt in ("dot", "mermaid"):
        drawing = r.graph(fmt)
        expected = run_cgraph("graph", "(x+y)*z", "--x", 1, "--y", 3, "--z", -3, "--to", fmt).out
        assert str(drawing).rstrip("\n") == expected.rstrip("\n") and drawing.format == fmt
    assert r.graph("mermaid")._repr_markdown_().startswith("```mermaid\n")
    local = str(r.graph("dot", local=True))
    assert "∂" in local   # each edge carries its rule
    with pytest.raises(ValueError):
        r.graph("gif")


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")
def test_graph_images_and_their_notebook_reprs(tmp_path):
    r = cg.evaluate("(x+y)*z", x=1, y=3, z=-3)
    svg = r.graph("svg")
    assert svg._repr_svg_().lstrip().startswith("<?xml") and "<svg" in svg._repr_svg_()
    assert svg._repr_png_() is None
    png = r.graph("png")
    assert png._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n" and png._repr_svg_() is None
    assert "<svg" in r.graph("dot")._repr_svg_()   # a DOT drawing is shown as an image too
    png.save(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes() == png.data
    few = cg.evaluate("a+b+c+d+e", a=1, b=2, c=3, d=4, e=5).graph("svg", max_nodes=2)
    assert few.warnings and "left out" in few.warnings[0]


def test_without_graphviz_images_raise_and_dot_shows_as_text(monkeypatch):
    monkeypatch.setenv("PATH", "")
    r = cg.evaluate("x*y", x=1, y=2)
    drawing = r.graph("dot")
    assert drawing._repr_svg_() is None and "digraph" in repr(drawing)
    with pytest.raises(cg.CgraphError) as caught:
        r.graph("svg")
    assert "Graphviz" in str(caught.value)


# ----------------------------------------------------------------------------- grad, diff, hessian

@settings(max_examples=30, deadline=None)
@given(values, values)
def test_grad_every_variable_one_and_an_assigned_name(x, y):
    source = "q = x*y; sin(q) + x"
    everything = cg.grad(source, x=x, y=y)
    assert math.isclose(everything["x"], math.cos(x * y) * y + 1, rel_tol=RTOL, abs_tol=ATOL)
    assert math.isclose(everything["y"], math.cos(x * y) * x, rel_tol=RTOL, abs_tol=ATOL)
    f = lambda x, y: math.sin(x * y) + x   # noqa: E731
    assert math.isclose(everything["y"], central(f, {"x": x, "y": y}, "y"), rel_tol=1e-6, abs_tol=1e-8)
    assert math.isclose(everything.value, f(x, y), rel_tol=RTOL, abs_tol=ATOL)
    assert list(cg.grad(source, x=x, y=y, wrt="y")) == ["y"]
    assert math.isclose(cg.grad(source, x=x, y=y, wrt=["q"])["q"], math.cos(x * y), rel_tol=RTOL, abs_tol=ATOL)


def test_grad_errors_and_warnings():
    with pytest.raises(cg.BindingError) as caught:
        cg.grad("x*y", x=1, y=2, wrt="z")
    assert "z" in str(caught.value)
    with pytest.raises(cg.UsageError):
        cg.grad("x*t", x=1, t=2, const=["t"], wrt="t")
    assert cg.grad("sqrt(x) + y", x=0, y=1, z=3).warnings[-1] == "z is bound but not used in the formula"


def test_diff_formulas_evaluate_to_the_gradient():
    d = cg.diff("sigmoid(x)*y + x^3")
    assert str(d) == run_cgraph("diff", "sigmoid(x)*y + x^3").out
    assert d.latex == run_cgraph("diff", "sigmoid(x)*y + x^3", "--latex").out
    for x, y in [(0.3, -2.0), (-1.7, 0.5)]:
        s = 1 / (1 + math.exp(-x))
        assert close(cg.evaluate(d["x"], x=x, y=y).value, s * (1 - s) * y + 3 * x ** 2)
        assert close(cg.evaluate(d.formulas["y"], x=x, y=y).value, s)
    assert cg.diff("x^3*y^2", "x", order=2).formulas == {"x": "6*x*y^2"}
    assert cg.diff("x*y", "x", y=3).formulas == {"x": "3"}
    assert cg.diff("x/3", "x", exact=True).formulas == {"x": "1/3"}
    assert cg.diff("q = x*y; q^2", "q").formulas == {"q": "2*x*y"}   # an assigned name, as --wrt q


def test_diff_latex_repr_and_errors():
    one = cg.diff("x^2", "x")
    assert one._repr_latex_() == "$$" + one.latex.strip() + "$$"
    two = cg.diff("x*y")._repr_latex_()
    assert two.startswith("$$\\begin{gathered}") and two.count("\\frac") == 2
    with pytest.raises(cg.BindingError):
        cg.diff("x*y", "z")
    with pytest.raises(cg.UsageError):
        cg.diff("sum(x)", "x", x=[1, 2])
    with pytest.raises(ValueError):
        cg.diff("x", "x", order=0)


@settings(max_examples=25, deadline=None)
@given(values, values)
def test_hessian_matches_the_second_derivatives(x, y):
    h = cg.hessian("x^3*y^2 + sin(x*y)", x=x, y=y)
    s, c = math.sin(x * y), math.cos(x * y)
    expected = [[6 * x * y ** 2 - y * y * s, 6 * x ** 2 * y + c - x * y * s],
                [6 * x ** 2 * y + c - x * y * s, 2 * x ** 3 - x * x * s]]
    assert h.variables == ["x", "y"]
    assert close(h.rows, expected, rtol=1e-9, atol=1e-9) and close(h["x", "y"], expected[0][1], atol=1e-9)


def test_hessian_json_is_the_cli_s_and_exact_and_wrt():
    h = cg.hessian("x^3*y^2", x=1, y=2)
    assert h.to_json() == run_cgraph("hessian", "x^3*y^2", "--x", 1, "--y", 2, "--format", "json").out
    assert repr(h) == run_cgraph("hessian", "x^3*y^2", "--x", 1, "--y", 2, "--format", "plain").out.rstrip("\n")
    assert cg.hessian("(x+y)^2", x="1/3", y=1, exact=True).rows == [[2, 2], [2, 2]]
    assert cg.hessian("x^2*y", x=1, y=2, wrt="x").rows == [[4.0]]
    with pytest.raises(cg.UsageError):
        cg.hessian("q = x*y; q^2", x=1, y=2, wrt="q")
    with pytest.raises(cg.BindingError):
        cg.hessian("x*y", x=1, y=2, wrt="z")
    assert "24" in h._repr_html_()


# ----------------------------------------------------------------------------- check

def test_check_runs_a_cases_file(tmp_path):
    cases = ROOT / "examples" / "course-check" / "cases.toml"
    report = cg.check(cases)
    expected = run_cgraph("check", cases, "--format", "json")
    assert report.to_json() == expected.out
    assert report.passed == (expected.code == 0) and report.results and not report.failed
    assert "<testsuites" in report.to_junit()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[case]]\nname = "a"\nexpr = "x*y"\nvars = { x = 1, y = 2 }\nvalue = 3\n'
                   '[[case]]\nname = "b"\nexpr = "x"\nvars = { x = 1, z = 2 }\nvalue = 1\n')
    report = cg.check(bad)
    assert not report.passed and [r.case.name for r in report.failed] == ["a"]
    assert report.warnings == ["case b: z is bound but not used in the formula"]
    bad.write_text("[[case]]\nnmae = 1\n")
    with pytest.raises(cg.UsageError) as caught:
        cg.check(bad)
    assert caught.value.exit_code == 2 and "nmae" in str(caught.value)


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("source, bindings, cls, code", [
    ("x + * 2", {"x": 1}, "ParseError", 2),
    ("x*y", {"x": 1}, "BindingError", 2),
    ("log(x)", {"x": -1}, "EvalError", 3),
    ("[1, 2] @ [[1, 2, 3]]", {}, "EvalError", 3),
    ("x*t", {"x": 1, "t": 2, "const": ["u"]}, "UsageError", 2),
])
def test_errors_are_the_cli_s_classes_messages_and_exit_codes(source, bindings, cls, code):
    bindings = dict(bindings)
    const = bindings.pop("const", ())
    with pytest.raises(getattr(cg, cls)) as caught:
        cg.evaluate(source, bindings, const=const)
    error = caught.value
    assert isinstance(error, cg.CgraphError) and error.exit_code == code
    words = [w for pair in bindings.items() for w in (f"--{pair[0]}", pair[1])]
    words += [w for name in const for w in ("--const", name)]
    result = run_cgraph("eval", source, *words)
    assert result.code == code and result.err == f"cgraph: {error.kind}: {error}\n"


def test_a_parse_error_comes_before_a_bad_binding_and_notes_match_the_cli():
    """The API reads the bindings before it builds the common formula at once: a parse error still
    comes first, a bad value next; an unused keyword draws the note either way."""
    with pytest.raises(cg.ParseError):
        cg.evaluate("x +", x="not a number")
    with pytest.raises(cg.ParseError):
        cg.evaluate("x +", {1: 2})
    with pytest.raises(TypeError):
        cg.evaluate("x", {1: 2})
    with pytest.raises(cg.BindingError):
        cg.evaluate("x * 2", x="not a number")
    for source in ["x * 2", "x[0] * 2 + max(x[0], 1)"]:   # at once, and through the syntax tree
        result = cg.evaluate(source, x=[3.0] if "[" in source else 3.0, y=1.0)
        assert result.warnings == ["y is bound but not used in the formula"]


def test_parse_error_line_column_and_caret():
    with pytest.raises(cg.ParseError) as caught:
        cg.evaluate("a = 1\nb = a +* 2")
    error = caught.value
    assert (error.line, error.column) == (2, 8)
    assert error.caret == "  b = a +* 2\n         ^"
    assert cg.ParseError("no position here").line is None


def test_the_error_hierarchy_and_exit_codes_are_kept():
    assert cg.EvalError is errors.EvalError and cg.CgraphError is errors.CgraphError
    for cls in (cg.ParseError, cg.BindingError, cg.EvalError, cg.UsageError, cg.CheckFailed):
        assert issubclass(cls, cg.CgraphError)
    assert [int(c.exit_code) for c in (cg.ParseError, cg.BindingError, cg.UsageError, cg.EvalError,
                                       cg.CheckFailed)] == [2, 2, 2, 3, 1]
    with pytest.raises(AttributeError):
        cg.no_such_name


# ----------------------------------------------------------------------------- the host's state

def test_the_api_leaves_the_interpreter_alone(capfd):
    capfd.readouterr()
    handler = signal.getsignal(signal.SIGINT)
    stdout, stderr = sys.stdout, sys.stderr
    stream_errors = (getattr(sys.stdout, "errors", None), getattr(sys.stderr, "errors", None))
    digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            cg.evaluate("relu(x)*y", x=0, y=2, spare=1)._repr_html_()
            cg.grad("x*y", x=1, y=2)
            cg.diff("x^2")._repr_latex_()
            cg.hessian("x^2*y", x=1, y=2)
            cg.check(ROOT / "examples" / "course-check" / "cases.toml")
            with pytest.raises(cg.CgraphError):
                cg.evaluate("log(x)", x=-1)
            with pytest.raises(cg.ParseError):
                cg.evaluate("x +")
            with pytest.raises(AssertionError):
                assert_gradients("x*y", {"x": 3}, x=1, y=2)
            assert gc.isenabled() == enabled
        finally:
            gc.enable()
    assert signal.getsignal(signal.SIGINT) is handler
    assert sys.stdout is stdout and sys.stderr is stderr
    assert (getattr(sys.stdout, "errors", None), getattr(sys.stderr, "errors", None)) == stream_errors
    if digits is not None:
        assert sys.get_int_max_str_digits() == digits
    assert capfd.readouterr() == ("", "")   # nothing printed


def test_cli_main_in_process_restores_gc_and_the_signal_handler(capsys):
    handler = signal.getsignal(signal.SIGINT)
    assert gc.isenabled()
    with pytest.raises(SystemExit) as caught:   # main is the console script: it exits
        cli.main(["eval", "x*y", "--x", "2", "--y", "3", "--format", "json"])
    assert caught.value.code == 0
    assert gc.isenabled() and signal.getsignal(signal.SIGINT) is handler
    assert json.loads(capsys.readouterr().out)["value"] == 6
    gc.disable()
    try:
        with pytest.raises(SystemExit):
            cli.main(["eval", "log(x)", "--x", "-1"])
        assert not gc.isenabled()   # as it was
    finally:
        gc.enable()


def test_import_is_lazy_and_rich_and_numpy_load_only_when_used():
    code = ("import sys, cgraph_cli as cg\n"
            "before = sorted(m for m in sys.modules if m.startswith(('cgraph_cli', 'click', 'rich', 'numpy', 'lark')))\n"
            "r = cg.evaluate('(x+y)*z', x=1, y=3, z=-3)\n"
            "after = sorted(m for m in ('rich', 'numpy', 'click') if m in sys.modules)\n"
            "html = r._repr_html_()\n"
            "print(before, after, 'rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "CGRAPH_NO_CACHE": ""}).stdout
    assert out.strip() == "['cgraph_cli'] [] True"


# ----------------------------------------------------------------------------- notebook display

def test_repr_html_is_the_tree_and_the_gradient_table_with_colours():
    html = cg.evaluate("(x+y)*z", x=1, y=3, z=-3)._repr_html_()
    assert html.startswith("<pre") and "style=\"color:" in html.replace("style=\"color: ", "style=\"color:")
    for text in ("(x+y)*z", "mul", "-12", "Gradients of the inputs", "d(output)/d(input)", ">4<", ">-3<"):
        assert text in html
    long_name = "a_rather_long_variable_name_" * 6
    wide = cg.evaluate(f"({long_name} + y)*z", {long_name: 1, "y": 3, "z": -3})._repr_html_()
    assert f"{long_name} + y" in wide   # no 80-column cut-off
    tensor = cg.evaluate("sum(W*x)", W=[[1.5, 2], [3, 4]], x=[1, 2])._repr_html_()
    assert "1.5" in tensor and "Gradients of the inputs" in tensor
    assert "value=-12" in repr(cg.evaluate("(x+y)*z", x=1, y=3, z=-3))


def test_the_notebook_example_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "examples" / "notebook" / "cgraph.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "examples" / "notebook")}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert html and "-12" in html[0] and "Gradients of the inputs" in html[0]
    assert any("text/latex" in o.get("data", {}) for o in outputs)
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "grad x: your answer 3; correct -3" in printed


# ----------------------------------------------------------------------------- cgraph_cli.testing

def test_assert_gradients_passes_and_fails_in_the_student_s_terms():
    assert_gradients("(x+y)*z", {"x": -3, "y": -3, "z": 4}, x=1, y=3, z=-3)
    assert_gradients(NEURON, {"w0": -0.196}, rtol=1e-2, w0=2, w1=-3, w2=-3, x0=-1, x1=-2)
    with pytest.raises(AssertionError) as caught:
        assert_gradients("(x+y)*z", {"x": 3, "y": "-3", "z": "four"}, x=1, y=3, z=-3)
    assert str(caught.value).splitlines() == [
        "grad x: your answer 3; correct -3 (the sign is wrong)",
        "grad z: your answer 'four', which is not a number; correct 4"]
    with pytest.raises(AssertionError) as caught:
        assert_gradients("sum(W*x)", {"W": [[1, 2], [3, 4]]}, W=[[1, 2], [3, 4]], x=[1, 2])
    assert str(caught.value) == ("grad W: your answer [[1, 2], [3, 4]]; correct [[1, 2], [1, 2]] "
                                 "(that is the value of W, not its gradient)")
    with pytest.raises(cg.BindingError):   # the reference program's error is the teacher's: raised
        assert_gradients("x*y", {"x": 1}, x=1)


def test_assert_formula():
    assert_formula("x^2*y", "x", "2*x*y", x=3, y=2)
    assert_formula("sigmoid(x)", "x", "sigmoid(x)*(1 - sigmoid(x))", x=0.7)
    with pytest.raises(AssertionError) as caught:
        assert_formula("x^2*y", "x", "x*y", x=3, y=2)
    assert str(caught.value) == ("d/dx: your formula x*y gives 6 at x = 3, y = 2; correct 12 (that is the "
                                 "local derivative of x^2 with respect to x: the upstream gradient is missing)")
    with pytest.raises(AssertionError) as caught:
        assert_formula("x^2*y", "x", "2*x*q", x=3, y=2)
    assert "uses q, which the problem does not define" in str(caught.value)
    with pytest.raises(AssertionError) as caught:
        assert_formula("x^2*y", "x", "2*x*", x=3, y=2)
    assert "parse error" in str(caught.value) and "column 5" in str(caught.value)


# ----------------------------------------------------------------------------- the package

def test_public_names_type_hints_and_py_typed_in_the_wheel(tmp_path):
    import typing

    for name in ("evaluate", "grad", "diff", "hessian", "check"):
        hints = typing.get_type_hints(getattr(cg, name))
        assert "return" in hints and "source" in hints or name == "check"
    assert set(cg.__all__) <= set(dir(cg))
    wheel_builder = pytest.importorskip("hatchling.builders.wheel")
    wheels = list(wheel_builder.WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert {"cgraph_cli/py.typed", "cgraph_cli/api.py", "cgraph_cli/testing.py"} <= set(names)


# ----------------------------------------------------------------------------- forward mode, jacobian, walk-through

@settings(max_examples=30, deadline=None)
@given(values, values, values, values)
def test_tangents_are_directional_derivatives(x, y, dx, dy):
    source = "q = x*y; sin(q) + x"
    r = cg.evaluate(source, x=x, y=y, tangent={"x": dx, "y": dy})
    expected = (math.cos(x * y) * y + 1) * dx + math.cos(x * y) * x * dy   # the gradient · the direction
    assert math.isclose(r.tangent, expected, rel_tol=RTOL, abs_tol=1e-11)
    along = lambda t: math.sin((x + t * dx) * (y + t * dy)) + x + t * dx   # noqa: E731
    assert math.isclose(r.tangent, (along(1e-6) - along(-1e-6)) / 2e-6, rel_tol=1e-5, abs_tol=1e-7)
    assert r.tangents[-1] == r.tangent and r.nodes[2].tangent == r.tangents[2]
    assert math.isclose(r.nodes[2].tangent, dx * y + x * dy, rel_tol=RTOL, abs_tol=1e-11)   # q's


def test_tangent_json_exact_tensors_and_errors():
    args = ("q = x*y; sin(q) + x", "--x", 1, "--y", 2, "--tangent", "x=1", "--format", "json")
    assert cg.evaluate(args[0], x=1, y=2, tangent={"x": 1}).to_json() == run_cgraph("eval", *args).out
    assert cg.evaluate("x*y", x="1/3", y=2, tangent={"y": "1/2"}, exact=True).tangent == Fraction(1, 6)
    r = cg.evaluate("sum(W @ v)", W=[[1, 2], [3, 4]], v=[1, 1], tangent={"v": [1, 0]})
    assert r.tangent == 4.0 and cg.evaluate("x", x=1).tangent is None
    for tangent, cls, words in [({"z": 1}, cg.BindingError, "no variable z"),
                                ({"v": 1}, cg.BindingError, "the tangent is a scalar but v is shape (2,)"),
                                ({"W": [[1, 0], [0, 1]]}, cg.UsageError, "W is data")]:
        with pytest.raises(cls) as caught:
            cg.evaluate("sum(W @ v)", W=[[1, 2], [3, 4]], v=[1, 1], tangent=tangent, const=["W"])
        assert words in str(caught.value)


def test_jacobian_of_softmax_against_its_formula():
    a = [0.5, -1.0, 2.0]
    j = cg.jacobian("softmax(a)", a=a)
    s = numpy.exp(a) / numpy.exp(a).sum()
    assert close(j["a"], numpy.diag(s) - numpy.outer(s, s)) and close(j.value, s)
    assert j.mode in ("reverse", "forward") and j.passes == 3 and j.variables == ["a"]
    forward = cg.jacobian("softmax(a)", a=a, mode="forward")
    assert forward.mode == "forward" and close(forward["a"], j["a"])
    cli_out = run_cgraph("jacobian", "softmax(a)", "--a", "[0.5, -1.0, 2.0]", "--format", "json").out
    assert j.to_json() == cli_out
    assert "0.09" in j._repr_html_() or "0.0" in j._repr_html_()
    with pytest.raises(ValueError):
        cg.jacobian("x", x=1, mode="sideways")
    import cgraph_cli.jacobians   # noqa: F401  the computation's module: cg.jacobian stays the function
    assert callable(cg.jacobian) and cg.jacobian("x*y", x=1, y=2).jacobians == {"x": 2.0, "y": 1.0}
    with pytest.raises(cg.UsageError):
        cg.jacobian("q = x*y; q", x=1, y=2, wrt="q")


def test_graph_html_is_the_walk_through_page():
    r = cg.evaluate("q = x + y; f = q*z", x=-2, y=5, z=-4)
    page = r.graph("html")
    expected = run_cgraph("graph", "q = x + y; f = q*z", "--x", -2, "--y", 5, "--z", -4, "--to", "html").out
    assert page.data.rstrip("\n") == expected.rstrip("\n")
    framed = page._repr_html_()
    assert framed.startswith("<iframe srcdoc=") and "&lt;html" in framed
    assert r.graph("dot")._repr_html_() is None


def test_grade_a_class_as_the_cli_does(tmp_path):
    folder = ROOT / "examples" / "grading"
    report = cg.grade(folder / "key.toml", folder / "answers.csv")
    cli_out = run_cgraph("grade", folder / "key.toml", folder / "answers.csv", "--format", "json")
    assert report.to_json() == cli_out.out
    document = json.loads(cli_out.out)
    assert report.scores == {s["student"]: s["score"] for s in document["students"]}
    assert report.render("csv") == run_cgraph("grade", folder / "key.toml", folder / "answers.csv",
                                              "--format", "csv").out
    assert report.warnings and "section" in report.warnings[0]   # the CLI's note, as data
    assert "mean" in repr(report) and "<pre" in report._repr_html_()
    bad = tmp_path / "key.toml"
    bad.write_text("[[question]]\nid = \"a\"\nexpr = \"x\"\nvars = { x = 1 }\nask = \"grad x\"\npoints = -1\n")
    with pytest.raises(cg.UsageError):
        cg.grade(bad, folder / "answers.csv")
