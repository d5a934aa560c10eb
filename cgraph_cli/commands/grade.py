"""`cgraph grade KEY ANSWERS`: a class's answers against a key (grading.py), reported by render/grade.py.

Exit codes: 0 every answer was graded (whatever the scores); 1 with --fail-under P when a student
scores below P percent; 2 a malformed key, an unreadable answers file or a question whose program
fails (named). With exit 2, --format junit still writes a one-error JUnit document on stdout.
"""

import difflib
import re
from pathlib import Path

import click

from cgraph_cli import grading
from cgraph_cli.commands.support import FILE, FiniteFloat, debug_option, emit, format_option, note
from cgraph_cli.errors import CgraphError, ExitStatus, UsageError
from cgraph_cli.render.grade import FEEDBACK, RENDERERS


@click.command("grade", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("key_path", metavar="KEY", type=FILE)
@click.argument("answers_path", metavar="ANSWERS", type=FILE)
@click.option("--id", "id_column", metavar="COLUMN",
              help="The student-id column of a CSV sheet (default: the first), or key of a JSON Lines "
                   "sheet (default: student).")
@format_option(RENDERERS, "table", "table and md (Markdown) for people; csv (1/0 per question) for a "
                                   "spreadsheet; json, junit, gradescope (results.json) for machines.")
@click.option("--out-dir", metavar="DIR", type=FILE,
              help="Also write one feedback file per student into DIR (.txt with table, .md with md).")
@click.option("--student", metavar="ID", help="Report this student only (gradescope: the submission's).")
@click.option("--hide-correct", is_flag=True,
              help="Leave the correct values out of the feedback (during an open assignment).")
@click.option("--fail-under", type=FiniteFloat(min=0, max=100), metavar="P",
              help="Exit 1 when a student scores below P percent.")
@click.option("--random-seed", type=click.IntRange(0), default=grading.DEFAULT_SEED, show_default=True,
              metavar="N", help="The seed of the points near the key's where formula answers are checked.")
@click.option("--allow-outside", is_flag=True,
              help="Let a question's file = name a file outside the key's folder (refused by default).")
@debug_option
def command(key_path, answers_path, id_column, output_format, out_dir, student, hide_correct, fail_under,
            random_seed, allow_outside):
    """Grade a class: every student's answers (numbers, tensors or formulas) against a key.

    KEY is TOML (one [[question]] table per question, defaults such as rtol, digits and points at
    the top) or JSON Lines. ANSWERS is a CSV with a header (the student id first, then a column per
    question id; a ';'-separated sheet reads decimal commas) or JSON Lines (one object per student).
    A blank, n/a or unreadable cell fails that question only.

    \b
    Example (key.toml):
      digits = "given"       # right within one unit of the last digit written
      [[question]]
      id = "dx"
      file = "staged.cg"
      vars = { x = 3, y = -4 }
      ask = "grad x"         # value | value NAME | grad NAME | grad NAME[i,j] | formula x
    \b
      cgraph grade key.toml answers.csv
      cgraph grade key.toml answers.csv --format md --out-dir feedback/
      cgraph grade key.toml answers.csv --format junit > grades.xml

    Formula answers are checked at the key's point and at 5 points near it: each variable moved
    by u*0.1*max(1, |v|), u uniform in [-1, 1] from Python's random.Random(N), N 0 unless
    --random-seed. Exit status: 0 graded; 1 with --fail-under; 2 a malformed key or sheet.
    """
    if out_dir is not None and output_format not in FEEDBACK:
        raise UsageError(f"--out-dir writes feedback in a text format (--format table or md), not "
                         f"{output_format}")
    try:
        key = grading.load_key(key_path, allow_outside)
        truths = grading.truths(key, random_seed)
        sheet = grading.read_sheet(answers_path, key.questions, id_column)
    except CgraphError as error:
        if output_format == "junit":
            from cgraph_cli.render.junit import error_document

            emit(error_document("cgraph grade", f"{error.kind}: {error.message}", error.kind))
        raise
    for message in sheet.notes:
        note(message)
    students = grading.grade(key.questions, truths, sheet, hide_correct)
    if student is not None:
        students = _only(students, student)
    elif output_format == "gradescope" and len(students) != 1:
        raise UsageError(f"--format gradescope reports one submission; the sheet has {len(students)} "
                         "students: name one with --student ID")
    report = grading.Report(key_path, answers_path, key.questions, truths, students, hide_correct)
    if out_dir is not None:
        _write_feedback(report, Path(out_dir), output_format)
    emit(RENDERERS[output_format](report))
    if fail_under is not None and any(grading.percent(s) < fail_under for s in students):
        return ExitStatus.CHECK_FAILED
    return ExitStatus.SUCCESS


def _only(students: list, wanted: str) -> list:
    chosen = [s for s in students if s.student == wanted]
    if not chosen:
        close = difflib.get_close_matches(wanted, [s.student for s in students], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"--student {wanted}: no such student in the answers{hint}")
    return chosen


def _write_feedback(report, folder: Path, output_format: str) -> None:
    """One file per student, named by the id (characters other than letters, digits, . _ - become _;
    a name taken twice, whatever its case, gets -2, -3, ...)."""
    render, suffix = FEEDBACK[output_format]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        taken = set()
        for student in report.students:
            stem = re.sub(r"[^\w.-]+", "_", student.student).strip(".") or "student"
            name, count = stem, 1
            while name.lower() in taken:
                count += 1
                name = f"{stem}-{count}"
            taken.add(name.lower())
            (folder / (name + suffix)).write_text(render(student, report), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--out-dir {folder}: cannot write the feedback: {error.strerror or error}")
    note(f"wrote {len(report.students)} feedback file{'s' if len(report.students) != 1 else ''} to {folder}")
