"""Table-driven tests over every primitive in `fxad.core.registry`.

`TEST_SPECS` gives each primitive a generator of `(args, params)` inside its domain (away
from the points where it is not differentiable); specs kept next to other tests in the same
form (`NEW_PRIMITIVE_SPECS`) are merged in. Every table-driven test below picks up every
primitive; `test_every_primitive_has_a_spec` fails when one is missing. For each:
  * `abstract_eval` agrees with `impl` (shape and dtype), and staging/eval_jaxpr agree;
  * `jvp` matches central finite differences, `vjp` matches `jvp` by the inner-product
    identity, to second order in float64 (`fxad.test_util.check_grads`), also with some
    arguments held constant (the rules' zero-tangent paths);
  * float32: first order against finite differences, and derivatives up to second order
    agree with float64's at the same point;
  * linear primitives: the transpose rule satisfies <ct, L t> == <L^T ct, t> and agrees
    with `fxad.vjp`; a primitive has a transpose rule exactly when its spec says linear;
  * non-differentiable ones produce no tangent (None from the rule, zeros from `jvp`).
"""
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import fxad
import fxad.numpy as fnp
from fxad import jaxpr as jx
from fxad.core import UndefinedPrimal, get_aval, is_float, registry
from fxad.primitives.structural import IndexSpec
from fxad.test_util import check_grads

from _strategies import (UNARY_DOMAINS, COND_BRANCHES, einsum_case,
                         F32, F64, away_from_zero, binary_shapes, bools, closed_program, drawn,
                         examples, float_dtype, grid, in_range, ints, shapes)


class Spec(NamedTuple):
    gen: Callable                 # draw -> (args, params) or (args, params, meta)
    linear: object = ()           # tuple of jointly-linear argument index sets, or a
                                  # function (args, params, meta) -> such a tuple
    zero_tangent: bool = False    # the rule must return no tangent at all
    fd: bool = True               # finite differences see the function's derivative
    modes: tuple = ("fwd", "rev")  # the modes the primitive supports
    transpose_error: bool = False  # its transpose rule exists only to raise an error
    impl_error: type = None        # its impl only raises this (a primitive that exists only
                                   # in linear programs, e.g. custom_lin); meta["reference"]
                                   # then computes its values


# --------------------------------------------------------------------------- generators


def unary(lo, hi, away=False, f32=True):
    def gen(draw):
        dtype, shape = float_dtype(draw, f32), draw(shapes())
        x = (away_from_zero if away else in_range)(draw, shape, lo, hi, dtype)
        return (x,), {}
    return gen


def binary(x_dom, y_dom):
    """Each domain is (lo, hi) or ("away", lo, hi)."""
    def operand(draw, shape, dom, dtype):
        if dom[0] == "away":
            return away_from_zero(draw, shape, dom[1], dom[2], dtype)
        return in_range(draw, shape, dom[0], dom[1], dtype)

    def gen(draw):
        dtype = float_dtype(draw)
        sx, sy = binary_shapes(draw)
        return (operand(draw, sx, x_dom, dtype), operand(draw, sy, y_dom, dtype)), {}
    return gen


def separated(draw):
    """(x, y) with |x - y| >= 0.25 everywhere (no ties for max/min)."""
    dtype = float_dtype(draw)
    sx, sy = binary_shapes(draw)
    return (grid(draw, sx, 0.5, 0.25, dtype=dtype), grid(draw, sy, 0.5, 0.0, dtype=dtype)), {}


def off_multiples(draw):
    """(x, y) with x / y at least 0.15 away from an integer (rem, floor_divide)."""
    dtype = float_dtype(draw)
    sx, sy = binary_shapes(draw)
    shape = sx or sy
    k = ints(draw, shape, -3, 3)
    frac = in_range(draw, shape, 0.15, 0.85)
    q = np.asarray(k + frac)
    if sy == ():                      # y rank 0: x = q * y elementwise
        y = away_from_zero(draw, (), 0.5, 2.0, dtype)
        x = np.asarray(q * y, dtype)
        x = x[()] if sx == () else x
        return (x, y), {}
    x = away_from_zero(draw, (), 0.5, 3.0) if sx == () else away_from_zero(draw, sx, 0.5, 3.0)
    y = np.asarray(x / q, dtype)
    x = np.asarray(x, dtype)
    return (x[()] if sx == () else x, y), {}


def integer_pow_gen(draw):
    y = draw(st.integers(-3, 5))
    dtype, shape = float_dtype(draw), draw(shapes())
    x = away_from_zero(draw, shape, 0.3, 2.0, dtype) if y < 0 else in_range(draw, shape, -2, 2,
                                                                             dtype)
    return (x,), {"y": y}


def off_integers(draw):
    """Values n + 0.2 or n + 0.7: away from the jumps of floor, ceil, round and sign."""
    dtype, shape = float_dtype(draw), draw(shapes())
    return (grid(draw, shape, 0.5, 0.2, dtype=dtype),), {}


