"""`cgraph grade KEY ANSWERS` (issue 15): the example class's scores, every diagnosis, digits as
written at their edges, blank and junk cells, every format (JUnit against junit-10's structure,
Gradescope against its documented fields), the exit codes, the formula answers' points, speed.

Correct values are computed here with math (the course's formulas), never by cgraph."""

import csv
import io
import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import junitparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli import grading
from cgraph_cli.expect import Tolerance
from conftest import run_cgraph, runner
from test_junit import junit10_errors

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "grading"
KEY, ANSWERS = EXAMPLE / "key.toml", EXAMPLE / "answers.csv"
SCORES = {"ana": 15, "ben": 15, "chloe": 15, "dev": 15, "emma": 9, "farid": 8, "gus": 10, "hana": 12,
          "ivan": 6, "jade": 9, "kofi": 7, "lena": 11, "mateo": 10, "nina": 10, "omar": 8, "pia": 4,
          "quinn": 6, "rosa": 8, "sam": 0, "tara": 10, "uma": 14, "victor": 10, "wei": 12, "xena": 13,
          "yusuf": 13, "zoë": 15, "alba": 15, "bruno": 15, "cleo": 14, "dmitri": 14, "elif": 15, "femi": 15}
JSON_KEYS = {"schema", "max", "questions", "students"}
ANSWER_KEYS = {"answer", "correct", "passed", "points", "diagnosis", "message"}


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def staged(x=3.0, y=-4.0):
    """f and its gradients, by the course's formulas: f = (x + s(y)) / (s(x) + (x+y)^2)."""
    num, den = x + sigmoid(y), sigmoid(x) + (x + y) ** 2
    dden = -num / den ** 2
    dx = 1 / den + dden * (sigmoid(x) * (1 - sigmoid(x)) + 2 * (x + y))
    dy = sigmoid(y) * (1 - sigmoid(y)) / den + dden * 2 * (x + y)
    return {"f": num / den, "dx": dx, "dy": dy, "dden": dden, "dxpy": dden * 2 * (x + y)}


def write(tmp_path, name, text, newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def key_file(tmp_path, body, head='digits = "given"\nrtol = 1e-3\n'):
    return write(tmp_path, "key.toml", head + body)


def grade(tmp_path, key_body, sheet, *args, head='digits = "given"\nrtol = 1e-3\n', name="answers.csv"):
    key = key_file(tmp_path, key_body, head)
    answers = write(tmp_path, name, sheet)
    return run_cgraph("grade", key, answers, *args)


def answers_of(result, student=None):
    """{question id: answer object} of one student (the first when not named) in a JSON report."""
    students = result.json()["students"]
    chosen = students[0] if student is None else next(s for s in students if s["student"] == student)
    return chosen["answers"]


ONE = '[[question]]\nid = "q"\nexpr = "{expr}"\nvars = {vars}\nask = "{ask}"\n{extra}'


def question(expr, vars, ask, extra=""):
    return ONE.format(expr=expr, vars=vars, ask=ask, extra=extra)


# ----------------------------------------------------------------------------- the example class

def test_the_example_class_scores_as_the_readme_says():
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    assert list(document) == ["schema", "max", "questions", "students"] and document["schema"] == 1
    assert document["max"] == 15
    assert {s["student"]: s["score"] for s in document["students"]} == SCORES
    assert len(document["students"]) >= 30
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    paragraph = " ".join(readme.split("asserted in `tests/test_grade.py`:")[1].split("\n\n")[0].split())
    listed = {}
    for part in paragraph.rstrip(".").split(";"):   # "ana, ben and chloe 15"
        *names, score = part.replace("(an empty row)", "").replace(" and ", ", ").split()
        listed.update({name.strip(","): int(score) for name in names})
    assert listed == SCORES


def test_the_example_sheet_has_crlf_line_ends_and_every_slip_the_issue_lists():
    raw = ANSWERS.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") == 33   # the header and 32 students
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "json")
    slips = {answer["diagnosis"] for s in result.json()["students"] for answer in s["answers"].values()}
    messages = [a["message"] for s in result.json()["students"] for a in s["answers"].values()]
    assert "the sign is wrong" in slips
    assert {"a factor of 2 too small", "a factor of 10 too large"} <= slips
    assert any(m.endswith(": no answer; correct 2.06") for m in messages)          # a blank
    assert answers_of(result, "tara")["dy"]["message"] == "dy grad y: no answer; correct 1.592"   # N/A
    assert answers_of(result, "ben")["dprice"]["passed"]                          # 11/5
    assert answers_of(result, "uma")["dx0"]["message"].startswith(
        "dx0 grad x0: not a number: '0,393' (a decimal comma: write 0.393)")
    # the values, against the course's formulas
    truth = staged()
    correct = {q["id"]: q["correct"] for q in result.json()["questions"]}
    for name in ("f", "dx", "dy", "dden", "dxpy"):
        assert correct[name] == pytest.approx(truth[name], rel=1e-9, abs=1e-12)
    assert correct["out"] == pytest.approx(sigmoid(1), rel=1e-9)     # w0*x0 + w1*x1 + w2 = 1
    assert correct["dx0"] == pytest.approx(2 * sigmoid(1) * (1 - sigmoid(1)), rel=1e-9)
    assert correct["dsig"] == pytest.approx(sigmoid(1) * (1 - sigmoid(1)), rel=1e-9)
    assert correct["dprice"] == pytest.approx(2.2, rel=1e-12) and correct["fprice"] == pytest.approx(2.2)


