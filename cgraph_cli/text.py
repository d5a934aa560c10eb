"""How numbers and messages are written (layer 0: the standard library only; NumPy only when a
tensor is given). Numbers: 12 significant digits for people, the round-trip repr for machines."""

import math
import sys

HUMAN_DIGITS = 12


def is_fraction(value) -> bool:
    """An exact rational (--exact)? No value is a Fraction before the fractions module is loaded, so
    a float run never imports it (start-up time)."""
    fractions = sys.modules.get("fractions")
    return fractions is not None and isinstance(value, fractions.Fraction)


def human(value, digits: int | None = None, full: bool = False) -> str:
    """12 significant digits: the apple example prints 220, not 220.00000000000003.

    A tensor is printed like NumPy prints it, on one line, with its middle elided
    beyond a dozen elements unless `full`."""
    if value is None:
        return "—"
    if getattr(value, "ndim", 0):
        import numpy

        text = numpy.array2string(
            value, separator=", ", max_line_width=10**9, threshold=10**9 if full else 12, edgeitems=3,
            formatter={"float_kind": lambda element: human(float(element), digits)})
        return " ".join(text.split())   # one line: rows of a matrix too
    if is_fraction(value):
        return exact_human(value, digits)
    text = rounded(value, digits or HUMAN_DIGITS)
    return "0" if text == "-0" else text


def rounded(value: float, digits: int) -> str:
    """`value` to `digits` significant digits, rounding toward zero where rounding to nearest would
    pass float64's largest number (1.7976931348623157e308 to 5 digits is 1.7976e+308, not inf)."""
    text = f"{value:.{digits}g}"
    if math.isfinite(value) and math.isinf(float(text)):
        from decimal import ROUND_DOWN, Context, Decimal

        text = f"{Context(prec=digits, rounding=ROUND_DOWN).plus(Decimal(value)):g}"
    return text


def elements(name: str, value):
    """(`name[i,j]`, element) for every element of a tensor, indices from 0; (name, value) for a scalar."""
    if not getattr(value, "ndim", 0):
        yield name, value
        return
    import numpy

    for index in numpy.ndindex(value.shape):
        yield f"{name}[{','.join(map(str, index))}]", float(value[index])


def machine(value, precision: int | None = None) -> str:
    """The shortest text that reads back as the same float64 (or `precision` significant digits)."""
    if is_fraction(value):   # --exact: 11/5, or rounded to `precision` digits
        return exact_human(value, precision) if precision else exact_text(value)
    if not math.isfinite(value):
        return str(value)        # inf, -inf, nan
    text = rounded(value, precision) if precision else repr(value)
    return text[:-2] if text.endswith(".0") else text


def json_number(value, precision: int | None = None):
    """A JSON-ready number (nested lists for a tensor); JSON has no inf or nan, so those
    become the strings "inf", "-inf", "nan"."""
    if type(value) is float and not precision:   # the common case first
        return value if math.isfinite(value) else str(value)
    if value is None:
        return None
    if getattr(value, "ndim", 0):
        import numpy

        converted = [json_number(float(element), precision) for element in value.ravel()]
        return numpy.array(converted, dtype=object).reshape(value.shape).tolist()
    if is_fraction(value):   # --exact: an integer stays a JSON number, 11/5 is "11/5"
        if precision:   # a number when float64 holds it, else its text (1.6e+403)
            text = exact_human(value, precision)
            return float(text) if math.isfinite(float(text)) else text
        return value.numerator if value.denominator == 1 else exact_text(value)
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return float(rounded(value, precision)) if precision else value


