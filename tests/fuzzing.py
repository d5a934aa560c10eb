"""Shared fuzzing machinery for tests/test_fuzz.py and bench/fuzz.py.

Every generator takes a `random.Random`-like object `r` (hypothesis' `st.randoms()` in the tests, so
failures shrink; a seeded `random.Random` in the campaign) and returns bounded-size text or bytes.

- `program(r)`: a program from grammar/cgraph.lark: every operator, every function of the op table with
  its arity, axis= keywords, tensor literals, indexing and slicing, assignments, augmented assignments,
  comments, blank lines, `;` and newlines inside brackets.
- `binding_words(r, names)`: argv words binding variables to odd values (huge, tiny, fractions, negative,
  tensors, and a few invalid ones).
- `mutate(r, data)`: byte-level mutations (insert/delete/replace/duplicate, control characters, NUL,
  non-ASCII, invalid UTF-8).
- `run(argv, stdin)`: cgraph in-process through `cgraph_cli.cli._run`, stdin as bytes, with a timeout.
- `promises(case, result)`: the README's promises a result breaks (an empty list when it keeps them all).
- `Scalar` trees and the two independent reference evaluators of the differential property.

Generated input is text handed to cgraph; it is never given to Python's eval or exec.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple, Optional

# ----------------------------------------------------------------------------------------------------
# the language
# ----------------------------------------------------------------------------------------------------

UNARY_FUNCTIONS = ["exp", "log", "ln", "log2", "log10", "sqrt", "abs", "sin", "cos", "tan", "tanh",
                   "sigmoid", "relu", "sign", "transpose"]
BINARY_FUNCTIONS = ["max", "min", "pow", "matmul", "dot", "cross_entropy", "softmax_cross_entropy"]
AXIS_FUNCTIONS = ["sum", "mean", "max", "softmax", "log_softmax"]   # one argument, optional axis=
BINARY_OPERATORS = ["+", "-", "*", "/", "@", "^", "**"]
AUGOPS = ["+=", "-=", "*=", "/="]
VARIABLES = ["x", "y", "z", "w", "W", "b", "a1", "_t", "pi", "e", "bold"]
ASSIGNED = ["a", "b", "c", "h", "t1", "loss", "x", "value"]
NUMBERS = ["0", "1", "2", "3", "0.5", ".5", "2.5", "1e-3", "6.02E23", "1e308", "1e-308", "5e-324",
           "1e999", "10", "100", "0.1", "3.", "7", "1e2", "1E-7"]
COMMENT_TEXT = ["", " note", " [/bold]", " é ü", " \x1b]0;title\x07", " # nested", " (", " )", " x = 1"]


def _ws(r) -> str:
    return r.choice(["", "", "", " ", "  ", "\t"])


def integer(r) -> str:
    return r.choice(["0", "1", "2", "-1", "-2", "3", "10", "-3"])


def subscripts(r) -> str:
    parts = []
    for _ in range(r.randint(1, 2)):
        kind = r.randint(0, 3)
        if kind == 0:
            parts.append(integer(r))
        elif kind == 1:
            parts.append(":")
        elif kind == 2:
            parts.append(f"{r.choice(['', integer(r)])}:{r.choice(['', integer(r)])}")
        else:
            parts.append(f"{r.choice(['', integer(r)])}:{r.choice(['', integer(r)])}:{r.choice(['', '-1', '2', '1'])}")
    return ", ".join(parts)


def tensor_literal(r, depth: int) -> str:
    if depth <= 0 or r.random() < 0.5:
        elements = [r.choice(NUMBERS[:12] + VARIABLES[:3]) for _ in range(r.randint(1, 4))]
        return "[" + ", ".join(elements) + "]"
    rows = r.randint(1, 3)
    width = r.randint(1, 3)
    inner = []
    for _ in range(rows):
        if r.random() < 0.8:
            inner.append("[" + ", ".join(r.choice(NUMBERS[:10]) for _ in range(width)) + "]")
        else:   # sometimes ragged or deeper
            inner.append(tensor_literal(r, depth - 1))
    return "[" + ", ".join(inner) + "]"


def expression(r, depth: int = 4) -> str:
    """An expression of bounded depth (each level at most a few children)."""
    if depth <= 0 or r.random() < 0.2:
        kind = r.randint(0, 9)
        if kind <= 4:
            return r.choice(VARIABLES)
        if kind <= 7:
            return r.choice(NUMBERS)
        return tensor_literal(r, 2)
    kind = r.randint(0, 11)
    sub = lambda: expression(r, depth - 1)   # noqa: E731
    if kind <= 3:
        op = r.choice(BINARY_OPERATORS)
        return f"{_paren(r, sub())}{_ws(r)}{op}{_ws(r)}{_paren(r, sub())}"
    if kind == 4:
        return f"{r.choice(['-', '+', '-'])}{_paren(r, sub())}"
    if kind == 5:
        return f"{r.choice(UNARY_FUNCTIONS)}({sub()})"
    if kind == 6:
        return f"{r.choice(BINARY_FUNCTIONS)}({sub()},{_ws(r)}{sub()})"
    if kind == 7:
        keyword = f", axis={integer(r)}" if r.random() < 0.5 else ""
        return f"{r.choice(AXIS_FUNCTIONS)}({sub()}{keyword})"
    if kind == 8:
        return f"{_paren(r, sub(), force=True)}[{subscripts(r)}]"
    if kind == 9:
        return "[" + ", ".join(sub() for _ in range(r.randint(1, 3))) + "]"
    if kind == 11 and r.random() < 0.5:
        return new_syntax(r, sub)
    if kind == 10:   # newlines (and comments) inside brackets are whitespace
        comment = f" #{r.choice(COMMENT_TEXT)}" if r.random() < 0.4 else ""
        return f"({sub()}{comment}\n{r.choice(['+', '*', '-'])} {sub()})"
    return f"({sub()})"


# Issue 12's language, drawn from the op rows themselves: any function with its parameters (by position
# or keyword, values of the right kind or not), methods, comparisons, tuples, lists and index lists.
def _parameter_value(r, kind: str) -> str:
    values = {"int": ["0", "1", "2", "-1", "3"], "axes": ["0", "1", "-1", "(0, 1)", "(1,)", "(0, 0)", "5"],
              "shape": ["2", "(2, 3)", "(3,)", "0", "(1, 2, 1)", "-1"], "bool": ["True", "False", "1", "2"],
              "number": ["0.2", "1", "-1", "1e308", "0"]}
    return r.choice(values.get(kind, ["1"]) + ["x", "(2, x)", "[1, 2]"] * (r.random() < 0.05))


def new_syntax(r, sub) -> str:
    from cgraph_cli.ops import COMPARISONS, FUNCTIONS, KEYWORD_KINDS, METHODS, OPS

    kind = r.randint(0, 6)
    if kind == 0:   # a function with parameters
        name = r.choice(sorted(FUNCTIONS))
        choice = FUNCTIONS[name]
        op = OPS[r.choice(sorted(choice.values())) if isinstance(choice, dict) else choice]
        arity = op.arity if op.arity >= 0 else r.randint(1, 3)
        args = [sub() for _ in range(arity)]
        if name in ("concatenate", "cat", "stack") and args:
            args = ["[" + ", ".join(args) + "]"]
        for param in op.params[:r.randint(0, len(op.params))]:
            value = _parameter_value(r, KEYWORD_KINDS.get(param, "int"))
            args.append(f"{param}={value}" if r.random() < 0.6 else value)
        return f"{name}({', '.join(args)})"
    if kind == 1:   # a method, possibly chained
        receiver = _paren(r, sub(), force=r.random() < 0.5)
        method = r.choice(sorted(METHODS) + ["T", "shape", "foo"])
        if method == "T" or r.random() < 0.1:
            return f"{receiver}.{method}"
        args = ", ".join(r.choice(["", "0", "1", "-1", "axis=0", "keepdims=True", "2, 3", "(2, 3)", "dim=1"])
                         for _ in range(r.randint(0, 1)))
        return f"{receiver}.{method}({args})"
    if kind == 2:   # a comparison (chained now and then: a parse error)
        ops = [r.choice(sorted(COMPARISONS)) for _ in range(1 if r.random() < 0.9 else 2)]
        parts = [sub()]
        for op in ops:
            parts += [op, sub()]
        return "(" + " ".join(parts) + ")"
    if kind == 3:   # where / clip with comparisons
        return f"where({sub()} > {sub()}, {sub()}, {sub()})"
    if kind == 4:   # integer lists and expressions as indices
        index = r.choice(["[0, 2]", "[0, 0]", "[-1]", "[1.5]", "[]", "arange(2)", "x", "[[0, 1], 2]"])
        return f"{_paren(r, sub(), force=True)}[{index}]"
    if kind == 5:   # constructors
        return r.choice(["zeros((2, 3))", "ones(3)", "full((2, 2), 0.5)", "eye(3)", "arange(4)",
                         "arange(1, 2, 0.25)", "zeros((100000, 100000))", "eye(-1)", "arange(0, 1, 0)"])
    return f"{r.choice(['np', 'torch', 'F', 'math'])}.{r.choice(['exp', 'max', 'relu', 'sum'])}({sub()})"


def _paren(r, text: str, force: bool = False) -> str:
    if force or r.random() < 0.6:
        return f"({text})"
    return text


def program(r, statements: int = 4, depth: int = 3) -> str:
    """A program of at most `statements` statements, with separators, comments and assignments."""
    lines = []
    if r.random() < 0.2:
        lines.append(r.choice(["", "# header" + r.choice(COMMENT_TEXT), ";"]))
    for _ in range(r.randint(1, statements)):
        kind = r.randint(0, 5)
        expr = expression(r, r.randint(1, depth))
        if kind <= 2:
            stmt = expr
        elif kind <= 4:
            stmt = f"{r.choice(ASSIGNED)}{_ws(r)}={_ws(r)}{expr}"
        else:
            stmt = f"{r.choice(ASSIGNED)} {r.choice(AUGOPS)} {expr}"
        if r.random() < 0.2:
            stmt += f" #{r.choice(COMMENT_TEXT)}"
        lines.append(stmt)
    separators = ["\n", "\n", "; ", ";", "\n\n", "\r\n"]
    text = lines[0]
    for line in lines[1:]:
        text += r.choice(separators) + line
    if r.random() < 0.2:
        text += r.choice(["\n", ";", "\n# end", "\n\n"])
    return text


# ----------------------------------------------------------------------------------------------------
# bindings
# ----------------------------------------------------------------------------------------------------

ODD_VALUES = ["0", "-0", "1", "-1", "2", "-4", "3", "0.5", "-0.5", ".5", "3.", "1e-3", "1E5", "1/3",
              "-2/7", "22/7", "1/1000000007", "1e308", "-1e308", "1.7976931348623157e308", "1e-308",
              "5e-324", "-5e-324", "1e-320", "123456789012345678901234567890", "0.1", "6.02e23",
              "[1, 2]", "[1,2,3]", "[[1,2],[3,4]]", "[[0.5,-1,2]]", "[[1],[2]]", "[0]", "[-1e308, 1e308]",
              "[[1,2,3],[4,5,6]]", "[1e-320, 0]"]
INVALID_VALUES = ["nan", "inf", "-inf", "1e999", "abc", "1/0", "", "[1,", "[[1,2],[3]]", "0x10", "1_000",
                  "٣", "1/3/3", "--", "[nan]"]


def value(r) -> str:
    roll = r.random()
    if roll < 0.06:
        return r.choice(INVALID_VALUES)
    if roll < 0.7:
        return r.choice(ODD_VALUES)
    if roll < 0.85:
        return repr(r.uniform(-10, 10))
    numerator, denominator = r.randint(-50, 50), r.randint(1, 60)
    return f"{numerator}/{denominator}"


def binding_words(r, names) -> list:
    words = []
    for name in names:
        v = value(r)
        style = r.randint(0, 5)
        if style <= 3:
            words += [f"--{name}", v]
        elif style == 4:
            words.append(f"--{name}={v}")
        else:
            words += ["-v", f"{name}={v}"]
    return words


def names_in(text: str) -> list:
    """The variable names a program may use (from our alphabet; no parsing of the text)."""
    found = []
    for name in VARIABLES + ["a", "c", "h"]:
        if name in text and name not in ("pi", "e") and name not in found:
            found.append(name)
    return found


# ----------------------------------------------------------------------------------------------------
# byte-level mutations
# ----------------------------------------------------------------------------------------------------

ODD_BYTES = [b"\x00", b"\x01", b"\x07", b"\x08", b"\x1b", b"\x7f", b"\x80", b"\xff", b"\xc3", b"\xe2\x80",
             b"\xed\xa0\x80", b"\xef\xbb\xbf", "é".encode(), "٣".encode(), "\u2212".encode(),
             "\u2028".encode(), "\u00a0".encode(), "\U0001f600".encode(), b"\r", b"\t", b"\x0c", b"\x0b",
             b"\n", b";", b"(", b")", b"[", b"]", b",", b"=", b"+=", b"^", b"**", b"@", b"#", b":", b"-",
             b"axis=", b"1e999", b"x", b"2x", b"[/bold]", b"\\", b"'", b'"', b"$(", b"%s", b"{", b"}"]


def mutate(r, data: bytes, rounds: Optional[int] = None) -> bytes:
    """`data` with 1-4 random edits (bounded: the result is at most len(data) + 64 bytes longer... ×2)."""
    data = bytearray(data)
    for _ in range(rounds if rounds is not None else r.randint(1, 4)):
        kind = r.randint(0, 5)
        at = r.randint(0, len(data))
        if kind == 0:
            data[at:at] = r.choice(ODD_BYTES)
        elif kind == 1 and data:
            end = min(len(data), at + r.randint(1, 4))
            del data[at:end]
        elif kind == 2 and data and at < len(data):
            data[at] = r.randint(0, 255)
        elif kind == 3 and data and at < len(data):
            data[at:at + 1] = r.choice(ODD_BYTES)
        elif kind == 4 and data and len(data) < 400:
            start = r.randint(0, len(data) - 1)
            data[at:at] = data[start:start + r.randint(1, 8)]
        else:
            data[at:at] = bytes([r.randint(0, 255)])
    return bytes(data[:800])


# ----------------------------------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------------------------------

# (label, argv words before the program, whether stdout is JSON: "json", "jsonl" or None)
COMMANDS = [
    ("eval tree", ["eval"], None),
    ("eval table", ["eval", "--format", "table"], None),
    ("eval json", ["eval", "--format", "json"], "json"),
    ("eval plain", ["eval", "--format", "plain"], None),
    ("eval --all", ["eval", "--all"], None),
    ("eval --steps", ["eval", "--steps"], None),
    ("eval --steps plain", ["eval", "--steps", "--format", "plain"], None),
    ("eval --steps json", ["eval", "--steps", "--format", "json"], "json"),
    ("eval --order 2 json", ["eval", "--order", "2", "--format", "json"], "json"),
    ("eval --exact json", ["eval", "--exact", "--format", "json"], "json"),
    ("grad", ["grad"], None),
    ("grad --wrt x", ["grad", "--wrt", "x"], None),
    ("diff", ["diff"], None),
    ("diff --wrt x", ["diff", "--wrt", "x"], None),
    ("hessian", ["hessian"], None),
    ("hessian json", ["hessian", "--format", "json"], "json"),
    ("hessian plain", ["hessian", "--format", "plain"], None),
    ("gradcheck", ["gradcheck"], None),
    ("gradcheck json", ["gradcheck", "--format", "json"], "json"),
    ("gradcheck plain", ["gradcheck", "--format", "plain"], None),
    ("graph dot", ["graph", "--to", "dot"], None),
    ("graph mermaid", ["graph", "--to", "mermaid"], None),
]
EACH_LINE = [
    ("each-line jsonl", ["eval", "--each-line", "-f", "-"], "jsonl"),
    ("each-line plain", ["eval", "--each-line", "--format", "plain", "-f", "-"], None),
]
ALLOWED_EXITS = {0, 1, 2, 3, 130, 141}


@dataclass
class Case:
    """One run of cgraph: the command line and standard input."""
    label: str
    argv: list
    stdin: bytes = b""
    json_kind: Optional[str] = None
    batch: bool = False          # --each-line: the other lines of a failing batch may be printed

    def shell(self) -> str:
        """A shell line reproducing the case (stdin given as printf with octal escapes)."""
        import shlex
        words = " ".join(shlex.quote(w.encode("utf-8", "surrogateescape").decode("latin-1")
                                     if isinstance(w, str) else w) for w in self.argv)
        if self.stdin:
            escaped = "".join(chr(b) if 32 <= b < 127 and chr(b) not in "\\'%" else f"\\{b:03o}"
                              for b in self.stdin)
            return f"printf '{escaped}' | cgraph {words}"
        return f"cgraph {words} < /dev/null"

    def to_json(self) -> dict:
        return {"label": self.label,
                "argv": [w.encode("utf-8", "surrogateescape").decode("latin-1") for w in self.argv],
                "argv_encoding": "each word's bytes as latin-1 (decode to bytes, then pass to exec)",
                "stdin_hex": self.stdin.hex(), "shell": self.shell()}


def command_case(r, label_argv_json, text: str, bindings: list, via: Optional[str] = None) -> Case:
    """`cgraph COMMAND [bindings] PROGRAM`, the program given as an argument (after `--` or not) or
    on standard input."""
    label, words, json_kind = label_argv_json
    via = via or r.choice(["stdin", "stdin", "dashdash", "argument", "dash"])
    if via == "argument" and text.startswith("-"):
        via = "dashdash"
    if via == "stdin":
        return Case(label, words + bindings, text.encode("utf-8", "surrogateescape"), json_kind)
    if via == "dash":
        return Case(label, words + bindings + ["-"], text.encode("utf-8", "surrogateescape"), json_kind)
    arg = text.replace("\x00", "")
    if via == "dashdash":
        return Case(label, words + bindings + ["--", arg], b"", json_kind)
    return Case(label, words + [arg] + bindings, b"", json_kind)


# ----------------------------------------------------------------------------------------------------
# running cgraph in-process
# ----------------------------------------------------------------------------------------------------

class Result(NamedTuple):
    code: int
    out: str
    err: str
    seconds: float = 0.0


class Hang(BaseException):
    """Raised by the alarm when one in-process run takes longer than its timeout (not an Exception, so
    cgraph's own `except Exception` cannot turn it into exit 70)."""


def _alarm(signum, frame):
    raise Hang()


def run(argv, stdin: bytes = b"", timeout: float = 20.0, env=None) -> Result:
    """`cgraph ARGV...` in-process, `stdin` (bytes) on standard input: the exit code and both outputs.
    A run longer than `timeout` seconds ends with code -1 and "HANG" on err."""
    import time

    from click.testing import CliRunner

    from cgraph_cli.cli import _run

    environment = {"NO_COLOR": "1", "COLUMNS": "100", "CGRAPH_DEBUG": None}
    environment.update(env or {})
    use_alarm = timeout and hasattr(signal, "setitimer")
    start = time.perf_counter()
    with CliRunner().isolation(input=stdin, env=environment) as (stdout, stderr, _):
        previous = signal.signal(signal.SIGALRM, _alarm) if use_alarm else None
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            code = int(_run([str(a) for a in argv], debug=False))
            hung = False
        except Hang:
            code, hung = -1, True
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:   # noqa: BLE001 - a wrapper closed by the run
            pass
        out = stdout.getvalue().decode("utf-8", "replace")
        err = stderr.getvalue().decode("utf-8", "replace")
    if hung:
        err += f"\nHANG: no exit within {timeout} s"
    return Result(code, out, err, time.perf_counter() - start)


def run_subprocess(argv, stdin: bytes = b"", timeout: float = 30.0, python: str = sys.executable) -> Result:
    """The same as a real process: `python -m cgraph_cli ARGV...`."""
    import os
    import time

    words = [w.encode("utf-8", "surrogateescape") for w in argv]
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
    env.pop("CGRAPH_DEBUG", None)
    start = time.perf_counter()
    try:
        done = subprocess.run([python.encode(), b"-m", b"cgraph_cli", *words], input=stdin,
                              capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as expired:
        return Result(-1, (expired.stdout or b"").decode("utf-8", "replace"),
                      (expired.stderr or b"").decode("utf-8", "replace") + f"\nHANG: no exit within {timeout} s",
                      time.perf_counter() - start)
    code = done.returncode if done.returncode >= 0 else 128 - done.returncode
    return Result(code, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"),
                  time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------------
# the README's promises
# ----------------------------------------------------------------------------------------------------

def _reject_constant(name):
    raise ValueError(f"not strict JSON: bare {name}")


def strict_json(text: str):
    return json.loads(text, parse_constant=_reject_constant)


def promises(case: Case, result: Result) -> list:
    """The promises `result` breaks: a list of short names with details (empty when all are kept)."""
    broken = []
    code, out, err = result.code, result.out, result.err
    if code == -1:
        return ["hang: " + err.strip().splitlines()[-1]]
    if code == 70:
        internal = [line for line in err.splitlines() if "internal error" in line]
        broken.append("exit 70 (internal error): " + (internal[0].strip()[:200] if internal else _first_line(err)))
    elif code not in ALLOWED_EXITS:
        broken.append(f"exit {code} not in {sorted(ALLOWED_EXITS)}: " + _first_line(err))
    if "Traceback" in out or "Traceback" in err:
        broken.append("a traceback in the output")
    if code in (2, 3):
        if case.batch and case.json_kind == "jsonl" and '"error"' in out:
            pass   # --each-line jsonl: a failing line's message is its {"error": ...} record on stdout
        elif not err.strip():
            broken.append(f"exit {code} with nothing on stderr")
        elif not err.lstrip().startswith("cgraph:"):
            broken.append(f"exit {code}: stderr does not start with 'cgraph:': " + _first_line(err))
        if out and not case.batch:
            broken.append(f"exit {code} with output on stdout: " + _first_line(out))
    if case.json_kind and code in (0, 1) and out.strip():
        try:
            if case.json_kind == "json":
                strict_json(out)
            else:
                for line in out.splitlines():
                    if line.strip():
                        strict_json(line)
        except ValueError as error:
            broken.append(f"invalid JSON on stdout ({case.json_kind}): {str(error)[:120]}")
    if case.json_kind and code == 0 and out.strip() and "--exact" not in case.argv and case.label.startswith(
            ("eval", "each-line")):
        # a non-finite value is an evaluation error (exit 3); only gradients may be "inf"/"nan"
        try:
            docs = [strict_json(line) for line in out.splitlines() if line.strip()] \
                if case.json_kind == "jsonl" else [strict_json(out)]
        except ValueError:
            docs = []
        for doc in docs:
            if isinstance(doc, dict) and "value" in doc and not _all_finite(doc["value"]):
                broken.append(f"exit 0 with a non-finite value: {str(doc['value'])[:60]}")
                break
    if case.json_kind == "json" and code == 0 and not out.strip():
        broken.append("exit 0 with no JSON on stdout")
    return broken


def _all_finite(value) -> bool:
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


# ----------------------------------------------------------------------------------------------------
# the differential property: scalar trees and two independent evaluators
# ----------------------------------------------------------------------------------------------------

class Skip(Exception):
    """The reference leaves the domain, overflows, or the point is within 1e-6 of a kink."""


class Undefined(Exception):
    """The reference divides by zero exactly (exact arithmetic: cgraph must exit 3)."""


# A tree is a tuple: ("var", name) | ("num", text) | ("neg", t) | ("add"|"sub"|"mul"|"div", a, b)
# | ("pow", t, n) (integer literal exponent) | ("call", fname, t) | ("call2", "max"|"min", a, b)
RATIONAL_OPS = ["add", "sub", "mul", "div", "pow", "neg"]
SMOOTH_FUNCTIONS = ["exp", "log", "sin", "cos", "tanh", "sqrt", "sigmoid", "relu", "abs"]
PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def scalar_tree(r, depth: int, names=("x", "y", "z"), functions: bool = False):
    if depth <= 0 or r.random() < 0.25:
        if r.random() < 0.65:
            return ("var", r.choice(names))
        return ("num", r.choice(["1", "2", "3", "0.5", "0.25", "1.5", "4", "10", "0.1", "7"]))
    roll = r.random()
    if functions and roll < 0.35:
        if r.random() < 0.15:
            return ("call2", r.choice(["max", "min"]), scalar_tree(r, depth - 1, names, functions),
                    scalar_tree(r, depth - 1, names, functions))
        return ("call", r.choice(SMOOTH_FUNCTIONS), scalar_tree(r, depth - 1, names, functions))
    op = r.choice(RATIONAL_OPS)
    if op == "neg":
        return ("neg", scalar_tree(r, depth - 1, names, functions))
    if op == "pow":
        return ("pow", scalar_tree(r, depth - 1, names, functions), r.choice([-2, -1, 0, 1, 2, 2, 3, 4]))
    return (op, scalar_tree(r, depth - 1, names, functions), scalar_tree(r, depth - 1, names, functions))


def render(r, tree) -> str:
    """Program text for `tree` with the fewest parentheses its precedence needs (plus a few extra),
    written with `^` or `**`."""
    text, _ = _render(r, tree)
    return text


def _render(r, tree):
    kind = tree[0]
    if kind == "var":
        return tree[1], 9
    if kind == "num":
        return tree[1], 9
    if kind in ("call", "call2"):
        args = [_render(r, t)[0] for t in tree[2:]]
        return f"{tree[1]}({', '.join(args)})", 9
    if kind == "neg":
        inner, p = _render(r, tree[1])
        return "-" + _need(r, inner, p, 3), 3
    if kind == "pow":
        base, p = _render(r, tree[1])
        n = tree[2]
        exponent = str(n) if n >= 0 else r.choice([f"-{-n}", f"({n})"])
        return f"{_need(r, base, p, 5)}{r.choice(['^', '**'])}{exponent}", 4
    left, lp = _render(r, tree[1])
    right, rp = _render(r, tree[2])
    level = PRECEDENCE[kind]
    # left-associative: the right operand needs one level more (a - (b - c))
    right_needs = level + 1 if level == 1 else 3
    return f"{_need(r, left, lp, level)} {SYMBOL[kind]} {_need(r, right, rp, right_needs)}", level


def _need(r, text, have, need):
    if have < need or r.random() < 0.1:
        return f"({text})"
    return text


def tree_names(tree, found=None) -> list:
    found = [] if found is None else found
    if tree[0] == "var":
        if tree[1] not in found:
            found.append(tree[1])
    else:
        for child in tree[1:]:
            if isinstance(child, tuple):
                tree_names(child, found)
    return found


def rational_point(r) -> Fraction:
    return r.choice([Fraction(1, 3), Fraction(-2, 7), Fraction(3), Fraction(-1), Fraction(1, 2), Fraction(5, 4),
                     Fraction(2), Fraction(-7, 3), Fraction(11, 10), Fraction(0), Fraction(9, 8), Fraction(-1, 6)])


def binding_text(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


@dataclass
class Ref:
    """A reference value: v (exact or float), d: {name: derivative}, and magnitudes for the tolerance:
    m bounds the summed terms of the value's computation, dm those of each derivative's."""
    v: object
    d: dict
    m: float = 0.0
    dm: dict = field(default_factory=dict)


def evaluate_exact(tree, point: dict) -> Ref:
    """Forward-mode derivatives in exact Fractions: + - * / and integer powers only."""
    names = list(point)
    kind = tree[0]
    if kind == "var":
        return Ref(point[tree[1]], {n: Fraction(int(n == tree[1])) for n in names})
    if kind == "num":
        return Ref(Fraction(tree[1]), {n: Fraction(0) for n in names})
    if kind == "neg":
        a = evaluate_exact(tree[1], point)
        return Ref(-a.v, {n: -a.d[n] for n in names})
    if kind == "pow":
        a = evaluate_exact(tree[1], point)
        k = tree[2]
        if a.v == 0 and k < 0:
            raise Undefined("0 to a negative power")
        slope = k * a.v ** (k - 1) if k != 0 else Fraction(0)
        return Ref(a.v ** k, {n: slope * a.d[n] for n in names})
    a, b = evaluate_exact(tree[1], point), evaluate_exact(tree[2], point)
    if kind == "add":
        return Ref(a.v + b.v, {n: a.d[n] + b.d[n] for n in names})
    if kind == "sub":
        return Ref(a.v - b.v, {n: a.d[n] - b.d[n] for n in names})
    if kind == "mul":
        return Ref(a.v * b.v, {n: a.d[n] * b.v + a.v * b.d[n] for n in names})
    if kind == "div":
        if b.v == 0:
            raise Undefined("division by zero")
        q = a.v / b.v
        return Ref(q, {n: (a.d[n] - q * b.d[n]) / b.v for n in names})
    raise ValueError(kind)


BIG = 1e300


def _check(x: float) -> float:
    if not math.isfinite(x) or abs(x) > BIG:
        raise Skip("the reference overflows")
    return x


def evaluate_dual(tree, point: dict) -> Ref:
    """Forward-mode dual numbers in float64, with magnitudes of the summed terms for the tolerance."""
    names = list(point)
    kind = tree[0]
    if kind == "var":
        v = float(point[tree[1]])
        return Ref(v, {n: float(n == tree[1]) for n in names}, abs(v), {n: float(n == tree[1]) for n in names})
    if kind == "num":
        v = float(Fraction(tree[1]))
        return Ref(v, {n: 0.0 for n in names}, abs(v), {n: 0.0 for n in names})
    if kind == "neg":
        a = evaluate_dual(tree[1], point)
        return Ref(-a.v, {n: -a.d[n] for n in names}, a.m, dict(a.dm))
    if kind == "pow":
        a = evaluate_dual(tree[1], point)
        k = tree[2]
        if a.v == 0 and k < 0:
            raise Skip("0 to a negative power")
        if abs(a.v) < 1e-6 and k < 0:
            raise Skip("near a pole")
        f = _check(a.v ** k)
        f1 = _check(k * a.v ** (k - 1)) if k else 0.0
        f2 = _check(k * (k - 1) * a.v ** (k - 2)) if k not in (0, 1) else 0.0
        return _unary(a, f, f1, f2, names)
    if kind == "call":
        return _function(tree[1], evaluate_dual(tree[2], point), names)
    if kind == "call2":
        a, b = evaluate_dual(tree[2], point), evaluate_dual(tree[3], point)
        if abs(a.v - b.v) <= 1e-6 * max(1.0, a.m, b.m):
            raise Skip(f"{tree[1]} tie")
        pick = (a if a.v > b.v else b) if tree[1] == "max" else (a if a.v < b.v else b)
        return pick
    a, b = evaluate_dual(tree[1], point), evaluate_dual(tree[2], point)
    if kind in ("add", "sub"):
        s = 1.0 if kind == "add" else -1.0
        return Ref(_check(a.v + s * b.v), {n: _check(a.d[n] + s * b.d[n]) for n in names},
                   a.m + b.m, {n: a.dm[n] + b.dm[n] for n in names})
    if kind == "mul":
        return Ref(_check(a.v * b.v), {n: _check(a.d[n] * b.v + a.v * b.d[n]) for n in names},
                   _check(a.m * b.m), {n: _check(a.dm[n] * b.m + a.m * b.dm[n]) for n in names})
    if kind == "div":
        if b.v == 0 or abs(b.v) < 1e-9 * max(1.0, b.m):
            raise Skip("division by (nearly) zero")
        q = _check(a.v / b.v)
        d = {n: _check((a.d[n] - q * b.d[n]) / b.v) for n in names}
        m = _check((a.m + abs(q) * b.m) / abs(b.v))
        dm = {n: _check((a.dm[n] + m * abs(b.d[n]) + abs(q) * b.dm[n] + abs(d[n]) * b.m) / abs(b.v))
              for n in names}
        return Ref(q, d, m, dm)
    raise ValueError(kind)


def _unary(a: Ref, f: float, f1: float, f2: float, names) -> Ref:
    """f(a) with f' = f1 and f'' = f2 at a.v (for the magnitudes of the derivative's terms)."""
    d = {n: _check(f1 * a.d[n]) for n in names}
    m = _check(abs(f) + abs(f1) * a.m)
    dm = {n: _check(abs(f1) * a.dm[n] + abs(f2) * a.m * abs(a.d[n]) + abs(d[n])) for n in names}
    return Ref(_check(f), d, m, dm)


def _function(name: str, a: Ref, names) -> Ref:
    x = a.v
    if name == "exp":
        if x > 690:
            raise Skip("exp overflows")
        f = math.exp(x)
        return _unary(a, f, f, f, names)
    if name == "log":
        if x <= 1e-6 * max(1.0, a.m):
            raise Skip("log out of its domain (or at its edge)")
        return _unary(a, math.log(x), 1 / x, -1 / (x * x), names)
    if name == "sqrt":
        if x <= 1e-6 * max(1.0, a.m):
            raise Skip("sqrt at or below 0")
        s = math.sqrt(x)
        return _unary(a, s, 0.5 / s, -0.25 / (s * x), names)
    if name in ("sin", "cos"):
        if abs(x) > 1e6:
            raise Skip("a huge angle")
        s, c = math.sin(x), math.cos(x)
        if name == "sin":
            return _unary(a, s, c, -s, names)
        return _unary(a, c, -s, -c, names)
    if name == "tanh":
        t = math.tanh(x)
        return _unary(a, t, 1 - t * t, -2 * t * (1 - t * t), names)
    if name == "sigmoid":
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        return _unary(a, s, s * (1 - s), s * (1 - s) * (1 - 2 * s), names)
    if name in ("relu", "abs"):
        if abs(x) <= 1e-6 * max(1.0, a.m):
            raise Skip(f"{name} at its kink")
        if name == "relu":
            return _unary(a, x if x > 0 else 0.0, 1.0 if x > 0 else 0.0, 0.0, names)
        return _unary(a, abs(x), 1.0 if x > 0 else -1.0, 0.0, names)
    raise ValueError(name)


def close(got: float, want: float, magnitude: float, rtol: float = 1e-9) -> bool:
    if not math.isfinite(got):
        return False
    return abs(got - want) <= rtol * max(magnitude, abs(want)) + 1e-300


def parse_exact(number) -> Fraction:
    """An --exact JSON number: an integer, or a string "p/q"; a float means float64 was used."""
    if isinstance(number, bool) or number is None:
        raise ValueError(f"not a number: {number!r}")
    if isinstance(number, int):
        return Fraction(number)
    if isinstance(number, str):
        return Fraction(number)
    raise ValueError(f"--exact printed a float64 number {number!r} for a rational program")


# ----------------------------------------------------------------------------------------------------
# pathological sizes: long tokens, deep nesting, huge integers (bounded by `limit` characters)
# ----------------------------------------------------------------------------------------------------

def pathological(r, limit: int = 400):
    """(program text, binding words): one long or deep construct of at most about `limit` characters,
    the shapes the issue's hangs and huge-integer crashes came from."""
    n = r.randint(limit // 4, limit)
    digits = lambda k: "".join(r.choice("123456789") for _ in range(k))   # noqa: E731
    kind = r.randint(0, 11)
    if kind == 0:
        return f"[{digits(n)}] 2", []                            # an implicit-multiplication hint
    if kind == 1:
        return f"{'a' * n} 2", []
    if kind == 2:
        return "x*2", ["--x", digits(n) + r.choice(["x", "", "/3", "e", "."])]   # a long binding
    if kind == 3:
        return f"x[{digits(r.choice([n, 4400, 5000]))}]", ["--x", "[1,2]"]   # a huge index
    if kind == 4:
        return f"sum([1,2], axis={digits(r.choice([n, 4400, 5000]))})", []
    if kind == 5:
        k = r.choice([n // 2, 4400, 5000])
        return "x*2", ["--x", f"{digits(k)}/{digits(k)}"]   # a huge exact fraction
    if kind == 6:
        depth = r.randint(2, 80)
        return "[" * depth + "1" + "]" * depth, []               # deep literal (NumPy's 64 dimensions)
    if kind == 7:
        depth = r.randint(2, 80)
        return "x", ["--x", "[" * depth + "1" + "]" * depth]
    if kind == 8:
        depth = r.randint(10, max(10, n))
        return "(" * depth + "x" + ")" * depth, ["--x", "2"]
    if kind == 9:
        return "x^" + str(r.randint(100, 5000)), ["--x", r.choice(["10", "3", "1/3", "2"]), "--exact"]
    if kind == 10:
        return " + ".join(["0.25*x - y"] * (n // 12 + 1)) + r.choice([" +", " 2x", " + q", ")", ""]), \
            ["--x", "1", "--y", "2"]
    return f"{digits(n)}.{digits(r.randint(1, 20))}e{r.randint(-400, 400)}", []


def scalar_program(r) -> str:
    """A scalar program that usually evaluates: assignments, augmented assignments, comments and every
    scalar function over x, y, z."""
    lines = []
    for _ in range(r.randint(1, 3)):
        expr = render(r, scalar_tree(r, r.randint(1, 4), functions=True))
        kind = r.randint(0, 4)
        if kind == 0:
            expr = f"{r.choice(['a', 'b', 'h'])} = {expr}"
        elif kind == 1:
            expr = f"{r.choice(['x', 'a', 'y'])} {r.choice(AUGOPS)} {expr}"
        elif kind == 2:
            expr = f"{expr}  #{r.choice(COMMENT_TEXT)}"
        lines.append(expr)
    if r.random() < 0.3:
        extra = r.choice(["log10(x^2 + 1)", "log2(abs(y) + 1)", "tan(z/10)", "pow(x, 2)", "sign(x)",
                          "ln(exp(y))", "max(x, y) - min(y, z)", "+x", "2^-1*x", "x**2**1", "pi*e*x"])
        lines.append(extra)
    return r.choice(["\n", "; ", "\n\n"]).join(lines)