def test_the_example_notes_its_extra_column_once():
    result = run_cgraph("grade", KEY, ANSWERS)
    assert result.err.count("cgraph: note:") == 1
    assert "columns that are no question of the key, not graded: section" in result.err


def test_the_semicolon_sheet_reads_decimal_commas_and_answers_in_them():
    result = run_cgraph("grade", KEY, EXAMPLE / "answers-semicolon.csv", "--format", "json")
    assert result.code == 0 and result.err == ""
    assert {s["student"]: s["score"] for s in result.json()["students"]} == {"anna": 15, "bernd": 8, "carla": 11}
    assert answers_of(result, "bernd")["dx"]["message"] == "dx grad x: your answer -2,06; correct 2,06 (the sign is wrong)"


# ----------------------------------------------------------------------------- diagnoses

def diagnose(tmp_path, expr, vars, ask, answer, extra=""):
    result = grade(tmp_path, question(expr, vars, ask, extra), f"student,q\nana,{answer}\n", "--format", "json")
    assert result.code == 0, result.err
    return answers_of(result)["q"]


def test_each_diagnosis_in_the_issues_order(tmp_path):
    # f = x*y at x = 1.5, y = 2: grad x = 2 (= y), grad y = 1.5 (= x); value 3
    def d(ask, answer, expr="x*y", vars="{ x = 1.5, y = 2 }"):
        return diagnose(tmp_path, expr, vars, ask, answer)["diagnosis"]

    assert d("grad x", "-2.0") == "the sign is wrong"
    assert d("grad x", "3.0") == "that is the output's value, not a gradient"
    assert d("grad y", "2.0") == "that is the value of y, not its gradient"        # before x's gradient (also 2)
    assert d("grad x", "1.5") == "that is the value of x, not its gradient"        # before y's gradient (also 1.5)
    assert d("grad x", "6.0", "2*x*y + z", "{ x = 3, y = 5, z = 7 }") == "that is the gradient of y"
    assert d("grad x", "4.0") == "a factor of 2 too large"
    assert d("grad x", "1.0") == "a factor of 2 too small"
    for power in (1, 2, 3):
        assert d("grad x", f"{2 * 10 ** power}.0") == f"a factor of {10 ** power} too large"
        assert d("grad x", f"{2 / 10 ** power:.4f}") == f"a factor of {10 ** power} too small"
    assert d("grad x", "2e4") is None      # 10^4 is no slip cgraph names
    assert d("grad x", "-2.6") is None     # not within one unit of -2: no sign diagnosis


def test_the_value_instead_of_the_gradient_and_the_reverse(tmp_path):
    apple = "subtotal = price*count; subtotal*tax"
    vars = "{ price = 100, count = 2, tax = 1.1 }"
    assert diagnose(tmp_path, apple, vars, "grad subtotal", "200")["diagnosis"] == \
        "that is the value of subtotal, not its gradient"
    assert diagnose(tmp_path, apple, vars, "value subtotal", "1.1")["diagnosis"] == \
        "that is the gradient of subtotal, not its value"
    assert diagnose(tmp_path, apple, vars, "value", "200")["diagnosis"] == "that is the gradient of tax, not the value"
    assert diagnose(tmp_path, apple, vars, "grad tax", "2.2")["diagnosis"] == "that is the gradient of price"
    assert diagnose(tmp_path, apple, vars, "grad count", "1.1")["diagnosis"] == "that is the gradient of subtotal"


def test_the_local_derivative_of_an_input_used_once(tmp_path):
    # f = sin(x)*y at x = 0.7, y = 3: grad x = cos(0.7)*3; its local derivative in sin(x) is cos(0.7)
    local = math.cos(0.7)
    answer = diagnose(tmp_path, "sin(x)*y", "{ x = 0.7, y = 3 }", "grad x", f"{local:.4f}")
    assert answer["diagnosis"] == "that is the local derivative of sin(x) with respect to x: the upstream " \
                                  "gradient is missing"
    assert answer["correct"] == pytest.approx(3 * local, rel=1e-12)
    # x used twice (a fan-out): no local derivative to name
    twice = diagnose(tmp_path, "sin(x)*y + x", "{ x = 0.7, y = 3 }", "grad x", f"{local:.4f}")
    assert twice["diagnosis"] is None and twice["correct"] == pytest.approx(3 * local + 1, rel=1e-12)


def test_a_diagnosis_is_judged_at_the_answers_own_precision(tmp_path):
    # grad x = 2.0596 (staged); -2.1 is within 0.1 of -2.0596: the sign; -2.2 is not within 0.1
    staged_key = f'file = "{EXAMPLE / "staged.cg"}"'
    for answer, diagnosis in (("-2.1", "the sign is wrong"), ("-2.2", None), ("-2.06", "the sign is wrong"),
                              ("-2.07", None)):
        result = grade(tmp_path, f'[[question]]\nid = "q"\n{staged_key}\nvars = {{ x = 3, y = -4 }}\nask = "grad x"\n',
                       f"student,q\nana,{answer}\n", "--format", "json", "--allow-outside")
        assert answers_of(result)["q"]["diagnosis"] == diagnosis, answer


