"""Elementwise `fxad.numpy` functions: NumPy's names and promotion over the primitives."""
import numpy as np

from ..core import get_aval, is_float
from ..primitives import elementwise as ew
from ..primitives.structural import broadcast_in_dim
from ._base import asarray, promote, to_float, fresh


def _float_unary(prim_fn, name):
    def fn(x):
        return prim_fn(to_float(x))
    fn.__name__ = name
    fn.__doc__ = f"Elementwise `numpy.{name}`, differentiable. Integers become float64."
    return fn


def _keep_dtype_unary(prim_fn, name):
    def fn(x):
        return prim_fn(asarray(x))
    fn.__name__ = name
    fn.__doc__ = f"Elementwise `numpy.{name}`; keeps the input dtype."
    return fn


def _binary(prim_fn, name, to_float_=False):
    def fn(x1, x2):
        return prim_fn(*promote(x1, x2, to_float=to_float_))
    fn.__name__ = name
    fn.__doc__ = f"Elementwise `numpy.{name}` with NumPy broadcasting and dtype promotion."
    return fn


_FLOAT_UNARY = {
    "sin": ew.sin, "cos": ew.cos, "tan": ew.tan, "arcsin": ew.asin, "arccos": ew.acos,
    "arctan": ew.atan, "sinh": ew.sinh, "cosh": ew.cosh, "tanh": ew.tanh,
    "arcsinh": ew.asinh, "arccosh": ew.acosh, "arctanh": ew.atanh, "exp": ew.exp,
    "exp2": ew.exp2, "expm1": ew.expm1, "log": ew.log, "log2": ew.log2, "log10": ew.log10,
    "log1p": ew.log1p, "sqrt": ew.sqrt, "cbrt": ew.cbrt,
}
_ROUNDING = {"floor": ew.floor, "ceil": ew.ceil, "rint": ew.round}
_KEEP_DTYPE_UNARY = {"negative": ew.neg, "abs": ew.abs, "sign": ew.sign,
                     "invert": ew.not_, "bitwise_not": ew.not_}
_BINARY = {
    "add": ew.add, "subtract": ew.sub, "multiply": ew.mul, "floor_divide": ew.floor_divide,
    "remainder": ew.rem, "maximum": ew.max, "minimum": ew.min,
    "equal": ew.eq, "not_equal": ew.ne, "less": ew.lt, "less_equal": ew.le,
    "greater": ew.gt, "greater_equal": ew.ge,
    "bitwise_and": ew.and_, "bitwise_or": ew.or_, "bitwise_xor": ew.xor,
}
_FLOAT_BINARY = {"true_divide": ew.div, "arctan2": ew.atan2}

globals().update({n: _float_unary(f, n) for n, f in _FLOAT_UNARY.items()})
globals().update({n: _keep_dtype_unary(f, n) for n, f in _KEEP_DTYPE_UNARY.items()})


def _rounding(prim_fn, name):
    def fn(x):
        x = asarray(x)
        return prim_fn(x) if get_aval(x).dtype.kind in "fc" else fresh(x)   # integers
    fn.__name__ = name
    fn.__doc__ = f"Elementwise `numpy.{name}` (zero derivative); integers stay as they are."
    return fn


globals().update({n: _rounding(f, n) for n, f in _ROUNDING.items()})
globals().update({n: _binary(f, n) for n, f in _BINARY.items()})
globals().update({n: _binary(f, n, to_float_=True) for n, f in _FLOAT_BINARY.items()})
divide = true_divide          # noqa: F821
mod = remainder               # noqa: F821
absolute = abs                # noqa: F821


def positive(x):
    """`+x` (a copy)."""
    return fresh(asarray(x))


def square(x):
    """`x * x`, elementwise."""
    return ew.integer_pow(asarray(x), 2)


def reciprocal(x):
    """`1 / x`, elementwise (in floating point)."""
    x = to_float(x)
    return ew.div(ew.const(x, 1.0), x)


def power(x1, x2):
    """`x1 ** x2` with NumPy broadcasting. An integer exponent known at trace time uses
    `integer_pow`, which is exact and differentiable at x1 == 0."""
    if isinstance(x2, (int, np.integer)) and not isinstance(x2, bool):
        x1 = asarray(x1)
        if x2 < 0:
            x1 = to_float(x1)
        return ew.integer_pow(x1, int(x2))
    return ew.pow(*promote(x1, x2))


def round(x, decimals=0):  # noqa: A001
    """Round to `decimals` places (half to even, as NumPy). Its derivative is zero."""
    x = asarray(x)
    if not is_float(get_aval(x).dtype):
        return fresh(x)
    if decimals == 0:
        return ew.round(x)
    scale = ew.const(x, 10.0 ** decimals)
    return ew.div(ew.round(ew.mul(x, scale)), scale)


around = round


def isfinite(x):
    """True where `x` is neither infinite nor NaN."""
    x = asarray(x)
    return ew.is_finite(x) if is_float(get_aval(x).dtype) else ew.eq(x, x)


def isnan(x):
    """True where `x` is NaN."""
    x = asarray(x)
    return ew.ne(x, x)


def isinf(x):
    """True where `x` is +inf or -inf."""
    x = asarray(x)
    return logical_and(ew.not_(isfinite(x)), ew.eq(x, x))


def _as_bool(x):
    x = asarray(x)
    return x if get_aval(x).dtype == np.bool_ else ew.ne(*promote(x, 0))


