"""Assertions for autograders (pytest, otter-grader, nbgrader): a student's gradients or derivative
formula against cgraph's, failing with an AssertionError written for the student.

    from cgraph_cli.testing import assert_gradients, assert_formula

    assert_gradients("(x+y)*z", {"x": -3, "y": -3, "z": 4}, x=1, y=3, z=-3)
    assert_formula("x^2*y", "x", "2*x*y", x=3, y=2)

A difference is reported one line per number, in the student's terms, with the diagnosis `cgraph
grade` gives when one of the usual slips explains the answer within the tolerance (grading.diagnose):
`grad y: your answer -1.592; correct 1.592 (the sign is wrong)`. Numbers compare as `cgraph check`
compares them: |answer - correct| <= max(rtol * max(|answer|, |correct|), atol), elementwise for
tensors.
Errors in the reference program (the teacher's) raise CgraphError as cg.evaluate does; errors in a
student's formula fail the assertion with the message.
"""

from typing import Any, Mapping, Optional

from cgraph_cli import api
from cgraph_cli.errors import CgraphError
from cgraph_cli.expect import DEFAULT_ATOL, DEFAULT_RTOL, Tolerance, compare, is_tensor
from cgraph_cli.text import human

__all__ = ["assert_gradients", "assert_formula"]


def assert_gradients(source: str, expected: Mapping[str, Any], bindings: Optional[Mapping[str, Any]] = None,
                     /, *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, const=(),
                     **variables: Any) -> None:
    """The student's gradients `expected` (name -> number or nested lists: variables, or assigned
    names for d(output)/d(that value)) against cgraph's gradients of `source` at the bindings."""
    if not isinstance(expected, Mapping):
        raise TypeError(f"expected must be a mapping of name -> gradient, not {type(expected).__name__}")
    correct = api.grad(source, bindings, wrt=list(expected), const=const, **variables)
    tolerance = Tolerance(rtol, atol)
    diagnosis = _diagnoser(source, bindings, variables, const, tolerance, "grad")
    lines = [_difference(f"grad {name}", ": your answer ", answer, correct[name], tolerance,
                         lambda value, name=name: diagnosis(name, value))
             for name, answer in expected.items()]
    failures = [line for line in lines if line]
    if failures:
        raise AssertionError("\n".join(failures))


def assert_formula(source: str, wrt: str, formula: str, bindings: Optional[Mapping[str, Any]] = None,
                   /, *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, const=(),
                   **variables: Any) -> None:
    """The student's `formula` for d(source)/d(wrt), evaluated at the bindings, against cgraph's
    gradient there. One point checks one point: call it at several for a formula's shape."""
    correct = api.grad(source, bindings, wrt=wrt, const=const, **variables)[wrt]
    point = {**(bindings or {}), **variables}
    where = ", ".join(f"{name} = {_shown(value)}" for name, value in point.items())
    label = f"d/d{wrt}"
    try:
        answer = api.evaluate(formula, point).value
    except CgraphError as error:
        raise AssertionError(f"{label}: your formula {formula!r} cannot be evaluated ({error.kind}): "
                             f"{_student_message(error, point)}") from None
    tolerance = Tolerance(rtol, atol)
    diagnosis = _diagnoser(source, bindings, variables, const, tolerance, "formula")
    line = _difference(f"{label}: your formula {formula}", " gives ", answer, correct, tolerance,
                       lambda value: diagnosis(wrt, value), f" at {where}" if where else "")
    if line:
        raise AssertionError(line)


def _difference(what: str, answer_words: str, answer, correct, tolerance: Tolerance, diagnosis,
                at: str = "") -> str:
    """'' when `answer` matches `correct`, else the line for the student:
    `{what}{answer_words}{answer}{at}; correct {correct} ({the diagnosis, or the comparison's note})`."""
    try:
        answer_value = answer if isinstance(answer, (int, float)) else api._value(answer, what)
    except CgraphError:
        return f"{what}{answer_words}{answer!r}{at}, which is not a number; correct {_shown(correct)}"
    comparison = compare(answer_value, correct, tolerance)
    if comparison.passed:
        return ""
    line = f"{what}{answer_words}{_shown(answer_value)}{at}; correct {_shown(correct)}"
    note = diagnosis(answer_value) or comparison.note   # a slip explains the whole answer: it says more
    return line + (f" ({note})" if note else "")


def _diagnoser(source: str, bindings, variables: dict, const, tolerance: Tolerance, ask: str):
    """diagnosis(name, answer) -> grading.diagnose's text or None; the program is evaluated again (with
    its graph, which the slips need) once, on the first wrong answer: a passing test pays nothing."""
    evaluation = []

    def diagnosis(name: str, answer):
        from cgraph_cli import grading

        if not evaluation:
            evaluation.append(api.evaluate(source, {**(bindings or {}), **variables}, const=const).evaluation)
        return grading.diagnose(evaluation[0], name, answer, tolerance, ask)

    return diagnosis


def _shown(value) -> str:
    if is_tensor(value):
        return " ".join(human(value).split())
    if isinstance(value, (list, tuple)):
        return str(value)
    try:
        return human(value)
    except (TypeError, ValueError):
        return repr(value)


def _student_message(error: CgraphError, point: dict) -> str:
    """A student's formula naming something the problem lacks: say so in their terms."""
    message = error.message
    if message.startswith("unbound variable"):
        names = message.split("\n")[0].split(": ", 1)[1]
        return (f"it uses {names}, which the problem does not define (its variables: "
                f"{', '.join(sorted(point)) or 'none'})")
    return message
