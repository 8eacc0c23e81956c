"""Sorting, searching and order statistics in `fxad.numpy`: sort, argsort, partition,
searchsorted, digitize, median, quantile, percentile (and their NaN-ignoring versions),
unique, argwhere, count_nonzero.

`sort` is `take_along_axis(a, argsort(a))`: the `argsort` primitive gives the permutation
(no derivative), the gather carries the derivative, and both stage and batch, so sorting
works under every transform. Order statistics gather the sorted values at computed
positions; their derivatives flow to the selected elements (and through the interpolation
weights to `q`)."""
import warnings

import numpy as np

from ..core import Tracer, get_aval, concrete_or_none
from ..primitives import elementwise as ew
from ..primitives.extra import argsort as _argsort_p
from . import _elementwise as el
from ._base import asarray, normalize_axis, to_float
from ._shape import (_same_dtype, broadcast_to, reshape, ravel, moveaxis, concatenate, getitem,
                     expand_dims)
from ._reductions import sum as _sum, any as _any, argmax as _argmax, argmin as _argmin
from ._more_shape import take_static
from ._more_stack import take_along_axis, take


def _shape(x):
    return get_aval(x).shape


def _no_out(out, name):
    if out is not None:
        raise NotImplementedError(f"fxad.numpy.{name}: `out=` is not supported; use the "
                                  "return value")


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort `a` along `axis` (always a stable sort; NaNs last). Integer
    output: no derivative."""
    if order is not None:
        raise NotImplementedError("fxad.numpy.argsort: `order` (structured arrays) is not "
                                  "supported")
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    if not _shape(a):
        return np.zeros((), np.int64)
    return _argsort_p(a, normalize_axis(axis, len(_shape(a)))[0])


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """`a` sorted along `axis` (flattened if None). The derivative follows each element to
    its sorted position (ties keep their order)."""
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    if not _shape(a):
        return a
    return take_along_axis(a, argsort(a, axis, order=order), axis)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """A valid partition of `a` around `kth`: fxad returns the sorted array (which is
    one)."""
    return sort(a, axis, order=order)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """A valid partitioning permutation: fxad returns the sorting one."""
    return argsort(a, axis, order=order)


def _inverse_permutation(p):
    return argsort(p, axis=-1)


def searchsorted(a, v, side="left", sorter=None):
    """Insertion indices of `v` in the sorted 1-d `a` (no derivative). Concrete inputs use
    NumPy; traced ones use a stable argsort of `a` and `v` joined."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' (got {side!r})")
    a, v = asarray(a), asarray(v)
    if len(_shape(a)) != 1:
        raise ValueError("searchsorted: `a` must be 1-d")
    if sorter is not None:
        a = take(a, sorter)
    ca, cv = concrete_or_none(a), concrete_or_none(v)
    if ca is not None and cv is not None:
        return np.asarray(np.searchsorted(ca, cv, side), np.int64)[()]
    n = _shape(a)[0]
    a, vf = _same_dtype([a, ravel(v)])
    m = _shape(vf)[0]
    joined = concatenate([vf, a] if side == "left" else [a, vf])
    rank = _inverse_permutation(argsort(joined))
    pos = getitem(rank, slice(0, m) if side == "left" else slice(n, n + m))
    out = ew.sub(pos, _inverse_permutation(argsort(vf)))
    return reshape(out, _shape(v))


def digitize(x, bins, right=False):
    """Indices of the bins each `x` falls in (`bins` monotonic; no derivative)."""
    bins = asarray(bins)
    cb = concrete_or_none(bins)
    increasing = True if cb is None or len(cb) < 2 else bool(cb[-1] >= cb[0])
    side = "left" if right else "right"
    if increasing:
        return searchsorted(bins, x, side)
    return ew.sub(np.asarray(_shape(bins)[0], np.int64)[()],
                  asarray(searchsorted(getitem(bins, slice(None, None, -1)), x, side)))


def count_nonzero(a, axis=None, *, keepdims=False):
    """The number of nonzero elements along `axis`."""
    a = asarray(a)
    return _sum(ew.ne(a, ew.const(a, 0)), axis=axis, keepdims=keepdims)


def _concrete(x, what):
    x = asarray(x)
    if isinstance(x, Tracer):
        value = concrete_or_none(x)
        return x._concrete(f"{what} (its result's shape depends on the values)") \
            if value is None else value
    return x


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None,
           *, equal_nan=True, sorted=True):  # noqa: A002
    """`numpy.unique` of the concrete value (its size depends on the values, so it needs a
    concrete input and returns constants: no derivative, not under `jit`)."""
    return np.unique(_concrete(ar, "unique"), return_index, return_inverse, return_counts,
                     axis, equal_nan=equal_nan)