def logical_and(x1, x2):
    return ew.and_(*promote(_as_bool(x1), _as_bool(x2)))


def logical_or(x1, x2):
    return ew.or_(*promote(_as_bool(x1), _as_bool(x2)))


def logical_xor(x1, x2):
    return ew.xor(*promote(_as_bool(x1), _as_bool(x2)))


def logical_not(x):
    return ew.not_(_as_bool(x))


def _logaddexp_value(x1, x2):
    m = ew.max(x1, x2)
    delta = ew.sub(x1, x2)
    safe = ew.add(m, ew.log1p(ew.exp(ew.neg(ew.abs(delta)))))
    return ew.select(ew.ne(delta, delta), ew.add(x1, x2), safe)   # both inf: NaN delta


def _logaddexp_jvp(primals, tangents):
    """Softmax weights, smooth everywhere (max/abs in the value have kinks at ties)."""
    (x1, x2), (t1, t2) = primals, tangents
    out = _logaddexp(x1, x2)
    return out, ew.add(ew.mul(t1, ew.exp(ew.sub(x1, out))), ew.mul(t2, ew.exp(ew.sub(x2, out))))


_logaddexp = None


def logaddexp(x1, x2):
    """`log(exp(x1) + exp(x2))`, computed without overflow; derivatives of every order
    are the smooth ones, ties included."""
    global _logaddexp
    if _logaddexp is None:                        # (fxad.custom imports fxad.numpy's parts)
        from ..custom import custom_jvp
        _logaddexp = custom_jvp(_logaddexp_value)
        _logaddexp.defjvp(_logaddexp_jvp)
    return _logaddexp(*promote(x1, x2, to_float=True))


def hypot(x1, x2):
    """`sqrt(x1**2 + x2**2)`, elementwise."""
    x1, x2 = promote(x1, x2, to_float=True)
    return ew.sqrt(ew.add(ew.mul(x1, x1), ew.mul(x2, x2)))


def where(condition, x=None, y=None):
    """`x` where `condition` holds, else `y` (broadcast together). Only the selected
    branch receives gradient; see docs/sharp_bits.md for NaNs in the other branch."""
    if x is None and y is None:
        from ._shape import nonzero
        return nonzero(condition)
    cond = _as_bool(condition)
    x, y = promote(x, y)
    out_shape = np.broadcast_shapes(*(get_aval(v).shape for v in (cond, x, y)))
    cond, x, y = (v if get_aval(v).shape in ((), out_shape) else
                  broadcast_in_dim(v, out_shape, range(len(out_shape) - get_aval(v).ndim,
                                                       len(out_shape))) for v in (cond, x, y))
    return ew.select(cond, x, y)


def where_safe(condition, fun, x, otherwise=0.0, safe_value=1.0):
    """`where(condition, fun(x), otherwise)` with a gradient that stays finite where `fun`
    is not defined (fxad's safe form of the "double where" idiom): `fun` only ever sees
    `x` where `condition` holds and `safe_value` elsewhere, so no NaN/inf from the
    unselected positions reaches the derivative (with plain `where` it would: 0 * inf).

    >>> import fxad, fxad.numpy as fnp, numpy as np
    >>> f = lambda x: fnp.where_safe(x > 0, fnp.sqrt, x).sum()
    >>> fxad.grad(f)(np.array([4.0, 0.0, -1.0]))
    array([0.25, 0.  , 0.  ])
    """
    x = asarray(x)
    inside = where(condition, x, safe_value)
    return where(condition, fun(inside), otherwise)


def clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    """`a` limited to `[a_min, a_max]` (either may be None)."""
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    out = asarray(a)
    if lo is not None:
        out = maximum(out, lo)   # noqa: F821
    if hi is not None:
        out = minimum(out, hi)   # noqa: F821
    return out


def fmax(x1, x2):
    return maximum(x1, x2)       # noqa: F821


def fmin(x1, x2):
    return minimum(x1, x2)       # noqa: F821


def _real_only(x, name):
    x = asarray(x)
    if get_aval(x).dtype.kind == "c":
        raise NotImplementedError(f"fxad.numpy.{name} of complex values is not supported yet")
    return x


def real(val):
    """The real part (fxad differentiates real-valued programs: this is `val` itself)."""
    return _real_only(val, "real")


def imag(val):
    """The imaginary part of a real array: zeros (a constant)."""
    x = _real_only(val, "imag")
    aval = get_aval(x)
    return np.zeros(aval.shape, aval.dtype)


def conj(x):
    """The complex conjugate of a real array: a copy of it."""
    return fresh(_real_only(x, "conj"))


conjugate = conj


def astype(x, dtype, copy=True):
    """`x` converted to `dtype` (float-to-int conversions carry no gradient); a copy
    unless `copy=False` (as in NumPy)."""
    out = ew.convert_element_type(asarray(x), np.dtype(dtype))
    return fresh(out) if copy and out is x else out


ELEMENTWISE_NAMES = (list(_FLOAT_UNARY) + list(_ROUNDING) + list(_KEEP_DTYPE_UNARY) + list(_BINARY)
                     + list(_FLOAT_BINARY) + [
                         "divide", "mod", "absolute", "positive", "square", "reciprocal",
                         "power", "round", "around", "isfinite", "isnan", "isinf",
                         "logical_and", "logical_or", "logical_xor", "logical_not",
                         "logaddexp", "hypot", "where", "clip", "fmax", "fmin", "astype",
                         "real", "imag", "conj", "conjugate", "where_safe"])
