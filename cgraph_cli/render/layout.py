"""Rows fitted to the console's width, in time linear in the rows: the one table drawer of every
human format (eval's table, --steps, check, gradcheck, hessian, minimize, the tree's inputs).

A number's digits are never cut, elided or wrapped. When the rows are wider than the console:
1. the columns empty in every row are dropped (they say nothing);
2. the prose columns (notes, case names) wrap at spaces, then the text columns (node texts, names)
   shrink, each text elided in its MIDDLE, down to MIN_TEXT cells;
3. the headers wrap between their words;
4. each row becomes a record, its fields `header value` filling lines under one another (one field a
   line at the narrowest; a matrix keeps one row a line, a row wider than the console wraps between
   its elements, after a `, `), a blank line between sections.
A cell is a str (lines separated by "\\n": a matrix's rows), a (str, style) pair, or a function
width -> str giving the text cut to that width (a node's excerpt, read in bounded time): it is read
once, at the console's width, and elided further in its middle where its column is narrower.
"""

from typing import NamedTuple

from rich import box as boxes
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

MIN_TEXT = 12   # an elided text column keeps at least this many cells (less, and the records read better)
MIN_WORDS = 8   # a prose column wraps down to this many cells
RULE = None     # a row that is RULE: a line between two sections of rows
GAP = "   "     # between the fields of a record


class Column(NamedTuple):
    header: str
    style: str | None = None
    justify: str = "left"
    kind: str = "text"     # "text": elided in the middle; "words": wrapped at spaces (a case's name);
                           # "number": never cut, a tensor wraps between elements; "fixed": never cut


