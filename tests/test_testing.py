"""cgraph_cli.testing's diagnoses (issue 16 §1 "For autograders", issue 15's slips and their order):
every slip through assert_gradients and assert_formula, each diagnosis only within the assertion's
tolerance, the first in the issue's order when several explain an answer, the same text `cgraph grade`
gives for the same answer, and grading.diagnose itself. The correct values are computed here with
math's formulas, never by cgraph."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cgraph_cli as cg
from cgraph_cli import api, grading
from cgraph_cli.expect import Tolerance
from cgraph_cli.testing import assert_formula, assert_gradients

X, Y = 0.7, 3.0
F = "sin(x)*y"                       # d/dx = cos(x) y, d/dy = sin(x)
DX, DY = math.cos(X) * Y, math.sin(X)
LOCAL = ("that is the local derivative of sin(x) with respect to x: the upstream gradient is missing")


def failure(*args, **kwargs) -> str:
    """The AssertionError's text (the assertion must fail)."""
    with pytest.raises(AssertionError) as caught:
        assert_gradients(*args, **kwargs)
    return str(caught.value)


def shown_correct(message: str) -> float:
    """The correct value a one-line message shows (12 significant digits)."""
    return float(message.split("; correct ")[1].split(" ")[0])


def diagnosis_of(message: str):
    """The parenthesis after a one-line message's correct value, or None."""
    rest = message.split("; correct ", 1)[1]
    start = rest.find(" (")
    return rest[start + 2:-1] if start >= 0 else None


def test_the_issue_s_example_the_sign():
    # f = x*y^2/2 at x = -1.592/3, y = 3: d/dy = x*y = -1.592; the student wrote 1.592
    message = failure("x*y^2/2", {"y": 1.592}, rtol=1e-3, x=-1.592 / 3, y=3)
    assert message == "grad y: your answer 1.592; correct -1.592 (the sign is wrong)"


@pytest.mark.parametrize("answers, expected", [
    ({"x": -DX}, "the sign is wrong"),
    ({"x": X}, "that is the value of x, not its gradient"),
    ({"x": math.sin(X) * Y}, "that is the output's value, not a gradient"),
    ({"x": DY}, "that is the gradient of y"),
    ({"x": math.cos(X)}, LOCAL),
    ({"x": 2 * DX}, "a factor of 2 too large"),
    ({"y": DY / 2}, "a factor of 2 too small"),
    ({"x": 10 * DX}, "a factor of 10 too large"),
    ({"x": 100 * DX}, "a factor of 100 too large"),
    ({"x": 1000 * DX}, "a factor of 1000 too large"),
    ({"y": DY / 10}, "a factor of 10 too small"),
    ({"y": DY / 100}, "a factor of 100 too small"),
    ({"y": DY / 1000}, "a factor of 1000 too small"),
])
def test_each_diagnosis_through_assert_gradients(answers, expected):
    (name, answer), = answers.items()
    correct = {"x": DX, "y": DY}[name]
    message = failure(F, {**answers, **({"y": DY} if name == "x" else {"x": DX})}, rtol=1e-3, x=X, y=Y)
    assert message.startswith(f"grad {name}: your answer ")
    assert math.isclose(shown_correct(message), correct, rel_tol=1e-9)
    assert diagnosis_of(message) == expected
    assert "\n" not in message                     # the other gradient is right: one line


def test_no_diagnosis_when_no_slip_explains_the_answer():
    message = failure(F, {"x": 7}, rtol=1e-3, x=X, y=Y)
    assert message.startswith("grad x: your answer 7; correct ") and diagnosis_of(message) is None
    assert math.isclose(shown_correct(message), DX, rel_tol=1e-9)
    assert diagnosis_of(failure(F, {"x": 1e4 * DX}, rtol=1e-3, x=X, y=Y)) is None   # 10^4 is no slip


def test_a_diagnosis_only_within_the_assertion_s_tolerance():
    rounded = -round(DX, 3)                       # the sign wrong, and three decimals
    assert diagnosis_of(failure(F, {"x": rounded}, rtol=1e-3, x=X, y=Y)) == "the sign is wrong"
    assert diagnosis_of(failure(F, {"x": rounded}, rtol=1e-6, x=X, y=Y)) is None
    assert diagnosis_of(failure(F, {"x": rounded}, rtol=1e-9, atol=1e-3, x=X, y=Y)) == "the sign is wrong"


