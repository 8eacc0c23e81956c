"""Special-function primitives: erf, erfc, lgamma, digamma, polygamma, and the products
xlogy / xlog1py that are 0 where x == 0. Each has all its rules (impl, abstract_eval,
jvp, batch); none is linear and none has a Numba template (under `jit` they run their
NumPy impl between kernels). `fxad.scipy.special` is the user-facing layer.

Values are computed with NumPy alone (no SciPy), vectorised, in float64; float32 inputs
get the float64 result rounded. Accuracy against mpmath, relative unless noted:
  erf, erfc  a few ulp (<= 1e-15) everywhere: a Taylor series for |x| < 1, and
             exp(-x^2) * erfcx(x) beyond, with erfcx fitted by Chebyshev series in 1/x and
             exp(-x^2) computed from an exact split of x^2 (as Cephes' expx2).
  lgamma     <= 1e-15 for x > 0, including next to its zeros at 1 and 2 (lgamma =
             (x-1)(x-2) P(x) on [0.5, 3], P a Chebyshev series); recurrences and
             Stirling's series for x >= 10; the reflection formula for x < 0 (absolute
             accuracy near its negative zeros).
  digamma    <= 1e-15 for x > 0, including next to its zero 1.4616... (digamma =
             (x - x0) P(x) on [1, 3]); recurrences, the asymptotic series for x >= 10,
             reflection for x < 0 (absolute accuracy near its negative zeros).
  polygamma  n >= 1: <= 1e-14: the recurrence up to x >= 20 + n (every term of one
             sign) and the asymptotic series; reflection through the n-th derivative of
             cot for x < 0. Factorials limit n to about 150.
The Chebyshev coefficients were fitted once with mpmath at 60 digits (interpolation at
80 Chebyshev nodes, truncated below 1e-18 of the largest); they are plain constants here.
Special values follow scipy.special (poles, infinities, NaN).
"""
import math
from fractions import Fraction
import functools

import numpy as np

from . import elementwise as ew
from .elementwise import (_define, defjvp, unary, binary, const, add, mul, div, neg, exp, log,
                          log1p, select)

# --------------------------------------------------------------------------- fitted series
# Chebyshev series (mid, half-width, coefficients) in u = (v - mid) / half-width:
# erfcx(a) = exp(a^2) erfc(a) in v = 1/a, for a in [1, 2], [2, 4], [4, 28];
# lgamma(x) / ((x-1)(x-2)) in v = x for x in [0.5, 3]; digamma(x) / (x - x0) for x in [1, 3].
_ERFCX_0 = (0.75, 0.25, np.array([
    0.34630983395966086, 0.08590894585892477, -0.0048227258406236305,
    0.00018649431517576382, 2.3252063776608847e-06, -1.4733383612378742e-06,
    1.9195365298660884e-07, -1.691935104974401e-08, 9.652273977708754e-10,
    4.308538357172454e-12, -1.0902437357821795e-11, 1.9319602881246526e-12,
    -2.3511940435564646e-13, 2.1898369241286998e-14, -1.3800918113542067e-15,
    -2.8754094533689764e-18, 1.8533616740288634e-17, -3.774908656017259e-18,
    5.358832697790009e-19,]))
_ERFCX_1 = (0.375, 0.125, np.array([
    0.19763099710706403, 0.05921206256846238, -0.0014375355141329196,
    -1.3710635555965746e-05, 4.1019694634383156e-06, -2.4339401776866506e-07,
    3.501110553087868e-09, 7.983988974835515e-10, -9.570709758537243e-11,
    5.468606047532574e-12, -1.867595007900804e-14, -3.368077142561969e-14,
    4.226096028485855e-15, -2.8796271072732064e-16, 5.35240164050217e-18,
    1.570357313964542e-18, -2.620066630541558e-19,]))
