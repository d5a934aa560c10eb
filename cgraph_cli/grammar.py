"""Text to AST: Lark builds the LALR(1) tables from grammar/cgraph.lark; a small driver runs them.

Why a driver of our own: Lark's lexer and parser loop cost about 10 s on a
million-operation formula, most of it per-token Python overhead. The driver
below runs the very tables Lark builds from the grammar file (which stays the
single definition of the language), lexes with one regular expression made of
the grammar's own terminals, and passes single-child `?rule` reductions through
without a call. tests/test_grammar.py pins it to Lark's own parser on random
inputs. The tables ship in the wheel (parse_tables.py, built by hatch_build.py); a
checkout caches them as JSON in the user's cache directory, so a warm start does not
import Lark at all.
"""

import functools
import re

from cgraph_cli import __version__, fastparse
from cgraph_cli.ast import AstBuilder, Program, Tuple
from cgraph_cli.errors import ParseError, caret_context

END = "$END"
# What a user is told the parser expected, by terminal name.
TERMINAL_WORDS = {
    "NUMBER": "a number", "NAME": "a name", "AUGOP": "'+=', '-=', '*=' or '/='",
    "COMPARE": "a comparison", "_NEWLINE": "a newline", END: "the end of the input",
}
OPENING, CLOSING = {"LPAR", "LSQB"}, {"RPAR", "RSQB"}   # newlines inside these are whitespace
OPERAND_END = {"NUMBER", "NAME", "RPAR", "RSQB"}
OPERAND_START = {"NUMBER", "NAME", "LPAR"}


def grammar_path():
    """The packaged grammar (installed wheel), else the checkout's (source tree, editable install),
    as a Path (pathlib and parse_tables are imported only when the LALR tables are needed: the
    common formulas go through fastparse)."""
    from pathlib import Path

    packaged = Path(__file__).resolve().parent / "grammar" / "cgraph.lark"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "grammar" / "cgraph.lark"


@functools.cache
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def lark_parser(transformer=None):
    """Lark's own LALR parser for the grammar (the reference the driver is tested against)."""
    from cgraph_cli import parse_tables

    return parse_tables.lark_parser(grammar_text(), transformer, _DropNewlinesInParens())


class _DropNewlinesInParens:
    """Lark post-lexer: inside ( ) and [ ] a newline is whitespace."""

    always_accept = ("_NEWLINE",)

    def process(self, stream):
        depth = 0
        for token in stream:
            if token.type in OPENING:
                depth += 1
            elif token.type in CLOSING:
                depth -= 1
            elif token.type == "_NEWLINE" and depth > 0:
                continue
            yield token


def export_tables(lark) -> dict:
    """The parse tables Lark built, as plain JSON-able data for the driver (parse_tables.py)."""
    from cgraph_cli import parse_tables

    return parse_tables.export_tables(lark, grammar_text())


@functools.cache
def tables() -> dict:
    """The LALR tables: packaged in the wheel, else from the user's cache, else built by Lark."""
    from cgraph_cli import parse_tables

    return parse_tables.load(grammar_text(), __version__)


