"""Expected numbers against computed ones: what `--expect`, `check` and `gradcheck` share.

A comparison passes like `math.isclose`: |got - expected| <= max(rtol * max(|got|, |expected|), atol),
elementwise for tensors (whose shapes must then be equal: no broadcasting, a [3] is not a [1]).
inf matches the same inf and nan matches nan, so a case can pin a non-finite gradient.

The defaults are tight: a course file that checks answers rounded to four digits sets its own.
"""

import json
import math
import re
from typing import NamedTuple

from cgraph_cli.bindings import parse_number
from cgraph_cli.errors import BindingError, UsageError
from cgraph_cli.graph import refuse_data
from cgraph_cli.text import machine, short_text, unknown_name

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9
NON_FINITE = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class Tolerance(NamedTuple):
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL


class Comparison(NamedTuple):
    passed: bool
    difference: float | None   # largest |got - expected|; None when there is nothing to subtract
    note: str = ""             # why it failed when the numbers cannot say it (a shape, a missing name)


class Check(NamedTuple):
    """One expected number (or tensor) and what was computed."""
    what: str                  # "value", "grad x", "subtotal", "subtotal.grad"
    expected: object
    got: object                # a number, an array, or None when the thing does not exist
    comparison: Comparison

    @property
    def passed(self) -> bool:
        return self.comparison.passed


def is_tensor(value) -> bool:
    return hasattr(value, "shape") and getattr(value, "ndim", 0) > 0


def compare(expected, got, tolerance: Tolerance) -> Comparison:
    """Does `got` match `expected` within the tolerance?"""
    if got is None:
        return Comparison(False, None, "missing")
    if is_tensor(expected) or is_tensor(got):
        return _compare_arrays(expected, got, tolerance)
    expected, got = float(expected), float(got)
    if math.isnan(expected) or math.isnan(got):
        both = math.isnan(expected) and math.isnan(got)
        return Comparison(both, 0.0 if both else math.nan)
    if math.isinf(expected) or math.isinf(got):
        same = expected == got
        return Comparison(same, 0.0 if same else math.inf)
    difference = abs(got - expected)
    return Comparison(difference <= max(tolerance.rtol * max(abs(got), abs(expected)), tolerance.atol),
                      difference)


def _compare_arrays(expected, got, tolerance: Tolerance) -> Comparison:
    import numpy

    expected, got = numpy.asarray(expected, dtype=float), numpy.asarray(got, dtype=float)
    if expected.shape != got.shape:
        return Comparison(False, None, f"shape {shape_text(expected.shape)} expected, "
                                       f"got {shape_text(got.shape)}")
    if expected.size == 0:
        return Comparison(True, 0.0)
    with numpy.errstate(invalid="ignore"):
        difference = numpy.abs(got - expected)
        bound = numpy.maximum(tolerance.rtol * numpy.maximum(numpy.abs(got), numpy.abs(expected)),
                              tolerance.atol)
        same = (got == expected) | (numpy.isnan(got) & numpy.isnan(expected))
        within = same | (numpy.isfinite(got) & numpy.isfinite(expected) & (difference <= bound))
    largest = float(numpy.where(same, 0.0, difference).max())   # nan when a nan meets a number
    note = ""
    if not within.all():
        bad = int(numpy.count_nonzero(~within))
        first = tuple(int(i) for i in numpy.argwhere(~within)[0])
        note = f"{bad} of {within.size} elements differ, first at {list(first)}"
    return Comparison(bool(within.all()), largest, note)


def shape_text(shape: tuple) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]" if shape else "scalar"


# ----- what is looked up, by the names a user writes -----

def variable_gradient(evaluation, name: str):
    node_id = evaluation.graph.variables.get(name)
    if node_id is None:
        return None
    return _gradient(evaluation, node_id)


def assigned_value(evaluation, name: str):
    node_id = evaluation.graph.assigned.get(name)
    return None if node_id is None else evaluation.values[node_id]


def assigned_gradient(evaluation, name: str):
    node_id = evaluation.graph.assigned.get(name)
    return None if node_id is None else _gradient(evaluation, node_id)


def _gradient(evaluation, node_id: int):
    """d(output)/d(node); a node that depends on no variable has gradient 0 (of its own shape)."""
    grad = evaluation.grads[node_id]
    if grad is None:
        return evaluation.values[node_id] * 0.0
    return grad


# ----- --expect NAME=VALUE -----

class Expectation(NamedTuple):
    """One --expect: `value=`, `x=` (a variable: its gradient), `subtotal=` (an assignment: its value),
    `subtotal.grad=` (its gradient)."""
    name: str
    gradient: bool      # NAME.grad
    expected: object
    word: str           # as typed, for messages


