"""Elementwise primitives: each one's impl, abstract_eval, jvp and (if linear) transpose.

Operands must share one dtype and one shape, except that a rank-0 operand may stand for
a full array (a scalar constant). `fxad.numpy` inserts the broadcasts and dtype
promotion. JVP rules are written with these same functions, so they differentiate again.
"""
import numpy as np

from ..core import Primitive, ShapedArray, UndefinedPrimal, get_aval, is_float
from ..batching import elementwise_batch

# --------------------------------------------------------------------------- helpers


def elementwise_aval(name, out_dtype=None):
    def abstract_eval(*avals):
        first = avals[0]
        if out_dtype is None and all(a is first for a in avals):
            return first
        dtype, shape = first.dtype, ()
        for a in avals:
            if a.dtype != dtype:
                raise TypeError(f"{name} requires operands of one dtype, got "
                                f"{', '.join(str(b) for b in avals)}; use fxad.numpy, "
                                "which promotes dtypes, or convert explicitly.")
            if a.shape:
                if shape and a.shape != shape:
                    raise ValueError(f"{name} requires operands of one shape (or rank 0), got "
                                     f"{', '.join(str(b) for b in avals)}; use fxad.numpy, "
                                     "which broadcasts, or broadcast explicitly.")
                shape = a.shape
        return ShapedArray(shape, dtype if out_dtype is None else out_dtype)
    return abstract_eval


def defjvp(prim, *rules):
    """JVP from one rule per argument: `rule(t, out, *primals, **params)` gives that
    argument's contribution to the output tangent (rules for absent tangents are skipped)."""
    if len(rules) == 1:                     # the hot unary case, without the loop
        rule = rules[0]

        def jvp(primals, tangents, **params):
            out = prim.bind(*primals, **params)
            return out, None if rule is None else rule(tangents[0], out, *primals, **params)
    else:
        def jvp(primals, tangents, **params):
            out = prim.bind(*primals, **params)
            t_out = None
            for rule, t in zip(rules, tangents):
                if t is None or rule is None:
                    continue
                c = full_shape(rule(t, out, *primals, **params), out)
                t_out = c if t_out is None else add(t_out, c)
            return out, t_out
    prim.jvp = jvp


def full_shape(x, like):
    """Broadcast a rank-0 `x` to the shape of `like` (tangents must have the output's shape)."""
    shape = like.shape
    if x.shape == shape:
        return x
    from .structural import broadcast_in_dim
    return broadcast_in_dim(x, shape, ())


def unbroadcast(ct, aval):
    """Cotangent of a rank-0 operand that stood for a full array: sum it."""
    if aval.shape or not get_aval(ct).shape:
        return ct
    from .structural import reduce_sum
    return reduce_sum(ct, tuple(range(get_aval(ct).ndim)))


def const(x, value):
    """A rank-0 constant of `x`'s dtype."""
    return np.asarray(value, get_aval(x).dtype)[()]


def zeros_like(x):
    aval = get_aval(x)
    return np.zeros(aval.shape, aval.dtype)


def _define(name, impl, nargs, out_dtype=None, numba=None):
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = elementwise_aval(name, out_dtype)
    prim.batch = elementwise_batch(prim)
    prim.numba = numba
    prim.nargs = nargs
    return prim


def vmath(fn, generic):
    """Template: float64 kernels call `fxad.vmath`'s vectorisable version of `fn` (Numba
    from pip has no SVML, so libm calls would keep loops scalar); other dtypes use NumPy."""
    return lambda eqn: (f"vmath.{fn}_f64({{0}})" if eqn.outvars[0].aval.dtype == np.float64
                        else generic)


def unary(name, impl, jvp_rule=None, numba=None):
    """Define a unary float primitive; `jvp_rule(t, out, x)`. Returns its bind function."""
    prim = _define(name, impl, 1, numba=numba)
    defjvp(prim, jvp_rule)
    return prim.bind


def binary(name, impl, jvp_x=None, jvp_y=None, numba=None, out_dtype=None):
    prim = _define(name, impl, 2, out_dtype=out_dtype, numba=numba)
    defjvp(prim, jvp_x, jvp_y)
    return prim.bind


def nondiff(name, impl, nargs, out_dtype=None, numba=None):
    """A primitive whose output carries no tangent (comparisons, rounding, sign...)."""
    prim = _define(name, impl, nargs, out_dtype=out_dtype, numba=numba)
    prim.jvp = lambda primals, tangents, **params: (prim.bind(*primals, **params), None)
    return prim.bind