def comparison(draw):
    dtype = draw(st.sampled_from([F64, F32, np.dtype(np.int64)]))
    sx, sy = binary_shapes(draw)
    return (grid(draw, sx, 0.5, k=3).astype(dtype), grid(draw, sy, 0.5, k=3).astype(dtype)), {}


def bitwise(nargs):
    def gen(draw):
        sx, sy = binary_shapes(draw)
        if draw(st.booleans()):
            args = (bools(draw, sx), bools(draw, sy))
        else:
            args = (ints(draw, sx, -8, 8), ints(draw, sy, -8, 8))
        return args[:nargs], {}
    return gen


def finite_gen(draw):
    dtype, shape = float_dtype(draw), draw(shapes())
    return (in_range(draw, shape, -1e3, 1e3, dtype),), {}


def select_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes())
    sp, st_, sf = draw(st.sampled_from([(shape, shape, shape), ((), shape, shape),
                                        (shape, (), shape), (shape, shape, ()),
                                        (shape, (), ()), ((), (), ())]))
    return (bools(draw, sp), in_range(draw, st_, -3, 3, dtype),
            in_range(draw, sf, -3, 3, dtype)), {}


_CONVERSIONS = [(F64, F32), (F32, F64), (F64, F64), (F64, np.dtype(np.int64)),
                (F32, np.dtype(np.int32)), (np.dtype(np.int64), F64),
                (np.dtype(np.bool_), F32)]


def convert_gen(draw):
    src, dst = draw(st.sampled_from(_CONVERSIONS))
    shape = draw(shapes())
    if src == np.bool_:
        x = bools(draw, shape)
    elif is_float(src):
        x = grid(draw, shape, 0.5, 0.2, dtype=src)       # float->int: away from integers
        x = x + np.asarray(in_range(draw, shape, 0.0, 0.05), src)
    else:
        x = ints(draw, shape, -5, 5, src)
    return (x,), {"new_dtype": np.dtype(dst)}


def convert_linear(args, params, meta):
    return ((0,),) if is_float(get_aval(args[0]).dtype) and is_float(params["new_dtype"]) else ()


def broadcast_gen(draw):
    dtype = float_dtype(draw)
    out_shape = draw(shapes(0, 3, min_side=0))
    dims = sorted(draw(st.sets(st.integers(0, len(out_shape) - 1), max_size=len(out_shape)))
                  ) if out_shape else []
    in_shape = tuple(draw(st.sampled_from([out_shape[d], 1])) for d in dims)
    x = in_range(draw, in_shape, -3, 3, dtype)
    return (x,), {"shape": tuple(out_shape), "broadcast_dimensions": tuple(dims)}


def _factors(n):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def reshape_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3, min_side=0))
    x = in_range(draw, shape, -3, 3, dtype)
    size = int(np.prod(shape, dtype=np.int64))
    if size == 0:
        new = draw(st.sampled_from([(0,), (0, 2), (3, 0, 1)]))
    else:
        factors = draw(st.permutations(_factors(size) + [1] * draw(st.integers(0, 2))))
        cuts = sorted(draw(st.lists(st.integers(0, len(factors)), max_size=3)))
        bounds = [0] + cuts + [len(factors)]
        new = tuple(int(np.prod(factors[a:b], dtype=np.int64)) for a, b in zip(bounds, bounds[1:]))
        new = new if draw(st.booleans()) or size != 1 else ()
    return (x,), {"new_sizes": tuple(new)}


def transpose_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 4, min_side=0))
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return (in_range(draw, shape, -3, 3, dtype),), {"permutation": perm}


def _axes(draw, ndim, min_size=0):
    return tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=min_size,
                                     max_size=ndim)))) if ndim else ()


def reduce_sum_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3, min_side=0))
    return (in_range(draw, shape, -3, 3, dtype),), {"axes": _axes(draw, len(shape))}


def distinct(draw, shape, dtype=F64):
    """Pairwise-distinct values on a grid of spacing 0.25 (no ties for max, argmax...)."""
    return grid(draw, shape, 0.25, k=40, dtype=dtype, unique=True)


def reduce_extremum_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3))
    return (distinct(draw, shape, dtype),), {"axes": _axes(draw, len(shape))}


def arg_extremum_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3))
    return (distinct(draw, shape, dtype),), {"axis": draw(st.integers(0, len(shape) - 1))}


def argsort_gen(draw):
    """Values with ties (the sort is stable) along a drawn axis."""
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3))
    return (grid(draw, shape, 0.5, k=2, dtype=dtype),), {
        "axis": draw(st.integers(0, len(shape) - 1))}


def cumsum_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3, min_side=0))
    return (in_range(draw, shape, -3, 3, dtype),), {
        "axis": draw(st.integers(0, len(shape) - 1)), "reverse": draw(st.booleans())}


