"""The cases of `cgraph check CASES`: a file of cases (expression, bindings, expected numbers), read,
validated and run in one process (the reports are render/check.py's).

The case schema is the same in TOML (one `[[case]]` table per case, file-level defaults as top-level
keys) and JSON Lines (one object per line, an optional first line `{"defaults": {...}}`):

    name  = "apple"                                   optional; "case N" by default
    expr  = "subtotal = price*count; subtotal*tax"    or file = "answer.cg" (relative to the cases file)
    vars  = { price = 100, count = 2, tax = 1.1 }      numbers, exact strings ("1/3"), nested lists
    value = 220                                       optional expected output value
    grad  = { price = 2.2, count = 110, tax = 200 }   optional, any subset of the variables
    const = ["t"]                                     optional, vars that are data (no gradient, no grad key)
    nodes = { subtotal = { value = 200, grad = 1.1 } }  optional, named assignments (last assignment)
    grad_formula = { price = "count*tax" }            optional, hand-derived d(output)/d(var), compared
                                                      with reverse mode at the point and `samples`
                                                      nearby points (default 5, seed `random_seed`)
    rtol  = 1e-9                                      optional, also atol

Defaults may hold rtol, atol, vars (merged under each case's), expr, file, samples and random_seed. In
JSON Lines a `{"defaults": ...}` line applies to the lines after it, up to the next one, so files
written each with its own defaults line can be concatenated. A key that is not in the schema is an
error, never ignored: a misspelled `grda` must not turn a check into no check.

A case's program read from a file carries that file's name (`source_name`): its parse and evaluation
errors start with it (`students/carol.cg: line 6, column 5: ...`).

Exit codes: 0 all cases pass, 1 any fails (a case whose program does not parse or evaluate fails,
its error shown as what was got), 2 the cases file itself is malformed (file, case, key and line).
"""

import difflib
import json
import re
import sys
import time
from pathlib import Path
from typing import NamedTuple

from cgraph_cli import expect
from cgraph_cli.bindings import DATA_FILE_LIMIT, NAME, PROGRAM_LIMIT, check_name, read_data_file, read_limited, to_tensor
from cgraph_cli.ast import names
from cgraph_cli.engine import evaluate
from cgraph_cli.errors import CgraphError, ExitStatus, UsageError
from cgraph_cli.expect import Check, Comparison, Tolerance, compare, is_tensor, parse_expected, shape_text
from cgraph_cli.gradcheck import DEFAULT_SAMPLES, DEFAULT_SEED, check_formulas, parse_formulas
from cgraph_cli.grammar import parse
from cgraph_cli.graph import build, check_data
from cgraph_cli.text import NotText, decode_utf8

CASE_KEYS = ("name", "expr", "file", "vars", "const", "value", "grad", "nodes", "grad_formula", "samples",
             "random_seed", "rtol", "atol")
DEFAULT_KEYS = ("rtol", "atol", "vars", "expr", "file", "samples", "random_seed")
NODE_KEYS = ("value", "grad")


class CasesError(UsageError):
    """The cases file itself is malformed: exit 2, with where."""
    kind = "cases file error"


class Case(NamedTuple):
    name: str
    line: int | None
    source: str | None         # the program text, or None when it could not be read
    source_error: str | None   # why the program file could not be read (a failed case, not a bad file)
    bindings: dict
    value: object              # expected output value, or None
    grad: dict                 # variable -> expected gradient
    nodes: dict                # assigned name -> {"value": ..., "grad": ...}
    tolerance: Tolerance
    written_vars: dict = {}    # the vars as written (defaults merged in), read exactly by --exact
    const: frozenset = frozenset()   # vars that are data (as --const): no gradient
    own_vars: tuple = ()       # the names bound in the case's own vars (not the file's defaults)
    source_name: str | None = None   # the program's file as shown in messages (None: written inline)
    grad_formula: dict = {}    # variable -> (text, graph) of a hand-derived gradient formula
    samples: int = DEFAULT_SAMPLES
    random_seed: int = DEFAULT_SEED


class CaseResult(NamedTuple):
    case: Case
    checks: list               # Check
    error: str | None          # the program's parse/binding/evaluation error
    exit_code: int | None      # that error's exit code
    seconds: float
    notes: tuple = ()          # "y is bound but not used in the formula", for the case's own vars

    @property
    def passed(self) -> bool:
        return self.error is None and all(check.passed for check in self.checks)


# ----------------------------------------------------------------------------- reading the file

