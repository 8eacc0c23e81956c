"""Vectorisable float64 elementwise math for generated Numba kernels.

Numba from pip has no SVML, so ``np.sin``/``np.exp``/... inside a kernel loop become calls
to scalar libm and the loop does not vectorise. The functions here are the same maths in
plain arithmetic (range reduction, polynomials, exponent manipulation through bit casts,
selects instead of branches), which LLVM's loop vectoriser turns into SIMD code. Each is a
``numba.njit(inline='always')`` function meant to be called from inside a loop::

    from fxad.vmath import sin_f64
    @numba.njit
    def kernel(x, out):
        for i in range(x.size):
            out[i] = sin_f64(x[i])

Functions (float64 -> float64; the argument is converted with ``float()`` first):
``exp_f64``, ``expm1_f64``, ``log_f64``, ``log1p_f64``, ``sin_f64``, ``cos_f64``,
``tanh_f64``.

Accuracy: within about 1 ulp of the correctly rounded result over the whole float64 domain
(see tests/test_vmath.py), NumPy's special values (nan in -> nan out; exp(-inf) = 0,
exp(inf) = inf, log(0) = -inf, log(x < 0) = nan, sin/cos(+-inf) = nan, tanh(+-inf) = +-1),
signed zeros (sin/tanh/expm1/log1p(-0.0) = -0.0), subnormal results of exp and subnormal
arguments of log. sin/cos reduce every finite argument exactly (Payne-Hanek with a table
of 2/pi, done in branch-free double-double arithmetic), so huge arguments are right too.

Design notes:
* A loop vectorises only if every path of the loop body can be if-converted; a call to
  libm on a rarely taken branch is executed (scalarised) for every element. So there are
  no calls at all: every special case is a select on values computed unconditionally.
* Exact products use ``llvm.fma.f64`` (a single instruction on any x86-64 since 2013;
  elsewhere LLVM lowers it to libm ``fma``, which is correct but slow); polynomials use
  ``llvm.fmuladd.f64`` (fused where the target has FMA).
* No int64 <-> float64 conversions (AVX2 has none): integers are read from and written to
  the bits of doubles with the 0x1.8p52 magic-number trick and an LLVM bitcast intrinsic.
* This module imports Numba; ``import fxad`` must never import it (only generated kernels
  and tests do). Numba's on-disk cache of a kernel does not notice edits to this file, so
  kernel sources that call these functions should carry ``VERSION`` (e.g. in a comment)
  to get a fresh cache key when the maths changes.
"""
import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["exp_f64", "expm1_f64", "log_f64", "log1p_f64", "sin_f64", "cos_f64",
           "tanh_f64", "VERSION"]

VERSION = "1"          # bump when any result may change (part of kernel cache keys)

# --------------------------------------------------------------------------- intrinsics


@intrinsic
def _f2i(typingctx, x):
    """The bits of a float64 as an int64 (an LLVM bitcast: free, vectorises)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _i2f(typingctx, x):
    """The float64 whose bits are the int64 `x`."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


def _llvm_f64(name, nargs):
    def typer(typingctx, *args):
        if len(args) != nargs or any(a != types.float64 for a in args):
            return None

        def codegen(context, builder, signature, llargs):
            fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * nargs)
            fn = cgutils.get_or_insert_function(builder.module, fnty, name)
            return builder.call(fn, llargs)
        return types.float64(*args), codegen
    return typer


@intrinsic
def _rint(typingctx, x):
    """Round to the nearest integer, ties to even (llvm.rint: one vroundpd)."""
    return _llvm_f64("llvm.rint.f64", 1)(typingctx, x)


@intrinsic
def _fma(typingctx, a, b, c):
    """a*b + c with a single rounding (exact products: a*b - fl(a*b) = _fma(a, b, -p))."""
    return _llvm_f64("llvm.fma.f64", 3)(typingctx, a, b, c)


@intrinsic
def _mad(typingctx, a, b, c):
    """a*b + c, fused or not (llvm.fmuladd): for polynomial evaluation."""
    return _llvm_f64("llvm.fmuladd.f64", 3)(typingctx, a, b, c)


