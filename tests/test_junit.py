"""render/junit.py, the one JUnit writer: every document has the structure of Jenkins' junit-10.xsd
(the schema pytest's own tests validate against), checked by `junit10_errors` below, a small checker
written from that schema's rules, and reads back with junitparser to the same counts and messages."""

import re
import xml.etree.ElementTree as ET

import junitparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgraph_cli.render.junit import Case, Suite, error_document, junit_document

# ----------------------------------------------------------------------------- the junit-10 structure
# Element -> (allowed attributes, required attributes, allowed children). From junit-10.xsd: testsuites
# holds only testsuite elements; testsuite's name, tests, failures and errors are required; testcase
# allows name (required), time, classname, group; failure/error/skipped allow type and message.
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")
OUTCOME = ({"type", "message"}, set(), set())
JUNIT10 = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp",
                   "hostname", "id", "package", "file", "log", "url"},
                  {"name", "tests", "failures", "errors"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}),
    "testcase": ({"name", "time", "classname", "group"}, {"name"},
                 {"skipped", "error", "failure", "system-out", "system-err", "rerunFailure", "rerunError",
                  "flakyFailure", "flakyError"}),
    "failure": OUTCOME, "error": OUTCOME, "skipped": OUTCOME,
    "system-out": (set(), set(), set()), "system-err": (set(), set(), set()),
}
TIMED = {"testsuites", "testsuite"}   # where time is SUREFIRE_TIME (testcase's is any string)


def junit10_errors(text: str) -> list:
    """What in this document breaks junit-10.xsd's structure (an empty list when nothing does)."""
    root = ET.fromstring(text)
    problems = [] if root.tag == "testsuites" else [f"root is <{root.tag}>, not <testsuites>"]
    for element in root.iter():
        rule = JUNIT10.get(element.tag)
        if rule is None:
            problems.append(f"<{element.tag}> is not a junit-10 element")
            continue
        allowed, required, children = rule
        problems += [f"<{element.tag}> has attribute {name!r}" for name in set(element.attrib) - allowed]
        problems += [f"<{element.tag}> lacks attribute {name!r}" for name in required - set(element.attrib)]
        problems += [f"<{child.tag}> inside <{element.tag}>" for child in element if child.tag not in children]
        if element.tag in TIMED and "time" in element.attrib and not SUREFIRE_TIME.fullmatch(element.get("time")):
            problems.append(f"<{element.tag}> time {element.get('time')!r}")
        if element.tag in ("system-out", "system-err") and len(element):
            problems.append(f"<{element.tag}> holds elements")
    return problems


def test_the_checker_finds_what_junit10_refuses():
    """The checker can fail: each of these breaks one rule of the schema."""
    good = junit_document([Suite("s", [Case("c", "k", 0.5)])])
    assert junit10_errors(good) == []
    assert junit10_errors(good.replace('<testsuites name="cgraph"', '<testsuites skipped="0" name="cgraph"'))
    assert junit10_errors(good.replace('<testcase name="c"', '<testcase line="3" name="c"'))
    assert junit10_errors(good.replace(' tests="1" failures="0" errors="0" skipped', ' skipped', 1)
                          .replace('<testsuite name="s" tests="1"', '<testsuite name="s"'))
    assert junit10_errors(good.replace('time="0.500000"', 'time="-1"', 1))
    assert junit10_errors(good.replace("<testcase", "<testcase><bogus/></testcase><testcase", 1))
    assert junit10_errors("<testsuite name='s' tests='0' failures='0' errors='0'/>")


# ----------------------------------------------------------------------------- the writer

SUITES = [
    Suite("cases.toml", [Case("apple", "cases", 0.25),
                         Case("wrong", "cases", 0.5, failure="2 of 3 checks differ\nvalue: expected 1, got 2",
                              kind="check"),
                         Case("broken", "cases", error="parse error: line 1\n  x +* y\n     ^", kind="parse error"),
                         Case("later", "cases", skipped="not run")],
          file="cases.toml"),
    Suite("more.jsonl", [Case("one", "more", 1.0, output="note: y is bound but not used")]),
]


