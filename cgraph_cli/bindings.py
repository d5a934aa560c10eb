"""Variable bindings: command-line words and files (-v, --NAME VALUE, --vars, @FILE) to values,
floats and NumPy arrays, or exact Fractions for --exact (words.py splits the words first)."""

import json
import math
import re
from typing import Callable, NamedTuple, Optional

from cgraph_cli.errors import BindingError, UsageError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# one way to match each text (no nested choices), so a long non-number fails in linear time
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
FRACTION = re.compile(r"[+-]?[0-9]+/[0-9]+\Z")
RESERVED = {"value"}
MAX_DIMENSIONS = 32          # NumPy 1.x's limit (2.x allows 64): a deeper literal is refused
DATA_FILE_LIMIT = 1 << 30    # bytes read at most from a data file (@FILE, --vars, --points, cases)
PROGRAM_LIMIT = 100 << 20    # bytes read at most of a program (EXPR, -f FILE, standard input)


def parse_number(text: str, source: str) -> float:
    """A binding's value: a decimal number or a fraction such as 1/3; finite."""
    text = text.strip()
    if NUMBER.match(text):
        value = float(text)
    elif FRACTION.match(text):
        from cgraph_cli.rational import TooLarge, parse_exact   # a fraction such as 1/3: rare, so here

        try:
            value = float(parse_exact(text))
        except ZeroDivisionError:
            raise BindingError(f"{source}: {shorten(text)} divides by zero")
        except OverflowError:
            raise BindingError(f"{source}: {shorten(text)} is too large for float64")
        except TooLarge as error:
            raise BindingError(f"{source}: {error} (the limit of exact numbers)")
    elif text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        raise BindingError(f"{source}: {text} is not a finite number; cgraph computes with finite float64")
    else:
        raise BindingError(f"{source}: expected a number such as 2, -0.5, 1e-3 or 1/3, "
                           f"got {shorten(repr(text))}")
    if not math.isfinite(value):
        raise BindingError(f"{source}: {shorten(text)} is too large for float64")
    return value


def shorten(text: str, width: int = 60) -> str:
    """A user's long text cut in the middle for a message."""
    return text if len(text) <= width else text[:width // 2] + "…" + text[-width // 2:]


def read_data_file(path, limit: int = DATA_FILE_LIMIT, what: str = "a data file", error=BindingError) -> bytes:
    """A data file's bytes, at most `limit` of them (so /dev/zero cannot fill the memory)."""
    with open(path, "rb") as handle:
        return read_limited(handle, path, limit, what, error)


def read_limited(handle, path, limit: int, what: str, error=BindingError) -> bytes:
    """At most `limit` bytes of an open binary file; past that, `error` giving the limit."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path} is larger than {limit >> 20:,} MiB, the limit for {what}")
    return data


def decode_data(data: bytes, path: str) -> str:
    """UTF-8 text of a data file, without the byte-order mark an editor may put first."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise BindingError(f"{path} is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})")


