"""More numerical functions in `fxad.numpy`: cumulative products, NaN-ignoring reductions,
`ptp`, `cov`/`corrcoef`, differences and integration (`diff`, `ediff1d`, `gradient`,
`trapezoid`). (Filters, interpolation, polynomials and ranges are in `_more_signal`.)

`cumprod` is a log-depth scan of pairwise products (no division), so it is exact at zeros
and differentiable to any order there."""
import numpy as np

from ..core import get_aval, is_float
from ..primitives import elementwise as ew
from ..primitives import structural as st
from . import _elementwise as el
from ._base import asarray, normalize_axis, to_float
from ._shape import reshape, ravel, getitem, broadcast_to, concatenate, transpose, squeeze
from ._reductions import (sum as _sum, mean as _mean, max as _max, min as _min, prod as _prod,
                          cumsum as _cumsum, average as _average, _sum_dtype)
from ._contract import dot as _dot
from ._more_shape import atleast_2d, diag, _along


def _shape(x):
    return get_aval(x).shape


def _axis1(axis, ndim):
    return normalize_axis(axis, ndim)[0]


# --------------------------------------------------------------------------- scans


def no_out(out, name):
    if out is not None:
        raise NotImplementedError(f"fxad.numpy.{name}: `out=` is not supported (arrays are "
                                  "immutable under transforms); use the return value")


