"""`cgraph grade KEY ANSWERS`: a class's hand-derived answers (numbers, tensors, formulas) against a
key of questions, each scored with its points and a diagnosis of the usual slips (the reports are
render/grade.py's).

The key (TOML, one `[[question]]` table per question, defaults at the top; or JSON Lines, one object
per line after an optional `{"defaults": {...}}`) is validated as `check` validates cases (cases.py's
helpers): an unknown key is an error with its line and a "did you mean".

    id = "dx"            the answers sheet's column        ask = "grad x"   value | value NAME |
    file = "staged.cg"   or expr = "..."                   grad NAME | grad NAME[i,j] | formula x
    vars = { x = 3, y = -4 }    const = ["t"]              points = 1
    digits = "given"     or "tolerance" (rtol, atol)       min_digits = 2

Judging a number: with `digits = "given"` it is right when |answer - true| is less than one unit in
its last significant digit as written (leading zeros do not count, trailing zeros do: `0.20` has 2,
`110` 3, `1.1e2` 2; the true value read as its shortest decimal, 0.2 and not 0.2000000000000000111),
or within 1e-9 of |true| (digits beyond float64's are not held against it);
a fraction (`11/5`), an answer of zero or a true value of 0 is compared with the question's
rtol/atol, as `check` compares (|a - t| <= max(rtol * max(|a|, |t|), atol); defaults 1e-6, 1e-9).
Tensors element by element. A formula answer is evaluated at the key's point and at 5 points near it
(POINTS below) and compared there with rtol/atol; the first point where it differs is reported.

Every question's program is evaluated once per run (a formula question's at its 6 points), never
once per student; a student's formula is parsed and evaluated once per distinct text.
"""

import csv
import difflib
import io
import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from cgraph_cli import ast, cases, expect
from cgraph_cli.bindings import DATA_FILE_LIMIT, FRACTION, MAX_DIMENSIONS, NUMBER, read_data_file, read_limited
from cgraph_cli.engine import evaluate, forward, node_functions
from cgraph_cli.errors import CgraphError, UsageError
from cgraph_cli.expect import Tolerance, is_tensor
from cgraph_cli.gradcheck import SPREAD, nearby_points
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build, check_data, from_text, refuse_data, require_scalar
from cgraph_cli.ops import FUNCTIONS, OPS, table_for
from cgraph_cli.text import NotText, decode_utf8, machine, printable, short_text

QUESTION_KEYS = ("id", "ask", "expr", "file", "vars", "const", "digits", "min_digits", "rtol", "atol",
                 "points")
DEFAULT_KEYS = ("rtol", "atol", "digits", "min_digits", "points", "expr", "file", "vars")
DIGITS = ("given", "tolerance")
ASKS = ("value", "grad", "formula")
ASK = re.compile(r"\s*(\w+)(?:\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s*\[([^\]]*)\])?)?\s*\Z")
BLANKS = {"", "n/a", "na", "n.a.", "-", "—", "–", "none", "null"}
FORMULA_LIMIT = 10_000      # characters of a formula answer
NUMBER_LIMIT = 400          # characters of a number answer (more digits than that say nothing)
SAMPLES = 5                 # formula answers: points near the key's point, besides the key's own
DEFAULT_SEED = 0            # random.Random(seed) draws them (--random-seed)
FLOAT_SLACK = 1e-9          # digits = "given": |a - t| <= 1e-9 |t| is right whatever was written
POINTS = (f"{SAMPLES} points drawn by Python's random.Random(seed) (seed {DEFAULT_SEED} unless "
          f"--random-seed): each variable, in alphabetical order, moved by u*{SPREAD}*max(1, |v|), u "
          "uniform in [-1, 1]; a point where the key's program fails is drawn again")


class KeyError_(cases.CasesError):
    """The key itself is malformed (or a question's program fails): exit 2, with where."""
    kind = "key error"


class SheetError(UsageError):
    """The answers file cannot be read: exit 2."""
    kind = "answers error"


class Question(NamedTuple):
    id: str
    ask: str                   # as written, normalised: "grad x", "grad W[0, 1]"
    kind: str                  # "value", "grad", "formula"
    name: str | None
    index: tuple | None        # grad NAME[i,j]
    line: int | None
    source: str
    bindings: dict
    written: str               # the vars as written, for sharing an evaluation between questions
    origin: str | None         # the program's file as the key names it (None: expr)
    const: frozenset
    tolerance: Tolerance
    given: bool                # digits = "given"
    min_digits: int
    points: float


class Truth(NamedTuple):
    correct: object            # at the key's point: a number or an array
    targets: list              # the correct value at each point (one, or 1 + SAMPLES for a formula)
    points: list               # a formula question's bindings at each point (else [])
    candidates: list           # (diagnosis, [value at each point]): the slips, in the issue's order


class Elem(NamedTuple):
    """One number as written: its value, the unit of its last significant digit (None: judged with
    rtol/atol) and its count of significant digits (None for a fraction or zero)."""
    value: float
    text: str
    unit: Fraction | None
    digits: int | None


class Answer(NamedTuple):
    kind: str                  # "number", "formula", "blank", "bad"
    value: object = None       # a float or an array; a formula: its value at each point (or None)
    elems: tuple = ()          # Elem of each element
    problem: str = ""          # why a "bad" answer is not read; a formula's evaluation error


class Graded(NamedTuple):
    question: Question
    answer: str | None         # as written; None when the sheet has no such column
    passed: bool
    points: float              # scored
    diagnosis: str | None
    message: str
    slip: str | None = None    # the diagnosis's short name (SLIPS)


SLIPS = ("sign", "value", "other-grad", "local", "factor-2", "decimal")
# and: "number" (a number for a formula), "shape"; not judged by the number: "blank", "unread", "digits"


class Student(NamedTuple):
    student: str
    line: int
    answers: list              # Graded, in the key's order
    score: float
    max: float