def test_the_first_slip_in_the_issue_s_order_wins():
    # x*y at x = -2, y = 2: d/dx = y = 2 and d/dy = x = -2; -2 for d/dx is the sign, the value of x
    # and y's gradient at once: the sign comes first
    assert diagnosis_of(failure("x*y", {"x": -2}, x=-2, y=2)) == "the sign is wrong"
    # x*y at x = 1.5, y = 2: 2 for d/dy is y's value and x's gradient: the value comes first
    assert diagnosis_of(failure("x*y", {"y": 2}, x=1.5, y=2)) == "that is the value of y, not its gradient"
    # the local derivative (before a factor of 2): x^2*y at x = 3, y = 2, 6 for d/dx = 12
    assert diagnosis_of(failure("x^2*y", {"x": 6}, x=3, y=2)).startswith("that is the local derivative of x^2")


def test_a_variable_used_twice_has_no_local_derivative():
    # sin(x)*y + x: cos(x) is the local derivative of one of x's two uses, not a slip cgraph names
    message = failure("sin(x)*y + x", {"x": math.cos(X)}, rtol=1e-3, x=X, y=Y)
    assert diagnosis_of(message) is None and math.isclose(shown_correct(message), DX + 1, rel_tol=1e-9)


def test_assigned_names_their_value_and_the_sign():
    program = "s = sin(x)\ns*y"                    # d out / d s = y
    assert failure(program, {"s": -Y}, x=X, y=Y) == "grad s: your answer -3; correct 3 (the sign is wrong)"
    assert diagnosis_of(failure(program, {"s": math.sin(X)}, x=X, y=Y)) == "that is the value of s, not its gradient"
    assert_gradients(program, {"s": Y, "x": DX, "y": DY}, rtol=1e-12, atol=1e-12, x=X, y=Y)


