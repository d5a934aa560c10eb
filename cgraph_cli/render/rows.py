"""The tree drawn with rich's guides in one pass over its nodes, in time linear in the lines.

rich's Tree lays out every label through its whole machinery: about a millisecond a line. FastTree
draws the guides itself and fits each label (tree.Label) to the width left beside its guides.
"""

from rich.segment import Segment
from rich.style import Style
from rich.text import Text


class FastTree:
    """A rich Tree drawn with rich's guides, one pass over its nodes (no recursion). A label with a
    `lines(width)` method is fitted to the width beside its guides; a Text label is drawn as it is
    (a line longer than the console is left to the terminal, never cropped)."""

    def __init__(self, tree):
        self.tree = tree

    def __rich_console__(self, console, options):
        from rich.tree import Tree

        guides = Tree.ASCII_GUIDES if options.ascii_only else ("    ", "│   ", "├── ", "└── ")
        space, bar, branch, last_branch = guides
        guide_style = Style.parse("dim")
        newline = Segment.line()
        styles = {}
        stack = [(self.tree, "", "", "")]   # (node, prefixes: its first line, its other lines, its children)
        while stack:
            node, first, rest, child_prefix = stack.pop()
            label = node.label
            if hasattr(label, "lines"):
                for k, parts in enumerate(label.lines(options.max_width - len(first))):
                    prefix = first if k == 0 else rest
                    if prefix:
                        yield Segment(prefix, guide_style)
                    for text, style in parts:
                        yield Segment(text, styles.get(style) or styles.setdefault(style, Style.parse(style))
                                      if style else None)
                    yield newline
            else:
                label = label if isinstance(label, Text) else Text(str(label))
                for k, line in enumerate(label.split("\n")):
                    prefix = first if k == 0 else rest
                    if prefix:
                        yield Segment(prefix, guide_style)
                    yield from line.render(console)   # the Text's own segments: no wrapping
                    yield newline
            children = node.children
            for i in range(len(children) - 1, -1, -1):
                last = i == len(children) - 1
                below = child_prefix + (space if last else bar)
                stack.append((children[i], child_prefix + (last_branch if last else branch), below, below))