def concatenate_gen(draw):
    dtype = float_dtype(draw)
    shape = list(draw(shapes(1, 3)))
    dim = draw(st.integers(0, len(shape) - 1))
    xs = []
    for _ in range(draw(st.integers(1, 4))):
        shape[dim] = draw(st.integers(0, 3))
        xs.append(in_range(draw, tuple(shape), -3, 3, dtype))
    return tuple(xs), {"dimension": dim}


def index_spec(draw, shape):
    """A random NumPy index into `shape`: ints, slices, integer arrays, None, Ellipsis."""
    arr_shape = draw(shapes(0, 2, 1, 3))
    entries, arrays = [], []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "array", "full"] if n else
                                    ["slice", "full"]))
        if kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "array":
            entries.append(IndexSpec.ARRAY)
            arrays.append(ints(draw, arr_shape, -n, n - 1))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            entries.append(slice(draw(bound), draw(bound),
                                 draw(st.sampled_from([None, 1, 2, -1, -2]))))
        else:
            entries.append(slice(None))
    full = [i for i, e in enumerate(entries) if e == slice(None)]
    if draw(st.booleans()) and full:                 # replace a run of full slices by ...
        i = draw(st.sampled_from(full))
        j = i
        while j + 1 < len(entries) and entries[j + 1] == slice(None) and draw(st.booleans()):
            j += 1
        entries[i:j + 1] = [Ellipsis]
    elif draw(st.booleans()):
        while entries and entries[-1] == slice(None):   # a partial index
            entries.pop()
    for _ in range(draw(st.integers(0, 2))):
        entries.insert(draw(st.integers(0, len(entries))), None)
    return IndexSpec(entries), tuple(arrays)


def _index_shape(shape, spec, arrays):
    return np.broadcast_to(np.empty((), np.int8), shape)[spec.build(arrays)].shape


def gather_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3, min_side=1, max_side=4))
    spec, arrays = index_spec(draw, shape)
    return (in_range(draw, shape, -3, 3, dtype),) + arrays, {"spec": spec}


def scatter_add_gen(draw):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3, min_side=1, max_side=4))
    spec, arrays = index_spec(draw, shape)
    updates = in_range(draw, _index_shape(shape, spec, arrays), -3, 3, dtype)
    return (updates,) + arrays, {"spec": spec, "shape": tuple(shape)}


def einsum_gen(draw):
    return einsum_case(draw)


def stop_gradient_gen(draw):
    dtype, shape = float_dtype(draw), draw(shapes())
    return (in_range(draw, shape, -3, 3, dtype),), {}


_LINEAR_BRANCHES = [               # linear in (x, y)
    lambda x, y: [x * 2.0 - y, fnp.sum(x) + y * 3.0],
    lambda x, y: [-x, y],
    lambda x, y: [fnp.cumsum(x, axis=-1) * 0.5 + y, fnp.sum(x[..., :1]) - y],
]


def cond_gen(draw):
    linear = draw(st.booleans())
    menu = _LINEAR_BRANCHES if linear else COND_BRANCHES
    shape = draw(shapes(1, 2))
    x, y = in_range(draw, shape, -2, 2), in_range(draw, (), -2, 2)
    picks = draw(st.lists(st.integers(0, len(menu) - 1), min_size=1, max_size=3))
    branches = tuple(closed_program(menu[i], x, y) for i in picks)
    index = np.int32(draw(st.integers(-1, len(branches))))       # out of range: clipped
    return (index, x, y), {"branches": branches}, {"linear": ((1, 2),) if linear else ()}


def while_gen(draw):
    """carry (i, x, s), one body constant c; the trip count depends only on i."""
    n = draw(st.integers(0, 3))
    shape = draw(shapes(0, 2))
    c = in_range(draw, shape, -1, 1)
    i0 = np.int64(draw(st.integers(0, 2)))
    x, s = in_range(draw, shape, -2, 2), in_range(draw, (), -1, 1)
    cond = closed_program(lambda i, x, s: [i < n], i0, x, s)
    body = closed_program(lambda c, i, x, s: [i + 1, fnp.sin(x) * c + x * s, s * 0.5 + fnp.mean(x)],
                   c, i0, x, s)
    return (c, i0, x, s), {"cond_jaxpr": cond, "body_jaxpr": body, "cond_nconsts": 0,
                           "body_nconsts": 1}


