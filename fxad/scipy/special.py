"""`fxad.scipy.special`: differentiable special functions with SciPy's names and values.

erf, erfc, gammaln, digamma and polygamma are primitives (`fxad.primitives.special`,
where their accuracy is documented: ~1e-15 relative, computed by NumPy without SciPy);
the rest are compositions of fxad operations, written to stay finite where the naive
formula overflows:
  * logsumexp / log_softmax / softmax subtract the (gradient-stopped) maximum first, so
    inputs like 1e4 are fine; the gradient of logsumexp is softmax.
  * expit / log_expit evaluate exp only at -|x| (no overflow for any x) and keep the
    exact derivative at 0.
  * xlogy / xlog1py are 0 where x == 0 (even where log y is -inf); their y-derivative
    x / y is 0 at x == y == 0 instead of NaN (their x-derivative is log y, -inf at y=0).

>>> import numpy as np, fxad, fxad.scipy.special as fsp
>>> float(fsp.logsumexp(np.array([1e4, 1e4])))
10000.69314718056
>>> fxad.grad(lambda x: fsp.logsumexp(x))(np.array([1e4, 1e4]))
array([0.5, 0.5])
>>> float(fsp.xlogy(0.0, 0.0)), float(fxad.grad(fsp.xlogy, argnums=1)(0.0, 0.0))
(0.0, 0.0)
"""
import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import special as sp
from ..primitives.elementwise import stop_gradient_p
from ..numpy import _elementwise as _npe
from ..numpy._base import promote, to_float, normalize_axis
from ..numpy._reductions import sum as _sum, max as _max
from ..numpy._shape import reshape


def _unary(prim_fn, name, doc):
    def fn(x):
        return prim_fn(to_float(x))
    fn.__name__, fn.__doc__ = name, doc
    return fn


erf = _unary(sp.erf, "erf", "The error function; erf'(x) = 2/sqrt(pi) exp(-x^2).")
erfc = _unary(sp.erfc, "erfc", "1 - erf(x), accurate where erf(x) is close to 1.")
gammaln = _unary(sp.lgamma, "gammaln", "log|Gamma(x)|; its derivative is digamma.")
digamma = _unary(sp.digamma, "digamma", "The logarithmic derivative of Gamma; its "
                 "derivative is polygamma(1, x).")
psi = digamma


def polygamma(n, x):
    """The n-th derivative of digamma. `n` must be known when tracing (a Python int, or a
    concrete integer array broadcast against x)."""
    x = to_float(x)
    if isinstance(n, Tracer):
        n = n._concrete("polygamma's order n")
    orders = np.asarray(n)
    if orders.ndim == 0:
        k = int(orders)
        if k != orders or k < 0:
            raise ValueError(f"polygamma: n must be a non-negative integer, got {n}")
        return sp.digamma(x) if k == 0 else sp.polygamma(k, x)
    x, n_arr = promote(x, orders.astype(get_aval(x).dtype))
    out = None
    for k in np.unique(orders):
        value = polygamma(int(k), x)
        out = value if out is None else ew.select(ew.eq(n_arr, ew.const(n_arr, k)), value, out)
    return out


def ndtr(x):
    """The standard normal CDF, 0.5 * erfc(-x / sqrt(2))."""
    x = to_float(x)
    return ew.mul(ew.const(x, 0.5), sp.erfc(ew.mul(x, ew.const(x, -np.sqrt(0.5)))))


def gamma(x):
    """Gamma(x) = sign * exp(gammaln(x)) (overflows to inf beyond x ~ 171.6)."""
    x = to_float(x)
    negative_odd = ew.and_(ew.lt(x, ew.const(x, 0)),
                           ew.eq(ew.rem(ew.floor(x), ew.const(x, 2)), ew.const(x, 1)))
    sign = ew.select(negative_odd, ew.const(x, -1), ew.const(x, 1))
    return ew.mul(sign, ew.exp(sp.lgamma(x)))


def xlogy(x, y):
    """x * log(y), 0 where x == 0 (see the module docstring for its derivatives)."""
    return sp.xlogy(*promote(x, y, to_float=True))