def parse_value(text: str, source: str):
    """A binding's value: a number, a tensor literal `[[1,2],[3,4]]`, or `@FILE` (.npy, .json, .csv)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError) as error:   # json reads nested lists recursively
            with_commas = re.sub(MISSING_COMMA, ", ", stripped)
            if with_commas != stripped and _is_json(with_commas):
                raise BindingError(f"{source}: a tensor literal needs commas between its elements: "
                                   f"{shorten(with_commas)}")
            raise BindingError(f"{source}: not a tensor literal such as [[1, 2], [3, 4]] ({error})")
        return to_tensor(data, source)
    if stripped.startswith("@"):
        return load_tensor_file(stripped[1:], source)
    return parse_number(text, source)


MISSING_COMMA = r"(?<=[0-9.\]])\s+(?=[-+0-9.\[])"   # "[1 2 3]", "[[1 2] [3 4]]" (compiled when met)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except (ValueError, RecursionError):
        return False


def to_tensor(data, source: str):
    """Nested lists of numbers to a float64 array (a bare number stays a float)."""
    if isinstance(data, bool) or not isinstance(data, (int, float, str, list)):
        raise BindingError(f"{source}: expected numbers or nested lists of numbers, got {json.dumps(data)}")
    if isinstance(data, (int, float, str)):
        return parse_number(str(data), source)
    import numpy

    flat, shape = [], _nested_shape(data, source)
    stack = [data]
    while stack:   # flatten without recursion, depth-first in order
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            raise BindingError(f"{source}: tensor elements must be numbers, got {json.dumps(item)}")
        else:
            flat.append(float(item))
    array = numpy.array(flat, dtype=float).reshape(shape)
    if not numpy.isfinite(array).all():
        raise BindingError(f"{source}: tensor elements must be finite numbers")
    return array


def _nested_shape(data, source: str) -> tuple:
    """The shape of rectangular nested lists; ragged lists are a binding error."""
    shape, level = [], [data]
    while isinstance(level[0], list):
        sizes = {len(item) if isinstance(item, list) else -1 for item in level}
        if len(sizes) != 1 or -1 in sizes:
            raise BindingError(f"{source}: ragged tensor: the lists at depth {len(shape) + 1} differ in "
                               "length or mix numbers and lists")
        size = sizes.pop()
        if size == 0:
            raise BindingError(f"{source}: empty tensors are not supported")
        shape.append(size)
        if len(shape) > MAX_DIMENSIONS:
            raise BindingError(f"{source}: a tensor of more than {MAX_DIMENSIONS} dimensions is not supported")
        level = [element for item in level for element in item]
    if any(isinstance(item, list) for item in level):
        raise BindingError(f"{source}: ragged tensor: numbers and lists mixed at one depth")
    return tuple(shape)


def load_tensor_file(spec: str, source: str):
    """@weights.npy, @weights.json, @weights.csv, @data.csv:x1,x2 (columns picked by header name)."""
    from pathlib import Path

    path, _, columns = spec.partition(":") if spec.lower().split(":")[0].endswith(".csv") else (spec, "", "")
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".npy":
            import numpy

            array = _load_npy(path, source)
            if array.dtype.kind not in "fiu":
                raise BindingError(f"{source}: {path} holds {array.dtype} values, not numbers")
            array = numpy.asarray(array, dtype=float)
            if not numpy.isfinite(array).all():
                raise BindingError(f"{source}: {path} holds non-finite numbers")
            return float(array) if array.ndim == 0 else array
        if suffix == ".json":
            text = decode_data(read_data_file(path), f"{source}: {path}")
            return to_tensor(json.loads(text), f"{source} ({path})")
        if suffix == ".csv":
            return _load_csv(path, columns, source)
    except OSError as error:
        raise BindingError(f"{source}: cannot read {path} ({error.strerror or error})")
    except (ValueError, RecursionError) as error:
        raise BindingError(f"{source}: cannot read {path}: {error}")
    raise BindingError(f"{source}: @FILE must end in .npy, .json or .csv, got {path!r}")


def _load_npy(path: str, source: str):
    """A .npy array, its header checked against the file's size before NumPy allocates anything."""
    from pathlib import Path

    import numpy
    from numpy.lib import format as npy

    with open(path, "rb") as handle:
        try:
            version = npy.read_magic(handle)
        except ValueError:
            raise BindingError(f"{source}: {path} is not a .npy file (it does not start with NumPy's "
                               "magic string; an .npz archive is not supported)")
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise BindingError(f"{source}: {path}: unsupported .npy format version {version}")
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(handle)
        needed = handle.tell() + math.prod(shape) * dtype.itemsize
        size = Path(path).stat().st_size
        if dtype.hasobject or size < needed:
            raise BindingError(f"{source}: {path} is too short for its header (shape {shape} of {dtype} "
                               f"needs {needed:,} bytes; the file has {size:,})")
        if size > DATA_FILE_LIMIT:
            raise BindingError(f"{source}: {path} is larger than {DATA_FILE_LIMIT >> 20:,} MiB, the limit "
                               "for a data file")
    return numpy.load(path, allow_pickle=False)