def test_tensor_answers_element_by_element_and_their_diagnoses(tmp_path):
    # f = sum(W @ x): grad W[i, j] = x[j]; grad x = column sums of W
    body = question("sum(W @ x)", "{ W = [[1, 2], [3, 4]], x = [0.5, -1.25] }", "grad W")
    right = grade(tmp_path, body, 'student,q\nana,"[[0.5, -1.25], [0.50, -1.2]]"\nben,"[[-0.5, 1.25], [-0.5, 1.25]]"\n'
                                  'cy,"[0.5, -1.25]"\ndi,"[[0.5, -1.25], [0.5, -1.35]]"\n', "--format", "json")
    assert right.code == 0, right.err
    answers = {s["student"]: s["answers"]["q"] for s in right.json()["students"]}
    assert answers["ana"]["passed"] and answers["ana"]["correct"] == [[0.5, -1.25], [0.5, -1.25]]
    assert answers["ben"]["diagnosis"] == "the sign is wrong"
    assert answers["cy"]["diagnosis"] == "the answer has shape [2], the correct one [2, 2]"
    assert not answers["di"]["passed"] and answers["di"]["diagnosis"] is None
    element = grade(tmp_path, question("sum(W @ x)", "{ W = [[1, 2], [3, 4]], x = [0.5, -1.25] }", "grad W[1, 1]"),
                    "student,q\nana,-1.25\nben,1.25\n", "--format", "json")
    assert [s["answers"]["q"]["passed"] for s in element.json()["students"]] == [True, False]
    assert element.json()["students"][1]["answers"]["q"]["diagnosis"] == "the sign is wrong"


# ----------------------------------------------------------------------------- digits as written

def test_digits_given_follows_the_issues_examples(tmp_path):
    body = '[[question]]\nid = "q"\nfile = "staged.cg"\nvars = { x = 3, y = -4 }\nask = "grad x"\n'
    (tmp_path / "staged.cg").write_text((EXAMPLE / "staged.cg").read_text())
    sheet = "student,q\n" + "".join(f"s{k},{a}\n" for k, a in enumerate(["2.06", "2.05", "2.1", "2.04", "2.0596",
                                                                           "2.060", "2.07", "2", "1.9"]))
    result = grade(tmp_path, body, sheet, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.out)))
    # 2.07 - 2.0596 = 0.0104: more than one unit (0.01); 2 and 1.9 are within 1 and 0.1 of it? 2: yes
    assert [row["q"] for row in rows] == ["1", "1", "1", "0", "1", "1", "0", "1", "0"]
    assert abs(2.07 - staged()["dx"]) > 0.01 and abs(1.9 - staged()["dx"]) > 0.1


def test_significant_digits_are_counted_as_written():
    for text, digits, unit in (("0.20", 2, Decimal("0.01")), ("110", 3, Decimal(1)), ("1.1e2", 2, Decimal(10)),
                               ("0.0020", 2, Decimal("0.0001")), ("2.", 1, Decimal(1)), (".5", 1, Decimal("0.1")),
                               ("-1.592", 4, Decimal("0.001")), ("+3.0e-2", 2, Decimal("0.001")),
                               ("1E3", 1, Decimal(1000)), ("007", 1, Decimal(1))):
        elem = grading.read_number(text)
        assert elem.digits == digits and Decimal(elem.unit.numerator) / elem.unit.denominator == unit, text
    for zero in ("0", "0.00", "-0.0", "0e5"):
        assert grading.read_number(zero).digits is None and grading.read_number(zero).unit is None
    assert grading.read_number("11/5").unit is None and grading.read_number("11/5").value == 2.2


def q_of(correct, given=True, min_digits=1, rtol=1e-3, atol=1e-9):
    return grading.Question("q", "value", "value", None, None, 1, "x", {"x": correct}, "", None, frozenset(),
                            Tolerance(rtol, atol), given, min_digits, 1.0)


def right(text, correct, **options):
    return grading.within(grading.read_answer(text), correct, q_of(correct, **options))


def test_one_unit_in_the_last_digit_is_exclusive_and_exact():
    assert not right("2.1", 2.0) and not right("1.9", 2.0) and not right("2.01", 2.0) and right("2.0", 2.0)
    assert right("2.1", 2.05) and right("2.0", 2.05) and not right("2.10", 2.05)
    # 0.5 - 0.4 is 0.09999999999999998 in floats, exactly one unit in decimals: wrong
    assert not right("0.4", 0.5) and not right("0.6", 0.5) and right("0.4", 0.49)
    assert not right("199", 200.0) and not right("201", 200.0) and right("2.0e2", 195.5) and right("200.0", 200.0)
    assert right("1.1e2", 115.0) and not right("110", 115.0)      # 10 units against 1
    assert not right("0.3", 0.2) and right("0.2", 0.24) and not right("0.20", 0.24)   # trailing zeros count
    # every digit of float64 written out: right, though a unit of 1e-16 is finer than the float
    assert right(repr(0.1 + 0.2), 0.30000000000000004) and right("0.30000000000000004441", 0.1 + 0.2)


def test_zero_answers_fractions_and_a_true_zero_use_the_tolerance():
    assert right("0", 0.0) and right("0.000", 0.0) and right("-0", 0.0)
    assert not right("0", 0.001)                       # zero has no significant digit: rtol/atol
    assert right("0", 1e-12)                           # within atol 1e-9
    assert right("11/5", 2.2) and not right("11/5", 2.21)    # rtol 1e-3: 2.2 vs 2.21 differ by 4.5e-3
    assert right("1e-10", 0.0) and not right("1e-8", 0.0)    # a true 0: atol 1e-9
    assert not right("0.39", 0.3932, given=False)      # digits = "tolerance": rtol 1e-3
    assert right("0.3932", 0.3932001, given=False)


