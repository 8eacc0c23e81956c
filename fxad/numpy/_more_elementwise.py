"""More elementwise `fxad.numpy` functions (autograd's breadth): rounding, sign handling,
angle conversions, `sinc`, floating-point tests and comparisons, composed from the
elementwise primitives (so every transform works on them). Piecewise-constant ones
(`trunc`, `signbit`, `isclose`...) have zero derivative."""
import numpy as np

from ..core import Tracer, get_aval, is_float
from ..primitives import elementwise as ew
from . import _elementwise as el
from ._base import asarray, promote, to_float, fresh
from ._reductions import all as _all


def _c(x, value):
    return ew.const(x, value)


def fabs(x):
    """Absolute value, in floating point (integers become float64)."""
    return ew.abs(to_float(x))


def trunc(x):
    """Round towards zero (derivative zero). Integers are returned unchanged (copied)."""
    x = asarray(x)
    if not is_float(get_aval(x).dtype):
        return fresh(x)
    return ew.select(ew.lt(x, _c(x, 0)), ew.ceil(x), ew.floor(x))


def fix(x, out=None):
    """Round towards zero (NumPy's `fix`; derivative zero)."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.fix: `out=` is not supported")
    return trunc(x)


def signbit(x):
    """True where the sign bit is set (also for -0.0 and -inf)."""
    x = asarray(x)
    if not is_float(get_aval(x).dtype):
        return ew.lt(x, _c(x, 0))
    # arctan2(0, x) is pi exactly where x carries a minus sign (-0.0 included), else 0
    return ew.gt(ew.atan2(_c(x, 0.0), x), _c(x, 0.0))


def copysign(x1, x2):
    """|x1| with the sign of x2. The derivative with respect to x2 is zero."""
    x1, x2 = promote(x1, x2, to_float=True)
    mag = ew.abs(x1)
    return el.where(signbit(x2), ew.neg(mag), mag)


def heaviside(x1, x2):
    """0 where x1 < 0, 1 where x1 > 0, x2 where x1 == 0 (NaN where x1 is NaN)."""
    x1, x2 = promote(x1, x2, to_float=True)
    inner = el.where(ew.gt(x1, _c(x1, 0)), _c(x1, 1.0), x2)
    out = el.where(ew.lt(x1, _c(x1, 0)), _c(x1, 0.0), inner)
    return el.where(ew.ne(x1, x1), _c(x1, np.nan), out)


def sinc(x):
    """`sin(pi x) / (pi x)`, 1 at 0; its derivatives at 0 are exact to second order."""
    x = to_float(x)
    px = ew.mul(x, _c(x, np.pi))
    small = ew.lt(ew.abs(px), _c(x, 1e-4))
    safe = el.where(small, 1.0, px)
    ratio = ew.div(ew.sin(safe), safe)
    p2 = ew.mul(px, px)
    series = ew.add(_c(x, 1.0), ew.mul(p2, ew.add(_c(x, -1 / 6), ew.mul(p2, _c(x, 1 / 120)))))
    return ew.select(small, series, ratio)


def deg2rad(x):
    """Degrees to radians."""
    x = to_float(x)
    return ew.mul(x, _c(x, np.pi / 180.0))


def rad2deg(x):
    """Radians to degrees."""
    x = to_float(x)
    return ew.mul(x, _c(x, 180.0 / np.pi))


radians, degrees = deg2rad, rad2deg


def float_power(x1, x2):
    """`x1 ** x2` computed in float64 (or wider)."""
    if isinstance(x2, (int, np.integer)) and not isinstance(x2, bool):
        x1 = asarray(x1)
        return el.power(ew.convert_element_type(x1, np.result_type(get_aval(x1).dtype,
                                                                     np.float64)), x2)
    x1, x2 = promote(x1, x2)
    dtype = np.result_type(get_aval(x1).dtype, np.float64)
    return ew.pow(ew.convert_element_type(x1, dtype), ew.convert_element_type(x2, dtype))


def fmod(x1, x2):
    """C's remainder, with the sign of the dividend: `sign(x1) * (|x1| mod |x2|)`."""
    x1, x2 = promote(x1, x2)
    r = ew.rem(ew.abs(x1), ew.abs(x2))
    if is_float(get_aval(x1).dtype):
        return el.where(signbit(x1), ew.neg(r), r)
    return el.where(ew.lt(x1, _c(x1, 0)), ew.neg(r), r)


def divmod(x1, x2):  # noqa: A001
    """`(floor_divide(x1, x2), remainder(x1, x2))`."""
    return el.floor_divide(x1, x2), el.remainder(x1, x2)


def modf(x):
    """The fractional and integral parts of `x`, both with the sign of `x`."""
    x = to_float(x)
    whole = trunc(x)
    inf = ew.eq(ew.abs(x), _c(x, np.inf))
    finite = el.where(inf, 0.0, x)                  # no inf - inf
    frac = ew.sub(finite, trunc(finite))
    return el.where(inf, copysign(0.0, x), frac), whole


