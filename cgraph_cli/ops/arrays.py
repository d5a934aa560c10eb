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


# ----- shapes -----

def _like(g, a):
    """g reshaped to a's shape (the gradient of every op that only moves elements around)."""
    result = np.reshape(g, np.shape(a))
    return float(result) if np.ndim(result) == 0 else result


def _reshape(a, shape=None):
    if shape is None:
        raise ValueError("reshape needs shape= (an integer, -1 for every element, or a tuple)")
    return _tidy(np.reshape)(a, shape)


def _unsqueeze(a, axis=None):
    if axis is None:
        raise ValueError("unsqueeze needs axis= (where the new axis of length 1 goes)")
    return np.expand_dims(a, axis)


def _untranspose(g, axes):
    """The gradient of transpose(a, axes): g transposed back by the inverse permutation."""
    return _tidy(np.transpose)(g, None if axes is None else np.argsort(_axes(axes, np.ndim(g))))


# ----- reductions: over all elements (axis None), an axis or a tuple of axes; keepdims keeps them -----

def _axes(axis, ndim: int) -> tuple:
    """The reduced axes, numbered from 0 (every axis for None), checked as NumPy checks them."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(ax, ndim)
    axes = tuple(ax % ndim for ax in axes)
    if len(set(axes)) != len(axes):
        raise ValueError("an axis is repeated in axis=")
    return axes


def _refuse_axis_of_scalar(a, axis) -> None:
    """A formula's scalar has no axis (NumPy would allow axis=0 on a 0-d array)."""
    if axis is not None and np.ndim(a) == 0:
        raise ValueError(f"axis {axis} is out of bounds for a scalar")


def _reduction(function):
    """A reduction over `axis`; a formula's scalar has no axis to reduce over (NumPy would allow
    axis=0). The rules' own sums with keepdims=True (softmax's) pass a scalar through."""
    def reduce(a, axis=None, keepdims=False, **kwargs):
        if not keepdims:
            _refuse_axis_of_scalar(a, axis)
        result = function(a, axis=axis, keepdims=bool(keepdims), **kwargs)
        return float(result) if np.ndim(result) == 0 else result
    return reduce


def _kept(value, axis, keepdims):
    """A reduction's result (or its gradient) with the reduced axes back, of length 1, so that it
    broadcasts against the input."""
    return value if keepdims or axis is None else np.expand_dims(value, axis)


def _dropped(kept, axis, keepdims):
    """The inverse of _kept: a result computed with keepdims=True, shaped as asked."""
    if keepdims:
        return kept
    return float(np.reshape(kept, ())) if axis is None else _tidy(np.squeeze)(kept, axis)


def _spread(g, a, axis, keepdims=False):
    """An upstream gradient of a reduction over `axis`, copied back over the reduced axes."""
    return np.broadcast_to(_kept(g, axis, keepdims), np.shape(a)).astype(float)


def _count(a, axis):
    """The number of elements each result of a reduction over `axis` reduces."""
    shape = np.shape(a)
    return math.prod(shape[ax] for ax in _axes(axis, len(shape)))


def _to_last(a, axis):
    """a with the reduced axes moved last and flattened into one: (kept axes..., reduced elements),
    and the function putting an array of that shape back into a's layout."""
    a = np.asarray(a, dtype=float)
    axes = _axes(axis, a.ndim)
    order = tuple(ax for ax in range(a.ndim) if ax not in axes) + axes
    moved = np.transpose(a, order)
    kept_shape = moved.shape[:a.ndim - len(axes)]

    def back(flat):
        return np.transpose(np.reshape(flat, moved.shape), np.argsort(order))
    return np.reshape(moved, kept_shape + (math.prod(moved.shape[len(kept_shape):]),)), back


def _route(g, out, a, axis, keepdims):
    """max's and min's gradient: g to the selected elements, split evenly between k tied ones, and
    exactly 0 to every other element, even where g is inf or nan (a selection routes g)."""
    winners = np.asarray(a) == _kept(out, axis, keepdims)
    k = np.sum(winners, axis=axis, keepdims=True)
    return np.where(winners, _kept(g, axis, keepdims) / k, 0.0)


def _ties(out, a, axis, keepdims=False):
    """Elements sharing the maximum (or minimum) with another (where the gradient is split)."""
    winners = np.asarray(a) == _kept(out, axis, keepdims)
    return winners & (np.sum(winners, axis=axis, keepdims=True) > 1)