class Report(NamedTuple):
    key: str
    sheet: str
    questions: list
    truths: list
    students: list
    hide_correct: bool


# ----------------------------------------------------------------------------- the key

class _Where(cases._Where):
    """cases._Where with `[[question]]` sections and `question 'dx'` in its messages."""

    UNIT = "question"
    ERROR = KeyError_


class Key(NamedTuple):
    path: str
    questions: list            # Question, in the key's order
    where: _Where              # for messages about a question found later (its program fails)


def load_key(path: str, allow_outside: bool = False) -> Key:
    """Read and validate the key's questions, or KeyError_ naming what is wrong and where."""
    try:
        data = read_data_file(path, DATA_FILE_LIMIT, "a key", KeyError_)
    except OSError as error:
        raise KeyError_(f"cannot read {path}: {error.strerror or error}")
    try:
        text = decode_utf8(data, "utf-8-sig")
    except NotText as error:
        raise KeyError_(f"{path}: {error.detail}") from None
    base = Path(path).resolve().parent
    toml = cases._is_toml(path, text)
    where = _Where(path, text, toml, None if allow_outside else base)
    defaults, raw = _read_toml(text, where) if toml else _read_json_lines(text, where)
    cases._check_keys(defaults, DEFAULT_KEYS, where, None, None, None, "a file-level default")
    default_program = cases._program(defaults, where, None, None, None, base)[:2] \
        if "expr" in defaults or "file" in defaults else None
    default_vars = cases._bindings(defaults.get("vars", {}), where, None, None, None)
    default_tolerance = cases._tolerance(defaults, Tolerance(), where, None, None, None)
    given = _digits(defaults, False, where, None, None, None)
    min_digits = _count(defaults, "min_digits", 1, where, None, None, None)
    points = _points(defaults, 1.0, where, None, None, None)
    if not raw:
        raise where.error("no questions: add a [[question]] table (TOML) or one JSON object per line")
    questions, seen = [], {}
    for index, (table, line) in enumerate(raw):
        question = _question(table, index, line, where, base, (default_program, defaults.get("file")),
                             default_vars, defaults.get("vars", {}), default_tolerance, given, min_digits, points)
        if question.id in seen:
            raise where.error(f"the id {question.id!r} is also question {seen[question.id]}'s: each "
                              "question needs its own column", index, question.id, "id", line)
        seen[question.id] = index + 1
        questions.append(question)
    return Key(path, questions, where)


def _read_toml(text: str, where: _Where):
    document = cases.load_toml(text, where.path, KeyError_)
    questions = document.pop("question", [])
    if not isinstance(questions, list) or not all(isinstance(q, dict) for q in questions):
        raise where.error("'question' must be a list of tables: write each question as [[question]]",
                          key="question")
    starts = where.case_starts
    return document, [(q, starts[i] + 1 if i < len(starts) else None) for i, q in enumerate(questions)]


def _read_json_lines(text: str, where: _Where):
    defaults, questions = {}, []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise where.error(f"not valid JSON: {error}", line=number)
        except RecursionError:
            raise where.error("arrays or objects nested too deeply to read", line=number)
        if not isinstance(item, dict):
            raise where.error("each line must be a JSON object (a question, or {\"defaults\": {...}} first)",
                              line=number)
        if "defaults" in item:
            if questions or defaults or len(item) != 1 or not isinstance(item["defaults"], dict):
                raise where.error("{\"defaults\": {...}} must be the first line, alone in its object",
                                  line=number)
            defaults = item["defaults"]
            where.defaults_line = number
            continue
        questions.append((item, number))
    return defaults, questions


def _question(raw: dict, index: int, line, where, base, default_program, default_vars, default_written,
              default_tolerance, default_given, default_min_digits, default_points) -> Question:
    qid = raw.get("id")
    if not isinstance(qid, str) or not qid.strip() or qid != qid.strip():
        raise where.error("every question needs an id = \"...\": the column of the answers sheet that "
                          "answers it (a non-empty text without surrounding spaces)", index, None, "id", line)
    cases._check_keys(raw, QUESTION_KEYS, where, index, qid, line, "a question")
    default_program, origin = default_program
    if "expr" in raw or "file" in raw:
        source, source_error, _ = cases._program(raw, where, index, qid, line, base)
        origin = raw.get("file")
    elif default_program is not None:
        source, source_error = default_program
    else:
        raise where.error("the question has no program: give expr = \"...\" or file = \"answer.cg\" "
                          "(or a file-level default)", index, qid, None, line)
    if source is None:
        raise where.error(source_error, index, qid, "file", line)
    bindings = dict(default_vars)
    bindings.update(cases._bindings(raw.get("vars", {}), where, index, qid, line))
    const = cases._const(raw.get("const", []), bindings, where, index, qid, line)
    ask = raw.get("ask")
    if not isinstance(ask, str):
        raise where.error('ask must be a text: "value", "value NAME", "grad NAME", "grad NAME[i,j]" or '
                          '"formula x"', index, qid, "ask", line)
    kind, name, element = _ask(ask, where, index, qid, line)
    given = _digits(raw, default_given, where, index, qid, line)
    if "min_digits" in raw and not given:
        raise where.error('min_digits counts the digits of an answer judged with digits = "given"',
                          index, qid, "min_digits", line)
    written = json.dumps({**default_written, **raw.get("vars", {})}, sort_keys=True)
    shown = kind if name is None else f"{kind} {name}" + ("" if element is None else
                                                            "[" + ", ".join(map(str, element)) + "]")
    return Question(qid, shown, kind, name, element, line, source, bindings, written, origin, const,
                    cases._tolerance(raw, default_tolerance, where, index, qid, line), given,
                    _count(raw, "min_digits", default_min_digits, where, index, qid, line),
                    _points(raw, default_points, where, index, qid, line))