_ERFCX_2 = (0.14285714285714285, 0.10714285714285714, np.array([
    0.0791806532718604, 0.05849494509883396, -0.0006159408829344839,
    -6.372272164322982e-05, 3.4386755823890303e-06, 1.049299876778687e-07,
    -2.138421189496876e-08, 5.351065507756111e-10, 1.1446228984235058e-10,
    -1.1985936011068414e-11, -1.1134100672667983e-13, 1.2506495148376583e-13,
    -9.70004910763767e-15, -5.241393997488665e-16, 1.6980612470420692e-16,
    -1.080502386728582e-17, -1.1561038081112254e-18, 2.8798920134107477e-19,]))
_LGAMMA = (1.75, 1.25, np.array([
    0.4969196496241282, -0.18983770295364127, 0.051642363278249136,
    -0.01620888582719529, 0.005480868756901195, -0.0019373470781938534,
    0.0007048910082035581, -0.00026169697337740814, 9.861130565519249e-05,
    -3.7584856908988406e-05, 1.4455839828556131e-05, -5.6014342781194404e-06,
    2.1839963102639326e-06, -8.560510993494189e-07, 3.3707703487176757e-07,
    -1.3325698991082197e-07, 5.286623421759879e-08, -2.1039026610571943e-08,
    8.396346115994458e-09, -3.3593279703588836e-09, 1.347128417758247e-09,
    -5.413413585081661e-10, 2.179523895564128e-10, -8.790476934031152e-11,
    3.551107466208523e-11, -1.4366889879916915e-11, 5.820523962016641e-12,
    -2.361128116146316e-12, 9.589528652171644e-13, -3.8990699504056754e-13,
    1.5870109734168948e-13, -6.465854220933822e-14, 2.6367771020705008e-14,
    -1.0762152407586304e-14, 4.396243296659399e-15, -1.797221357503132e-15,
    7.352595459272878e-16, -3.010110271283285e-16, 1.2331372609685956e-16,
    -5.054910883766592e-17, 2.073363598084663e-17, -8.509128175401906e-18,
    3.494064241874015e-18, -1.4354970125753624e-18, 5.900507319336165e-19,]))
_DIGAMMA_13 = (2.0, 1.0, np.array([
    0.8508141002274594, -0.30691795316595705, 0.06960086856205178, -0.01712297234345182,
    0.004374961886424303, -0.0011401796377915106, 0.00030046127392236794,
    -7.969172661686522e-05, 2.1218853925722328e-05, -5.6631596935365925e-06,
    1.5136717505341737e-06, -4.0495026233355134e-07, 1.083979923064392e-07,
    -2.9026750711369042e-08, 7.774554697983642e-09, -2.082649195692377e-09,
    5.579524084715322e-10, -1.4948718863979587e-10, 4.005228073341035e-11,
    -1.0731515178725395e-11, 2.8754217843517632e-12, -7.704533926086572e-13,
    2.0644004026236004e-13, -5.53150434659318e-14, 1.482155285389004e-14,
    -3.971411389284323e-15, 1.0641344625722717e-15, -2.8513362471718133e-16,
    7.640126526131413e-17, -2.047164716811876e-17, 5.485359583436558e-18,
    -1.4697973715349978e-18,]))
_DIGAMMA_ROOT = (1.4616321449683622, 9.549995429965697e-17)

_BERNOULLI = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
              Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510),
              Fraction(43867, 798), Fraction(-174611, 330), Fraction(854513, 138),
              Fraction(-236364091, 2730)]                      # B_2, B_4, ..., B_24
# erf(x) = x * sum_n c_n x^(2n) for |x| < 1 (truncation error < 1e-17)
_ERF_TAYLOR = np.array([2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
                        for n in range(19)])
# Stirling: lgamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + sum_k B_2k / (2k (2k-1) x^(2k-1))
_STIRLING = np.array([float(b / (2 * k * (2 * k - 1)))
                      for k, b in enumerate(_BERNOULLI[:8], 1)])
# digamma(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k)
_DIGAMMA_ASYM = np.array([float(b / (2 * k)) for k, b in enumerate(_BERNOULLI[:8], 1)])
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _horner(coef, z):
    """sum_k coef[k] z^k (in place: large arrays stay memory-bound, not allocation-bound)."""
    p = np.full_like(z, coef[-1])
    for c in coef[-2::-1]:
        p *= z
        p += c
    return p