class _Where:
    """Builds `FILE: case 'apple' (line 5): key 'grad.pricee': ...` messages (a grading key's subclass
    says `question` and raises its own error)."""

    UNIT = "case"          # the word of a [[case]] section and of messages
    ERROR = CasesError

    def __init__(self, path: str, text: str, toml: bool, confined_to: Path | None = None):
        self.path, self.text, self.toml = path, text, toml
        self.confined_to = confined_to   # the folder a `file =` must resolve inside (None: anywhere)
        self.defaults_line = None   # JSON Lines: the line of {"defaults": ...}
        self.lines = text.split("\n")
        self.case_starts = [i for i, line in enumerate(self.lines)
                            if re.match(rf"\s*\[\[\s*{self.UNIT}\s*\]\]", line)] if toml else []

    def key_line(self, case_index: int | None, key: str, physical: int | None) -> int | None:
        """The line holding a dotted key (`grad.price`) in the case's section: each part is looked for
        from the line of the part before it. `physical` when not found (or for JSON Lines)."""
        if not self.toml:
            return physical
        if case_index is None:
            first, last = 0, (self.case_starts[0] if self.case_starts else len(self.lines))
        else:
            first = self.case_starts[case_index] if case_index < len(self.case_starts) else 0
            following = [s for s in self.case_starts if s > first]
            last = following[0] if following else len(self.lines)
        found = None
        for part in key.split("."):
            word = re.escape(part)
            pattern = re.compile(rf"(^|[\s{{,.]){word}\s*=|\"{word}\"\s*=|\[\s*{self.UNIT}\.{word}\s*\]")
            line = next((i for i in range(first, last) if pattern.search(self.lines[i].split("#", 1)[0])), None)
            if line is None:
                break
            found = first = line
        return physical if found is None else found + 1

    def error(self, message: str, case_index=None, name=None, key=None, line=None) -> CasesError:
        where = [self.path]
        if case_index is not None:
            where.append(f"{self.UNIT} {name!r}" if name else f"{self.UNIT} {case_index + 1}")
        elif key is not None:
            where.append("defaults")
            line = line or self.defaults_line
        if key is not None:
            line = self.key_line(case_index, key, line)
            where.append(f"key {key!r}")
        if line is not None:
            where.append(f"line {line}")
        return self.ERROR(": ".join(where[:1]) + (" (" + ", ".join(where[1:]) + ")" if where[1:] else "")
                          + f": {message}")


def load(path: str, program_file: str | None = None, allow_outside: bool = False) -> list:
    """Read and validate a cases file: a list of Case, or CasesError naming what is wrong and where.
    A `file =` must resolve inside the cases file's folder unless `allow_outside`."""
    if path == "-":
        data = read_limited(sys.stdin.buffer, "standard input", DATA_FILE_LIMIT, "a cases file", CasesError)
        base = Path.cwd()
    else:
        try:
            data = read_data_file(path, DATA_FILE_LIMIT, "a cases file", CasesError)
        except OSError as error:
            raise CasesError(f"cannot read {path}: {error.strerror or error}")
        base = Path(path).resolve().parent
    try:
        text = decode_utf8(data, "utf-8-sig")   # an editor's byte-order mark is not part of the file
    except NotText as error:
        raise CasesError(f"{path}: {error.detail}") from None
    toml = _is_toml(path, text)
    where = _Where(path, text, toml, None if allow_outside else base)
    blocks = _read_toml(text, where) if toml else _read_json_lines(text, where)
    forced = None
    if program_file is not None:
        forced = _read_program(Path(program_file), f"-f {program_file}") + (program_file,)
    cases = []
    for defaults, defaults_line, raw_cases in blocks:   # TOML: one block; JSON Lines: one per defaults line
        where.defaults_line = defaults_line
        defaults = _check_keys(defaults, DEFAULT_KEYS, where, None, None, None, "a file-level default")
        default_program = forced
        if forced is None and ("expr" in defaults or "file" in defaults):
            default_program = _program(defaults, where, None, None, None, base)
        default_vars = _bindings(defaults.get("vars", {}), where, None, None, None)
        default_tolerance = _tolerance(defaults, Tolerance(), where, None, None, None)
        sampling = _sampling(defaults, (DEFAULT_SAMPLES, DEFAULT_SEED), where, None, None, None)
        for raw, line in raw_cases:
            cases.append(_case(raw, len(cases), line, where, base, default_program, default_vars,
                               default_tolerance, defaults.get("vars", {}), sampling))
    if not cases:
        raise where.error("no cases: add a [[case]] table (TOML) or one JSON object per line")
    return cases


