"""Reductions and scans in `fxad.numpy`: sum, mean, prod, max, min, var, std, cumsum..."""
import builtins

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import structural as st
from ._base import asarray, normalize_axis, to_float, promote
from ._shape import reshape, transpose, ravel, getitem, broadcast_to


def _sum_dtype(dtype):
    """NumPy sums small integers and booleans in the default integer type."""
    if dtype == np.bool_ or (np.issubdtype(dtype, np.signedinteger) and dtype.itemsize < 8):
        return np.dtype(np.int64)
    if np.issubdtype(dtype, np.unsignedinteger) and dtype.itemsize < 8:
        return np.dtype(np.uint64)
    return dtype


def _keep(out, shape, axes, keepdims):
    if not keepdims:
        return out
    return st.reshape(out, [1 if i in axes else n for i, n in enumerate(shape)])


def _no_out(out):
    if out is not None:
        raise NotImplementedError("fxad.numpy functions cannot write into `out=` arrays "
                                  "(traced values are immutable); use the return value")


def _prepare(a, axis, dtype):
    a = asarray(a)
    if dtype is not None:
        a = ew.convert_element_type(a, np.dtype(dtype))
    shape = get_aval(a).shape
    return a, shape, normalize_axis(axis, len(shape))


def sum(a, axis=None, dtype=None, out=None, keepdims=False):  # noqa: A001
    """Sum over `axis` (all axes by default)."""
    _no_out(out)
    a, shape, axes = _prepare(a, axis, dtype)
    a = ew.convert_element_type(a, _sum_dtype(get_aval(a).dtype))
    return _keep(st.reduce_sum(a, axes), shape, axes, keepdims)


def _count(shape, axes):
    return int(np.prod([shape[i] for i in axes], dtype=np.int64))


def mean(a, axis=None, dtype=None, out=None, keepdims=False):
    """Arithmetic mean over `axis` (in floating point)."""
    _no_out(out)
    a, shape, axes = _prepare(a, axis, dtype)
    a = to_float(a)
    total = st.reduce_sum(a, axes)
    return _keep(ew.div(total, ew.const(a, _count(shape, axes))), shape, axes, keepdims)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Variance over `axis`, with `ddof` delta degrees of freedom."""
    _no_out(out)
    a, shape, axes = _prepare(a, axis, dtype)
    a = to_float(a)
    centered = ew.sub(*promote(a, mean(a, axes, keepdims=True)))
    total = st.reduce_sum(ew.mul(centered, centered), axes)
    return _keep(ew.div(total, ew.const(a, _count(shape, axes) - ddof)), shape, axes, keepdims)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Standard deviation over `axis` (its gradient is infinite where it is 0)."""
    return ew.sqrt(var(a, axis, dtype, out, ddof, keepdims))


def _extremum(reduce, name):
    def fn(a, axis=None, out=None, keepdims=False):
        _no_out(out)
        a, shape, axes = _prepare(a, axis, None)
        if builtins.any(shape[i] == 0 for i in axes):
            raise ValueError(f"zero-size array to reduction operation {name} which has no "
                             "identity")
        return _keep(reduce(a, axes), shape, axes, keepdims)
    fn.__name__ = name
    fn.__doc__ = (f"The {name}imum over `axis`. Tied elements share the gradient equally.")
    return fn


max = amax = _extremum(st.reduce_max, "max")  # noqa: A001
min = amin = _extremum(st.reduce_min, "min")  # noqa: A001


def any(a, axis=None, out=None, keepdims=False):  # noqa: A001
    from ._elementwise import _as_bool
    return max(_as_bool(a), axis, out, keepdims)


def all(a, axis=None, out=None, keepdims=False):  # noqa: A001
    from ._elementwise import _as_bool
    return min(_as_bool(a), axis, out, keepdims)


def prod(a, axis=None, dtype=None, out=None, keepdims=False):
    """Product over `axis`, as a tree of pairwise products: exact, and differentiable to
    any order even where elements are zero."""
    _no_out(out)
    a, shape, axes = _prepare(a, axis, dtype)
    a = ew.convert_element_type(a, _sum_dtype(get_aval(a).dtype))
    kept = [i for i in range(len(shape)) if i not in axes]
    x = reshape(transpose(a, kept + list(axes)), [shape[i] for i in kept] + [-1])
    while get_aval(x).shape[-1] > 1:
        if get_aval(x).shape[-1] % 2:
            one = np.ones(get_aval(x).shape[:-1] + (1,), get_aval(x).dtype)
            x = st.concatenate([x, one], len(get_aval(x).shape) - 1)
        x = ew.mul(getitem(x, (Ellipsis, slice(0, None, 2))),
                   getitem(x, (Ellipsis, slice(1, None, 2))))
    if get_aval(x).shape[-1] == 0:
        x = np.ones(get_aval(x).shape[:-1], get_aval(x).dtype)
    else:
        x = st.reshape(x, get_aval(x).shape[:-1])
    return _keep(x, shape, axes, keepdims)


def _arg_extremum(reduce, name):
    def fn(a, axis=None, out=None, keepdims=False):
        _no_out(out)
        a = asarray(a)
        shape = get_aval(a).shape
        if axis is None:
            out = reduce(ravel(a), 0)
            return st.reshape(out, (1,) * len(shape)) if keepdims else out
        axis = normalize_axis(axis, len(shape))[0]
        return _keep(reduce(a, axis), shape, (axis,), keepdims)
    fn.__name__ = name
    fn.__doc__ = f"Index of the {name[3:]}imum along `axis` (the first one at ties)."
    return fn


argmax = _arg_extremum(st.argmax, "argmax")
argmin = _arg_extremum(st.argmin, "argmin")


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along `axis` (of the flattened array when `axis` is None)."""
    _no_out(out)
    a = asarray(a) if dtype is None else ew.convert_element_type(asarray(a), np.dtype(dtype))
    if axis is None:
        a, axis = ravel(a), 0
    a = ew.convert_element_type(a, _sum_dtype(get_aval(a).dtype))
    return st.cumsum(a, normalize_axis(axis, get_aval(a).ndim)[0])


def average(a, axis=None, weights=None):
    """Mean, or the weighted mean `sum(a * w) / sum(w)` when `weights` are given."""
    if weights is None:
        return mean(a, axis)
    a, w = promote(a, weights, to_float=True)
    w = broadcast_to(w, np.broadcast_shapes(get_aval(a).shape, get_aval(w).shape))
    return ew.div(*promote(sum(ew.mul(a, w), axis), sum(w, axis)))


REDUCTION_NAMES = ["sum", "mean", "var", "std", "max", "amax", "min", "amin", "any", "all",
                   "prod", "argmax", "argmin", "cumsum", "average"]
