"""`cgraph check`'s reports: a table for people, JSON, and JUnit XML for course CI systems."""

import json
from pathlib import Path

from cgraph_cli.expect import number_text
from cgraph_cli.render.junit import Case, Suite, junit_document
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
    return junit_document([junit_suite(path, results)], "cgraph check")


def junit_suite(path: str, results: list) -> Suite:
    classname = Path(path).stem if path != "-" else "cases"
    return Suite(path, [_junit_case(path, classname, result) for result in results],
                 file=None if path == "-" else path)


def _junit_case(path: str, classname: str, result) -> Case:
    case = result.case
    where = f"{path}, line {case.line}" if case.line is not None else path
    if result.error is not None:
        return Case(case.name, classname, result.seconds, failure=f"{result.error}\n({where})",
                    kind=result.error.split(":")[0])
    if result.passed:
        return Case(case.name, classname, result.seconds)
    bad = [check for check in result.checks if not check.passed]
    tolerance = case.tolerance
    lines = [f"{len(bad)} of {len(result.checks)} checks differ"]
    lines += [f"{check.what}: expected {number_text(check.expected)}, got {number_text(check.got)}"
              f" ({check.comparison.note or 'difference ' + number_text(check.comparison.difference)})"
              for check in bad]
    lines.append(f"tolerance: rtol {tolerance.rtol:g}, atol {tolerance.atol:g} ({where})")
    return Case(case.name, classname, result.seconds, failure="\n".join(lines), kind="check")


RENDERERS = {"table": render_table, "json": render_json, "junit": render_junit}
