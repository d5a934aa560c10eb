"""`cgraph graph`: a picture of the computational graph, values and gradients on its edges."""

import os
import shutil
import sys

import click

from cgraph_cli.commands.support import (FILE, binding_command, const_option, format_option, input_options,
                                         load_graph,
                                         note, precision_option, show_notes, warn)
from cgraph_cli.engine import evaluate
from cgraph_cli.errors import UsageError
from cgraph_cli.picture import build_picture
from cgraph_cli.render.graph import IMAGE_FORMATS, INSTALL_GRAPHVIZ, RENDERERS, GraphvizMissing
from cgraph_cli.steps import edge_gradients

EXTENSIONS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg",
              ".png": "png", ".html": "html", ".htm": "html"}


@binding_command("graph")
@input_options
@const_option
@format_option(RENDERERS, None, "dot or mermaid (text), svg or png (images, drawn by Graphviz's dot "
               "program), html (a page stepping through the forward and backward passes, one file). "
               "Default: from the -o file's extension, else dot.", option="--to")
@click.option("-o", "--output", metavar="FILE", type=FILE, help="Write here (required for svg and png).")
@click.option("--max-nodes", type=click.IntRange(1), default=150, show_default=True, metavar="N",
              help="Draw at most N nodes, those nearest the output; the picture says what it left out.")
@precision_option("Significant digits on the edges.", default=4)
@click.option("--local", is_flag=True, help="Write each edge's rule too, with the trace's names: the local "
              "derivative (∂f/∂q = z), or a tensor op's gradient sent (needs every variable bound).")
def command(invocation, output_format, output, max_nodes, precision, local):
    """Draw the computational graph, left to right: one node per operation, each edge labelled
    with its forward value (green) over its gradient (red). Without bindings, the structure alone.

    \b
    Examples:
      cgraph graph "(x+y)*z" --x 1 --y 3 --z -3 -o graph.png
      cgraph graph "(x+y)*z" --x 1 --y 3 --z -3 --to mermaid
      cgraph graph "q = x + y; f = q*z" --x -2 --y 5 --z -4 --local -o rules.png
      cgraph graph "1/(1+exp(-(w0*x0 + w1*x1 + w2)))" --to dot | dot -Tsvg > neuron.svg
      cgraph graph "q = x + y; f = q*z" --x -2 --y 5 --z -4 -o walk.html
    """
    output_format = _choose_format(output_format, output)
    if output_format in IMAGE_FORMATS:
        if output is None:
            raise UsageError(f"--to {output_format} draws an image: give the file with -o FILE "
                             f"(e.g. -o graph.{output_format}); --to dot and --to mermaid print text")
        if shutil.which("dot") is None:
            raise GraphvizMissing(f"--to {output_format} needs Graphviz's `dot` program, which was not "
                                  f"found on PATH\n{INSTALL_GRAPHVIZ}")
    if output_format == "html":   # the walk-through: the picture with its rules, and the steps
        graph, evaluation, picture = _picture(invocation, max_nodes, precision, local, walk=True)
        if picture.note:
            note(picture.note)
        _write(RENDERERS["html"](picture, "html", graph, evaluation, precision), output)
        return
    picture = _picture(invocation, max_nodes, precision, local)
    if picture.note:
        note(picture.note)
    _write(RENDERERS[output_format](picture, output_format), output)


def _picture(invocation, max_nodes, precision, local=False, walk=False):
    """Parse and build; evaluate when every variable is bound, else draw the structure alone.
    `walk` (the html page): (graph, evaluation or None, the picture with its rules where evaluated)."""
    _, values, graph = load_graph(invocation)
    unbound = sorted(name for name in graph.variables if name not in values)
    if unbound:
        if local:
            raise UsageError(f"--local writes the rules at a point: bind {', '.join(unbound)}")
        if values:   # some bound, some not: probably a typo, so say what is missing
            note(f"unbound {', '.join(unbound)}: drawing the structure without "
                 "values (bind every variable to see values and gradients)")
        picture = build_picture(graph, None, max_nodes, precision)
        return (graph, None, picture) if walk else picture
    evaluation = evaluate(graph, values)
    warn(evaluation.warnings)
    picture = build_picture(graph, evaluation, max_nodes, precision, edge_gradients(evaluation), local or walk)
    return (graph, evaluation, picture) if walk else picture


def _choose_format(output_format, output):
    if output_format is not None:
        return output_format
    if output is not None:
        extension = os.path.splitext(output)[1].lower()
        if extension in EXTENSIONS:
            return EXTENSIONS[extension]
        raise UsageError(f"cannot tell the format from {output!r}: add --to dot|mermaid|svg|png|html "
                         "(or name the file .dot, .mmd, .svg, .png or .html)")
    return "dot"


def _write(data, output) -> None:
    show_notes()
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