class Parser:
    """The LALR(1) driver over Lark's tables, with an AstBuilder doing the reductions."""

    def __init__(self, data: dict, builder=None):
        self.states = data["states"]
        self.start = data["start"]
        self.builder = builder = builder or AstBuilder()
        self.rules = []
        for origin, size, kind, name, kept, spliced in data["rules"]:
            if kind == "call" and getattr(builder, name, None) is None:
                raise RuntimeError(f"the grammar names {name!r}, which the AST builder lacks")
            reduce = _reducer(kind, getattr(builder, name, None), kept, spliced)
            self.rules.append((origin, size, kind, reduce))
        pattern = "|".join(f"(?P<{name}>{regexp})" for name, regexp in data["terminals"])
        self.token_re = re.compile(pattern + r"|(?P<_ERROR>.)", re.DOTALL)
        self.ignore = set(data["ignore"])
        self.passes = {}

    def tokens(self, text: str):
        """(type, text, start, end) for each token; newlines inside parentheses are dropped."""
        ignore = self.ignore
        depth = 0
        for match in self.token_re.finditer(text):
            kind = match.lastgroup
            if kind in ignore:
                continue
            if kind in OPENING:
                depth += 1
            elif kind in CLOSING:
                depth -= 1
            elif kind == "_NEWLINE" and depth > 0:
                continue
            yield kind, match.group(), match.start(), match.end()
            if kind == "_ERROR":
                return
        yield END, "", len(text), len(text)

    def parse(self, text: str) -> Program:
        """Run the LALR automaton; the stack holds (state, value, start, end) entries.

        Most reductions are single-child `?rule`s that only change the top state;
        `passes` memoises each chain of them by (state below, top state, token).
        """
        states, rules, passes, chain = self.states, self.rules, self.passes, self._pass_chain
        self.builder.__init__()   # forget nodes of an earlier parse that failed
        stack = [(-1, None, 0, 0), (self.start, None, 0, 0)]   # -1: a sentinel below the start
        previous = None
        for kind, value, start, end in self.tokens(text):
            top = stack[-1]
            key = (stack[-2][0], top[0], kind)
            state, action = passes.get(key) or chain(key)
            if state != top[0]:
                stack[-1] = (state, top[1], top[2], top[3])
            while True:
                if action is None:
                    raise self._error(text, kind, value, start, end, state, previous, stack)
                if action >= 0:
                    stack.append((action, value, start, end))
                    break
                origin, size, rule_kind, reduce = rules[~action]
                if size:
                    children = stack[-size:]
                    del stack[-size:]
                    span = (children[0][2], children[-1][3])
                else:
                    children = ()
                    span = (start, start)
                result = reduce(span, children)
                if origin == "start":
                    return result
                below = stack[-1][0]
                key = (below, states[below][origin], kind)
                state, action = passes.get(key) or chain(key)
                stack.append((state, result, span[0], span[1]))
            previous = kind
        raise AssertionError("the parser ended without accepting")  # the tables make this unreachable

    def _token_before(self, text: str, position: int) -> str:
        """The text of the last token before `position` (the error path only: one linear pass)."""
        last = ""
        for kind, value, _, _ in self.tokens(text[:position]):
            if kind != END:
                last = value
        return last

    def _pass_chain(self, key):
        """Follow single-child pass-through reductions: (new top state, next action), memoised."""
        below, top, kind = key
        while True:
            action = self.states[top].get(kind)
            if action is None or action >= 0:
                break
            origin, size, rule_kind, _ = self.rules[~action]
            if rule_kind != "pass" or size != 1:
                break
            top = self.states[below][origin]
        self.passes[key] = top, action
        return top, action

    def _error(self, text, kind, value, start, end, state, previous, stack=()) -> ParseError:
        expected = sorted(symbol for symbol in self.states[state] if symbol.isupper() or symbol == END)
        if kind == "_ERROR":
            shown = repr(value) if not value.isprintable() else f"'{value}'"
            headline = f"unexpected character {shown}"
        elif kind == END:
            headline = "unexpected end of input"
        elif kind == "_NEWLINE":
            headline = "unexpected end of line"
        else:
            headline = f"unexpected {_describe(kind, value, article=False)}"
        message = f"{headline} at {caret_context(text, start, end)}"
        previous_value = self._token_before(text, start) if previous in ("NAME", "NUMBER") else None
        hint = _hint(text, kind, value, end, previous, previous_value) or _nesting_hint(text, kind, value, end, stack)
        if hint:
            message += "\n" + hint
        elif expected:
            message += "\nexpected " + _join_or([_describe(symbol, None) for symbol in expected])
        return ParseError(message)


class _Splice(list):
    """The children of an `_rule`, spliced into the rule that uses it (Lark's inlining)."""


def _reducer(kind: str, callback, kept: list, spliced: list):
    """The function that turns a reduction's stack entries into its value."""
    if kind == "pass":
        position = kept[0]
        return lambda span, children: children[position][1]
    if spliced or kind == "splice":
        def collect(children):
            values = None
            for i in kept:
                value = children[i][1]
                if i in spliced and type(value) is _Splice:
                    if values is None:
                        values = value   # grow the list in place: a left-recursive list stays linear
                    else:
                        values.extend(value)
                elif values is None:
                    values = _Splice([value])
                else:
                    values.append(value)
            return _Splice() if values is None else values
        if kind == "splice":
            return lambda span, children: collect(children)
        return lambda span, children: callback(span, *collect(children))
    if len(kept) == 1:
        (only,) = kept
        return lambda span, children: callback(span, children[only][1])
    if len(kept) == 2:
        first, second = kept
        return lambda span, children: callback(span, children[first][1], children[second][1])
    return lambda span, children: callback(span, *[children[i][1] for i in kept])


def _describe(kind: str, value, article: bool = True) -> str:
    if kind in TERMINAL_WORDS:
        word = TERMINAL_WORDS[kind]
        if not article:
            word = word.removeprefix("a ")
        return f"{word} '{value}'" if value and kind in ("NUMBER", "NAME", "COMPARE") else word
    return f"'{value}'" if value else f"'{_LITERALS.get(kind, kind)}'"


_LITERALS = {"PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/", "CIRCUMFLEX": "^",
             "LPAR": "(", "RPAR": ")", "COMMA": ",", "SEMICOLON": ";", "EQUAL": "=",
             "LSQB": "[", "RSQB": "]", "COLON": ":", "AT": "@", "DOT": ".", "__ANON_0": "**"}


