"""`cgraph jacobian`'s formats: (graph, jacobian.Jacobian, Options) -> str or a rich renderable.

table: a title, the mode and its passes, the value, then each variable's Jacobian as a matrix whose
rows are the output's elements (value[i]) and whose columns are the variable's (x[j]), a tensor's
indices in C order; more than 6 rows or columns show the first and last 3 (--full: all). plain:
`mode M`, `passes N`, `value[i] V`, `jacobian value[i] x[j] V` lines. csv: a header
`index,value,d_x[0],d_x[1],...` (every chosen variable's columns, in order), then one row per output
element: its index, its value and d value[i] / d x[j]. json: {"schema": 1, "value", "jacobian",
"mode", "passes"}."""

import json
from typing import NamedTuple

from cgraph_cli.errors import UsageError
from cgraph_cli.text import cut_middle, elements, human, json_number, machine, printable

EDGE = 3            # a side of more than 2 x EDGE rows or columns shows its first and last EDGE
SHOWN_POINT = 6     # a binding of at most this many elements is written out in the title


class Options(NamedTuple):
    precision: int | None = None
    full: bool = False


def labels(name: str, shape: tuple) -> list:
    """`name` for a scalar, else `name[i,j]` for each element in C order (text.elements' labels)."""
    if not shape:
        return [name]
    import numpy

    return [f"{name}[{','.join(map(str, index))}]" for index in numpy.ndindex(shape)]


def shown_indexes(count: int, full: bool) -> list:
    """0..count-1, or its first and last EDGE with None (an elided stretch) between."""
    if full or count <= 2 * EDGE:
        return list(range(count))
    return list(range(EDGE)) + [None] + list(range(count - EDGE, count))


def matrix(result, name: str):
    """The Jacobian of `name` as (output elements) x (variable elements): rows of Python numbers
    (a 2-D array's rows when `result` holds arrays; its elements are read with float())."""
    value = result.jacobians[name]
    if not getattr(value, "ndim", 0):
        return [[value]]
    return value.reshape(_size(result.output_shape), _size(result.shapes[name]))


def _number(value):
    """A float from an array's element; a float or Fraction as it is."""
    return float(value) if hasattr(value, "dtype") else value   # (NumPy's float64 is a float, with its own repr)


def _size(shape: tuple) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


# ----- table -----

def render_table(graph, result, options):
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.numbers import number_text

    digits = options.precision
    source = printable(cut_middle(graph.source.strip(), 60), keep="\n")
    value = number_text(result.value, digits, options.full).replace("\n", "\n" + " " * len("value = "))
    parts = [Text(printable(f"Jacobian of {source}{_point(result.bindings, digits)}", keep="\n"), style="bold"),
             Text(mode_line(result), style="dim"), Text("value = " + value)]
    out_labels = labels("value", result.output_shape)
    rows = shown_indexes(len(out_labels), options.full)
    scalars = [name for name in result.names if not result.shapes[name]]
    groups = ([scalars] if scalars else []) + [[name] for name in result.names if result.shapes[name]]
    for names in groups:   # the scalar variables side by side, then each tensor variable
        columns, header = [], []
        for name in names:
            values = matrix(result, name)
            var_labels = labels(printable(name), result.shapes[name])
            for j in shown_indexes(len(var_labels), options.full):
                header.append("…" if j is None else var_labels[j])
                columns.append(["…" if i is None or j is None else human(_number(values[i][j]), digits)
                                for i in rows])
        shape = result.output_shape + result.shapes[names[0]]
        what = f"d value / d {', '.join(names)}" + (f": shape {shape}" if shape else "")
        parts += [Text(""), Text(printable(what), style="bold"),
                  Blocks(["…" if i is None else out_labels[i] for i in rows], header, columns)]
    return Group(*parts)