def _cheb(table, v):
    """Clenshaw's recurrence for a Chebyshev series (mid, half, coef) at v."""
    mid, half, coef = table
    u = v - mid
    u /= half
    u2 = u + u
    b1, b2, tmp = np.zeros_like(u), np.zeros_like(u), np.empty_like(u)
    for c in coef[:0:-1]:                # b1 <- 2u b1 - b2 + c, b2 <- b1
        np.multiply(u2, b1, out=tmp)
        tmp -= b2
        tmp += c
        b1, b2, tmp = tmp, b1, b2
    u *= b1
    u -= b2
    u += coef[0]
    return u


def _float64_impl(fn):
    """An impl computing `fn` on a float64 1-d copy of the input; result in x's dtype."""
    def impl(x, **params):
        x = np.asarray(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        with np.errstate(all="ignore"):
            out = fn(np.array(x, np.float64, ndmin=1).ravel(), **params)
        return out.reshape(x.shape).astype(dtype, copy=False)[()]
    return impl


def _pieces(x, out, *cases):
    """out[mask] = fn(x[mask]) for each (mask, fn) (masks are disjoint); returns out."""
    for mask, fn in cases:
        if mask.all():
            return fn(x)
        if mask.any():
            out[mask] = fn(x[mask])
    return out


# --------------------------------------------------------------------------- erf, erfc


def _erf_small(x):                       # |x| < 1
    return x * _horner(_ERF_TAYLOR, x * x)


def _erfc_large(a):                      # a >= 1 (or NaN): exp(-a^2) erfcx(a)
    a = np.minimum(a, 28.0)              # erfc(28) underflows to 0
    g = _pieces(1.0 / a, np.empty_like(a),
                (a < 2, lambda t: _cheb(_ERFCX_0, t)),
                ((a >= 2) & (a < 4), lambda t: _cheb(_ERFCX_1, t)),
                (~(a < 4), lambda t: _cheb(_ERFCX_2, t)))
    m = np.floor(a * 128.0 + 0.5) / 128.0   # a = m + f with m*m exact: exp(-a^2) to ~1 ulp
    f = a - m
    return np.exp(-m * m) * np.exp(-(2.0 * m + f) * f) * g


def _erf64(x):
    small = np.abs(x) < 1.0
    return _pieces(x, np.empty_like(x), (small, _erf_small),
                   (~small, lambda x: np.copysign(1.0 - _erfc_large(np.abs(x)), x)))


def _erfc64(x):
    def large(x):
        e = _erfc_large(np.abs(x))
        return np.where(x > 0, e, 2.0 - e)
    small = np.abs(x) < 1.0
    return _pieces(x, np.empty_like(x), (small, lambda x: 1.0 - _erf_small(x)), (~small, large))


# --------------------------------------------------------------------------- lgamma


def _lgamma_13(x):                       # 0.5 <= x <= 3
    return (x - 1.0) * (x - 2.0) * _cheb(_LGAMMA, x)


def _lgamma_shift(x):                    # 3 <= x < 10: down to [2, 3), a product of positives
    k = np.floor(x) - 2.0
    prod = np.ones_like(x)
    for j in range(1, 8):
        prod *= np.where(j <= k, x - j, 1.0)
    return _lgamma_13(x - k) + np.log(prod)


def _lgamma_stirling(x):                 # x >= 10 (or inf, NaN)
    w = 1.0 / (x * x)
    series = _horner(_STIRLING, w) / x
    out = (x - 0.5) * np.log(x) - x + _HALF_LOG_2PI + series
    return np.where(x == np.inf, np.inf, out)


def _lgamma_pos(x):                      # x > 0
    return _pieces(x, np.empty_like(x),
                   (x < 0.5, lambda x: _lgamma_13(x + 1.0) - np.log(x)),
                   ((x >= 0.5) & (x < 3), _lgamma_13),
                   ((x >= 3) & (x < 10), _lgamma_shift),
                   (~(x < 10), _lgamma_stirling))


def _lgamma_neg(x):                      # x < 0: log(pi / |sin(pi x)|) - lgamma(1 - x)
    r = np.abs(x - np.round(x))          # exact, in [0, 1/2]
    out = math.log(math.pi) - np.log(np.sin(math.pi * r)) - _lgamma_pos(1.0 - x)
    return np.where(x == -np.inf, -np.inf, out)   # (scipy's value)


def _lgamma64(x):
    other = ~((x > 0) | (x < 0))         # 0 (a pole) and NaN
    return _pieces(x, np.empty_like(x), (x > 0, _lgamma_pos), (x < 0, _lgamma_neg),
                   (other, lambda x: np.where(x == 0, np.inf, x)))


# --------------------------------------------------------------------------- digamma


def _digamma_13(x):                      # 1 <= x <= 3, exact near the zero x0
    return ((x - _DIGAMMA_ROOT[0]) - _DIGAMMA_ROOT[1]) * _cheb(_DIGAMMA_13, x)


def _digamma_shift(x):                   # 3 <= x < 10: down to [2, 3), a sum of positives
    k = np.floor(x) - 2.0
    acc = np.zeros_like(x)
    for j in range(1, 8):
        acc += np.where(j <= k, 1.0 / (x - j), 0.0)
    return _digamma_13(x - k) + acc


def _digamma_asym(x):                    # x >= 10 (or inf, NaN)
    w = 1.0 / (x * x)
    return np.log(x) - 0.5 / x - w * _horner(_DIGAMMA_ASYM, w)


def _digamma_pos(x):
    return _pieces(x, np.empty_like(x),
                   (x < 1, lambda x: _digamma_13(x + 1.0) - 1.0 / x),
                   ((x >= 1) & (x < 3), _digamma_13),
                   ((x >= 3) & (x < 10), _digamma_shift),
                   (~(x < 10), _digamma_asym))


def _digamma_neg(x):                     # x < 0: digamma(1 - x) - pi cot(pi x)
    r = x - np.round(x)
    out = _digamma_pos(1.0 - x) - math.pi / np.tan(math.pi * r)
    return np.where(r == 0, np.nan, out)  # poles at the negative integers (and -inf): NaN


def _digamma64(x):
    other = ~((x > 0) | (x < 0))
    return _pieces(x, np.empty_like(x), (x > 0, _digamma_pos), (x < 0, _digamma_neg),
                   (other, lambda x: np.where(x == 0, np.copysign(np.inf, -x), x)))


# --------------------------------------------------------------------------- polygamma


@functools.lru_cache(maxsize=None)
def _polygamma_tables(n):
    """(sign, n!, (n-1)!, asymptotic coefficients, x_min, cot-derivative polynomial)."""
    asym = np.array([float(b * Fraction(math.factorial(2 * k + n - 1), math.factorial(2 * k)))
                     for k, b in enumerate(_BERNOULLI[:10], 1)])
    p = [0, 1]                           # P_0(c) = c; P_{k+1} = -(1 + c^2) P_k'(c)
    for _ in range(n):
        dp = [i * p[i] for i in range(1, len(p))]
        q = [0] * (len(dp) + 2)
        for i, a in enumerate(dp):
            q[i] -= a
            q[i + 2] -= a
        p = q
    return ((-1.0) ** (n + 1), float(math.factorial(n)), float(math.factorial(n - 1)), asym,
            20.0 + n, np.array([float(c) for c in p]))


def _polygamma_asym(n, z):
    sign, fact_n, fact_n1, asym, _, _ = _polygamma_tables(n)
    w = 1.0 / (z * z)
    return sign * z ** -n * (fact_n1 + fact_n / (2.0 * z) + w * _horner(asym, w))


def _polygamma_pos(n, x):                # x > 0: shift up to x_min, every term one sign
    sign, fact_n, _, _, x_min, _ = _polygamma_tables(n)

    def shifted(x):
        steps = np.ceil(x_min - x)
        acc = np.zeros_like(x)
        for j in range(int(steps.max())):
            acc += np.where(j < steps, (x + j) ** -(n + 1), 0.0)
        return sign * fact_n * acc + _polygamma_asym(n, x + steps)
    return _pieces(x, np.empty_like(x), (x < x_min, shifted),
                   (~(x < x_min), lambda x: _polygamma_asym(n, x)))


def _polygamma_neg(n, x):                # (-1)^n psi_n(1 - x) - pi^(n+1) P_n(cot(pi x))
    sign, _, _, _, _, cot_poly = _polygamma_tables(n)
    r = x - np.round(x)
    cot = 1.0 / np.tan(math.pi * r)
    out = (-1.0) ** n * _polygamma_pos(n, 1.0 - x) - math.pi ** (n + 1) * _horner(cot_poly, cot)
    return np.where((r == 0) | (x == -np.inf), sign * np.inf, out)   # poles, as scipy


def _polygamma64(x, n):
    if n == 0:
        return _digamma64(x)
    sign = (-1.0) ** (n + 1)
    other = ~((x > 0) | (x < 0))
    return _pieces(x, np.empty_like(x), (x > 0, lambda x: _polygamma_pos(n, x)),
                   (x < 0, lambda x: _polygamma_neg(n, x)),
                   (other, lambda x: np.where(x == 0, sign * np.inf, x)))


# --------------------------------------------------------------------------- primitives

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_slope(x):
    """erf'(x) = 2/sqrt(pi) exp(-x^2)."""
    return mul(const(x, _TWO_OVER_SQRT_PI), exp(neg(mul(x, x))))


erf = unary("erf", _float64_impl(_erf64), lambda t, out, x: mul(t, _erf_slope(x)))
erfc = unary("erfc", _float64_impl(_erfc64), lambda t, out, x: neg(mul(t, _erf_slope(x))))
lgamma = unary("lgamma", _float64_impl(_lgamma64), lambda t, out, x: mul(t, digamma(x)))
digamma = unary("digamma", _float64_impl(_digamma64),
                lambda t, out, x: mul(t, polygamma(1, x)))

polygamma_p = _define("polygamma", _float64_impl(_polygamma64), 1)
polygamma_p.abstract_eval = lambda x, n: x
defjvp(polygamma_p, lambda t, out, x, n: mul(t, polygamma(n + 1, x)))


def polygamma(n, x):
    """The n-th derivative of digamma (n >= 1, a Python int: a static parameter)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"polygamma primitive needs n >= 1, got {n} (use digamma)")
    return polygamma_p.bind(x, n=n)


def _x_over(x, y):
    """x / y, taken as 0 where x == y == 0 (where it is 0/0)."""
    both_zero = ew.and_(ew.eq(x, const(x, 0)), ew.eq(y, const(y, 0)))
    return div(x, select(both_zero, const(y, 1), y))


def _xlog_impl(log_fn):
    def impl(x, y):
        with np.errstate(all="ignore"):
            out = np.where((x == 0) & ~np.isnan(y), 0, x * log_fn(y))
        return out.astype(np.result_type(x, y), copy=False)[()]
    return impl


# x * log(y) (x * log1p(y)), 0 where x == 0 even if the log is -inf or y < 0 (NaN y stays
# NaN, as scipy). d/dx = log(y) is the true partial derivative (also at x == 0); d/dy =
# x / y (x / (1 + y)), taken as 0 at its 0/0 point, so no NaN reaches a gradient.
xlogy = binary("xlogy", _xlog_impl(np.log),
               lambda t, out, x, y: mul(t, log(y)),
               lambda t, out, x, y: mul(t, _x_over(x, y)))
xlog1py = binary("xlog1py", _xlog_impl(np.log1p),
                 lambda t, out, x, y: mul(t, log1p(y)),
                 lambda t, out, x, y: mul(t, _x_over(x, add(y, const(y, 1)))))
