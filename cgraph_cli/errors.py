"""Every error cgraph reports to a user, and every exit code, in one place.

The classes are also the Python API's exceptions (`cg.CgraphError` and its subclasses): the CLI maps
each to its exit code (`exit_code`) and prints `cgraph: {kind}: {message}`; the API raises the same
object, so `str(error)` is the message the CLI prints.
"""

import re
from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    CHECK_FAILED = 1   # a failed --expect, check case or gradcheck (later issues)
    USAGE = 2          # usage, parse and binding errors
    EVALUATION = 3     # domain errors, division by zero, non-finite forward values
    INTERNAL = 70      # a bug in cgraph itself (EX_SOFTWARE); run with --debug and report it
    INTERRUPTED = 130  # Ctrl-C
    CLOSED_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE, as Unix tools exit)


class CgraphError(Exception):
    """An error meant for the user: one message, one exit code, never a traceback."""

    exit_code = ExitStatus.USAGE
    kind = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CgraphError):
    kind = "usage error"


class ParseError(CgraphError):
    """The program does not parse (or names something it cannot): `line` and `column` (from 1) and
    `caret` (the source line and the caret under the column, as printed), read from the message's
    `line L, column C:` part; None where the message has no position."""
    kind = "parse error"

    @property
    def line(self) -> int | None:
        found = re.search(_POSITION, self.message)
        return int(found.group(1)) if found else None

    @property
    def column(self) -> int | None:
        found = re.search(_POSITION, self.message)
        return int(found.group(2)) if found else None

    @property
    def caret(self) -> str | None:
        found = re.search(_POSITION, self.message)
        return found.group(3) if found else None


# caret_context's text: `line L, column C:`, the source line, the marker line (both indented by two);
# compiled on first use (re caches it), not at every start
_POSITION = r"line (\d+), column (\d+):\n(  [^\n]*\n  *\^~*)"


class BindingError(CgraphError):
    kind = "binding error"


class EvalError(CgraphError):
    exit_code = ExitStatus.EVALUATION
    kind = "evaluation error"


class CheckFailed(CgraphError):
    """A number differed from what --expect or gradcheck expected (the output is already printed)."""
    exit_code = ExitStatus.CHECK_FAILED
    kind = "check failed"


def caret_context(source: str, start: int, end: int | None = None, width: int = 72) -> str:
    """The source line holding `start`, with a caret (or ^~~~ under a span) beneath it.

    Long lines are cut to a window around the column so a 10 MB one-line input
    still gives a readable message.
    """
    start = max(0, min(start, len(source)))
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    if line_end == -1:
        line_end = len(source)
    line_no = source.count("\n", 0, start) + 1
    column = start - line_start
    span = 1
    if end is not None and end > start:
        span = min(end, line_end) - start
    left = max(line_start, start - width // 2)
    right = min(line_end, left + width)
    shown = "".join(_printable(ch) for ch in source[left:right])
    prefix = "…" if left > line_start else ""
    suffix = "…" if right < line_end else ""
    pad = len(prefix) + sum(len(_printable(ch)) for ch in source[left:start])
    marker = "^" + "~" * max(0, min(span, right - start) - 1)
    return (f"line {line_no}, column {column + 1}:\n"
            f"  {prefix}{shown}{suffix}\n"
            f"  {' ' * pad}{marker}")


def _printable(ch: str) -> str:
    """Show control characters (NUL, tabs, ...) as escapes so the caret lines up."""
    if ch == "\t":
        return " "
    if ch.isprintable():
        return ch
    return repr(ch)[1:-1]
