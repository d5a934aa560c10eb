"""`cgraph minimize`: gradient descent from the bound values, with progress and a loss curve.

The progress bar (rich) is drawn on stderr, and only when stdout and stderr are both
terminals: piped or redirected runs stay quiet. The loss curve is drawn in the
terminal with plotext, and to a PNG/SVG/PDF file with matplotlib (`--plot FILE`,
the optional extra `cgraph[plot]`). Both are imported only when used.
"""

import json
import math
import os
import shutil
import sys

import click

from cgraph_cli.cli import BINDINGS_HELP, CONTEXT, BindingCommand, emit, input_options, read_source
from cgraph_cli.errors import UsageError
from cgraph_cli.optimize import METHODS, default_wrt, is_tensor, minimize

PLOT_FORMATS = (".png", ".svg", ".pdf")


@click.command("minimize", cls=BindingCommand, context_settings=CONTEXT, epilog=BINDINGS_HELP)
@input_options
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Train this variable (repeatable). Default: every bound scalar variable; "
                   "required when a tensor is bound.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=0.1, show_default=True,
              help="Learning rate: the step is lr times the gradient (or Adam's scaled step).")
@click.option("--iterations", type=click.IntRange(0), default=200, show_default=True, metavar="N",
              help="At most N updates.")
@click.option("--method", type=click.Choice(list(METHODS)), default="gd", show_default=True,
              help="gd: plain gradient descent; momentum: heavy ball (--beta); adam: Adam.")
@click.option("--tol", type=click.FloatRange(0), default=1e-6, show_default=True,
              help="Stop when the gradient's norm falls under this.")
@click.option("--beta", type=click.FloatRange(0, 1, max_open=True), default=0.9, show_default=True,
              help="Momentum coefficient (--method momentum).")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "plain"]),
              default="table", show_default=True,
              help="table (with the loss curve) for people; json (the whole trajectory) and plain "
                   "for scripts.")
@click.option("--plot", "plot_file", metavar="FILE",
              help="Also draw the loss curve to FILE (.png, .svg or .pdf; needs cgraph[plot]).")
@click.option("--no-plot", is_flag=True, help="No loss curve in the terminal.")
@click.option("--precision", type=click.IntRange(1, 17), metavar="N",
              help="Significant digits (default: 12 in the table, round-trip in json/plain).")
@click.pass_context
def minimize_command(ctx, file, var_words, vars_file, debug, wrt, lr, iterations, method, tol, beta,
                     output_format, plot_file, no_plot, precision):
    """Minimize a formula by gradient descent, starting from the bound values.

    \b
    Examples:
      cgraph minimize "(x-3)^2 + (y+1)^2" --x 0 --y 0
      cgraph minimize "(1-a)^2 + 100*(b-a^2)^2" --a -1 --b 1 --method adam --lr 0.02 --iterations 5000
      cgraph minimize "(x-3)^2" --x 0 --format json | jq .trajectory[-1]
      cgraph minimize "(x-3)^2" --x 0 --plot loss.png
    """
    from cgraph_cli.bindings import collect
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build

    if plot_file is not None:
        _check_plot_file(plot_file)
    source = read_source(ctx.meta["cgraph.positional"], file)
    bindings = collect(ctx.meta["cgraph.bindings"], var_words, vars_file)
    graph = build(parse(source), source, frozenset(bindings))
    names = list(dict.fromkeys(wrt)) if wrt else default_wrt(graph, bindings)
    if not names:
        raise UsageError("nothing to train: bind a starting value for each variable, e.g. "
                         "cgraph minimize \"(x-3)^2\" --x 0")
    stdout = sys.stdout
    with _progress(iterations, stdout.isatty()) as on_step:
        result = minimize(graph, bindings, names, lr=lr, iterations=iterations, method=method,
                          tol=tol, beta=beta, on_step=on_step)
    final = result.trajectory[-1]
    updates = final.iteration
    if result.converged:
        status = (f"converged after {updates} iteration{'s' * (updates != 1)}: gradient norm "
                  f"{final.gradient_norm:.3g} < tol {tol:g}")
    else:
        status = (f"did not converge in {updates} iteration{'s' * (updates != 1)}: gradient norm "
                  f"{final.gradient_norm:.3g} is not under tol {tol:g}; ")
        start = result.trajectory[0].loss
        if final.loss > start:
            status += f"the loss grew from {start:.3g} to {final.loss:.3g}: try a smaller --lr"
        else:
            status += "try more --iterations, another --lr or --method"
    if plot_file is not None:
        _save_plot(result, plot_file, method, lr)
    if output_format == "json":
        emit(json.dumps(_document(result, names, method, lr, tol, precision), allow_nan=False) + "\n")
    elif output_format == "plain":
        lines = [f"loss {_machine(final.loss, precision)}"]
        lines += [f"{name} {_machine(result.values[name], precision)}" for name in names]
        emit("\n".join(lines) + "\n")
    else:
        if not no_plot:
            emit(_terminal_plot(result, stdout.isatty()))
        emit(_table(result, names, bindings, precision, status))
    if not result.converged:   # last, so it is the last line a person sees
        sys.stdout.flush()
        click.echo(f"cgraph: warning: {status}", err=True)


