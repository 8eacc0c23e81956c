"""`vmap` and the Jacobians built on it (`jacfwd`, `jacrev`, `hessian`).

Table-driven over every primitive in `fxad.core.registry` (`VMAP_SPECS`; a primitive
without a row fails `test_every_primitive_has_a_vmap_spec`). Each row draws a *batch* of
`B` examples of one signature (shapes, dtypes, params) in the primitive's domain, so the
examples really differ. For each primitive, `vmap(prim.bind)` is compared with a Python
loop of `prim.bind` over the examples, stacked:
  * every operand mapped over axis 0;
  * only some operands mapped (the others `None`, shared by all examples);
  * mapped axes other than 0 (negative ones too) and `out_axes` other than 0;
  * dtypes and shapes preserved; every primitive has a batch rule, and vmap stages one
    equation of it for the whole batch, not one per example.
Then vmap composed with grad/jit/itself, pytrees, errors, control flow, and the Jacobians
against finite differences and each other (with JAX's pytree layout).
"""
import atexit
import os
import re
import shutil
import tempfile
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given, strategies as st

if not os.environ.get("FXAD_CACHE_DIR"):            # jit may compile: keep ~/.cache clean
    _CACHE = tempfile.mkdtemp(prefix="fxad-test-cache-")
    os.environ["FXAD_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)

import fxad                                          # noqa: E402
import fxad.numpy as fnp                             # noqa: E402
from fxad import lax                                 # noqa: E402
from fxad.core import ShapedArray, get_aval, is_float, registry   # noqa: E402
from fxad.errors import ConcretizationTypeError      # noqa: E402
from fxad.primitives.structural import IndexSpec     # noqa: E402

from _strategies import (UNARY_DOMAINS, COND_BRANCHES, F32, F64, away_from_zero, bools,  # noqa: E402
                         closed_program, einsum_case, examples, float_dtype, grid, in_range, ints, shapes)


class VSpec(NamedTuple):
    gen: Callable                 # (draw, B) -> (args with a leading batch axis B, params)
    raises: type = None           # the primitive cannot be evaluated: vmap raises the same


# --------------------------------------------------------------------------- generators
# Each returns every operand with a leading batch axis of size B.


def _small(min_dims=0, max_dims=2):
    return shapes(min_dims, max_dims, 1, 3)


def unary(lo, hi, away=False):
    def gen(draw, B):
        dtype, shape = float_dtype(draw), draw(_small())
        x = (away_from_zero if away else in_range)(draw, (B,) + shape, lo, hi, dtype)
        return (x,), {}
    return gen


def _operand_shapes(draw, n):
    """Shapes of n shape-strict elementwise operands: one shape, some of them rank 0."""
    shape = draw(_small())
    return [draw(st.sampled_from([shape, ()])) for _ in range(n)]


def binary(x_dom, y_dom):
    """Each domain is (lo, hi) or ("away", lo, hi)."""
    def operand(draw, shape, dom, dtype):
        if dom[0] == "away":
            return away_from_zero(draw, shape, dom[1], dom[2], dtype)
        return in_range(draw, shape, dom[0], dom[1], dtype)

    def gen(draw, B):
        dtype = float_dtype(draw)
        sx, sy = _operand_shapes(draw, 2)
        return (operand(draw, (B,) + sx, x_dom, dtype),
                operand(draw, (B,) + sy, y_dom, dtype)), {}
    return gen


def integer_pow_gen(draw, B):
    y = draw(st.integers(-3, 5))
    dtype, shape = float_dtype(draw), (B,) + draw(_small())
    x = away_from_zero(draw, shape, 0.3, 2.0, dtype) if y < 0 else in_range(draw, shape, -2, 2,
                                                                             dtype)
    return (x,), {"y": y}


def off_integers(draw, B):
    dtype, shape = float_dtype(draw), (B,) + draw(_small())
    return (grid(draw, shape, 0.5, 0.2, dtype=dtype),), {}


def comparison(draw, B):
    """Values on a coarse grid (so ties happen), float or integer."""
    dtype = draw(st.sampled_from([F64, F32, np.dtype(np.int64)]))
    sx, sy = _operand_shapes(draw, 2)
    return (grid(draw, (B,) + sx, 0.5, k=2).astype(dtype),
            grid(draw, (B,) + sy, 0.5, k=2).astype(dtype)), {}


def bitwise(nargs):
    def gen(draw, B):
        shapes_ = [(B,) + s for s in _operand_shapes(draw, nargs)]
        if draw(st.booleans()):
            return tuple(bools(draw, s) for s in shapes_), {}
        return tuple(ints(draw, s, -8, 8) for s in shapes_), {}
    return gen


def finite_gen(draw, B):
    dtype, shape = float_dtype(draw), (B,) + draw(_small())
    values = st.sampled_from([np.inf, -np.inf, np.nan, 0.0, -1.5, 2.0, 1e30])
    from hypothesis.extra import numpy as hnp
    return (draw(hnp.arrays(F64, shape, elements=values)).astype(dtype),), {}


def select_gen(draw, B):
    dtype = float_dtype(draw)
    sp, st_, sf = _operand_shapes(draw, 3)
    return (bools(draw, (B,) + sp), in_range(draw, (B,) + st_, -3, 3, dtype),
            in_range(draw, (B,) + sf, -3, 3, dtype)), {}


_CONVERSIONS = [(F64, F32), (F32, F64), (F64, np.dtype(np.int64)), (F32, np.dtype(np.int32)),
                (np.dtype(np.int64), F64), (np.dtype(np.bool_), F32), (F64, np.dtype(np.bool_))]


def convert_gen(draw, B):
    src, dst = draw(st.sampled_from(_CONVERSIONS))
    shape = (B,) + draw(_small())
    if src == np.bool_:
        x = bools(draw, shape)
    elif is_float(src):
        x = grid(draw, shape, 0.5, 0.2, dtype=src)
    else:
        x = ints(draw, shape, -5, 5, src)
    return (x,), {"new_dtype": np.dtype(dst)}


def float_gen(draw, B):
    dtype, shape = float_dtype(draw), (B,) + draw(_small())
    return (in_range(draw, shape, -3, 3, dtype),), {}


def broadcast_gen(draw, B):
    dtype = float_dtype(draw)
    out_shape = draw(shapes(0, 3, 1, 3))
    dims = sorted(draw(st.sets(st.integers(0, len(out_shape) - 1), max_size=len(out_shape)))
                  ) if out_shape else []
    in_shape = tuple(draw(st.sampled_from([out_shape[d], 1])) for d in dims)
    return (in_range(draw, (B,) + in_shape, -3, 3, dtype),), {
        "shape": tuple(out_shape), "broadcast_dimensions": tuple(dims)}


def reshape_gen(draw, B):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3, 1, 3))
    size = int(np.prod(shape, dtype=np.int64))
    new = draw(st.sampled_from([(size,), shape[::-1], (1,) + shape, shape + (1,),
                                (size, 1), () if size == 1 else (size,)]))
    return (in_range(draw, (B,) + shape, -3, 3, dtype),), {"new_sizes": tuple(new)}


def transpose_gen(draw, B):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3, 1, 3))
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return (in_range(draw, (B,) + shape, -3, 3, dtype),), {"permutation": perm}


def _axes(draw, ndim):
    return tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), max_size=ndim)))) if ndim else ()


def reduce_gen(draw, B):
    dtype = float_dtype(draw)
    shape = draw(shapes(0, 3, 1, 3))
    return (in_range(draw, (B,) + shape, -3, 3, dtype),), {"axes": _axes(draw, len(shape))}


def arg_extremum_gen(draw, B):
    """Ties included (the first index wins, per example and batched alike)."""
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3, 1, 3))
    return (grid(draw, (B,) + shape, 0.5, k=2, dtype=dtype),), {
        "axis": draw(st.integers(0, len(shape) - 1))}


def argsort_gen(draw, B):
    """Ties included (a stable sort keeps their order)."""
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3, 1, 4))
    return (grid(draw, (B,) + shape, 0.5, k=2, dtype=dtype),), {
        "axis": draw(st.integers(0, len(shape) - 1))}


def cumsum_gen(draw, B):
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3, 1, 3))
    return (in_range(draw, (B,) + shape, -3, 3, dtype),), {
        "axis": draw(st.integers(0, len(shape) - 1)), "reverse": draw(st.booleans())}