def length(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def elide(text: str, width: int) -> str:
    """`text` in `width` cells, its middle replaced by … when it is longer."""
    if length(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head, tail = (width - 1) // 2 + (width - 1) % 2, (width - 1) // 2
    start, end = text[:head], text[len(text) - tail:] if tail else ""
    while cell_len(start) > head:    # wide characters: at most `width` steps
        start = start[:-1]
    while cell_len(end) > tail:
        end = end[1:]
    return start + "…" + end


def pieces(line: str) -> list:
    """A line of numbers split where it may wrap: after each `, ` (never inside a number)."""
    parts = line.split(", ")
    return [part + "," for part in parts[:-1]] + parts[-1:]


def wrap_numbers(line: str, width: int) -> list:
    """A line of numbers in lines of at most `width` cells where it can, broken only after a `, `;
    continuation lines are indented under the first element (after the opening brackets)."""
    if length(line) <= width:
        return [line]
    indent = " " * _brackets(line)
    lines, current = [], ""
    for part in pieces(line):
        if current and length(current) + 1 + length(part) > width:
            lines.append(current)
            current = indent + part
        else:
            current = f"{current} {part}" if current else part
    return lines + [current]


def _brackets(line: str) -> int:
    """Where a matrix row's first element starts: after its leading spaces and brackets."""
    return len(line) - len(line.lstrip(" ").lstrip("["))


def wrap_words(text: str, width: int) -> list:
    """Prose (a header, a note) in lines of at most `width` cells, broken at spaces."""
    lines, current = [], ""
    for word in text.split(" "):
        if current and length(current) + 1 + length(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return lines + [current]


class Grid:
    """columns: [Column]; rows: lists of cells, or RULE. `break_before`: column indexes that start a
    new line of a record in the vertical layout (--steps: each input on its own line)."""

    def __init__(self, columns: list, rows: list, box=boxes.HEAVY_HEAD, break_before=(), show_edge=True):
        self.columns, self.rows, self.box, self.break_before = columns, rows, box, set(break_before)
        self.edge = 1 if show_edge else 0

    def _measure(self, max_width: int):
        n = len(self.columns)
        natural, floor, empty = [0] * n, [0] * n, [True] * n
        texts = []
        hard = [column.kind in ("number", "fixed") for column in self.columns]   # never narrower
        for row in self.rows:
            if row is RULE:
                texts.append(RULE)
                continue
            cells = [cell if isinstance(cell, tuple) else (cell(max_width) if callable(cell) else cell, None)
                     for cell in row]
            texts.append(cells)
            for k, (text, _) in enumerate(cells):
                if not text:
                    continue
                empty[k] = False
                size = max(map(length, text.split("\n"))) if "\n" in text else length(text)
                if size > natural[k]:
                    natural[k] = size
                    if hard[k]:
                        floor[k] = size
        for k, column in enumerate(self.columns):
            if column.kind in ("text", "words"):
                floor[k] = min(natural[k], MIN_TEXT if column.kind == "text" else MIN_WORDS)
            words = column.header.split(" ")
            natural[k] = max(natural[k], length(column.header))
            floor[k] = max(floor[k], max(map(length, words)))
        return texts, natural, floor, empty

    def fit(self, max_width: int):
        """(cells, kept column indexes, their widths); kept None: the vertical layout."""
        texts, widths, floor, empty = self._measure(max_width)
        keep = list(range(len(self.columns)))

        def excess():
            return sum(widths[k] for k in keep) + 3 * len(keep) - 3 + 2 * self.edge - max_width

        if excess() > 0:   # an empty column says nothing: it goes before any text is cut
            keep = [k for k in keep if not empty[k]]
        for kinds in (("words",), ("text",), ("number", "fixed")):   # (numbers: only their headers wrap)
            _narrow(widths, floor, [k for k in keep if self.columns[k].kind in kinds], excess())
        if excess() > 0:
            return texts, None, None
        return texts, keep, widths

    def __rich_console__(self, console, options):
        width = options.max_width
        texts, keep, widths = self.fit(width)
        plain = console.no_color or console.color_system is None
        if keep is None:
            yield from self._records(texts, width, plain)
            return
        box = self.box.substitute(options)
        columns = [self.columns[k] for k in keep]
        padded = [w + 2 for w in widths_of(keep, widths)]   # no padding at the edges: rich's pad_edge=False
        padded[0] -= 1
        padded[-1] -= 1
        edge = self.edge
        if edge:
            yield Segment(box.get_top(padded) + "\n")
        headers = [wrap_words(c.header, w) for c, w in zip(columns, widths_of(keep, widths))]
        bold = Style(bold=True)
        for i in range(max(map(len, headers))):
            cells = [(_pad(h[i] if i < len(h) else "", w, c.justify), bold)
                     for h, w, c in zip(headers, widths_of(keep, widths), columns)]
            yield from _line(cells, box.head_left * edge, box.head_vertical, box.head_right * edge, plain)
        head_row = box.get_row(padded, "head")
        yield Segment((head_row if edge else head_row[1:-1]) + "\n")
        styles = [Style.parse(c.style) if c.style else Style.null() for c in columns]
        specs = list(zip(keep, widths_of(keep, widths), [c.justify == "right" for c in columns],
                         [c.kind for c in columns], styles))
        left, vertical, right = box.mid_left * edge, box.mid_vertical, box.mid_right * edge
        for row_index, cells in enumerate(texts):
            if cells is RULE:
                if 0 < row_index < len(texts) - 1:
                    rule = box.get_row(padded, "row")
                    yield Segment((rule if edge else rule[1:-1]) + "\n")
                continue
            blocks, height = [], 1
            for k, w, right_justified, kind, style in specs:
                text, own = cells[k]
                if "\n" in text or length(text) > w:
                    text = _fit_lines(text, w, kind)
                    height = max(height, len(text))
                blocks.append((text, w, right_justified, Style.parse(own) if own else style))
            for i in range(height):
                line = []
                for text, w, right_justified, style in blocks:
                    if not isinstance(text, str):   # a cell of several lines
                        text = text[i] if i < len(text) else ""
                    elif i:
                        text = ""
                    pad = " " * (w - length(text))
                    line.append((pad + text if right_justified else text + pad, style))
                yield from _line(line, left, vertical, right, plain)
        if edge:
            yield Segment(box.get_bottom(padded) + "\n")

    def _records(self, texts, width: int, plain: bool):
        """Each row as a record of `header value` fields filling lines; continuation lines indented."""
        bold = Style(bold=True)
        indent = "    "
        for row_index, cells in enumerate(texts):
            if cells is RULE:
                if 0 < row_index < len(texts) - 1:
                    yield Segment.line()
                continue
            first = bool(cells[0][0])   # a row whose first cell is empty continues the one above
            line, line_width = [], 0
            for k, (text, own) in enumerate(cells):
                if not text:
                    continue
                column = self.columns[k]
                header = column.header
                style = Style.parse(own or column.style) if own or column.style else Style.null()
                room = width - len(indent) - length(header) - 1
                lines = text.split("\n")
                if column.kind in ("text", "words") and len(lines) == 1:
                    lines = [elide(text, max(room, MIN_TEXT))]
                elif column.kind == "number":
                    lines = [part for item in lines for part in wrap_numbers(item, max(room, 1))]
                size = length(header) + 1 + length(lines[0])
                if line and (len(lines) > 1 or k in self.break_before or
                             line_width + len(GAP) + size > width):
                    yield from _record_line(line, plain)
                    line, line_width, first = [], 0, False
                if not line:
                    line.append(("" if first else indent, Style.null()))
                    line_width = 0 if first else len(indent)
                else:
                    line.append((GAP, Style.null()))
                    line_width += len(GAP)
                line += [(header + " ", bold), (lines[0], style)]
                line_width += size
                if len(lines) > 1:
                    pad = " " * (line_width - length(lines[0]))
                    for more in lines[1:]:
                        yield from _record_line(line, plain)
                        line = [(pad, Style.null()), (more, style)]
                    line_width = width   # nothing after a block of lines
            if line:
                yield from _record_line(line, plain)


def _narrow(widths: list, floor: list, group: list, over: int) -> None:
    """Free `over` cells from the columns of `group`, the widest first: every column above a common
    cap comes down to it (never under its floor). A binary search for the cap: time independent of
    how wide a cell is."""
    if over <= 0 or not group:
        return

    def freed(cap):
        return sum(widths[k] - max(floor[k], min(widths[k], cap)) for k in group)

    low, high = 0, max(widths[k] for k in group)
    while low < high:   # the largest cap that frees enough
        middle = (low + high + 1) // 2
        if freed(middle) >= over:
            low = middle
        else:
            high = middle - 1
    spare = max(0, freed(low) - over)   # cells freed beyond the need go back to the columns at the cap
    for k in group:
        narrowed = max(floor[k], min(widths[k], low))
        if spare and narrowed == low < widths[k]:
            narrowed += 1
            spare -= 1
        widths[k] = narrowed


def widths_of(keep, widths):
    return [widths[k] for k in keep]


def _fit_lines(text: str, width: int, kind: str) -> list:
    lines = text.split("\n") if "\n" in text else [text]
    if kind == "text":
        return [elide(line, width) for line in lines]
    if kind == "words":
        return [elide(part, width) for line in lines for part in wrap_words(line, width)]
    if kind == "number":
        return [part for line in lines for part in wrap_numbers(line, width)]
    return lines


def _pad(text: str, width: int, justify: str) -> str:
    pad = " " * max(0, width - length(text))
    return pad + text if justify == "right" else text + pad


def _line(cells: list, left: str, vertical: str, right: str, plain: bool):
    if plain:   # piped: one segment a line
        yield Segment(left + f" {vertical} ".join(text for text, _ in cells) + f"{right}\n")
        return
    yield Segment(left)
    for k, (text, style) in enumerate(cells):
        if k:
            yield Segment(f" {vertical} ")
        yield Segment(text, style)
    yield Segment(f"{right}\n")


def _record_line(parts: list, plain: bool):
    if plain:
        yield Segment("".join(text for text, _ in parts).rstrip() + "\n")
        return
    for text, style in parts:
        yield Segment(text, style)
    yield Segment.line()