def scan_gen(draw):
    """consts (a,), carry (x, k: int), xs (z,); linear in (x, z) when `linear`."""
    linear = draw(st.booleans())
    length, shape = draw(st.integers(0, 3)), draw(shapes(0, 2))
    a = in_range(draw, shape, -1, 1)
    x = in_range(draw, shape, -2, 2)
    z = in_range(draw, (length,) + shape, -2, 2)
    k = np.int64(draw(st.integers(0, 3)))
    if linear:
        def body(a, x, z):
            return [x * a + z * 2.0, (fnp.cumsum(x, axis=-1) if x.ndim else x * 3.0) - z]
        args, n_carry = (a, x, z), 1
    else:
        def body(a, x, k, z):
            return [fnp.sin(x) * a + z * x, k + 1, x * z + k, fnp.exp(a * x)]
        args, n_carry = (a, x, k, z), 2
    jaxpr = closed_program(body, *[np.zeros(shape) if v is z else v for v in args])
    return args, {"body": jaxpr, "num_consts": 1, "num_carry": n_carry, "length": length,
                  "reverse": draw(st.booleans())}, {"linear": ((1, 2),) if linear else ()}


def _meta_linear(args, params, meta):
    return meta["linear"]


def _pair(draw):
    """(x, y): x an array, y of x's shape or rank 0."""
    shape = draw(shapes(1, 2))
    return in_range(draw, shape, -2, 2), in_range(draw, draw(st.sampled_from([shape, ()])), -2, 2)


def _unbroadcast_like(ct, y):
    return fnp.sum(ct) if np.ndim(y) == 0 else ct


def custom_jvp_gen(draw):
    """A custom_jvp_call with a correct rule for [sin(x) * y, sum(x * x)]."""
    x, y = _pair(draw)

    def fun(x, y):
        return [fnp.sin(x) * y, fnp.sum(x * x)]

    def jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        return fun(x, y), [fnp.cos(x) * tx * y + fnp.sin(x) * ty, fnp.sum(2.0 * x * tx)]
    return (x, y), {"fun": fun, "jvp": jvp, "name": "sin_times"}


def custom_vjp_gen(draw):
    """A custom_vjp_call with correct fwd/bwd rules for [sin(x) * y, sum(x * x)]."""
    x, y = _pair(draw)

    def fun(x, y):
        return [fnp.sin(x) * y, fnp.sum(x * x)]

    def fwd(x, y):
        return fun(x, y), [x, y]

    def bwd(res, cts):
        (x, y), (c0, c1) = res, cts
        return [fnp.cos(x) * y * c0 + 2.0 * x * c1, _unbroadcast_like(fnp.sin(x) * c0, y)]
    return (x, y), {"fun": fun, "fwd": fwd, "bwd": bwd, "name": "sin_times"}


def custom_lin_gen(draw):
    """custom_lin for the linear map (t, u) -> [a * t + u, sum(t)] with residual a; its
    values come from meta["reference"] (custom_lin itself is never evaluated)."""
    a, u = _pair(draw)
    t = in_range(draw, np.shape(a), -2, 2)

    def reference(a, t, u):
        return [a * t + u, fnp.sum(t)]

    def bwd(res, cts):
        (a,), (c0, c1) = res, cts
        return [a * c0 + c1, _unbroadcast_like(c0, u)]
    out_avals = tuple(get_aval(o) for o in reference(a, t, u))
    return (a, t, u), {"num_res": 1, "bwd": bwd, "out_avals": out_avals, "name": "lin"}, {
        "linear": ((1, 2),), "reference": reference}


# --------------------------------------------------------------------------- the table

