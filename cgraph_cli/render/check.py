"""`cgraph check`'s reports: a table for people, JSON, and JUnit XML for course CI systems."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from cgraph_cli.expect import number_text
from cgraph_cli.render.numbers import json_value
from cgraph_cli.text import HUMAN_DIGITS, printable


def render_table(path: str, results: list, digits: int | None):
    """The human report: numbers to 12 significant digits (as the tree and table formats print them).
    Long explanations (a failed program's error, a shape that differs) go below the table, marked
    with the case and check, so the columns stay narrow enough for 80 characters."""
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.layout import RULE, Column, Grid

    digits = digits or HUMAN_DIGITS
    columns = [Column("case", kind="words"), Column("check", kind="words"), Column("expected", None, "right", "number"),
               Column("got", None, "right", "number"), Column("difference", None, "right", "number"),
               Column("result", kind="fixed")]
    passed, failed = ("pass", "green"), ("FAIL", "bold red")
    rows, notes = [], []
    for result in results:
        label = printable(result.case.name)
        rows.append(RULE)
        if result.error is not None:
            rows.append([label, "evaluates", "—", (printable(result.error.split(":")[0]), "red"),
                         f"note {len(notes) + 1}", failed])
            note = f"note {len(notes) + 1}, {label}: {result.error}"
            notes.append(Text(printable(note, keep="\n"), style="red"))
            continue
        if not result.checks:
            rows.append([label, "evaluates", "—", "yes", "", passed])
            continue
        for i, check in enumerate(result.checks):
            comparison = check.comparison
            difference = number_text(comparison.difference, 3)
            if comparison.note:
                difference = f"note {len(notes) + 1}"
                note = f"note {len(notes) + 1}, {label}, {check.what}: {comparison.note}"
                notes.append(Text(printable(note, keep="\n")))
            rows.append([label if i == 0 else "", printable(check.what), number_text(check.expected, digits),
                         number_text(check.got, digits), difference, passed if check.passed else failed])
    table = Grid(columns, rows)
    return Group(table, *notes, Text(summary(results), style="bold"))


def summary(results: list) -> str:
    failed = sum(not result.passed for result in results)
    return f"{len(results) - failed} passed, {failed} failed"


def render_json(path: str, results: list, digits: int | None = None) -> str:
    cases = []
    for result in results:
        case = result.case
        cases.append({
            "name": case.name, "line": case.line, "passed": result.passed,
            "error": result.error, "exit_code": result.exit_code,
            "rtol": case.tolerance.rtol, "atol": case.tolerance.atol,
            "checks": [{"what": check.what, "expected": json_value(check.expected),
                        "got": json_value(check.got),
                        "difference": json_value(check.comparison.difference),
                        "passed": check.passed, "note": check.comparison.note}
                       for check in result.checks],
        })
    failed = sum(not result.passed for result in results)
    document = {"file": path, "passed": len(results) - failed, "failed": failed, "cases": cases}
    return json.dumps(document, allow_nan=False) + "\n"


def render_junit(path: str, results: list, digits: int | None = None) -> str:
    """JUnit XML, as course CI systems display it: one testcase per case, the failure text listing
    each differing number."""
    failed = sum(not result.passed for result in results)
    total_seconds = f"{sum(result.seconds for result in results):.6f}"
    counts = {"tests": str(len(results)), "failures": str(failed), "errors": "0", "skipped": "0",
              "time": total_seconds}
    root = ET.Element("testsuites", {"name": "cgraph check", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": path, **counts})
    classname = Path(path).stem if path != "-" else "cases"
    for result in results:
        case = result.case
        testcase = ET.SubElement(suite, "testcase", {"name": case.name, "classname": classname,
                                                     "time": f"{result.seconds:.6f}"})
        if case.line is not None:
            testcase.set("file", path)
            testcase.set("line", str(case.line))
        if result.error is not None:
            failure = ET.SubElement(testcase, "failure", {"message": _xml_safe(result.error.split("\n")[0]),
                                                          "type": result.error.split(":")[0]})
            failure.text = _xml_safe(result.error)
        elif not result.passed:
            bad = [check for check in result.checks if not check.passed]
            failure = ET.SubElement(testcase, "failure", {
                "message": f"{len(bad)} of {len(result.checks)} checks differ", "type": "check"})
            tolerance = case.tolerance
            lines = [f"{check.what}: expected {number_text(check.expected)}, got {number_text(check.got)}"
                     f" ({check.comparison.note or 'difference ' + number_text(check.comparison.difference)})"
                     for check in bad]
            lines.append(f"tolerance: rtol {tolerance.rtol:g}, atol {tolerance.atol:g}")
            failure.text = _xml_safe("\n".join(lines))
    for element in root.iter():   # every attribute and text: case names, paths, messages
        element.attrib.update({key: _xml_safe(value) for key, value in element.attrib.items()})
        element.text = None if element.text is None else _xml_safe(element.text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot hold most control characters (a NUL in a student's file, \u0001 in a case name),
    even as &#1;, nor lone surrogates: show them as visible escapes (\x01)."""
    return "".join(ch if ch in "\t\n\r" or " " <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
                   or ch >= "\U00010000" else repr(ch)[1:-1] for ch in text)


RENDERERS = {"table": render_table, "json": render_json, "junit": render_junit}
