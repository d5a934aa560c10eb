"""Fuzz tests: generated programs, bindings and byte mutations against the README's promises, and a
differential property against independent evaluators written here (tests/fuzzing.py has the generators).

The promises (README, "Exit codes" and "Output formats"): the exit code is one of 0 1 2 3 130 141, never
70; no Python traceback; exit 2 or 3 is one message on stderr starting with `cgraph:` and nothing on
stdout (except the other lines of an --each-line batch); JSON formats print strict JSON (no bare NaN or
Infinity). Runs are in-process through cgraph_cli.cli._run, standard input given as bytes.

CGRAPH_FUZZ_EXAMPLES=N sets every test's example count to N and draws fresh random examples (default:
300-700 examples per test, derandomized, about a minute on 2 cores). Generated text is only ever handed to cgraph.
"""

import json
import math
import os
import sys
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
import fuzzing as F  # noqa: E402

_OVERRIDE = os.environ.get("CGRAPH_FUZZ_EXAMPLES")


def examples(default: int) -> settings:
    count = int(_OVERRIDE) if _OVERRIDE else default
    return settings(max_examples=count, deadline=None, derandomize=not _OVERRIDE,
                    suppress_health_check=list(HealthCheck), database=None)


# A seeded random.Random: the generators draw many small choices, which hypothesis' own (shrinkable)
# HypothesisRandom biases towards the first alternative; the reproducer is printed as a shell line instead.
randoms = st.randoms(use_true_random=True)
commands = st.sampled_from(F.COMMANDS)


def assert_promises(case: F.Case, result: F.Result):
    broken = F.promises(case, result)
    assert not broken, (
        f"{case.label}: {'; '.join(broken)}\nreproducer: {case.shell()}\n"
        f"exit {result.code}\nstdout: {result.out[:600]!r}\nstderr: {result.err[:600]!r}")


def scalar_bindings(r, names) -> list:
    words = []
    for name in names:
        v = r.choice(["1", "-1", "2", "0.5", "-0.5", "1/3", "-2/7", "3", "0", "1e-3", "10", "-4", "7/4"])
        words += [f"--{name}", v] if r.random() < 0.8 else [f"--{name}={v}"]
    return words


# ------------------------------------------------------------------------------------------------
# the promises
# ------------------------------------------------------------------------------------------------

@examples(700)
@given(r=randoms, command=commands)
def test_generated_programs_keep_the_promises(r, command):
    text = F.program(r)
    case = F.command_case(r, command, text, F.binding_words(r, F.names_in(text)))
    assert_promises(case, F.run(case.argv, case.stdin))


@examples(500)
@given(r=randoms, command=commands)
def test_scalar_programs_keep_the_promises(r, command):
    text = F.scalar_program(r)
    case = F.command_case(r, command, text, scalar_bindings(r, F.names_in(text)))
    assert_promises(case, F.run(case.argv, case.stdin))


@examples(700)
@given(r=randoms, command=commands)
def test_mutated_programs_on_stdin_keep_the_promises(r, command):
    text = F.program(r) if r.random() < 0.5 else F.scalar_program(r)
    data = F.mutate(r, text.encode())
    label, words, json_kind = command
    bindings = scalar_bindings(r, F.names_in(text))
    argv = words + bindings + (["-"] if r.random() < 0.3 else [])
    case = F.Case(label, argv, data, json_kind)
    assert_promises(case, F.run(case.argv, case.stdin))


@examples(500)
@given(r=randoms, command=commands)
def test_mutated_programs_as_an_argument_keep_the_promises(r, command):
    text = F.program(r) if r.random() < 0.5 else F.scalar_program(r)
    # argv as the OS gives it to Python: bytes decoded with surrogateescape, no NUL possible
    word = F.mutate(r, text.encode()).replace(b"\x00", b"").decode("utf-8", "surrogateescape")
    label, words, json_kind = command
    bindings = scalar_bindings(r, F.names_in(text))
    argv = words + bindings + ["--", word] if r.random() < 0.6 else words + [word] + bindings
    case = F.Case(label, argv, b"", json_kind)
    assert_promises(case, F.run(case.argv, case.stdin))


@examples(300)
@given(r=randoms, command=st.sampled_from(F.EACH_LINE))
def test_each_line_batches_keep_the_promises(r, command):
    lines = []
    for _ in range(r.randint(1, 5)):
        line = (F.scalar_program(r).replace("\n", "; ") if r.random() < 0.6 else F.program(r, 1, 2))
        line = line.replace("\n", " ").replace("\r", " ")
        data = line.encode()
        if r.random() < 0.4:
            data = F.mutate(r, data)
        lines.append(data)
    label, words, json_kind = command
    stdin = b"\n".join(lines) + r.choice([b"", b"\n", b"\n# comment\n"])
    case = F.Case(label, words + scalar_bindings(r, ["x", "y", "z"]), stdin, json_kind, batch=True)
    result = F.run(case.argv, case.stdin)
    assert_promises(case, result)
    if json_kind == "jsonl" and result.code in (0, 1, 2, 3) and result.out.strip():
        for line in result.out.splitlines():
            record = F.strict_json(line)
            assert "line" in record, line


@examples(500)
@given(r=randoms, command=commands)
def test_odd_bindings_keep_the_promises(r, command):
    text = r.choice(["x*y + z", "x/y", "x^y", "sum(x) * y", "x @ y", "exp(x) + log(y)", "sqrt(x) - z",
                     "max(x, y)", "x[0] + y", "relu(x) * abs(y)", "sigmoid(x - y)", "x", "1/x",
                     "softmax(x)", "mean(x, axis=0)", "dot(x, y)", "transpose(x) @ y", "x^2 + y^-1"])
    names = F.names_in(text)
    bindings = F.binding_words(r, names)
    if r.random() < 0.2:
        bindings += F.binding_words(r, [r.choice(["q", "value", "format", "x"])])   # extra, reserved, twice
    case = F.command_case(r, command, text, bindings)
    assert_promises(case, F.run(case.argv, case.stdin))


