"""More `fxad.numpy` numerics on 1-d signals and ranges: `convolve`, `correlate`,
`interp`, `polyval`, `vander`, and `linspace`/`logspace` whose end points may be traced."""
import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import structural as st
from . import _elementwise as el
from ._base import promote, to_float, asarray
from ._shape import _same_dtype, reshape, moveaxis, getitem, broadcast_to, concatenate
from ._more_math import cumprod, _shape
from ._more_stack import take
from ._more_sort import searchsorted


# --------------------------------------------------------------------------- filtering


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-d arrays. The longer one's shifted copies are
    laid out as rows (a broadcast, reshape and slice) and contracted with the shorter one
    reversed: one `einsum`, linear in each argument."""
    a, v = _same_dtype([a, v])
    if len(_shape(a)) != 1 or len(_shape(v)) != 1:
        raise ValueError("convolve: both inputs must be 1-d")
    if not _shape(a)[0] or not _shape(v)[0]:
        raise ValueError("v cannot be empty" if _shape(a)[0] else "a cannot be empty")
    if _shape(v)[0] > _shape(a)[0]:
        a, v = v, a
    n, m = _shape(a)[0], _shape(v)[0]
    full = n + m - 1
    lo, hi = {"full": (0, full), "same": ((m - 1) // 2, (m - 1) // 2 + n),
              "valid": (m - 1, n)}.get(mode, (None, None))
    if lo is None:
        raise ValueError(f"mode must be one of 'full', 'same' or 'valid' (got {mode!r})")
    dtype = get_aval(a).dtype
    zeros = np.zeros(m - 1, dtype)
    padded = concatenate([zeros, a, zeros]) if m > 1 else a      # length L = n + 2m - 2
    L = n + 2 * m - 2
    rows = reshape(broadcast_to(padded, (m + 1, L)), (-1,))
    rows = reshape(getitem(rows, slice(0, m * (L + 1))), (m, L + 1))   # rows[k, i] = padded[i+k]
    rows = getitem(rows, (slice(None), slice(lo, hi)))
    return st.einsum("ki,k->i", rows, getitem(v, slice(None, None, -1)))


def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-d real arrays: `convolve(a, v[::-1], mode)` (for a
    longer `v`, NumPy's `correlate(v, a, mode)[::-1]`)."""
    a, v = asarray(a), asarray(v)
    if len(_shape(a)) != 1 or len(_shape(v)) != 1:
        raise ValueError("correlate: both inputs must be 1-d")
    if _shape(v)[0] > _shape(a)[0]:
        return getitem(correlate(v, a, mode), slice(None, None, -1))
    return convolve(a, getitem(v, slice(None, None, -1)), mode)


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of (xp, fp) at x (`xp` increasing); differentiable in
    `x`, `xp` and `fp`."""
    if period is not None:
        raise NotImplementedError("fxad.numpy.interp: `period` is not supported")
    x, xp, fp = to_float(x), to_float(xp), to_float(fp)
    if len(_shape(xp)) != 1 or _shape(xp) != _shape(fp):
        raise ValueError("fp and xp are not of the same length.")
    n = _shape(xp)[0]
    if n == 0:
        raise ValueError("array of sample points is empty")
    f_left = getitem(fp, 0) if left is None else left
    f_right = getitem(fp, -1) if right is None else right
    if n == 1:
        y = el.where(el.less(x, getitem(xp, 0)), f_left,
                     el.where(el.greater(x, getitem(xp, 0)), f_right, getitem(fp, 0)))
        return el.add(y, el.multiply(x, 0.0)) if _shape(x) else y
    j = el.clip(el.subtract(searchsorted(xp, x, "right"), 1), 0, n - 2)
    x0, x1, f0, f1 = take(xp, j), take(xp, el.add(j, 1)), take(fp, j), take(fp, el.add(j, 1))
    slope = el.true_divide(el.subtract(f1, f0), el.subtract(x1, x0))
    y = el.add(el.multiply(slope, el.subtract(x, x0)), f0)
    y = el.where(el.equal(x, getitem(xp, -1)), getitem(fp, -1), y)
    y = el.where(el.less(x, getitem(xp, 0)), f_left, y)
    return el.where(el.greater(x, getitem(xp, -1)), f_right, y)


# --------------------------------------------------------------------------- polynomials


def polyval(p, x):
    """The polynomial with coefficients `p` (highest power first) at `x` (Horner)."""
    p, x = asarray(p), asarray(x)
    y = np.zeros((), np.result_type(get_aval(x).dtype, get_aval(p).dtype))
    for i in range(_shape(p)[0]):
        y = el.add(el.multiply(y, x), getitem(p, i))
    return y


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns are powers of `x` (decreasing unless `increasing`)."""
    x = asarray(x)
    if len(_shape(x)) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = _shape(x)[0]
    N = n if N is None else int(N)
    dtype = np.promote_types(get_aval(x).dtype, np.int64)       # as NumPy: float32 -> float64
    if N == 0:
        return np.zeros((n, 0), dtype)
    cols = [np.ones((n, 1), dtype)]
    if N > 1:
        cols.append(broadcast_to(reshape(ew.convert_element_type(x, dtype), (n, 1)),
                                 (n, N - 1)))
    out = cumprod(concatenate(cols, 1), axis=1)
    return out if increasing else getitem(out, (slice(None), slice(None, None, -1)))


# --------------------------------------------------------------------------- ranges


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """`num` evenly spaced values from `start` to `stop`. The ends may be traced (then
    `start + step * arange(num)`, with the last value exactly `stop`); otherwise NumPy's."""
    if not isinstance(start, Tracer) and not isinstance(stop, Tracer):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    num = int(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = promote(start, stop, to_float=True)
    div = num - 1 if endpoint else num
    shape = _shape(start)
    delta = el.subtract(stop, start)
    ramp = np.arange(num, dtype=get_aval(start).dtype).reshape((-1,) + (1,) * len(shape))
    step = el.true_divide(delta, div) if div > 0 else el.multiply(delta, np.nan)
    y = el.add(el.multiply(ramp, step), start) if div > 0 else \
        el.add(el.multiply(ramp, delta), start)
    if endpoint and num > 1:
        y = concatenate([getitem(y, slice(0, num - 1)), reshape(stop, (1,) + shape)], 0)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None:
        y = ew.convert_element_type(y, np.dtype(dtype))
    return (y, step) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """`base ** linspace(start, stop, num)` (ends may be traced)."""
    if not any(isinstance(v, Tracer) for v in (start, stop, base)):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    y = linspace(start, stop, num, endpoint, axis=axis)
    out = el.power(base, y)
    return out if dtype is None else ew.convert_element_type(out, np.dtype(dtype))


SIGNAL_MORE_NAMES = ["convolve", "correlate", "interp", "polyval", "vander", "linspace",
                     "logspace"]