def test_tensor_gradients_the_sign_the_shape_and_elements_without_a_slip():
    W, x = [[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0]
    # sum(W*x): d/dW[i][j] = x[j]
    assert failure("sum(W*x)", {"W": [[-1, -2], [-1, -2]]}, W=W, x=x) == \
        "grad W: your answer [[-1, -2], [-1, -2]]; correct [[1, 2], [1, 2]] (the sign is wrong)"
    assert failure("sum(W*x)", {"W": [1, 2]}, W=W, x=x) == \
        "grad W: your answer [1, 2]; correct [[1, 2], [1, 2]] (the answer has shape [2], the correct one [2, 2])"
    assert failure("sum(W*x)", {"W": [[-1, -2], [-1, 2]]}, W=W, x=x) == \
        "grad W: your answer [[-1, -2], [-1, 2]]; correct [[1, 2], [1, 2]] (3 of 4 elements differ, first at [0, 0])"
    assert diagnosis_of(failure("sum(W*x)", {"x": [8, 12]}, W=W, x=x)) == "a factor of 2 too large"   # d/dx = [4, 6]


def test_assert_formula_is_diagnosed_at_its_point():
    with pytest.raises(AssertionError) as caught:
        assert_formula("x^2*y", "x", "-2*x*y", x=3, y=2)
    assert str(caught.value) == "d/dx: your formula -2*x*y gives -12 at x = 3, y = 2; correct 12 (the sign is wrong)"
    with pytest.raises(AssertionError) as caught:
        assert_formula("x^2*y", "x", "x^2", x=3, y=2)   # 9: d/dy's formula
    assert str(caught.value).endswith("correct 12 (that is the gradient of y)")
    with pytest.raises(AssertionError) as caught:
        assert_formula("x^2*y", "x", "x + 1", x=3, y=2)
    assert str(caught.value) == "d/dx: your formula x + 1 gives 4 at x = 3, y = 2; correct 12"


def test_a_passing_assertion_evaluates_the_program_once(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("evaluated again")

    monkeypatch.setattr(api, "evaluate", refuse)
    assert_gradients(F, {"x": DX, "y": DY}, rtol=1e-12, x=X, y=Y)
    with pytest.raises(RuntimeError):   # a wrong answer evaluates it again, for its graph
        assert_gradients(F, {"x": -DX}, rtol=1e-3, x=X, y=Y)


def test_the_same_diagnosis_as_cgraph_grade(tmp_path):
    slips = {"ana": -DX, "ben": X, "cy": math.sin(X) * Y, "di": DY, "eve": math.cos(X), "fay": 2 * DX,
             "gus": DX / 100, "hal": 7.0}
    (tmp_path / "key.toml").write_text(f'rtol = 1e-3\n[[question]]\nid = "q"\nexpr = "{F}"\n'
                                       f'vars = {{ x = {X}, y = {Y} }}\nask = "grad x"\n')
    (tmp_path / "answers.csv").write_text("student,q\n" + "".join(f"{s},{v!r}\n" for s, v in slips.items()))
    graded = {s.student: s.answers[0].diagnosis for s in cg.grade(tmp_path / "key.toml", tmp_path / "answers.csv").students}
    for student, answer in slips.items():
        assert diagnosis_of(failure(F, {"x": answer}, rtol=1e-3, x=X, y=Y)) == graded[student], student
    assert graded["hal"] is None and graded["eve"] == LOCAL


def test_diagnose_directly_values_and_the_output():
    evaluation = api.evaluate("p = x*y\np + 1", {"x": 1.5, "y": 2.0}).evaluation   # p = 3, out = 4
    assert grading.diagnose(evaluation, "x", 2.0) is None                          # right: no diagnosis
    assert grading.diagnose(evaluation, "x", -2.0) == "the sign is wrong"
    assert grading.diagnose(evaluation, "p", 1.0, ask="value") == "that is the gradient of p, not its value"
    assert grading.diagnose(evaluation, None, 2.0, ask="value") == "that is the gradient of x, not the value"
    assert grading.diagnose(evaluation, None, -4.0, ask="value") == "the sign is wrong"
    assert grading.diagnose(evaluation, "y", 1.5 * 1.0001, Tolerance(1e-3, 0)) is None   # within: right
    assert grading.diagnose(evaluation, "y", 15.0, Tolerance(1e-9, 1e-12)) == "a factor of 10 too large"


SLIPS = ("the sign is wrong", "that is the value of x, not its gradient",
         "that is the output's value, not a gradient", "that is the gradient of y", LOCAL,
         "a factor of 2 too large", "a factor of 2 too small", "a factor of 10 too large",
         "a factor of 100 too large", "a factor of 1000 too large", "a factor of 10 too small",
         "a factor of 100 too small", "a factor of 1000 too small")


@settings(max_examples=40, deadline=None)
@given(st.floats(-3, 3), st.floats(0.2, 5), st.sampled_from(range(len(SLIPS))), st.floats(-5e-5, 5e-5))
def test_random_points_and_slips_the_first_that_explains_the_answer(x, y, slip, noise):
    """sin(x)*y at random points; the answer a slip's value (math's formulas) times 1 + noise; the
    diagnosis is the first slip, in the issue's order, within rtol 1e-3 of the answer (atol 0)."""
    dx = math.cos(x) * y
    values = (-dx, x, math.sin(x) * y, math.sin(x), math.cos(x), 2 * dx, dx / 2,
              10 * dx, 100 * dx, 1000 * dx, dx / 10, dx / 100, dx / 1000)
    answer = values[slip] * (1 + noise)
    rtol = 1e-3

    def distance(a, b):
        return abs(a - b) / max(abs(a), abs(b), 1e-300)

    assume(abs(x) > 1e-3)   # (x near 0: sin(x)*y, x and sin(x) are all near 0 and the distance's floor ties them)
    assume(abs(dx) > 1e-3 and distance(answer, dx) > 1e-2)              # a wrong answer, clearly
    assume(all(distance(answer, v) < 1e-4 or distance(answer, v) > 1e-2 for v in values))   # no near miss
    assume(all(distance(v, dx) > 1e-6 for v in values))                  # no slip that is the answer
    expected = next(text for text, v in zip(SLIPS, values) if distance(answer, v) < 1e-4)
    message = failure(F, {"x": answer}, rtol=rtol, atol=0, x=x, y=y)
    assert diagnosis_of(message) == expected
    assert math.isclose(shown_correct(message), dx, rel_tol=1e-9, abs_tol=1e-12)
    assert_gradients(F, {"x": dx, "y": math.sin(x)}, rtol=1e-9, atol=1e-12, x=x, y=y)