def _ask(text: str, where, index, qid, line):
    usage = '"value", "value NAME", "grad NAME", "grad NAME[i,j]" or "formula x"'
    match = ASK.match(text)
    if not match:
        raise where.error(f"ask {short_text(text, 40)!r} is not one of {usage}", index, qid, "ask", line)
    kind, name, element = match.groups()
    if kind not in ASKS:
        close = difflib.get_close_matches(kind, ASKS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"ask is one of {usage}"
        raise where.error(f"{kind!r} is not something to ask; {hint}", index, qid, "ask", line)
    if kind != "value" and name is None:
        raise where.error(f"{kind} of what? write \"{kind} x\"", index, qid, "ask", line)
    if element is not None:
        if kind != "grad" or not re.fullmatch(r"\s*[0-9]+(\s*,\s*[0-9]+)*\s*", element):
            raise where.error(f"ask {text!r}: an element is asked as \"grad NAME[i,j]\" with indices from 0",
                              index, qid, "ask", line)
        element = tuple(int(i) for i in element.split(","))
    return kind, name, element


def _digits(table: dict, default: bool, where, index, qid, line) -> bool:
    if "digits" not in table:
        return default
    value = table["digits"]
    if value not in DIGITS:
        close = difflib.get_close_matches(str(value), DIGITS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else 'write "given" (the precision the student ' \
                                                          'wrote) or "tolerance" (rtol and atol)'
        raise where.error(f"digits is \"given\" or \"tolerance\"; {hint}", index, qid, "digits", line)
    return value == "given"


def _count(table: dict, key: str, default: int, where, index, qid, line) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 17:
        raise where.error("must be a whole number from 1 to 17", index, qid, key, line)
    return value


def _points(table: dict, default: float, where, index, qid, line) -> float:
    value = table.get("points", default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1e9:
        raise where.error("points must be a number from 0 to 10^9", index, qid, "points", line)
    return float(value)


# ----------------------------------------------------------------------------- the key's numbers

def truths(key: Key, seed: int = DEFAULT_SEED) -> list:
    """Each question's Truth: its program evaluated once (shared by the questions of one program and
    point), a formula question's at its points; a program that fails is a KeyError_ naming it."""
    evaluations = {}
    result = []
    for index, question in enumerate(key.questions):
        def fail(message, part="ask"):
            return key.where.error(message, index, question.id, part, question.line)

        cache = (question.source, question.written, question.const)
        if cache not in evaluations:
            evaluations[cache] = _evaluate(question, question.bindings, fail)
        evaluation = evaluations[cache]
        _check_ask(question, evaluation, fail)
        if question.kind != "formula":
            correct = _target(question, evaluation)
            slips = _candidates(evaluation, question.kind, question.name, question.index, correct)
            result.append(Truth(correct, [correct], [], [(slip, text, [value]) for slip, text, value in slips]))
            continue
        near = _near(question, fail, seed)
        points = [question.bindings] + [point for point, _ in near]
        runs = [evaluation] + [run for _, run in near]
        targets = [_target(question, run) for run in runs]
        per_point = [{text: (slip, value) for slip, text, value
                      in _candidates(run, question.kind, question.name, question.index, target)}
                     for run, target in zip(runs, targets)]
        candidates = [(slip, text, [found[text][1] for found in per_point])
                      for text, (slip, _) in per_point[0].items() if all(text in found for found in per_point)]
        result.append(Truth(targets[0], targets, points, candidates))
    return result


def _evaluate(question: Question, bindings: dict, fail):
    try:
        graph = from_text(question.source, frozenset(bindings), question.const)
        check_data(graph, bindings, "const")
        return evaluate(graph, bindings)
    except CgraphError as error:
        origin = f"{question.origin}: " if question.origin else ""
        raise fail(f"the question's program fails: {origin}{error.kind}: {error.message}",
                   "file" if question.origin else "expr") from None


def _near(question: Question, fail, seed: int) -> list:
    """(point, evaluation) at the SAMPLES points near the key's (see POINTS) where the program evaluates:
    gradcheck's nearby points, a point outside the program's domain drawn again (up to 20 times each)."""
    variables = [name for name in question.bindings if name not in question.const]
    points = []
    for point in nearby_points(question.bindings, variables, 21 * SAMPLES, seed):
        try:
            points.append((point, _evaluate(question, point, lambda message, part=None: CgraphError(message))))
        except CgraphError:
            continue
        if len(points) == SAMPLES:
            return points
    raise fail(f"the question's program cannot be evaluated at points near its vars ({POINTS})")


def _check_ask(question: Question, evaluation, fail) -> None:
    graph, name = evaluation.graph, question.name
    known_nodes = sorted(graph.assigned)
    if question.kind == "value" and name is not None and name not in graph.assigned:
        hint = " (a variable's value is what vars gives it)" if name in graph.variables else ""
        raise fail(_unknown(f"the program assigns no {name}{hint}", name, known_nodes))
    if question.kind in ("grad", "formula"):
        variables = graph.differentiable()
        known = variables + ([] if question.kind == "formula" else known_nodes)
        if name not in known and name not in graph.data:
            what = "variable" if question.kind == "formula" else "variable or assigned name"
            raise fail(_unknown(f"the program has no {what} {name}", name, known))
        try:
            refuse_data(graph, [name])
        except UsageError as error:
            raise fail(error.message) from None
    if question.kind == "formula":
        try:
            require_scalar(graph, question.bindings, "a formula question")
        except UsageError as error:
            raise fail(error.message) from None
    whole = _whole_target(evaluation, question.kind, name)
    if question.index is not None:
        shape = getattr(whole, "shape", ())
        if len(question.index) != len(shape) or any(i >= n for i, n in zip(question.index, shape)):
            raise fail(f"{question.ask}: the gradient of {name} has shape {expect.shape_text(shape)}; "
                       "indices count from 0")
    elif question.kind != "formula" and is_tensor(whole) and whole.size > 10_000:
        raise fail("a tensor answer of more than 10,000 elements is not something to write by hand: "
                   "ask for one element with grad NAME[i,j]")


def _unknown(message: str, name: str, known: list) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    return f"{message} (it has: {', '.join(known) or 'none'})"


def _whole_target(evaluation, kind: str, name: str | None):
    """What a question asks before its element is taken: the output's or name's value ("value"), or
    d output / d name ("grad", "formula")."""
    graph = evaluation.graph
    if kind == "value":
        return evaluation.value if name is None else expect.assigned_value(evaluation, name)
    if name in graph.variables:
        return expect.variable_gradient(evaluation, name)
    return expect.assigned_gradient(evaluation, name)


def _target(question: Question, evaluation):
    value = _whole_target(evaluation, question.kind, question.name)
    if question.index is not None:
        return float(value[question.index])
    return float(value) if not is_tensor(value) else value


def diagnose(evaluation, name: str | None, answer, tolerance: Tolerance = Tolerance(), ask: str = "grad",
             ) -> str | None:
    """Why `answer` (a number or an array) is not what is asked of `evaluation` (the engine's, e.g.
    cg.evaluate(...).evaluation): d output / d name for ask "grad" (name a variable or an assigned
    name) or "formula" (name a variable: a derivative formula's value at this point), name's value
    for "value" (None: the output's). The first of the usual slips that explains the answer within
    `tolerance`, in issue 15's order (the sign; the value for the gradient or the reverse; another
    gradient; the local derivative; a factor of 2 or 1/2; a power of ten), or that its shape is not
    the correct one's: the diagnosis `cgraph grade` gives. None when the answer is right or no slip
    explains it."""
    correct = _whole_target(evaluation, ask, name)
    correct = correct if is_tensor(correct) else float(correct)
    if expect.compare(correct, answer, tolerance).passed:
        return None
    return first_slip(_candidates(evaluation, ask, name, None, correct),
                      lambda value: expect.compare(value, answer, tolerance).passed, correct, answer)[1]


def first_slip(candidates: list, matches, correct=None, answer=None) -> tuple:
    """(slip, diagnosis) for a wrong answer: its shape, when `correct` is given and the `answer`'s
    shape is not its; else the first of `candidates` (_candidates's (slip, diagnosis, value), in
    their order) whose value `matches` the answer; else (None, None)."""
    if correct is not None and getattr(correct, "shape", ()) != getattr(answer, "shape", ()):
        return "shape", (f"the answer has shape {expect.shape_text(getattr(answer, 'shape', ()))}, "
                         f"the correct one {expect.shape_text(getattr(correct, 'shape', ()))}")
    return next(((slip, text) for slip, text, value in candidates if matches(value)), (None, None))


def _candidates(evaluation, kind: str, name: str | None, index: tuple | None, correct) -> list:
    """(slip, diagnosis, value) of each slip a question admits (`kind`, `name` and `index` as
    Question's; `correct` its answer), in the issue's order: the sign; the value instead of the
    gradient (or the reverse); another variable's or node's gradient; the local derivative (an input
    or node used once); a factor of 2 or 1/2; a power of ten."""
    graph = evaluation.graph
    shape = getattr(correct, "shape", ())
    whole_shape = getattr(_whole_target(evaluation, kind, name), "shape", ()) if index is not None else None

    def pick(value):
        if value is None:
            return None
        if index is not None:
            return float(value[index]) if getattr(value, "shape", ()) == whole_shape else None
        return value if getattr(value, "shape", ()) == shape else None

    found = [("sign", "the sign is wrong", -correct)]
    label = name if index is None else f"{name}[{', '.join(map(str, index))}]"
    if kind == "value":
        if name is not None:
            found.append(("value", f"that is the gradient of {name}, not its value",
                          pick(expect.assigned_gradient(evaluation, name))))
        for other in graph.differentiable():
            found.append(("value", f"that is the gradient of {other}, not the value",
                          pick(expect.variable_gradient(evaluation, other))))
    else:
        own = graph.assigned.get(name, graph.variables.get(name))
        found.append(("value", f"that is the value of {label}, not its gradient",
                      pick(evaluation.values[own])))
        if own != graph.output:
            found.append(("value", "that is the output's value, not a gradient",
                          pick(evaluation.value)))
        others = [n for n in graph.differentiable() if n != name] + \
                 ([] if kind == "formula" else [n for n in graph.assigned if n != name])
        for other in others:
            node = graph.variables.get(other, graph.assigned.get(other))
            if node == own or node == graph.output:
                continue
            found.append(("other-grad", f"that is the gradient of {other}",
                          pick(expect.variable_gradient(evaluation, other) if other in graph.variables
                               else expect.assigned_gradient(evaluation, other))))
        local = _local(evaluation, own)
        if local is not None:
            user, value = local
            found.append(("local", f"that is the local derivative of {graph.excerpt(user, 40)} "
                          f"with respect to {name}: the upstream gradient is missing", pick(value)))
    found += [("factor-2", "a factor of 2 too large", correct * 2),
              ("factor-2", "a factor of 2 too small", correct / 2)]
    for power in (1, 2, 3, -1, -2, -3):
        found.append(("decimal", f"a factor of {10 ** abs(power)} too {'large' if power > 0 else 'small'}",
                      correct * 10.0 ** power))
    tight = Tolerance(1e-9, 1e-12)
    return [(slip, text, value) for slip, text, value in found
            if value is not None and _finite(value) and not expect.compare(correct, value, tight).passed]


def _local(evaluation, node_id: int):
    """(user, d user / d node) for a node with exactly one use, as the user's rule computes it with
    an upstream of 1 (ones for a tensor): the gradient without the factor from above; else None."""
    graph = evaluation.graph
    users = [(user, k) for user, inputs in enumerate(graph.inputs) for k, i in enumerate(inputs) if i == node_id]
    if len(users) != 1 or users[0][0] == node_id:
        return None
    user, k = users[0]
    ops = table_for(graph, {name: evaluation.values[i] for name, i in graph.variables.items()})
    rule = node_functions(graph, ops, "vjp")[user]
    out = evaluation.values[user]
    upstream = out * 0.0 + 1.0
    try:
        local = rule(upstream, out, *[evaluation.values[i] for i in graph.inputs[user]])[k]
    except (ArithmeticError, ValueError):
        return None
    if getattr(local, "shape", ()) != getattr(evaluation.values[node_id], "shape", ()):
        return None
    return user, local


def _finite(value) -> bool:
    if is_tensor(value):
        import numpy

        return bool(numpy.isfinite(value).all())
    return math.isfinite(value)


# ----------------------------------------------------------------------------- the answers sheet

class Row(NamedTuple):
    student: str
    line: int
    cells: dict                # question id -> the cell as written (absent: the sheet has no such column)
    problem: str = ""          # the row cannot be read cell by cell (more cells than the header)


class Sheet(NamedTuple):
    rows: list
    decimal_comma: bool
    notes: list                # once each, for stderr: extra and missing columns, odd rows


def read_sheet(path: str, questions: list, id_column: str | None = None) -> Sheet:
    """The answers: a CSV with a header (`,` or `;`: then decimal commas) or JSON Lines."""
    try:
        if path == "-":
            import sys

            data = read_limited(sys.stdin.buffer, "standard input", DATA_FILE_LIMIT, "an answers file", SheetError)
        else:
            data = read_data_file(path, DATA_FILE_LIMIT, "an answers file", SheetError)
    except OSError as error:
        raise SheetError(f"cannot read {path}: {error.strerror or error}")
    try:
        text = decode_utf8(data, "utf-8-sig")
    except NotText as error:
        raise SheetError(f"{path}: {error.detail}") from None
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json") or (suffix != ".csv" and text.lstrip().startswith("{")):
        return _read_answer_lines(path, text, questions, id_column or "student")
    return _read_csv(path, text, questions, id_column)


def _read_csv(path: str, text: str, questions: list, id_column: str | None) -> Sheet:
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    csv.field_size_limit(max(csv.field_size_limit(), DATA_FILE_LIMIT))   # a long cell is the cell's problem
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)   # an unclosed quote: an error
    try:   # (the line a row starts on: a quoted cell may hold line breaks)
        numbered = [(reader.line_num - row_lines(row) + 1, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            raise SheetError(f"{path}: a quote (\") is opened and never closed: the file ends inside a "
                             "quoted cell") from None
        raise SheetError(f"{path}: line {reader.line_num}: not a CSV file: {error}")
    if not numbered:
        raise SheetError(f"{path}: no header: the first line names the columns (student, then question ids)")
    (_, header), body = numbered[0], numbered[1:]
    header = [cell.strip() for cell in header]
    ids = [question.id for question in questions]
    seen = set()
    for name in header:
        if name and name in seen:
            raise SheetError(f"{path}: the column {name!r} appears twice in the header")
        seen.add(name)
    if id_column is None:
        id_index = 0
    elif id_column in header:
        id_index = header.index(id_column)
    else:
        raise SheetError(f"{path}: " + _unknown(f"no column {id_column} (--id)", id_column, [h for h in header if h]))
    columns = {qid: header.index(qid) for qid in ids if qid in header and header.index(qid) != id_index}
    notes = _column_notes(path, header[:id_index] + header[id_index + 1:], ids, "column")
    rows, long_rows = [], []
    for number, row in body:
        student = row[id_index].strip() if id_index < len(row) else ""
        problem = ""
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header):]):
            long_rows.append(number)
            problem = f"the row has {len(row)} cells and the header {len(header)}: " + (
                "a decimal comma in a ','-separated sheet? (write 0.39, or separate the cells with ';')"
                if delimiter == "," else "a stray ';'?")
        cells = {qid: (row[k] if k < len(row) else "") for qid, k in columns.items()}
        rows.append(Row(student or f"(line {number})", number, cells, problem))
    if long_rows:
        several = len(long_rows) > 1
        notes.append(f"{path}: line{'s' * several} {_ranges(long_rows)} {'have' if several else 'has'} more cells "
                     f"than the header; {'their' if several else 'its'} answers are not graded" + (" (a decimal comma? write 0.39, or separate the cells with ';')"
                                         if delimiter == "," else ""))
    return Sheet(rows, delimiter == ";", notes + _id_notes(path, rows))


def row_lines(row: list) -> int:
    """How many lines a CSV row spans (its quoted cells' line breaks)."""
    return 1 + sum(cell.count("\n") for cell in row)


def _read_answer_lines(path: str, text: str, questions: list, id_key: str) -> Sheet:
    ids = [question.id for question in questions]
    rows, keys, found = [], {}, set()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_float=str, parse_int=str, parse_constant=str)
        except ValueError as error:
            raise SheetError(f"{path}: line {number}: not valid JSON: {error}")
        except RecursionError:
            raise SheetError(f"{path}: line {number}: arrays nested too deeply to read")
        if not isinstance(item, dict):
            raise SheetError(f"{path}: line {number}: each line is one student's answers, a JSON object "
                             f"such as {{\"{id_key}\": \"ana\", \"{ids[0]}\": \"2.06\"}}")
        student = item.get(id_key)
        student = "" if student is None else (student if isinstance(student, str) else json.dumps(student))
        for key in item:
            if key != id_key:
                keys.setdefault(key, None)
        cells = {qid: _written(item[qid]) for qid in ids if qid in item}
        found.update(cells)
        rows.append(Row(student.strip() or f"(line {number})", number, cells))
    if not rows:
        raise SheetError(f"{path}: no students: one JSON object per line")
    notes = _column_notes(path, list(keys), ids, "key", present=found)
    return Sheet(rows, False, notes + _id_notes(path, rows))


def _written(value) -> str:
    """A JSON Lines cell as written (numbers kept as their text); null is a blank."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_written(item) for item in value) + "]"
    return json.dumps(value)


def _column_notes(path: str, names: list, ids: list, what: str, present=None) -> list:
    notes = []
    extra = [name for name in names if name and name not in ids]
    if extra:
        hints = []
        for name in extra:
            unused = [i for i in ids if i not in names]
            close = [i for i in unused if i.lower() == name.lower()] or difflib.get_close_matches(name, unused, n=1)
            hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
        notes.append(f"{path}: {what}s that are no question of the key, not graded: " + ", ".join(hints))
    missing = [qid for qid in ids if qid not in (names if present is None else present)]
    if missing:
        notes.append(f"{path}: no {what} for question{'s' if len(missing) > 1 else ''} "
                     f"{', '.join(missing)}: every student's answer there is \"no answer\"")
    return notes


def _id_notes(path: str, rows: list) -> list:
    counts = {}
    for row in rows:
        counts[row.student] = counts.get(row.student, 0) + 1
    twice = [student for student, count in counts.items() if count > 1]
    notes = [f"{path}: students on more than one line (each line graded): " + ", ".join(map(printable, twice))] \
        if twice else []
    unnamed = [row.line for row in rows if row.student.startswith("(line ")]
    if unnamed:
        notes.append(f"{path}: lines without a student id, named by their line: {_ranges(unnamed)}")
    return notes


def _ranges(numbers: list) -> str:
    shown = ", ".join(map(str, numbers[:10]))
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


# ----------------------------------------------------------------------------- reading one answer

NUMBER_PARTS = re.compile(r"[+-]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\Z")
DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?\Z")
TOKEN = re.compile(r"\s*(\[|\]|,|[^\[\],\s]+)")
CONSTRUCTORS = {name for name, op in FUNCTIONS.items() if isinstance(op, str) and OPS[op].arity == 0}


class Refused(Exception):
    """A cell that is not a number (the message says why, in the student's terms)."""


def read_number(text: str, decimal_comma: bool = False) -> Elem:
    """One number as written: a decimal (its significant digits counted) or a fraction."""
    t = text.strip().replace("\u2212", "-")
    if decimal_comma and DECIMAL_COMMA.match(t):
        t = t.replace(",", ".")
    if len(t) > NUMBER_LIMIT:
        raise Refused(f"not a number: {short_text(text, 30)!r} (longer than {NUMBER_LIMIT} characters)")
    if FRACTION.match(t):
        numerator, denominator = t.split("/")
        if int(denominator) == 0:
            raise Refused(f"{t} divides by zero")
        value = Fraction(int(numerator), int(denominator))
        try:
            return Elem(float(value), t, None, None)
        except OverflowError:
            raise Refused(f"{t} is too large for a number") from None
    if t.lower().lstrip("+-") in ("inf", "nan"):
        return Elem(float(t), t, None, None)
    if not NUMBER.match(t):
        if DECIMAL_COMMA.match(t):
            raise Refused(f"not a number: {text.strip()!r} (a decimal comma: write {t.replace(',', '.')})")
        raise Refused(f"not a number: '{short_text(printable(text.strip()), 40)}'")
    whole, fraction, exponent = NUMBER_PARTS.match(t).groups()
    exponent = int(exponent or 0)
    if abs(exponent) > 400:
        raise Refused(f"{t} is outside the range of numbers (exponent {exponent})")
    value = float(t)
    if not math.isfinite(value):
        raise Refused(f"{t} is too large for a number")
    significant = (whole + (fraction or "")).lstrip("0")
    if not significant:   # zero: no significant digit; judged with rtol/atol
        return Elem(value, t, None, None)
    return Elem(value, t, Fraction(10) ** (exponent - len(fraction or "")), len(significant))


def read_answer(text: str | None, decimal_comma: bool = False) -> Answer:
    """A cell as a number, a tensor literal (numbers element by element), or "blank"/"bad"."""
    if text is None or text.strip().lower() in BLANKS:
        return Answer("blank")
    stripped = text.strip()
    try:
        if not stripped.startswith("["):
            elem = read_number(stripped, decimal_comma)
            return Answer("number", elem.value, (elem,))
        return _read_tensor(stripped)
    except Refused as refused:
        return Answer("bad", problem=str(refused))


def _read_tensor(text: str) -> Answer:
    """A tensor literal as written, `[[2.06, 1.59], [0, 1/2]]`: nested lists of numbers (each read
    by read_number), rectangular."""
    import numpy

    stack, top, elems, position = [], None, [], 0
    expect_item = True
    for match in TOKEN.finditer(text):
        if match.start() != position:
            break
        position = match.end()
        token = match.group(1)
        if token == "[":
            if not expect_item:
                raise Refused(f"not a tensor: a comma is missing before position {match.start(1) + 1}")
            stack.append([])
        elif token == "]":
            if not stack or (expect_item and stack[-1]):
                raise Refused(f"not a tensor: {short_text(text, 40)!r} (a stray ']' or ',')")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            else:
                top = done
            expect_item = False
        elif token == ",":
            if expect_item or not stack:
                raise Refused(f"not a tensor: {short_text(text, 40)!r} (a stray ',')")
            expect_item = True
        else:
            if not expect_item or not stack:
                raise Refused(f"not a tensor: {short_text(text, 40)!r} (a comma is missing between numbers)")
            elem = read_number(token)
            elems.append(elem)
            stack[-1].append(len(elems) - 1)
            expect_item = False
        if top is not None:
            break
    if top is None or text[position:].strip():
        raise Refused(f"not a tensor: {short_text(text, 40)!r} (the brackets do not close)")
    shape, level = [], [top]
    while isinstance(level[0], list):
        sizes = {len(item) if isinstance(item, list) else -1 for item in level}
        if len(sizes) != 1 or -1 in sizes or 0 in sizes:
            raise Refused("not a tensor: its rows differ in length (or one is empty)")
        shape.append(sizes.pop())
        if len(shape) > MAX_DIMENSIONS:
            raise Refused(f"not a tensor: more than {MAX_DIMENSIONS} dimensions")
        level = [element for item in level for element in item]
    if any(isinstance(item, list) for item in level):
        raise Refused("not a tensor: numbers and lists mixed at one depth")
    value = numpy.array([elems[i].value for i in level], dtype=float).reshape(shape)
    return Answer("number", value, tuple(elems[i] for i in level))


def read_formula(text: str, question: Question, truth: Truth) -> Answer:
    """A formula answer evaluated at the question's points: Answer("formula", [values]) or "bad"."""
    if len(text) > FORMULA_LIMIT:
        return Answer("bad", problem=f"your formula is longer than {FORMULA_LIMIT:,} characters")
    try:
        program = parse(text)
        if any(type(node) in (ast.Tensor, ast.Index) or (type(node) in (ast.Call, ast.Method)
                                                         and node.func in CONSTRUCTORS)
               for node in ast.postorder(program)):   # refused before the graph builds ones((10^4, 10^4))
            return Answer("bad", problem="your formula uses tensors; this answer is a number")
        variables = set(truth.points[0])
        graph = build(program, text, frozenset(variables))
    except CgraphError as error:
        return Answer("bad", problem=f"your formula does not read: {_one_line(error.message)}")
    unknown = sorted(set(graph.variables) - variables)
    if unknown:
        return Answer("bad", problem=f"your formula uses {', '.join(unknown)}, which "
                                     f"{'is not a variable' if len(unknown) == 1 else 'are not variables'} "
                                     f"of this question ({', '.join(sorted(variables))})")
    if graph.uses_tensors:
        return Answer("bad", problem="your formula uses tensors; this answer is a number")
    constant = ("constant",) if not ast.names(program) & variables else ()
    values = []
    for point in truth.points:
        try:
            values.append(forward(graph, point, OPS)[graph.output])
        except CgraphError as error:
            return Answer("formula", values, constant, f"your formula cannot be evaluated at "
                                                       f"{_point_text(point, question)} ({_one_line(error.message)})")
    return Answer("formula", values, constant)


# ----------------------------------------------------------------------------- judging

def _one_line(message: str) -> str:
    """A parse error without its caret lines (a formula answer is one line; the column says where)."""
    lines = message.split("\n")
    rest = [line for line in lines[1:] if not line.startswith("  ")]
    return lines[0].rstrip(":") + (f" ({'; '.join(rest)})" if rest else "")


def within(answer: Answer, target, question: Question) -> bool:
    """Is a number answer right for `target` (a number or an array of the answer's shape)?"""
    if is_tensor(target) or is_tensor(answer.value):
        if getattr(target, "shape", ()) != getattr(answer.value, "shape", ()):
            return False
        targets = [float(t) for t in target.ravel()]
    else:
        targets = [float(target)]
    return all(_elem_within(elem, t, question) for elem, t in zip(answer.elems, targets))


def _elem_within(elem: Elem, target: float, question: Question) -> bool:
    if not question.given or elem.unit is None or target == 0 or not math.isfinite(target):
        return expect.compare(target, elem.value, question.tolerance).passed
    difference = abs(elem.value - target)
    if difference <= FLOAT_SLACK * abs(target):
        return True
    unit = float(elem.unit)
    if difference < unit * (1 - 1e-9):
        return True
    if difference > unit * (1 + 1e-9):
        return False
    # at the edge: exactly, against the true value's shortest decimal (0.2, not 0.2000000000000000111)
    return abs(Fraction(elem.text) - Fraction(repr(target))) < elem.unit


def _formula_differs(values: list, targets: list, question: Question) -> int | None:
    """The first point where a formula's values differ from the targets, or None."""
    for k, (value, target) in enumerate(zip(values, targets)):
        if not expect.compare(target, value, question.tolerance).passed:
            return k
    return None


def grade(questions: list, truths_: list, sheet: Sheet, hide_correct: bool = False) -> list:
    """Every student's answers graded: a list of Student."""
    formulas = [{} for _ in questions]   # per question: formula text -> Answer (evaluated once)
    students = []
    total = sum(question.points for question in questions)
    for row in sheet.rows:
        graded = []
        for k, (question, truth) in enumerate(zip(questions, truths_)):
            text = row.cells.get(question.id)
            graded.append(grade_cell(question, truth, text, sheet.decimal_comma, hide_correct, row.problem,
                                     formulas[k]))
        students.append(Student(row.student, row.line, graded, sum(g.points for g in graded), total))
    return students


def grade_cell(question: Question, truth: Truth, text: str | None, decimal_comma: bool = False,
               hide_correct: bool = False, problem: str = "", cache: dict | None = None) -> Graded:
    head = f"{question.id} {question.ask}"
    if problem:
        return _graded(question, text, False, None, f"{head}: {problem}", truth, hide_correct, slip="unread")
    if question.kind == "formula":
        if text is None or text.strip().lower() in BLANKS:
            answer = Answer("blank")
        else:
            cache = {} if cache is None else cache
            if text not in cache:
                cache[text] = read_formula(text.strip(), question, truth)
            answer = cache[text]
    else:
        answer = read_answer(text, decimal_comma)
    if answer.kind == "blank":
        return _graded(question, text, False, None, f"{head}: no answer", truth, hide_correct, slip="blank")
    if answer.kind == "bad":
        return _graded(question, text, False, None, f"{head}: {answer.problem}", truth, hide_correct,
                       slip="unread")
    if answer.kind == "formula":
        return _grade_formula(question, truth, text, answer, head, hide_correct)
    shown = _answer_shown(text)
    if question.given:
        short = [elem for elem in answer.elems if elem.digits is not None and elem.digits < question.min_digits]
        if short:
            few = short[0]
            return _graded(question, text, False, None,
                           f"{head}: your answer {shown} has {few.digits} significant digit"
                           f"{'s' if few.digits != 1 else ''}{' in ' + few.text if len(answer.elems) > 1 else ''};"
                           f" give at least {question.min_digits}", truth, hide_correct, slip="digits")
    if within(answer, truth.correct, question):
        return _graded(question, text, True, None, f"{head}: your answer {shown} is right", truth, hide_correct)
    slip, diagnosis = first_slip(truth.candidates, lambda values: within(answer, values[0], question),
                                 truth.correct, answer.value)
    return _graded(question, text, False, diagnosis, f"{head}: your answer {shown}", truth, hide_correct, answer,
                   slip)


def _grade_formula(question, truth, text, answer, head, hide_correct) -> Graded:
    shown = _answer_shown(text)
    values = answer.value
    constant = answer.elems == ("constant",)
    if answer.problem and not values:   # not even the key's point
        return _graded(question, text, False, None, f"{head}: {answer.problem}", truth, hide_correct)
    point = _formula_differs(values, truth.targets, question)
    if point is None and not answer.problem:
        return _graded(question, text, True, None, f"{head}: your formula {shown} is right at the key's "
                                                    f"point and {SAMPLES} points near it", truth, hide_correct)
    if point is None:   # right where it could be evaluated, but fails at a later point
        return _graded(question, text, False, None, f"{head}: {answer.problem}", truth, hide_correct)
    slip, diagnosis = first_slip(truth.candidates, lambda candidate: all(
        expect.compare(c, v, question.tolerance).passed for c, v in zip(candidate, values))) \
        if len(values) == len(truth.targets) else (None, None)
    if diagnosis is None and constant and point > 0:
        slip, diagnosis = "number", "a number is right at one point only: write the formula"
    where = ("the key's point" if point == 0 else "a point near the key's") + \
        f" ({_point_text(truth.points[point], question)})"
    message = f"{head}: your formula {shown} gives {_general(values[point])} at {where}"
    if not hide_correct:
        message += f"; correct {_general(truth.targets[point])}"
    else:
        message += ", which is not right"
    if diagnosis:
        message += f" ({diagnosis})"
    return Graded(question, text, False, 0.0, diagnosis, message, slip)


def _graded(question, text, passed, diagnosis, message, truth, hide_correct, answer=None, slip=None) -> Graded:
    """The message completed: the correct value (unless hidden) at the precision of the student's
    `answer` (a number answer that is wrong; None for a blank or unreadable cell)."""
    if not passed:
        if hide_correct:
            message += " is not right" if answer is not None and message.endswith(_answer_shown(text)) else ""
        elif question.kind != "formula":
            correct = correct_text(truth.correct, question, answer)
            if answer is not None and DECIMAL_COMMA.match(text.strip()):   # a ';' sheet's 0,39: 0,3932
                correct = correct.replace(".", ",")
            message += f"; correct {correct}"
        else:
            message += f"; correct at the key's point {correct_text(truth.correct, question, None)}"
        if diagnosis:
            message += f" ({diagnosis})"
    return Graded(question, text, passed, question.points if passed else 0.0, diagnosis, message, slip)


def _answer_shown(text: str) -> str:
    return printable(short_text(text.strip(), 60))


def correct_text(value, question: Question, answer: Answer | None = None) -> str:
    """The correct value at the precision of the student's answer (at least 2 digits), more if that
    rounds to the answer; without a number answer, at min_digits (at least 4) with digits = "given",
    else at the digits the tolerance asks for."""
    written = [elem.digits for elem in (answer.elems if answer is not None else ()) if elem.digits]
    if not written:
        digits = max(question.min_digits, 4) if question.given else _tolerance_digits(question)
        return TRAILING_ZEROS.sub(lambda match: match.group(1).rstrip("."), _shown(value, digits))
    digits = max([2] + written)
    text = _shown(value, digits)
    if answer is not None and answer.value is not None:
        while digits < 17 and text == _shown(answer.value, digits):
            digits += 1
            text = _shown(value, digits)
    return text


TRAILING_ZEROS = re.compile(r"(\.[0-9]*?)0+(?![0-9])")


def _tolerance_digits(question: Question) -> int:
    rtol = question.tolerance.rtol
    return min(17, max(2, math.ceil(-math.log10(rtol)) + 1)) if rtol > 0 else 17


def _shown(value, digits: int) -> str:
    """A number to `digits` significant digits, positional where that is short (1600, 0.0021)."""
    if is_tensor(value):
        import numpy

        text = numpy.array2string(numpy.asarray(value, dtype=float), separator=", ", threshold=12, edgeitems=3,
                                  max_line_width=10**9,
                                  formatter={"float_kind": lambda element: _shown(float(element), digits)})
        return " ".join(text.split())
    value = float(value)
    if not math.isfinite(value) or value == 0:
        return machine(value) if value else "0"
    rounded = f"{value:.{digits - 1}e}"
    exponent = int(rounded.split("e")[1])
    if -5 <= exponent < 16:
        from decimal import Decimal

        text = format(Decimal(rounded), "f")
        return text
    mantissa, power = rounded.split("e")
    return f"{mantissa}e{int(power)}"


def _general(value, digits: int = 6) -> str:
    """A formula's value or a point's coordinate, short: 2, 2.2, 0.196612, 1.2e-07."""
    return machine(float(value), digits) if not is_tensor(value) else expect.number_text(value, digits)


def _point_text(point: dict, question: Question) -> str:
    return ", ".join(f"{name} = {_general(value, 4)}" for name, value in sorted(point.items())
                     if name not in question.const)


# ----------------------------------------------------------------------------- summaries

def percent(student: Student) -> float:
    return 100.0 if student.max == 0 else 100.0 * student.score / student.max


def points_text(value: float) -> str:
    """Points as people write them: 9, 8.5."""
    return str(int(value)) if float(value).is_integer() else machine(value)