def _is_toml(path: str, text: str) -> bool:
    suffix = Path(path).suffix.lower()
    if suffix == ".toml":
        return True
    if suffix in (".jsonl", ".ndjson", ".json"):
        return False
    return not text.lstrip().startswith("{")


def load_toml(text: str, path: str, error=None) -> dict:
    """The TOML document of a cases file or a grading key, or `error` (CasesError) naming what is wrong."""
    error = error or CasesError
    try:
        import tomllib
    except ImportError:   # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        message = str(problem)   # tomli >= 2.4 (Python 3.10) says "at end of document": name the line
        last_line = text.rstrip().count("\n") + 1
        message = message.replace("(at end of document)", f"(at the end of the document, line {last_line})")
        raise error(f"{path}: not valid TOML: {message}") from None
    except RecursionError:   # tomllib reads nested arrays recursively
        raise error(f"{path}: arrays or tables nested too deeply to read") from None


def _read_toml(text: str, where: _Where):
    document = load_toml(text, where.path)
    cases = document.pop("case", [])
    if not isinstance(cases, list) or not all(isinstance(case, dict) for case in cases):
        raise where.error("'case' must be a list of tables: write each case as [[case]]", key="case")
    return [(document, None, [(case, where.case_starts[i] + 1 if i < len(where.case_starts) else None)
                              for i, case in enumerate(cases)])]


def _read_json_lines(text: str, where: _Where):
    """[(defaults, its line, [(case, line), ...]), ...]: a {"defaults": ...} line starts a new block
    (concatenated files each keep their own defaults)."""
    blocks = [({}, None, [])]
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise where.error(f"not valid JSON: {error}", line=number)
        except RecursionError:   # json reads nested arrays recursively
            raise where.error("arrays or objects nested too deeply to read", line=number)
        if not isinstance(item, dict):
            raise where.error("each line must be a JSON object (a case, or {\"defaults\": {...}})",
                              line=number)
        if "defaults" in item:
            if len(item) != 1 or not isinstance(item["defaults"], dict):
                raise where.error("{\"defaults\": {...}} must be alone in its object, and hold an object",
                                  line=number)
            blocks.append((item["defaults"], number, []))
            continue
        blocks[-1][2].append((item, number))
    return blocks


def _check_keys(table: dict, allowed: tuple, where, index, name, line, what: str) -> dict:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
            raise where.error(f"unknown key in {what}; {hint}", index, name, key, line)
    return table


