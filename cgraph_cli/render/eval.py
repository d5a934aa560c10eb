"""`cgraph eval`'s formats: (evaluation, options) -> str or a rich renderable. Each format's module
is imported only when it is used (tree and table bring rich)."""

from typing import NamedTuple


class Options(NamedTuple):
    precision: int | None = None   # significant digits; None: shortest round-trip (machine formats)
    show_all: bool = False         # --all: no elision in human formats
    full: bool = False             # --full: every element of a tensor in human formats
    hints: bool = False            # the output is a terminal: the tree ends with where to look next


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
