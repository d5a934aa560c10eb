"""`cgraph minimize`'s output: a table (with a loss curve drawn by plotext above it), the whole
trajectory as JSON, or plain `NAME VALUE` lines; and the loss curve to a file with matplotlib.

Renderers take (result, names, bindings, settings); settings: method, lr, tol, precision, status.
plotext and matplotlib are imported only when a curve is drawn."""

import json
import math
import os
import shutil

from cgraph_cli.errors import UsageError
from cgraph_cli.optimize import is_tensor
from cgraph_cli.text import json_number, machine

PLOT_FORMATS = (".png", ".svg", ".pdf")


def render_table(result, names, bindings, settings):
    from rich.console import Group
    from rich.text import Text

    from cgraph_cli.render.layout import Column, Grid
    from cgraph_cli.render.numbers import number_text

    digits, status = settings.precision or 12, settings.status
    first, final = result.trajectory[0], result.trajectory[-1]
    columns = [Column("variable"), Column("start", None, "right", "number"),
               Column("final", "green", "right", "number"), Column("gradient", "magenta", "right", "number")]
    rows = [[name] + [number_text(value, digits) for value in (bindings[name], result.values[name],
                                                               result.gradients[name])] for name in names]
    rows.append([("loss", "bold"), number_text(first.loss, digits), (number_text(final.loss, digits), "bold green"),
                 ""])
    table = Grid(columns, rows)
    if not result.converged:   # the warning on stderr says why
        return table
    return Group(table, Text(status, style="green"))


def terminal_plot(result, colour: bool) -> str:
    """The loss against the iteration, drawn by plotext; log scale when the loss spans decades."""
    import plotext as plt

    iterations = [r.iteration for r in result.trajectory]
    losses = [r.loss for r in result.trajectory]
    plt.clear_figure()
    plt.plot(iterations, losses, marker="braille")
    low, high = min(losses), max(losses)
    if low > 0 and high / low >= 100:
        plt.yscale("log")
        first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
        decades = range(first, last + 1, max(1, math.ceil((last - first + 1) / 6)))   # <= 6 labels
        plt.yticks([10.0 ** k for k in decades], [f"1e{k}" for k in decades])
    last = iterations[-1]
    if last:
        ticks = sorted({round(last * k / 4) for k in range(5)})
        plt.xticks(ticks, [str(t) for t in ticks])
    plt.title("loss")
    plt.xlabel("iteration")
    width = min(100, shutil.get_terminal_size((80, 24)).columns)
    plt.plotsize(width, 18)
    text = plt.build()
    if not colour or os.environ.get("NO_COLOR"):
        text = plt.uncolorize(text)
    return text.rstrip() + "\n"


def check_plot_file(plot_file: str) -> None:
    """Fail before the run, not after it: a known extension and matplotlib installed."""
    if os.path.splitext(plot_file)[1].lower() not in PLOT_FORMATS:
        raise UsageError(f"--plot {plot_file}: name the file .png, .svg or .pdf")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed: install the plot extra, "
                         "pip install 'cgraph-cli[plot]' (or pip install matplotlib)") from None


def save_plot(result, plot_file: str, method: str, lr: float) -> None:
    import matplotlib

    matplotlib.use("Agg")   # files only: no window, no display needed
    from matplotlib.figure import Figure

    iterations = [r.iteration for r in result.trajectory]
    losses = [r.loss for r in result.trajectory]
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    axes.plot(iterations, losses, color="#1f77b4", linewidth=1.6)
    low, high = min(losses), max(losses)
    if low > 0 and high / low >= 100:
        axes.set_yscale("log")
    axes.set_xlabel("iteration")
    axes.set_ylabel("loss")
    axes.set_title(f"cgraph minimize: {method}, lr {lr:g}")
    axes.grid(True, alpha=0.3)
    try:
        figure.savefig(plot_file, dpi=120)
    except OSError as error:
        raise UsageError(f"cannot write {plot_file}: {error.strerror or error}") from None


def document(result, names, settings) -> dict:
    method, lr, tol, precision = settings.method, settings.lr, settings.tol, settings.precision
    final = result.trajectory[-1]
    return {
        "schema": 1,
        "converged": result.converged,
        "iterations": final.iteration,
        "method": method, "lr": lr, "tol": tol,
        "loss": json_number(final.loss, precision),
        "gradient_norm": json_number(final.gradient_norm, precision),
        "variables": {name: json_number(result.values[name], precision) for name in names},
        "gradients": {name: json_number(result.gradients[name], precision) for name in names},
        "trajectory": [{
            "iteration": r.iteration,
            "loss": json_number(r.loss, precision),
            "gradient_norm": json_number(r.gradient_norm, precision),
            "variables": {name: json_number(value, precision) for name, value in r.values.items()},
        } for r in result.trajectory],
    }


def _machine(value, precision) -> str:
    if is_tensor(value):
        return json.dumps(json_number(value, precision))
    return machine(float(value), precision)


def render_json(result, names, bindings, settings) -> str:
    return json.dumps(document(result, names, settings), allow_nan=False) + "\n"


def render_plain(result, names, bindings, settings) -> str:
    final, precision = result.trajectory[-1], settings.precision
    lines = [f"loss {_machine(final.loss, precision)}"]
    lines += [f"{name} {_machine(result.values[name], precision)}" for name in names]
    return "\n".join(lines) + "\n"


RENDERERS = {"table": render_table, "json": render_json, "plain": render_plain}
