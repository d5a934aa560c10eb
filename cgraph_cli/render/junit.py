"""JUnit XML, the one writer for every command that writes it (check, grade): the structure of Jenkins'
junit-10.xsd, which pytest's own tests validate against and CI reporters read:

    <testsuites name tests failures errors time>
      <testsuite name tests failures errors skipped time [file]>
        <testcase name classname time>
          <failure message type>text</failure> | <error ...> | <skipped message/> ; <system-out>

Nothing else (no `skipped` on <testsuites>, no file or line on <testcase>: junit-10 has neither).
Every attribute and text is XML-escaped, and characters XML 1.0 cannot hold are shown as escapes.
"""

import xml.etree.ElementTree as ET
from typing import NamedTuple


class Case(NamedTuple):
    """One testcase. failure / error / skipped: None, or the message (its first line becomes the
    `message` attribute, the whole text the element's text); `kind` is their `type` attribute."""
    name: str
    classname: str
    time: float = 0.0
    failure: str | None = None
    error: str | None = None
    skipped: str | None = None
    output: str = ""
    kind: str = ""


class Suite(NamedTuple):
    """One testsuite; `time` None is the sum of its cases' times; `file` the file it reports on."""
    name: str
    cases: list
    time: float | None = None
    file: str | None = None


def junit_document(suites: list, name: str = "cgraph") -> str:
    """The JUnit XML document of these suites, with its declaration and a final newline."""
    root = ET.Element("testsuites", {"name": name})
    totals = {"tests": 0, "failures": 0, "errors": 0, "seconds": 0.0}
    for suite in suites:
        counts = _counts(suite)
        for key in ("tests", "failures", "errors", "seconds"):
            totals[key] += counts[key]
        attributes = {"name": suite.name, "tests": str(counts["tests"]), "failures": str(counts["failures"]),
                      "errors": str(counts["errors"]), "skipped": str(counts["skipped"]),
                      "time": _seconds(counts["seconds"])}
        if suite.file is not None:
            attributes["file"] = suite.file
        element = ET.SubElement(root, "testsuite", attributes)
        for case in suite.cases:
            _testcase(element, case)
    root.attrib.update({"tests": str(totals["tests"]), "failures": str(totals["failures"]),
                        "errors": str(totals["errors"]), "time": _seconds(totals["seconds"])})
    for element in root.iter():   # every attribute and text: case names, paths, messages
        element.attrib.update({key: xml_safe(value) for key, value in element.attrib.items()})
        element.text = None if element.text is None else xml_safe(element.text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def error_document(name: str, message: str, kind: str = "error", classname: str | None = None) -> str:
    """The document for a run that could not start (a malformed cases or key file): one suite named
    `name` holding one testcase whose error is `message`, so a CI reporter shows the problem."""
    case = Case(name, classname or name, error=message, kind=kind)
    return junit_document([Suite(name, [case])])


def _counts(suite: Suite) -> dict:
    cases = suite.cases
    seconds = suite.time if suite.time is not None else sum(case.time for case in cases)
    return {"tests": len(cases), "failures": sum(case.failure is not None for case in cases),
            "errors": sum(case.error is not None for case in cases),
            "skipped": sum(case.skipped is not None for case in cases), "seconds": seconds}


def _testcase(parent, case: Case) -> None:
    element = ET.SubElement(parent, "testcase", {"name": case.name, "classname": case.classname,
                                                 "time": _seconds(case.time)})
    for tag in ("failure", "error", "skipped"):
        message = getattr(case, tag)
        if message is None:
            continue
        attributes = {"message": message.split("\n", 1)[0]}
        if case.kind:
            attributes["type"] = case.kind
        child = ET.SubElement(element, tag, attributes)
        if tag != "skipped" or "\n" in message:
            child.text = message
    if case.output:
        ET.SubElement(element, "system-out").text = case.output


def _seconds(seconds: float) -> str:
    """junit-10's SUREFIRE_TIME: digits, a point, digits (never negative, never an exponent)."""
    seconds = float(seconds)
    return f"{seconds if seconds > 0 else 0.0:.6f}"   # -0.0 and a nan too


def xml_safe(text: str) -> str:
    """XML 1.0 cannot hold most control characters (a NUL in a student's file, \u0001 in a case name),
    even as &#1;, nor lone surrogates: show them as visible escapes (\\x01)."""
    return "".join(ch if ch in "\t\n\r" or " " <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
                   or ch >= "\U00010000" else repr(ch)[1:-1] for ch in text)
