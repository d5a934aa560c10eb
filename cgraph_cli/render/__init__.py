"""Renderers: pure functions (evaluation, options) -> str or a rich renderable.

rich is imported only by the human formats (tree, table), inside their modules,
so the json and plain paths start without it.
"""

from typing import NamedTuple


class Options(NamedTuple):
    precision: int | None = None   # significant digits; None: shortest round-trip (machine formats)
    show_all: bool = False         # --all: no elision in human formats
    full: bool = False             # --full: every element of a tensor in human formats


def _tree(evaluation, options):
    from cgraph_cli.render.tree import render
    return render(evaluation, options)


def _table(evaluation, options):
    from cgraph_cli.render.table import render
    return render(evaluation, options)


def _json(evaluation, options):
    from cgraph_cli.render.json import render
    return render(evaluation, options)


def _plain(evaluation, options):
    from cgraph_cli.render.plain import render
    return render(evaluation, options)


RENDERERS = {"tree": _tree, "table": _table, "json": _json, "plain": _plain}