_jit = numba.njit(inline="always", error_model="numpy", nogil=True)

_SIGN = -0x8000000000000000          # the sign bit, as an int64
_MAGIC = 6755399441055744.0          # 0x1.8p52: x + _MAGIC rounds x to an integer ...
_MAGIC_BITS = 0x4338000000000000     # ... which sits in the low bits of its mantissa
_INF = math.inf
_NAN = math.nan
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238         # 0x1.62e42feep-1: 32 significant bits, n*_LN2_HI exact
_LN2_LO = 1.9082149292705877e-10     # ln 2 - _LN2_HI


@_jit
def _copysign(mag, sgn):
    """|mag| with the sign of `sgn` (mag must be >= 0 or -0.0-free)."""
    return _i2f(_f2i(mag) | (_f2i(sgn) & _SIGN))


@_jit
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@_jit
def _exp_poly(r):
    """(e^r - 1 - r) / r^2 on |r| <= 0.3467 (minimax, relative error 2^-58)."""
    q = _mad(r, 2.0889383726382702e-09, 2.5105212364511027e-08)
    q = _mad(r, q, 2.7557349661921857e-07)
    q = _mad(r, q, 2.7557255421210447e-06)
    q = _mad(r, q, 2.4801587245622297e-05)
    q = _mad(r, q, 0.0001984126987479408)
    q = _mad(r, q, 0.0013888888888918041)
    q = _mad(r, q, 0.008333333333326146)
    q = _mad(r, q, 0.041666666666666616)
    q = _mad(r, q, 0.1666666666666667)
    return _mad(r, q, 0.5)


@_jit
def _exp_reduce(x):
    """x = n ln2 + r + rl, |r| <= 0.3467; returns (n as float, n as int64, r, rl).
    Needs |x| < 2^40 or so (callers clamp)."""
    t = x * _LOG2E + _MAGIC
    n = t - _MAGIC
    hi = x - n * _LN2_HI                 # exact (Sterbenz; n * _LN2_HI is exact)
    lo = n * _LN2_LO
    r = hi - lo
    rl = (hi - r) - lo
    return n, _f2i(t) - _MAGIC_BITS, r, rl


@_jit
def _exp_reduced_dd(r, rl):
    """e^(r + rl) as an unevaluated sum hi + lo (|lo| <= ulp(hi))."""
    hi = 1.0 + r
    lo = (1.0 - hi) + r                           # exact: 1 + r = hi + lo
    return hi, lo + (r * r * _exp_poly(r) + rl)


@_jit
def _exp_reduced(r, rl):
    """e^(r + rl), one final rounding plus ~0.1 ulp."""
    hi, lo = _exp_reduced_dd(r, rl)
    return hi + lo


@_jit
def _pow2(k):
    """2.0**k for integer k in [-1022, 1023] (an int64)."""
    return _i2f((k + 1023) << 52)


# --------------------------------------------------------------------------- exp, expm1


@_jit
def exp_f64(x):
    """e**x, within 1 ulp; exp(-inf) = 0, exp(inf) = inf, subnormal results rounded once."""
    x = float(x)
    xc = x if x < 709.8 else 709.8                # beyond these the result is inf / 0,
    xc = xc if xc > -745.2 else -745.2            # and n stays in range for the scaling
    n, k, r, rl = _exp_reduce(xc)
    p = _exp_reduced(r, rl)
    k1 = ((k + 2048) & 4095) >> 1                  # k = (k1 - 1024) + k2, both halves in
    k2 = k - (k1 - 1024)                           # range, so the result rounds once
    res = (p * _pow2(k1 - 1024)) * _pow2(k2)
    return res if x == x else x