def _prod_grad(g, a, axis, keepdims):
    """d prod / d a_i = the product of the other elements, as exclusive products from both sides:
    right where elements are 0 (out / a_i is not)."""
    flat, back = _to_last(a, axis)
    if not flat.shape[-1]:   # the product of no elements (1) has no element to send a gradient to
        return np.zeros(np.shape(a))
    ones = np.ones(flat.shape[:-1] + (1,))
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return _spread(g, a, axis, keepdims) * back(before * after)


def _deviations(a, axis):
    """a - mean(a) over the axes; exactly 0 in a slice of equal elements (whose float mean may differ
    from them in the last bit), so that zero variance is exactly 0."""
    a = np.asarray(a, dtype=float)
    equal = np.max(a, axis=axis, keepdims=True) == np.min(a, axis=axis, keepdims=True)
    return np.where(equal, 0.0, a - np.mean(a, axis=axis, keepdims=True))


def _degrees(a, axis, ddof):
    n = _count(a, axis)
    if n - ddof <= 0:
        raise ValueError(f"ddof={ddof} leaves no degrees of freedom in {n} element{'s' * (n != 1)}")
    return n - ddof


def _var(a, axis=None, ddof=0, keepdims=False):
    degrees = _degrees(a, axis, ddof)   # (the axes checked first)
    d = _deviations(a, axis)
    return _dropped(np.sum(d * d, axis=axis, keepdims=True) / degrees, axis, keepdims)


def _var_grad(g, a, axis, ddof, keepdims):
    return _spread(g, a, axis, keepdims) * (2 * _deviations(a, axis) / _degrees(a, axis, ddof))


def _std(a, axis=None, ddof=0, keepdims=False):
    return _tidy(np.sqrt)(_var(a, axis, ddof, keepdims))


def _std_grad(g, out, a, axis, ddof, keepdims):
    """spread(g / out) * (a - mean) / (n - ddof), and 0 where the std is 0 (the minimum-norm subgradient)."""
    return _over(g, out, _deviations(a, axis) / _degrees(a, axis, ddof), axis, keepdims)


def _over(g, out, numerator, axis, keepdims):
    """spread(g) * numerator / spread(out), and exactly 0 where out is 0 (norm's and std's
    subgradient); numerator / out first, so that a subnormal out does not overflow 1 / out."""
    out = _kept(out, axis, keepdims)
    zero = out == 0
    ratio = numerator / np.where(zero, 1.0, out)
    return np.where(zero, 0.0, _kept(g, axis, keepdims) * ratio)


def _norm(a, ord=2, axis=None, keepdims=False):
    """The vector norm of the elements over the axes (as torch.linalg.vector_norm): ord 2 (scaled by the
    largest |a|, so that squares neither overflow nor underflow) or 1."""
    _axes(axis, np.ndim(a))   # checked as NumPy checks them
    magnitude = np.abs(np.asarray(a, dtype=float))
    if ord == 1:
        return _dropped(np.sum(magnitude, axis=axis, keepdims=True), axis, keepdims)
    if ord != 2:
        raise ValueError(f"norm takes ord=1 or ord=2 (the default), not ord={ord}")
    largest = np.max(magnitude, axis=axis, keepdims=True, initial=0.0)
    scale = np.where(largest == 0, 1.0, largest)
    return _dropped(largest * np.sqrt(np.sum((magnitude / scale) ** 2, axis=axis, keepdims=True)), axis, keepdims)


def _norm_grad(g, out, a, ord, axis, keepdims):
    """ord 2: spread(g / out) * a, 0 where the norm is 0; ord 1: spread(g) * sign(a) (0 at a 0)."""
    if ord == 1:
        return _spread(g, a, axis, keepdims) * np.sign(a)
    return _over(g, out, np.asarray(a, dtype=float), axis, keepdims)


def _norm_kinks(out, a, ord):
    """Where norm's gradient is the subgradient 0: a norm of 0 (ord 2), an element 0 (ord 1)."""
    return np.asarray(a) == 0 if ord == 1 else np.asarray(out) == 0


def _logsumexp(a, axis=None, keepdims=False):
    _axes(axis, np.ndim(a))   # checked as NumPy checks them
    a = np.asarray(a, dtype=float)
    largest = np.max(a, axis=axis, keepdims=True)
    return _dropped(largest + np.log(np.sum(np.exp(a - largest), axis=axis, keepdims=True)), axis, keepdims)


def _logsumexp_grad(g, out, a, axis, keepdims):
    """spread(g) * softmax(a) over the axes, written exp(a - spread(out))."""
    return _spread(g, a, axis, keepdims) * np.exp(np.asarray(a, dtype=float) - _kept(out, axis, keepdims))


