"""Command-line words: which are options, which bind variables, which are the program; and the
program's text, from EXPR, -f FILE or standard input.

click would split an unknown `-token` into single-letter options, so `cgraph eval "-1/f^2" --f 2`
or `--x -inf` go wrong if click sees them. We split first:
- a word is one of our options only if it is exactly one of our spellings (or `--ours=...`);
- any other `--NAME` or `--NAME=V` binds a variable and takes the next word as it is, even when it
  starts with `-` (whether NAME is another command's option is decided later, with the formula);
- everything else is positional (so an expression may start with `-`); after `--`, all is.
Short options are never combined, except `-vNAME=VALUE`.
"""

import re
import sys
from typing import NamedTuple

from cgraph_cli.bindings import NAME, PROGRAM_LIMIT, read_data_file, read_limited
from cgraph_cli.errors import UsageError
from cgraph_cli.text import NotText, cut_middle, decode_utf8

NAME_VALUE = r"[A-Za-z_][A-Za-z0-9_]*=\S+\Z"   # a stray `x=3` word (the error path: compiled when met)


class SplitArgs(NamedTuple):
    options: list        # our options, each as one `--long=value` word (or a bare flag)
    bindings: list       # (name, text) from --NAME VALUE, in order; text None for a --NAME with no value
    positional: list


GLUED_VAR = re.compile(r"-v([A-Za-z_][A-Za-z0-9_]*=.*)\Z", re.DOTALL)


def split_args(words: list, value_options: dict, flag_options: dict, resilient: bool = False,
               misplaced=None) -> SplitArgs:
    """Split `words`; the option dicts map each spelling (e.g. "-f", "--file") to its long form.

    A `--NAME` with no word after it gets the text None: the command decides later whether it is a
    misplaced option of another command or a missing value.
    `resilient` (shell completion): an option missing its value is passed on for click to see.
    `misplaced(spelling)`: the message for another command's option that cannot be a variable's name
    (`--max-nodes`), or None."""
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
        elif "-v" in value_options and GLUED_VAR.match(word):   # -vNAME=VALUE
            options.append(f"{value_options['-v']}={word[2:]}")
        elif word in value_options:
            if i >= len(words):
                if resilient:
                    options.append(word)
                    break
                raise UsageError(f"option {word} needs a value")
            options.append(f"{value_options[word]}={words[i]}")
            i += 1
        elif word.startswith("--") and len(word) > 2:
            name = spelling[2:]
            if not NAME.match(name):
                message = misplaced(spelling) if misplaced else None
                if message:
                    raise UsageError(message)
                raise UsageError(f"no such option: {spelling}\n"
                                 "variables are bound as --NAME VALUE with NAME a formula's name")
            if has_value:
                bindings.append((name, inline))
            elif i >= len(words):
                bindings.append((name, None))
            else:
                bindings.append((name, words[i]))
                i += 1
        else:
            positional.append(word)
    return SplitArgs(options, bindings, positional)


def read_source(positional: list, file: str | None) -> str:
    """The program text: EXPR, -f FILE, or standard input (also EXPR '-')."""
    if len(positional) > 1:
        words = " ".join(positional)
        raise UsageError(f"expected one expression, got {len(positional)} words: {cut_middle(words, 200)}\n"
                         + _stray_words_advice(positional))
    if file is not None and positional:
        raise UsageError("give the expression either as EXPR or with -f FILE, not both")
    if file is not None and file != "-":
        try:
            data = read_data_file(file, PROGRAM_LIMIT, "a program", UsageError)
        except OSError as error:
            raise UsageError(f"cannot read {file}: {error.strerror or error}")
        return _decode(data, file)
    if positional and positional[0] != "-":
        if len(positional[0]) > PROGRAM_LIMIT:
            raise UsageError(f"the expression is larger than {PROGRAM_LIMIT >> 20:,} MiB, the limit for a program")
        return positional[0]
    stdin = sys.stdin
    if file is None and not positional and stdin.isatty():
        raise UsageError("no expression given: pass EXPR, -f FILE, or pipe it on standard input\n"
                         "example: cgraph eval \"(x+y)^2\" --x 1 --y 3")
    data = read_limited(getattr(stdin, "buffer", stdin), "standard input", PROGRAM_LIMIT, "a program", UsageError)
    return _decode(data, "standard input")


def _stray_words_advice(positional: list) -> str:
    """What the extra words most likely meant: bindings without their dashes, or an unquoted formula."""
    extra = positional[1:]
    if all(re.match(NAME_VALUE, word) for word in extra):
        pairs = [word.partition("=") for word in extra]
        options = " ".join(f"--{name} {value}" for name, _, value in pairs)
        words = " ".join(f"-v {word}" for word in extra)
        return f"did you mean {options} (or {words})?"
    if len(extra) % 2 == 0 and all(NAME.match(word) for word in extra[::2]):
        return "did you mean " + " ".join(f"--{name} {value}" for name, value in zip(extra[::2], extra[1::2])) + "?"
    return f"quote the formula: cgraph eval \"{cut_middle(' '.join(positional), 200)}\""


def _decode(data: bytes, where: str) -> str:
    try:
        return decode_utf8(data).removeprefix("\ufeff")   # an editor's byte-order mark is not text
    except NotText as error:
        raise UsageError(f"{where} is {error.detail}") from None
