"""The NumPy backend of the op table (`NUMPY`): float64 arrays of any rank (and floats beside them).

Imported only when a formula uses a tensor (a literal, an index, @, a reduction, a
softmax...) or a tensor is bound, so scalar runs never import NumPy. The rows in
ops/__init__.py are the same for every backend; this module supplies the functions they
call. Forward runs with every floating-point error raised (a domain error, a
division by zero or an overflow stops the run, as with floats); backward with
them silenced (an infinite slope becomes inf, and the engine warns).
"""

import contextlib
import math
import warnings
from types import SimpleNamespace

import numpy as np

from cgraph_cli.ops.backend import kink_message



def _power(base, exponent):
    return np.power(np.asarray(base, dtype=float), exponent)


def _power_slope(base, exponent):
    """d(base^exponent)/d(base) = exponent * base^(exponent-1); 0 where the exponent is 0."""
    base = np.asarray(base, dtype=float)
    return np.where(exponent == 0, 0.0, exponent * np.power(base, exponent - 1))


def _power_exponent_slope(out, base, exponent):
    """d(base^exponent)/d(exponent) = base^exponent * log(base); 0 at base 0 (y >= 0), nan below 0."""
    base = np.asarray(base, dtype=float)
    positive = base > 0
    log = np.log(np.where(positive, base, 1.0))
    return np.where(positive, out * log, np.where((base == 0) & (exponent >= 0), 0.0, np.nan))


def _quotient(numerator, denominator):
    return np.divide(numerator, denominator)


def _sigmoid(a):
    """1/(1+exp(-a)): accurate everywhere in float64; where exp(-a) overflows (a < -709) it is inf and
    the result the correct 0. Four passes over an array instead of the nine of a two-branch form."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(a, dtype=float)))


def _kink(at_kink, what, used, at=None):
    count = int(np.count_nonzero(at_kink))
    if not count:
        return None
    size = np.size(at_kink)
    if size == 1:
        return kink_message(True, what, used, at, lambda value: f"{float(np.asarray(value).ravel()[0]):.12g}")
    return f"{what} in {count} of {size} elements: {used}"


def _stack(*elements, axis=0):
    return np.stack([np.asarray(e, dtype=float) for e in elements], axis=axis)


def _unstack(g, count, axis):
    """The gradients of stack's elements: g's slices along the stacked axis."""
    return tuple(_tidy_value(np.take(g, i, axis=axis)) for i in range(count))


def _concatenate(*elements, axis=0):
    arrays = [np.asarray(e, dtype=float) for e in elements]
    if any(a.ndim == 0 for a in arrays):
        raise ValueError("concatenate joins arrays along an axis; a scalar has none (use stack)")
    return np.concatenate(arrays, axis=axis)


def _split(g, elements, axis):
    """The gradients of concatenate's elements: g cut at their sizes along the axis."""
    sizes = np.cumsum([np.shape(e)[axis] for e in elements])[:-1]
    return tuple(np.split(np.asarray(g, dtype=float), sizes, axis=axis))


def _key(key, indices):
    """The NumPy key of an index node: its constant subscripts, each None replaced by the next
    input (an integer-valued float scalar or tensor; anything else is an IndexError, which the
    engine reports as an evaluation error naming the node)."""
    if not indices:
        return key
    supplied = iter(indices)
    return tuple(_integers(next(supplied)) if part is None else part for part in key)


def _integers(value):
    """An index supplied by an input, as NumPy's integers: a float64 value must be integral."""
    array = np.asarray(value, dtype=float)
    integral = array == np.round(array)
    if not np.all(integral):
        raise IndexError(f"index {float(array[~integral].ravel()[0]):.12g} is not an integer")
    if np.any(np.abs(array) >= 2.0 ** 62):
        raise IndexError(f"index {float(array[np.abs(array) >= 2.0 ** 62].ravel()[0]):.12g} is out of range")
    return int(array) if array.ndim == 0 else array.astype(np.intp)


def _index(a, *indices, key):
    result = np.asarray(a)[_key(key, indices)]
    return float(result) if np.ndim(result) == 0 else result


def _scatter(g, a, key, indices=()):
    """The gradients of a[key]: g added where the indexed elements came from (np.add.at, so a
    repeated index accumulates), exactly 0 elsewhere whatever g holds; 0 for the indices."""
    grad = np.zeros(np.shape(a))
    np.add.at(grad, _key(key, indices), g)
    return (grad,) + tuple(_tidy_value(np.zeros(np.shape(i))) for i in indices)