def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0."""
    return sp.xlog1py(*promote(x, y, to_float=True))


def entr(x):
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    x = to_float(x)
    return ew.select(ew.lt(x, ew.const(x, 0)), ew.const(x, -np.inf), ew.neg(sp.xlogy(x, x)))


def _minus_abs(x):
    """-|x| with derivative -1 at 0 (from the x >= 0 side), so expit's derivative at 0 is
    exact (abs' is 0 there)."""
    return ew.select(ew.ge(x, ew.const(x, 0)), ew.neg(x), x)


def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), without overflow for any x."""
    x = to_float(x)
    e = ew.exp(_minus_abs(x))
    one = ew.const(x, 1)
    return ew.select(ew.ge(x, ew.const(x, 0)), ew.div(one, ew.add(one, e)),
                     ew.div(e, ew.add(one, e)))


def log_expit(x):
    """log(expit(x)), accurate for large |x|."""
    x = to_float(x)
    log1p_e = ew.log1p(ew.exp(_minus_abs(x)))
    return ew.select(ew.ge(x, ew.const(x, 0)), ew.neg(log1p_e), ew.sub(x, log1p_e))


def logit(p):
    """log(p / (1 - p)), the inverse of expit."""
    p = to_float(p)
    return ew.sub(ew.log(p), ew.log1p(ew.neg(p)))


def _max_shift(a, axes):
    """The maximum over `axes` (kept as size-1 axes), gradient-stopped, with non-finite
    maxima replaced by 0 (so all -inf or +inf inputs give SciPy's results)."""
    m = _max(a, axes, keepdims=True)
    m = ew.select(ew.is_finite(m), m, ew.const(m, 0))
    return stop_gradient_p.bind(m) if isinstance(m, Tracer) else m


def _reduced_axes(a, axis):
    return normalize_axis(axis, len(get_aval(a).shape))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) over `axis`, computed as max + log(sum(b * exp(a - max)));
    with `return_sign`, (log|sum|, sign(sum)) as SciPy."""
    a = to_float(a)
    if b is not None:
        a, b = promote(a, b, to_float=True)
    shape = get_aval(a).shape
    axes = _reduced_axes(a, axis)
    if any(shape[i] == 0 for i in axes):        # an empty sum: log(0)
        out_shape = tuple(1 if i in axes else n for i, n in enumerate(shape)) if keepdims \
            else tuple(n for i, n in enumerate(shape) if i not in axes)
        out = np.full(out_shape, -np.inf, get_aval(a).dtype)[()]
        return (out, np.ones_like(out)) if return_sign else out
    m = _max_shift(a, axes)
    e = _npe.exp(_npe.subtract(a, m))
    if b is not None:
        e = _npe.multiply(b, e)
    total = _sum(e, axes, keepdims=True)
    if return_sign:
        sign = ew.sign(total)
        total = ew.abs(total)
    out = _npe.add(_npe.log(total), m)
    if not keepdims:
        kept = [n for i, n in enumerate(shape) if i not in axes]
        out = reshape(out, kept)
        if return_sign:
            sign = reshape(sign, kept)
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) over `axis` (all axes by default), shifted by the maximum."""
    x = to_float(x)
    axes = _reduced_axes(x, axis)
    e = _npe.exp(_npe.subtract(x, _max_shift(x, axes)))
    return _npe.divide(e, _sum(e, axes, keepdims=True))


def log_softmax(x, axis=None):
    """x - logsumexp(x) over `axis`, shifted by the maximum (finite for large inputs)."""
    x = to_float(x)
    axes = _reduced_axes(x, axis)
    shifted = _npe.subtract(x, _max_shift(x, axes))
    return _npe.subtract(shifted, _npe.log(_sum(_npe.exp(shifted), axes, keepdims=True)))


__all__ = ["erf", "erfc", "ndtr", "gammaln", "gamma", "digamma", "psi", "polygamma", "xlogy",
           "xlog1py", "entr", "expit", "log_expit", "logit", "logsumexp", "softmax",
           "log_softmax"]

