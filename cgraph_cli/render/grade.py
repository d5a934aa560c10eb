"""`cgraph grade`'s reports (grading.py grades): a table for the terminal, Markdown, CSV for a
spreadsheet, JSON, JUnit XML (a testsuite per student), Gradescope's results.json (one student), and
each student's feedback as text or Markdown (--out-dir)."""

import csv
import io
import json
from collections import Counter

from cgraph_cli.grading import Report, percent, points_text
from cgraph_cli.render.junit import Case, Suite, junit_document
from cgraph_cli.render.numbers import json_value
from cgraph_cli.text import printable


def render_table(report: Report):
    """One row per student (score, max, the questions missed), then one per question (how many got it
    right, the slips seen), then a summary line; Grid keeps every number whole at any width."""
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.layout import Column, Grid

    students = Grid([Column("student", kind="words"), Column("score", None, "right", "number"),
                     Column("max", None, "right", "number"), Column("missed", kind="words")],
                    [[printable(student.student), points_text(student.score), points_text(student.max),
                      " ".join(printable(g.question.id) for g in student.answers if not g.passed) or "—"]
                     for student in report.students])
    questions = Grid([Column("question", kind="text"), Column("ask", kind="text"),
                      Column("points", None, "right", "number"), Column("right", None, "right", "number"),
                      Column("slips seen", kind="words")],
                     [[printable(question.id), printable(question.ask), points_text(question.points),
                       f"{right}/{len(report.students)}", slips or "—"]
                      for question, right, slips in _per_question(report)])
    return Group(students, questions, Text(summary(report), style="bold"))


def _per_question(report: Report):
    """(question, how many got it right, "sign(3), blank(2)") for each question."""
    for k, question in enumerate(report.questions):
        graded = [student.answers[k] for student in report.students]
        counts = Counter(g.slip for g in graded if not g.passed and g.slip)
        slips = ", ".join(f"{slip}({count})" for slip, count in counts.most_common())
        yield question, sum(g.passed for g in graded), slips


def summary(report: Report) -> str:
    students = report.students
    total = points_text(sum(question.points for question in report.questions))
    head = f"{len(students)} student{'s' if len(students) != 1 else ''}, {len(report.questions)} question{'s' if len(report.questions) != 1 else ''}, " \
           f"{total} points"
    if not students:
        return head
    scores = sorted(student.score for student in students)
    middle = len(scores) // 2
    median = scores[middle] if len(scores) % 2 else (scores[middle - 1] + scores[middle]) / 2
    return f"{head}: mean {points_text(round(sum(scores) / len(scores), 2))}, median {points_text(median)}"


def render_md(report: Report) -> str:
    lines = [f"# Grades: {_md(report.sheet)} against {_md(report.key)}", "",
             "| student | score | max | missed |", "|---|--:|--:|---|"]
    for student in report.students:
        missed = ", ".join(_md(g.question.id) for g in student.answers if not g.passed) or "—"
        lines.append(f"| {_md(student.student)} | {points_text(student.score)} | {points_text(student.max)} | "
                     f"{missed} |")
    lines += ["", "| question | ask | points | right | slips seen |", "|---|---|--:|--:|---|"]
    for question, right, slips in _per_question(report):
        lines.append(f"| {_md(question.id)} | {_md(question.ask)} | {points_text(question.points)} | "
                     f"{right} of {len(report.students)} | {_md(slips) or '—'} |")
    return "\n".join(lines + ["", summary(report), ""])


def _md(text: str) -> str:
    """Text in a Markdown table cell or line: pipes, backticks and newlines cannot break it."""
    return printable(" ".join(str(text).split())).replace("\\", "\\\\").replace("|", "\\|") \
        .replace("`", "\\`").replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;")


def feedback_text(student, report: Report) -> str:
    """One student's feedback, plain text (--out-dir with the table format)."""
    lines = [f"{student.student}: {points_text(student.score)} of {points_text(student.max)} points", ""]
    for g in student.answers:
        mark = "right" if g.passed else "wrong"
        lines.append(f"{mark}  ({points_text(g.points)} of {points_text(g.question.points)})  {g.message}")
    return printable("\n".join(lines), keep="\n") + "\n"


def feedback_md(student, report: Report) -> str:
    lines = [f"# {_md(student.student)}: {points_text(student.score)} of {points_text(student.max)} points", ""]
    for g in student.answers:
        mark = "right" if g.passed else "**wrong**"
        lines.append(f"- {mark} ({points_text(g.points)} of {points_text(g.question.points)}): {_md(g.message)}")
    return "\n".join(lines) + "\n"


FEEDBACK = {"table": (feedback_text, ".txt"), "md": (feedback_md, ".md")}


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "score", "max"] + [question.id for question in report.questions])
    for student in report.students:
        writer.writerow([student.student, points_text(student.score), points_text(student.max)]
                        + [1 if g.passed else 0 for g in student.answers])
    return out.getvalue()


def render_json(report: Report) -> str:
    hide = report.hide_correct
    questions = [{"id": question.id, "ask": question.ask, "correct": None if hide else json_value(truth.correct),
                  "points": _number(question.points)}
                 for question, truth in zip(report.questions, report.truths)]
    students = [{"student": student.student, "score": _number(student.score), "max": _number(student.max),
                 "answers": {g.question.id: {"answer": g.answer,
                                             "correct": None if hide else json_value(truth.correct),
                                             "passed": g.passed, "points": _number(g.points),
                                             "diagnosis": g.diagnosis, "message": g.message}
                             for g, truth in zip(student.answers, report.truths)}}
                for student in report.students]
    total = _number(sum(question.points for question in report.questions))
    return json.dumps({"schema": 1, "max": total, "questions": questions, "students": students},
                      allow_nan=False) + "\n"


def _number(value: float):
    return int(value) if float(value).is_integer() else value


def render_junit(report: Report) -> str:
    """A testsuite per student (named by the student id), a testcase per question; a wrong or missing
    answer is a failure whose text is the feedback."""
    suites = []
    for student in report.students:
        cases = [Case(f"{g.question.id}: {g.question.ask}", student.student,
                      failure=None if g.passed else g.message,
                      kind="" if g.passed else (g.slip or "wrong answer")) for g in student.answers]
        suites.append(Suite(student.student, cases))
    return junit_document(suites, "cgraph grade")


def render_gradescope(report: Report) -> str:
    """Gradescope's autograder results.json for the one student of the report: `score` and one test
    per question (`name`, `number`, `score`, `max_score`, `output`); cgraph's schema number goes in
    `extra_data`, the place the format keeps for data of one's own."""
    student = report.students[0]
    tests = [{"name": f"{g.question.id}: {g.question.ask}", "number": str(k + 1), "score": _number(g.points),
              "max_score": _number(g.question.points), "output": g.message}
             for k, g in enumerate(student.answers)]
    document = {"score": _number(student.score),
                "output": f"{student.student}: {points_text(student.score)} of {points_text(student.max)} "
                          f"points ({percent(student):.0f}%)",
                "tests": tests, "extra_data": {"schema": 1, "student": student.student}}
    return json.dumps(document, allow_nan=False) + "\n"


RENDERERS = {"table": render_table, "md": render_md, "csv": render_csv, "json": render_json,
             "junit": render_junit, "gradescope": render_gradescope}