# --------------------------------------------------------------------------- linear ones

neg = unary("neg", np.negative, lambda t, out, x: neg(t), numba="-{0}")
add = binary("add", np.add, lambda t, out, x, y: t, lambda t, out, x, y: t, numba="{0} + {1}")
sub = binary("sub", np.subtract, lambda t, out, x, y: t, lambda t, out, x, y: neg(t),
             numba="{0} - {1}")
mul = binary("mul", np.multiply, lambda t, out, x, y: mul(t, y),
             lambda t, out, x, y: mul(x, t), numba="{0} * {1}")
div = binary("div", np.true_divide, lambda t, out, x, y: div(t, y),
             lambda t, out, x, y: neg(mul(t, div(out, y))), numba="{0} / {1}")


def _transpose_neg(ct, x):
    return [neg(ct)]


def _transpose_add(ct, x, y):
    return [unbroadcast(ct, a.aval) if isinstance(a, UndefinedPrimal) else None for a in (x, y)]


def _transpose_sub(ct, x, y):
    return [unbroadcast(ct, x.aval) if isinstance(x, UndefinedPrimal) else None,
            unbroadcast(neg(ct), y.aval) if isinstance(y, UndefinedPrimal) else None]


def _transpose_mul(ct, x, y):
    if isinstance(x, UndefinedPrimal):
        return [unbroadcast(mul(ct, y), x.aval), None]
    return [None, unbroadcast(mul(x, ct), y.aval)]


def _transpose_div(ct, x, y):
    if isinstance(y, UndefinedPrimal):
        raise ValueError("div is linear only in its numerator")
    return [unbroadcast(div(ct, y), x.aval), None]


for _fn, _rule in [(neg, _transpose_neg), (add, _transpose_add), (sub, _transpose_sub),
                   (mul, _transpose_mul), (div, _transpose_div)]:
    _fn.__self__.transpose = _rule

# --------------------------------------------------------------------------- nonlinear


def _rsqrt_of(x):
    return div(const(x, 1.0), sqrt(x))


sin = unary("sin", np.sin, lambda t, out, x: mul(t, cos(x)), numba=vmath("sin", "np.sin({0})"))
cos = unary("cos", np.cos, lambda t, out, x: neg(mul(t, sin(x))), numba=vmath("cos", "np.cos({0})"))
tan = unary("tan", np.tan, lambda t, out, x: mul(t, add(const(x, 1.0), mul(out, out))),
            numba="np.tan({0})")
asin = unary("asin", np.arcsin,
             lambda t, out, x: mul(t, _rsqrt_of(sub(const(x, 1.0), mul(x, x)))),
             numba="np.arcsin({0})")
acos = unary("acos", np.arccos,
             lambda t, out, x: neg(mul(t, _rsqrt_of(sub(const(x, 1.0), mul(x, x))))),
             numba="np.arccos({0})")
atan = unary("atan", np.arctan, lambda t, out, x: div(t, add(const(x, 1.0), mul(x, x))),
             numba="np.arctan({0})")
sinh = unary("sinh", np.sinh, lambda t, out, x: mul(t, cosh(x)), numba="np.sinh({0})")
cosh = unary("cosh", np.cosh, lambda t, out, x: mul(t, sinh(x)), numba="np.cosh({0})")
tanh = unary("tanh", np.tanh, lambda t, out, x: mul(t, sub(const(x, 1.0), mul(out, out))),
             numba=vmath("tanh", "np.tanh({0})"))
asinh = unary("asinh", np.arcsinh,
              lambda t, out, x: mul(t, _rsqrt_of(add(mul(x, x), const(x, 1.0)))),
              numba="np.arcsinh({0})")
acosh = unary("acosh", np.arccosh,
              lambda t, out, x: mul(t, _rsqrt_of(sub(mul(x, x), const(x, 1.0)))),
              numba="np.arccosh({0})")
atanh = unary("atanh", np.arctanh, lambda t, out, x: div(t, sub(const(x, 1.0), mul(x, x))),
              numba="np.arctanh({0})")
exp = unary("exp", np.exp, lambda t, out, x: mul(t, out), numba=vmath("exp", "np.exp({0})"))
exp2 = unary("exp2", np.exp2, lambda t, out, x: mul(t, mul(out, const(x, np.log(2)))),
             numba="np.exp2({0})")