MAX_ELEMENTS = 10 ** 8   # a constructor refuses more (800 MB of float64)


def _shape(shape, what: str) -> tuple:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(size < 0 for size in shape):
        raise ValueError(f"{what} needs sizes of 0 or more, got {shape}")
    _refuse_size(math.prod(shape), what)
    return shape


def _refuse_size(count, what: str) -> None:
    if count > MAX_ELEMENTS:
        shown = f"{count:.3g}" if isinstance(count, float) else f"{count:,}"
        raise ValueError(f"{what} would have {shown} elements; cgraph refuses more than 10^8")


def _zeros(shape):
    return np.zeros(_shape(shape, "zeros"))


def _ones(shape):
    return np.ones(_shape(shape, "ones"))


def _full(shape, fill_value):
    return np.full(_shape(shape, "full"), float(fill_value))


def _eye(n):
    if n < 0:
        raise ValueError(f"eye needs n of 0 or more, got {n}")
    _refuse_size(n * n, "eye")
    return np.eye(n)


def _arange(start=None, stop=None, step=1):
    """NumPy's arange: arange(stop) counts from 0, arange(start, stop, step)."""
    if stop is None:
        start, stop = 0, start
    start = 0 if start is None else start
    if stop is None:
        raise ValueError("arange needs stop: arange(stop) or arange(start, stop, step)")
    if step == 0:
        raise ValueError("arange's step must not be 0")
    _refuse_size(max(0.0, math.ceil((stop - start) / step)), "arange")
    return np.arange(start, stop, step, dtype=float)


def _tidy_value(value):
    return float(value) if np.ndim(value) == 0 else value


