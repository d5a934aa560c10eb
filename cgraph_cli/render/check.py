"""`cgraph check`'s reports: a table for people, JSON, and JUnit XML for course CI systems."""

import json
from pathlib import Path

from cgraph_cli.expect import number_text
from cgraph_cli.render.junit import Case, Suite, error_document, junit_document
from cgraph_cli.render.numbers import json_value
from cgraph_cli.text import HUMAN_DIGITS, printable


def render_table(files: list, digits: int | None):
    """The human report, a section per file (a title when there are several) and a total line.
    Numbers to 12 significant digits (as the tree and table formats print them). Long explanations
    (a failed program's error, a shape that differs) go below the table as numbered notes, an error
    shared by several cases (a student's file that does not parse) once, so the columns stay narrow
    enough for 80 characters."""
    from rich.console import Group
    from rich.text import Text

    parts = []
    for path, results in files:
        if len(files) > 1:
            if parts:
                parts.append(Text(""))
            parts.append(Text(printable(path if path != "-" else "- (standard input)"), style="bold underline"))
        parts.append(_file_table(results, digits))
    if len(files) > 1:
        every = [result for _, results in files for result in results]
        parts.append(Text(f"total: {summary(every)} in {len(files)} files", style="bold"))
    return Group(*parts)


def _file_table(results: list, digits: int | None):
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.layout import RULE, Column, Grid

    digits = digits or HUMAN_DIGITS
    columns = [Column("case", kind="words"), Column("check", kind="words"), Column("expected", None, "right", "number"),
               Column("got", None, "right", "number"), Column("difference", None, "right", "number"),
               Column("result", kind="fixed")]
    passed, failed = ("pass", "green"), ("FAIL", "bold red")
    rows, notes = [], []
    errors = {}   # an error's text -> its note's index in notes, and the cases it names

    def note_for(text: str, label: str, style: str | None) -> str:
        if text not in errors:
            errors[text] = (len(notes), [])
            notes.append((text, style))
        errors[text][1].append(label)
        return f"note {errors[text][0] + 1}"

    for result in results:
        label = printable(result.case.name)
        rows.append(RULE)
        if result.error is not None:
            rows.append([label, "evaluates", "—", (printable(result.error.split(":")[0]), "red"),
                         note_for(result.error, label, "red"), failed])
            continue
        if not result.checks:
            rows.append([label, "evaluates", "—", "yes", "", passed])
            continue
        for i, check in enumerate(result.checks):
            comparison = check.comparison
            difference = number_text(comparison.difference, 3)
            if comparison.note:
                difference = note_for(comparison.note, f"{label}, {printable(check.what)}", None)
            rows.append([label if i == 0 else "", printable(check.what), number_text(check.expected, digits),
                         number_text(check.got, digits), difference, passed if check.passed else failed])
    shown = []
    for text, (index, names) in errors.items():
        who = names[0] if len(names) == 1 else (f"{len(names)} cases: " + "; ".join(names[:3])
                                                + (f"; and {len(names) - 3} more" if len(names) > 3 else ""))
        head = f"note {index + 1}, {who}" if len(names) == 1 else f"note {index + 1} ({who})"
        shown.append(Text(printable(f"{head}: {text}", keep="\n"), style=notes[index][1]))
    return Group(Grid(columns, rows), *shown, Text(summary(results), style="bold"))


def summary(results: list) -> str:
    failed = sum(not result.passed for result in results)
    return f"{len(results) - failed} passed, {failed} failed"


def render_json(files: list, digits: int | None = None) -> str:
    """One file: {"schema": 1, "file", "passed", "failed", "cases"}; several: {"schema": 1, "files":
    [that document per file, without schema], "passed", "failed"} (the totals)."""
    documents = [_file_document(path, results) for path, results in files]
    if len(documents) == 1:
        document = {"schema": 1, **documents[0]}
    else:
        document = {"schema": 1, "files": documents, "passed": sum(d["passed"] for d in documents),
                    "failed": sum(d["failed"] for d in documents)}
    return json.dumps(document, allow_nan=False) + "\n"


def _file_document(path: str, results: list) -> dict:
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
    return {"file": path, "passed": len(results) - failed, "failed": failed, "cases": cases}


def render_junit(files: list, digits: int | None = None) -> str:
    """JUnit XML, as course CI systems display it: a testsuite per file, a testcase per case, the
    failure text listing each differing number."""
    return junit_document([junit_suite(path, results) for path, results in files], "cgraph check")


def render_malformed(path: str, error) -> str:
    """The JUnit document of a run whose cases file is malformed: one error testcase naming it."""
    return error_document(path, error.message, error.kind,
                          Path(path).stem if path != "-" else "cases", "cgraph check")


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
