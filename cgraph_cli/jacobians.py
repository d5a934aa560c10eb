"""The Jacobian of a formula's output with respect to chosen variables (`cgraph jacobian`).

For each variable x the array J[x] of shape output.shape + x.shape, J[x][i + j] = d value[i] / d x[j].
Two ways to fill it, over the one forward evaluation:

    reverse: one backward pass per element i of the output, seeded with the one-hot e_i
             (engine.backward): it gives row i for every variable at once;
    forward: one tangent pass per element j of the chosen variables, seeded with the one-hot e_j
             in that variable and 0 in the others (engine.forward_tangents): it gives column j.

`auto` takes whichever needs fewer passes; a tie goes to reverse. A scalar output is one reverse
pass: the Jacobian is then the gradient. Scalar formulas stay on Python floats (no NumPy); --exact
computes with the rationals of exact.py (scalar formulas only).
"""

import math
from typing import NamedTuple

from fractions import Fraction

from cgraph_cli.engine import backward, forward, forward_tangents, gradient_warnings
from cgraph_cli.errors import EvalError
from cgraph_cli.ops import exact_table, table_for

MODES = ("auto", "reverse", "forward")
MAX_ELEMENTS = 10**7   # the Jacobian's elements, all variables together (80 MB of float64)


class Jacobian(NamedTuple):
    value: object          # the output's value
    names: list            # the chosen variables, in order
    jacobians: dict        # name -> output.shape + variable.shape (a number when both are scalars)
    mode: str              # "reverse" or "forward": how it was computed
    passes: int            # how many backward (reverse) or tangent (forward) passes that took
    other_passes: int      # how many the other mode would have taken
    output_shape: tuple
    shapes: dict           # name -> the variable's shape
    bindings: dict         # the point (for the renderers' title)
    warnings: list = []    # --exact-auto's notes; where a local derivative is not finite


def shape_of(value) -> tuple:
    return tuple(getattr(value, "shape", ()))


def size_of(shape: tuple) -> int:
    return math.prod(shape)


def pass_counts(output_shape: tuple, shapes: list) -> dict:
    """How many passes each mode needs: one per output element, or one per variable element."""
    return {"reverse": size_of(output_shape), "forward": sum(map(size_of, shapes))}


def choose(counts: dict, mode: str = "auto") -> str:
    """The mode asked for, or under `auto` the one with fewer passes (a tie: reverse)."""
    if mode != "auto":
        return mode
    return "reverse" if counts["reverse"] <= counts["forward"] else "forward"


def jacobian(graph, bindings: dict, names: list, mode: str = "auto", exact: str | None = None,
             check=None) -> Jacobian:
    """The Jacobian of the output with respect to each of `names` (variables that carry a gradient),
    at `bindings`. `exact`: None, or "strict"/"auto" for exact.evaluate (rational bindings).
    `check(output_shape, shapes)`: called once the shapes are known, before any pass."""
    evaluation = None
    if exact:
        from cgraph_cli import exact as exact_arithmetic

        evaluation = exact_arithmetic.evaluate(graph, bindings, auto=exact == "auto")
        ops, values = exact_table(), evaluation.values
    else:
        ops = table_for(graph, bindings)
        values = forward(graph, bindings, ops)
    output = values[graph.output]
    output_shape = shape_of(output)
    shapes = {name: shape_of(values[graph.variables[name]]) for name in names}
    if check is not None:
        check(output_shape, shapes)
    counts = pass_counts(output_shape, list(shapes.values()))
    total = size_of(output_shape) * counts["forward"]
    if total > MAX_ELEMENTS:
        raise EvalError(f"the Jacobian would have {total:,} elements (more than {MAX_ELEMENTS:,}): "
                        "choose fewer variables with --wrt")
    chosen = choose(counts, mode)
    tensors = bool(output_shape) or any(shapes.values())
    if chosen == "reverse":
        jacobians = _reverse(graph, values, names, output_shape, shapes, ops, evaluation)
    else:
        jacobians = _forward(graph, values, names, output_shape, shapes, ops, tensors, bool(exact))
    other = "forward" if chosen == "reverse" else "reverse"
    warnings = list(evaluation.warnings) if evaluation is not None else []
    if not exact and not all(_finite(jacobians[name]) for name in names):
        seed = 1.0 if not output_shape else _ones(output)   # one more backward pass, to name the node
        warnings += gradient_warnings(graph, values, backward(graph, values, seed, ops), ops)
    return Jacobian(output, list(names), jacobians, chosen, counts[chosen], counts[other], output_shape,
                    shapes, bindings, warnings)


def _finite(value) -> bool:
    if not getattr(value, "shape", ()):
        return math.isfinite(value)
    import numpy

    return bool(numpy.isfinite(value).all())


def _ones(value):
    import numpy

    return numpy.ones_like(value, dtype=float)


def _reverse(graph, values, names, output_shape, shapes, ops, evaluation) -> dict:
    """One backward pass per output element i, seeded with e_i: row i of every variable's Jacobian."""
    ids = [graph.variables[name] for name in names]
    if not output_shape:   # a scalar output: one pass, the gradient
        grads = evaluation.grads if evaluation is not None else backward(graph, values, 1.0, ops)
        return {name: grads[i] for name, i in zip(names, ids)}
    import numpy

    jacobians = {name: numpy.zeros(output_shape + shapes[name]) for name in names}
    for index in numpy.ndindex(output_shape):
        seed = numpy.zeros(output_shape)
        seed[index] = 1.0
        grads = backward(graph, values, seed, ops)
        for name, i in zip(names, ids):
            jacobians[name][index] = grads[i]
    return jacobians


def _forward(graph, values, names, output_shape, shapes, ops, tensors, exact) -> dict:
    """One tangent pass per element j of each variable, seeded with e_j there (0 elsewhere): column j."""
    output = graph.output
    if not tensors:   # scalars: one pass per variable, on floats (or rationals)
        one, zero = (Fraction(1), Fraction(0)) if exact else (1.0, 0.0)
        tangents = (forward_tangents(graph, values, {name: one}, ops)[output] for name in names)
        return {name: zero if t == 0 else t for name, t in zip(names, tangents)}
    import numpy

    jacobians = {}
    for name in names:
        shape = shapes[name]
        result = numpy.zeros(output_shape + shape)
        for index in numpy.ndindex(shape):
            if shape:
                seed = numpy.zeros(shape)
                seed[index] = 1.0
            else:
                seed = 1.0
            tangent = forward_tangents(graph, values, {name: seed}, ops)[output]
            result[(Ellipsis,) + index] = numpy.broadcast_to(tangent, output_shape)
        jacobians[name] = result
    return jacobians

