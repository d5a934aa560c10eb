"""Command-line words to (our options, variable bindings, positional words): no click involved.

click would split an unknown `-token` into single-letter options, so `cgraph eval
"-1/f^2" --f 2` or `--x -inf` go wrong if click sees them. We split first:
- a word is one of our options only if it is exactly one of our spellings (or `--ours=...`);
- any other `--NAME` or `--NAME=V` binds a variable and takes the next word as it is,
  even when it starts with `-`;
- everything else is positional (so an expression may start with `-`); after `--`, all is.
Short options are never combined.
"""

import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from cgraph_cli.errors import BindingError, UsageError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
FRACTION = re.compile(r"[+-]?[0-9]+/[0-9]+\Z")
RESERVED = {"value"}


class SplitArgs(NamedTuple):
    options: list        # our options, each as one `--long=value` word (or a bare flag)
    bindings: list       # (name, text) from --NAME VALUE, in order
    positional: list


def split_args(words: list, value_options: dict, flag_options: dict) -> SplitArgs:
    """Split `words`; the option dicts map each spelling (e.g. "-f", "--file") to its long form."""
    options, bindings, positional = [], [], []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            positional.extend(words[i:])
            break
        spelling, has_value, inline = word.partition("=")
        if word in flag_options:
            options.append(flag_options[word])
        elif spelling in value_options and spelling.startswith("--") and has_value:
            options.append(f"{value_options[spelling]}={inline}")
        elif word in value_options:
            if i >= len(words):
                raise UsageError(f"option {word} needs a value")
            options.append(f"{value_options[word]}={words[i]}")
            i += 1
        elif word.startswith("--") and len(word) > 2:
            name = spelling[2:]
            if not NAME.match(name):
                raise UsageError(f"no such option: {spelling}\n"
                                 "variables are bound as --NAME VALUE with NAME a formula's name")
            if has_value:
                bindings.append((name, inline))
            else:
                if i >= len(words):
                    raise UsageError(f"--{name} needs a value: --{name} VALUE")
                bindings.append((name, words[i]))
                i += 1
        else:
            positional.append(word)
    return SplitArgs(options, bindings, positional)


def parse_number(text: str, source: str) -> float:
    """A binding's value: a decimal number or a fraction such as 1/3; finite."""
    text = text.strip()
    if NUMBER.match(text):
        value = float(text)
    elif FRACTION.match(text):
        fraction = Fraction(text)
        value = float(fraction)
    elif text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        raise BindingError(f"{source}: {text} is not a finite number; cgraph computes with finite float64")
    else:
        raise BindingError(f"{source}: expected a number such as 2, -0.5, 1e-3 or 1/3, got {text!r}")
    if not math.isfinite(value):
        raise BindingError(f"{source}: {text} is too large for float64")
    return value


def collect(bindings: list, var_words: list, vars_file: str | None) -> dict:
    """Merge --vars FILE.json, then -v NAME=VALUE and --NAME VALUE (the command line wins)."""
    values = {}
    if vars_file is not None:
        values.update(read_vars_file(vars_file))
    seen = {}
    pairs = list(bindings)
    for word in var_words:
        name, equals, text = word.partition("=")
        if not equals:
            raise UsageError(f"-v/--var takes NAME=VALUE, got {word!r}")
        pairs.append((name.strip(), text))
    for name, text in pairs:
        check_name(name, f"--{name}")
        if name in seen:
            raise BindingError(f"{name} is bound twice on the command line ({seen[name]} and {text}); "
                               "give each variable one value")
        seen[name] = text
        values[name] = parse_number(text, f"--{name}")
    return values


def check_name(name: str, source: str) -> None:
    if not NAME.match(name):
        raise BindingError(f"{source}: {name!r} is not a variable name (letters, digits, _; not starting "
                           "with a digit)")
    if name in RESERVED:
        raise BindingError(f"{source}: '{name}' is reserved (it names the output) and cannot be a variable")


def read_vars_file(path: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--vars {path}: cannot read it ({getattr(error, 'strerror', None) or error})")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise UsageError(f"--vars {path}: not valid JSON ({error})")
    if not isinstance(data, dict):
        raise UsageError(f"--vars {path}: expected a JSON object of name -> number")
    values = {}
    for name, value in data.items():
        check_name(name, f"--vars {path}")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise BindingError(f"--vars {path}: {name} must be a number, got {json.dumps(value)}")
        values[name] = parse_number(str(value), f"--vars {path}: {name}")
    return values