def test_counts_times_and_structure():
    text = junit_document(SUITES)
    assert junit10_errors(text) == []
    root = ET.fromstring(text)
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("time")) == ("5", "1", "1", "1.750000")
    first, second = root.findall("testsuite")
    assert [first.get(key) for key in ("name", "tests", "failures", "errors", "skipped", "time", "file")] == \
        ["cases.toml", "4", "1", "1", "1", "0.750000", "cases.toml"]
    assert second.get("file") is None and second.get("tests") == "1"
    failure = first.find("testcase[@name='wrong']/failure")
    assert failure.get("message") == "2 of 3 checks differ" and failure.get("type") == "check"
    assert failure.text == "2 of 3 checks differ\nvalue: expected 1, got 2"
    assert first.find("testcase[@name='broken']/error").text.endswith("     ^")
    assert first.find("testcase[@name='later']/skipped").get("message") == "not run"
    assert second.find("testcase/system-out").text == "note: y is bound but not used"


def test_junitparser_reads_it_back():
    xml = junitparser.JUnitXml.fromstring(junit_document(SUITES))
    suites = list(xml)
    assert [suite.name for suite in suites] == ["cases.toml", "more.jsonl"]
    assert (suites[0].tests, suites[0].failures, suites[0].errors, suites[0].skipped) == (4, 1, 1, 1)
    cases = {case.name: case for case in suites[0]}
    assert cases["apple"].is_passed and cases["apple"].time == 0.25
    assert cases["wrong"].result[0].message == "2 of 3 checks differ"
    assert isinstance(cases["wrong"].result[0], junitparser.Failure)
    assert isinstance(cases["broken"].result[0], junitparser.Error)
    assert isinstance(cases["later"].result[0], junitparser.Skipped)
    assert cases["apple"].classname == "cases"


def test_the_one_error_document():
    text = error_document("cases.toml", "cases.toml (case 2, line 7): unknown key in a case; did you mean 'grad'?",
                          kind="cases file error")
    assert junit10_errors(text) == []
    suite = list(junitparser.JUnitXml.fromstring(text))[0]
    assert (suite.name, suite.tests, suite.errors, suite.failures) == ("cases.toml", 1, 1, 0)
    error = list(suite)[0].result[0]
    assert isinstance(error, junitparser.Error) and error.type == "cases file error"
    assert "did you mean 'grad'?" in error.message


def test_an_empty_run_is_a_valid_document():
    assert junit10_errors(junit_document([])) == []
    assert junit10_errors(junit_document([Suite("empty", [])])) == []


TEXT = st.text(st.characters(), max_size=30)


@settings(max_examples=50, deadline=None)
@given(names=st.lists(TEXT, min_size=1, max_size=4), message=TEXT, kind=TEXT)
def test_any_text_is_escaped_into_well_formed_xml(names, message, kind):
    """Names, messages and types holding <, &, quotes, newlines, NUL, lone surrogates: the document
    still parses, keeps the structure, and keeps every character XML can hold."""
    cases = [Case(name, name, 0.0, failure=message or None, kind=kind) for name in names]
    text = junit_document([Suite(names[0], cases, file=message)])
    assert junit10_errors(text) == []
    parsed = ET.fromstring(text).findall("testsuite/testcase")
    assert len(parsed) == len(names)
    for element, name in zip(parsed, names):
        if all(ch in "\t\n\r" or " " <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000"
               for ch in name) and "\r" not in name and "\t" not in name and "\n" not in name:
            assert element.get("name") == name


@pytest.mark.parametrize("seconds, shown", [(0, "0.000000"), (1e-9, "0.000000"), (12.5, "12.500000"),
                                             (-0.0, "0.000000"), (1e7, "10000000.000000")])
def test_times_are_surefire_times(seconds, shown):
    root = ET.fromstring(junit_document([Suite("s", [Case("c", "k", seconds)])]))
    assert root.find("testsuite/testcase").get("time") == shown == root.get("time")
