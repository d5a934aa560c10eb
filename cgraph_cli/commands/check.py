"""`cgraph check CASES...`: run files of cases (cases.py) and report (render/check.py), a section,
a JSON document and a JUnit testsuite per file.

Exit codes: 0 all cases pass, 1 any fails (a case whose program does not parse or evaluate fails,
its error shown as what was got), 2 a cases file itself is malformed (file, case, key and line);
then --format junit still writes a JUnit document with one error testcase on stdout (the one
exception to "nothing on stdout on error": CI reporters show it), the message on stderr as always.
"""

import click

from cgraph_cli.cases import CasesError, load, run_case
from cgraph_cli.commands.support import (FILE, debug_option, emit, exact_options, format_option, note,
                                         precision_option)
from cgraph_cli.errors import ExitStatus
from cgraph_cli.render.check import RENDERERS, render_malformed


@click.command("check", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("cases_paths", metavar="CASES", type=FILE, nargs=-1, required=True)
@click.option("-f", "--file", "program_file", metavar="FILE",
              help="The program for every case that gives no expr or file of its own (a student's answer).")
@click.option("--allow-outside", is_flag=True,
              help="Let a case's file = name a file outside the cases file's folder (refused by default).")
@format_option(RENDERERS, "table", "table for people; json and junit (JUnit XML) for machines and CI.")
@precision_option("Significant digits in the table (default: the shortest round-trip text).")
@debug_option
@exact_options("Compute with exact rationals (see eval --exact); a case with an irrational operation fails.",
               "Exact rationals, computing irrational operations in float64.")
def command(cases_paths, program_file, allow_outside, output_format, precision, exact):
    """Run files of cases: each case a program, its bindings and the numbers it should give.

    CASES is TOML (one [[case]] table per case) or JSON Lines (one object per line; a
    {"defaults": ...} line applies to the lines after it); '-' reads standard input. Several files
    give a section each and a total. Exit status: 0 when every case passes, 1 when any fails (a
    program that does not parse or evaluate is a failed case), 2 when a cases file itself is
    malformed (then --format junit still writes a JUnit document with one error testcase).

    \b
    Example (cases.toml):
      [[case]]
      name = "apple"
      expr = "subtotal = price*count; subtotal*tax"
      vars = { price = 100, count = 2, tax = 1.1 }
      value = 220
      grad = { price = 2.2, count = 110, tax = 200 }
      nodes = { subtotal = { value = 200, grad = 1.1 } }
      grad_formula = { price = "count*tax" }   # also at 5 nearby points

    \b
      cgraph check cases.toml
      cgraph check cases.toml -f student/answer.cg --format junit > report.xml
      cgraph check week1.toml week2.jsonl --format json
    \b
    Tolerance: pass when |got - expected| <= max(rtol * max(|got|, |expected|), atol);
    default rtol 1e-6, atol 1e-9 (set rtol/atol at the top of the file or in a case).
    A case's file = must lie inside the cases file's folder (after following symbolic links)
    unless --allow-outside is given.
    """
    if list(cases_paths).count("-") > 1:
        raise CasesError("'-' (standard input) can be given once")
    loaded = []
    for path in cases_paths:
        try:
            loaded.append((path, load(path, program_file, allow_outside)))
        except CasesError as error:
            if output_format == "junit":   # the one exception to "nothing on stdout on error": CI shows it
                emit(render_malformed(path, error))
            raise
    parsed = {}   # a program shared by many cases (a student's file) is parsed once
    files = [(path, [run_case(case, exact, parsed) for case in cases]) for path, cases in loaded]
    several = len(files) > 1
    for path, results in files:
        for result in results:
            for message in result.notes:
                note(f"{path}: " * several + f"case {result.case.name}: {message}")
    emit(RENDERERS[output_format](files, precision))
    passed = all(result.passed for _, results in files for result in results)
    return ExitStatus.SUCCESS if passed else ExitStatus.CHECK_FAILED
