"""`cgraph check CASES`: every exit code path, the schema's strictness, and the JSON and JUnit reports."""

import json
import math
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest

from cli_run import cgraph

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "course-check"

APPLE = """
[[case]]
name = "apple"
expr = "subtotal = price*count; subtotal*tax"
vars = { price = 100, count = 2, tax = 1.1 }
value = 220
grad = { price = 2.2, count = 110, tax = 200 }
nodes = { subtotal = { value = 200, grad = 1.1 } }
"""


def write(tmp_path, text, name="cases.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def check_json(path, *more):
    result = cgraph("check", path, "--format", "json", *more)
    return result, json.loads(result.out) if result.out else None


# ----------------------------------------------------------------------------- exit 0 and 1

def test_all_pass_exits_0_with_the_summary(tmp_path):
    result = cgraph("check", write(tmp_path, APPLE))
    assert result.code == 0, result.err
    assert "1 passed, 0 failed" in result.out
    assert result.err == ""


def test_apple_checks_every_number(tmp_path):
    result, report = check_json(write(tmp_path, APPLE))
    assert result.code == 0
    (case,) = report["cases"]
    checks = {check["what"]: check for check in case["checks"]}
    assert set(checks) == {"value", "grad price", "grad count", "grad tax", "subtotal", "subtotal.grad"}
    assert checks["value"]["got"] == pytest.approx(220, rel=1e-15)
    assert checks["grad count"]["got"] == pytest.approx(110, rel=1e-15)
    assert checks["subtotal.grad"]["got"] == pytest.approx(1.1, rel=1e-15)
    assert checks["value"]["difference"] == pytest.approx(abs(100 * 2 * 1.1 - 220))
    assert all(check["passed"] for check in case["checks"])
    assert (report["passed"], report["failed"]) == (1, 0)


def test_one_failing_case_exits_1_and_says_what_differed(tmp_path):
    text = APPLE + """
[[case]]
name = "wrong"
expr = "(x+y)^2"
vars = { x = 1, y = 3 }
value = 16
grad = { x = 8, y = 7 }
"""
    result = cgraph("check", write(tmp_path, text))
    assert result.code == 1
    assert "1 passed, 1 failed" in result.out
    assert "FAIL" in result.out
    _, report = check_json(write(tmp_path, text))
    wrong = report["cases"][1]
    assert wrong["passed"] is False
    failed = [check for check in wrong["checks"] if not check["passed"]]
    assert [(c["what"], c["expected"], c["got"], c["difference"]) for c in failed] == [("grad y", 7, 8, 1)]


def test_a_program_that_does_not_parse_is_a_failed_case_not_a_broken_file(tmp_path):
    text = """
[[case]]
name = "implicit"
expr = "2x + 1"
vars = { x = 1 }
value = 3

[[case]]
expr = "x + 1"
vars = { x = 1 }
value = 2
"""
    result, report = check_json(write(tmp_path, text))
    assert result.code == 1
    first, second = report["cases"]
    assert first["error"].startswith("parse error:") and "2*x" in first["error"]
    assert first["exit_code"] == 2 and first["checks"] == []
    assert second["name"] == "case 2" and second["passed"] is True
    table = cgraph("check", write(tmp_path, text))
    assert "parse error" in table.out and "1 passed, 1 failed" in table.out


@pytest.mark.parametrize("expr, vars_, code", [
    ("log(x)", "{ x = 0 }", 3),            # evaluation error
    ("x + y", "{ x = 1 }", 2),             # unbound variable: the program cannot be evaluated
])
def test_errors_while_evaluating_fail_the_case(tmp_path, expr, vars_, code):
    text = f'[[case]]\nexpr = "{expr}"\nvars = {vars_}\nvalue = 1\n'
    result, report = check_json(write(tmp_path, text))
    assert result.code == 1
    assert report["cases"][0]["exit_code"] == code


def test_a_missing_named_node_fails(tmp_path):
    text = '[[case]]\nexpr = "x*2"\nvars = { x = 1 }\nnodes = { half = { value = 1 } }\n'
    result, report = check_json(write(tmp_path, text))
    assert result.code == 1
    (check,) = report["cases"][0]["checks"]
    assert check["got"] is None and "assigns no half" in check["note"]


def test_a_case_with_no_expectations_passes_when_it_evaluates(tmp_path):
    result = cgraph("check", write(tmp_path, '[[case]]\nexpr = "x"\nvars = { x = 1 }\n'))
    assert result.code == 0 and "evaluates" in result.out


# ----------------------------------------------------------------------------- tolerance

ROUNDED = '[[case]]\nexpr = "sigmoid(x)"\nvars = { x = 1 }\nvalue = 0.7311\ngrad = { x = 0.1966 }\n'


def test_default_tolerance_is_tight_and_a_file_sets_its_own(tmp_path):
    assert cgraph("check", write(tmp_path, ROUNDED)).code == 1
    assert cgraph("check", write(tmp_path, "rtol = 1e-3\n" + ROUNDED)).code == 0     # file-level
    assert cgraph("check", write(tmp_path, ROUNDED + "rtol = 1e-3\n")).code == 0     # in the case
    assert cgraph("check", write(tmp_path, ROUNDED + "atol = 1e-4\n")).code == 0


def test_tolerance_is_like_math_isclose(tmp_path):
    """Default rtol 1e-6, atol 1e-9: |a-b| <= max(rtol*max(|a|,|b|), atol)."""
    def passes(expected):
        text = f'[[case]]\nexpr = "x"\nvars = {{ x = 1000 }}\ngrad = {{ x = 1 }}\nvalue = {expected!r}\n'
        return cgraph("check", write(tmp_path, text)).code == 0

    assert passes(1000 * (1 + 0.9e-6)) and not passes(1000 * (1 + 1.1e-6))
    text = "[[case]]\nexpr = \"x - x\"\nvars = { x = 1 }\nvalue = VALUE\n"
    assert cgraph("check", write(tmp_path, text.replace("VALUE", "0.9e-9"))).code == 0
    assert cgraph("check", write(tmp_path, text.replace("VALUE", "1.1e-9"))).code == 1


def test_exact_strings_and_non_finite_expectations(tmp_path):
    text = """
[[case]]
expr = "3*x"
vars = { x = "1/3" }
value = 1
[[case]]
expr = "sqrt(x)"
vars = { x = 0 }
value = 0
grad = { x = "inf" }
[[case]]
expr = "sqrt(x)"
vars = { x = 0 }
grad = { x = inf }
"""
    result, report = check_json(write(tmp_path, text))
    assert result.code == 0, result.out
    assert report["cases"][1]["checks"][1]["got"] == "inf"
    assert float(Fraction(1, 3)) * 3 == 1.0


# ----------------------------------------------------------------------------- exit 2: the file itself

def assert_malformed(result, *fragments):
    assert result.code == 2, (result.out, result.err)
    assert result.out == ""
    assert result.err.startswith("cgraph: cases file error: ")
    for fragment in fragments:
        assert fragment in result.err, result.err


def test_malformed_toml_exits_2_with_the_line(tmp_path):
    path = write(tmp_path, '[[case]]\nexpr = "x"\nvars = { x = 1\n')
    assert_malformed(cgraph("check", path), "cases.toml", "not valid TOML", "line 3")


def test_misspelled_key_is_not_ignored(tmp_path):
    path = write(tmp_path, APPLE + '\n[[case]]\nname = "typo"\nexpr = "x"\nvars = { x = 1 }\ngrda = { x = 1 }\n')
    assert_malformed(cgraph("check", path), "case 'typo'", "key 'grda'", "line 14", "did you mean 'grad'")


def test_unknown_variable_in_a_case_exits_2(tmp_path):
    text = APPLE.replace("grad = { price = 2.2,", "grad = { pricee = 2.2,")
    assert_malformed(cgraph("check", write(tmp_path, text)), "case 'apple'", "grad.pricee", "line 7",
                     "did you mean 'price'")


def test_an_expected_tensor_gradient_of_the_wrong_shape_exits_2(tmp_path):
    text = '[[case]]\nname = "w"\nexpr = "w[0]*2"\nvars = { w = [1, 2, 3] }\ngrad = { w = [2, 0] }\n'
    assert_malformed(cgraph("check", write(tmp_path, text)), "case 'w'", "grad.w", "line 5",
                     "shape of w, [3]", "this one is [2]")
    scalar = '[[case]]\nexpr = "x"\nvars = { x = 1 }\ngrad = { x = [1] }\n'
    assert_malformed(cgraph("check", write(tmp_path, scalar)), "grad.x", "scalar")


@pytest.mark.parametrize("case, fragments", [
    ('expr = "x"\nfile = "a.cg"\nvars = { x = 1 }', ("expr or file, not both",)),
    ('vars = { x = 1 }\nvalue = 1', ("no program",)),
    ('expr = "x"\nvars = { x = "abc" }', ("vars.x", "expected a number")),
    ('expr = "x"\nvars = { x = true }', ("vars.x",)),
    ('expr = "x"\nvars = { x = [[1, 2], [3]] }', ("vars.x", "ragged tensor")),
    ('expr = "x"\nvars = { value = 1 }', ("reserved",)),
    ('expr = "x"\nvars = { x = 1 }\nvalue = "many"', ("key 'value'",)),
    ('expr = "x"\nvars = { x = 1 }\nrtol = -1', ("key 'rtol'", ">= 0")),
    ('expr = "x"\nvars = { x = 1 }\nnodes = { a = 1 }', ("nodes.a", "{ value = 200")),
    ('expr = "x"\nvars = { x = 1 }\nnodes = { a = { valeu = 1 } }', ("valeu", "did you mean 'value'")),
    ('expr = 3\nvars = { x = 1 }', ("expr must be a string",)),
])
def test_schema_errors_exit_2(tmp_path, case, fragments):
    assert_malformed(cgraph("check", write(tmp_path, "[[case]]\n" + case + "\n")), "line", *fragments)


def test_empty_and_unreadable_files_exit_2(tmp_path):
    assert_malformed(cgraph("check", write(tmp_path, "# nothing\n")), "no cases")
    assert_malformed(cgraph("check", str(tmp_path / "missing.toml")), "cannot read")
    assert_malformed(cgraph("check", write(tmp_path, "case = 3\n")), "[[case]]")
    assert_malformed(cgraph("check", write(tmp_path, "rtl = 1\n" + APPLE)), "defaults", "key 'rtl'", "line 1")


# ----------------------------------------------------------------------------- JSON Lines

def test_json_lines_with_defaults_give_the_same_report(tmp_path):
    lines = [
        {"defaults": {"rtol": 1e-3, "vars": {"tax": 1.1}}},
        {"name": "apple", "expr": "subtotal = price*count; subtotal*tax", "vars": {"price": 100, "count": 2},
         "value": 220, "grad": {"price": 2.2, "count": 110, "tax": 200},
         "nodes": {"subtotal": {"value": 200, "grad": 1.1}}},
        {"expr": "sigmoid(x)", "vars": {"x": 1}, "value": 0.7311},
    ]
    path = write(tmp_path, "\n".join(json.dumps(line) for line in lines) + "\n\n", "cases.jsonl")
    result, report = check_json(path)
    assert result.code == 0, result.out
    assert [case["line"] for case in report["cases"]] == [2, 3]
    assert report["cases"][1]["rtol"] == 1e-3
    assert len(report["cases"][0]["checks"]) == 6


@pytest.mark.parametrize("text, fragments", [
    ('{"expr": "x", "vars": {"x": 1}}\n{"expr": "x", "vars": {"x": 1}, "grda": {}}\n',
     ("case 2", "key 'grda'", "line 2")),
    ('{"expr": "x", "vars": {"x": 1}}\n{"expr": \n', ("not valid JSON", "line 2")),
    ('[1, 2]\n', ("JSON object", "line 1")),
    ('{"expr": "x", "vars": {"x": 1}}\n{"defaults": {"rtol": 1}}\n', ("must be the first line", "line 2")),
    ('{"defaults": {"rtl": 1}}\n{"expr": "x", "vars": {"x": 1}}\n', ("defaults", "key 'rtl'", "line 1")),
])
def test_json_lines_errors_name_the_line(tmp_path, text, fragments):
    assert_malformed(cgraph("check", write(tmp_path, text, "cases.jsonl")), *fragments)


def test_cases_on_standard_input():
    result = cgraph("check", "-", input='{"expr": "x*y", "vars": {"x": 2, "y": 3}, "grad": {"x": 3}}\n')
    assert result.code == 0 and "1 passed" in result.out


# ----------------------------------------------------------------------------- programs from files

def test_program_files_are_relative_to_the_cases_file(tmp_path, monkeypatch):
    (tmp_path / "answer.cg").write_text("half = x/2\nhalf*y\n")
    path = write(tmp_path, '[[case]]\nfile = "answer.cg"\nvars = { x = 4, y = 3 }\nvalue = 6\n'
                           'nodes = { half = { value = 2, grad = 3 } }\n'
                           '[[case]]\nfile = "missing.cg"\nvars = { x = 1 }\n')
    monkeypatch.chdir("/")
    result, report = check_json(path)
    assert result.code == 1
    assert report["cases"][0]["passed"] is True
    assert "cannot read missing.cg" in report["cases"][1]["error"]


def test_dash_f_gives_the_program_for_cases_without_one(tmp_path):
    cases = write(tmp_path, '[[case]]\nvars = { x = 2 }\nvalue = 4\ngrad = { x = 4 }\n'
                            '[[case]]\nexpr = "x"\nvars = { x = 1 }\nvalue = 1\n')
    good, bad = tmp_path / "good.cg", tmp_path / "bad.cg"
    good.write_text("x^2\n")
    bad.write_text("x*2\n")
    assert cgraph("check", cases, "-f", good).code == 0
    result, report = check_json(cases, "-f", str(bad))
    assert result.code == 1 and [c["passed"] for c in report["cases"]] == [False, True]


# ----------------------------------------------------------------------------- JUnit

def test_junit_parses_as_xml_with_the_right_counts(tmp_path):
    text = APPLE + """
[[case]]
name = "two wrong"
expr = "(x+y)^2"
vars = { x = 1, y = 3 }
value = 15
grad = { x = 8, y = 7 }

[[case]]
name = "does not parse"
expr = "x +* y"
vars = { x = 1, y = 1 }
"""
    result = cgraph("check", write(tmp_path, text), "--format", "junit")
    assert result.code == 1
    root = ET.fromstring(result.out)
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "0")
    assert root.get("tests") == "3" and root.get("failures") == "2"
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["apple", "two wrong", "does not parse"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure.get("message") == "2 of 3 checks differ"
    assert "value: expected 15, got 16 (difference 1)" in failure.text
    assert "grad y: expected 7, got 8 (difference 1)" in failure.text
    assert "grad x" not in failure.text
    assert cases[2].find("failure").get("type") == "parse error"
    assert failure.text.endswith(", line 10)")   # junit-10 has no line attribute on a testcase


def test_junit_is_valid_xml_with_control_characters_in_an_error(tmp_path):
    (tmp_path / "nul.cg").write_bytes(b"x \x00 y\n")
    path = write(tmp_path, '[[case]]\nname = "<&>"\nfile = "nul.cg"\nvars = { x = 1, y = 1 }\n')
    result = cgraph("check", path, "--format", "junit")
    assert result.code == 1
    assert ET.fromstring(result.out).find("testsuite/testcase").get("name") == "<&>"


# ----------------------------------------------------------------------------- the example

def test_the_course_check_example_runs(tmp_path):
    """examples/course-check/check.sh: reference cases pass; alice passes, bob and carol fail."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    env = dict(os.environ, CGRAPH=f"{sys.executable} -m cgraph_cli", REPORTS=str(tmp_path))
    done = subprocess.run([bash, str(EXAMPLE / "check.sh")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "reference: all cases pass" in lines
    assert "alice: pass" in lines
    assert "bob: FAIL (2 of 2 cases)" in lines
    assert "carol: FAIL (2 of 2 cases)" in lines
    report = json.loads((tmp_path / "reference.json").read_text())
    assert report["passed"] == 7 and report["failed"] == 0
    bob = ET.parse(tmp_path / "bob.xml").getroot()
    assert bob.get("failures") == "2"


def test_the_example_cases_hold_the_seeds_numbers():
    result, report = check_json(str(EXAMPLE / "cases.toml"))
    assert result.code == 0
    staged = next(case for case in report["cases"] if case["name"] == "staged backward pass")
    got = {check["what"]: check["got"] for check in staged["checks"]}
    x, y = 3.0, -4.0
    sigy, sigx = 1 / (1 + math.exp(-y)), 1 / (1 + math.exp(-x))
    num, den = x + sigy, sigx + (x + y) ** 2
    assert got["value"] == pytest.approx(num / den, rel=1e-15)
    assert got["den.grad"] == pytest.approx(-num / den ** 2, rel=1e-15)
    assert got["sigy.grad"] == pytest.approx(1 / den, rel=1e-15)


# ----------------------------------------------------------------------------- shell completion

def test_shell_completion_scripts_and_command_names():
    """click's built-in completion, as the README documents it: the script, then the lazy commands."""
    env = dict(os.environ, _CGRAPH_COMPLETE="bash_source")
    script = subprocess.run([sys.executable, "-m", "cgraph_cli"], capture_output=True, text=True, env=env)
    assert script.returncode == 0 and "_cgraph_completion()" in script.stdout
    env = dict(os.environ, _CGRAPH_COMPLETE="bash_complete", COMP_WORDS="cgraph gr", COMP_CWORD="1")
    words = subprocess.run([sys.executable, "-m", "cgraph_cli"], capture_output=True, text=True, env=env)
    assert {"plain,grad", "plain,gradcheck"} <= set(words.stdout.split())
    env.update(COMP_WORDS="cgraph check --format ", COMP_CWORD="3")
    choices = subprocess.run([sys.executable, "-m", "cgraph_cli"], capture_output=True, text=True, env=env)
    assert choices.stdout.split() == ["plain,table", "plain,json", "plain,junit"]


def test_deeply_nested_values_are_a_malformed_file_not_a_crash(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    jsonl = write(tmp_path, '{"expr": "x", "vars": {"x": 1}, "value": ' + deep + "}\n", "cases.jsonl")
    assert_malformed(cgraph("check", jsonl), "nested too deeply", "line 1")
    toml = write(tmp_path, '[[case]]\nexpr = "x"\nvars = { x = 1 }\nvalue = ' + deep + "\n")
    assert_malformed(cgraph("check", toml), "nested too deeply")
    text = write(tmp_path, f'[[case]]\nexpr = "x"\nvars = {{ x = 1 }}\nvalue = "{deep}"\n')
    assert_malformed(cgraph("check", text), "key 'value'", "not a list of numbers")


def test_rich_markup_in_names_and_formulas_is_shown_as_text(tmp_path):
    path = write(tmp_path, '[[case]]\nname = "[/oops] [bold]x"\nexpr = "x"\nvars = { x = 1 }\nvalue = 2\n')
    result = cgraph("check", path)
    assert result.code == 1 and "[/oops] [bold]x" in result.out
    gradcheck = cgraph("gradcheck", "x", "--x", 1, "--against", "[x]")
    assert gradcheck.code == 1 and "against: [x]" in gradcheck.out