def parse_expectation(word: str) -> Expectation:
    target, equals, text = word.partition("=")
    target = target.strip()
    if not equals or not target:
        raise UsageError(f"--expect takes NAME=VALUE (value=16, x=8, subtotal.grad=1.1), got {word!r}")
    name, dot, suffix = target.partition(".")
    if dot and suffix != "grad":
        raise UsageError(f"--expect {word}: after the dot only 'grad' is allowed (NAME.grad=VALUE)")
    if dot and name == "value":
        raise UsageError(f"--expect {word}: the output's gradient with respect to itself is always 1; "
                         "check a variable's gradient with --expect NAME=VALUE")
    word = short_text(word, 60)   # as messages show it
    return Expectation(name, bool(dot), parse_expected(text.strip(), f"--expect {word}"), word)


def parse_expected(value, source: str):
    """An expected number: a number, an exact fraction text such as "1/3", "inf"/"nan", or nested
    lists of them for a tensor."""
    if isinstance(value, bool):
        raise BindingError(f"{source}: expected a number, got {str(value).lower()}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in NON_FINITE:
            return NON_FINITE[text.lower()]
        if text.startswith("["):
            # inf and nan as Python writes them (JSON has no words for them; Python's json reads these)
            words = {"inf": "Infinity", "+inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}
            text = re.sub(r"[+-]?\b(?:inf|nan)\b", lambda match: words[match.group().lower()], text,
                          flags=re.IGNORECASE)
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                raise BindingError(f"{source}: {short_text(text, 40)!r} is not a list of numbers such as [1, 2.5]")
            return parse_expected(value, source)
        return parse_number(text, source)
    if isinstance(value, list):
        return _expected_array(value, source)
    raise BindingError(f"{source}: expected a number or a list of numbers, got {value!r}")


def _expected_array(value: list, source: str):
    """Nested lists of numbers (inf and nan allowed: an expected gradient may be infinite) -> array."""
    import numpy

    try:
        return numpy.array(value, dtype=float)
    except (ValueError, TypeError, RecursionError):
        raise BindingError(f"{source}: expected a rectangular list of numbers such as [[1, 2], [3, 4]]")


def resolve(evaluation, expectation: Expectation):
    """The computed number an --expect refers to; a name the program lacks is a usage error."""
    graph = evaluation.graph
    name = expectation.name
    if name == "value":
        return evaluation.value
    if name in graph.assigned:
        if expectation.gradient:
            return assigned_gradient(evaluation, name)
        return assigned_value(evaluation, name)
    if name in graph.variables:
        refuse_data(graph, [name])
        return variable_gradient(evaluation, name)
    known = ["value"] + sorted(set(graph.variables) | set(graph.assigned))
    raise BindingError(unknown_name(f"--expect {expectation.word}", name, known, "variable or assigned name"))


def what(expectation: Expectation, evaluation) -> str:
    """How a check is labelled: value, grad x, subtotal, subtotal.grad."""
    name = expectation.name
    if name == "value":
        return "value"
    if name in evaluation.graph.assigned:
        return f"{name}.grad" if expectation.gradient else name
    return f"grad {name}"


def check_expectations(evaluation, expectations: list, tolerance: Tolerance) -> list:
    checks = []
    for expectation in expectations:
        got = resolve(evaluation, expectation)
        checks.append(Check(what(expectation, evaluation), expectation.expected, got,
                            compare(expectation.expected, got, tolerance)))
    return checks


def failure_message(checks: list, tolerance: Tolerance) -> str:
    """What differed, one line per failed check, and the tolerance used."""
    lines = []
    for check in checks:
        if check.passed:
            continue
        detail = check.comparison.note or f"difference {number_text(check.comparison.difference)}"
        lines.append(f"{check.what}: expected {number_text(check.expected)}, "
                     f"got {number_text(check.got)} ({detail})")
    count = len(lines)
    head = f"{count} of {len(checks)} expectation{'s' if len(checks) != 1 else ''} failed " \
           f"(rtol {machine(tolerance.rtol)}, atol {machine(tolerance.atol)})"
    return head + "\n" + "\n".join("  " + line for line in lines)


def number_text(value, digits: int | None = None) -> str:
    """A number or tensor as one line of text for messages and tables: the shortest round-trip text
    of each number (or `digits` significant digits); a tensor's middle is elided beyond a dozen."""
    if value is None:
        return "—"
    if is_tensor(value):
        import numpy

        text = numpy.array2string(numpy.asarray(value, dtype=float), separator=", ", threshold=12,
                                  edgeitems=3, max_line_width=10**9,
                                  formatter={"float_kind": lambda element: machine(float(element), digits)})
        return " ".join(text.split())
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, str):
        return value
    return machine(float(value), digits)