expm1 = unary("expm1", np.expm1, lambda t, out, x: mul(t, add(out, const(x, 1.0))),
              numba=vmath("expm1", "np.expm1({0})"))
log = unary("log", np.log, lambda t, out, x: div(t, x), numba=vmath("log", "np.log({0})"))
log2 = unary("log2", np.log2, lambda t, out, x: div(t, mul(x, const(x, np.log(2)))),
             numba="np.log2({0})")
log10 = unary("log10", np.log10, lambda t, out, x: div(t, mul(x, const(x, np.log(10)))),
              numba="np.log10({0})")
log1p = unary("log1p", np.log1p, lambda t, out, x: div(t, add(x, const(x, 1.0))),
              numba=vmath("log1p", "np.log1p({0})"))
sqrt = unary("sqrt", np.sqrt, lambda t, out, x: div(t, mul(out, const(x, 2.0))),
             numba="np.sqrt({0})")
cbrt = unary("cbrt", np.cbrt, lambda t, out, x: div(t, mul(mul(out, out), const(x, 3.0))),
             numba="np.cbrt({0})")
abs = unary("abs", np.abs, lambda t, out, x: mul(t, sign(x)), numba="np.abs({0})")  # noqa: A001


def _integer_pow_impl(x, y):
    return np.power(x, y) if y >= 0 or is_float(x.dtype) else np.power(x.astype(float), y)


_integer_pow_p = _define("integer_pow", _integer_pow_impl, 1, numba="{0} ** {y}")
_integer_pow_p.abstract_eval = lambda x, y: (
    ShapedArray(x.shape, np.float64) if y < 0 and not is_float(x.dtype) else x)
defjvp(_integer_pow_p, lambda t, out, x, y: None if y == 0 else
       mul(t, mul(const(x, y), x if y == 2 else integer_pow(x, y - 1))))


def integer_pow(x, y):
    return _integer_pow_p.bind(x, y=int(y))


def _safe_log_base(x):
    """log(x) with zeros replaced by ones: d(x**y)/dy is 0 where x == 0."""
    return log(select(eq(x, const(x, 0)), const(x, 1.0), x))


pow = binary("pow", np.power,  # noqa: A001
             lambda t, out, x, y: mul(t, mul(y, pow(x, sub(y, const(y, 1.0))))),
             lambda t, out, x, y: mul(t, mul(_safe_log_base(x), out)), numba="{0} ** {1}")


def _max_weight(x, y, gt_or_lt):
    """1 where x wins, 1/2 at ties, 0 where y wins (ties split the gradient, as in JAX)."""
    wins = convert_element_type(gt_or_lt(x, y), get_aval(x).dtype)
    ties = convert_element_type(eq(x, y), get_aval(x).dtype)
    return add(wins, mul(ties, const(x, 0.5)))


max = binary("max", np.maximum,  # noqa: A001
             lambda t, out, x, y: mul(t, _max_weight(x, y, gt)),
             lambda t, out, x, y: mul(t, _max_weight(y, x, gt)), numba="({0} if {0} >= {1} or {0} != {0} else {1})")
min = binary("min", np.minimum,  # noqa: A001
             lambda t, out, x, y: mul(t, _max_weight(x, y, lt)),
             lambda t, out, x, y: mul(t, _max_weight(y, x, lt)), numba="({0} if {0} <= {1} or {0} != {0} else {1})")
atan2 = binary("atan2", np.arctan2,
               lambda t, out, x, y: mul(t, div(y, add(mul(x, x), mul(y, y)))),
               lambda t, out, x, y: neg(mul(t, div(x, add(mul(x, x), mul(y, y))))),
               numba="np.arctan2({0}, {1})")
rem = binary("rem", np.remainder, lambda t, out, x, y: t,
             lambda t, out, x, y: neg(mul(t, floor(div(x, y)))), numba="{0} % {1}")

# --------------------------------------------------------------------------- no tangent

