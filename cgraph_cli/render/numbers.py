"""Numbers in machine documents. The number texts themselves are written by text.py."""

from cgraph_cli.text import json_number


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