def argwhere(a):
    """Indices of the nonzero elements, one row each (needs a concrete value)."""
    return np.argwhere(_concrete(a, "argwhere"))


def nanargmax(a, axis=None, out=None, *, keepdims=False):
    """`argmax` ignoring NaNs."""
    _no_out(out, "nanargmax")
    a = asarray(a)
    if get_aval(a).dtype.kind in "fc":
        a = el.where(el.isnan(a), -np.inf, a)
    return _argmax(a, axis, keepdims=keepdims)


def nanargmin(a, axis=None, out=None, *, keepdims=False):
    """`argmin` ignoring NaNs."""
    _no_out(out, "nanargmin")
    a = asarray(a)
    if get_aval(a).dtype.kind in "fc":
        a = el.where(el.isnan(a), np.inf, a)
    return _argmin(a, axis, keepdims=keepdims)


# --------------------------------------------------------------------------- quantiles

_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _prepare(a, axis):
    """`a` (float) with the reduced axes moved last and merged into one."""
    a = to_float(a)
    shape = _shape(a)
    axes = normalize_axis(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    x = moveaxis(a, axes, tuple(range(len(kept), len(shape)))) if axes else a
    x = reshape(x, [shape[i] for i in kept] + [int(np.prod([shape[i] for i in axes]))])
    return x, shape, axes


def _empty_result(x, q_shape):
    """NaNs of shape `q_shape + x.shape[:-1]`, for quantiles of empty slices (NumPy's
    answer, with its warning)."""
    warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=3)
    nan = el.multiply(_sum(x, -1), np.nan)
    return broadcast_to(nan, q_shape + _shape(nan))


