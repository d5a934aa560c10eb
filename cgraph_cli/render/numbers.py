"""Numbers in machine documents. The number texts themselves are written by text.py."""

from cgraph_cli.text import human, json_number


def json_value(value):
    """A JSON-ready number or nested list of numbers (a tensor's inf/nan become strings), or None."""
    if value is None:
        return None
    if getattr(value, "shape", None) is not None and getattr(value, "ndim", 0) > 0:
        import numpy

        array = numpy.asarray(value, dtype=float)
        if numpy.isfinite(array).all():
            return array.tolist()
        return [json_value(item) for item in array]   # a row at a time: inf/nan become strings
    return json_number(float(value))


MATRIX_EDGE = 3   # beyond 2 x MATRIX_EDGE rows or columns, a matrix shows its first and last 3
VECTOR_ELEMENTS = 12   # a vector prints whole up to this many elements


def number_text(value, digits: int | None = None, full: bool = False) -> str:
    """A number for people (text.human); a tensor as NumPy prints it: a vector on one line, a
    matrix one row a line, its elements aligned ("\\n" between), every axis of more than 6 elements
    elided to its first and last 3 (a vector: beyond a dozen), unless `full`."""
    if not getattr(value, "ndim", 0):
        return human(value, digits, full)
    import numpy

    if full:
        threshold = 10**9
    else:
        threshold = VECTOR_ELEMENTS if value.ndim == 1 else 0
    widest = [0]

    def measure(element):
        text = human(float(element), digits)
        widest[0] = max(widest[0], len(text))
        return text

    def aligned(element):
        return human(float(element), digits).rjust(widest[0])

    for formatter in (measure, aligned) if value.ndim > 1 else (measure,):   # the shown elements only
        text = numpy.array2string(value, separator=", ", max_line_width=10**9, threshold=threshold,
                                  edgeitems=MATRIX_EDGE, formatter={"float_kind": formatter})
    if value.ndim == 1:
        return text
    return "\n".join(line.rstrip() for line in text.split("\n") if line.strip())