ANY = (-3.0, 3.0)
TEST_SPECS = {
    "neg": Spec(unary(-3, 3), linear=((0,),)),
    "add": Spec(binary(ANY, ANY), linear=((0, 1),)),
    "sub": Spec(binary(ANY, ANY), linear=((0, 1),)),
    "mul": Spec(binary(ANY, ANY), linear=((0,), (1,))),
    "div": Spec(binary(ANY, ("away", 0.3, 3.0)), linear=((0,),)),
    **{n: Spec(unary(*d)) for n, d in UNARY_DOMAINS.items()},
    "integer_pow": Spec(integer_pow_gen),
    "pow": Spec(binary((0.2, 3.0), (-2.0, 2.0))),
    "max": Spec(separated),
    "min": Spec(separated),
    "atan2": Spec(binary(("away", 0.2, 3.0), ANY)),
    "rem": Spec(off_multiples),
    "sign": Spec(unary(0.1, 3, away=True), zero_tangent=True),
    "floor": Spec(off_integers, zero_tangent=True),
    "ceil": Spec(off_integers, zero_tangent=True),
    "round": Spec(off_integers, zero_tangent=True),
    "floor_divide": Spec(off_multiples, zero_tangent=True),
    "eq": Spec(comparison, zero_tangent=True),
    "ne": Spec(comparison, zero_tangent=True),
    "lt": Spec(comparison, zero_tangent=True),
    "le": Spec(comparison, zero_tangent=True),
    "gt": Spec(comparison, zero_tangent=True),
    "ge": Spec(comparison, zero_tangent=True),
    "and": Spec(bitwise(2), zero_tangent=True),
    "or": Spec(bitwise(2), zero_tangent=True),
    "xor": Spec(bitwise(2), zero_tangent=True),
    "not": Spec(bitwise(1), zero_tangent=True),
    "is_finite": Spec(finite_gen, zero_tangent=True),
    "select": Spec(select_gen, linear=((1, 2),)),
    "convert_element_type": Spec(convert_gen, linear=convert_linear),
    "stop_gradient": Spec(stop_gradient_gen, zero_tangent=True, fd=False),
    "broadcast_in_dim": Spec(broadcast_gen, linear=((0,),)),
    "reshape": Spec(reshape_gen, linear=((0,),)),
    "transpose": Spec(transpose_gen, linear=((0,),)),
    "reduce_sum": Spec(reduce_sum_gen, linear=((0,),)),
    "reduce_max": Spec(reduce_extremum_gen),
    "reduce_min": Spec(reduce_extremum_gen),
    "argmax": Spec(arg_extremum_gen, zero_tangent=True),
    "argmin": Spec(arg_extremum_gen, zero_tangent=True),
    "argsort": Spec(argsort_gen, zero_tangent=True),
    "cumsum": Spec(cumsum_gen, linear=((0,),)),
    "concatenate": Spec(concatenate_gen,
                        linear=lambda args, params, meta: (tuple(range(len(args))),)),
    "gather": Spec(gather_gen, linear=((0,),)),
    "scatter_add": Spec(scatter_add_gen, linear=((0,),)),
    "einsum": Spec(einsum_gen, linear=((0,), (1,))),
    "cond": Spec(cond_gen, linear=_meta_linear),
    "while": Spec(while_gen, modes=("fwd",), transpose_error=True),
    "scan": Spec(scan_gen, linear=_meta_linear),
    "custom_jvp_call": Spec(custom_jvp_gen),
    "custom_vjp_call": Spec(custom_vjp_gen, modes=("rev",)),
    "custom_lin": Spec(custom_lin_gen, linear=_meta_linear, fd=False, impl_error=TypeError),
}

try:    # specs written next to their own tests, in the same form (Spec's fields)
    from test_linalg_special import NEW_PRIMITIVE_SPECS
except ImportError:                     # (then test_every_primitive_has_a_spec names them)
    NEW_PRIMITIVE_SPECS = {}
TEST_SPECS.update({name: Spec(**kw) for name, kw in NEW_PRIMITIVE_SPECS.items()
                   if name not in TEST_SPECS})

NAMES = sorted(TEST_SPECS)

# Known fxad bugs: (test, primitive) -> (exception, reason); each such case is marked
# xfail(strict=True) until the bug is fixed. (None open at the moment.)
KNOWN_BUGS = {}


def cases(test, names):
    """`names` as pytest params, with the known bugs of `test` marked xfail(strict)."""
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, raises=KNOWN_BUGS[test, n][0],
                                                    reason=KNOWN_BUGS[test, n][1]))
            if (test, n) in KNOWN_BUGS else n for n in names]


def draw_case(data, name, with_meta=False):
    case = data.draw(drawn(TEST_SPECS[name].gen), label=f"{name} (args, params)")
    args, params, meta = case if len(case) == 3 else case + ({},)
    return (registry[name], args, params) + ((meta,) if with_meta else ())


def linear_sets(spec, args, params, meta):
    return spec.linear(args, params, meta) if callable(spec.linear) else spec.linear


def bound(prim, params):
    return lambda *xs: prim.bind(*xs, **params)


def internal_precision(params):
    """check_grads' steps and tolerances for float32 when the primitive computes in float32
    internally while its inputs and outputs may be float64 (convert_element_type)."""
    if params.get("new_dtype") == F32:
        return dict(eps=1e-3, atol=2e-3, rtol=2e-3)      # check_grads' float32 defaults
    return {}


def has_float32(args, params):
    return params.get("new_dtype") == F32 or any(
        get_aval(a).dtype == F32 for a in args)


def fd_order(args, params):
    """Finite differences check second derivatives in float64 only: in float32 their
    rounding noise is of the order of the tolerance. (`test_float32_agrees_with_float64`
    checks float32's second derivatives against float64's instead.)"""
    return 1 if has_float32(args, params) else 2


def rand_like(rng, x):
    aval = get_aval(x)
    return np.asarray(rng.standard_normal(aval.shape), aval.dtype)


def inner(x, y):
    return float(np.vdot(np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()))


def assert_inner_products_agree(lhs, rhs, scale, dtype):
    """Two ways of computing one inner product agree up to rounding (relative to `scale`,
    the same sums taken over absolute values)."""
    tol = np.sqrt(np.finfo(dtype).eps) * scale
    assert abs(lhs - rhs) <= tol, f"<ct, L t> = {lhs!r} but <L^T ct, t> = {rhs!r}"


# --------------------------------------------------------------------------- the tests


def test_every_primitive_has_a_spec():
    missing = sorted(set(registry) - set(TEST_SPECS))
    assert not missing, (f"primitives without a test spec: {missing}; add a row to "
                         "TEST_SPECS in tests/test_primitives.py (the primitive's domain)")


