"""`cgraph check A.toml B.jsonl ...`: several cases files (a section each and a total; JSON and JUnit
per file), concatenated JSON Lines with a defaults line per part, program files named in every
message about them (once), and a malformed cases file still giving a valid JUnit document."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
import pytest

from cgraph_cli import cases as cases_module
from cgraph_cli.cases import in_file, load, run_case
from cli_run import cgraph
from test_junit import junit10_errors

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "course-check"

GOOD = '[[case]]\nname = "square"\nexpr = "(x+y)^2"\nvars = { x = 1, y = 3 }\nvalue = 16\ngrad = { x = 8 }\n'
BAD = ('{"name": "product", "expr": "x*y", "vars": {"x": 2, "y": 3}, "value": 6}\n'
       '{"name": "wrong", "expr": "x*y", "vars": {"x": 2, "y": 3}, "grad": {"x": 2}}\n')


@pytest.fixture
def two(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.jsonl").write_text(BAD)
    return str(tmp_path / "a.toml"), str(tmp_path / "b.jsonl")


# ----------------------------------------------------------------------------- several files

def test_the_table_has_a_section_per_file_and_a_total(two):
    result = cgraph("check", *two)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines.count(two[0]) == 1 and lines.count(two[1]) == 1
    assert lines.index(two[0]) < lines.index(two[1])
    assert lines[0] == two[0] and lines[-1] == "total: 2 passed, 1 failed in 2 files"
    first, second = lines.index(two[0]), lines.index(two[1])
    assert lines[second - 2:second] == ["1 passed, 0 failed", ""] and lines[-2] == "1 passed, 1 failed"
    assert "square" in "".join(lines[first:second]) and "wrong" in "".join(lines[second:])


def test_every_file_passing_exits_0(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "c.toml").write_text(GOOD.replace("square", "again"))
    result = cgraph("check", tmp_path / "a.toml", tmp_path / "c.toml")
    assert result.code == 0 and result.out.splitlines()[-1] == "total: 2 passed, 0 failed in 2 files"


def test_one_file_keeps_its_report_and_adds_schema(two):
    result = cgraph("check", two[0], "--format", "json")
    report = json.loads(result.out)
    assert list(report) == ["schema", "file", "passed", "failed", "cases"]
    assert (report["schema"], report["file"], report["passed"], report["failed"]) == (1, two[0], 1, 0)
    table = cgraph("check", two[0])
    assert "total" not in table.out and two[0] not in table.out.splitlines()


def test_json_of_several_files(two):
    result = cgraph("check", *two, "--format", "json")
    report = json.loads(result.out)
    assert list(report) == ["schema", "files", "passed", "failed"]
    assert (report["schema"], report["passed"], report["failed"]) == (1, 2, 1)
    first, second = report["files"]
    assert (first["file"], first["passed"], first["failed"]) == (two[0], 1, 0)
    assert (second["file"], second["passed"], second["failed"]) == (two[1], 1, 1)
    assert [case["name"] for case in second["cases"]] == ["product", "wrong"]
    assert second["cases"][1]["checks"][0]["got"] == 3.0 and "schema" not in second


def test_junit_of_several_files_has_a_testsuite_each(two):
    result = cgraph("check", *two, "--format", "junit")
    assert result.code == 1 and junit10_errors(result.out) == []
    suites = list(junitparser.JUnitXml.fromstring(result.out))
    assert [(suite.name, suite.tests, suite.failures, suite.errors) for suite in suites] == \
        [(two[0], 1, 0, 0), (two[1], 2, 1, 0)]
    wrong = [case for case in suites[1] if case.name == "wrong"][0]
    assert wrong.classname == "b" and "grad x: expected 2, got 3" in wrong.result[0].text
    assert ET.fromstring(result.out).get("tests") == "3"


def test_standard_input_is_given_once(two):
    result = cgraph("check", "-", "-", input=BAD)
    assert result.code == 2 and "'-' (standard input) can be given once" in result.err
    both = cgraph("check", two[0], "-", input=BAD)
    assert "- (standard input)" in both.out.splitlines() and both.code == 1
    assert cgraph("check", two[0], "-", "--format", "json", input=BAD).json()["files"][1]["file"] == "-"


def test_notes_name_their_file_when_there_are_several(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD.replace("vars = { x = 1, y = 3 }", "vars = { x = 1, y = 3, z = 0 }"))
    (tmp_path / "b.toml").write_text(GOOD)
    one = cgraph("check", tmp_path / "a.toml")
    assert "case square: z is bound but not used in the formula" in one.err
    several = cgraph("check", tmp_path / "a.toml", tmp_path / "b.toml")
    assert f"{tmp_path / 'a.toml'}: case square: z is bound" in several.err


# ----------------------------------------------------------------------------- a malformed file

@pytest.mark.parametrize("name, text, fragment", [
    ("bad.toml", '[[case]]\nexpr = "x"\nvars = { x = 1 }\ngrda = { x = 1 }\n', "did you mean 'grad'?"),
    ("bad.toml", "[[case]\n", "not valid TOML"),
    ("bad.toml", "rtol = 1\n", "no cases"),
    ("bad.jsonl", '{"expr": "x", "vars": {"x": 1}}\n{"expr": \n', "not valid JSON"),
    ("bad.toml", b"\xff\xfe[[case]]", "not UTF-8"),
])
def test_a_malformed_file_still_writes_one_error_testcase(tmp_path, name, text, fragment):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = cgraph("check", path, "--format", "junit")
    assert result.code == 2 and fragment in result.err
    assert junit10_errors(result.out) == []
    (suite,) = list(junitparser.JUnitXml.fromstring(result.out))
    assert (suite.name, suite.tests, suite.errors, suite.failures) == (str(path), 1, 1, 0)
    (case,) = list(suite)
    error = case.result[0]
    assert isinstance(error, junitparser.Error) and error.type == "cases file error"
    assert fragment in error.text and error.text in result.err
    assert cgraph("check", path, "--format", "json").out == ""   # the exception is JUnit's alone
    assert cgraph("check", path).out == ""


def test_an_unreadable_file_among_several_is_named(two, tmp_path):
    missing = tmp_path / "missing.toml"
    result = cgraph("check", two[0], missing, "--format", "junit")
    assert result.code == 2 and junit10_errors(result.out) == []
    (suite,) = list(junitparser.JUnitXml.fromstring(result.out))
    assert suite.name == str(missing) and "cannot read" in list(suite)[0].result[0].message


# ----------------------------------------------------------------------------- concatenated JSON Lines

def test_a_defaults_line_applies_to_the_lines_after_it(tmp_path):
    loose = '{"defaults": {"rtol": 0.5, "vars": {"y": 3}}}\n{"name": "near", "expr": "x*y", "vars": {"x": 2}, "value": 7}\n'
    tight = '{"defaults": {"vars": {"y": 4}}}\n{"name": "strict", "expr": "x*y", "vars": {"x": 2}, "value": 7}\n'
    (tmp_path / "all.jsonl").write_text(loose + tight)
    report = cgraph("check", tmp_path / "all.jsonl", "--format", "json").json()
    near, strict = report["cases"]
    assert near["passed"] and near["rtol"] == 0.5 and near["checks"][0]["got"] == 6.0
    assert not strict["passed"] and strict["rtol"] == 1e-6 and strict["checks"][0]["got"] == 8.0
    assert strict["line"] == 4


def test_concatenated_files_on_standard_input(tmp_path):
    first = '{"defaults": {"expr": "x^2"}}\n{"vars": {"x": 3}, "value": 9}\n'
    second = '{"defaults": {"expr": "x^3"}}\n{"vars": {"x": 2}, "value": 8}\n'
    result = cgraph("check", "-", "--format", "json", input=first + second)
    assert result.code == 0 and [c["checks"][0]["got"] for c in result.json()["cases"]] == [9.0, 8.0]


def test_a_bad_key_in_a_later_defaults_line_names_its_line(tmp_path):
    (tmp_path / "all.jsonl").write_text('{"expr": "x", "vars": {"x": 1}}\n{"defaults": {"rtl": 1}}\n'
                                        '{"expr": "x", "vars": {"x": 1}}\n')
    result = cgraph("check", tmp_path / "all.jsonl")
    assert result.code == 2 and "defaults, key 'rtl', line 2" in result.err


# ----------------------------------------------------------------------------- program files named

CAROL = EXAMPLE / "students" / "carol.cg"


def carol_cases(tmp_path):
    students = tmp_path / "students"
    students.mkdir()
    (students / "carol.cg").write_text(CAROL.read_text())
    (tmp_path / "cases.toml").write_text(
        '[[case]]\nname = "one"\nfile = "students/carol.cg"\nvars = { x = 3, y = -4 }\n'
        '[[case]]\nname = "two"\nfile = "students/carol.cg"\nvars = { x = 0, y = 0 }\n'
        '[[case]]\nname = "inline"\nexpr = "x +* y"\nvars = { x = 0, y = 0 }\n')
    return tmp_path / "cases.toml"


def test_a_parse_error_names_the_program_file_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    carol_cases(tmp_path)
    result = cgraph("check", "cases.toml", env={"COLUMNS": "200"})
    assert result.code == 1
    assert result.out.count("students/carol.cg: line 6, column 5: unknown function 'num'") == 1
    assert "note 1 (2 cases: one; two): parse error: students/carol.cg: line 6, column 5:" in result.out
    assert result.out.count("f = num(1/den)") == 1
    cases = cgraph("check", "cases.toml", "--format", "json").json()["cases"]
    assert cases[0]["error"].startswith("parse error: students/carol.cg: line 6, column 5: unknown function 'num'\n"
                                        "  f = num(1/den)\n      ^~~")
    assert cases[0]["error"].count("carol.cg") == 1 and cases[1]["error"] == cases[0]["error"]
    assert cases[2]["error"].startswith("parse error: unexpected '*' at line 1, column 4")   # inline: no file


def test_the_file_is_named_as_reachable_from_where_cgraph_runs(tmp_path):
    path = carol_cases(tmp_path)
    error = cgraph("check", path, "--format", "json").json()["cases"][0]["error"]
    assert error.startswith(f"parse error: {tmp_path / 'students' / 'carol.cg'}: line 6, column 5: ")


def test_dash_f_programs_and_evaluation_errors_are_named_too(tmp_path):
    (tmp_path / "answer.cg").write_text("a = x\nlog(a - 10)\n")
    (tmp_path / "cases.toml").write_text('[[case]]\nvars = { x = 1 }\nvalue = 0\n')
    result = cgraph("check", tmp_path / "cases.toml", "-f", tmp_path / "answer.cg", "--format", "json")
    error = result.json()["cases"][0]["error"]
    assert error.startswith(f"evaluation error: {tmp_path / 'answer.cg'}: line 2, column 1: "
                            "log needs a positive argument, got -9 in log(a - 10)\n  log(a - 10)\n  ^")
    assert result.code == 1


def test_a_shared_program_is_parsed_once(tmp_path, monkeypatch):
    calls = []
    real = cases_module.parse
    monkeypatch.setattr(cases_module, "parse", lambda source: calls.append(source) or real(source))
    loaded = load(str(carol_cases(tmp_path)))
    parsed = {}
    results = [run_case(case, None, parsed) for case in loaded]
    assert len(calls) == 2   # carol.cg once for its two cases, the inline program once
    assert results[0].error == results[1].error and not results[0].passed


@pytest.mark.parametrize("message, shown", [
    ("unexpected '*' at line 6, column 5:\n  x\n  ^", "f.cg: line 6, column 5: unexpected '*'\n  x\n  ^"),
    ("unknown function 'num' at line 2, column 1:\nhint", "f.cg: line 2, column 1: unknown function 'num'\nhint"),
    ("x is unbound", "f.cg: x is unbound"),
    ("", "f.cg: "),
])
def test_in_file(message, shown):
    assert in_file("f.cg", message) == shown


def test_the_course_example_reports_are_valid_junit(tmp_path):
    for student in ("alice", "bob", "carol"):
        result = cgraph("check", EXAMPLE / "staged-answers.toml", "-f", EXAMPLE / "students" / f"{student}.cg",
                        "--format", "junit")
        assert result.code in (0, 1) and junit10_errors(result.out) == []
        (suite,) = list(junitparser.JUnitXml.fromstring(result.out))
        assert suite.tests == 2 and suite.failures == (0 if student == "alice" else 2)


def test_a_missing_node_names_the_program_file(tmp_path):
    (tmp_path / "answer.cg").write_text("x*2\n")
    (tmp_path / "cases.toml").write_text('[[case]]\nfile = "answer.cg"\nvars = { x = 1 }\n'
                                         'nodes = { half = { value = 1 } }\n')
    check = cgraph("check", tmp_path / "cases.toml", "--format", "json").json()["cases"][0]["checks"][0]
    assert check["note"] == f"{tmp_path / 'answer.cg'} assigns no half"