def exact_text(value) -> str:
    """An exact rational (a Fraction, --exact) as `220` or `11/5`."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def exact_human(value, digits: int | None = None) -> str:
    """An exact rational (a Fraction) for people: `11/5` when short, else `digits` significant digits
    (computed with Decimal, so a rational beyond float64's range still prints)."""
    text = exact_text(value)
    if digits is None and len(text) <= 40:
        return text
    from decimal import Context, Decimal

    context = Context(prec=digits or HUMAN_DIGITS)
    rounded = context.divide(Decimal(value.numerator), Decimal(value.denominator))
    return f"{rounded:g}" if digits else "≈" + f"{rounded:g}"


# ----- messages -----


def short_text(text: str, width: int = 48) -> str:
    """Text on one line, cut in the middle when long (a million-term sum is one node's text)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    half = (width - 1) // 2
    return text[:half] + "…" + text[-(width - 1 - half):]


def cut_middle(text: str, width: int = 80) -> str:
    """Text as it is (newlines kept), with its middle replaced by … beyond `width` characters."""
    return text if len(text) <= width else text[:width // 2] + "…" + text[-width // 2:]


def names_list(names) -> str:
    """The names a message offers instead (`a, b`), or `none`."""
    return ", ".join(names) or "none"


def unknown_name(option: str, name: str, known, what: str = "variable") -> str:
    """The one wording for a name the formula lacks: `--wrt q: no variable q in the formula (it has: x, y)`."""
    return f"{option}: no {what} {name} in the formula (it has: {names_list(known)})"


class NotText(ValueError):
    """Bytes that are not UTF-8; `detail` reads `not UTF-8 text (byte 0xff at offset 3)`."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def decode_utf8(data: bytes, codec: str = "utf-8") -> str:
    """The text of UTF-8 bytes, else NotText saying which byte is wrong. `codec` "utf-8-sig" drops a
    byte-order mark (its error offsets then count from after the mark, as --points has always said)."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise NotText(f"not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})") from None


# ----- text from the input, shown safely and in bounded time -----

EXCERPT_SCAN = 64   # at most this many source characters per shown character are read from each end


def printable(text: str, keep: str = "") -> str:
    """Text with control and other unprintable characters (ESC, BEL, a bidi override, a lone
    surrogate) shown as Python escapes (`\\x1b`), as the parse errors show them; characters in
    `keep` (say "\\n") stay as they are. The input can then not drive the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in keep else repr(ch)[1:-1] for ch in text)


def excerpt(source: str, start: int, end: int, width: int = 48, escape: bool = True,
            prefix: str = "") -> str:
    """`short_text(prefix + source[start:end], width)`, reading only windows at the two ends of the
    span: a prefix node of a long sum spans most of the source, so slicing it for every node would
    take time quadratic in the input. Control characters escaped unless not `escape`."""
    size = 2 * width + 8
    limit = EXCERPT_SCAN * width
    while True:
        if end - start <= 2 * size:
            text = short_text(prefix + source[start:end], width)
            return printable(text) if escape else text
        head = " ".join((prefix + source[start:start + size]).split())
        tail = " ".join(source[end - size:end].split())
        if (len(head) > width and len(tail) > width) or size >= limit:
            break
        size *= 2
    half = (width - 1) // 2
    text = head[:half] + "…" + tail[-(width - 1 - half):]
    return printable(text) if escape else text


# ----- output streams that cannot encode every character -----

ASCII_FALLBACKS = {"…": "...", "—": "-", "–": "-", "×": "x", "↑": "^", "⚠": "!", "≈": "~", "→": "->",
                   "━": "-", "─": "-", "│": "|", "┃": "|", "·": ".", "≤": "<=", "≥": ">=", "−": "-",
                   "✓": "ok", "✗": "x", "∂": "d", "∞": "inf"}
ENCODE_ERRORS = "cgraph-fallback"


def _fallback(error):
    """A codec error handler: a character the stream's encoding lacks becomes its ASCII look-alike
    (… as ...), else a Python escape (\\u2192, and \\udcc1 for a lone surrogate from a command line)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start:error.end]
    return ("".join(ASCII_FALLBACKS.get(ch) or ch.encode("ascii", "backslashreplace").decode("ascii")
                    for ch in chunk), error.end)


def safe_output(*streams) -> None:
    """Make text streams write what their encoding lacks (a cp1252 or cp437 console; a lone
    surrogate, which not even UTF-8 can encode) through `_fallback` instead of raising."""
    import codecs

    try:
        codecs.lookup_error(ENCODE_ERRORS)
    except LookupError:
        codecs.register_error(ENCODE_ERRORS, _fallback)
    for stream in streams:
        if getattr(stream, "errors", None) in ("strict", "backslashreplace") and \
                hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors=ENCODE_ERRORS)
            except (ValueError, OSError):   # a stream that cannot be reconfigured keeps its handler
                pass