@_jit
def expm1_f64(x):
    """e**x - 1, within 1 ulp over the whole domain (accurate for tiny x)."""
    x = float(x)
    ax = abs(x)
    xc = x if x < 709.8 else 709.8
    xc = xc if xc > -40.0 else -40.0              # expm1(x) rounds to -1 below -37.5
    n, k, r, rl = _exp_reduce(xc)
    q = r * r * _exp_poly(r) + rl * (1.0 + r)     # e^(r + rl) - 1 = r + q
    big = 1 if k > 1023 else 0                    # only for the overflowing x > 709.43
    s = _pow2(k - big)
    h, hl = _two_sum(s * r, s - 1.0)              # 2^n (1 + r) - 1, exact for |n| <= 53
    res = h + (hl + s * q)                        # 2^n (1 + r + q) - 1
    res = res * _pow2(big)
    res = res if ax >= 5.551115123125783e-17 else x   # |x| < 2^-54: x (keeps -0.0)
    return res if x == x else x


# --------------------------------------------------------------------------- log, log1p


@_jit
def _log_kernel(xs, c):
    """log(xs) + c for positive normal finite xs, c a small correction (< 1 ulp)."""
    b = _f2i(xs)
    k = (b - 0x3FE6A09E667F3BCD) >> 52            # xs = 2^k * m, m in [sqrt(.5), sqrt(2))
    m = _i2f(b - (k << 52))
    f = m - 1.0                                   # exact
    kf = _i2f(k + _MAGIC_BITS) - _MAGIC           # k as a float, without a conversion
    s = f / (2.0 + f)
    z = s * s
    w = _mad(z, 0.14618664102535706, 0.15331539164689384)   # (2 atanh(s) - 2s) / (s z)
    w = _mad(z, w, 0.1818289473159939)
    w = _mad(z, w, 0.22222211055879706)
    w = _mad(z, w, 0.2857142862647391)
    w = _mad(z, w, 0.3999999999989836)
    w = _mad(z, w, 0.666666666666667)
    R = z * w
    hfsq = 0.5 * f * f
    # log(1 + f) = f - hfsq + s (hfsq + R)    (fdlibm's arrangement)
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + R) + (kf * _LN2_LO + c))) - f)


@_jit
def log_f64(x):
    """Natural log, within 1 ulp; log(0) = -inf, log(x < 0) = nan, subnormal x exact."""
    x = float(x)
    tiny = x < 2.2250738585072014e-308
    xs = x * 18014398509481984.0 if tiny else x  # 2^54: subnormals become normal
    res = _log_kernel(xs, 0.0) - (37.42994775023705 if tiny else 0.0)   # 54 ln 2
    res = res if x > 0.0 else (-_INF if x == 0.0 else _NAN)
    return res if x < _INF else x                 # +inf -> inf, nan -> nan


@_jit
def log1p_f64(x):
    """log(1 + x), within 1 ulp; log1p(-1) = -inf, log1p(x < -1) = nan."""
    x = float(x)
    u = 1.0 + x
    c = (x - (u - 1.0)) if u < 2.0 else (1.0 - (u - x))   # 1 + x = u + c exactly
    uc = u if u > 2.2250738585072014e-308 else 1.0         # (u <= 0 is replaced below)
    res = _log_kernel(uc, c / uc)
    res = res if abs(x) >= 5.551115123125783e-17 else x    # tiny x (keeps -0.0)
    res = res if u > 0.0 else (-_INF if u == 0.0 else _NAN)
    return res if x < _INF else x


# --------------------------------------------------------------------------- sin, cos