class _progress:
    """A context giving the on_step callback: a rich progress bar on a terminal, else nothing."""

    def __init__(self, iterations: int, stdout_is_terminal: bool):
        self.iterations = iterations
        self.show = stdout_is_terminal and sys.stderr.isatty()
        self.progress = None

    def __enter__(self):
        if not self.show:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("minimizing"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss [bold]{task.fields[loss]}"), TextColumn("|grad| {task.fields[norm]}"),
            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.progress.__enter__()
        task = self.progress.add_task("minimize", total=self.iterations, loss="", norm="")
        update = self.progress.update

        def on_step(iteration, loss, norm):
            update(task, completed=iteration, loss=f"{loss:.6g}", norm=f"{norm:.3g}")

        return on_step

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
        return False


def _table(result, names, bindings, precision, status):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from cgraph_cli.render.numbers import human

    digits = precision or 12
    first, final = result.trajectory[0], result.trajectory[-1]
    table = Table(header_style="bold", pad_edge=False)
    table.add_column("variable")
    table.add_column("start", justify="right")
    table.add_column("final", justify="right", style="green")
    table.add_column("gradient", justify="right", style="magenta")
    for name in names:
        table.add_row(name, human(bindings[name], digits), human(result.values[name], digits),
                      human(result.gradients[name], digits))
    table.add_row(Text("loss", style="bold"), human(first.loss, digits),
                  Text(human(final.loss, digits), style="bold green"), "")
    if not result.converged:   # the warning on stderr says why
        return table
    return Group(table, Text(status, style="green"))


def _terminal_plot(result, colour: bool) -> str:
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


def _check_plot_file(plot_file: str) -> None:
    """Fail before the run, not after it: a known extension and matplotlib installed."""
    if os.path.splitext(plot_file)[1].lower() not in PLOT_FORMATS:
        raise UsageError(f"--plot {plot_file}: name the file .png, .svg or .pdf")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed: install the plot extra, "
                         "pip install 'cgraph[plot]' (or pip install matplotlib)") from None


def _save_plot(result, plot_file: str, method: str, lr: float) -> None:
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


def _document(result, names, method, lr, tol, precision) -> dict:
    final = result.trajectory[-1]
    return {
        "converged": result.converged,
        "iterations": final.iteration,
        "method": method, "lr": lr, "tol": tol,
        "loss": _json(final.loss, precision),
        "gradient_norm": _json(final.gradient_norm, precision),
        "variables": {name: _json(result.values[name], precision) for name in names},
        "gradients": {name: _json(result.gradients[name], precision) for name in names},
        "trajectory": [{
            "iteration": r.iteration,
            "loss": _json(r.loss, precision),
            "gradient_norm": _json(r.gradient_norm, precision),
            "variables": {name: _json(value, precision) for name, value in r.values.items()},
        } for r in result.trajectory],
    }


def _json(value, precision):
    from cgraph_cli.render.numbers import json_number

    return json_number(value, precision)


def _machine(value, precision) -> str:
    from cgraph_cli.render.numbers import machine

    if is_tensor(value):
        return json.dumps(_json(value, precision))
    return machine(float(value), precision)