def _matmul(a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        raise ValueError("matmul needs arrays, not scalars (use * to scale)")
    result = np.matmul(a, b)
    return float(result) if np.ndim(result) == 0 else result


def _matmul_grads(g, a, b):
    """NumPy's matmul rules, with a vector promoted to a matrix and back."""
    a, b, g = np.asarray(a, dtype=float), np.asarray(b, dtype=float), np.asarray(g, dtype=float)
    if a.ndim == 1 and b.ndim == 1:   # an inner product
        return g * b, g * a
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    grad_a = np.matmul(g2, np.swapaxes(b2, -1, -2))
    grad_b = np.matmul(np.swapaxes(a2, -1, -2), g2)
    if a.ndim == 1:
        grad_a = np.squeeze(grad_a, -2)
    if b.ndim == 1:
        grad_b = np.squeeze(grad_b, -1)
    return grad_a, grad_b   # batch axes broadcast in matmul are summed back by the engine


def _dot(a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        result = np.multiply(a, b)
        return float(result) if np.ndim(result) == 0 else result
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise ValueError("dot of arrays of rank 3 or more: use @ (matmul) instead")
    return _matmul(a, b)


def _dot_grads(g, a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return g * b, g * a
    return _matmul_grads(g, a, b)


def _reduction(function):
    """A reduction over `axis`; a formula's scalar has no axis to reduce over (NumPy would allow
    axis=0). The rules' own sums with keepdims=True (softmax's) pass a scalar through."""
    def reduce(a, axis=None, **kwargs):
        if axis is not None and np.ndim(a) == 0 and not kwargs.get("keepdims"):
            raise ValueError(f"axis {axis} is out of bounds for a scalar")
        result = function(a, axis=axis, **kwargs)
        return float(result) if np.ndim(result) == 0 else result
    return reduce


_sum, _mean, _amax = _reduction(np.sum), _reduction(np.mean), _reduction(np.max)


def _spread(g, a, axis):
    """An upstream gradient of a reduction over `axis`, copied back over the reduced axis."""
    if axis is not None:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(a)).astype(float)


def _count(a, axis):
    return np.size(a) if axis is None else np.shape(a)[axis]


def _argmax_share(out, a, axis):
    """Each element's share of max's gradient: 1 for the unique maximum, 1/k in a k-way tie, else 0."""
    winners = np.asarray(a) == (out if axis is None else np.expand_dims(out, axis))
    return winners / np.sum(winners, axis=axis, keepdims=True)


def _ties(out, a, axis):
    """Elements sharing the maximum with another (where max's gradient is split)."""
    share = _argmax_share(out, a, axis)
    return (share > 0) & (share < 1)


def _softmax(a, axis=-1):
    shifted = np.asarray(a, dtype=float) - np.max(a, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(a, axis=-1):
    shifted = np.asarray(a, dtype=float) - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _batch(y):
    """N in the mean over a batch: the rows of a matrix, 1 for a vector."""
    return np.shape(y)[0] if np.ndim(y) >= 2 else 1


def _cross_entropy(y, t):
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    if y.shape != t.shape:
        raise ValueError(f"cross_entropy needs y and t of one shape, got {y.shape} and {t.shape}")
    if np.any((y <= 0) & (t != 0)):
        raise FloatingPointError("log of a non-positive probability")
    terms = np.where(t != 0, t * np.log(np.where(t != 0, y, 1.0)), 0.0)
    return float(-np.sum(terms) / _batch(y))


def _softmax_cross_entropy(a, t):
    a, t = np.asarray(a, dtype=float), np.asarray(t, dtype=float)
    if a.shape != t.shape:
        raise ValueError(f"softmax_cross_entropy needs a and t of one shape, got {a.shape} and {t.shape}")
    return float(-np.sum(t * _log_softmax(a)) / _batch(a))


def _tidy(function):
    """A NumPy function whose 0-d results become Python floats (a scalar stays a scalar)."""
    def tidied(*args, **kwargs):
        result = function(*args, **kwargs)
        return float(result) if np.ndim(result) == 0 else result
    return tidied


@contextlib.contextmanager
def _forward_guard():
    """Floating-point errors raise (underflow to 0 is fine, as with floats); NumPy's RuntimeWarnings
    (the mean of an empty slice) stay quiet: the error that follows them is the user's one message."""
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def unbroadcast(grad, value):
    """Sum a gradient back to its input's shape (NumPy broadcasting in reverse).

    Returns (gradient, axes summed over, in the gradient's numbering, or None)."""
    shape, grad_shape = np.shape(value), np.shape(grad)
    if shape == grad_shape:
        return (float(grad) if not shape else grad), None
    leading = len(grad_shape) - len(shape)
    axes = tuple(range(leading)) + tuple(
        leading + i for i, size in enumerate(shape) if size == 1 and grad_shape[leading + i] != 1)
    summed = np.sum(grad, axis=axes, keepdims=True).reshape(shape) if axes else np.reshape(grad, shape)
    if not shape:
        summed = float(summed)
    return summed, list(axes)


_ELEMENTWISE = dict(
    divide=np.divide, power=_power, exp=np.exp, log=np.log, log2=np.log2, log10=np.log10,
    sqrt=np.sqrt, sin=np.sin, cos=np.cos, tan=np.tan, tanh=np.tanh, sinh=np.sinh, cosh=np.cosh,
    sigmoid=_sigmoid,
    relu=lambda a: np.maximum(a, 0.0), abs=np.abs, sign=np.sign, maximum=np.maximum,
    minimum=np.minimum,
    less=lambda a, b: np.less(a, b).astype(float), less_equal=lambda a, b: np.less_equal(a, b).astype(float),
    greater=lambda a, b: np.greater(a, b).astype(float),
    greater_equal=lambda a, b: np.greater_equal(a, b).astype(float),
    equal=lambda a, b: np.equal(a, b).astype(float), not_equal=lambda a, b: np.not_equal(a, b).astype(float),
)

NUMPY = SimpleNamespace(
    name="arrays (ops/arrays.py)",
    **{name: _tidy(function) for name, function in _ELEMENTWISE.items()},
    power_slope=_power_slope, power_exponent_slope=_power_exponent_slope, quotient=_quotient,
    LN2=math.log(2.0), LN10=math.log(10.0), kink=_kink, ties=_ties,
    stack=_stack, index=_index, scatter=_scatter, unstack=_unstack, concatenate=_concatenate, split=_split,
    zeros=_zeros, ones=_ones, full=_full, eye=_eye, arange=_arange, matmul=_matmul, matmul_grads=_matmul_grads,
    dot=_dot, dot_grads=_dot_grads, transpose=_tidy(np.transpose), sum=_sum, mean=_mean, amax=_amax,
    spread=_spread, count=_count, argmax_share=_argmax_share, softmax=_tidy(_softmax),
    log_softmax=_tidy(_log_softmax), cross_entropy=_cross_entropy,
    softmax_cross_entropy=_softmax_cross_entropy, batch=_batch,
    forward_guard=lambda: _forward_guard(),
    backward_guard=lambda: np.errstate(all="ignore"),
    unbroadcast=unbroadcast,
)

