"""`cgraph check CASES`: run a file of cases (cases.py) and report (render/check.py).

Exit codes: 0 all cases pass, 1 any fails (a case whose program does not parse or evaluate fails,
its error shown as what was got), 2 the cases file itself is malformed (file, case, key and line).
"""

import click

from cgraph_cli.cases import load, run_case
from cgraph_cli.commands.support import (FILE, debug_option, emit, exact_options, format_option, note,
                                         precision_option)
from cgraph_cli.errors import ExitStatus
from cgraph_cli.render.check import RENDERERS


@click.command("check", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("cases_path", metavar="CASES", type=FILE)
@click.option("-f", "--file", "program_file", metavar="FILE",
              help="The program for every case that gives no expr or file of its own (a student's answer).")
@click.option("--allow-outside", is_flag=True,
              help="Let a case's file = name a file outside the cases file's folder (refused by default).")
@format_option(RENDERERS, "table", "table for people; json and junit (JUnit XML) for machines and CI.")
@precision_option("Significant digits in the table (default: the shortest round-trip text).")
@debug_option
@exact_options("Compute with exact rationals (see eval --exact); a case with an irrational operation fails.",
               "Exact rationals, computing irrational operations in float64.")
def command(cases_path, program_file, allow_outside, output_format, precision, exact):
    """Run a file of cases: each a program, its bindings and the numbers it should give.

    CASES is TOML (one [[case]] table per case) or JSON Lines (one object per line); '-' reads
    standard input. Exit status: 0 when every case passes, 1 when any fails (a program that does
    not parse or evaluate is a failed case), 2 when the cases file itself is malformed.

    \b
    Example (cases.toml):
      [[case]]
      name = "apple"
      expr = "subtotal = price*count; subtotal*tax"
      vars = { price = 100, count = 2, tax = 1.1 }
      value = 220
      grad = { price = 2.2, count = 110, tax = 200 }
      nodes = { subtotal = { value = 200, grad = 1.1 } }

    \b
      cgraph check cases.toml
      cgraph check cases.toml -f student/answer.cg --format junit > report.xml
    \b
    Tolerance: pass when |got - expected| <= max(rtol * max(|got|, |expected|), atol);
    default rtol 1e-6, atol 1e-9 (set rtol/atol at the top of the file or in a case).
    A case's file = must lie inside the cases file's folder (after following symbolic links)
    unless --allow-outside is given.
    """
    cases = load(cases_path, program_file, allow_outside)
    results = [run_case(case, exact) for case in cases]
    for result in results:
        for message in result.notes:
            note(f"case {result.case.name}: {message}")
    emit(RENDERERS[output_format](cases_path, results, precision))
    return ExitStatus.SUCCESS if all(result.passed for result in results) else ExitStatus.CHECK_FAILED