def ldexp(x1, x2):
    """`x1 * 2**x2` for integer `x2` (exact; differentiable in `x1`)."""
    x1 = to_float(x1)
    x2 = asarray(x2)
    if is_float(get_aval(x2).dtype):
        raise TypeError("ldexp: the exponent must be an integer array")
    dtype = get_aval(x1).dtype
    scale = ew.pow(*promote(np.asarray(2.0, dtype), ew.convert_element_type(x2, dtype)))
    return el.multiply(x1, scale)


def logaddexp2(x1, x2):
    """`log2(2**x1 + 2**x2)`, computed without overflow."""
    x1, x2 = promote(x1, x2, to_float=True)
    m = ew.max(x1, x2)
    delta = ew.sub(x1, x2)
    soft = ew.div(ew.log1p(ew.exp2(ew.neg(ew.abs(delta)))), _c(x1, np.log(2.0)))
    return ew.select(ew.ne(delta, delta), ew.add(x1, x2), ew.add(m, soft))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN -> `nan`, +inf -> `posinf` (default: the largest finite value), -inf ->
    `neginf`. The derivative passes through the finite elements."""
    x = asarray(x)
    dtype = get_aval(x).dtype
    if not is_float(dtype):
        return fresh(x) if copy else x
    big = np.finfo(dtype).max
    out = el.where(ew.ne(x, x), _c(x, nan), x)
    out = el.where(ew.eq(x, _c(x, np.inf)), _c(x, big if posinf is None else posinf), out)
    return el.where(ew.eq(x, _c(x, -np.inf)), _c(x, -big if neginf is None else neginf), out)


def isposinf(x):
    x = asarray(x)
    return ew.eq(x, _c(x, np.inf)) if is_float(get_aval(x).dtype) else ew.ne(x, x)


def isneginf(x):
    x = asarray(x)
    return ew.eq(x, _c(x, -np.inf)) if is_float(get_aval(x).dtype) else ew.ne(x, x)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """`|a - b| <= atol + rtol * |b|` elementwise (NumPy's rule, infinities equal only to
    themselves). Not differentiable (boolean)."""
    a, b = promote(a, b, to_float=True)
    finite = el.isfinite(b)
    a_, b_ = el.where(finite, a, 0.0), el.where(finite, b, 0.0)     # no inf - inf
    ok = ew.le(ew.abs(ew.sub(a_, b_)), ew.add(_c(a, atol), ew.mul(_c(a, rtol), ew.abs(b_))))
    out = el.logical_or(el.logical_and(ok, finite), ew.eq(a, b))
    if equal_nan:
        out = el.logical_or(out, el.logical_and(ew.ne(a, a), ew.ne(b, b)))
    return out


def _py_bool(x):
    return x if isinstance(x, Tracer) else bool(x)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element is `isclose` (a traced boolean under `jit`)."""
    return _py_bool(_all(isclose(a, b, rtol, atol, equal_nan)))


def array_equal(a1, a2, equal_nan=False):
    """True when the shapes agree and all elements are equal."""
    a1, a2 = asarray(a1), asarray(a2)
    if get_aval(a1).shape != get_aval(a2).shape:
        return False
    eq = el.equal(a1, a2)
    if equal_nan:
        eq = el.logical_or(eq, el.logical_and(el.isnan(a1), el.isnan(a2)))
    return _py_bool(_all(eq))


def array_equiv(a1, a2):
    """True when the arrays broadcast together and all elements are equal."""
    a1, a2 = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(get_aval(a1).shape, get_aval(a2).shape)
    except ValueError:
        return False
    return _py_bool(_all(el.equal(a1, a2)))


def iscomplexobj(x):
    return get_aval(asarray(x)).dtype.kind == "c"


def isrealobj(x):
    return not iscomplexobj(x)


def iscomplex(x):
    """False everywhere (fxad arrays are real)."""
    x = el._real_only(x, "iscomplex")
    return np.zeros(get_aval(x).shape, np.bool_)[()]


def isreal(x):
    """True everywhere (fxad arrays are real)."""
    x = el._real_only(x, "isreal")
    return np.ones(get_aval(x).shape, np.bool_)[()]


def isscalar(element):
    """NumPy's rule; a 0-d traced value counts as a scalar (as in JAX)."""
    if isinstance(element, Tracer):
        return element.ndim == 0
    return np.isscalar(element)


def real_if_close(a, tol=100):
    """For real input: `a` itself."""
    return el._real_only(a, "real_if_close")


def angle(z, deg=False):
    """The argument of real `z`: pi where it is negative (or -0.0), else 0 (derivative
    zero)."""
    z = to_float(el._real_only(z, "angle"))
    out = ew.stop_gradient_p.bind(ew.atan2(np.zeros(get_aval(z).shape, get_aval(z).dtype), z))
    return rad2deg(out) if deg else out


ELEMENTWISE_MORE_NAMES = [
    "fabs", "trunc", "fix", "signbit", "copysign", "heaviside", "sinc", "deg2rad", "rad2deg",
    "radians", "degrees", "float_power", "fmod", "divmod", "modf", "ldexp", "logaddexp2",
    "nan_to_num", "isposinf", "isneginf", "isclose", "allclose", "array_equal",
    "array_equiv", "iscomplexobj", "isrealobj", "iscomplex", "isreal", "isscalar",
    "real_if_close", "angle"]
