"""eval in bulk: one line of output per --each-line expression (jsonl or plain), the --points CSV."""

import json

from cgraph_cli.batch import renumber
from cgraph_cli.errors import CgraphError
from cgraph_cli.text import elements, json_number, machine

CHUNK_ROWS = 1 << 16   # rows formatted and written at a time: bounded memory for any file size
ENCODE = json.JSONEncoder(allow_nan=False).encode   # one encoder for every line (json.dumps makes one per call)


def jsonl_line(line_number: int, result, precision) -> str:
    if isinstance(result, CgraphError):
        document = {"schema": 1, "line": line_number, "error": f"{result.kind}: {renumber(result.message, line_number)}",
                    "exit_code": int(result.exit_code)}
    else:
        document = {"schema": 1, "line": line_number, "value": json_number(result.value, precision),
                    "gradients": {name: json_number(g, precision) for name, g in result.gradients().items()}}
        if result.kinks:
            document["kinks"] = [result.kinks[i] for i in sorted(result.kinks)]
        if result.warnings:
            document["warnings"] = list(result.warnings)
    return ENCODE(document) + "\n"


def plain_line(line_number: int, result, precision) -> str:
    """`LINE value V NAME G ...` on one line (awk: $1 the line, $3 the value), or `LINE error CODE`;
    a tensor as plain's per-element words (`value[0] V0 value[1] V1 x[0] G0 ...`), still one line."""
    if isinstance(result, CgraphError):
        return f"{line_number} error {int(result.exit_code)}\n"
    words = [str(line_number)]   # a tensor: plain's per-element words (value[0] 2 value[1] 4), one line
    for name, value in [("value", result.value), *result.gradients().items()]:
        for label, element in elements(name, value):
            words += [label, machine(element, precision)]
    return " ".join(words) + "\n"


def points_csv(data, outputs: list, results: list, precision):
    """The input rows as they were, then value and d_NAME columns: shortest round-trip text
    (or `precision` significant digits), yielded a chunk of rows at a time."""
    number = repr if not precision else ("{:.%dg}" % precision).format
    yield ",".join([data.header.rstrip()] + outputs) + "\n"
    for start in range(0, len(data.rows), CHUNK_ROWS):
        stop = start + CHUNK_ROWS
        columns = [map(number, result[start:stop].tolist()) for result in results]
        yield "\n".join(map(",".join, zip(data.rows[start:stop], *columns))) + "\n"


EACH_LINE_RENDERERS = {"jsonl": jsonl_line, "plain": plain_line}