def _load_csv(path: str, columns: str, source: str):
    """A matrix from CSV: an optional header line of names; one column loads as a vector."""
    import csv
    import io

    text = decode_data(read_data_file(path), f"{source}: {path}")
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""))
                if row and any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise BindingError(f"{source}: cannot read {path}: {error}")
    if not rows:
        raise BindingError(f"{source}: {path} is empty")
    header = None
    if not all(NUMBER.match(cell.strip().lstrip("+-")) or NUMBER.match(cell.strip()) for cell in rows[0]):
        header, rows = [cell.strip() for cell in rows[0]], rows[1:]
        if not rows:
            if all(_is_number(cell) for cell in header):
                raise BindingError(f"{source}: {path} has one row, of non-ASCII digits "
                                   f"({shorten(', '.join(header))}); write numbers with the digits 0-9")
            raise BindingError(f"{source}: {path} has a header line ({shorten(', '.join(header))}) "
                               "and no rows of numbers")
    if columns:
        if header is None:
            raise BindingError(f"{source}: {path}:{columns} picks columns by header name, "
                               "but the file has no header line")
        wanted = [name.strip() for name in columns.split(",")]
        missing = [name for name in wanted if name not in header]
        if missing:
            raise BindingError(f"{source}: {path} has no column {', '.join(missing)} "
                               f"(its columns: {', '.join(header)})")
        picks = [header.index(name) for name in wanted]
        rows = [[row[i] for i in picks] for row in rows]
    data = []
    for line, row in enumerate(rows, start=2 if header else 1):
        try:
            data.append([parse_number(cell, f"{source} ({path}, line {line})") for cell in row])
        except IndexError:
            raise BindingError(f"{source}: {path}, line {line}: too few columns")
    if len({len(row) for row in data}) > 1:
        raise BindingError(f"{source}: {path}: rows have different numbers of columns")
    import numpy

    array = numpy.array(data, dtype=float)
    return array[:, 0] if array.shape[1] == 1 else array


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def collect(bindings: list, var_words: list, vars_file: str | None, number: "NumberReader" = None) -> dict:
    """Merge --vars FILE.json, then -v NAME=VALUE and --NAME VALUE (the command line wins);
    `number` reads the values (FLOATS: floats and arrays; EXACT_NUMBERS: Fractions for --exact)."""
    number = number or FLOATS
    values = {}
    if vars_file is not None:
        values.update(read_vars_file(vars_file, number))
    seen = {}
    pairs = list(bindings)
    for word in var_words:
        name, equals, text = word.partition("=")
        if not equals or not name.strip():
            raise UsageError(f"-v/--var takes NAME=VALUE, got {word!r}")
        pairs.append((name.strip(), text))
    for name, text in pairs:
        if text is None:
            raise UsageError(f"--{name} needs a value: --{name} VALUE")
        check_name(name, f"--{name}")
        if name in seen:
            raise BindingError(f"{name} is bound twice on the command line ({seen[name]} and {text}); "
                               "give each variable one value")
        seen[name] = text
        values[name] = number.word(text, f"--{name}")
    return values


def check_name(name: str, source: str) -> None:
    if not NAME.match(name):
        raise BindingError(f"{source}: {name!r} is not a variable name (letters, digits, _; not starting "
                           "with a digit)")
    if name in RESERVED:
        raise BindingError(f"{source}: '{name}' is reserved (it names the output) and cannot be a variable")


def read_vars_file(path: str, number: "NumberReader" = None) -> dict:
    number = number or FLOATS
    try:
        text = read_data_file(path).decode("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--vars {path}: cannot read it ({getattr(error, 'strerror', None) or error})")
    except BindingError as error:
        raise UsageError(f"--vars {error.message}")
    decimal = None if number.json_decimal is None else (lambda word: number.json_decimal(word, f"--vars {path}"))
    try:
        data = json.loads(text, parse_float=decimal)
    except (ValueError, RecursionError) as error:
        raise UsageError(f"--vars {path}: not valid JSON ({error})")
    if not isinstance(data, dict):
        raise UsageError(f"--vars {path}: expected a JSON object of name -> number")
    values = {}
    for name, value in data.items():
        check_name(name, f"--vars {path}")
        values[name] = number.written(value, f"--vars {path}: {name}")
    return values


# ----- exact values (--exact) -----

def parse_exact_binding(text: str, source: str):
    """A binding's exact value, a Fraction: `0.1` is 1/10, `1/3` is 1/3."""
    from cgraph_cli import rational   # --exact only: a float run never loads it

    stripped = text.strip()
    if stripped.startswith(("[", "@")):
        raise UsageError(f"{source}: --exact is for scalar formulas; this binding is a tensor")
    try:
        value = rational.parse_exact(stripped)
    except rational.TooLarge as error:
        raise BindingError(f"{source}: {error}")
    except ZeroDivisionError:
        raise BindingError(f"{source}: {text} divides by zero")
    if value is None:
        raise BindingError(f"{source}: expected a number such as 2, -0.5, 1e-3 or 1/3, got {text!r}")
    return value


def written_exact(value, source: str):
    """A binding as written in a TOML or JSON file, as a Fraction: 2, 0.1 (the decimal it was written
    as), "1/3"."""
    from fractions import Fraction

    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise UsageError(f"{source}: --exact is for scalar formulas")
    if isinstance(value, Fraction):            # a JSON decimal, read exactly already
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, int):
        return Fraction(value)
    return parse_exact_binding(str(value), source)


class NumberReader(NamedTuple):
    """How collect reads values: a command-line word, a JSON decimal, a value a --vars file holds."""
    word: Callable                     # (text, source) -> value
    json_decimal: Optional[Callable]   # (text, source) -> value; None: JSON's own float
    written: Callable                  # (value as parsed from JSON, source) -> value


FLOATS = NumberReader(parse_value, None, to_tensor)
EXACT_NUMBERS = NumberReader(parse_exact_binding, parse_exact_binding, written_exact)