def reference_right(text: str, true: float, rtol=1e-3, atol=1e-9) -> bool:
    """The issue's rule written with Decimal: within one unit of the last significant digit as written
    (or 1e-9 relative), rtol/atol for a zero answer or a true 0."""
    answer, exact = Decimal(text), Decimal(repr(true))   # the true value as its shortest decimal
    difference = abs(answer - exact)
    if answer == 0 or true == 0:
        return difference <= max(Decimal(rtol) * max(abs(answer), abs(exact)), Decimal(atol))
    unit = Decimal(1).scaleb(answer.as_tuple().exponent)
    return difference < unit or difference <= Decimal("1e-9") * abs(exact)


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-6),
       st.floats(-0.05, 0.05), st.integers(1, 8), st.sampled_from(["f", "e", "g"]))
def test_digits_given_against_a_decimal_reference(true, noise, digits, style):
    shown = true * (1 + noise)
    text = f"{shown:.{digits}{style}}"
    assert right(text, true) == reference_right(text, true), text


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: abs(v) > 1e-6), st.integers(1, 8))
def test_the_true_value_rounded_is_always_right_and_two_units_off_never(true, digits):
    rounded = f"{true:.{digits - 1}e}"
    assert right(rounded, true)
    unit = 10.0 ** (int(rounded.split("e")[1]) - (digits - 1))
    off = Decimal(rounded) + 2 * Decimal(repr(unit))
    assert not right(str(off), true)


def test_min_digits(tmp_path):
    body = question("x", "{ x = 2.2 }", "value", "min_digits = 2\n")
    result = grade(tmp_path, body, "student,q\nana,2\nben,2.2\ncy,0.0\ndi,2.\n", "--format", "json")
    answers = [s["answers"]["q"] for s in result.json()["students"]]
    assert [a["passed"] for a in answers] == [False, True, False, False]
    assert answers[0]["message"] == "q value: your answer 2 has 1 significant digit; give at least 2; correct 2.2"
    assert answers[2]["message"] == "q value: your answer 0.0; correct 2.2"   # zero: judged by rtol, no digit count
    bad = grade(tmp_path, question("x", "{ x = 2.2 }", "value", 'min_digits = 2\ndigits = "tolerance"\n'), "student,q\n")
    assert bad.code == 2 and "min_digits counts the digits of an answer judged with digits = \"given\"" in bad.err


# ----------------------------------------------------------------------------- blank, junk, columns

def test_blank_and_junk_cells_fail_that_question_only(tmp_path):
    body = question("x*y", "{ x = 1.5, y = 2 }", "grad x") + '\n[[question]]\nid = "r"\nexpr = "x*y"\n' \
        'vars = { x = 1.5, y = 2 }\nask = "grad y"\n'
    sheet = ("student,q,r\nana,,1.5\nben,n/a,1.5\ncy,N/A,1.5\ndi,-,1.5\neve,abc,1.5\nfay,\"2,0\",1.5\n"
             "gil,[2,1.5\nhal,1/0,1.5\n")
    result = grade(tmp_path, body, sheet, "--format", "json")
    assert result.code == 0 and "Traceback" not in result.err
    students = {s["student"]: s for s in result.json()["students"]}
    messages = {name: s["answers"]["q"]["message"] for name, s in students.items()}
    for name in ("ana", "ben", "cy", "di"):
        assert messages[name] == "q grad x: no answer; correct 2"
    assert messages["eve"] == "q grad x: not a number: 'abc'; correct 2"
    assert messages["fay"] == "q grad x: not a number: '2,0' (a decimal comma: write 2.0); correct 2"
    assert messages["hal"] == "q grad x: 1/0 divides by zero; correct 2"
    assert students["gil"]["answers"]["q"]["passed"] is False
    assert all(s["answers"]["r"]["passed"] for name, s in students.items() if name != "gil")
    assert {name: s["score"] for name, s in students.items()} == {
        "ana": 1, "ben": 1, "cy": 1, "di": 1, "eve": 1, "fay": 1, "gil": 1, "hal": 1}
    # gil's row has 3 cells for 3 columns: '[2' and '1.5'; read as written
    assert students["gil"]["answers"]["q"]["message"].startswith("q grad x: not a tensor")


def test_extra_and_missing_columns_are_reported_once(tmp_path):
    body = question("x", "{ x = 2 }", "value") + '\n[[question]]\nid = "r"\nexpr = "x"\nvars = { x = 2 }\nask = "value"\n'
    sheet = "student,email,Q\n" + "".join(f"s{k},s{k}@uni,2\n" for k in range(40))
    result = grade(tmp_path, body, sheet, "--format", "csv")
    assert result.code == 0
    notes = result.err.strip().split("\n")
    assert len(notes) == 2, notes
    assert "columns that are no question of the key, not graded: email, Q (did you mean q?)" in notes[0]
    assert 'no column for questions q, r: every student\'s answer there is "no answer"' in notes[1]


def test_a_row_longer_than_its_header_is_not_graded_cell_by_cell(tmp_path):
    body = question("x", "{ x = 0.39 }", "value")
    result = grade(tmp_path, body, "student,q\nana,0,39\nben,0.39\n", "--format", "json")
    assert result.err.count("line 2 has more cells than the header; its answers are not graded") == 1
    assert answers_of(result, "ana")["q"]["message"].startswith("q value: the row has 3 cells and the header 2")
    assert answers_of(result, "ben")["q"]["passed"]