def test_no_stale_specs():
    stale = sorted(set(TEST_SPECS) - set(registry))
    assert not stale, f"test specs for primitives that are not registered: {stale}"


@pytest.mark.parametrize("name", sorted(registry))
def test_linear_primitives_have_transpose_rules(name):
    """A primitive has a transpose rule exactly when its spec says it is linear in some
    arguments (so every transpose rule is exercised by test_transpose_rule)."""
    prim, spec = registry[name], TEST_SPECS.get(name)
    assert spec is not None, f"no test spec for {name}"
    declared_linear = callable(spec.linear) or bool(spec.linear)
    assert (prim.transpose is not None) == (declared_linear or spec.transpose_error)
    assert prim.impl is not None and prim.abstract_eval is not None
    # every primitive has a jvp rule, except those that live only in linear programs
    assert (prim.jvp is not None) == (spec.impl_error is None)


@pytest.mark.parametrize("name", NAMES)
@examples()
@given(data=st.data())
def test_abstract_eval_matches_impl(name, data):
    prim, args, params, meta = draw_case(data, name, with_meta=True)
    if prim.nargs is not None:
        assert len(args) == prim.nargs
    out_aval = prim.abstract_eval(*[get_aval(a) for a in args], **params)
    if TEST_SPECS[name].impl_error is not None:
        with pytest.raises(TEST_SPECS[name].impl_error, match="not supported"):
            prim.impl(*args, **params)
        ref = meta["reference"](*args)
        assert list(out_aval) == [get_aval(np.asarray(r)) for r in ref]
        return
    out = prim.impl(*args, **params)
    outs, out_avals = (out, out_aval) if prim.multiple_results else ([out], [out_aval])
    assert len(outs) == len(out_avals)
    for o, a in zip(outs, out_avals):
        assert isinstance(o, (np.ndarray, np.generic)), type(o)
        assert (np.shape(o), np.asarray(o).dtype) == (a.shape, a.dtype), (o, a)
    # binding outside any transform is the impl
    for o, b in zip(outs, [prim.bind(*args, **params)] if not prim.multiple_results
                    else prim.bind(*args, **params)):
        np.testing.assert_array_equal(o, b)
    # staged: the program typechecks and evaluates to the same values
    jaxpr = fxad.make_jaxpr(bound(prim, params))(*args)
    jx.typecheck(jaxpr)
    assert [v.aval for v in jaxpr.outvars] == list(out_avals)
    for o, r in zip(outs, fxad.eval_jaxpr(jaxpr, *args)):
        np.testing.assert_array_equal(o, r)


@pytest.mark.parametrize("name", cases("test_derivatives_match_finite_differences",
                                       [n for n in NAMES if TEST_SPECS[n].fd]))
@examples()
@given(data=st.data())
def test_derivatives_match_finite_differences(name, data):
    """jvp vs central differences; vjp vs jvp (inner products), to second order."""
    prim, args, params = draw_case(data, name)
    check_grads(bound(prim, params), args, order=fd_order(args, params),
                modes=TEST_SPECS[name].modes, **internal_precision(params))


@pytest.mark.parametrize("name", cases(
    "test_derivatives_with_some_arguments_constant",
    [n for n in NAMES if TEST_SPECS[n].fd and registry[n].nargs != 1
     and n not in {"and", "or", "xor", "not"}]))
@examples(0.5)
@given(data=st.data())
def test_derivatives_with_some_arguments_constant(name, data):
    """Each float argument alone (the others fixed), so the rules see zero tangents."""
    prim, args, params = draw_case(data, name)
    float_idx = [i for i, a in enumerate(args) if is_float(get_aval(a).dtype)]
    assume(float_idx)
    for i in float_idx:
        def f(x, i=i):
            full = list(args)
            full[i] = x
            return prim.bind(*full, **params)
        check_grads(f, (args[i],), order=1, modes=TEST_SPECS[name].modes,
                    **internal_precision(params))


def derivative_bundle(f, args, modes, rng):
    """Values, first and second derivatives of `f` at `args` in fixed random directions
    (the same for any dtype of `args`): [out, J t, J^T ct, (d/dx J t) s, d/dx <ct, J t>]."""
    def like(x):
        aval = get_aval(x)
        return np.asarray(rng.standard_normal(aval.shape), aval.dtype) if is_float(
            aval.dtype) else np.zeros(aval.shape, aval.dtype)
    t, s = [like(a) for a in args], [like(a) for a in args]
    out, jt = fxad.jvp(f, tuple(args), tuple(t))
    bundle = [out, jt, fxad.jvp(lambda *a: fxad.jvp(f, a, tuple(t))[1], tuple(args), tuple(s))[1]]
    if "rev" in modes:
        ct = fxad.tree_util.tree_map(like, out)
        bundle.append(fxad.vjp(f, *args)[1](ct))
        bundle.append(fxad.vjp(lambda *a: fxad.jvp(f, a, tuple(t))[1], *args)[1](ct))
    return bundle