def concatenate_gen(draw, B):
    dtype = float_dtype(draw)
    shape = list(draw(shapes(1, 3, 1, 3)))
    dim = draw(st.integers(0, len(shape) - 1))
    xs = []
    for _ in range(draw(st.integers(2, 3))):
        shape[dim] = draw(st.integers(0, 2))
        xs.append(in_range(draw, (B,) + tuple(shape), -3, 3, dtype))
    return tuple(xs), {"dimension": dim}


def index_spec(draw, B, shape):
    """A NumPy index into `shape` (ints, slices, integer arrays, None, Ellipsis), with the
    integer-array operands drawn per example (in range for `shape`, so repeated indices
    are common; their shapes are suffixes of one shape, so they broadcast)."""
    arr_shape = draw(shapes(0, 2, 1, 2))
    entries, arrays = [], []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "array", "full"]))
        if kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "array":
            entries.append(IndexSpec.ARRAY)
            own = arr_shape[draw(st.integers(0, len(arr_shape))):]
            arrays.append(ints(draw, (B,) + own, -n, n - 1))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            entries.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 2, -1]))))
        else:
            entries.append(slice(None))
    if draw(st.booleans()):
        entries.insert(draw(st.integers(0, len(entries))), None)
    if draw(st.booleans()) and slice(None) in entries:
        entries[entries.index(slice(None))] = Ellipsis
    return IndexSpec(entries), tuple(arrays)


def gather_gen(draw, B):
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3, 1, 3))
    spec, arrays = index_spec(draw, B, shape)
    return (in_range(draw, (B,) + shape, -3, 3, dtype),) + arrays, {"spec": spec}


def scatter_add_gen(draw, B):
    dtype = float_dtype(draw)
    shape = draw(shapes(1, 3, 1, 3))
    spec, arrays = index_spec(draw, B, shape)
    idx_shape = np.broadcast_to(np.empty((), np.int8), shape)[
        spec.build([a[0] for a in arrays])].shape
    return (in_range(draw, (B,) + idx_shape, -3, 3, dtype),) + arrays, {
        "spec": spec, "shape": tuple(shape)}


def einsum_gen(draw, B):
    return einsum_case(draw, (B,))


def cond_gen(draw, B):
    shape = draw(_small(1, 2))
    x, y = in_range(draw, (B,) + shape, -2, 2), in_range(draw, (B,), -2, 2)
    picks = draw(st.lists(st.integers(0, 2), min_size=1, max_size=3))
    branches = tuple(closed_program(COND_BRANCHES[i], x[0], y[0]) for i in picks)
    index = ints(draw, (B,), -1, len(branches), np.int32)       # out of range: clipped
    return (index, x, y), {"branches": branches}


def while_gen(draw, B):
    """carry (i, x, s), one body constant c; the trip count depends on i (per example)."""
    n = draw(st.integers(0, 3))
    shape = draw(_small(0, 2))
    c = in_range(draw, (B,) + shape, -1, 1)
    i0 = ints(draw, (B,), 0, 3)
    x, s = in_range(draw, (B,) + shape, -2, 2), in_range(draw, (B,), -1, 1)
    cond = closed_program(lambda i, x, s: [i < n], i0[0], x[0], s[0])
    body = closed_program(lambda c, i, x, s: [i + 1, fnp.sin(x) * c + x * s, s * 0.5 + fnp.mean(x)],
                   c[0], i0[0], x[0], s[0])
    return (c, i0, x, s), {"cond_jaxpr": cond, "body_jaxpr": body, "cond_nconsts": 0,
                           "body_nconsts": 1}


def scan_gen(draw, B):
    """consts (a,), carry (x, k: int), xs (z,)."""
    length, shape = draw(st.integers(0, 3)), draw(_small(0, 2))
    a, x = in_range(draw, (B,) + shape, -1, 1), in_range(draw, (B,) + shape, -2, 2)
    z = in_range(draw, (B, length) + shape, -2, 2)
    k = ints(draw, (B,), 0, 3)

    def body(a, x, k, z):
        return [fnp.sin(x) * a + z * x, k + 1, x * z + k, fnp.exp(a * x)]

    jaxpr = closed_program(body, a[0], x[0], k[0], np.zeros(shape))
    return (a, x, k, z), {"body": jaxpr, "num_consts": 1, "num_carry": 2, "length": length,
                          "reverse": draw(st.booleans())}


# the user functions custom_jvp/custom_vjp primitives carry (flat lists in and out)
def _cj_fun(x, y):
    return [fnp.sin(x) * y, fnp.sum(x)]


def _cj_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return _cj_fun(x, y), [fnp.cos(x) * y * tx * 3.0 + fnp.sin(x) * ty, fnp.sum(tx)]


def _cv_fwd(x, y):
    return _cj_fun(x, y), [fnp.cos(x), fnp.sin(x), y]


def _cv_bwd(res, cts):
    cos_x, sin_x, y = res
    return [cts[0] * cos_x * y + cts[1], fnp.sum(cts[0] * sin_x) + y * 0.0]


def custom_gen(**params):
    def gen(draw, B):
        shape = draw(_small(1, 2))
        return (in_range(draw, (B,) + shape, -2, 2), in_range(draw, (B,), -2, 2)), params
    return gen


def custom_lin_gen(draw, B):
    shape = draw(_small(1, 2))
    res = [in_range(draw, (B,) + shape, -2, 2) for _ in range(3)]
    ts = [in_range(draw, (B,) + shape, -2, 2), in_range(draw, (B,), -2, 2)]
    return tuple(res + ts), {"num_res": 3, "bwd": _cv_bwd, "name": "f", "out_avals": (
        ShapedArray(shape, F64), ShapedArray((), F64))}


# --------------------------------------------------------------------------- the table

ANY = (-3.0, 3.0)
VMAP_SPECS = {
    "neg": VSpec(unary(-3, 3)),
    **{n: VSpec(unary(*d)) for n, d in UNARY_DOMAINS.items()},
    "sign": VSpec(unary(0.1, 3, away=True)),
    "floor": VSpec(off_integers),
    "ceil": VSpec(off_integers),
    "round": VSpec(off_integers),
    "is_finite": VSpec(finite_gen),
    "stop_gradient": VSpec(float_gen),
    "integer_pow": VSpec(integer_pow_gen),
    "add": VSpec(binary(ANY, ANY)),
    "sub": VSpec(binary(ANY, ANY)),
    "mul": VSpec(binary(ANY, ANY)),
    "div": VSpec(binary(ANY, ("away", 0.3, 3.0))),
    "pow": VSpec(binary((0.2, 3.0), (-2.0, 2.0))),
    "max": VSpec(binary(ANY, ANY)),
    "min": VSpec(binary(ANY, ANY)),
    "atan2": VSpec(binary(ANY, ANY)),
    "rem": VSpec(binary(ANY, ("away", 0.3, 3.0))),
    "floor_divide": VSpec(binary(ANY, ("away", 0.3, 3.0))),
    "eq": VSpec(comparison),
    "ne": VSpec(comparison),
    "lt": VSpec(comparison),
    "le": VSpec(comparison),
    "gt": VSpec(comparison),
    "ge": VSpec(comparison),
    "and": VSpec(bitwise(2)),
    "or": VSpec(bitwise(2)),
    "xor": VSpec(bitwise(2)),
    "not": VSpec(bitwise(1)),
    "select": VSpec(select_gen),
    "convert_element_type": VSpec(convert_gen),
    "broadcast_in_dim": VSpec(broadcast_gen),
    "reshape": VSpec(reshape_gen),
    "transpose": VSpec(transpose_gen),
    "reduce_sum": VSpec(reduce_gen),
    "reduce_max": VSpec(reduce_gen),
    "reduce_min": VSpec(reduce_gen),
    "argmax": VSpec(arg_extremum_gen),
    "argmin": VSpec(arg_extremum_gen),
    "cumsum": VSpec(cumsum_gen),
    "concatenate": VSpec(concatenate_gen),
    "gather": VSpec(gather_gen),
    "scatter_add": VSpec(scatter_add_gen),
    "einsum": VSpec(einsum_gen),
    "argsort": VSpec(argsort_gen),
    "cond": VSpec(cond_gen),
    "while": VSpec(while_gen),
    "scan": VSpec(scan_gen),
    "custom_jvp_call": VSpec(custom_gen(fun=_cj_fun, jvp=_cj_jvp, name="f")),
    "custom_vjp_call": VSpec(custom_gen(fun=_cj_fun, fwd=_cv_fwd, bwd=_cv_bwd, name="f")),
    # custom_lin stands for a custom_vjp function under forward mode, which it refuses;
    # its batched transpose is tested by test_custom_lin_under_vmap_transposes_to_bwd...
    "custom_lin": VSpec(custom_lin_gen, raises=TypeError),
}