def test_answers_as_json_lines(tmp_path):
    body = question("x", "{ x = 0.2 }", "value", "min_digits = 2\n")
    sheet = '{"student": "ana", "q": 0.20}\n{"student": "ben", "q": 0.2}\n{"student": "cy", "q": null}\n' \
            '{"name": "di", "q": "0.20"}\n{"student": 7, "q": [0.20]}\n'
    result = grade(tmp_path, body, sheet, "--format", "json", name="answers.jsonl")
    assert result.code == 0, result.err
    students = result.json()["students"]
    assert [s["student"] for s in students] == ["ana", "ben", "cy", "(line 4)", "7"]
    assert [s["answers"]["q"]["passed"] for s in students] == [True, False, False, True, False]
    assert students[0]["answers"]["q"]["answer"] == "0.20"        # the number as written
    assert students[4]["answers"]["q"]["diagnosis"] == "the answer has shape [1], the correct one scalar"
    assert "lines without a student id, named by their line: 4" in result.err
    by_name = grade(tmp_path, body, sheet, "--format", "json", "--id", "name", name="answers.jsonl")
    assert by_name.json()["students"][3]["student"] == "di"


def test_id_column(tmp_path):
    body = question("x", "{ x = 2 }", "value")
    result = grade(tmp_path, body, "q,login\n2.0,ana\n3.0,ben\n", "--id", "login", "--format", "csv")
    assert result.out.splitlines()[1:] == ["ana,1,1,1", "ben,0,1,0"]
    wrong = grade(tmp_path, body, "q,login\n2.0,ana\n", "--id", "logn")
    assert wrong.code == 2 and "no column logn (--id); did you mean 'login'?" in wrong.err


# ----------------------------------------------------------------------------- formula answers

SIG = question("1/(1+exp(-x))", "{ x = 1 }", "formula x")


def test_formula_answers_in_several_spellings_and_their_slips(tmp_path):
    sheet = ("student,q\nana,sigmoid(x)*(1-sigmoid(x))\nben,exp(-x)/(1+exp(-x))^2\ncy,-exp(-x)/(1+exp(-x))^2\n"
             "di,sigmoid(x)\neve,0.19661193324148185\nfay,s*(1-s)\ngil,sigmoid(x)*(1-sigmoid(x)\n")
    result = grade(tmp_path, SIG, sheet, "--format", "json")
    students = {s["student"]: s["answers"]["q"] for s in result.json()["students"]}
    assert students["ana"]["passed"] and students["ben"]["passed"]
    assert students["cy"]["diagnosis"] == "the sign is wrong"
    assert students["di"]["diagnosis"] == "that is the output's value, not a gradient"
    assert students["eve"]["diagnosis"] == "a number is right at one point only: write the formula"
    assert "at a point near the key's (x = " in students["eve"]["message"]
    assert students["fay"]["message"].startswith("q formula x: your formula uses s, which is not a variable of "
                                                 "this question (x)")
    assert students["gil"]["message"].startswith("q formula x: your formula does not read: unexpected end of input "
                                                 "at line 1, column 25")
    assert students["ana"]["correct"] == pytest.approx(sigmoid(1) * (1 - sigmoid(1)), rel=1e-12)


def test_formula_points_are_the_same_for_every_student_and_change_with_the_seed(tmp_path):
    sheet = "student,q\nana,0.19661193324148185\nben,0.19661193324148185\n"   # right at x = 1 only
    first = grade(tmp_path, SIG, sheet, "--format", "json")
    messages = [s["answers"]["q"]["message"] for s in first.json()["students"]]
    assert messages[0] == messages[1]
    again = grade(tmp_path, SIG, sheet, "--format", "json")
    assert [s["answers"]["q"]["message"] for s in again.json()["students"]] == messages   # fixed seed
    other = grade(tmp_path, SIG, sheet, "--format", "json", "--random-seed", "7")
    assert other.json()["students"][0]["answers"]["q"]["message"] != messages[0]
    # the seed's points as documented: random.Random(seed), x + u*0.1*max(1, |x|)
    import random

    rng = random.Random(0)
    x1 = 1 + rng.uniform(-1, 1) * 0.1
    assert f"at a point near the key's (x = {x1:.4g})" in messages[0]
    assert grading.truths(grading.load_key(str(tmp_path / "key.toml")))[0].points[1]["x"] == x1


def test_a_formula_answer_is_limited_to_ten_thousand_characters(tmp_path):
    long = "+".join(["0*x"] * 2600)   # 10,399 characters
    result = grade(tmp_path, SIG, f"student,q\nana,{long}\n", "--format", "json")
    assert answers_of(result)["q"]["message"].startswith("q formula x: your formula is longer than 10,000 characters")


def test_every_program_is_evaluated_once_per_run(monkeypatch):
    calls = []
    original = grading.evaluate
    monkeypatch.setattr(grading, "evaluate", lambda *args, **kw: calls.append(1) or original(*args, **kw))
    key = grading.load_key(str(KEY))
    truths = grading.truths(key)
    after_truths = len(calls)
    grading.grade(key.questions, truths, grading.read_sheet(str(ANSWERS), key.questions))
    assert len(calls) == after_truths
    # four programs at their points (staged, neuron, sigmoid, apple), two formula questions' 5 points near
    assert after_truths == 4 + 2 * 5


# ----------------------------------------------------------------------------- formats

def test_json_has_exactly_the_issues_keys():
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "json")
    document = result.json()
    assert set(document) == JSON_KEYS and next(iter(document)) == "schema"
    assert all(set(q) == {"id", "ask", "correct", "points"} for q in document["questions"])
    for student in document["students"]:
        assert set(student) == {"student", "score", "max", "answers"}
        assert list(student["answers"]) == [q["id"] for q in document["questions"]]
        assert all(set(answer) == ANSWER_KEYS for answer in student["answers"].values())
        assert student["score"] == sum(a["points"] for a in student["answers"].values())


