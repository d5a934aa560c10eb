"""`cgraph graph`: a picture of the computational graph, values and gradients on its edges."""

import os
import shutil
import sys

import click

from cgraph_cli.cli import BINDINGS_HELP, CONTEXT, BindingCommand, input_options, read_source
from cgraph_cli.errors import CgraphError, UsageError

TEXT_FORMATS = ("dot", "mermaid")
IMAGE_FORMATS = ("svg", "png")
EXTENSIONS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg",
              ".png": "png"}

INSTALL_GRAPHVIZ = (
    "install Graphviz, which provides it: sudo apt-get install graphviz (Debian, Ubuntu), "
    "sudo dnf install graphviz (Fedora), brew install graphviz (macOS), or see "
    "https://graphviz.org/download/\n"
    "--to dot and --to mermaid need nothing: cgraph graph ... --to dot | dot -Tsvg > graph.svg "
    "works wherever dot is")


class GraphvizMissing(CgraphError):
    kind = "error"


@click.command("graph", cls=BindingCommand, context_settings=CONTEXT, epilog=BINDINGS_HELP)
@input_options
@click.option("--to", "output_format", type=click.Choice(TEXT_FORMATS + IMAGE_FORMATS),
              help="dot or mermaid (text), svg or png (images, drawn by Graphviz's dot program). "
                   "Default: from the -o file's extension, else dot.")
@click.option("-o", "--output", metavar="FILE", help="Write here (required for svg and png).")
@click.option("--max-nodes", type=click.IntRange(1), default=150, show_default=True, metavar="N",
              help="Draw at most N nodes, those nearest the output; the picture says what it left out.")
@click.option("--precision", type=click.IntRange(1, 17), default=4, show_default=True, metavar="N",
              help="Significant digits on the edges.")
@click.pass_context
def graph_command(ctx, file, var_words, vars_file, debug, output_format, output, max_nodes, precision):
    """Draw the computational graph, left to right: one node per operation, each edge labelled
    with its forward value (green) over its gradient (red). Without bindings, the structure alone.

    \b
    Examples:
      cgraph graph "(x+y)*z" --x 1 --y 3 --z -3 -o graph.png
      cgraph graph "(x+y)*z" --x 1 --y 3 --z -3 --to mermaid
      cgraph graph "1/(1+exp(-(w0*x0 + w1*x1 + w2)))" --to dot | dot -Tsvg > neuron.svg
    """
    output_format = _choose_format(output_format, output)
    if output_format in IMAGE_FORMATS:
        if output is None:
            raise UsageError(f"--to {output_format} draws an image: give the file with -o FILE "
                             f"(e.g. -o graph.{output_format}); --to dot and --to mermaid print text")
        if shutil.which("dot") is None:
            raise GraphvizMissing(f"--to {output_format} needs Graphviz's `dot` program, which was not "
                                  f"found on PATH\n{INSTALL_GRAPHVIZ}")
    picture = _picture(ctx, file, var_words, vars_file, max_nodes, precision)
    if picture.note:
        click.echo(f"cgraph: note: {picture.note}", err=True)
    if output_format == "mermaid":
        from cgraph_cli.render.mermaid import render

        _write(render(picture), output)
        return
    from cgraph_cli.render.dot import digraph

    dot = digraph(picture)
    if output_format == "dot":
        _write(dot.source, output)
        return
    import graphviz

    if output_format == "png":
        dot.graph_attr["dpi"] = "144"   # sharp on today's screens; SVG scales by itself
    try:
        image = dot.pipe(format=output_format)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing(f"--to {output_format} needs Graphviz's `dot` program, which could not be "
                              f"run\n{INSTALL_GRAPHVIZ}") from None
    _write(image, output)


def _picture(ctx, file, var_words, vars_file, max_nodes, precision):
    """Parse and build; evaluate when every variable is bound, else draw the structure alone."""
    from cgraph_cli.bindings import collect
    from cgraph_cli.engine import evaluate
    from cgraph_cli.grammar import parse
    from cgraph_cli.graph import build
    from cgraph_cli.picture import build_picture
    from cgraph_cli.steps import edge_gradients

    source = read_source(ctx.meta["cgraph.positional"], file)
    values = collect(ctx.meta["cgraph.bindings"], var_words, vars_file)
    graph = build(parse(source), source, frozenset(values))
    unbound = sorted(name for name in graph.variables if name not in values)
    if unbound:
        if values:   # some bound, some not: probably a typo, so say what is missing
            click.echo(f"cgraph: note: unbound {', '.join(unbound)}: drawing the structure without "
                       "values (bind every variable to see values and gradients)", err=True)
        return build_picture(graph, None, max_nodes, precision)
    evaluation = evaluate(graph, values)
    for warning in evaluation.warnings:
        click.echo(f"cgraph: warning: {warning}", err=True)
    return build_picture(graph, evaluation, max_nodes, precision, edge_gradients(evaluation))


def _choose_format(output_format, output):
    if output_format is not None:
        return output_format
    if output is not None:
        extension = os.path.splitext(output)[1].lower()
        if extension in EXTENSIONS:
            return EXTENSIONS[extension]
        raise UsageError(f"cannot tell the format from {output!r}: add --to dot|mermaid|svg|png "
                         "(or name the file .dot, .mmd, .svg or .png)")
    return "dot"


def _write(data, output) -> None:
    if output is None or output == "-":
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        else:
            click.echo(data, nl=not data.endswith("\n"))
        return
    try:
        if isinstance(data, bytes):
            with open(output, "wb") as handle:
                handle.write(data)
        else:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(data)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