def _keepdims(out, q_ndim, shape, axes, keepdims):
    if not keepdims:
        return out
    qs = _shape(out)[:q_ndim]
    return reshape(out, qs + tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _lerp(a, b, t):
    """NumPy's quantile interpolation: `a + (b - a) t`, from the other end for t >= 0.5."""
    diff = el.subtract(b, a)
    return el.where(el.less(t, 0.5), el.add(a, el.multiply(diff, t)),
                    el.subtract(b, el.multiply(diff, el.subtract(1.0, t))))


def _positions(pos, method, xp):
    """(lower index, interpolation weight) of the virtual positions `pos` by method."""
    floor = xp.floor(pos)
    if method == "lower":
        return floor, None
    if method == "higher":
        return xp.ceil(pos), None
    if method == "nearest":
        return xp.rint(pos), None
    if method == "midpoint":
        return floor, xp.where(xp.equal(pos, floor), 0.0, 0.5)
    return floor, xp.subtract(pos, floor)


def _interpolate(xs, q, count, method):
    """Quantiles `q` (any shape) of the rows of `xs` (..., n), sorted with `count` valid
    values first (an int, or an int array of the leading shape); result: q's shape first."""
    n = _shape(xs)[-1]
    dtype = get_aval(xs).dtype
    q = to_float(q)
    q_shape = _shape(q)
    qf = reshape(q, (-1,))
    if isinstance(count, int) and not isinstance(qf, Tracer):
        pos = np.asarray(qf, np.float64) * (count - 1)
        lo, frac = _positions(pos, method, np)
        lo = np.clip(lo, 0, max(n - 1, 0)).astype(np.int64)
        hi = np.clip(lo + 1, 0, max(count - 1, 0)).astype(np.int64)
        x_lo, x_hi = (take_static(xs, i, len(_shape(xs)) - 1) for i in (lo, hi))
        frac = None if frac is None else np.asarray(frac, dtype)
    else:
        cnt = ew.convert_element_type(asarray(count), dtype)
        cnt = expand_dims(cnt, -1) if _shape(cnt) else cnt
        pos = el.multiply(qf, el.subtract(cnt, 1))
        lo, frac = _positions(pos, method, el)
        hi = el.minimum(el.add(lo, 1), el.subtract(cnt, 1))
        lead = _shape(xs)[:-1]

        def index(i):
            i = el.astype(el.clip(i, 0, max(n - 1, 0)), np.int64)
            return broadcast_to(i, lead + _shape(i)[-1:])
        x_lo = take_along_axis(xs, index(lo), -1)
        x_hi = take_along_axis(xs, index(hi), -1)
    out = x_lo if frac is None else _lerp(x_lo, x_hi, frac)
    lead = len(_shape(out)) - 1
    out = reshape(out, _shape(out)[:-1] + q_shape)
    return moveaxis(out, tuple(range(lead, lead + len(q_shape))),
                    tuple(range(len(q_shape)))) if q_shape else out


def _check_method(method, name):
    if method not in _METHODS:
        raise NotImplementedError(f"fxad.numpy.{name}: method {method!r} is not supported "
                                  f"(supported: {', '.join(_METHODS)})")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None, interpolation=None):
    """The `q`-th quantiles (0 <= q <= 1) along `axis`, from the sorted values; `q` may be
    traced (it is differentiable for method='linear'). NaN where a slice holds NaN."""
    if out is not None or weights is not None:
        raise NotImplementedError("fxad.numpy.quantile: `out` and `weights` are not "
                                  "supported")
    method = interpolation or method
    _check_method(method, "quantile")
    x, shape, axes = _prepare(a, axis)
    q_ndim = len(_shape(asarray(q)))
    if _shape(x)[-1] == 0:
        return _keepdims(_empty_result(x, _shape(asarray(q))), q_ndim, shape, axes, keepdims)
    xs = sort(x, -1)
    res = _interpolate(xs, q, _shape(x)[-1], method)
    nan = _any(el.isnan(x), axis=-1)
    if q_ndim:
        nan = reshape(nan, (1,) * q_ndim + _shape(nan))
    res = el.where(nan, np.nan, res)
    return _keepdims(res, q_ndim, shape, axes, keepdims)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):
    """The `q`-th percentiles (0 <= q <= 100): `quantile(a, q / 100)`."""
    return quantile(a, el.true_divide(q, 100.0), axis, out, overwrite_input, method,
                    keepdims, weights=weights, interpolation=interpolation)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along `axis`: the middle sorted value, or the mean of the two middle
    ones (NaN where a slice holds NaN)."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.median: `out` is not supported")
    x, shape, axes = _prepare(a, axis)
    n = _shape(x)[-1]
    if n == 0:
        res = _empty_result(x, ())
    else:
        xs = sort(x, -1)
        mid = getitem(xs, (Ellipsis, slice((n - 1) // 2, n // 2 + 1)))
        res = getitem(mid, (Ellipsis, 0)) if n % 2 else el.multiply(
            _sum(mid, -1), 0.5)
        res = el.where(_any(el.isnan(x), axis=-1), np.nan, res)
    return _keepdims(res, 0, shape, axes, keepdims)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None, interpolation=None):
    """`quantile` ignoring NaNs (NaN where a slice holds only NaNs)."""
    if out is not None or weights is not None:
        raise NotImplementedError("fxad.numpy.nanquantile: `out` and `weights` are not "
                                  "supported")
    method = interpolation or method
    _check_method(method, "nanquantile")
    x, shape, axes = _prepare(a, axis)
    q_ndim = len(_shape(asarray(q)))
    if _shape(x)[-1] == 0:
        return _keepdims(_empty_result(x, _shape(asarray(q))), q_ndim, shape, axes, keepdims)
    xs = sort(x, -1)                        # NaNs sort last
    count = _sum(el.logical_not(el.isnan(x)), axis=-1)
    res = _interpolate(xs, q, count, method)
    empty = el.equal(count, 0)
    if q_ndim:
        empty = reshape(empty, (1,) * q_ndim + _shape(empty))
    res = el.where(empty, np.nan, res)
    return _keepdims(res, q_ndim, shape, axes, keepdims)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None, interpolation=None):
    return nanquantile(a, el.true_divide(q, 100.0), axis, out, overwrite_input, method,
                       keepdims, weights=weights, interpolation=interpolation)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median ignoring NaNs (NaN where a slice holds only NaNs)."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.nanmedian: `out` is not supported")
    x, shape, axes = _prepare(a, axis)
    n = _shape(x)[-1]
    if n == 0:
        return _keepdims(_empty_result(x, ()), 0, shape, axes, keepdims)
    xs = sort(x, -1)                        # NaNs sort last
    count = _sum(el.logical_not(el.isnan(x)), axis=-1)
    middle = [el.floor_divide(el.subtract(count, 1), 2), el.floor_divide(count, 2)]
    pair = concatenate([expand_dims(asarray(i), -1) for i in middle], -1)
    pair = el.astype(el.clip(pair, 0, max(n - 1, 0)), np.int64)
    res = el.multiply(_sum(take_along_axis(xs, pair, -1), -1), 0.5)
    res = el.where(el.equal(count, 0), np.nan, res)
    return _keepdims(res, 0, shape, axes, keepdims)


SORT_MORE_NAMES = [
    "argsort", "sort", "partition", "argpartition", "searchsorted", "digitize",
    "count_nonzero", "unique", "argwhere", "nanargmax", "nanargmin", "quantile",
    "percentile", "median", "nanquantile", "nanpercentile", "nanmedian"]