class Blocks:
    """A matrix with labelled rows and columns, as one table when it fits the console, else as
    several tables of consecutive columns (each repeating the row labels), as NumPy and R print a
    wide matrix; a column too wide even alone falls back to layout.Grid's records."""

    def __init__(self, row_labels: list, headers: list, columns: list):
        self.row_labels, self.headers, self.columns = row_labels, headers, columns

    def _grid(self, ks: list):
        from cgraph_cli.render.layout import Column, Grid

        spec = [Column("", "bold cyan", kind="fixed")] + [Column(self.headers[k], None, "right", "number")
                                                          for k in ks]
        return Grid(spec, [[label] + [self.columns[k][i] for k in ks] for i, label in enumerate(self.row_labels)])

    def __rich_console__(self, console, options):
        from cgraph_cli.render.layout import length

        width = options.max_width
        used = 2 + max(map(length, self.row_labels))   # the edges and the label column
        block, blocks = [], []
        for k, (header, cells) in enumerate(zip(self.headers, self.columns)):
            size = 3 + max([length(header)] + [length(cell) for cell in cells])
            if block and used + size > width:
                blocks.append(block)
                block, used = [], 2 + max(map(length, self.row_labels))
            block.append(k)
            used += size
        blocks.append(block)
        for ks in blocks:
            yield self._grid(ks)


def mode_line(result) -> str:
    """`reverse mode: 3 backward passes, one per output element (forward mode: 4)`."""
    other = "forward" if result.mode == "reverse" else "reverse"
    if result.mode == "reverse" and not result.output_shape:
        return f"reverse mode: 1 backward pass: a scalar output's gradient ({other} mode: {result.other_passes:,})"
    kind, per = ("backward", "output element") if result.mode == "reverse" else ("tangent", "variable element")
    plural = "es" if result.passes != 1 else ""
    return (f"{result.mode} mode: {result.passes:,} {kind} pass{plural}, one per {per} "
            f"({other} mode: {result.other_passes:,})")


def _point(bindings: dict, digits) -> str:
    if not bindings:
        return ""
    shown = []
    for name in sorted(bindings):
        value = bindings[name]
        shape = tuple(getattr(value, "shape", ()))
        if _size(shape) <= SHOWN_POINT:
            shown.append(f"{name} = {human(value, digits)}")
        else:
            shown.append(f"{name} of shape {shape}")
    return " at " + ", ".join(shown)


# ----- machine formats -----

def document(result, precision=None) -> dict:
    return {"schema": 1, "value": json_number(result.value, precision),
            "jacobian": {name: json_number(result.jacobians[name], precision) for name in result.names},
            "mode": result.mode, "passes": result.passes}


def render_json(graph, result, options) -> str:
    return json.dumps(document(result, options.precision), allow_nan=False) + "\n"


def render_plain(graph, result, options) -> str:
    precision = options.precision
    lines = [f"mode {result.mode}", f"passes {result.passes}"]
    lines += [f"{label} {machine(v, precision)}" for label, v in elements("value", result.value)]
    out_labels = labels("value", result.output_shape)
    for name in result.names:
        var_labels = labels(name, result.shapes[name])
        for i, row in enumerate(matrix(result, name)):
            lines += [f"jacobian {out_labels[i]} {var_labels[j]} {machine(_number(v), precision)}"
                      for j, v in enumerate(row)]
    return "".join(line + "\n" for line in lines)


def refuse_csv(output_shape: tuple, shapes: dict) -> None:
    """--format csv: a vector output and vector variables only (a usage error naming json)."""
    if len(output_shape) == 1 and all(len(shape) == 1 for shape in shapes.values()):
        return
    what = [f"the output has shape {output_shape}"] + [f"{name} {shape}" for name, shape in shapes.items()
                                                      if len(shape) != 1]
    raise UsageError("--format csv is for a vector output and vector variables (one row per output "
                     f"element); here {', '.join(what)}: use --format json")


def render_csv(graph, result, options) -> str:
    precision = options.precision
    header = ["index", "value"] + [f"d_{label}" for name in result.names
                                   for label in labels(name, result.shapes[name])]
    matrices = [matrix(result, name) for name in result.names]
    values = [v for _, v in elements("value", result.value)]
    lines = [",".join(_csv_field(h) for h in header)]
    for i, value in enumerate(values):
        fields = [str(i), machine(value, precision)] + [machine(_number(v), precision)
                                                         for m in matrices for v in m[i]]
        lines.append(",".join(fields))
    return "".join(line + "\n" for line in lines)


def _csv_field(text: str) -> str:
    """A header field: quoted when the name holds a comma or a quote (x[0] does not)."""
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


RENDERERS = {"table": render_table, "json": render_json, "plain": render_plain, "csv": render_csv}
