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

Elementwise functions (float64 -> float64; the argument goes through ``float()`` first):
``exp_f64``, ``expm1_f64``, ``log_f64``, ``log1p_f64``, ``sin_f64``, ``cos_f64``,
``tanh_f64``.

Accuracy: within 1 ulp of the exact result over the whole float64 domain (measured maxima
0.5-0.8 ulp; see tests/test_vmath.py), NumPy's special values (nan -> nan; exp(-inf) = 0,
exp(inf) = inf, log(0) = -inf, log(x < 0) = nan, sin/cos(+-inf) = nan, tanh(+-inf) = +-1),
signed zeros (sin/tanh/expm1/log1p(-0.0) = -0.0), subnormal results of exp and subnormal
arguments of log. sin/cos reduce |x| < 2^30 themselves (Cody-Waite, exact enough for every
such x) and call libm for larger |x| (where they then equal `math.sin`/`math.cos`, and
NumPy's results where NumPy uses libm, as it does on Linux x86-64).

Reduction helpers (two float64 -> float64), for the accumulator update of a reduction loop:
``reassoc_add_f64(acc, v)`` is ``acc + v`` marked reassociable, which is what lets LLVM
vectorise a sum loop (a strict float sum can only run one element at a time, and then the
inlined maths above is no faster than libm); ``maximum_f64``/``minimum_f64`` are NaN-
propagating max/min (llvm.maximum/minimum, -0.0 < +0.0) that vectorise as reductions.

Design notes:
* A loop vectorises only if every path of its body can be if-converted; an ordinary call
  on a rarely taken branch is then executed for every element (or stops vectorisation).
  So special cases are selects on values computed unconditionally, and the one call (libm
  sin/cos for huge arguments) is dressed up so LLVM predicates it per lane (see below).
* Exact products use ``llvm.fma.f64`` (one instruction on x86-64 since 2013; elsewhere a
  correct but slow libm call); polynomials use ``llvm.fmuladd.f64`` (fused when cheap).
* No int64 <-> float64 conversions (AVX2 has none): integers are read from and written to
  the bits of doubles with the 0x1.8p52 magic-number trick and an LLVM bitcast intrinsic.
* Never compile these under ``fastmath``: reassociation breaks the error-free
  transformations, and nnan/ninf break the special-value selects.
* This module imports Numba; ``import fxad`` must never import it (only generated kernels
  and tests do). Numba's on-disk cache of a kernel does not notice edits to this file, so
  kernel sources that call these functions should carry ``VERSION`` (e.g. in a comment)
  to get a fresh cache key when the maths changes.
"""
import math

import numba
from llvmlite import binding as llvm_binding
from llvmlite import ir
from llvmlite.ir.instructions import CallInstrAttributes
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["exp_f64", "expm1_f64", "log_f64", "log1p_f64", "sin_f64", "cos_f64",
           "tanh_f64", "reassoc_add_f64", "maximum_f64", "minimum_f64", "VERSION"]

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
    """mag (which must be >= 0) with the sign of `sgn`."""
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
    lo = ((1.0 - hi) + r) + (r * r * _exp_poly(r) + rl)   # (1 - hi) + r is exact
    h = hi + lo
    return h, (hi - h) + lo


@_jit
def _exp_reduced(r, rl):
    """e^(r + rl), one final rounding plus ~0.1 ulp."""
    hi = 1.0 + r
    return hi + (((1.0 - hi) + r) + (r * r * _exp_poly(r) + rl))


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
#
# |x| < 2^30: Cody-Waite reduction with pi/2 in three parts, exact enough for every such x
# (the first step is exact thanks to the FMA, the rest is carried in double-double).
# |x| >= 2^30 (rare): libm's sin/cos (what NumPy and `math` use). A plain call on
# that branch would be if-converted and run for every element, or stop vectorisation; so
# the call is made to a symbol LLVM knows nothing about, that "may have side effects", and
# carries a "vector-function-abi-variant" mapping to a masked 2-lane variant. That makes
# the loop vectoriser keep the branch per lane (predicated scalar calls, only for the lanes
# that need them) instead of giving up on the loop or speculating the call.

_REDUCE_MAX = 1073741824.0                          # 2^30
_TWO_OVER_PI = 0.6366197723675814
_PIO2_1 = 1.5707963267948966                        # pi/2 = _PIO2_1 + _PIO2_2 + _PIO2_3
_PIO2_2 = 6.123233995736766e-17
_PIO2_3 = -1.4973849048591698e-33


def _libm_address(name):
    addr = llvm_binding.address_of_symbol(name)
    if not addr:                                    # not in the process' symbol table
        import ctypes
        import ctypes.util
        for lib in (ctypes.util.find_library("m"), "ucrtbase", "msvcrt"):
            try:
                addr = ctypes.cast(getattr(ctypes.CDLL(lib), name), ctypes.c_void_p).value
                break
            except (OSError, AttributeError, TypeError):
                continue
    if not addr:
        raise ImportError(f"fxad.vmath: cannot find libm's {name}")
    return addr


def _vector_variant(module, scalar):
    """Define (once per LLVM module) `<scalar>_v2m(<2 x double>, <2 x i1>)`: the scalar
    function on the lanes whose mask bit is set."""
    name = scalar.name + "_v2m"
    if name in module.globals:
        return module.globals[name]
    vty = ir.VectorType(ir.DoubleType(), 2)
    fn = ir.Function(module, ir.FunctionType(vty, [vty, ir.VectorType(ir.IntType(1), 2)]),
                     name)
    fn.linkage = "weak_odr"                         # kept (not discardable), may repeat
    v, mask = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    out = ir.Constant(vty, None)
    for lane in range(2):
        idx = ir.Constant(ir.IntType(32), lane)
        before = b.block
        with b.if_then(b.extract_element(mask, idx)):
            value = b.insert_element(out, b.call(scalar, [b.extract_element(v, idx)]), idx)
            then = b.block
        phi = b.phi(vty)
        phi.add_incoming(out, before)
        phi.add_incoming(value, then)
        out = phi
    b.ret(out)
    return fn


def _libm_fallback(name):
    """An intrinsic calling libm's `name` (float64 -> float64) from a rarely taken branch
    without stopping the loop vectoriser (see above)."""
    symbol = f"fxad_vmath_{name}"
    llvm_binding.add_symbol(symbol, _libm_address(name))
    variant = f'"vector-function-abi-variant"="_ZGV_LLVM_M2v_{symbol}({symbol}_v2m)"'

    class _Attrs(CallInstrAttributes):
        _known = CallInstrAttributes._known | {variant}

    @intrinsic
    def fallback(typingctx, x):
        if x != types.float64:
            return None

        def codegen(context, builder, signature, args):
            fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()])
            fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
            if "nounwind" not in fn.attributes:
                fn.attributes.add("nounwind")
                fn.attributes.add("inaccessiblememonly")   # not speculatable, no aliasing
            call = builder.call(fn, args)
            try:
                _vector_variant(builder.module, fn)
                call.attributes = _Attrs([variant])
            except Exception:                       # correct anyway, maybe not vectorised
                pass
            return call
        return types.float64(types.float64), codegen
    return fallback


_libm_sin = _libm_fallback("sin")
_libm_cos = _libm_fallback("cos")


@_jit
def _sincos_reduced(ax):
    """(quadrant n, sin r, cos r) where ax = (4j + n) pi/2 + r, for 0 <= ax < 2^30
    (garbage, but no traps, elsewhere)."""
    n = _rint(ax * _TWO_OVER_PI)
    r1 = _fma(-n, _PIO2_1, ax)                    # exact: on the grid of ulp(ax), |.| < 1
    t = n * _PIO2_2
    tl = _fma(n, _PIO2_2, -t)                     # n _PIO2_2 = t + tl exactly
    rh, e = _two_sum(r1, -t)
    rl = (e - tl) - n * _PIO2_3
    r = rh + rl
    rl = rl - (r - rh)
    rh = r                                        # ax - n pi/2 = rh + rl, to ~2^-130
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
    zl = _fma(rh, rh, -z)                         # rh^2 = z + zl exactly
    hz = 0.5 * z
    w = 1.0 - hz
    c = w + (((1.0 - w) - hz) + ((z * z) * cp - (0.5 * zl + rh * rl)))
    return _f2i(n + _MAGIC) & 3, s, c


@_jit
def sin_f64(x):
    """sin(x): within 1 ulp for |x| < 2^30, libm's sin(x) beyond (vectorised except for
    those lanes); sin(+-inf) = nan, sin(-0.0) = -0.0."""
    x = float(x)
    ax = abs(x)
    n, s, c = _sincos_reduced(ax)
    v = c if (n & 1) else s
    res = _i2f(_f2i(v) ^ (((n & 2) << 62) ^ (_f2i(x) & _SIGN)))
    res = res if ax >= 1.4901161193847656e-08 else x      # |x| < 2^-26: sin x = x
    if not ax < _REDUCE_MAX:                              # huge, inf or nan: rare
        res = _libm_sin(x)
    return res


@_jit
def cos_f64(x):
    """cos(x): within 1 ulp for |x| < 2^30, libm's cos(x) beyond (vectorised except for
    those lanes); cos(+-inf) = nan."""
    x = float(x)
    ax = abs(x)
    n, s, c = _sincos_reduced(ax)
    v = s if (n & 1) else c
    res = _i2f(_f2i(v) ^ (((n + 1) & 2) << 62))
    if not ax < _REDUCE_MAX:
        res = _libm_cos(x)
    return res


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


# --------------------------------------------------------------------------- reductions


@intrinsic
def reassoc_add_f64(typingctx, acc, v):
    """acc + v as an `fadd reassoc nsz`: use it for a reduction's accumulator update
    (``acc = reassoc_add_f64(acc, v)``) so the loop vectorises (partial sums per lane,
    combined at the end: a different, usually more accurate, rounding than a strict
    left-to-right sum). Only this one add is reassociable; nothing else in the loop is."""
    if acc != types.float64 or v != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1], flags=("reassoc", "nsz"))
    return types.float64(types.float64, types.float64), codegen


if llvm_binding.llvm_version_info >= (17,):      # x86 lowers llvm.maximum since LLVM 17
    @intrinsic
    def _maximum(typingctx, a, b):
        return _llvm_f64("llvm.maximum.f64", 2)(typingctx, a, b)

    @intrinsic
    def _minimum(typingctx, a, b):
        return _llvm_f64("llvm.minimum.f64", 2)(typingctx, a, b)
else:                                              # same values, no vectorised reduction
    @_jit
    def _maximum(a, b):
        m = a if a > b or a != a else b
        return m if a != b else _i2f(_f2i(a) & _f2i(b))

    @_jit
    def _minimum(a, b):
        m = a if a < b or a != a else b
        return m if a != b else _i2f(_f2i(a) | _f2i(b))


@_jit
def maximum_f64(a, b):
    """max(a, b), nan if either is nan, maximum(-0.0, 0.0) = 0.0; vectorises as a reduction
    (``acc = maximum_f64(acc, v)``)."""
    return _maximum(float(a), float(b))


@_jit
def minimum_f64(a, b):
    """min(a, b), nan if either is nan, minimum(-0.0, 0.0) = -0.0; vectorises as a
    reduction (``acc = minimum_f64(acc, v)``)."""
    return _minimum(float(a), float(b))