FLOAT64_ONLY = {"and", "or", "xor", "not", "cond", "while", "scan", "custom_jvp_call",
                "custom_vjp_call", "custom_lin"}                   # specs without float32


@pytest.mark.parametrize("name", [n for n in NAMES if TEST_SPECS[n].fd and n not in FLOAT64_ONLY])
@examples(0.5)
@given(data=st.data())
def test_float32_agrees_with_float64(name, data):
    """float32 derivatives (to second order) agree with float64's at the same point, to
    float32 accuracy (their dtypes are checked by check_grads above)."""
    prim, args, params = draw_case(data, name)
    assume(any(get_aval(a).dtype == F32 for a in args))
    args64 = [np.asarray(a, F64)[()] if get_aval(a).dtype == F32 else a for a in args]
    f, modes = bound(prim, params), TEST_SPECS[name].modes
    b32 = derivative_bundle(f, args, modes, np.random.default_rng(0))
    b64 = derivative_bundle(f, args64, modes, np.random.default_rng(0))
    for k, (r32, r64) in enumerate(zip(b32, b64)):
        for x32, x64 in zip(fxad.tree_util.tree_leaves(r32), fxad.tree_util.tree_leaves(r64)):
            x32, x64 = np.asarray(x32), np.asarray(x64)
            scale = max(1.0, float(np.max(np.abs(x64), initial=0.0)))
            np.testing.assert_allclose(x32, x64, rtol=2e-3, atol=2e-3 * scale,
                                       err_msg=f"derivative bundle entry {k}")


@pytest.mark.parametrize("name", [n for n in NAMES if TEST_SPECS[n].linear])
@examples()
@given(data=st.data())
def test_transpose_rule(name, data):
    prim, args, params, meta = draw_case(data, name, with_meta=True)
    spec = TEST_SPECS[name]
    rng = np.random.default_rng(0)
    assume(linear_sets(spec, args, params, meta))     # (cond, scan: when drawn linear)
    for lin in linear_sets(spec, args, params, meta):
        forward = meta.get("reference", bound(prim, params))

        def f(*ts, lin=lin):
            full = list(args)
            for i, t in zip(lin, ts):
                full[i] = t
            return forward(*full)
        ts = [rand_like(rng, args[i]) for i in lin]
        out = f(*ts)
        outs = out if prim.multiple_results else [out]
        cts_out = [rand_like(rng, o) for o in outs]
        ct = cts_out if prim.multiple_results else cts_out[0]
        undefined = [UndefinedPrimal(get_aval(a)) if i in lin else a for i, a in enumerate(args)]
        cts = prim.transpose(ct, *undefined, **params)
        assert len(cts) == len(args)
        for i, (a, c) in enumerate(zip(args, cts)):
            if i not in lin:
                assert c is None, f"cotangent for non-linear argument {i}"
            elif c is not None:
                assert (np.shape(c), np.asarray(c).dtype) == (get_aval(a).shape,
                                                             get_aval(a).dtype)
        cts_lin = [np.zeros_like(np.asarray(args[i])) if cts[i] is None else cts[i] for i in lin]
        lhs = sum(inner(c, o) for c, o in zip(cts_out, outs))
        rhs = sum(inner(c, t) for c, t in zip(cts_lin, ts))
        scale = sum(inner(np.abs(c), np.abs(o)) for c, o in zip(cts_out, outs)) + sum(
            inner(np.abs(c), np.abs(t)) for c, t in zip(cts_lin, ts))
        dtype = min([get_aval(o).dtype for o in outs] + [get_aval(ts[0]).dtype],
                    key=lambda d: np.finfo(d).bits)
        assert_inner_products_agree(lhs, rhs, scale, dtype)
        if "reference" in meta:
            continue                     # (the primitive cannot run forwards)
        # fxad.vjp of the linear map transposes the same rule
        _, vjp_fn = fxad.vjp(f, *ts)
        for g, c in zip(vjp_fn(ct), cts_lin):
            assert (np.shape(g), np.asarray(g).dtype) == (np.shape(c), np.asarray(c).dtype)
            np.testing.assert_allclose(g, c, rtol=np.sqrt(np.finfo(dtype).eps),
                                       atol=np.sqrt(np.finfo(dtype).eps) * max(1.0, scale))