def _cumsum(a, axis=None):
    _refuse_axis_of_scalar(a, axis)
    return np.cumsum(a, axis=axis, dtype=float)


def _cumsum_grad(g, a, axis):
    """The sums of g from each position to the end (along the axis; of the flattened a for None)."""
    if axis is None:
        return _like(np.cumsum(np.ravel(g)[::-1])[::-1], a)
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def _trace(a):
    if np.ndim(a) != 2:
        raise ValueError(f"trace needs a matrix, not an array of rank {np.ndim(a)}")
    return float(np.trace(a))


def _trace_grad(g, a):
    return g * np.eye(*np.shape(a))


def _diag(a, k=0):
    """NumPy's diag: a vector's matrix (the vector on the k-th diagonal) or a matrix's k-th diagonal."""
    if np.ndim(a) not in (1, 2):
        raise ValueError(f"diag needs a vector or a matrix, not an array of rank {np.ndim(a)}")
    return np.diag(np.asarray(a, dtype=float), k)


def _diag_grad(g, a, k):
    """diag(g, k): the k-th diagonal of g for a vector; for a matrix, g on a's k-th diagonal."""
    if np.ndim(a) == 1:
        return np.diag(g, k)
    grad = np.zeros(np.shape(a))
    positions = np.arange(len(g))
    grad[positions + max(-k, 0), positions + max(k, 0)] = g
    return grad


def _arg(function):
    """argmax/argmin as float64 indices: with a tuple of axes, the index in the reduced block
    (flattened in row-major order, as axis None flattens everything)."""
    def arg(a, axis=None, keepdims=False):
        _refuse_axis_of_scalar(a, axis)
        flat, _ = _to_last(a, axis)
        result = function(flat, axis=-1).astype(float)
        if keepdims:
            result = np.reshape(result, [1 if ax in _axes(axis, np.ndim(a)) else size
                                         for ax, size in enumerate(np.shape(a))])
        return float(result) if np.ndim(result) == 0 else result
    return arg


# ----- losses -----

def _class_indices(t, classes, name: str):
    """Class labels t as one-hot rows over `classes` along a new last axis (None: the largest label
    + 1, as PyTorch's one_hot), each label checked: an integer in range, else an IndexError naming
    the label (NumPy's error for a bad index; the engine adds the node)."""
    t = np.asarray(t, dtype=float)
    if classes is not None and classes < 1:
        raise ValueError(f"one_hot needs num_classes of 1 or more, got {classes}")
    bad = (t != np.floor(t)) | (t < 0) | (t >= (math.inf if classes is None else classes))
    if np.any(bad):
        where = tuple(np.argwhere(bad)[0])
        at = f" ({name}[{', '.join(map(str, where))}])" if t.ndim else ""
        wanted = "a non-negative integer" if classes is None else f"an integer from 0 to {classes - 1}"
        raise IndexError(f"class index {t[where]:.12g}{at} is not {wanted}")
    if classes is None:
        classes = int(np.max(t, initial=-1)) + 1
    _refuse_size(t.size * classes, "one_hot")
    return (t[..., np.newaxis] == np.arange(classes)).astype(float)


def _one_hot(t, num_classes=None):
    """PyTorch's one_hot: rows of C zeros with a 1 at each label (C = the largest label + 1 by default)."""
    return _class_indices(t, num_classes, "t")


def _targets(a, t, name: str, indices_only: bool = False):
    """(targets of a's shape, whether t held class indices): t of a's shape is used as it is; t with
    one axis fewer holds class indices along a's last axis (a scalar for a vector a), as PyTorch's.
    Other shapes are an IndexError too (the engine's message for a ValueError between two arrays
    would say "shape mismatch", which is not what is wrong when the shapes are equal)."""
    a_shape, t_shape = np.shape(a), np.shape(t)
    if len(t_shape) == len(a_shape) - 1 and t_shape == a_shape[:-1]:
        return _class_indices(t, a_shape[-1], "t"), True
    if t_shape == a_shape and not indices_only:
        return np.asarray(t, dtype=float), False
    wanted = ([] if indices_only else [f"targets t of shape {a_shape}"]) + (
        [f"class indices t of shape {a_shape[:-1]}"] if a_shape else [])
    if not wanted:
        raise IndexError(f"{name} needs predictions with an axis of classes, not a scalar")
    raise IndexError(f"{name} needs {' or '.join(wanted)}, got t of shape {t_shape}")


