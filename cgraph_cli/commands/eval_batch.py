"""eval in bulk: `--each-line` (one expression per line) and `--points DATA.csv` (one point per row).
Imported by eval only for a bulk run: the checks of the options, and the loops that write as they
go; the evaluation is batch.py's, the output lines render/batch.py's."""

import sys
from typing import NamedTuple

from cgraph_cli import ast
from cgraph_cli.batch import (each_expression, evaluate_line, evaluate_points, points_graph,
                              read_points, renumber)
from cgraph_cli.errors import CgraphError, ExitStatus, UsageError
from cgraph_cli.grammar import parse
from cgraph_cli.graph import check_data_bound
from cgraph_cli.render.batch import EACH_LINE_RENDERERS, points_csv

FLUSH_EVERY = 256   # lines of output written at a time: streams to a pipe, without a write per line


class Refused(NamedTuple):
    """What eval was also given that a bulk run cannot do (each refused with a message)."""
    expect: bool
    steps: bool
    show_all: bool
    full: bool
    seed: bool
    order: bool


def run(invocation, bulk, output_format: str, explicit_format: bool, precision, refused: Refused) -> int:
    """Check which bulk mode `bulk` (eval's Bulk) asks for and that the options fit it, then run it."""
    if refused.expect:
        raise UsageError("--expect checks one expression; for many, write a cases file for `cgraph check`")
    if bulk.each_line and bulk.points:
        raise UsageError("--each-line and --points do not go together: one runs many expressions, "
                         "the other one expression at many points")
    if refused.steps:
        raise UsageError("--steps shows one evaluation; it does not go with --each-line or --points")
    for flag, given in (("--all", refused.show_all), ("--full", refused.full), ("--seed", refused.seed),
                        ("--order 2", refused.order)):
        if given:
            raise UsageError(f"{flag} is for one evaluation printed whole; not with --each-line or --points")
    if bulk.each_line:
        if bulk.out:
            raise UsageError("--out goes with --points; redirect the output of --each-line instead")
        if not explicit_format:
            output_format = "jsonl"
        if output_format not in EACH_LINE_RENDERERS:
            raise UsageError(f"--each-line writes --format jsonl or plain, not {output_format}")
        return each_line_run(invocation, output_format, precision)
    if bulk.points:
        if explicit_format and output_format != "csv":
            raise UsageError(f"--points writes CSV (--format csv), not {output_format}")
        return points_run(invocation, bulk.points, bulk.out, precision)
    if bulk.out:
        raise UsageError("--out goes with --points DATA.csv")
    raise UsageError(f"--format {output_format} goes with "
                     + ("--each-line" if output_format == "jsonl" else "--points DATA.csv"))


def each_line_run(invocation, output_format: str, precision) -> int:
    source = invocation.source()
    values = invocation.bindings()
    check_data_bound(invocation.data, values)
    write = sys.stdout.write
    warn = sys.stderr.write
    render = EACH_LINE_RENDERERS[output_format]
    highest = ExitStatus.SUCCESS
    pending = []
    try:
        for line_number, text in each_expression(source):
            result = evaluate_line(text, values, invocation.data)
            if isinstance(result, CgraphError):
                highest = max(highest, result.exit_code)
                if output_format == "plain":
                    warn(f"cgraph: line {line_number}: {result.kind}: {renumber(result.message, line_number)}\n")
            pending.append(render(line_number, result, precision))
            if len(pending) >= FLUSH_EVERY:
                write("".join(pending))
                pending.clear()
    finally:   # whatever stops the batch, the lines already done are not lost
        write("".join(pending))
    return int(highest)


def points_run(invocation, points: str, out: str | None, precision) -> int:
    """Value and gradient at every row of the CSV, in one vectorized forward and backward pass."""
    if points == "-" and invocation.file in (None, "-") and not [w for w in invocation.words if w != "-"]:
        raise UsageError("--points - reads the CSV from standard input: give the expression as EXPR or -f FILE")
    source = invocation.source()
    invocation.check_words(ast.names(parse(source)))   # one formula: another command's option is an error here too
    invocation.notes = []                   # a binding the formula does not use gets its d_NAME column
    fixed = invocation.bindings()
    data = read_points(points)
    graph, variables = points_graph(source, data, fixed, points, invocation.data)
    results, notes = evaluate_points(graph, data, fixed, variables, points)
    for note in notes:
        sys.stderr.write(note + "\n")
    write_points(out, data, ["value"] + [f"d_{name}" for name in variables], results, precision)
    return ExitStatus.SUCCESS


def write_points(out: str | None, data, outputs: list, results: list, precision) -> None:
    """The CSV to standard output (no --out, or --out -) or to --out FILE, a chunk of rows at a time."""
    if out is None or out == "-":
        handle, close = sys.stdout, False
    else:
        try:
            handle, close = open(out, "w", encoding="utf-8", newline="\n"), True
        except OSError as error:
            raise UsageError(f"--out {out}: cannot write it ({error.strerror or error})")
    chunks = None if precision else points_csv_polars(data, outputs, results)
    try:
        for text in chunks or points_csv(data, outputs, results, precision):
            handle.write(text)
    finally:
        if close:
            handle.close()


POLARS_CHUNK_ROWS = 1 << 18   # rows written at a time by the polars path (about 16 MB of text)


def points_csv_polars(data, outputs: list, results: list):
    """The same text as render/batch.points_csv (shortest round-trip floats), formatted by polars in
    native code when it is installed (the optional extra `cgraph-cli[fast]`), else None.

    Polars writes a float as Python's repr does wherever repr writes it without an exponent
    (1e-4 <= |x| < 1e16), and 0, -0.0, inf, -inf alike; the other values (1e-05, 1e+16, nan) are
    written by repr itself (tests/test_points_fast.py holds both to repr)."""
    try:
        import polars
    except ImportError:
        return None
    import numpy

    def chunks():
        yield ",".join([data.header.rstrip()] + outputs) + "\n"
        for start in range(0, len(data.rows), POLARS_CHUNK_ROWS):
            stop = start + POLARS_CHUNK_ROWS
            columns = {"0": polars.Series(data.rows[start:stop], dtype=polars.String)}
            for i, result in enumerate(results, start=1):
                column = numpy.ascontiguousarray(result[start:stop], dtype=float)
                text = polars.Series(column).cast(polars.String)
                size = numpy.abs(column)
                other = numpy.flatnonzero(~(((size >= 1e-4) & (size < 1e16)) | (size == 0) | numpy.isinf(size)))
                if other.size:
                    text = text.scatter(other, [repr(value) for value in column[other].tolist()])
                columns[str(i)] = text
            yield polars.DataFrame(columns).write_csv(include_header=False, quote_style="never",
                                                      line_terminator="\n")
    return chunks()