# The linear-algebra and special-function primitives bring their own rows (their domains
# live with their tests, in tests/test_linalg_special.py).
# (An import failure there must not hide every vmap test: it shows up as missing rows.)
try:
    from test_linalg_special import NEW_VMAP_SPECS               # noqa: E402
    _NEW_SPECS_ERROR = None
except Exception as e:                                            # noqa: BLE001
    NEW_VMAP_SPECS, _NEW_SPECS_ERROR = {}, e
VMAP_SPECS.update({name: VSpec(**kw) for name, kw in NEW_VMAP_SPECS.items()})

NAMES = sorted(VMAP_SPECS)
MULTI_OPERAND = [n for n in NAMES if registry[n].nargs != 1]


def test_every_primitive_has_a_vmap_spec():
    missing = sorted(set(registry) - set(VMAP_SPECS))
    assert not missing, (f"primitives without a vmap test spec: {missing}; add a row to "
                         "VMAP_SPECS in tests/test_vmap.py" + (
                             f" (importing tests/test_linalg_special.py's rows failed: "
                             f"{_NEW_SPECS_ERROR!r})" if _NEW_SPECS_ERROR else ""))


def test_no_stale_vmap_specs():
    stale = sorted(set(VMAP_SPECS) - set(registry))
    assert not stale, f"vmap test specs for primitives that are not registered: {stale}"


# --------------------------------------------------------------------------- harness


def draw_case(data, name):
    B = data.draw(st.integers(1, 3), label="batch size")
    args, params = data.draw(st.composite(lambda draw: VMAP_SPECS[name].gen(draw, B))(),
                             label=f"{name} batched (args, params)")
    return registry[name], B, list(args), params


def loop_reference(prim, params, args, axes, B):
    """`prim.bind` per example (operand i's example b is `take(args[i], b, axes[i])`, or
    `args[i]` itself where `axes[i]` is None), stacked along a new axis 0."""
    outs = []
    for b in range(B):
        ex = [a if ax is None else np.take(a, b, axis=ax) for a, ax in zip(args, axes)]
        outs.append(prim.bind(*ex, **params))
    if prim.multiple_results:
        return [np.stack([np.asarray(o[j]) for o in outs]) for j in range(len(outs[0]))]
    return np.stack([np.asarray(o) for o in outs])


def assert_matches(got, want, what=""):
    got = np.asarray(got)
    assert isinstance(got, np.ndarray)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    if is_float(want.dtype):
        tol = 1e-5 if want.dtype == F32 else 1e-12
        scale = max(1.0, float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def check_vmap(name, prim, params, args, in_axes, out_axes, B):
    """vmap(prim.bind) with these axes equals the stacked loop, with `out_axes` applied."""
    f = fxad.vmap(lambda *a: prim.bind(*a, **params), in_axes=tuple(in_axes),
                  out_axes=out_axes)
    spec = VMAP_SPECS[name]
    if spec.raises is not None:
        with pytest.raises(spec.raises) as per_example:
            loop_reference(prim, params, args, in_axes, B)
        with pytest.raises(spec.raises, match=re.escape(str(per_example.value)[:40])):
            f(*args)
        return
    want = loop_reference(prim, params, args, in_axes, B)
    got = f(*args)
    if prim.multiple_results:
        assert isinstance(got, list) and len(got) == len(want)
        o_axes = out_axes if isinstance(out_axes, list) else [out_axes] * len(want)
        for j, (g, w, oa) in enumerate(zip(got, want, o_axes)):
            assert_matches(g, np.moveaxis(w, 0, oa), f"{name} output {j}")
    else:
        assert_matches(got, np.moveaxis(want, 0, out_axes), name)


def _out_ndims(prim, params, args, in_axes):
    """Per-example output ranks (from abstract_eval of the first example)."""
    ex = [a if ax is None else np.take(a, 0, axis=ax) for a, ax in zip(args, in_axes)]
    avals = prim.abstract_eval(*[get_aval(a) for a in ex], **params)
    return [a.ndim for a in avals] if prim.multiple_results else avals.ndim


# --------------------------------------------------------------------------- per primitive


@pytest.mark.parametrize("name", NAMES)
@examples(0.2)
@given(data=st.data())
def test_vmap_every_operand_axis_0(name, data):
    prim, B, args, params = draw_case(data, name)
    check_vmap(name, prim, params, args, [0] * len(args), 0, B)


@pytest.mark.parametrize("name", MULTI_OPERAND)
@examples(0.2)
@given(data=st.data())
def test_vmap_some_operands_unbatched(name, data):
    """Operands with in_axes None are shared by every example (here: example 0's)."""
    prim, B, args, params = draw_case(data, name)
    n = len(args)
    batched = data.draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(
        lambda m: any(m) and not all(m)), label="batched operands")
    args = [a if m else a[0] for a, m in zip(args, batched)]
    check_vmap(name, prim, params, args, [0 if m else None for m in batched], 0, B)


@pytest.mark.parametrize("name", NAMES)
@examples(0.2)
@given(data=st.data())
def test_vmap_other_in_and_out_axes(name, data):
    """The batch axis of each operand moved elsewhere (given as a positive or negative
    in_axes), and the output's batch axis placed by a non-zero out_axes."""
    prim, B, args, params = draw_case(data, name)
    in_axes, moved = [], []
    for i, a in enumerate(args):
        axis = data.draw(st.integers(0, a.ndim - 1), label=f"axis of operand {i}")
        moved.append(np.moveaxis(a, 0, axis))
        in_axes.append(data.draw(st.sampled_from([axis, axis - a.ndim]), label="in_axes"))
    if VMAP_SPECS[name].raises is not None:
        check_vmap(name, prim, params, moved, in_axes, 0, B)
        return
    ndims = _out_ndims(prim, params, moved, in_axes)

    def out_axis(nd):
        return data.draw(st.integers(-(nd + 1), nd), label="out_axes")
    out_axes = [out_axis(nd) for nd in ndims] if prim.multiple_results else out_axis(ndims)
    check_vmap(name, prim, params, moved, in_axes, out_axes, B)


def test_every_primitive_has_a_batch_rule():
    missing = sorted(name for name, prim in registry.items() if prim.batch is None)
    assert not missing, f"primitives without a batch rule (prim.batch): {missing}"


@pytest.mark.parametrize("name", NAMES)
@examples(0.12)
@given(data=st.data())
def test_vmap_stages_one_equation_not_a_loop(name, data):
    """Every primitive is applied once to the whole batch (batch size 3), not once per
    example (or not at all, where its params make it the identity, e.g. a transpose by
    the identity permutation)."""
    prim, _, args, params = draw_case(data, name)
    args = [np.concatenate([a, a, a])[:3] for a in args]          # batch size 3
    jaxpr = fxad.make_jaxpr(fxad.vmap(lambda *a: prim.bind(*a, **params)))(*args)
    count = sum(1 for e in jaxpr.eqns if e.prim is prim)
    assert count <= 1, f"{name} staged {count} times under vmap:\n{jaxpr}"


# --------------------------------------------------------------------------- composition


def _mlp_loss(params, x, y):
    w, b = params["w"], params["b"]
    h = fnp.tanh(x @ w + b)
    return fnp.sum((h - y) ** 2) + 0.1 * fnp.sum(w * w)


def _mlp_data(rng, n=4):
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    return params, rng.standard_normal((n, 3)), rng.standard_normal((n, 2))


