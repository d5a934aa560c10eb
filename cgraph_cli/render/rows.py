"""A table of many one-line rows, drawn like rich's default table in time linear in the rows.

rich's Table measures and wraps every cell through its whole layout machinery: about a
millisecond a row, minutes for `--format table --all` on a graph of 10^5 nodes. Past
`FAST_ROWS` rows the renderers hand their cells to `RowTable` instead: the same box (ASCII
where the console's encoding lacks the drawing characters), the same column styles, cells
kept on one line. Numbers keep every digit; when the rows are wider than the console, the
text columns (`shrink`) are cut at their end with `…`.
"""

from rich import box as boxes
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

FAST_ROWS = 1000     # up to this many rows, rich's own Table draws them
MIN_TEXT = 8         # a shrunk text column keeps at least this many cells


class RowTable:
    """columns: [(header, style, justify)], rows: lists of str (None: a dim filler row's text)."""

    def __init__(self, columns: list, rows: list, shrink=(), box=boxes.HEAVY_HEAD):
        self.columns, self.rows, self.shrink, self.box = columns, rows, set(shrink), box

    def widths(self, max_width: int) -> list:
        widths = [cell_len(header) for header, _, _ in self.columns]
        for row in self.rows:
            for k, cell in enumerate(row):
                if len(cell) > widths[k] or not cell.isascii():
                    widths[k] = max(widths[k], cell_len(cell))
        excess = sum(widths) + 3 * len(widths) + 1 - max_width
        for k in sorted(self.shrink):
            if excess <= 0:
                break
            cut = min(excess, max(0, widths[k] - MIN_TEXT))
            widths[k] -= cut
            excess -= cut
        return widths

    def __rich_console__(self, console, options):
        box = self.box.substitute(options)
        widths = self.widths(options.max_width)
        padded = [w + 2 for w in widths]
        plain = console.no_color or console.color_system is None
        border = Style.null()
        yield Segment(box.get_top(padded) + "\n", border)
        header = [(_fit(h, w, justify), Style(bold=True)) for (h, _, justify), w in zip(self.columns, widths)]
        yield from _line(header, box.head_left, box.head_vertical, box.head_right, plain)
        yield Segment(box.get_row(padded, "head") + "\n", border)
        styles = [Style.parse(style) if style else Style.null() for _, style, _ in self.columns]
        for row in self.rows:
            cells = [(_fit(cell, w, justify), style)
                     for cell, w, (_, _, justify), style in zip(row, widths, self.columns, styles)]
            yield from _line(cells, box.mid_left, box.mid_vertical, box.mid_right, plain)
        yield Segment(box.get_bottom(padded) + "\n", border)


def _line(cells: list, left: str, vertical: str, right: str, plain: bool):
    if plain:   # piped: one segment a line
        yield Segment(f"{left} " + f" {vertical} ".join(text for text, _ in cells) + f" {right}\n")
        return
    yield Segment(left + " ")
    for k, (text, style) in enumerate(cells):
        if k:
            yield Segment(f" {vertical} ")
        yield Segment(text, style)
    yield Segment(f" {right}\n")


def _fit(text: str, width: int, justify: str) -> str:
    length = len(text) if text.isascii() else cell_len(text)
    if length > width:   # only text columns are shrunk: cut the end
        text = text[:width - 1]
        while cell_len(text) > width - 1:   # wide characters: at most width steps
            text = text[:-1]
        text += "…"
        length = cell_len(text)
    pad = " " * (width - length)
    return pad + text if justify == "right" else text + pad


class FastTree:
    """A rich Tree of many nodes drawn with rich's guides, one pass over its nodes (no recursion)
    and no layout: lines longer than the console are left to the terminal, never cropped."""

    def __init__(self, tree):
        self.tree = tree

    def __rich_console__(self, console, options):
        from rich.tree import Tree

        guides = Tree.ASCII_GUIDES if options.ascii_only else ("    ", "│   ", "├── ", "└── ")
        space, bar, branch, last_branch = guides
        guide_style = Style.parse("dim")
        newline = Segment.line()
        stack = [(self.tree, "", "", "")]   # (node, prefixes: its first line, its other lines, its children)
        while stack:
            node, first, rest, child_prefix = stack.pop()
            label = node.label if isinstance(node.label, Text) else Text(str(node.label))
            lines = label.split("\n")
            for k, line in enumerate(lines):
                prefix = first if k == 0 else rest
                if prefix:
                    yield Segment(prefix, guide_style)
                yield from line.render(console)   # the Text's own segments: no wrapping, no layout
                yield newline
            children = node.children
            for i in range(len(children) - 1, -1, -1):
                last = i == len(children) - 1
                below = child_prefix + (space if last else bar)
                stack.append((children[i], child_prefix + (last_branch if last else branch), below, below))