@pytest.mark.parametrize("name", [n for n in NAMES if TEST_SPECS[n].zero_tangent])
@examples(0.5)
@given(data=st.data())
def test_non_differentiable_gives_no_tangent(name, data):
    prim, args, params = draw_case(data, name)
    rng = np.random.default_rng(0)
    tangents = [rand_like(rng, a) if is_float(get_aval(a).dtype) else None for a in args]
    out, t_out = prim.jvp(list(args), tangents, **params)
    if prim.multiple_results:
        assert all(t is None for t in t_out)
    else:
        assert t_out is None, f"{name}'s jvp rule produced a tangent"
    np.testing.assert_array_equal(out, prim.impl(*args, **params))
    full_t = [np.zeros_like(np.asarray(a)) if t is None else t for a, t in zip(args, tangents)]
    y, ty = fxad.jvp(bound(prim, params), tuple(args), tuple(full_t))
    assert np.shape(ty) == np.shape(y) and not np.any(ty)
    _, vjp_fn = fxad.vjp(bound(prim, params), *args)
    y_ct = np.ones_like(np.asarray(y)) if is_float(get_aval(y).dtype) else np.zeros_like(y)
    for a, g in zip(args, vjp_fn(y_ct)):
        assert np.shape(g) == np.shape(a) and not np.any(g)


# --------------------------------------------------------------------------- specific cases


@pytest.mark.parametrize("name", [n for n in NAMES if TEST_SPECS[n].transpose_error])
@examples(0.2)
@given(data=st.data())
def test_reverse_mode_unsupported_says_so(name, data):
    prim, args, params = draw_case(data, name)
    with pytest.raises(NotImplementedError, match=r"fori_loop|scan|jvp"):
        fxad.vjp(bound(prim, params), *args)[1](prim.impl(*args, **params))


def test_is_finite_on_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 1.0, -0.0])
    np.testing.assert_array_equal(registry["is_finite"].bind(x), np.isfinite(x))
    _, t = fxad.jvp(lambda v: registry["is_finite"].bind(v), (x,), (np.ones_like(x),))
    assert t.dtype == np.bool_ and not t.any()


def test_max_tie_splits_the_tangent():
    # documented behaviour (as in JAX): at a tie each argument gets half the tangent
    gx, gy = fxad.grad(lambda x, y: registry["max"].bind(x, y), argnums=(0, 1))(1.5, 1.5)
    assert gx == gy == 0.5 * (gx + gy) and gx + gy == 1.0


def test_reduce_max_tie_shares_the_tangent():
    x = np.array([2.0, 2.0, 1.0])
    g = fxad.grad(lambda v: registry["reduce_max"].bind(v, axes=(0,)))(x)
    assert g[0] == g[1] and g[2] == 0 and g.sum() == 1.0


def test_integer_pow_int_negative_exponent_aval():
    prim, x = registry["integer_pow"], np.array([1, 2, 4])
    out = prim.impl(x, y=-1)
    assert prim.abstract_eval(get_aval(x), y=-1) == get_aval(out)


def test_cond_jvp_with_a_zero_array_tangent_staged():
    """Regression: cond's jvp kept too few inputs when a non-scalar tangent was zero."""
    x = np.ones(2)

    def g(p, y):
        branch = lambda x, y: (-x, y)
        return fxad.jvp(lambda y: fxad.lax.cond(p, branch, branch, x, y), (y,), (1.0,))

    jaxpr = fxad.make_jaxpr(g)(True, 1.0)
    expected = fxad.tree_util.tree_leaves(g(True, 1.0))
    for got, want in zip(fxad.eval_jaxpr(jaxpr, True, 1.0), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_max", "reduce_min"])
@pytest.mark.parametrize("dtype", [F64, F32, np.dtype(np.int32)])
def test_reductions_of_arrays_with_a_short_last_axis(name, dtype):
    """Arrays of many short rows take another path through NumPy (the last axis moved
    first): same values (sums to rounding), dtype, shape and NaN propagation as NumPy."""
    import itertools
    reference = {"reduce_sum": np.sum, "reduce_max": np.max, "reduce_min": np.min}[name]
    rng = np.random.default_rng(0)
    for shape in [(256, 10), (40, 8, 3), (3, 100, 4), (300, 17), (2, 128, 1)]:
        x = (rng.standard_normal(shape) * 10).astype(dtype)
        for r in range(1, len(shape) + 1):
            for axes in itertools.combinations(range(len(shape)), r):
                got, want = registry[name].impl(x, axes=axes), reference(x, axis=axes)
                assert got.shape == want.shape and got.dtype == x.dtype, (shape, axes)
                if name != "reduce_sum" or dtype.kind == "i":
                    np.testing.assert_array_equal(got, want)
                    continue
                # two summation orders: each within n eps sum|x| of the exact sum
                n = x.size // got.size
                bound = 2 * n * np.finfo(dtype).eps * np.sum(np.abs(x), axis=axes, dtype=F64)
                assert np.all(np.abs(got.astype(F64) - want) <= bound), (shape, axes)
    x = rng.standard_normal((256, 10))
    x[3, 4] = np.nan
    assert np.isnan(registry[name].impl(x, axes=(1,))[3])
    assert np.isnan(registry[name].impl(x, axes=(0,))[4])