def _no_target_gradient(t):
    return 0.0 if np.ndim(t) == 0 else np.zeros(np.shape(t))


def _batch(y):
    """N in the mean over a batch: the rows of a matrix, 1 for a vector."""
    return np.shape(y)[0] if np.ndim(y) >= 2 else 1


def _cross_entropy(y, t):
    y = np.asarray(y, dtype=float)
    t, _ = _targets(y, t, "cross_entropy")
    if np.any((y <= 0) & (t != 0)):
        raise FloatingPointError("log of a non-positive probability")
    terms = np.where(t != 0, t * np.log(np.where(t != 0, y, 1.0)), 0.0)
    return float(-np.sum(terms) / _batch(y))


def _cross_entropy_grads(g, y, t):
    """(-g t / (N y), -g log(y) / N); class indices: t one-hot, and no gradient to t."""
    dense, indices = _targets(y, t, "cross_entropy")
    n = _batch(y)
    grad_y = -g * np.divide(dense, y) / n
    return grad_y, (_no_target_gradient(t) if indices else -g * np.log(y) / n)


def _softmax_cross_entropy(a, t):
    a = np.asarray(a, dtype=float)
    t, _ = _targets(a, t, "softmax_cross_entropy")
    return float(-np.sum(t * _log_softmax(a)) / _batch(a))


def _softmax_cross_entropy_grads(g, a, t):
    """((softmax(a)·Σt - t) g / N, -g log_softmax(a) / N); class indices: Σt = 1, no gradient to t."""
    dense, indices = _targets(a, t, "softmax_cross_entropy")
    n = _batch(a)
    grad_a = g * (_softmax(a) * np.sum(dense, axis=-1, keepdims=True) - dense) / n
    return grad_a, (_no_target_gradient(t) if indices else -g * _log_softmax(a) / n)


def _nll(logp, t):
    """PyTorch's nll_loss: the mean over the batch of -logp at each row's class index."""
    dense, _ = _targets(logp, t, "nll", indices_only=True)
    return float(-np.sum(dense * logp) / _batch(logp))


def _nll_grads(g, logp, t):
    dense, _ = _targets(logp, t, "nll", indices_only=True)
    return -g * dense / _batch(logp), _no_target_gradient(t)


def _mse(y, t):
    """The mean of (y - t)^2 over every element (PyTorch's MSELoss; t broadcasts)."""
    d = np.subtract(y, t, dtype=float)
    return float(np.mean(d * d))   # of no elements: an error, as mean's


def _mse_grads(g, y, t):
    d = np.subtract(y, t, dtype=float)
    grad = 2 * g * d / d.size
    return grad, -grad


_BCE_LOG_FLOOR, _BCE_SLOPE_FLOOR = -100.0, 1e-12   # PyTorch's clamp of log, and of p(1-p) in the slope


def _bce_logs(p):
    p = np.asarray(p, dtype=float)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise FloatingPointError("a probability outside [0, 1]")
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), _BCE_LOG_FLOOR), np.maximum(np.log1p(-p), _BCE_LOG_FLOOR)


def _binary_cross_entropy(p, t):
    """PyTorch's binary_cross_entropy: -mean(t log p + (1-t) log(1-p)), each log clamped at -100."""
    if np.shape(p) != np.shape(t):
        raise ValueError(f"binary_cross_entropy needs p and t of one shape, got {np.shape(p)} and {np.shape(t)}")
    if not np.size(p):
        raise ZeroDivisionError("the mean of no elements is undefined")
    log_p, log_q = _bce_logs(p)
    return float(-np.mean(t * log_p + (1 - np.asarray(t, dtype=float)) * log_q)) + 0.0   # never -0


def _binary_cross_entropy_grads(g, p, t):
    """PyTorch's: g (p - t) / max(p (1-p), 1e-12) / n for p; g (log(1-p) - log(p)) / n for t, the
    clamped logs (the derivative of the clamped value: PyTorch's -logit(p) differs only within
    e^-100 of 0 and 1)."""
    p = np.asarray(p, dtype=float)
    n = p.size
    log_p, log_q = _bce_logs(p)
    return g * (p - t) / np.maximum(p * (1 - p), _BCE_SLOPE_FLOOR) / n, g * (log_q - log_p) / n


# ----- softmax -----