def test_hide_correct_leaves_out_every_correct_value():
    shown = run_cgraph("grade", KEY, ANSWERS, "--format", "json")
    hidden = run_cgraph("grade", KEY, ANSWERS, "--format", "json", "--hide-correct")
    assert {s["student"]: s["score"] for s in hidden.json()["students"]} == SCORES
    assert all(q["correct"] is None for q in hidden.json()["questions"])
    answers = [a for s in hidden.json()["students"] for a in s["answers"].values()]
    assert all(a["correct"] is None and "correct" not in a["message"] for a in answers)
    emma = answers_of(hidden, "emma")["dx"]["message"]
    assert emma == "dx grad x: your answer -2.06 is not right (the sign is wrong)"
    assert answers_of(shown, "emma")["dx"]["message"] == "dx grad x: your answer -2.06; correct 2.06 (the sign is wrong)"


def test_csv_is_a_spreadsheet_of_ones_and_zeros():
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[0] == ["student", "score", "max", "f", "dx", "dy", "dden", "dxpy", "out", "dw0", "dx0", "dsig",
                       "dprice", "dtax", "fprice"]
    assert {row[0]: int(row[1]) for row in rows[1:]} == SCORES
    assert all(set(row[3:]) <= {"0", "1"} and row[2] == "15" for row in rows[1:])
    assert next(row for row in rows if row[0] == "emma")[3:] == ["1", "0", "1", "0", "1", "1", "0", "1", "0", "1",
                                                                 "1", "1"]


def test_junit_has_a_suite_per_student_and_the_junit10_structure():
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "junit")
    assert result.code == 0 and junit10_errors(result.out) == []
    root = ET.fromstring(result.out)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == list(SCORES)
    emma = next(s for s in suites if s.get("name") == "emma")
    assert emma.get("tests") == "12" and emma.get("failures") == "4"
    failure = emma.find("testcase[@name='dx: grad x']/failure")
    assert failure.get("message") == "dx grad x: your answer -2.06; correct 2.06 (the sign is wrong)"
    xml = junitparser.JUnitXml.fromstring(result.out)
    assert sum(1 for suite in xml for _ in suite) == 32 * 12


def test_junit_writes_its_one_error_document_on_exit_2(tmp_path):
    bad = key_file(tmp_path, '[[question]]\nid = "q"\nexpr = "x"\nvars = { x = 1 }\nask = "value"\npoints = "two"\n')
    result = run_cgraph("grade", bad, ANSWERS, "--format", "junit")
    assert result.code == 2 and junit10_errors(result.out) == []
    error = ET.fromstring(result.out).find("testsuite/testcase/error")
    assert "points must be a number from 0 to 10^9" in error.get("message")
    assert "key error:" in result.err and "Traceback" not in result.err
    missing = run_cgraph("grade", KEY, tmp_path / "nowhere.csv", "--format", "junit")
    assert missing.code == 2 and junit10_errors(missing.out) == [] and "cannot read" in missing.out


def test_gradescope_results_json_has_the_documented_fields():
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "gradescope", "--student", "emma")
    assert result.code == 0
    document = result.json()
    # Gradescope's autograder specification: top-level score, output, extra_data, tests; each test
    # score, max_score, name, number (a string), output
    assert set(document) <= {"score", "execution_time", "output", "visibility", "stdout_visibility", "extra_data",
                             "tests", "leaderboard"}
    assert document["score"] == 9 and document["extra_data"] == {"schema": 1, "student": "emma"}
    for test in document["tests"]:
        assert set(test) <= {"score", "max_score", "name", "number", "output", "tags", "visibility", "extra_data"}
        assert isinstance(test["number"], str) and isinstance(test["name"], str)
        assert isinstance(test["score"], (int, float)) and 0 <= test["score"] <= test["max_score"]
    assert sum(test["score"] for test in document["tests"]) == document["score"]
    assert sum(test["max_score"] for test in document["tests"]) == 15
    several = run_cgraph("grade", KEY, ANSWERS, "--format", "gradescope")
    assert several.code == 2 and "name one with --student ID" in several.err and several.out == ""
    typo = run_cgraph("grade", KEY, ANSWERS, "--format", "gradescope", "--student", "emmma")
    assert typo.code == 2 and "did you mean emma?" in typo.err


def test_markdown_and_feedback_files(tmp_path):
    md = run_cgraph("grade", KEY, ANSWERS, "--format", "md")
    assert md.out.startswith("# Grades: ") and "| emma | 9 | 15 | dx, dden, dw0, dsig |" in md.out
    out = tmp_path / "feedback"
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "md", "--out-dir", out)
    assert result.code == 0 and "wrote 32 feedback files to" in result.err
    assert len(list(out.glob("*.md"))) == 32
    emma = (out / "emma.md").read_text(encoding="utf-8")
    assert emma.startswith("# emma: 9 of 15 points")
    assert "- **wrong** (0 of 2): dx grad x: your answer -2.06; correct 2.06 (the sign is wrong)" in emma
    text = run_cgraph("grade", KEY, ANSWERS, "--out-dir", tmp_path / "txt")
    assert text.code == 0 and (tmp_path / "txt" / "zoë.txt").read_text(encoding="utf-8").startswith(
        "zoë: 15 of 15 points\n\nright  (1 of 1)  f value: your answer 1.55 is right\n")
    refused = run_cgraph("grade", KEY, ANSWERS, "--format", "json", "--out-dir", tmp_path / "j")
    assert refused.code == 2 and "--out-dir writes feedback in a text format" in refused.err


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_the_table_keeps_every_number_whole(columns):
    result = runner({"COLUMNS": str(columns)})("grade", KEY, ANSWERS)
    assert result.code == 0
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= columns
    for student, score in SCORES.items():
        assert re.search(rf"{re.escape(student)}\s*│\s*{score} │\s*15 │", result.out), student
    assert "32 students, 12 questions, 15 points: mean 11.03, median 11.5" in " ".join(result.out.split())


