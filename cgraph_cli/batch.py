"""eval in bulk: `--each-line` (one expression per line) and `--points DATA.csv` (one point per row).

--each-line loads the grammar once and runs every line through parse -> graph -> engine, writing one
result per line as it goes; a line that fails gives its error and exit code, the others still run,
and the process exits with the highest code met.

--points evaluates once over whole columns: the CSV's columns bind the variables as NumPy arrays and
one forward and one backward pass over the graph give the value and gradient of every row (each row
is independent, so seeding the backward pass with ones gives each row its own gradient).
"""

import json
import sys

from click.core import ParameterSource

from cgraph_cli.errors import CgraphError, ExitStatus, UsageError

EACH_LINE_FORMATS = ("jsonl", "plain")
FLUSH_EVERY = 256   # lines of output written at a time: streams to a pipe, without a write per line


def run(ctx, *, each_line, points, out, output_format, **options) -> int:
    """Check which bulk mode is asked for and that the options fit it, then run it."""
    explicit_format = ctx.get_parameter_source("output_format") != ParameterSource.DEFAULT
    if ctx.meta.get("cgraph.expect", ([],))[0]:
        raise UsageError("--expect checks one expression; for many, write a cases file for `cgraph check`")
    if each_line and points:
        raise UsageError("--each-line and --points do not go together: one runs many expressions, "
                         "the other one expression at many points")
    if options.get("steps"):
        raise UsageError("--steps shows one evaluation; it does not go with --each-line or --points")
    if options.get("show_all"):
        raise UsageError("--all is for the tree and table formats; not with --each-line or --points")
    if each_line:
        if out:
            raise UsageError("--out goes with --points; redirect the output of --each-line instead")
        if not explicit_format:
            output_format = "jsonl"
        if output_format not in EACH_LINE_FORMATS:
            raise UsageError(f"--each-line writes --format jsonl or plain, not {output_format}")
        return each_line_run(ctx, output_format=output_format, **options)
    if points:
        if explicit_format and output_format != "csv":
            raise UsageError(f"--points writes CSV (--format csv), not {output_format}")
        return points_run(ctx, points=points, out=out, **options)
    if out:
        raise UsageError("--out goes with --points DATA.csv")
    raise UsageError(f"--format {output_format} goes with "
                     + ("--each-line" if output_format == "jsonl" else "--points DATA.csv"))


# ----------------------------------------------------------------------------- --each-line

def each_line_run(ctx, *, file, var_words, vars_file, output_format, precision, **_) -> int:
    from cgraph_cli.bindings import collect
    from cgraph_cli.cli import read_source

    source = read_source(ctx.meta["cgraph.positional"], file)
    values = collect(ctx.meta["cgraph.bindings"], var_words, vars_file)
    write = sys.stdout.write
    warn = sys.stderr.write
    render = _jsonl_line if output_format == "jsonl" else _plain_line
    highest = ExitStatus.SUCCESS
    pending = []
    for line_number, text in each_expression(source):
        result = evaluate_line(text, values)
        if isinstance(result, CgraphError):
            highest = max(highest, result.exit_code)
            if output_format == "plain":
                warn(f"cgraph: line {line_number}: {result.kind}: {renumber(result.message, line_number)}\n")
        pending.append(render(line_number, result, precision))
        if len(pending) >= FLUSH_EVERY:
            write("".join(pending))
            pending.clear()
    write("".join(pending))
    return int(highest)


def each_expression(source: str):
    """(line number, text) for every line that is not blank and not a # comment."""
    for line_number, line in enumerate(source.split("\n"), start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield line_number, text


def evaluate_line(text: str, values: dict):
    """The Evaluation of one line, or the CgraphError it raised (returned, so the batch goes on)."""
    from cgraph_cli.engine import evaluate
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build

    try:
        return evaluate(build(parse(text), text, frozenset(values)), values)
    except CgraphError as error:
        return error
    except RecursionError:
        return UsageError("the expression is too deeply nested for this Python")


def renumber(message: str, line_number: int) -> str:
    """Each line is parsed on its own, so a caret message says `line 1`: give the file's line instead."""
    return message.replace("line 1, column ", f"line {line_number}, column ", 1)


def _jsonl_line(line_number: int, result, precision) -> str:
    from cgraph_cli.render.numbers import json_number

    if isinstance(result, CgraphError):
        document = {"line": line_number, "error": f"{result.kind}: {renumber(result.message, line_number)}",
                    "exit_code": int(result.exit_code)}
    else:
        document = {"line": line_number, "value": json_number(result.value, precision),
                    "gradients": {name: json_number(g, precision) for name, g in result.gradients().items()}}
        if result.kinks:
            document["kinks"] = [result.kinks[i] for i in sorted(result.kinks)]
        if result.warnings:
            document["warnings"] = list(result.warnings)
    return json.dumps(document, allow_nan=False) + "\n"


def _plain_line(line_number: int, result, precision) -> str:
    """`LINE value V NAME G ...` on one line (awk: $1 the line, $3 the value), or `LINE error CODE`."""
    from cgraph_cli.render.numbers import machine

    if isinstance(result, CgraphError):
        return f"{line_number} error {int(result.exit_code)}\n"
    words = [str(line_number), "value", machine(result.value, precision)]
    for name, g in result.gradients().items():
        words += [name, machine(g, precision)]
    return " ".join(words) + "\n"


# ----------------------------------------------------------------------------- --points

def points_run(ctx, *, points, out, **options) -> int:
    raise UsageError("--points is not available yet")