def _case(raw: dict, index: int, line, where: _Where, base: Path, default_program,
          default_vars: dict, default_tolerance: Tolerance, default_written_vars=None,
          default_sampling=(DEFAULT_SAMPLES, DEFAULT_SEED)) -> Case:
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise where.error("name must be a string", index, None, "name", line)
    _check_keys(raw, CASE_KEYS, where, index, name, line, "a case")
    label = name or f"case {index + 1}"
    if "expr" in raw or "file" in raw:
        source, source_error, source_name = _program(raw, where, index, name, line, base)
    elif default_program is not None:
        source, source_error, source_name = default_program
    else:
        raise where.error("the case has no program: give expr = \"...\" or file = \"answer.cg\" "
                          "(or a file-level default, or -f FILE)", index, name, None, line)
    bindings = dict(default_vars)
    bindings.update(_bindings(raw.get("vars", {}), where, index, name, line))
    value = None
    if "value" in raw:
        value = _expected(raw["value"], where, index, name, "value", line)
    const = _const(raw.get("const", []), bindings, where, index, name, line)
    grad = {}
    grads = _table(raw.get("grad", {}), where, index, name, "grad", line)
    for variable, expected in grads.items():
        key = f"grad.{variable}"
        if variable in const:
            raise where.error(f"{variable} is data (const = [\"{variable}\"], as --const {variable}): "
                              "it has no gradient to ask for", index, name, key, line)
        if variable not in bindings:
            close = difflib.get_close_matches(variable, list(bindings), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else (
                "; its vars are: " + ", ".join(sorted(bindings)) if bindings else "; it binds none")
            raise where.error(f"no variable {variable} in this case's vars{hint}", index, name, key, line)
        expected = _expected(expected, where, index, name, key, line)
        expected_shape = expected.shape if is_tensor(expected) else ()
        bound_shape = bindings[variable].shape if is_tensor(bindings[variable]) else ()
        if expected_shape != bound_shape:
            raise where.error(f"the gradient of {variable} has the shape of {variable}, "
                              f"{shape_text(bound_shape)}; this one is {shape_text(expected_shape)}",
                              index, name, key, line)
        grad[variable] = expected
    nodes = {}
    for node_name, expectations in _table(raw.get("nodes", {}), where, index, name, "nodes", line).items():
        key = f"nodes.{node_name}"
        if not NAME.match(node_name):
            raise where.error(f"{node_name!r} is not a name", index, name, key, line)
        if not isinstance(expectations, dict) or not expectations:
            raise where.error("expected a table such as { value = 200, grad = 1.1 }", index, name, key, line)
        _check_keys(expectations, NODE_KEYS, where, index, name, line, f"nodes.{node_name}")
        nodes[node_name] = {part: _expected(number, where, index, name, f"{key}.{part}", line)
                            for part, number in expectations.items()}
    formulas = {}
    for variable, text in _table(raw.get("grad_formula", {}), where, index, name, "grad_formula", line).items():
        key = f"grad_formula.{variable}"
        if variable in const or variable not in bindings:
            why = "is data (const)" if variable in const else "is not one of this case's vars"
            raise where.error(f"{variable} {why}: a gradient formula is for a bound variable", index, name,
                              key, line)
        if not isinstance(text, str):
            raise where.error('expected a formula as a string, such as "2*(x+y)"', index, name, key, line)
        try:
            formulas.update(parse_formulas({variable: text}, bindings, const, lambda _: "the formula"))
        except CgraphError as error:
            raise where.error(error.message.removeprefix("the formula: "), index, name, key, line)
    samples, seed = _sampling(raw, default_sampling, where, index, name, line)
    tolerance = _tolerance(raw, default_tolerance, where, index, name, line)
    written = {**(default_written_vars or {}), **raw.get("vars", {})}
    return Case(label, line, source, source_error, bindings, value, grad, nodes, tolerance, written, const,
                tuple(raw.get("vars", {})), source_name, formulas, samples, seed)


def _sampling(table: dict, default: tuple, where, index, name, line) -> tuple:
    """(samples, random_seed) of the gradient formulas: integers, samples 0 to 10,000."""
    values = list(default)
    for i, (key, low, high) in enumerate((("samples", 0, 10_000), ("random_seed", -2**63, 2**63 - 1))):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise where.error(f"must be an integer from {low} to {high}", index, name, key, line)
            values[i] = value
    return tuple(values)


def _const(value, bindings: dict, where, index, name, line) -> frozenset:
    """A case's `const = ["t"]`: names of its vars that are data."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise where.error('expected a list of variable names such as ["t"]', index, name, "const", line)
    for variable in value:
        if variable not in bindings:
            close = difflib.get_close_matches(variable, list(bindings), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "data must be bound in vars"
            raise where.error(f"{variable} is not one of this case's vars; {hint}", index, name, "const", line)
    return frozenset(value)


def _table(value, where, index, name, key, line) -> dict:
    if not isinstance(value, dict):
        raise where.error("expected a table of name = number", index, name, key, line)
    return value


def _program(table: dict, where, index, name, line, base: Path):
    """(source, None, file name or None), or (None, why, file name) when the program file cannot be
    read: that case fails. The name is the path from where cgraph runs (the cases file's folder
    joined to the file as written), as messages show it."""
    if "expr" in table and "file" in table:
        raise where.error("give expr or file, not both", index, name, "file", line)
    if "expr" in table:
        if not isinstance(table["expr"], str):
            raise where.error("expr must be a string", index, name, "expr", line)
        return table["expr"], None, None
    if not isinstance(table["file"], str):
        raise where.error("file must be a string (a path relative to the cases file)", index, name,
                          "file", line)
    path = base / table["file"]
    if where.confined_to is not None and not path.resolve().is_relative_to(where.confined_to):
        raise where.error(f"{table['file']} is outside the folder of the cases file ({where.confined_to}); "
                          "pass --allow-outside to read it", index, name, "file", line)
    shown = table["file"] if where.path == "-" else str(Path(where.path).parent / table["file"])
    return _read_program(path, table["file"]) + (shown,)


def _read_program(path: Path, shown: str):
    try:
        return read_data_file(path, PROGRAM_LIMIT, "a program", CasesError).decode("utf-8-sig"), None
    except OSError as error:
        return None, f"cannot read {shown}: {error.strerror or error}"
    except UnicodeDecodeError:
        return None, f"{shown} is not UTF-8 text"
    except CasesError as error:
        return None, error.message


def _bindings(table, where, index, name, line) -> dict:
    """A case's vars, read as the command line reads bindings (numbers, exact strings, nested lists)."""
    values = {}
    for variable, value in _table(table, where, index, name, "vars", line).items():
        key = f"vars.{variable}"
        try:
            check_name(variable, "vars")
            values[variable] = to_tensor(value, key)
        except CgraphError as error:
            raise where.error(error.message.removeprefix(f"{key}: "), index, name, key, line)
    return values


def _expected(value, where, index, name, key, line):
    try:
        return parse_expected(value, key)
    except CgraphError as error:
        raise where.error(error.message.removeprefix(f"{key}: "), index, name, key, line)


def _tolerance(table: dict, default: Tolerance, where, index, name, line) -> Tolerance:
    values = {}
    for key in ("rtol", "atol"):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= sys.float_info.max:
                raise where.error("must be a finite number >= 0", index, name, key, line)
            values[key] = float(value)
    return default._replace(**values)


# ----------------------------------------------------------------------------- running the cases

def run_case(case: Case, exact: str | None = None, parsed: dict | None = None) -> CaseResult:
    """Evaluate one case and compare; `exact`: None, or "strict"/"auto" for --exact/--exact-auto.
    `parsed`: a dict the caller keeps across cases, so a program shared by many cases (a student's
    file) is parsed once."""
    started = time.perf_counter()
    if case.source is None:
        return CaseResult(case, [], case.source_error, ExitStatus.USAGE, time.perf_counter() - started)
    parsed = {} if parsed is None else parsed
    try:
        if case.source not in parsed:
            try:
                parsed[case.source] = parse(case.source)
            except CgraphError as error:
                parsed[case.source] = error
        program = parsed[case.source]
        if isinstance(program, CgraphError):
            raise program
        used = names(program)
        notes = tuple(f"{name} is bound but not used in the formula" for name in case.own_vars if name not in used)
        graph = build(program, case.source, frozenset(case.bindings), case.const)
        check_data(graph, case.bindings, "const")
        if exact:
            from cgraph_cli import exact as exact_arithmetic
            from cgraph_cli.bindings import written_exact

            values = {name: written_exact(case.written_vars[name], f"vars.{name}")
                      for name in case.bindings}
            evaluation = exact_arithmetic.evaluate(graph, values, auto=exact == "auto")
        else:
            evaluation = evaluate(graph, case.bindings)
        checks = case_checks(case, evaluation)
    except CgraphError as error:
        message = error.message if case.source_name is None else in_file(case.source_name, error.message)
        return CaseResult(case, [], f"{error.kind}: {message}", int(error.exit_code),
                          time.perf_counter() - started)
    return CaseResult(case, checks, None, None, time.perf_counter() - started, notes)


_AT = re.compile(r"(.*?),? at line (\d+), column (\d+):")


def in_file(name: str, message: str) -> str:
    """A message about a program, naming its file once: `unexpected '*' at line 6, column 5:` becomes
    `students/carol.cg: line 6, column 5: unexpected '*'` (other messages get the name in front)."""
    match = _AT.match(message)
    if match is None:
        return f"{name}: {message}"
    return f"{name}: line {match[2]}, column {match[3]}: {match[1]}" + message[match.end():]


def case_checks(case: Case, evaluation) -> list:
    tolerance = case.tolerance
    checks = []

    def add(what, expected, got, missing=""):
        comparison = Comparison(False, None, missing) if missing else compare(expected, got, tolerance)
        checks.append(Check(what, expected, got, comparison))

    if case.value is not None:
        add("value", case.value, evaluation.value)
    for variable, expected in case.grad.items():
        add(f"grad {variable}", expected, expect.variable_gradient(evaluation, variable))
    assigned = evaluation.graph.assigned
    for node_name, parts in case.nodes.items():
        missing = "" if node_name in assigned else f"{case.source_name or 'the program'} assigns no {node_name}"
        if "value" in parts:
            add(node_name, parts["value"], expect.assigned_value(evaluation, node_name), missing)
        if "grad" in parts:
            add(f"{node_name}.grad", parts["grad"], expect.assigned_gradient(evaluation, node_name), missing)
    if case.grad_formula:
        for row in check_formulas(evaluation.graph, case.bindings, case.grad_formula, tolerance,
                                  case.samples, case.random_seed):
            note = "" if row.status == "ok" else row.note
            checks.append(Check(f"grad {row.variable} formula", row.reference, row.analytic,
                                Comparison(row.status == "ok", row.abs_error, note)))
    return checks