def _assert_trees_close(got, want, rtol=1e-10, atol=1e-12):
    g_leaves, g_tree = fxad.tree_util.tree_flatten(got)
    w_leaves, w_tree = fxad.tree_util.tree_flatten(want)
    assert g_tree == w_tree, (g_tree, w_tree)
    for g, w in zip(g_leaves, w_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _stack_trees(trees):
    return fxad.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


def test_vmap_of_grad_gives_per_example_gradients():
    params, X, Y = _mlp_data(np.random.default_rng(0))
    per_example = fxad.vmap(fxad.grad(_mlp_loss), in_axes=(None, 0, 0))(params, X, Y)
    loop = _stack_trees([fxad.grad(_mlp_loss)(params, x, y) for x, y in zip(X, Y)])
    _assert_trees_close(per_example, loop)
    # with respect to the batched inputs too (argnums tuple), and batched parameters
    g = fxad.vmap(fxad.grad(_mlp_loss, argnums=(0, 1)), in_axes=(0, 0, None))(
        _stack_trees([params] * 4), X, Y[0])
    loop = _stack_trees([fxad.grad(_mlp_loss, argnums=(0, 1))(params, x, Y[0]) for x in X])
    _assert_trees_close(g, loop)


def test_grad_of_vmap_equals_sum_of_per_example_gradients():
    params, X, Y = _mlp_data(np.random.default_rng(1))

    def batch_loss(p):
        return fnp.mean(fxad.vmap(_mlp_loss, in_axes=(None, 0, 0))(p, X, Y))

    got = fxad.grad(batch_loss)(params)
    grads = [fxad.grad(_mlp_loss)(params, x, y) for x, y in zip(X, Y)]
    want = fxad.tree_util.tree_map(lambda *g: sum(g) / len(g), *grads)
    _assert_trees_close(got, want)
    # and the value of the vmapped loss is the loop's
    np.testing.assert_allclose(batch_loss(params),
                               np.mean([_mlp_loss(params, x, y) for x, y in zip(X, Y)]))


def test_jit_of_vmap_of_grad_equals_eager():
    params, X, Y = _mlp_data(np.random.default_rng(2), n=5)
    f = fxad.vmap(fxad.grad(_mlp_loss), in_axes=(None, 0, 0))
    eager = f(params, X, Y)
    jitted = fxad.jit(f)
    for _ in range(3):                   # interpreted, then compiled, then cached
        _assert_trees_close(jitted(params, X, Y), eager)
    # vmap of jit of grad, too
    _assert_trees_close(fxad.vmap(fxad.jit(fxad.grad(_mlp_loss)), in_axes=(None, 0, 0))(
        params, X, Y), eager)


def test_jvp_of_vmap_and_vmap_of_jvp():
    rng = np.random.default_rng(3)
    X, T = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    f = lambda x: fnp.sin(x) * fnp.sum(x ** 2)                       # noqa: E731
    y, t = fxad.jvp(fxad.vmap(f), (X,), (T,))
    y2, t2 = fxad.vmap(lambda x, v: fxad.jvp(f, (x,), (v,)))(X, T)
    loop = [fxad.jvp(f, (x,), (v,)) for x, v in zip(X, T)]
    for got in ((y, t), (y2, t2)):
        np.testing.assert_allclose(got[0], np.stack([p for p, _ in loop]), rtol=1e-12)
        np.testing.assert_allclose(got[1], np.stack([q for _, q in loop]), rtol=1e-12)


def test_nested_vmap():
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    dist = lambda a, b: fnp.sqrt(fnp.sum((a - b) ** 2))            # noqa: E731
    pairwise = fxad.vmap(fxad.vmap(dist, in_axes=(None, 0)), in_axes=(0, None))
    want = np.array([[float(dist(a, b)) for b in B] for a in A])
    np.testing.assert_allclose(pairwise(A, B), want, rtol=1e-12)
    # inner batch axis placed last by the outer out_axes, and axes other than 0 inside
    swapped = fxad.vmap(fxad.vmap(dist, in_axes=(None, 1)), in_axes=(0, None), out_axes=1)
    np.testing.assert_allclose(swapped(A, B.T), want.T, rtol=1e-12)
    # three levels, with grad innermost
    g = fxad.vmap(fxad.vmap(fxad.vmap(fxad.grad(lambda x, y: fnp.sin(x * y)),
                                      in_axes=(0, None)), in_axes=(None, 0)))
    X, Y = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    want = np.array([[[np.cos(x * y) * y for x in X[k]] for y in Y[k]] for k in range(2)])
    np.testing.assert_allclose(g(X, Y), want, rtol=1e-12)


def test_nested_vmap_keeps_perturbations_apart():
    """Two vmaps of one function over the same array: each level maps its own axis."""
    X = np.arange(6.0).reshape(2, 3)
    outer = fxad.vmap(lambda row: fxad.vmap(lambda x: x * fnp.sum(row))(row))(X)
    np.testing.assert_allclose(outer, X * X.sum(axis=1, keepdims=True))


def test_vmap_with_pytrees_and_none_axes():
    rng = np.random.default_rng(5)
    tree = {"a": rng.standard_normal((3, 2)), "b": (rng.standard_normal(3), np.float64(2.0))}

    def f(t, scale):
        a, (b, c) = t["a"], t["b"]
        return {"sum": fnp.sum(a) * b * c * scale, "a": a + scale}, b * 2.0

    got = fxad.vmap(f, in_axes=({"a": 0, "b": (0, None)}, None))(tree, 0.5)
    loop = [f({"a": tree["a"][i], "b": (tree["b"][0][i], tree["b"][1])}, 0.5) for i in range(3)]
    _assert_trees_close(got, _stack_trees(loop))
    # out_axes as a pytree prefix: one output unmapped, the other with its axis last
    got = fxad.vmap(lambda x, y: (x * y, y + 1.0), in_axes=(0, None), out_axes=(1, None))(
        tree["a"], np.float64(3.0))
    np.testing.assert_allclose(got[0], (tree["a"] * 3.0).T)
    assert np.shape(got[1]) == () and got[1] == 4.0
    # an output that does not depend on the batch is broadcast along out_axes
    got = fxad.vmap(lambda x, y: y * 2.0, in_axes=(0, None))(tree["a"], np.ones(2))
    np.testing.assert_array_equal(got, np.full((3, 2), 2.0))
    # a namedtuple and a list travel through with their types
    from collections import namedtuple
    P = namedtuple("P", "x y")
    got = fxad.vmap(lambda p: [p.x * p.y, P(p.y, p.x)])(P(tree["a"], tree["a"] + 1))
    assert isinstance(got, list) and isinstance(got[1], P)
    np.testing.assert_allclose(got[0], tree["a"] * (tree["a"] + 1))


def test_vmap_dtypes_and_python_scalars():
    x32 = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = fxad.vmap(lambda x: fnp.sin(x) * 2 + 1)(x32)
    assert out.dtype == np.float32 and out.shape == (3, 2)
    ints_ = np.arange(4)
    out = fxad.vmap(lambda i: i * 3 + 1)(ints_)
    assert out.dtype == ints_.dtype
    np.testing.assert_array_equal(out, ints_ * 3 + 1)
    out = fxad.vmap(lambda x: x > 1.5)(np.arange(4.0))
    assert out.dtype == np.bool_ and list(out) == [False, False, True, True]


# numpy-level functions under vmap vs a loop: the friendly layer over the batch rules
_RNG = np.random.default_rng(6)
_COMPOSITES = [
    ("matvec", lambda m, v: m @ v, (_RNG.standard_normal((3, 2, 4)), _RNG.standard_normal(4)),
     (0, None)),
    ("dot-axis1", lambda a, b: fnp.dot(a, b), (_RNG.standard_normal((2, 3)),
                                              _RNG.standard_normal((2, 3))), (1, 1)),
    ("softmax", lambda x: fnp.exp(x - fnp.max(x)) / fnp.sum(fnp.exp(x - fnp.max(x))),
     (_RNG.standard_normal((3, 5)),), (0,)),
    ("where", lambda x: fnp.where(x > 0, x, 0.1 * x), (_RNG.standard_normal((4, 3)),), (0,)),
    ("index-by-batched-int", lambda x, i: x[i] * x[i - 1], (_RNG.standard_normal((3, 5)),
                                                            np.array([4, 0, 2])), (0, 0)),
    ("index-by-batched-array", lambda x, i: x[:, i], (_RNG.standard_normal((2, 3, 3)),
                                                      np.array([[2, 0], [1, 1]])), (0, 0)),
    ("slicing-and-T", lambda x: x[::-1, 1:].T * fnp.mean(x, axis=1), (
        _RNG.standard_normal((2, 3, 4)),), (0,)),
    ("reshape-concat", lambda x, y: fnp.concatenate([fnp.reshape(x, (-1,)), y]), (
        _RNG.standard_normal((3, 2, 2)), _RNG.standard_normal((3, 1))), (0, 0)),
    ("outer-einsum", lambda x, y: fnp.einsum("i,j->ij", x, y), (
        _RNG.standard_normal((3, 2)), _RNG.standard_normal((3, 4))), (0, 0)),
    ("cumsum-argmax", lambda x: fnp.cumsum(x)[fnp.argmax(x)], (_RNG.standard_normal((4, 5)),),
     (0,)),
    ("stack-sum", lambda x, y: fnp.sum(fnp.stack([x, y, x * y]), axis=0), (
        _RNG.standard_normal((3, 2)), _RNG.standard_normal(2)), (0, None)),
]
# index arrays (batched or not) in every layout: NumPy moves the index axes first when the
# array/int entries are separated (by a slice, None or Ellipsis), not when adjacent
_X345, _I = _RNG.standard_normal((3, 4, 5, 6)), _RNG.integers(-4, 4, (3, 2, 1))
_J = _RNG.integers(0, 5, (3, 3))
for _name, _f in [("arrays-split-by-a-slice", lambda x, i, j: fnp.at(x)[i, :, j].get()),
                  ("arrays-adjacent-after-a-slice", lambda x, i, j: fnp.at(x)[:, i, j].get()),
                  ("int-slice-array", lambda x, i, j: fnp.at(x)[1, :, j].get()),
                  ("array-int-adjacent", lambda x, i, j: fnp.at(x)[:, j, -2].get() * i[0]),
                  ("newaxis-between", lambda x, i, j: fnp.at(x)[i, None, j].get()),
                  ("ellipsis-between", lambda x, i, j: fnp.at(x)[i, ..., j[:1]].get()),
                  ("newaxis-ellipsis-array", lambda x, i, j: fnp.at(x)[None, ..., i[0]].get()),
                  ("scatter-repeated", lambda x, i, j: fnp.at(x)[:, j].add(
                      fnp.at(x)[:, j].get() * 2.0)),
                  ("scatter-split", lambda x, i, j: fnp.at(x)[i, 1:3, j].add(1.0)),
                  ("scatter-counts", lambda x, i, j: fnp.at(np.zeros(5))[j].add(1.0))]:
    for _in_axes in [(0, 0, 0), (0, None, None), (None, 0, 0), (None, None, 0), (0, 0, None)]:
        _COMPOSITES.append((f"{_name}-{_in_axes}", _f, tuple(
            a if ax == 0 else a[0] for a, ax in zip((_X345, _I, _J), _in_axes)), _in_axes))


@pytest.mark.parametrize("name,f,args,in_axes", _COMPOSITES, ids=[c[0] for c in _COMPOSITES])
def test_vmap_numpy_functions_match_a_loop(name, f, args, in_axes):
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    want = np.stack([np.asarray(f(*[a if ax is None else np.take(a, i, axis=ax)
                                    for a, ax in zip(args, in_axes)])) for i in range(size)])
    got = fxad.vmap(f, in_axes=in_axes)(*args)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- errors


def test_inconsistent_batch_sizes_name_them():
    with pytest.raises(ValueError, match=r"(?i)batch size.*\b3\b.*\b4\b"):
        fxad.vmap(lambda a, b: a * b)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"(?i)batch size.*\b2\b.*\b3\b"):   # axis 1 in a pytree
        fxad.vmap(lambda t: t[0] + t[1], in_axes=((0, 1),))((np.ones((2, 3)), np.ones((3, 3))))
    with pytest.raises(ValueError, match=r"(?i)batch size"):   # caught before calling fun
        fxad.vmap(lambda a, b: fnp.sum(a) + fnp.sum(b))(np.ones(3), np.ones((4, 2)))