# ----------------------------------------------------------------------------- exit codes and the key

def test_fail_under_exits_1_after_the_report():
    assert run_cgraph("grade", KEY, ANSWERS, "--fail-under", "0").code == 0
    below = run_cgraph("grade", KEY, ANSWERS, "--fail-under", "1", "--format", "csv")   # sam: 0 of 15
    assert below.code == 1 and below.out.count("\n") == 33
    assert run_cgraph("grade", KEY, ANSWERS, "--student", "pia", "--fail-under", "26").code == 0   # 26.7%
    assert run_cgraph("grade", KEY, ANSWERS, "--student", "pia", "--fail-under", "27").code == 1
    assert run_cgraph("grade", KEY, ANSWERS, "--student", "ana", "--fail-under", "100").code == 0


@pytest.mark.parametrize("body, message", [
    ('[[question]]\nid = "q"\nexpr = "x*y"\nvars = { x = 1, y = 2 }\nask = "grda x"\n',
     "(question 'q', key 'ask', line 7): 'grda' is not something to ask; did you mean 'grad'?"),
    ('[[question]]\nid = "q"\nexpr = "x*y"\nvars = { x = 1, y = 2 }\nask = "grad z"\n',
     "(question 'q', key 'ask', line 7): the program has no variable or assigned name z (it has: x, y)"),
    ('[[question]]\nid = "q"\nexpr = "s = x*y; s"\nvars = { x = 1, y = 2 }\nask = "value t"\n',
     "the program assigns no t (it has: s)"),
    ('[[question]]\nid = "q"\nexpr = "x*y"\nvars = { x = 1, y = 2 }\nask = "grad x"\npionts = 2\n',
     "(question 'q', key 'pionts', line 8): unknown key in a question; did you mean 'points'?"),
    ('[[question]]\nid = "q"\nexpr = "log(x)"\nvars = { x = -1 }\nask = "grad x"\n',
     "(question 'q', key 'expr', line 5): the question's program fails: evaluation error: log needs a positive"),
    ('[[question]]\nid = "q"\nfile = "missing.cg"\nvars = { x = -1 }\nask = "grad x"\n',
     "(question 'q', key 'file', line 5): cannot read missing.cg"),
    ('[[question]]\nid = "q"\nexpr = "x"\nvars = { x = 1 }\nask = "value"\n[[question]]\nid = "q"\nexpr = "x"\n'
     'vars = { x = 1 }\nask = "value"\n', "the id 'q' is also question 1's"),
    ('[[question]]\nid = "q"\nexpr = "x"\nvars = { x = 1 }\nask = "value"\ndigits = "giv"\n',
     "did you mean 'given'?"),
    ('[[question]]\nid = "q"\nexpr = "sum(W)"\nvars = { W = [1, 2] }\nask = "formula W"\n',
     "a formula question works on scalar formulas"),
    ('[[question]]\nid = "q"\nexpr = "sum(W)"\nvars = { W = [1, 2] }\nask = "grad W[2]"\n',
     "grad W[2]: the gradient of W has shape [2]; indices count from 0"),
    ('rtoll = 1\n[[question]]\nid = "q"\nexpr = "x"\nvars = { x = 1 }\nask = "value"\n',
     "(defaults, key 'rtoll', line 3): unknown key in a file-level default; did you mean 'rtol'?"),
    ("", "no questions"),
])
def test_a_malformed_key_is_exit_2_with_where(tmp_path, body, message):
    result = grade(tmp_path, body, "student,q\nana,1\n")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("cgraph: key error: ") and message in result.err, result.err
    assert "Traceback" not in result.err and result.err.count("\n") <= 4


def test_a_key_in_json_lines_grades_as_the_toml_one(tmp_path):
    lines = ['{"defaults": {"digits": "given", "rtol": 1e-3}}',
             '{"id": "q", "expr": "x*y", "vars": {"x": 1.5, "y": 2}, "ask": "grad x", "points": 2}']
    key = write(tmp_path, "key.jsonl", "\n".join(lines) + "\n")
    answers = write(tmp_path, "answers.csv", "student,q\nana,2.0\nben,-2.0\n")
    result = run_cgraph("grade", key, answers, "--format", "json")
    assert [s["score"] for s in result.json()["students"]] == [2, 0]
    broken = write(tmp_path, "bad.jsonl", lines[0] + '\n{"id": "q", "ask": "grad x", "expr": "x", "vars": {"x": 1}, '
                                                     '"point": 1}\n')
    failed = run_cgraph("grade", broken, answers)
    assert failed.code == 2 and "(question 'q', key 'point', line 2): unknown key in a question; did you mean " \
                                "'points'?" in failed.err