@examples(60)
@given(r=randoms, command=commands)
def test_pathological_sizes_keep_the_promises(r, command):
    """Long tokens, deep nesting and huge integers (at most a few thousand characters): documented
    errors, never a crash, and no run longer than 10 s."""
    text, bindings = F.pathological(r, limit=300)
    case = F.command_case(r, command, text, bindings, via=r.choice(["stdin", "dashdash"]))
    assert_promises(case, F.run(case.argv, case.stdin, timeout=10))


# ------------------------------------------------------------------------------------------------
# the differential property
# ------------------------------------------------------------------------------------------------

def _eval_json(argv, stdin: bytes):
    case = F.Case("eval json", argv, stdin, "json")
    result = F.run(argv, stdin)
    assert_promises(case, result)
    return result, (F.strict_json(result.out) if result.code == 0 else None)


@examples(700)
@given(r=randoms, depth=st.integers(1, 4))
def test_rational_programs_agree_with_exact_fractions(r, depth):
    """+ - * / ^ (integer exponents) at rational points: --exact is exactly the Fraction reference,
    float64 is within a tolerance scaled by the magnitudes of the summed terms."""
    tree = F.scalar_tree(r, depth)
    names = F.tree_names(tree)
    point = {name: F.rational_point(r) for name in names}
    text = F.render(r, tree)
    bindings = [w for name, q in point.items() for w in (f"--{name}", F.binding_text(q))]
    try:
        reference = F.evaluate_exact(tree, point)
    except F.Undefined:
        result, _ = _eval_json(["eval", "--exact", "--format", "json", "-f", "-", *bindings], text.encode())
        assert result.code == 3, f"{text} at {point}: exact division by zero, got exit {result.code}"
        return
    assume(abs(reference.v) < 1e300 and all(abs(d) < 1e300 for d in reference.d.values()))
    assume(len(str(reference.v)) < 2000 and all(len(str(d)) < 2000 for d in reference.d.values()))

    result, doc = _eval_json(["eval", "--exact", "--format", "json", "-f", "-", *bindings], text.encode())
    assert result.code == 0, f"{text} at {point}: exit {result.code}: {result.err[:300]}"
    assert F.parse_exact(doc["value"]) == reference.v, (text, point)
    for name in names:
        assert F.parse_exact(doc["gradients"][name]) == reference.d[name], (text, point, name)

    floats = {name: float(q) for name, q in point.items()}
    try:
        dual = F.evaluate_dual(tree, floats)
    except F.Skip:
        return
    result, doc = _eval_json(["eval", "--format", "json", "-f", "-", *bindings], text.encode())
    assert result.code == 0, f"{text} at {point}: exit {result.code}: {result.err[:300]}"
    assert F.close(doc["value"], float(reference.v), dual.m), (text, point, doc["value"], reference.v)
    for name in names:
        got = doc["gradients"][name]
        assert isinstance(got, float) or isinstance(got, int), (text, name, got)
        assert F.close(got, float(reference.d[name]), dual.dm[name]), (text, point, name, got, reference.d[name])


@examples(700)
@given(r=randoms, depth=st.integers(1, 4))
def test_smooth_programs_agree_with_dual_numbers(r, depth):
    """exp log sin cos tanh sqrt sigmoid relu abs max min with the rational operations: value and every
    gradient within 1e-9 of the magnitude of the summed terms (points near a kink or out of the
    reference's domain skipped)."""
    tree = F.scalar_tree(r, depth, functions=True)
    names = F.tree_names(tree)
    point = {name: r.choice([0.5, -0.75, 1.25, 2.0, -1.5, 0.3, 3.0, -2.5, 0.1]) for name in names}
    try:
        reference = F.evaluate_dual(tree, point)
    except F.Skip:
        assume(False)
        return
    text = F.render(r, tree)
    bindings = [w for name, v in point.items() for w in (f"--{name}", repr(v))]
    result, doc = _eval_json(["eval", "--format", "json", "-f", "-", *bindings], text.encode())
    assert result.code == 0, f"{text} at {point}: exit {result.code}: {result.err[:300]}"
    assert F.close(doc["value"], reference.v, reference.m), (text, point, doc["value"], reference.v)
    for name in names:
        got = doc["gradients"][name]
        assert F.close(got, reference.d[name], reference.dm[name]), (text, point, name, got, reference.d[name])


def test_the_reference_evaluators_agree_with_hand_derived_values():
    """The references themselves: d/dx (x+y)^2 = 2(x+y); d/dx sigmoid(x) = s(1-s)."""
    tree = ("pow", ("add", ("var", "x"), ("var", "y")), 2)
    exact = F.evaluate_exact(tree, {"x": Fraction(1, 3), "y": Fraction(1)})
    assert exact.v == Fraction(16, 9) and exact.d == {"x": Fraction(8, 3), "y": Fraction(8, 3)}
    dual = F.evaluate_dual(("call", "sigmoid", ("var", "x")), {"x": 0.0})
    assert dual.v == 0.5 and dual.d["x"] == 0.25
    with pytest.raises(F.Skip):
        F.evaluate_dual(("call", "relu", ("var", "x")), {"x": 0.0})
    with pytest.raises(ValueError):
        F.strict_json('{"value": NaN}')
    assert json.loads('{"a": 1}') == F.strict_json('{"a": 1}')
    assert not F.close(math.inf, 1.0, 1.0)
