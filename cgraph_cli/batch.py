"""eval in bulk: `--each-line` (one expression per line) and `--points DATA.csv` (one point per row).

--each-line loads the grammar once and runs every line through parse -> graph -> engine, writing one
result per line as it goes; a line that fails gives its error and exit code, the others still run,
and the process exits with the highest code met.

--points evaluates once over whole columns: the CSV's columns bind the variables as NumPy arrays and
one forward and one backward pass over the graph give the value and gradient of every row (each row
is independent, so seeding the backward pass with ones gives each row its own gradient).
"""

import csv
import math
import sys
from types import SimpleNamespace

from cgraph_cli.bindings import check_name
from cgraph_cli import engine   # engine.forward looked up at call time (tests count the passes)
from cgraph_cli.errors import CgraphError, ExitStatus, UsageError
from cgraph_cli.graph import check_data, from_text
from cgraph_cli.ops import OPS, TENSOR_OPS, OpTable, table
from cgraph_cli.text import NotText, decode_utf8


# ----------------------------------------------------------------------------- --each-line

def each_expression(source: str):
    """(line number, text) for every line that is not blank and not a # comment."""
    for line_number, line in enumerate(source.split("\n"), start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield line_number, text


def evaluate_line(text: str, values: dict, data=frozenset()):
    """The Evaluation of one line, or the CgraphError it raised (returned, so the batch goes on).
    `data` (--const) need not be used by every line: the bindings are shared by all of them."""
    try:
        return engine.evaluate(from_text(text, frozenset(values), data), values)
    except CgraphError as error:
        return error
    except RecursionError:
        return UsageError("the expression is too deeply nested for this Python")


def renumber(message: str, line_number: int) -> str:
    """Each line is parsed on its own, so a caret message says `line 1`: give the file's line instead."""
    return message.replace("line 1, column ", f"line {line_number}, column ", 1)


# ----------------------------------------------------------------------------- --points

class PointsData:
    """A CSV of points: its header names, the original text of each data row, and one column per name."""

    def __init__(self, names: list, header: str, rows: list, line_numbers, columns: dict):
        self.names, self.header, self.rows = names, header, rows
        self.line_numbers = line_numbers   # the file's line of each row (None when there are no blank lines)
        self.columns = columns             # name -> float64 array

    def line_of(self, row: int) -> int:
        return self.line_numbers[row] if self.line_numbers is not None else row + 2


def read_points(path: str) -> PointsData:
    """Parse the CSV: a header of variable names, then numbers; each row's text is kept to be echoed.

    NumPy's loadtxt reads the numbers of all rows in one call (quoted fields too); only when it
    refuses the file are the rows read one by one, to say which row and column is wrong."""
    import numpy

    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise UsageError(f"--points {path}: cannot read it ({error.strerror or error})")
    try:
        text = decode_utf8(data, "utf-8-sig")
    except NotText as error:
        raise UsageError(f"--points {path}: {error.detail}") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise UsageError(f"--points {path}: the file is empty; it needs a header line of variable names")
    header, rows = lines[0], lines[1:]
    line_numbers = None
    if any(not row or row.isspace() for row in rows):   # blank lines inside: skipped, lines counted
        line_numbers = [i + 2 for i, row in enumerate(rows) if row.strip()]
        rows = [row for row in rows if row.strip()]
    names = [name.strip() for name in _csv_fields(header)]
    values = _read_polars(rows, len(names)) if rows else numpy.zeros((0, len(names)))
    if values is None:
        try:
            values = numpy.loadtxt(rows, delimiter=",", quotechar='"', comments=None, dtype=float, ndmin=2)
        except ValueError:
            values = None
    if values is None or values.shape[1] != len(names) or not numpy.isfinite(values).all():
        raise _first_bad_row(path, names, rows, line_numbers)
    columns = {name: numpy.ascontiguousarray(values[:, j]) for j, name in enumerate(names)}
    return PointsData(names, header, rows, line_numbers, columns)


def _read_polars(rows: list, count: int):
    """The rows' numbers as a (rows, count) array, read by polars in native code when it is installed
    (the optional extra cgraph-cli[fast]); None when it is not, or when polars does not read every field
    as a number: NumPy then reads the rows, or says which row and column is wrong."""
    try:
        import polars
    except ImportError:
        return None
    try:
        frame = polars.read_csv(("\n".join(rows) + "\n").encode(), has_header=False, quote_char='"',
                                schema={str(i): polars.Float64 for i in range(count)})
    except Exception:   # polars' own errors (ComputeError, ...) and a malformed row
        return None
    if frame.shape != (len(rows), count) or any(frame.null_count().row(0)):
        return None
    return frame.to_numpy()


def _csv_fields(line: str) -> list:
    return next(csv.reader([line]), [])


def _first_bad_row(path: str, names: list, rows: list, line_numbers) -> UsageError:
    """Why NumPy refused the rows: the first row with the wrong number of fields or a field that is
    not a finite number (read one by one, only on this error path)."""
    for row_index, row in enumerate(rows):
        fields = _csv_fields(row)
        if len(fields) != len(names):
            return _row_error(path, line_numbers, row_index,
                              f"expected {len(names)} fields ({', '.join(names)}), got {len(fields)}")
        for name, field in zip(names, fields):
            try:
                if math.isfinite(float(field)):
                    continue
            except ValueError:
                pass
            return _row_error(path, line_numbers, row_index, f"column {name}: {field.strip()!r} is not a finite number")
    return UsageError(f"--points {path}: NumPy cannot read it as a table of numbers")


def _row_error(path, line_numbers, row: int, message: str) -> UsageError:
    line = line_numbers[row] if line_numbers is not None else row + 2
    return UsageError(f"--points {path}: row {row + 1} (line {line}): {message}")


def points_graph(source: str, data: PointsData, fixed: dict, path: str, const=frozenset()):
    """The graph, checked for --points: the header's names and the fixed bindings are variables,
    and every operation is elementwise. Returns (graph, the variables with a d_NAME column, in
    output column order: not the `const` ones, which are data)."""
    for name, value in fixed.items():
        if getattr(value, "ndim", 0):
            raise UsageError(f"--{name}: with --points, variables held fixed are numbers, not tensors")
    for name in data.names:
        try:
            check_name(name, f"--points {path}: the header")
        except CgraphError as error:
            raise UsageError(error.message)
        if name in fixed:
            raise UsageError(f"{name} is both a column of {path} and bound on the command line; give it one value")
    if len(set(data.names)) != len(data.names):
        twice = sorted({name for name in data.names if data.names.count(name) > 1})
        raise UsageError(f"--points {path}: the header names {', '.join(twice)} twice")
    bound = frozenset(data.names) | frozenset(fixed)
    graph = from_text(source, bound, const)
    check_data(graph, bound)
    mixing = [node_id for node_id, op in enumerate(graph.ops) if op in TENSOR_OPS]
    if mixing:
        node_id = mixing[0]
        raise UsageError(f"--points evaluates each row on its own, so only elementwise operations are "
                         f"allowed; {graph.excerpt(node_id, 60)} ({graph.ops[node_id]}) reduces or mixes rows")
    variables = [name for name in data.names if name not in const] + \
        [name for name in graph.differentiable() if name not in data.columns]
    clash = sorted(({"value"} | {f"d_{name}" for name in variables}) & set(data.names))
    if clash:
        raise UsageError(f"--points {path}: the column {clash[0]} clashes with an output column "
                         f"(value and d_NAME for each variable); rename it")
    return graph, variables


def evaluate_points(graph, data: PointsData, fixed: dict, variables: list, path: str):
    """([value column, d_NAME column per variable], notes for stderr): one forward pass over whole
    columns, then one backward pass seeded with ones (each row's gradient is its own). The backward
    pass keeps only the variables' gradients and releases every other array once passed on."""
    import numpy

    ops = points_ops()
    count = len(data.rows)
    bindings = dict(data.columns)
    bindings.update({name: numpy.full(count, value, dtype=float) for name, value in fixed.items()})
    try:
        values = engine.forward(graph, bindings, ops)
    except CgraphError as error:
        if error.exit_code != ExitStatus.EVALUATION:
            raise
        raise _failing_row(graph, bindings, data, path, error) from None
    notes = [f"cgraph: note: {graph.excerpt(node_id, 60)}: {message.replace(' elements:', ' rows:')}"
             for node_id, message in sorted(engine.find_kinks(graph, values, ops).items())]
    results = [numpy.broadcast_to(values[graph.output], (count,))]   # before backward releases it
    ones = numpy.broadcast_to(1.0, (count,))   # a seed of ones that takes no memory
    grads = engine.backward(graph, values, ones, ops, keep={graph.variables[name] for name in variables})
    for name in variables:
        gradient = grads[graph.variables[name]]
        column = numpy.zeros(count) if gradient is None else numpy.broadcast_to(gradient, (count,))
        bad = numpy.flatnonzero(~numpy.isfinite(column))
        if bad.size:   # a finite value with an infinite slope (sqrt at 0): written as inf or nan
            notes.append(f"cgraph: warning: d_{name} is not finite in {bad.size} of {count} rows "
                         f"(first: row {bad[0] + 1}, line {data.line_of(int(bad[0]))})")
        results.append(column)
    return results, notes


def points_ops():
    """The NumPy op table, with pow's rule not computing d/d(exponent) for a plain-number exponent.

    With --points every variable is bound to a whole column, so a number there is a constant (x^2),
    whose gradient the engine drops: computing exponent * log(base) for it anyway is a fifth of the
    evaluation of a formula like the benchmark's."""
    from cgraph_cli.ops import array_table

    NUMPY_OPS = array_table()

    general = NUMPY_OPS["pow"].vjp
    slope = NUMPY_OPS.backend.power_slope

    def pow_vjp(g, out, base, exponent):
        if type(exponent) is float:
            return g * slope(base, exponent), 0.0
        return general(g, out, base, exponent)

    return OpTable([op._replace(vjp=pow_vjp) if op.name == "pow" else op for op in NUMPY_OPS.values()],
                   NUMPY_OPS.backend)


def _failing_row(graph, bindings: dict, data: PointsData, path: str, error: CgraphError) -> CgraphError:
    """Name the first row where evaluation fails: find it with errors silenced, then evaluate that row
    alone with floats, which gives the same message `cgraph eval` gives at that point."""
    import numpy

    from cgraph_cli.ops.arrays import NUMPY

    quiet = table(SimpleNamespace(**{**vars(NUMPY), "forward_guard": lambda: numpy.errstate(all="ignore")}))
    values = engine.forward(graph, bindings, quiet, finite=False)
    bad = [numpy.flatnonzero(~numpy.isfinite(numpy.broadcast_to(value, (len(data.rows),))))
           for value in values]
    row = min((rows[0] for rows in bad if rows.size), default=None)
    if row is None:
        return error
    point = {name: float(column[row]) for name, column in bindings.items()}
    at = ", ".join(f"{name}={point[name]!r}" for name in data.names)
    try:
        engine.forward(graph, point, OPS)
        message = error.message
    except CgraphError as scalar_error:
        message = scalar_error.message
    return type(error)(f"row {row + 1} of {path} (line {data.line_of(row)}: {at}): {message}")