def test_bad_in_axes_structure():
    with pytest.raises(ValueError, match="in_axes"):
        fxad.vmap(lambda a, b: a * b, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        fxad.vmap(lambda d: d["x"], in_axes=({"y": 0},))({"x": np.ones(3)})
    with pytest.raises(ValueError, match="in_axes"):
        fxad.vmap(lambda t: t[0], in_axes=((0, 0, 0),))((np.ones(3), np.ones(3)))
    with pytest.raises(ValueError, match="None"):            # nothing mapped
        fxad.vmap(lambda a: a, in_axes=None)(np.ones(3))


def test_axis_size_sets_or_checks_the_batch_size():
    got = fxad.vmap(lambda a, b: a * b, in_axes=(None, None), axis_size=3)(2.0, np.ones(2))
    np.testing.assert_array_equal(got, np.full((3, 2), 2.0))
    np.testing.assert_array_equal(fxad.vmap(fnp.sin, axis_size=3)(np.zeros(3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"batch size.*\b3\b.*\b4\b"):
        fxad.vmap(fnp.sin, axis_size=4)(np.zeros(3))
    with pytest.raises(ValueError, match="axis_size"):
        fxad.vmap(fnp.sin, in_axes=None)(np.zeros(3))
    with pytest.raises(NotImplementedError, match="axis_name"):
        fxad.vmap(fnp.sin, axis_name="batch")


def test_bad_out_axes():
    with pytest.raises(ValueError, match="out_axes"):
        fxad.vmap(lambda a: a * 2.0, out_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="out_axes"):
        fxad.vmap(lambda a: (a, a), out_axes=(0, 0, 0))(np.ones(3))


def test_in_axes_out_of_range_says_so():
    for axes, x in [(2, np.ones((3, 2))), (-3, np.ones((3, 2))), (0, np.float64(1.0))]:
        try:
            fxad.vmap(lambda a: a * 2.0, in_axes=axes)(x)
        except ValueError as e:
            assert "axis" in str(e) or "in_axes" in str(e)
        except Exception as e:            # noqa: BLE001
            raise AssertionError(f"in_axes={axes} for shape {np.shape(x)}: "
                                 f"{type(e).__name__}: {e}") from e
        else:
            raise AssertionError(f"in_axes={axes} for shape {np.shape(x)} was accepted")


def test_if_on_a_batched_value_raises_concretization_error():
    def f(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(ConcretizationTypeError, match="vmap") as e:
        fxad.vmap(f)(np.array([1.0, -1.0]))
    assert "where" in str(e.value) or "cond" in str(e.value)
    with pytest.raises(ConcretizationTypeError):
        fxad.vmap(lambda x: float(x))(np.array([1.0, 2.0]))
    with pytest.raises(ConcretizationTypeError):
        fxad.vmap(lambda x, i: x[int(i)], in_axes=(None, 0))(np.ones(3), np.array([0, 1]))
    # the same function on an unbatched value under vmap is fine (it is concrete)
    out = fxad.vmap(lambda x, y: x * (1.0 if y > 0 else 2.0), in_axes=(0, None))(
        np.ones(2), 3.0)
    np.testing.assert_array_equal(out, [1.0, 1.0])


def test_batch_size_zero():
    x = np.zeros((0, 3))
    out = fxad.vmap(lambda v: fnp.sin(v) * 2.0 + fnp.sum(v))(x)
    assert out.shape == (0, 3) and out.dtype == np.float64


def test_batch_size_zero_through_loops_and_index_arrays():
    xs = np.zeros((0, 4))
    out = fxad.vmap(lambda x: lax.scan(lambda c, v: (c + v, c * v), 0.0, x)[0])(xs)
    assert out.shape == (0,)
    out = fxad.vmap(lambda x: lax.while_loop(lambda v: fnp.sum(v) < 1.0, lambda v: v + 1.0,
                                             x))(xs)
    assert out.shape == (0, 4)
    out = fxad.vmap(lambda x, i: fnp.at(x)[i].add(x[i]))(xs, np.zeros((0, 2), np.int64))
    assert out.shape == (0, 4)


# --------------------------------------------------------------------------- control flow


def test_cond_with_batched_predicate():
    X = np.array([-2.0, -0.5, 0.5, 3.0])
    f = lambda x: lax.cond(x > 0, lambda v: fnp.sin(v) * v, lambda v: v ** 3, x)  # noqa
    want = np.array([f(x) for x in X])
    np.testing.assert_allclose(fxad.vmap(f)(X), want)
    # gradients per example, also under jit
    g_loop = np.array([fxad.grad(f)(x) for x in X])
    np.testing.assert_allclose(fxad.vmap(fxad.grad(f))(X), g_loop)
    np.testing.assert_allclose(fxad.jit(fxad.vmap(fxad.grad(f)))(X), g_loop)
    np.testing.assert_allclose(fxad.grad(lambda xs: fnp.sum(fxad.vmap(f)(xs)))(X), g_loop)
    # batched operand, unbatched predicate; switch with a batched index and pytree operands
    np.testing.assert_allclose(fxad.vmap(lambda v: lax.cond(True, fnp.sin, fnp.cos, v))(X),
                               np.sin(X))
    branches = [lambda t: t[0] + t[1], lambda t: t[0] * t[1], lambda t: -t[0]]
    idx, ys = np.array([2, 0, 1, 5]), np.arange(4.0)
    got = fxad.vmap(lambda i, x, y: lax.switch(i, branches, (x, y)))(idx, X, ys)
    want = [branches[min(i, 2)]((x, y)) for i, x, y in zip(idx, X, ys)]
    np.testing.assert_allclose(got, want)


def test_cond_with_batched_predicate_and_unbatched_operands():
    P = np.array([True, False, True])
    f = lambda p: lax.cond(p, lambda x: x * 2.0, lambda x: x + 1.0, 3.0)   # noqa: E731
    np.testing.assert_array_equal(fxad.vmap(f)(P), [f(p) for p in P])


def test_scan_and_fori_loop_under_vmap():
    rng = np.random.default_rng(7)
    XS, C0 = rng.standard_normal((3, 5, 2)), rng.standard_normal(3)

    def f(c0, xs):
        return lax.scan(lambda c, x: (c * 0.9 + fnp.sum(fnp.sin(x)), c * x), c0, xs)

    got = fxad.vmap(f)(C0, XS)
    loop = [f(c, xs) for c, xs in zip(C0, XS)]
    np.testing.assert_allclose(got[0], [c for c, _ in loop])
    np.testing.assert_allclose(got[1], np.stack([ys for _, ys in loop]))
    # per-example gradients through the scan, eager and jitted
    loss = lambda c0, xs: fnp.sum(f(c0, xs)[1] ** 2)                    # noqa: E731
    g_loop = np.array([fxad.grad(loss)(c, xs) for c, xs in zip(C0, XS)])
    np.testing.assert_allclose(fxad.vmap(fxad.grad(loss))(C0, XS), g_loop)
    np.testing.assert_allclose(fxad.jit(fxad.vmap(fxad.grad(loss)))(C0, XS), g_loop)
    # xs shared by all examples (in_axes None)
    got = fxad.vmap(f, in_axes=(0, None))(C0, XS[0])
    np.testing.assert_allclose(got[0], [f(c, XS[0])[0] for c in C0])
    # fori_loop with a batched carry
    h = lambda x: lax.fori_loop(0, 4, lambda i, v: v * 0.5 + i, x)    # noqa: E731
    np.testing.assert_allclose(fxad.vmap(h)(C0), [h(c) for c in C0])


def test_while_loop_under_vmap_with_per_example_trip_counts():
    def collatz_steps(n):
        def body(c):
            k, m = c
            return k + 1, fnp.where(m % 2 == 0, m // 2, 3 * m + 1)
        return lax.while_loop(lambda c: c[1] != 1, body, (0, n))[0]

    N = np.array([1, 6, 7, 27])
    want = [collatz_steps(int(n)) for n in N]
    assert len(set(want)) == len(want)                 # the trip counts really differ
    np.testing.assert_array_equal(fxad.vmap(collatz_steps)(N), want)
    np.testing.assert_array_equal(fxad.jit(fxad.vmap(collatz_steps))(N), want)
    # a float carry: forward-mode derivatives per example
    grow = lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 1.5 + 0.1, x)  # noqa
    X = np.array([0.5, 2.0, 9.0])
    np.testing.assert_allclose(fxad.vmap(grow)(X), [grow(x) for x in X])
    _, t = fxad.vmap(lambda x: fxad.jvp(grow, (x,), (1.0,)))(X)
    np.testing.assert_allclose(t, [fxad.jvp(grow, (x,), (1.0,))[1] for x in X])


def _counts(jaxpr, *names):
    return [sum(1 for e in jaxpr.eqns if e.prim.name == n) for n in names]


def _scan_eqn(f, *args, in_axes):
    jaxpr = fxad.make_jaxpr(fxad.vmap(f, in_axes=in_axes))(*args)
    (eqn,) = [e for e in jaxpr.eqns if e.prim.name == "scan"]
    return eqn


def test_scan_batched_xs_carry_or_consts_only():
    """Only xs, only the initial carry, or only a constant batched: one scan over the
    batch; a carry the batch never reaches (the counter) and constants stay unbatched."""
    rng = np.random.default_rng(8)
    A, C, XS = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((3, 4, 2))

    def f(a, c0, xs):
        def step(carry, x):
            k, c = carry
            return (k + 1, c * fnp.tanh(a) + fnp.sum(x) * k), c * x
        return lax.scan(step, (0, c0), xs)

    for axes in [(None, None, 0), (None, 0, None), (0, None, None), (0, 0, 0)]:
        args = tuple(v if ax == 0 else v[0] for v, ax in zip((A, C, XS), axes))
        got = fxad.vmap(f, in_axes=axes)(*args)
        loop = [f(*[a if ax is None else a[b] for a, ax in zip(args, axes)]) for b in range(3)]
        _assert_trees_close(got, _stack_trees(loop), rtol=1e-12, atol=1e-14)
        eqn = _scan_eqn(f, *args, in_axes=axes)
        assert [v.aval.shape for v in eqn.outvars] == [(), (3,), (4, 3, 2)], axes
        n_consts = eqn.params["num_consts"]
        assert all(v.aval.shape == () for v in eqn.invars[:n_consts] if axes[0] is None)
    # gradients through the batched scan: per example, of the batched function, and jitted
    loss = lambda a, c0, xs: fnp.sum(f(a, c0, xs)[1] ** 2) + f(a, c0, xs)[0][1]  # noqa
    g_loop = np.array([fxad.grad(loss, argnums=(0, 1))(A[b], C[b], XS[b]) for b in range(3)])
    np.testing.assert_allclose(fxad.vmap(fxad.grad(loss, argnums=(0, 1)))(A, C, XS),
                               g_loop.T, rtol=1e-10)
    np.testing.assert_allclose(fxad.jit(fxad.vmap(fxad.grad(loss, argnums=(0, 1))))(A, C, XS),
                               g_loop.T, rtol=1e-10)
    g = fxad.grad(lambda a, c: fnp.sum(fxad.vmap(loss, in_axes=(None, 0, 0))(a, c, XS)),
                  argnums=(0, 1))(A[0], C)
    g_want = [fxad.grad(loss, argnums=(0, 1))(A[0], C[b], XS[b]) for b in range(3)]
    np.testing.assert_allclose(g[0], sum(w[0] for w in g_want), rtol=1e-10)
    np.testing.assert_allclose(g[1], [w[1] for w in g_want], rtol=1e-10)


def _newton_sqrt(a):
    """sqrt(a) by Newton's method to a relative tolerance: the trip count depends on a."""
    def body(c):
        x, k = c
        return 0.5 * (x + a / x), k + 1
    return lax.while_loop(lambda c: fnp.abs(c[0] * c[0] - a) > 1e-12 * a, body, (a, 0))


def test_while_loop_with_batched_predicate_runs_each_example_to_its_own_end():
    A = np.array([0.5, 2.0, 100.0, 1e4])
    loop = [_newton_sqrt(a) for a in A]
    assert len({int(k) for _, k in loop}) > 2                # trip counts differ
    for fn in (fxad.vmap(_newton_sqrt), fxad.jit(fxad.vmap(_newton_sqrt))):
        x, k = fn(A)
        np.testing.assert_array_equal(x, [v for v, _ in loop])   # exactly the per-example
        np.testing.assert_array_equal(k, [n for _, n in loop])
    jaxpr = fxad.make_jaxpr(fxad.vmap(_newton_sqrt))(A)
    assert _counts(jaxpr, "while") == [1]
    # forward mode: vmap of jvp, jvp of vmap, jacfwd of the vmapped function (eager, jit)
    d = 0.5 / np.sqrt(A)
    _, t = fxad.vmap(lambda a: fxad.jvp(lambda v: _newton_sqrt(v)[0], (a,), (1.0,)))(A)
    np.testing.assert_allclose(t, d, rtol=1e-8)
    _, t = fxad.jvp(lambda a: fxad.vmap(_newton_sqrt)(a)[0], (A,), (np.ones(4),))
    np.testing.assert_allclose(t, d, rtol=1e-8)
    for jac in (fxad.jacfwd(lambda a: fxad.vmap(_newton_sqrt)(a)[0]),
                fxad.jit(fxad.jacfwd(lambda a: fxad.vmap(_newton_sqrt)(a)[0]))):
        np.testing.assert_allclose(jac(A), np.diag(d), rtol=1e-8, atol=1e-15)


def test_while_loop_with_unbatched_predicate_keeps_the_counter_unbatched():
    def f(x, n):
        return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, fnp.sin(c[1]) + c[1]),
                              (0, x))
    X = np.array([[0.1, 0.2], [0.3, 0.4], [-1.0, 2.0]])
    for n in (0, 3):
        got = fxad.vmap(f, in_axes=(0, None))(X, n)
        _assert_trees_close(got, _stack_trees([f(x, n) for x in X]))
        _assert_trees_close(fxad.jit(fxad.vmap(f, in_axes=(0, None)))(X, n), got)
    jaxpr = fxad.make_jaxpr(fxad.vmap(f, in_axes=(0, None)))(X, 3)
    (eqn,) = [e for e in jaxpr.eqns if e.prim.name == "while"]
    assert [v.aval.shape for v in eqn.outvars] == [(), (3, 2)]
    assert eqn.params["cond_jaxpr"].out_avals[0].shape == ()
    # a batched bound: the predicate varies per example (different trip counts)
    N = np.array([0, 2, 5])
    got = fxad.vmap(f)(X, N)
    _assert_trees_close(got, _stack_trees([f(x, n) for x, n in zip(X, N)]))
    # forward-mode derivatives through it
    _, t = fxad.vmap(lambda x, n: fxad.jvp(lambda v: f(v, n)[1], (x,), (np.ones(2),)))(X, N)
    want = [fxad.jvp(lambda v: f(v, n)[1], (x,), (np.ones(2),))[1] for x, n in zip(X, N)]
    np.testing.assert_allclose(t, want, rtol=1e-12)


def test_index_arrays_under_vmap_grad_and_jit():
    rng = np.random.default_rng(9)
    X, I = rng.standard_normal((3, 4, 5, 6)), rng.integers(0, 4, (3, 2))
    J = np.array([[0, 2, 2], [2, 2, 0], [1, 0, 1]])

    def f(x, i, j):                      # (fnp.at(x)[...].get(): x may be a NumPy array)
        y = fnp.at(x)[i, 1:, j[:1]].get() @ fnp.at(x)[:, j, 0].get()          # (2, 3)
        return fnp.sum(fnp.at(y)[:, j].add(fnp.sin(y[:, 1])[:, None]) ** 2)

    names = ("gather", "scatter_add")
    one = _counts(fxad.make_jaxpr(f)(X[0], I[0], J[0]), *names)
    assert _counts(fxad.make_jaxpr(fxad.vmap(f))(X, I, J), *names) == one
    loop = lambda fn, *a: np.stack([fn(*[v[b] for v in a]) for b in range(3)])  # noqa
    for fn in (f, fxad.grad(f)):
        want = loop(fn, X, I, J)
        np.testing.assert_allclose(fxad.vmap(fn)(X, I, J), want, rtol=1e-12)
        np.testing.assert_allclose(fxad.jit(fxad.vmap(fn))(X, I, J), want, rtol=1e-12)
    np.testing.assert_allclose(fxad.grad(lambda x: fnp.sum(fxad.vmap(f)(x, I, J)))(X),
                               loop(fxad.grad(f), X, I, J), rtol=1e-12)
    # only the indices batched: the operand is shared
    np.testing.assert_allclose(fxad.vmap(f, in_axes=(None, 0, 0))(X[0], I, J),
                               loop(lambda i, j: f(X[0], i, j), I, J), rtol=1e-12)


def test_loops_and_index_arrays_stage_once_under_jit_of_vmap():
    def f(x, i):
        s = lax.fori_loop(0, 3, lambda k, acc: acc + x[k] * x[i[k]], 0.0)
        c, ys = lax.scan(lambda c, v: (c * 0.5 + v, c * v), s, x[i])
        w = lax.while_loop(lambda t: t[1] < 10.0, lambda t: (t[0] + 1, t[1] * 2.0 + 1.0),
                           (0, fnp.abs(c)))
        return w[0] + fnp.sum(ys)

    X, I = np.random.default_rng(10).standard_normal((4, 5)), np.array([[0, 4, 1]] * 4)
    names = ("scan", "while", "gather")
    one = _counts(fxad.make_jaxpr(f)(X[0], I[0]), *names)
    assert one == [2, 1, 1]
    assert _counts(fxad.make_jaxpr(fxad.vmap(f))(X, I), *names) == one
    want = np.stack([f(x, i) for x, i in zip(X, I)])
    np.testing.assert_allclose(fxad.jit(fxad.vmap(f))(X, I), want, rtol=1e-12)
    np.testing.assert_allclose(fxad.vmap(fxad.jit(f))(X, I), want, rtol=1e-12)


def test_custom_lin_under_vmap_transposes_to_bwd_per_example():
    """`custom_lin` (a custom_vjp function's linearization) batched: staged once, and its
    transpose runs the user's bwd on each example's residuals and cotangents."""
    from fxad.ad import backward_pass
    from fxad.custom import custom_lin_p
    rng = np.random.default_rng(11)
    res = [rng.standard_normal((3, 2)) for _ in range(2)] + [rng.standard_normal(2)]
    ts = [rng.standard_normal((3, 2)), rng.standard_normal(3)]
    params = {"num_res": 3, "bwd": _cv_bwd, "name": "f", "out_avals": (
        ShapedArray((2,), F64), ShapedArray((), F64))}
    lin = fxad.vmap(lambda *a: custom_lin_p.bind(*a, **params), in_axes=(0, 0, None, 0, 0))
    jaxpr = fxad.make_jaxpr(lambda *t: lin(*res, *t))(*ts)
    assert _counts(jaxpr, "custom_lin") == [1]
    cts = [rng.standard_normal((3, 2)), rng.standard_normal(3)]
    got = backward_pass(jaxpr, cts)
    want = [_cv_bwd([res[0][b], res[1][b], res[2]], [cts[0][b], cts[1][b]]) for b in range(3)]
    for j in range(2):
        np.testing.assert_allclose(got[j], np.stack([w[j] for w in want]), rtol=1e-12)
    with pytest.raises(TypeError, match="forward-mode"):        # evaluating it still refuses
        lin(*res, *ts)


# --------------------------------------------------------------------------- jacobians


def fd_jacobian(f, x, eps=1e-6):
    """Central differences: the Jacobian of array function f at array x, shaped
    out_shape + in_shape."""
    x = np.asarray(x, np.float64)
    out_shape = np.shape(f(x))
    jac = np.zeros(out_shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        jac[(Ellipsis,) + idx] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    return jac


def _vec_fun(x):                               # (2, 3) -> (4,)
    return fnp.stack([fnp.sum(fnp.sin(x)), fnp.prod(x[0]), fnp.sum(x[:, 1] ** 3),
                      fnp.tanh(x[1, 2]) * x[0, 0]])


def _scalar_fun(x):                            # (3,) -> ()
    return fnp.sum(fnp.exp(0.3 * x) * x[::-1]) + x[0] * x[1] * x[2]


X23 = np.array([[0.3, -0.7, 1.1], [0.5, 0.9, -0.4]])
X3 = np.array([0.2, -0.6, 0.9])


@pytest.mark.parametrize("jac", [fxad.jacfwd, fxad.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobian_matches_finite_differences(jac):
    got = jac(_vec_fun)(X23)
    assert got.shape == (4, 2, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, fd_jacobian(_vec_fun, X23), rtol=1e-6, atol=1e-8)
    # scalar in, vector out; vector in, scalar out; scalar in and out
    np.testing.assert_allclose(jac(lambda s: fnp.stack([s, s * s, fnp.sin(s)]))(0.5),
                               [1.0, 1.0, np.cos(0.5)], rtol=1e-12)
    g = jac(_scalar_fun)(X3)
    assert g.shape == (3,)
    np.testing.assert_allclose(g, fd_jacobian(_scalar_fun, X3), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g, fxad.grad(_scalar_fun)(X3), rtol=1e-12)
    assert np.shape(jac(fnp.sin)(0.5)) == ()


def test_jacfwd_and_jacrev_agree_and_keep_float32():
    np.testing.assert_allclose(fxad.jacfwd(_vec_fun)(X23), fxad.jacrev(_vec_fun)(X23),
                               rtol=1e-12, atol=1e-14)
    x32 = X23.astype(np.float32)
    for jac in (fxad.jacfwd, fxad.jacrev):
        got = jac(_vec_fun)(x32)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, fxad.jacfwd(_vec_fun)(X23), rtol=1e-4, atol=1e-5)


def test_hessian_matches_finite_differences_and_both_compositions():
    H = fxad.hessian(_scalar_fun)(X3)
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, fd_jacobian(fxad.grad(_scalar_fun), X3), rtol=1e-6,
                               atol=1e-8)
    for other in (fxad.jacfwd(fxad.jacfwd(_scalar_fun)), fxad.jacrev(fxad.jacrev(_scalar_fun)),
                  fxad.jacrev(fxad.jacfwd(_scalar_fun))):
        np.testing.assert_allclose(other(X3), H, rtol=1e-12, atol=1e-14)
    # a matrix input: the Hessian's shape is in_shape + in_shape
    f2 = lambda x: fnp.sum(fnp.sin(x) * x[::-1])                     # noqa: E731
    H2 = fxad.hessian(f2)(X23)
    assert H2.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(H2, fd_jacobian(fxad.grad(f2), X23), rtol=1e-6, atol=1e-8)


def _loopy(x, with_while=True):            # (4,) -> (): loops and index arrays
    s = lax.fori_loop(0, 4, lambda i, acc: acc + x[i] * fnp.sin(x[3 - i]), 0.0)
    c, ys = lax.scan(lambda c, v: (c * 0.5 + v, c * v), s, x[np.array([2, 0, 3, 3])])
    if with_while:
        c = lax.while_loop(lambda t: t[0] < 3, lambda t: (t[0] + 1, t[1] * 1.1 + fnp.tanh(
            t[1])), (0, c))[1]
    return c + fnp.sum(fnp.at(ys)[np.array([0, 0, 2])].add(x[:3]) ** 2)


@pytest.mark.parametrize("jac", [fxad.jacfwd, fxad.jacrev, fxad.hessian],
                         ids=["jacfwd", "jacrev", "hessian"])
def test_jacobians_through_loops_and_index_arrays(jac):
    x = np.array([0.3, -0.5, 0.8, 0.1])
    want = fd_jacobian(fxad.grad(_loopy), x) if jac is fxad.hessian else fd_jacobian(_loopy, x)
    np.testing.assert_allclose(jac(_loopy)(x), want, rtol=1e-6, atol=1e-8)
    # staged loops (jit): reverse mode cannot go through a staged while_loop
    f = fxad.jit(_loopy) if jac is fxad.jacfwd else fxad.jit(
        lambda v: _loopy(v, with_while=False))
    want = jac(lambda v: _loopy(v, with_while=jac is fxad.jacfwd))(x)
    np.testing.assert_allclose(jac(f)(x), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("jac", [fxad.jacfwd, fxad.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobian_argnums_tuple(jac):
    f = lambda x, y, k: fnp.sin(x) * fnp.sum(y) ** k              # noqa: E731
    x, y = np.array([0.1, 0.2]), np.array([[0.3], [0.4], [0.5]])
    jx, jy = jac(f, argnums=(0, 1))(x, y, 2)
    assert jx.shape == (2, 2) and jy.shape == (2, 3, 1)
    np.testing.assert_allclose(jx, fd_jacobian(lambda v: f(v, y, 2), x), rtol=1e-6)
    np.testing.assert_allclose(jy, fd_jacobian(lambda v: f(x, v, 2), y), rtol=1e-6)
    (only_y,) = jac(f, argnums=(1,))(x, y, 2)                       # a 1-tuple stays a tuple
    np.testing.assert_allclose(only_y, jy)
    np.testing.assert_allclose(jac(f, argnums=1)(x, y, 2), jy)
    np.testing.assert_allclose(jac(f, argnums=-2)(x, y, 2), jy)
    with pytest.raises(TypeError, match="float"):
        jac(f, argnums=2)(x, y, 2)


def _tree_fun(p):
    a, b = p["a"], p["b"]
    return {"u": fnp.sin(a) * b[0], "v": [fnp.sum(a * a) * b[1]]}


_TREE_IN = {"a": np.array([0.3, -0.8, 1.2]), "b": np.array([0.7, -1.1])}


@pytest.mark.parametrize("jac", [fxad.jacfwd, fxad.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobian_pytree_layout_is_jaxs(jac):
    """JAX's layout: the output's structure, each leaf holding the input's structure, each
    block shaped out_leaf.shape + in_leaf.shape."""
    J = jac(_tree_fun)(_TREE_IN)
    out = _tree_fun(_TREE_IN)
    tu = fxad.tree_util
    expected = tu.tree_map(lambda o: tu.tree_map(lambda i: (np.shape(o), np.shape(i)),
                                                 _TREE_IN), out)
    assert tu.tree_structure(J) == tu.tree_structure(
        tu.tree_map(lambda o: _TREE_IN, out, )), J
    assert isinstance(J, dict) and isinstance(J["v"], list) and set(J["u"]) == {"a", "b"}
    for key_out, leaf_fn in [("u", lambda t: t["u"]), ("v", lambda t: t["v"][0])]:
        block_tree = leaf_fn(J)
        for key_in in ("a", "b"):
            shape_out, shape_in = leaf_fn(expected)[key_in]
            block = np.asarray(block_tree[key_in])
            assert block.shape == shape_out + shape_in, (key_out, key_in, block.shape)

            def f_leaf(v, key_in=key_in):
                p = dict(_TREE_IN)
                p[key_in] = v
                return leaf_fn(_tree_fun(p))
            np.testing.assert_allclose(block, fd_jacobian(f_leaf, _TREE_IN[key_in]),
                                       rtol=1e-6, atol=1e-8)
    # argnums tuple over pytree arguments: out-structure of (tuple of in-structures)
    J2 = jac(lambda p, s: _tree_fun(p)["u"] * s, argnums=(0, 1))(_TREE_IN, 2.0)
    assert isinstance(J2, tuple) and len(J2) == 2 and set(J2[0]) == {"a", "b"}
    assert np.shape(J2[0]["a"]) == (3, 3) and np.shape(J2[1]) == (3,)
    np.testing.assert_allclose(J2[0]["a"], 2.0 * np.asarray(J["u"]["a"]))


def test_hessian_pytree_layout():
    f = lambda p: fnp.sum(p["a"] ** 2) * p["b"] + fnp.sum(fnp.sin(p["a"]))  # noqa: E731
    p = {"a": np.array([0.4, -0.3]), "b": np.float64(1.5)}
    H = fxad.hessian(f)(p)
    assert set(H) == {"a", "b"} and set(H["a"]) == {"a", "b"} and set(H["b"]) == {"a", "b"}
    assert np.shape(H["a"]["a"]) == (2, 2) and np.shape(H["a"]["b"]) == (2,)
    assert np.shape(H["b"]["a"]) == (2,) and np.shape(H["b"]["b"]) == ()
    np.testing.assert_allclose(H["a"]["a"], np.diag(2 * 1.5 - np.sin(p["a"])), atol=1e-12)
    np.testing.assert_allclose(H["a"]["b"], 2 * p["a"], atol=1e-12)
    np.testing.assert_allclose(H["b"]["a"], 2 * p["a"], atol=1e-12)
    assert float(H["b"]["b"]) == 0.0


@pytest.mark.parametrize("jac", [fxad.jacfwd, fxad.jacrev, fxad.hessian],
                         ids=["jacfwd", "jacrev", "hessian"])
def test_jacobian_has_aux(jac):
    def f(x):
        return fnp.sum(fnp.sin(x) * x), {"n": fnp.sum(x), "x2": x * 2.0}

    J, aux = jac(f, has_aux=True)(X3)
    plain = jac(lambda x: f(x)[0])(X3)
    np.testing.assert_allclose(J, plain, rtol=1e-12)
    assert set(aux) == {"n", "x2"}
    np.testing.assert_allclose(aux["n"], X3.sum())          # aux is not batched or stacked
    np.testing.assert_allclose(aux["x2"], X3 * 2.0)
    assert np.shape(aux["x2"]) == X3.shape
    with pytest.raises(TypeError, match="pair"):
        jac(lambda x: fnp.sum(x), has_aux=True)(X3)


@pytest.mark.parametrize("jac", [fxad.jacfwd, fxad.jacrev, fxad.hessian],
                         ids=["jacfwd", "jacrev", "hessian"])
def test_jacobian_under_jit(jac):
    f = _scalar_fun if jac is fxad.hessian else _vec_fun
    x = X3 if jac is fxad.hessian else X23
    eager = jac(f)(x)
    jitted = fxad.jit(jac(f))
    for _ in range(3):
        np.testing.assert_allclose(jitted(x), eager, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jac(fxad.jit(f))(x), eager, rtol=1e-12, atol=1e-14)
    # vmap of a Jacobian: per-example Jacobians
    xs = np.stack([x, x * 0.5, -x])
    np.testing.assert_allclose(fxad.vmap(jac(f))(xs), np.stack([jac(f)(v) for v in xs]),
                               rtol=1e-12, atol=1e-14)