def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product along `axis` (flattened if None), by a log-depth scan of pairwise
    products: differentiable everywhere, zeros included."""
    no_out(out, "cumprod")
    a = asarray(a) if dtype is None else ew.convert_element_type(asarray(a), np.dtype(dtype))
    if axis is None:
        a, axis = ravel(a), 0
    a = ew.convert_element_type(a, _sum_dtype(get_aval(a).dtype))
    axis = _axis1(axis, len(_shape(a)))
    n, d = _shape(a)[axis], 1
    while d < n:
        head = getitem(a, _along(axis, slice(0, d)))
        tail = el.multiply(getitem(a, _along(axis, slice(d, None))),
                           getitem(a, _along(axis, slice(0, n - d))))
        a = st.concatenate([head, tail], axis)
        d *= 2
    return a


def _cumulative(fn, identity, x, axis, dtype, include_initial):
    x = asarray(x)
    if axis is None:
        if len(_shape(x)) > 1:
            raise ValueError("axis must be given for arrays of more than one dimension")
        axis = 0
    out = fn(x, axis=axis, dtype=dtype) if _shape(x) else fn(reshape(x, (1,)), 0, dtype)
    if include_initial:
        axis = _axis1(axis, len(_shape(out)))
        shape = list(_shape(out))
        shape[axis] = 1
        out = st.concatenate([np.full(shape, identity, get_aval(out).dtype), out], axis)
    return out


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Array-API cumulative sum (optionally starting with 0)."""
    no_out(out, "cumulative_sum")
    return _cumulative(_cumsum, 0, x, axis, dtype, include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Array-API cumulative product (optionally starting with 1)."""
    no_out(out, "cumulative_prod")
    return _cumulative(cumprod, 1, x, axis, dtype, include_initial)


# --------------------------------------------------------------------------- NaN-aware


def _nan_replaced(a, value):
    a = asarray(a)
    if not is_float(get_aval(a).dtype):
        return a, None
    nan = el.isnan(a)
    return el.where(nan, value, a), nan


def nansum(a, axis=None, dtype=None, out=None, keepdims=False):
    """Sum treating NaNs as 0 (they get zero gradient)."""
    no_out(out, "nansum")
    return _sum(_nan_replaced(a, 0)[0], axis, dtype, keepdims=keepdims)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False):
    """Product treating NaNs as 1."""
    no_out(out, "nanprod")
    return _prod(_nan_replaced(a, 1)[0], axis, dtype, keepdims=keepdims)


def nancumsum(a, axis=None, dtype=None, out=None):
    no_out(out, "nancumsum")
    return _cumsum(_nan_replaced(a, 0)[0], axis, dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    no_out(out, "nancumprod")
    return cumprod(_nan_replaced(a, 1)[0], axis, dtype)


def _nan_count(nan, a, axis, keepdims):
    if nan is None:
        shape = _shape(a)
        axes = normalize_axis(axis, len(shape))
        return np.float64(np.prod([shape[i] for i in axes]))
    return _sum(el.logical_not(nan), axis, keepdims=keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    """Mean of the non-NaN elements (NaN for an all-NaN slice)."""
    no_out(out, "nanmean")
    a = to_float(a) if dtype is None else ew.convert_element_type(asarray(a), np.dtype(dtype))
    filled, nan = _nan_replaced(a, 0)
    total = _sum(filled, axis, keepdims=keepdims)
    return el.true_divide(total, ew.convert_element_type(
        asarray(_nan_count(nan, a, axis, keepdims)), get_aval(total).dtype))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Variance of the non-NaN elements."""
    no_out(out, "nanvar")
    a = to_float(a) if dtype is None else ew.convert_element_type(asarray(a), np.dtype(dtype))
    filled, nan = _nan_replaced(a, 0)
    m = nanmean(a, axis, keepdims=True)
    centered = el.subtract(filled, m)
    if nan is not None:
        centered = el.where(nan, 0.0, centered)
    total = _sum(el.multiply(centered, centered), axis, keepdims=keepdims)
    count = ew.convert_element_type(asarray(_nan_count(nan, a, axis, keepdims)),
                                    get_aval(total).dtype)
    return el.true_divide(total, el.maximum(el.subtract(count, ddof), 0))


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Standard deviation of the non-NaN elements."""
    no_out(out, "nanstd")
    return el.sqrt(nanvar(a, axis, dtype, None, ddof, keepdims))


def _nan_extremum(a, axis, keepdims, reduce, fill):
    a = asarray(a)
    filled, nan = _nan_replaced(a, fill)
    out = reduce(filled, axis, keepdims=keepdims)
    if nan is None:
        return out
    from ._reductions import all as _all
    return el.where(_all(nan, axis, keepdims=keepdims), np.nan, out)


def nanmax(a, axis=None, out=None, keepdims=False):
    """Maximum ignoring NaNs (NaN for an all-NaN slice)."""
    no_out(out, "nanmax")
    return _nan_extremum(a, axis, keepdims, _max, -np.inf)


def nanmin(a, axis=None, out=None, keepdims=False):
    """Minimum ignoring NaNs (NaN for an all-NaN slice)."""
    no_out(out, "nanmin")
    return _nan_extremum(a, axis, keepdims, _min, np.inf)


def ptp(a, axis=None, out=None, keepdims=False):
    """Range (maximum - minimum) along `axis`."""
    no_out(out, "ptp")
    return el.subtract(_max(a, axis, keepdims=keepdims), _min(a, axis, keepdims=keepdims))


# --------------------------------------------------------------------------- statistics


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Covariance matrix of the variables in the rows (columns if not `rowvar`) of `m`,
    NumPy's algorithm (weights supported)."""
    def as_float(v):        # NumPy computes covariances in float64 (or wider)
        v = asarray(v)
        return ew.convert_element_type(v, np.result_type(get_aval(v).dtype, np.float64))
    X = atleast_2d(as_float(m))
    if not rowvar and _shape(X)[0] != 1:
        X = transpose(X)
    if y is not None:
        Y = atleast_2d(as_float(y))
        if not rowvar and _shape(Y)[0] != 1:
            Y = transpose(Y)
        X = concatenate([X, Y], 0)
    if dtype is not None:
        X = ew.convert_element_type(X, np.dtype(dtype))
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        w = to_float(fweights)
    if aweights is not None:
        w = to_float(aweights) if w is None else el.multiply(w, aweights)
    if w is None:
        avg = _mean(X, axis=1)
        w_sum = _shape(X)[1]
        fact = w_sum - ddof
    else:
        avg = _average(X, axis=1, weights=w)
        w_sum = _sum(w)
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = el.subtract(w_sum, ddof)
        else:
            fact = el.subtract(w_sum, el.true_divide(el.multiply(ddof, _sum(
                el.multiply(w, aweights))), w_sum))
    X = el.subtract(X, reshape(avg, (-1, 1)))
    X_T = transpose(X)
    if w is not None:
        X_T = el.multiply(X_T, reshape(w, (-1, 1)))
    c = el.true_divide(_dot(X, X_T), fact)
    return squeeze(c)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients (clipped to [-1, 1])."""
    c = cov(x, y, rowvar, dtype=dtype)
    if not _shape(c):
        return el.true_divide(c, c)
    d = diag(c)
    stddev = el.sqrt(d)
    c = el.true_divide(c, reshape(stddev, (-1, 1)))
    c = el.true_divide(c, reshape(stddev, (1, -1)))
    return el.clip(c, -1, 1)


# --------------------------------------------------------------------------- differences


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The n-th discrete difference along `axis`."""
    a = asarray(a)
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    nd = len(_shape(a))
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis1(axis, nd)
    parts = []
    for extra in (prepend, append):
        if extra is None:
            parts.append(None)
            continue
        extra = asarray(extra)
        if not _shape(extra):
            shape = list(_shape(a))
            shape[axis] = 1
            extra = broadcast_to(extra, tuple(shape))
        parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        a = concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis)
    for _ in range(n):
        m = _shape(a)[axis]
        upper = getitem(a, _along(axis, slice(1, None)))
        lower = getitem(a, _along(axis, slice(0, max(m - 1, 0))))
        a = el.not_equal(upper, lower) if get_aval(a).dtype == np.bool_ else \
            el.subtract(upper, lower)
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened array, with optional
    values before and after."""
    ary = ravel(asarray(ary))
    dtype = get_aval(ary).dtype
    parts = [diff(ary)] if _shape(ary)[0] else [np.zeros(0, dtype)]
    if to_begin is not None:
        parts.insert(0, ew.convert_element_type(ravel(asarray(to_begin)), dtype))
    if to_end is not None:
        parts.append(ew.convert_element_type(ravel(asarray(to_end)), dtype))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def _gradient_axis(f, axis, h, edge_order):
    """np.gradient along one axis; `h` is a scalar spacing or a 1-d coordinate array."""
    n = _shape(f)[axis]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                         "least (edge_order + 1) elements are required.")
    sl = lambda lo, hi=None: getitem(f, _along(axis, slice(lo, hi)))  # noqa: E731
    add, sub, mul, div = el.add, el.subtract, el.multiply, el.true_divide
    nd = len(_shape(f))

    def along(v):            # a 1-d coefficient vector laid along `axis`
        return reshape(v, (-1,) + (1,) * (nd - axis - 1))

    uniform = not _shape(asarray(h))
    if uniform:
        twice = h * 2.0 if isinstance(h, (int, float)) else mul(h, 2.0)   # keep h weak
        interior = div(sub(sl(2), sl(0, n - 2)), twice)
    else:
        h = to_float(h)
        if _shape(h) != (n,):
            raise ValueError("when 1d, distances must match the length of the corresponding "
                             "dimension")
        dx = diff(h)
        dx1, dx2 = getitem(dx, slice(0, -1)), getitem(dx, slice(1, None))
        ca = along(div(el.negative(dx2), mul(dx1, add(dx1, dx2))))
        cb = along(div(sub(dx2, dx1), mul(dx1, dx2)))
        cc = along(div(dx1, mul(dx2, add(dx1, dx2))))
        interior = add(add(mul(ca, sl(0, n - 2)), mul(cb, sl(1, n - 1))), mul(cc, sl(2)))
    d0 = h if uniform else getitem(dx, 0)
    d1 = h if uniform else getitem(dx, -1)
    if edge_order == 1:
        first = div(sub(sl(1, 2), sl(0, 1)), d0)
        last = div(sub(sl(n - 1), sl(n - 2, n - 1)), d1)
    elif uniform:
        first = div(add(add(mul(sl(0, 1), -1.5), mul(sl(1, 2), 2.0)), mul(sl(2, 3), -0.5)), h)
        last = div(add(add(mul(sl(n - 3, n - 2), 0.5), mul(sl(n - 2, n - 1), -2.0)),
                       mul(sl(n - 1), 1.5)), h)
    else:
        dx1, dx2 = getitem(dx, 0), getitem(dx, 1)
        a = div(el.negative(add(mul(dx1, 2.0), dx2)), mul(dx1, add(dx1, dx2)))
        b = div(add(dx1, dx2), mul(dx1, dx2))
        c = div(el.negative(dx1), mul(dx2, add(dx1, dx2)))
        first = add(add(mul(a, sl(0, 1)), mul(b, sl(1, 2))), mul(c, sl(2, 3)))
        dx1, dx2 = getitem(dx, -2), getitem(dx, -1)
        a = div(dx2, mul(dx1, add(dx1, dx2)))
        b = div(el.negative(add(dx2, dx1)), mul(dx1, dx2))
        c = div(add(mul(dx2, 2.0), dx1), mul(dx2, add(dx1, dx2)))
        last = add(add(mul(a, sl(n - 3, n - 2)), mul(b, sl(n - 2, n - 1))), mul(c, sl(n - 1)))
    return concatenate([first, interior, last], axis)


def gradient(f, *varargs, axis=None, edge_order=1):
    """Second-order central differences inside, one-sided (order `edge_order`) at the
    edges; spacings are scalars or coordinate arrays, as in NumPy."""
    f = to_float(f)
    nd = len(_shape(f))
    axes = normalize_axis(axis, nd)
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    if not varargs:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and not _shape(asarray(varargs[0])):
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    out = tuple(_gradient_axis(f, ax, h, edge_order) for ax, h in zip(axes, spacing))
    return out[0] if len(out) == 1 else out


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of `y` along `axis` by the trapezoidal rule (`x`: sample points)."""
    y = asarray(y)
    nd = len(_shape(y))
    axis = _axis1(axis, nd)
    if x is None:
        d = dx
    else:
        x = asarray(x)
        if len(_shape(x)) == 1:
            d = reshape(diff(x), (-1,) + (1,) * (nd - axis - 1))
        else:
            d = diff(x, axis=axis)
    n = _shape(y)[axis]
    upper = getitem(y, _along(axis, slice(1, None)))
    lower = getitem(y, _along(axis, slice(0, max(n - 1, 0))))
    return _sum(el.true_divide(el.multiply(d, el.add(upper, lower)), 2.0), axis)


MATH_MORE_NAMES = [
    "cumprod", "cumulative_sum", "cumulative_prod", "nansum", "nanprod", "nancumsum",
    "nancumprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "ptp", "cov",
    "corrcoef", "diff", "ediff1d", "gradient", "trapezoid"]