# characters pasted from slides and word processors, and what to type instead
PASTED = {"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*",
          "\u2217": "*", "\u00f7": "/", "\u2215": "/", "\u00b2": "^2", "\u00b3": "^3",
          "\u00a0": "a plain space", "\u202f": "a plain space", "\u2009": "a plain space"}
QUOTES = "\u2018\u2019\u201c\u201d\u00ab\u00bb"
MODULES = {"np", "numpy", "math", "torch", "jnp", "F", "tf", "jax", "nn"}
DEFINITION = r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\([^()\n]*\)[ \t]*\Z"   # f(x) = ...; compiled when met


def _hint(text: str, kind: str, value: str, end: int, previous, previous_value):
    """What the user most likely meant, for the common slips; None when there is no good guess."""
    if previous in OPERAND_END and kind in OPERAND_START:
        left = {"RPAR": "(...)", "RSQB": "..."}.get(previous, previous_value)
        if previous == "NAME" and kind == "NAME" and _is_function(previous_value):
            return f"a function's argument goes in parentheses: write {previous_value}({value})"
        right = "(...)" if kind == "LPAR" else value
        return f"implicit multiplication is not supported: write {left}*{right}"
    if kind == "_ERROR" and value in PASTED:
        import unicodedata

        return f"U+{ord(value):04X} {unicodedata.name(value)}: write {PASTED[value]}"
    if kind == "_ERROR" and value in QUOTES:
        import unicodedata

        return (f"U+{ord(value):04X} {unicodedata.name(value)}: a typographic quote is not part of a formula; "
                "quote the formula with the shell's plain quotes")
    if kind == "EQUAL":
        line_start = text.rfind("\n", 0, end) + 1
        statement_start = max(line_start, text.rfind(";", 0, end) + 1)
        definition = re.match(DEFINITION, text[statement_start:end - 1])
        if definition:
            line_end = text.find("\n", end)
            body = text[end:line_end if line_end >= 0 else len(text)].split(";")[0].strip() or "..."
            return f"write the body only: {body}, or a program line {definition.group(1)} = {body}"
    return None


def _nesting_hint(text: str, kind: str, value: str, end: int, stack) -> str | None:
    """Hints that need the parser's stack: a chained comparison (a < b < c), a tuple that is not an
    argument ((2, 3) + x)."""
    entries = list(stack)
    opened = max((i for i, entry in enumerate(entries) if entry[1] in ("(", "[")), default=-1)
    if kind == "COMPARE":
        for i in range(len(entries) - 1, opened, -1):
            if isinstance(entries[i][1], str) and entries[i][1] in COMPARISON_SIGNS and i >= 1:
                left = text[entries[i - 1][2]:entries[i - 1][3]]
                middle = text[entries[i + 1][2]:entries[-1][3]] if i + 1 < len(entries) else "b"
                right = re.compile(FOLLOWING).match(text, end).group(1).strip() or "..."
                if len(left) + len(middle) + len(right) > 60 or "\n" in left + middle:
                    left, middle, right = "a", "b", "c"
                return (f"comparisons do not chain: write ({left} {entries[i][1]} {middle}) * ({middle} {value} "
                        f"{right}), which is 1 where both hold")
    if entries and (type(entries[-1][1]) is Tuple or entries[-1][1] == ")" and opened >= 0
                    and any(entry[1] == "," or type(entry[1]) is _Splice for entry in entries[opened + 1:-1])):
        return "a tuple such as (2, 3) is a shape or axes, not a value: a tensor is written [2, 3]"
    if kind == "COMMA" and opened >= 1 and entries[opened][1] == "(" and not (
            isinstance(entries[opened - 1][1], str) and entries[opened - 1][1] not in ("(", "[", ",")
            and entries[opened - 1][1][:1].isalpha()):
        return ("a tuple such as (2, 3) is only an argument, a shape or axes: reshape(x, (2, 3)), "
                "sum(X, axis=(0, 1)); a tensor is written [2, 3]")
    return None


COMPARISON_SIGNS = {"<", "<=", ">", ">=", "==", "!="}
FOLLOWING = r"([^;\n,()\[\]<>=!]*)"   # the operand after a comparison, for the hint (compiled when met)


def _is_function(name: str) -> bool:
    from cgraph_cli.ops import FUNCTIONS

    return name in FUNCTIONS


def _join_or(words: list) -> str:
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@functools.cache
def get_parser() -> Parser:
    return Parser(tables())


def parse(text: str) -> Program:
    """Parse a program; a ParseError carries the caret message.

    The common subset goes through fastparse (the same Program, tests/test_fastparse.py); the rest,
    and every text with an error, through the LALR driver."""
    program = fastparse.parse(text)
    return program if program is not None else get_parser().parse(text)
