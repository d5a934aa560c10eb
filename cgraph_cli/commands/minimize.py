"""`cgraph minimize`: gradient descent from the bound values, with progress and a loss curve.

The progress bar (rich) is drawn on stderr, and only when stdout and stderr are both
terminals: piped or redirected runs stay quiet. The loss curve is drawn in the
terminal with plotext, and to a PNG/SVG/PDF file with matplotlib (`--plot FILE`,
the optional extra `cgraph-cli[plot]`). Both are imported only when used (render/minimize.py).
"""

import functools
import sys
from typing import NamedTuple

import click

from cgraph_cli.commands.support import (FiniteFloat, binding_command, const_option, emit, format_option,
                                         input_options,
                                         load_graph, precision_option, resolve_wrt, warn, wrt_option)
from cgraph_cli.errors import UsageError
from cgraph_cli.optimize import METHODS, default_wrt, minimize
from cgraph_cli.render.minimize import RENDERERS, check_plot_file, save_plot, terminal_plot


class Training(NamedTuple):
    lr: float
    iterations: int
    method: str
    tol: float
    beta: float


class Settings(NamedTuple):
    """What the renderers are told besides the result."""
    method: str
    lr: float
    tol: float
    precision: int | None
    status: str


def training_options(function):
    """--lr, --iterations, --method, --tol, --beta: passed to the command as one `training`."""
    @functools.wraps(function)
    def command(*args, lr, iterations, method, tol, beta, **kwargs):
        return function(*args, training=Training(lr, iterations, method, tol, beta), **kwargs)

    for decorator in reversed([
        click.option("--lr", type=FiniteFloat(0, min_open=True), default=0.1, show_default=True,
                     help="Learning rate: the step is lr times the gradient (or Adam's scaled step)."),
        click.option("--iterations", type=click.IntRange(0), default=200, show_default=True, metavar="N",
                     help="At most N updates."),
        click.option("--method", type=click.Choice(list(METHODS)), default="gd", show_default=True,
                     help="gd: plain gradient descent; momentum: heavy ball (--beta); adam: Adam."),
        click.option("--tol", type=FiniteFloat(0), default=1e-6, show_default=True,
                     help="Stop when the gradient's norm falls under this."),
        click.option("--beta", type=FiniteFloat(0, 1, max_open=True), default=0.9, show_default=True,
                     help="Momentum coefficient (--method momentum)."),
    ]):
        command = decorator(command)
    return command


@binding_command("minimize")
@input_options
@const_option
@wrt_option("Train this variable (repeatable). Default: the one bound scalar variable; "
            "required when several variables or a tensor are bound. --const variables are never trained.")
@training_options
@format_option(RENDERERS, "table", "table (with the loss curve) for people; json (the whole trajectory) "
               "and plain for scripts.")
@click.option("--plot", "plot_file", metavar="FILE",
              help="Also draw the loss curve to FILE (.png, .svg or .pdf; needs cgraph-cli[plot]).")
@click.option("--no-plot", is_flag=True, help="No loss curve in the terminal.")
@precision_option("Significant digits (default: 12 in the table, round-trip in json/plain).")
def command(invocation, wrt, training, output_format, plot_file, no_plot, precision):
    """Minimize a formula by gradient descent, starting from the bound values.

    \b
    Examples:
      cgraph minimize "(x-3)^2 + (y+1)^2" --x 0 --y 0 --wrt x --wrt y
      cgraph minimize "(1-a)^2 + 100*(b-a^2)^2" --a -1 --b 1 --wrt a --wrt b --method adam --lr 0.02 --iterations 5000
      cgraph minimize "(w*x - y)^2" --w 0 --x 2 --y 4 --wrt w    # x and y stay fixed
      cgraph minimize "(x-3)^2" --x 0 --format json | jq .trajectory[-1]
      cgraph minimize "(x-3)^2" --x 0 --plot loss.png
    """
    if plot_file is not None:
        check_plot_file(plot_file)
    _, bindings, graph = load_graph(invocation)
    names = resolve_wrt(graph, wrt, assigned=False) if wrt else default_wrt(graph, bindings)
    if not names and graph.data:
        raise UsageError("nothing to train: every bound variable is data (--const); train one of them "
                         "by dropping its --const")
    if not names:
        raise UsageError("nothing to train: bind a starting value for each variable, e.g. "
                         "cgraph minimize \"(x-3)^2\" --x 0")
    stdout = sys.stdout
    with _progress(training.iterations, stdout.isatty()) as on_step:
        result = minimize(graph, bindings, names, on_step=on_step, **training._asdict())
    status = _status(result, training.tol)
    if plot_file is not None:
        save_plot(result, plot_file, training.method, training.lr)
    if output_format == "table" and not no_plot:
        emit(terminal_plot(result, stdout.isatty()))
    settings = Settings(training.method, training.lr, training.tol, precision, status)
    emit(RENDERERS[output_format](result, names, bindings, settings))
    if not result.converged:   # last, so it is the last line a person sees
        sys.stdout.flush()
        warn([status])


def _status(result, tol: float) -> str:
    """Converged or not, after how many updates, and what to try next."""
    final = result.trajectory[-1]
    updates = final.iteration
    if result.converged:
        return (f"converged after {updates} iteration{'s' * (updates != 1)}: gradient norm "
                f"{final.gradient_norm:.3g} < tol {tol:g}")
    status = (f"did not converge in {updates} iteration{'s' * (updates != 1)}: gradient norm "
              f"{final.gradient_norm:.3g} is not under tol {tol:g}; ")
    start = result.trajectory[0].loss
    if final.loss > start:
        return status + f"the loss grew from {start:.3g} to {final.loss:.3g}: try a smaller --lr"
    return status + "try more --iterations, another --lr or --method"


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
