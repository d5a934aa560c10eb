"""How numbers are written: 12 significant digits for people, round-trip repr for machines."""

import math

HUMAN_DIGITS = 12


def human(value, digits: int | None = None) -> str:
    """12 significant digits: the apple example prints 220, not 220.00000000000003."""
    if value is None:
        return "—"
    text = f"{value:.{digits or HUMAN_DIGITS}g}"
    return "0" if text == "-0" else text


def machine(value, precision: int | None = None) -> str:
    """The shortest text that reads back as the same float64 (or `precision` significant digits)."""
    if not math.isfinite(value):
        return str(value)        # inf, -inf, nan
    text = f"{value:.{precision}g}" if precision else repr(value)
    return text[:-2] if text.endswith(".0") else text


def json_number(value, precision: int | None = None):
    """A JSON-ready number; JSON has no inf or nan, so those become the strings "inf", "-inf", "nan"."""
    if value is None:
        return None
    if not math.isfinite(value):
        return str(value)
    return float(f"{value:.{precision}g}") if precision else value


def short_text(text: str, width: int = 48) -> str:
    """Source text on one line, cut in the middle when long (a million-term sum is one node's text)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    half = (width - 1) // 2
    return text[:half] + "…" + text[-(width - 1 - half):]