def _two_over_pi_bits(nbits):
    """floor(2/pi * 2**nbits), from Machin's formula in exact integer arithmetic."""
    guard = nbits + 64
    one = 1 << guard

    def arctan_inv(n):                            # arctan(1/n) * 2**guard
        total = term = one // n
        k, n2, sign = 3, n * n, -1
        while term:
            term //= n2
            total += sign * (term // k)
            k, sign = k + 2, -sign
        return total
    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    return (2 << (nbits + guard)) // pi


def _pio2_table():
    """For biased exponents E = 1021..2047 of x = m 2^e (m in [1, 2), e = E - 1023): four
    doubles u0..u3 with u0+u1+u2+u3 = (2/pi 2^e mod 2^54) to 2^-158. Bits of 2/pi 2^e of
    weight >= 2^54 are dropped because m times them is a multiple of 4 (a whole number of
    turns). u0 holds the bits of weight 2^53..2^1, u1 2^0..2^-52, u2 2^-53..2^-105,
    u3 2^-106..2^-158, so m*u0 is a multiple of 2^-51, m*u1 of 2^-104, m*u2 of 2^-157."""
    K = 1250
    p = _two_over_pi_bits(K)
    mask = (1 << 53) - 1
    rows = []
    for E in range(1021, 2048):
        e = E - 1023
        v = (p >> (K - e - 158)) & ((1 << 212) - 1)   # (2/pi 2^e mod 2^54) * 2^158
        rows.append([math.ldexp(float(v >> 159), 1), math.ldexp(float((v >> 106) & mask), -52),
                     math.ldexp(float((v >> 53) & mask), -105), math.ldexp(float(v & mask), -158)])
    return np.array(rows, dtype=np.float64).ravel()


_PIO2_TAB = _pio2_table()
_PIO2_HI = 1.5707963267948966                     # pi/2 rounded
_PIO2_LO = 6.123233995736766e-17                  # pi/2 - _PIO2_HI


@_jit
def _rem_pio2(ax):
    """Payne-Hanek reduction of finite ax >= pi/4 (branch-free, exact to ~2^-150):
    ax = (4j + n) pi/2 + rh + rl with |rh + rl| <= ~pi/4. Returns (n, rh, rl)."""
    b = _f2i(ax)
    i = ((b >> 52) & 0x7FF) - 1021
    i = (i if i > 0 else 0) * 4
    m = _i2f((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)   # ax = m 2^e, m in [1, 2)
    u0 = _PIO2_TAB[i]
    u1 = _PIO2_TAB[i + 1]
    u2 = _PIO2_TAB[i + 2]
    u3 = _PIO2_TAB[i + 3]
    # ax * 2/pi mod 4 = m*u0 + m*u1 + m*u2 + m*u3: exact products hj + lj.
    h0 = m * u0
    l0 = _fma(m, u0, -h0)
    h1 = m * u1
    l1 = _fma(m, u1, -h1)
    h2 = m * u2
    l2 = _fma(m, u2, -h2)
    h3 = m * u3
    a = h0 - 4.0 * _rint(h0 * 0.25)               # in [-2, 2], on the 2^-51 grid: exact
    a = a + l0                                    # |.| <= 4, same grid: exact
    q0 = _rint(a)
    a = a - q0                                    # [-0.5, 0.5], exact
    q1 = _rint(h1)
    b1 = h1 - q1                                  # exact (Sterbenz)
    u, ue = _two_sum(a, b1)
    q2 = _rint(u)
    u = u - q2                                    # exact
    v = ue + l1                                   # both on the 2^-104 grid, < 2^-51: exact
    w, we = _two_sum(v, h2)
    t = we + l2 + h3                              # < 2^-102, error ~2^-156
    y, ye = _two_sum(u, w)                        # exact if u and w cancel
    yl = ye + t
    fh = y + yl                                   # f = fh + fl = ax 2/pi - (4j + n)
    fl = yl - (fh - y)
    n = _f2i((q0 + q1) + q2 + _MAGIC) & 3
    rh = fh * _PIO2_HI                            # r = f pi/2 in double-double
    rl = _fma(fh, _PIO2_HI, -rh) + (fh * _PIO2_LO + fl * _PIO2_HI)
    r = rh + rl
    return n, r, rl - (r - rh)


@_jit
def _sincos_reduced(x):
    """(quadrant n, sin r, cos r) where |x| = quadrant pi/2 + r, for finite x."""
    ax = abs(x)
    n, rh, rl = _rem_pio2(ax)
    small = ax <= 0.7853981633974483              # pi/4: no reduction
    n = 0 if small else n
    rh = ax if small else rh
    rl = 0.0 if small else rl
    z = rh * rh
    # sin(rh + rl) = rh + rh z S(z) + rl (1 - z/2)
    sp = _mad(z, -7.586622500533641e-13, 1.6058530255748716e-10)
    sp = _mad(z, sp, -2.505210622310827e-08)
    sp = _mad(z, sp, 2.7557319219309678e-06)
    sp = _mad(z, sp, -0.00019841269841265022)
    sp = _mad(z, sp, 0.008333333333333331)
    sp = _mad(z, sp, -0.16666666666666666)
    s = rh + ((rh * z) * sp + rl * (1.0 - 0.5 * z))
    # cos(rh + rl) = 1 - z/2 + z^2 C(z) - rh rl, with 1 - z/2 compensated
    cp = _mad(z, -1.1382547037166755e-11, 2.0876144977876006e-09)
    cp = _mad(z, cp, -2.7557317264905185e-07)
    cp = _mad(z, cp, 2.480158729875096e-05)
    cp = _mad(z, cp, -0.0013888888888887387)
    cp = _mad(z, cp, 0.041666666666666664)
    zl = _fma(rh, rh, -z)
    hz = 0.5 * z
    w = 1.0 - hz
    c = w + (((1.0 - w) - hz) + ((z * z) * cp - (0.5 * zl + rh * rl)))
    return n, s, c


@_jit
def sin_f64(x):
    """sin(x), within 1 ulp for every finite x; sin(+-inf) = nan, sin(-0.0) = -0.0."""
    x = float(x)
    n, s, c = _sincos_reduced(x)
    v = c if (n & 1) else s
    res = _i2f(_f2i(v) ^ (((n & 2) << 62) ^ (_f2i(x) & _SIGN)))
    ax = abs(x)
    res = res if ax >= 1.4901161193847656e-08 else x      # |x| < 2^-26: sin x = x
    return res if ax < _INF else x - x


@_jit
def cos_f64(x):
    """cos(x), within 1 ulp for every finite x; cos(+-inf) = nan."""
    x = float(x)
    n, s, c = _sincos_reduced(x)
    v = s if (n & 1) else c
    res = _i2f(_f2i(v) ^ (((n + 1) & 2) << 62))
    return res if abs(x) < _INF else x - x


# --------------------------------------------------------------------------- tanh


@_jit
def tanh_f64(x):
    """tanh(x), within 1 ulp; tanh(+-inf) = +-1, tanh(-0.0) = -0.0."""
    x = float(x)
    ax = abs(x)
    # |x| < 0.55: x + x^3 T(x^2) (minimax)
    z = x * x
    p = _mad(z, -2.060323078279342e-05, 8.511384225627549e-05)
    p = _mad(z, p, -0.00023463519556418655)
    p = _mad(z, p, 0.0005889362141530673)
    p = _mad(z, p, -0.001455661865068542)
    p = _mad(z, p, 0.0035921103833577357)
    p = _mad(z, p, -0.008863234398193979)
    p = _mad(z, p, 0.02186948849368468)
    p = _mad(z, p, -0.05396825396743444)
    p = _mad(z, p, 0.13333333333332714)
    p = _mad(z, p, -0.3333333333333333)
    small = x + (x * z) * p
    # |x| >= 0.55: 1 - 2 / (e^(2|x|) + 1)
    a2 = 2.0 * (ax if ax < 22.0 else 22.0)       # tanh(22) rounds to 1
    n, k, r, rl = _exp_reduce(a2)
    eh, el = _exp_reduced_dd(r, rl)
    sc = _pow2(k)
    eh = eh * sc                                  # e^(2|x|) = eh + el, eh >= 3 ...
    el = el * sc
    dh = eh + 1.0                                 # ... so e^(2|x|) + 1 = dh + dl
    dl = ((eh - dh) + 1.0) + el
    d = 2.0 / dh
    d_lo = (_fma(-d, dh, 2.0) - d * dl) * (0.5 * d)   # 2 / (dh + dl) = d + d_lo
    th = 1.0 - d                                  # 1 - d = th + tl exactly
    tl = (1.0 - th) - d
    big = _copysign(th + (tl - d_lo), x)
    res = small if ax < 0.55 else big
    res = res if ax >= 3.725290298461914e-09 else x      # |x| < 2^-28: tanh x = x
    return res if x == x else x