sign = nondiff("sign", np.sign, 1, numba="np.sign({0})")
floor = nondiff("floor", np.floor, 1, numba="np.floor({0})")
ceil = nondiff("ceil", np.ceil, 1, numba="np.ceil({0})")
round = nondiff("round", np.rint, 1, numba="np.rint({0})")  # noqa: A001
floor_divide = nondiff("floor_divide", np.floor_divide, 2, numba="{0} // {1}")
eq = nondiff("eq", np.equal, 2, np.bool_, numba="{0} == {1}")
ne = nondiff("ne", np.not_equal, 2, np.bool_, numba="{0} != {1}")
lt = nondiff("lt", np.less, 2, np.bool_, numba="{0} < {1}")
le = nondiff("le", np.less_equal, 2, np.bool_, numba="{0} <= {1}")
gt = nondiff("gt", np.greater, 2, np.bool_, numba="{0} > {1}")
ge = nondiff("ge", np.greater_equal, 2, np.bool_, numba="{0} >= {1}")
and_ = nondiff("and", np.bitwise_and, 2, numba="{0} & {1}")
or_ = nondiff("or", np.bitwise_or, 2, numba="{0} | {1}")
xor = nondiff("xor", np.bitwise_xor, 2, numba="{0} ^ {1}")
not_ = nondiff("not", np.invert, 1, numba=lambda eqn: "(not {0})" if
               eqn.invars[0].aval.dtype == np.bool_ else "~{0}")
is_finite = nondiff("is_finite", np.isfinite, 1, np.bool_, numba="np.isfinite({0})")

# --------------------------------------------------------------------------- select, casts

select_p = Primitive("select")
select_p.nargs = 3
select_p.impl = lambda pred, on_true, on_false: np.where(pred, on_true, on_false)
select_p.numba = "{1} if {0} else {2}"


def _select_aval(pred, on_true, on_false):
    if pred.dtype != np.bool_:
        raise TypeError(f"select needs a boolean predicate, got {pred}")
    out = elementwise_aval("select")(on_true, on_false)
    if pred.shape and out.shape and pred.shape != out.shape:
        raise ValueError(f"select: predicate shape {pred.shape} differs from {out.shape}")
    return ShapedArray(out.shape or pred.shape, out.dtype)


def _select_jvp(primals, tangents):
    pred, on_true, on_false = primals
    out = select(pred, on_true, on_false)
    _, t_true, t_false = tangents
    if t_true is None and t_false is None:
        return out, None
    t_true = zeros_like(out) if t_true is None else full_shape(t_true, out)
    t_false = zeros_like(out) if t_false is None else full_shape(t_false, out)
    return out, select(pred, t_true, t_false)


def _select_transpose(ct, pred, on_true, on_false):
    zero = const(ct, 0.0)
    return [None,
            unbroadcast(select(pred, ct, zero), on_true.aval)
            if isinstance(on_true, UndefinedPrimal) else None,
            unbroadcast(select(pred, zero, ct), on_false.aval)
            if isinstance(on_false, UndefinedPrimal) else None]


select_p.abstract_eval = _select_aval
select_p.jvp = _select_jvp
select_p.transpose = _select_transpose
select_p.batch = elementwise_batch(select_p)
select = select_p.bind

convert_element_type_p = Primitive("convert_element_type")
convert_element_type_p.nargs = 1
convert_element_type_p.impl = lambda x, new_dtype: np.asarray(x).astype(new_dtype)[()]
convert_element_type_p.abstract_eval = lambda x, new_dtype: ShapedArray(x.shape, new_dtype)
convert_element_type_p.numba = lambda eqn: (
    "({0} != 0)" if eqn.params["new_dtype"] == np.bool_ else
    f"np.{eqn.params['new_dtype'].name}({{0}})")


def _convert_jvp(primals, tangents, new_dtype):
    (x,), (t,) = primals, tangents
    out = convert_element_type(x, new_dtype)
    if t is None or not is_float(new_dtype):
        return out, None
    return out, convert_element_type(t, new_dtype)


convert_element_type_p.jvp = _convert_jvp
convert_element_type_p.transpose = lambda ct, x, new_dtype: [
    convert_element_type(ct, x.aval.dtype)]
convert_element_type_p.batch = elementwise_batch(convert_element_type_p)


def convert_element_type(x, new_dtype):
    new_dtype = np.dtype(new_dtype)
    if get_aval(x).dtype == new_dtype:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype)


stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.nargs = 1
stop_gradient_p.impl = lambda x: x
stop_gradient_p.abstract_eval = lambda x: x
stop_gradient_p.jvp = lambda primals, tangents: (stop_gradient_p.bind(primals[0]), None)
stop_gradient_p.numba = "{0}"
stop_gradient_p.batch = elementwise_batch(stop_gradient_p)