def test_unreadable_answers_are_exit_2(tmp_path):
    key = key_file(tmp_path, question("x", "{ x = 1 }", "value"))
    for text, message in (('{"student": "ana"\n', "line 1: not valid JSON"),
                          ("student,q,q\nana,1,1\n", "the column 'q' appears twice"),
                          ("\n\n", "no header")):
        suffix = ".jsonl" if text.startswith("{") else ".csv"
        result = run_cgraph("grade", key, write(tmp_path, "bad" + suffix, text))
        assert result.code == 2 and message in result.err and "Traceback" not in result.err
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"student,q\n\xff\xfe,1\n")
    assert run_cgraph("grade", key, binary).code == 2


def test_points_are_partial_credit(tmp_path):
    body = question("x", "{ x = 2 }", "value", "points = 0.5\n") + \
        '\n[[question]]\nid = "r"\nexpr = "x"\nvars = { x = 3 }\nask = "value"\npoints = 2\n'
    result = grade(tmp_path, body, "student,q,r\nana,2.0,3.0\nben,2.0,\ncy,,3.0\n", "--format", "json")
    assert [(s["score"], s["max"]) for s in result.json()["students"]] == [(2.5, 2.5), (0.5, 2.5), (2, 2.5)]
    assert result.json()["max"] == 2.5


@settings(max_examples=20, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-2, 2))
def test_the_truth_of_a_gradient_question_is_the_derivative(a, b, x):
    """grad x of a*x^2 + b*sin(x): 2*a*x + b*cos(x), and the central difference agrees."""
    key = grading.Key("k", [grading.Question("q", "grad x", "grad", "x", None, 1, "a*x^2 + b*sin(x)",
                                             {"a": a, "b": b, "x": x}, "", None, frozenset(["a", "b"]),
                                             Tolerance(), False, 1, 1.0)], None)
    correct = grading.truths(key)[0].correct
    expected = 2 * a * x + b * math.cos(x)
    assert correct == pytest.approx(expected, rel=1e-9, abs=1e-12)
    h = 1e-6

    def f(v):
        return a * v * v + b * math.sin(v)

    assert correct == pytest.approx((f(x + h) - f(x - h)) / (2 * h), rel=1e-5, abs=1e-6)


def test_formula_slips_of_the_apple_example():
    result = run_cgraph("grade", KEY, ANSWERS, "--format", "json")
    assert answers_of(result, "mateo")["fprice"]["diagnosis"] == \
        "that is the local derivative of price*count with respect to price: the upstream gradient is missing"
    assert answers_of(result, "lena")["fprice"]["diagnosis"] == "that is the gradient of tax"
    assert answers_of(result, "jade")["fprice"]["diagnosis"] == "that is the output's value, not a gradient"
    assert answers_of(result, "dev")["fprice"]["passed"]        # 2*1.1*count/2*tax/1.1 is count*tax
    hidden = run_cgraph("grade", KEY, ANSWERS, "--format", "json", "--hide-correct", "--student", "mateo")
    assert answers_of(hidden)["fprice"]["message"] == (
        "fprice formula price: your formula count gives 2 at the key's point (count = 2, price = 100, tax = 1.1), "
        "which is not right (that is the local derivative of price*count with respect to price: the upstream "
        "gradient is missing)")


@pytest.mark.parametrize("cell, message", [
    ("1e999", "1e999 is outside the range of numbers (exponent 999)"),
    ("\x1b[31m2", "not a number: '\\x1b[31m2'"),
    ("[" * 40 + "1" + "]" * 40, "not a tensor: more than 32 dimensions"),
    ("1/3/4", "not a number: '1/3/4'"),
    ("0x10", "not a number: '0x10'"),
    ("[]", "not a tensor: its rows differ in length (or one is empty)"),
    ("9" * 401, "(longer than 400 characters)"),
])
def test_odd_cells_fail_their_question_with_a_message(tmp_path, cell, message):
    answer = diagnose(tmp_path, "x", "{ x = 2 }", "value", f'"{cell}"')
    assert message in answer["message"] and not answer["passed"]


@pytest.mark.parametrize("formula", ["ones((10000, 10000))", "np.zeros((10000, 10000))", "[x, 1]", "x[0]"])
def test_a_formula_answer_with_tensors_is_refused_before_it_is_built(tmp_path, formula):
    result = grade(tmp_path, SIG, f'student,q\nana,"{formula}"\n', "--format", "json")
    assert answers_of(result)["q"]["message"].startswith("q formula x: your formula uses tensors; this answer is "
                                                         "a number")


def test_csv_rows_are_named_by_the_line_they_start_on_and_long_cells_are_cells(tmp_path):
    body = question("x", "{ x = 2 }", "value")
    result = grade(tmp_path, body, 'student,q\nana,"2\n"\n,2.0\n' + "ben," + "7" * 200_000 + "\n", "--format", "json")
    assert result.code == 0, result.err
    students = result.json()["students"]
    assert [s["student"] for s in students] == ["ana", "(line 4)", "ben"]
    assert students[2]["answers"]["q"]["message"].startswith("q value: not a number: '7777")
    semicolon = grade(tmp_path, body, "student;q\nana;2,0;x\n", "--format", "json")
    assert answers_of(semicolon)["q"]["message"].startswith("q value: the row has 3 cells and the header 2: a stray ';'?")


def test_a_quote_never_closed_is_a_sheet_error_not_one_long_student(tmp_path):
    sheet = tmp_path / "answers.csv"
    sheet.write_text('student,dx\n"s1,3\ns2,2.06\n')
    result = run_cgraph("grade", str(KEY), str(sheet))
    assert result.code == 2 and result.out == ""
    assert "never closed" in result.err