def _softmax(a, axis=-1):
    shifted = np.asarray(a, dtype=float) - np.max(a, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(a, axis=-1):
    shifted = np.asarray(a, dtype=float) - np.max(a, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


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


_erf = np.frompyfunc(math.erf, 1, 1)     # NumPy has no erf (SciPy's is not a dependency)
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _gelu(a, approximate=0):
    a = np.asarray(a, dtype=float)
    if approximate:
        return 0.5 * a * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (a + 0.044715 * a * a * a)))
    return 0.5 * a * np.asarray(_erfc(-a * math.sqrt(0.5)), dtype=float)


def _elu(a, alpha=1.0):
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0.0)))   # no overflow on the unused side


def _where(cond, a, b):
    """a where cond is nonzero (nan too, as NumPy), else b; float64 even for where(c, 0, 0).
    A selection where(cond, g, 0) of a finite g is g * mask: 3-4x faster than np.where."""
    if type(b) is int and b == 0 and isinstance(a, np.ndarray) and a.dtype == np.float64:
        mask = np.not_equal(cond, 0)
        if np.isfinite(a).all():
            selected = np.multiply(a, mask)
            selected += 0.0          # a negative g times False is -0.0; np.where gives 0.0
            return selected
        return np.where(mask, a, 0.0)
    result = np.where(cond, a, b)
    return result if result.dtype == np.float64 else result.astype(float)


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
    asin=np.arcsin, acos=np.arccos, atan=np.arctan, atan2=np.arctan2, asinh=np.arcsinh, acosh=np.arccosh,
    atanh=np.arctanh, log1p=np.log1p, expm1=np.expm1, erf=lambda a: np.asarray(_erf(np.asarray(a, dtype=float)), dtype=float),
    softplus=lambda a: np.logaddexp(0.0, a), silu=lambda a: a * _sigmoid(a), gelu=_gelu, elu=_elu,
    leaky_relu=lambda a, negative_slope=0.01: np.where(np.asarray(a) > 0, a, np.multiply(negative_slope, a)),
    floor=np.floor, ceil=np.ceil, round=np.round,   # np.round: half to even
    clip=lambda a, lo, hi: np.minimum(np.maximum(a, lo), hi), where=_where, parameter=float,
)

NUMPY = SimpleNamespace(
    name="arrays (ops/arrays.py)",
    PI=math.pi,
    **{name: _tidy(function) for name, function in _ELEMENTWISE.items()},
    power_slope=_power_slope, power_exponent_slope=_power_exponent_slope, quotient=_quotient,
    LN2=math.log(2.0), LN10=math.log(10.0), kink=_kink,
    stack=_stack, index=_index, scatter=_scatter, matmul=_matmul, matmul_grads=_matmul_grads,
    dot=_dot, dot_grads=_dot_grads,
    # shapes
    reshape=_reshape, like=_like, flatten=np.ravel, squeeze=_tidy(np.squeeze), unsqueeze=_unsqueeze,
    transpose=_tidy(np.transpose), untranspose=_untranspose,
    # reductions
    sum=_reduction(np.sum), mean=_reduction(np.mean), amax=_reduction(np.max), amin=_reduction(np.min),
    prod=_reduction(np.prod), spread=_spread, count=_count, route=_route, ties=_ties, prod_grad=_prod_grad,
    var=_var, var_grad=_var_grad, std=_std, std_grad=_std_grad, norm=_norm, norm_grad=_norm_grad,
    norm_kinks=_norm_kinks, logsumexp=_logsumexp, logsumexp_grad=_logsumexp_grad, cumsum=_cumsum,
    cumsum_grad=_cumsum_grad, trace=_trace, trace_grad=_trace_grad, diag=_diag, diag_grad=_diag_grad,
    argmax=_arg(np.argmax), argmin=_arg(np.argmin),
    # layers and losses
    softmax=_tidy(_softmax), log_softmax=_tidy(_log_softmax),
    cross_entropy=_cross_entropy, cross_entropy_grads=_cross_entropy_grads,
    softmax_cross_entropy=_softmax_cross_entropy, softmax_cross_entropy_grads=_softmax_cross_entropy_grads,
    nll=_nll, nll_grads=_nll_grads, mse=_mse, mse_grads=_mse_grads, binary_cross_entropy=_binary_cross_entropy,
    binary_cross_entropy_grads=_binary_cross_entropy_grads, one_hot=_one_hot,
    unstack=_unstack, concatenate=_concatenate, split=_split,
    zeros=_zeros, ones=_ones, full=_full, eye=_eye, arange=_arange,
    forward_guard=lambda: _forward_guard(),
    backward_guard=lambda: np.errstate(all="ignore"),
    unbroadcast=unbroadcast,
)
