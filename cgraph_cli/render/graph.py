"""`cgraph graph`'s formats: a Picture (picture.py) as DOT or Mermaid text, or as an SVG/PNG image
drawn by Graphviz's `dot` program. Text formats return str, images bytes."""

from cgraph_cli.errors import CgraphError
from cgraph_cli.render import dot, mermaid

INSTALL_GRAPHVIZ = (
    "install Graphviz, which provides it: sudo apt-get install graphviz (Debian, Ubuntu), "
    "sudo dnf install graphviz (Fedora), brew install graphviz (macOS), or see "
    "https://graphviz.org/download/\n"
    "--to dot and --to mermaid need nothing: cgraph graph ... --to dot | dot -Tsvg > graph.svg "
    "works wherever dot is")


class GraphvizMissing(CgraphError):
    kind = "error"


def render_dot(picture, output_format: str) -> str:
    return dot.digraph(picture).source


def render_mermaid(picture, output_format: str) -> str:
    return mermaid.render(picture)


def render_image(picture, output_format: str) -> bytes:
    import graphviz

    drawing = dot.digraph(picture)
    if output_format == "png":
        drawing.graph_attr["dpi"] = "144"   # sharp on today's screens; SVG scales by itself
    try:
        return drawing.pipe(format=output_format)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing(f"--to {output_format} needs Graphviz's `dot` program, which could not be "
                              f"run\n{INSTALL_GRAPHVIZ}") from None


def render_html(picture, output_format: str, graph=None, evaluation=None, digits: int = 4) -> str:
    """The walk-through page (render/html.py): Graphviz's layout when dot is installed, else our own."""
    from cgraph_cli.render import html

    return html.page(picture, graph, evaluation, digits)


TEXT_FORMATS = {"dot": render_dot, "mermaid": render_mermaid, "html": render_html}
IMAGE_FORMATS = {"svg": render_image, "png": render_image}
RENDERERS = {**TEXT_FORMATS, **IMAGE_FORMATS}
