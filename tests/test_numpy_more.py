"""fxad.numpy's breadth (autograd's `numpy` surface): a table of calls, each run through

* values: `fn(fxad.numpy, *args)` against `fn(numpy, *args)` (shape, dtype, values);
* derivatives: `check_grads` (forward and reverse, to `order`) of `fn(numpy, *args)` on
  traced values, which also checks that plain `np.<name>(tracer)` dispatches to
  fxad.numpy (functions NumPy lacks run as `fxad.numpy.<name>`);
* `vmap` against a loop over examples (values, and gradients of a scalar summary), and
  `jit` against eager evaluation (rows that need concrete values skip both);

plus targeted tests (partition properties, `x.at[...]` updates, NaN edge cases), the
coverage document (docs/coverage.md must match `docs/gen_coverage.py`'s output) and a
check that every public fxad.numpy function is tested here or in a named file.
"""
import importlib.util
import pathlib
import re
from typing import Callable, NamedTuple

import numpy as np
import pytest

import fxad
import fxad.numpy as fnp
from fxad.errors import ConcretizationTypeError
from fxad.test_util import check_grads

ROOT = pathlib.Path(__file__).resolve().parent.parent

# NumPy 2 deprecates these; fxad.numpy supports them without warning
pytestmark = [pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors"),
              pytest.mark.filterwarnings("ignore:`row_stack` alias is deprecated")]


def _rng(seed):
    return np.random.default_rng(seed)


def U(*shape, lo=-2.0, hi=2.0, seed=0, dtype=np.float64):
    """Uniform values in [lo, hi]."""
    return np.asarray(_rng(seed).uniform(lo, hi, shape), dtype)


def D(*shape, seed=0, spacing=0.25, dtype=np.float64):
    """Pairwise-distinct values (no ties for sorting and extrema), spacing apart."""
    n = int(np.prod(shape))
    vals = (_rng(seed).permutation(n) - n / 2) * spacing + 0.05
    return np.asarray(vals.reshape(shape), dtype)


def A(*shape, lo=0.3, hi=2.0, seed=0):
    """|values| in [lo, hi], random signs (away from zero)."""
    r = _rng(seed)
    return r.uniform(lo, hi, shape) * r.choice([-1.0, 1.0], shape)


def OFF(*shape, seed=0):
    """n/2 + 0.2: away from the jumps of floor, trunc, round."""
    return _rng(seed).integers(-6, 6, shape) * 0.5 + 0.2


def nan_mask(shape, seed=0):
    """About a quarter of the positions, never a whole row or column."""
    n = int(np.prod(shape))
    idx = np.arange(n)
    mask = ((idx * 7 + idx // 3 + seed) % 4 == 0).reshape(shape)
    assert mask.any() and not any(mask.all(axis=ax).any() for ax in range(len(shape)))
    return mask


def with_nans(x, seed=0):
    return np.where(nan_mask(np.shape(x), seed), np.nan, x)


def nanify(xp, x, seed=0):
    """`x` with NaNs at fixed positions (so derivatives are checked with respect to the
    other elements; finite differences cannot perturb a NaN)."""
    return xp.where(nan_mask(np.shape(x), seed), np.nan, x)


class Case(NamedTuple):
    name: str                  # the fxad.numpy function this row tests
    fn: Callable               # fn(xp, *args), xp = numpy or fxad.numpy
    args: tuple
    order: int = 2             # check_grads order; 0: no derivative (checks there is no
                               # tangent); -1: derivatives not checked (inf/NaN inputs)
    jit: bool = True
    tag: str = ""
    rtol: float = 1e-7         # value comparison
    dtype: bool = True         # compare dtypes too
    dispatch: bool = True      # derivatives via `np.<name>` on tracers (else fxad.numpy)


def C(name, fn, *args, **kw):
    return Case(name, fn, args, **kw)


X34, X5 = U(3, 4), U(5, seed=1)
S34, S5, S6 = D(3, 4), D(5, seed=2), D(6, seed=3)
I5 = np.array([3, -1, 4, 1, -5])

CASES = [
    # ---------------------------------------------------------------- elementwise
    C("fabs", lambda xp, x: xp.fabs(x), A(3, 4)),
    C("fabs", lambda xp, x: xp.fabs(x), I5, order=0, tag="int"),
    C("trunc", lambda xp, x: xp.trunc(x), OFF(4, 3), order=1),
    C("trunc", lambda xp, x: xp.trunc(x), I5, order=0, tag="int"),
    C("fix", lambda xp, x: xp.fix(x) + x, OFF(6), order=1),
    C("signbit", lambda xp, x: xp.signbit(x), np.array([-0.0, 0.0, -2, 3, np.inf, -np.inf]),
      order=0),
    C("signbit", lambda xp, x: xp.signbit(x), I5, order=0, tag="int"),
    C("copysign", lambda xp, x, y: xp.copysign(x, y), A(3, 4), A(4, seed=3)),
    C("copysign", lambda xp, x: xp.copysign(x, np.array([-0.0, 0.0, -1.0])), A(2, 3),
      tag="zeros"),
    C("heaviside", lambda xp, x, y: xp.heaviside(x, y), A(5), U(5, seed=2)),
    C("heaviside", lambda xp, y: xp.heaviside(np.array([-1.0, 0.0, 2.0, 0.0]), y), U(4),
      tag="at0"),
    C("sinc", lambda xp, x: xp.sinc(x), np.array([0.0, 0.3, -1.2, 2.5, 1e-5])),
    C("deg2rad", lambda xp, x: xp.deg2rad(x), U(4, lo=-300, hi=300)),
    C("rad2deg", lambda xp, x: xp.rad2deg(x), U(2, 3)),
    C("radians", lambda xp, x: xp.radians(x), U(3, lo=-90, hi=90)),
    C("degrees", lambda xp, x: xp.degrees(x), U(3)),
    C("float_power", lambda xp, x, y: xp.float_power(x, y), U(4, lo=0.5, hi=2), U(4, seed=1)),
    C("float_power", lambda xp, x: xp.float_power(x, 3), U(2, 2), tag="int_exp"),
    C("float_power", lambda xp, x: xp.float_power(x, 2), np.arange(4), order=0, tag="ints"),
    C("fmod", lambda xp, x, y: xp.fmod(x, y), np.array([2.7, -2.7, 5.3, -0.4]),
      np.array([1.1, 1.1, -1.3, -0.3])),
    C("fmod", lambda xp, x: xp.fmod(x, 3), np.array([7, -7, 2, -3]), order=0, tag="int"),
    C("divmod", lambda xp, x, y: xp.divmod(x, y)[1], np.array([2.7, -2.7, 5.3]),
      np.array([1.1, 1.1, -1.3])),
    C("divmod", lambda xp, x: xp.divmod(x, 4), np.array([7, -7, 2]), order=0, tag="int"),
    C("modf", lambda xp, x: xp.modf(x), OFF(5)),
    C("modf", lambda xp, x: xp.modf(x), np.array([np.inf, -np.inf, -2.5, 0.0]), order=-1,
      tag="inf"),
    C("ldexp", lambda xp, x: xp.ldexp(x, np.array([1, -2, 3, 0])), U(4)),
    C("logaddexp2", lambda xp, x, y: xp.logaddexp2(x, y), U(3, 2), U(2, seed=4)),
    C("logaddexp2", lambda xp, x: xp.logaddexp2(x, x), U(3), tag="ties"),
    C("nan_to_num", lambda xp, x: xp.nan_to_num(nanify(xp, x)), U(5)),
    C("nan_to_num", lambda xp, x: [xp.nan_to_num(x), xp.nan_to_num(x, nan=1.5, posinf=9.0,
                                                                   neginf=-9.0)],
      np.array([0.5, np.nan, np.inf, -np.inf]), order=-1, tag="values"),
    C("isposinf", lambda xp, x: xp.isposinf(x), np.array([1.0, np.inf, -np.inf, np.nan]),
      order=0),
    C("isneginf", lambda xp, x: xp.isneginf(x), np.array([1.0, np.inf, -np.inf, np.nan]),
      order=0),
    C("isclose", lambda xp, x, y: xp.isclose(x, y),
      np.array([1.0, 1.0, np.inf, np.nan, 1e-9]), np.array([1.0 + 1e-9, 1.1, np.inf, np.nan, 0.0]),
      order=0),
    C("isclose", lambda xp, x, y: xp.isclose(x, y, equal_nan=True, rtol=0.2),
      np.array([1.0, 1.0, np.nan]), np.array([1.1, 1.5, np.nan]), order=0, tag="kw"),
    C("allclose", lambda xp, x, y: xp.allclose(x, y), X34, X34 + 1e-12, order=0),
    C("allclose", lambda xp, x, y: xp.allclose(x, y), X34, X34 + 1e-3, order=0, tag="false"),
    C("array_equal", lambda xp, x, y: xp.array_equal(x, y), X5, X5 * 1.0, order=0),
    C("array_equal", lambda xp, x, y: xp.array_equal(x, y), X5, X5[:4], order=0, tag="shape"),
    C("array_equal", lambda xp, x: xp.array_equal(x, x, equal_nan=True), with_nans(X5),
      order=0, tag="nan"),
    C("array_equiv", lambda xp, x, y: xp.array_equiv(x, y), X34, X34[:1] * 0 + X34, order=0),
    C("array_equiv", lambda xp, x: xp.array_equiv(x, np.ones(3)), X34, order=0, tag="nobcast"),
    C("iscomplexobj", lambda xp, x: xp.iscomplexobj(x), X5, order=0, jit=False),
    C("isrealobj", lambda xp, x: xp.isrealobj(x), X5, order=0, jit=False),
    C("isscalar", lambda xp, x: [xp.isscalar(x), xp.isscalar(x[0]), xp.isscalar(1.0)], X5,
      order=0, jit=False, dispatch=False),
    C("iscomplex", lambda xp, x: xp.iscomplex(x), X34, order=0),
    C("isreal", lambda xp, x: xp.isreal(x), X34, order=0),
    C("real_if_close", lambda xp, x: xp.real_if_close(x), X34),
    C("angle", lambda xp, x: xp.angle(x), np.array([-1.5, 2.0, -0.3, 3.0])),
    C("angle", lambda xp, x: xp.angle(x), np.array([-0.0, 0.0, np.nan]), order=0, tag="zeros"),
    C("angle", lambda xp, x: xp.angle(x, deg=True), np.array([-1.5, 2.0]), tag="deg"),
    # NumPy 2 spellings
    C("acos", lambda xp, x: xp.acos(x), U(4, lo=-0.9, hi=0.9)),
    C("asin", lambda xp, x: xp.asin(x), U(4, lo=-0.9, hi=0.9)),
    C("atan", lambda xp, x: xp.atan(x), U(4)),
    C("acosh", lambda xp, x: xp.acosh(x), U(4, lo=1.2, hi=3)),
    C("asinh", lambda xp, x: xp.asinh(x), U(4)),
    C("atanh", lambda xp, x: xp.atanh(x), U(4, lo=-0.9, hi=0.9)),
    C("atan2", lambda xp, x, y: xp.atan2(x, y), U(4), A(4, seed=1)),
    C("pow", lambda xp, x, y: xp.pow(x, y), U(4, lo=0.5, hi=2), U(4, seed=1)),
    C("bitwise_invert", lambda xp, x: xp.bitwise_invert(x), I5, order=0),
    # ---------------------------------------------------------------- shapes
    C("atleast_1d", lambda xp, x: xp.atleast_1d(x), np.float64(1.5)),
    C("atleast_1d", lambda xp, x, y: xp.atleast_1d(x, y), np.float64(1.5), X34, tag="two"),
    C("atleast_2d", lambda xp, x: xp.atleast_2d(x), X5),
    C("atleast_2d", lambda xp, x, y: xp.atleast_2d(x, y), np.float64(2.0), X34, tag="two"),
    C("atleast_3d", lambda xp, x: xp.atleast_3d(x), X5),
    C("atleast_3d", lambda xp, x, y, z: xp.atleast_3d(x, y, z), np.float64(1.0), X34,
      U(2, 1, 2, 1), tag="three"),
    C("copy", lambda xp, x: xp.copy(x) * 2.0, X34),
    C("copy", lambda xp, x: x.copy(), X34, tag="method"),
    C("rollaxis", lambda xp, x: xp.rollaxis(x, 2), U(2, 3, 4)),
    C("rollaxis", lambda xp, x: xp.rollaxis(x, 0, 3), U(2, 3, 4), tag="start"),
    C("permute_dims", lambda xp, x: xp.permute_dims(x, (1, 2, 0)), U(2, 3, 4)),
    C("matrix_transpose", lambda xp, x: xp.matrix_transpose(x), U(2, 3, 4)),
    C("flip", lambda xp, x: xp.flip(x), X34),
    C("flip", lambda xp, x: xp.flip(x, axis=(0, 2)), U(2, 3, 2), tag="axes"),
    C("fliplr", lambda xp, x: xp.fliplr(x), X34),
    C("flipud", lambda xp, x: xp.flipud(x), X34),
    C("roll", lambda xp, x: xp.roll(x, 2, axis=1), X34),
    C("roll", lambda xp, x: xp.roll(x, -7), X34, tag="flat"),
    C("roll", lambda xp, x: xp.roll(x, (1, -1, 2), axis=(0, 1, 1)), X34, tag="tuple"),
    C("rot90", lambda xp, x: xp.rot90(x), X34),
    C("rot90", lambda xp, x: [xp.rot90(x, k, axes=(2, 0)) for k in (2, 3, -1)], U(2, 3, 4),
      tag="k"),
    C("tile", lambda xp, x: xp.tile(x, (2, 3)), X5),
    C("tile", lambda xp, x: xp.tile(x, 2), X34, tag="int"),
    C("tile", lambda xp, x: xp.tile(x, (2, 1, 2)), X34, tag="more_reps"),
    C("repeat", lambda xp, x: xp.repeat(x, 3, axis=1), X34),
    C("repeat", lambda xp, x: xp.repeat(x, 2), X34, tag="flat"),
    C("repeat", lambda xp, x: xp.repeat(x, [1, 0, 3], axis=0), X34, tag="counts"),
    C("diagonal", lambda xp, x: xp.diagonal(x), X34),
    C("diagonal", lambda xp, x: [xp.diagonal(x, k) for k in (-2, -1, 1, 3, 5)], X34,
      tag="offsets"),
    C("diagonal", lambda xp, x: xp.diagonal(x, 1, axis1=2, axis2=0), U(3, 2, 4), tag="axes"),
    C("diag", lambda xp, x: xp.diag(x), X5),
    C("diag", lambda xp, x: [xp.diag(x, k) for k in (-2, 1, 3)], X5, tag="k"),
    C("diag", lambda xp, x: [xp.diag(x, k) for k in (-1, 0, 2)], X34, tag="2d"),
    C("diagflat", lambda xp, x: xp.diagflat(x, -1), U(2, 2)),
    C("trace", lambda xp, x: xp.trace(x), X34),
    C("trace", lambda xp, x: xp.trace(x, 1, axis1=1, axis2=2), U(2, 3, 4), tag="axes"),
    C("tril", lambda xp, x: xp.tril(x), X34),
    C("tril", lambda xp, x: xp.tril(x, -1), U(2, 3, 3), tag="batch"),
    C("triu", lambda xp, x: xp.triu(x, 1), X34),
    C("triu", lambda xp, x: xp.triu(x), U(2, 3, 3), tag="batch"),
    C("kron", lambda xp, x, y: xp.kron(x, y), U(2, 3), U(3, 2, seed=1)),
    C("kron", lambda xp, x, y: xp.kron(x, y), X5, U(2, 2, seed=1), tag="1d_2d"),
    C("kron", lambda xp, x, y: xp.kron(x, y), np.float64(2.0), X5, tag="scalar"),
    C("cross", lambda xp, x, y: xp.cross(x, y), U(4, 3), U(3, seed=1)),
    C("cross", lambda xp, x, y: xp.cross(x, y, axisa=0, axisb=0, axisc=0), U(3, 2), U(3, 2),
      tag="axes"),
    C("cross", lambda xp, x, y: xp.cross(x, y), U(3, 2), U(3, 3, seed=2), tag="2x3"),
    C("cross", lambda xp, x, y: xp.cross(x, y), U(3, 3), U(2, seed=2), tag="3x2"),
    C("pad", lambda xp, x: xp.pad(x, ((1, 2), (0, 3))), X34),
    C("pad", lambda xp, x: xp.pad(x, 2, constant_values=((1.5, 2.0), (-1, 0))), X34,
      tag="values"),
    C("pad", lambda xp, x: [xp.pad(x, (3, 5), mode=m)
                            for m in ("edge", "reflect", "symmetric", "wrap")], X34,
      tag="modes"),
    C("pad", lambda xp, x, c: xp.pad(x, 1, constant_values=c), X34, np.float64(0.5),
      tag="traced_value"),
    C("pad", lambda xp, x: xp.pad(x, ((0, 0), (9, 6)), mode="reflect"), X34, tag="long"),
    C("take", lambda xp, x: xp.take(x, [0, 3, 3, 1], axis=1), X34),
    C("take", lambda xp, x: xp.take(x, np.array([[5, 0], [11, 2]])), X34, tag="flat"),
    C("take", lambda xp, x: xp.take(x, [-1, 4, 7], axis=1, mode="wrap"), X34, tag="wrap"),
    C("take", lambda xp, x: xp.take(x, [-1, 4, 2], axis=0, mode="clip"), X34, tag="clip"),
    C("take", lambda xp, x: xp.take(x, 2, axis=1), X34, tag="scalar"),
    C("take_along_axis", lambda xp, x: xp.take_along_axis(x, np.argsort(S34, 0), 0), X34),
    C("take_along_axis", lambda xp, x: xp.take_along_axis(x, np.array([[0], [2], [1]]), 1),
      X34, tag="bcast"),
    C("select", lambda xp, x: xp.select([x > 0.5, x < -1], [x, x ** 2], 7.0), X34),
    C("select", lambda xp, x, y: xp.select([x > 0], [y]), X34, X34 * 2, tag="default"),
    C("delete", lambda xp, x: xp.delete(x, [0, 2], axis=1), X34),
    C("delete", lambda xp, x: xp.delete(x, slice(1, None, 3)), X34, tag="flat"),
    C("append", lambda xp, x, y: xp.append(x, y), X34, X5),
    C("append", lambda xp, x, y: xp.append(x, y, axis=0), X34, U(1, 4), tag="axis"),
    C("dstack", lambda xp, x, y: xp.dstack([x, y]), X34, X34 * 2),
    C("dstack", lambda xp, x, y: xp.dstack((x, y)), X5, X5, tag="1d"),
    C("column_stack", lambda xp, x, y: xp.column_stack([x, y]), X5, U(5, 2)),
    # numpy.row_stack calls vstack(..., dtype=, casting=), which fxad.numpy.vstack lacks
    C("row_stack", lambda xp, x, y: xp.row_stack([x, y]), U(4), X34, dispatch=False),
    C("concat", lambda xp, x, y: xp.concat([x, y], axis=1), X34, U(3, 2)),
    C("unstack", lambda xp, x: xp.unstack(x, axis=1), X34),
    C("array_split", lambda xp, x: xp.array_split(x, 3), X5),
    C("array_split", lambda xp, x: xp.array_split(x, [1, 3], axis=1), X34, tag="indices"),
    C("hsplit", lambda xp, x: xp.hsplit(x, 2), X34),
    C("hsplit", lambda xp, x: xp.hsplit(x, [2]), X5, tag="1d"),
    C("vsplit", lambda xp, x: xp.vsplit(x, [1]), X34),
    C("dsplit", lambda xp, x: xp.dsplit(x, 2), U(2, 2, 4)),
    C("meshgrid", lambda xp, x, y: xp.meshgrid(x, y), X5, U(3)),
    C("meshgrid", lambda xp, x, y, z: xp.meshgrid(x, y, z, indexing="ij"), X5, U(3), U(2),
      tag="ij"),
    C("meshgrid", lambda xp, x, y: xp.meshgrid(x, y, sparse=True), X5, U(3), tag="sparse"),
    # ---------------------------------------------------------------- sorting
    C("sort", lambda xp, x: xp.sort(x), S34),
    C("sort", lambda xp, x: xp.sort(x, axis=0), S34, tag="axis0"),
    C("sort", lambda xp, x: xp.sort(x, axis=None), S34, tag="flat"),
    C("sort", lambda xp, x: xp.sort(x), D(6, dtype=np.float32), order=1, tag="f32"),
    C("sort", lambda xp, x: xp.sort(x), np.array([3, 1, 2, 1]), order=0, tag="int"),
    C("argsort", lambda xp, x: xp.argsort(x), np.array([2.0, 1.0, 2.0, 0.5, 1.0]), order=0),
    C("argsort", lambda xp, x: xp.argsort(x, axis=0), S34, order=0, tag="axis0"),
    C("argsort", lambda xp, x: xp.argsort(x, axis=None), S34, order=0, tag="flat"),
    C("searchsorted", lambda xp, a, v: xp.searchsorted(a, v), np.sort(S6), S34, order=0),
    C("searchsorted", lambda xp, a, v: xp.searchsorted(a, v, side="right"),
      np.array([1.0, 2.0, 2.0, 3.0]), np.array([2.0, 0.0, 5.0, 2.5]), order=0, tag="right"),
    C("searchsorted", lambda xp, a: xp.searchsorted(a, 0.3, sorter=np.argsort(S6)), S6,
      order=0, tag="sorter"),
    C("digitize", lambda xp, x: xp.digitize(x, np.linspace(-1, 1, 5)), X34, order=0),
    C("digitize", lambda xp, x: xp.digitize(x, np.linspace(1, -1, 5), right=True),
      np.array([1.0, 0.5, -2.0, 0.1]), order=0, tag="decreasing"),
    C("count_nonzero", lambda xp, x: xp.count_nonzero(x), np.array([[0, 1, 2], [0, 0, 3]]),
      order=0),
    C("count_nonzero", lambda xp, x: xp.count_nonzero(x > 0, axis=1, keepdims=True), X34,
      order=0, tag="axis"),
    C("unique", lambda xp, x: xp.unique(x), np.array([3.0, 1.0, 3.0, 2.0]), order=0,
      jit=False),
    C("unique", lambda xp, x: xp.unique(x, return_counts=True, return_inverse=True),
      np.array([3, 1, 3, 2]), order=0, jit=False, tag="returns"),
    C("argwhere", lambda xp, x: xp.argwhere(x > 0), X34, order=0, jit=False),
    C("nanargmax", lambda xp, x: xp.nanargmax(x, axis=1), with_nans(S34, 3), order=0),
    C("nanargmin", lambda xp, x: xp.nanargmin(x), with_nans(S34, 3), order=0),
    C("median", lambda xp, x: xp.median(x), S34),
    C("median", lambda xp, x: xp.median(x, axis=1, keepdims=True), D(3, 5), tag="odd"),
    C("median", lambda xp, x: xp.median(x, axis=(0, 2)), D(2, 3, 2), tag="axes"),
    C("median", lambda xp, x: xp.median(x, axis=0), with_nans(S34, 1), order=-1, tag="nan"),
    C("quantile", lambda xp, x: xp.quantile(x, 0.3), S34),
    C("quantile", lambda xp, x: xp.quantile(x, [0.1, 0.5, 1.0], axis=0, keepdims=True), S34,
      tag="array_q"),
    C("quantile", lambda xp, x, q: xp.quantile(x, q, axis=1), S34, np.array([0.15, 0.62]),
      tag="traced_q"),
    C("quantile", lambda xp, x: [xp.quantile(x, [0.2, 0.5, 0.71], axis=1, method=m)
                                 for m in ("lower", "higher", "nearest", "midpoint")],
      S34, tag="methods"),
    C("percentile", lambda xp, x: xp.percentile(x, [30, 90], axis=1), S34),
    C("nanquantile", lambda xp, x: xp.nanquantile(nanify(xp, x, 1), [0.2, 0.8], axis=1), S34),
    C("nanquantile", lambda xp, x: xp.nanquantile(nanify(xp, x, 2), 0.5), S6, tag="flat"),
    C("nanquantile", lambda xp, x, q: xp.nanquantile(nanify(xp, x), q, axis=0), D(5, 3),
      np.array([0.3, 0.45]), tag="traced_q"),
    C("nanpercentile", lambda xp, x: xp.nanpercentile(nanify(xp, x, 3), 40, axis=0), S34),
    C("nanmedian", lambda xp, x: xp.nanmedian(nanify(xp, x, 1), axis=1), D(4, 5)),
    C("nanmedian", lambda xp, x: xp.nanmedian(nanify(xp, x, 2)), S6, tag="flat"),
    C("partition", lambda xp, x: xp.sort(xp.partition(x, 2)), S6, tag="sorted"),
    C("argpartition", lambda xp, x: xp.sort(x[xp.argpartition(x, 2)[:3]]), S6, tag="first3",
      jit=False),
    # ---------------------------------------------------------------- numerics
    C("cumprod", lambda xp, x: xp.cumprod(x, axis=1), U(3, 5)),
    C("cumprod", lambda xp, x: xp.cumprod(x), np.array([[1.5, 0.0, -2.0], [0.0, 3.0, 0.5]]),
      tag="zeros"),
    C("cumprod", lambda xp, x: xp.cumprod(x, axis=0), np.arange(1, 7).reshape(3, 2), order=0,
      tag="int"),
    C("cumprod", lambda xp, x: xp.cumprod(x), U(9, lo=0.5, hi=1.5, dtype=np.float32),
      order=1, tag="f32", rtol=1e-5),
    C("cumulative_sum", lambda xp, x: xp.cumulative_sum(x, axis=1, include_initial=True), X34),
    C("cumulative_prod", lambda xp, x: xp.cumulative_prod(x), X5),
    C("nansum", lambda xp, x: xp.nansum(nanify(xp, x), axis=0), X34),
    C("nansum", lambda xp, x: xp.nansum(x), np.arange(6), order=0, tag="int"),
    C("nanprod", lambda xp, x: xp.nanprod(nanify(xp, x, 1), axis=1), X34),
    C("nancumsum", lambda xp, x: xp.nancumsum(nanify(xp, x, 2), axis=1), X34),
    C("nancumprod", lambda xp, x: xp.nancumprod(nanify(xp, x, 3)), X34),
    C("nanmean", lambda xp, x: xp.nanmean(nanify(xp, x, 1), axis=1), X34),
    C("nanmean", lambda xp, x: xp.nanmean(nanify(xp, x, 2), keepdims=True), X34, tag="all"),
    C("nanvar", lambda xp, x: xp.nanvar(nanify(xp, x, 2), axis=0, ddof=1), U(5, 3)),
    C("nanstd", lambda xp, x: xp.nanstd(nanify(xp, x, 3), axis=1), U(3, 5)),
    C("nanmax", lambda xp, x: xp.nanmax(nanify(xp, x, 1), axis=0), S34),
    C("nanmin", lambda xp, x: xp.nanmin(nanify(xp, x, 1)), S34),
    C("ptp", lambda xp, x: xp.ptp(x, axis=1), S34),
    C("ptp", lambda xp, x: xp.ptp(x), S34, tag="all"),
    C("cov", lambda xp, x: xp.cov(x), X34),
    C("cov", lambda xp, x, y: xp.cov(x, y, rowvar=False, bias=True), U(5, 2), U(5, seed=3),
      tag="y"),
    C("cov", lambda xp, x, w: xp.cov(x, aweights=w, fweights=np.array([1, 2, 1, 3])), X34,
      U(4, lo=0.5, hi=2), tag="weights"),
    C("cov", lambda xp, x: xp.cov(x), X5, tag="1d"),
    C("corrcoef", lambda xp, x: xp.corrcoef(x), X34),
    C("corrcoef", lambda xp, x, y: xp.corrcoef(x, y), X5, U(5, seed=7), tag="xy"),
    C("diff", lambda xp, x: xp.diff(x), X34),
    C("diff", lambda xp, x: xp.diff(x, 2, axis=0, prepend=0.5, append=X34[:1]), X34,
      tag="n2"),
    C("diff", lambda xp, x: xp.diff(x > 0), X5, order=0, tag="bool"),
    C("ediff1d", lambda xp, x: xp.ediff1d(x, to_end=[1.0, 2.0], to_begin=-1.0), X34),
    C("gradient", lambda xp, x: xp.gradient(x), X34),
    C("gradient", lambda xp, x: xp.gradient(x, 0.5, axis=1, edge_order=2), X34, tag="edge2"),
    C("gradient", lambda xp, f, c: xp.gradient(f, c), X5, np.cumsum(U(5, lo=0.5, hi=1.5)),
      tag="coords"),
    C("gradient", lambda xp, f, c: xp.gradient(f, 2.0, c, edge_order=2), X34,
      np.cumsum(U(4, lo=0.5, hi=1.5)), tag="coords2"),
    C("trapezoid", lambda xp, y: xp.trapezoid(y), X34),
    C("trapezoid", lambda xp, y, x: xp.trapezoid(y, x, axis=0), X34, np.cumsum(U(3, lo=0.5)),
      tag="x"),
    C("trapezoid", lambda xp, y: xp.trapezoid(y, dx=0.3), X5, tag="dx"),
    C("convolve", lambda xp, a, v: xp.convolve(a, v), X5, U(3, seed=2)),
    C("convolve", lambda xp, a, v: [xp.convolve(a, v, m) for m in ("same", "valid")],
      U(3, seed=2), X5, tag="modes"),
    C("correlate", lambda xp, a, v: [xp.correlate(a, v, m) for m in ("full", "same", "valid")],
      X5, U(3, seed=3)),
    C("correlate", lambda xp, a, v: xp.correlate(a, v, "same"), U(3, seed=3), X5,
      tag="longer_v"),
    C("interp", lambda xp, x, xp_, fp: xp.interp(x, xp_, fp), np.array([-3.0, 0.1, 1.3, 2.7]),
      np.array([-1.0, 0.5, 2.0, 2.5]), U(4)),
    C("interp", lambda xp, x, fp: xp.interp(x, np.array([0.0, 1.0, 2.0]), fp, left=-5.0,
                                            right=7.0),
      np.array([-1.0, 0.3, 1.7, 3.0]), U(3), tag="bounds"),
    C("interp", lambda xp, x: xp.interp(x, np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 2.0])),
      np.array([0.0, 1.0, 2.0, -0.5, 2.5]), order=-1, tag="knots"),
    C("polyval", lambda xp, p, x: xp.polyval(p, x), U(4), X34),
    C("vander", lambda xp, x: xp.vander(x), X5),
    C("vander", lambda xp, x: xp.vander(x, 3, increasing=True), X5, tag="N"),
    C("linspace", lambda xp, a, b: xp.linspace(a, b, 7), np.float64(-1.0), np.float64(2.5)),
    C("linspace", lambda xp, a, b: xp.linspace(a, b, 5, endpoint=False, axis=1),
      U(2), U(2, seed=5), tag="arrays"),
    C("linspace", lambda xp, b: xp.linspace(0.0, b, 4, retstep=True), np.float64(3.0),
      tag="retstep"),
    C("linspace", lambda xp, b: xp.linspace(0.0, b, 1), np.float64(3.0), tag="one"),
    C("logspace", lambda xp, a, b: xp.logspace(a, b, 4), np.float64(-1.0), np.float64(1.5)),
    C("logspace", lambda xp, b: xp.logspace(0.0, b, 3, base=2.0), np.float64(2.0), tag="base"),
    # ---------------------------------------------------------------- functional updates
    C("at", lambda xp, x, v: fnp.at(x)[1:3].set(v), X5, U(2, seed=9)),
    C("at", lambda xp, x, v: fnp.at(x)[[0, 2, 0]].add(v), X5, U(3, seed=9), tag="add_dup"),
    C("at", lambda xp, x, v: fnp.at(x)[:, [0, 2, 2]].multiply(v), X34, U(3, 3, seed=9),
      tag="mul_dup"),
    C("at", lambda xp, x: fnp.at(x)[[3, 1, 3]].set(np.array([1.0, 2.0, 3.0])), X5, tag="set_dup"),
    C("at", lambda xp, x, v: fnp.at(x)[X34 > 0].min(v), S34, np.float64(0.3), tag="min_mask"),
    C("at", lambda xp, x, v: fnp.at(x)[..., 1].max(v), S34, D(3, seed=4), tag="max"),
    C("at", lambda xp, x, v: fnp.at(x)[2].divide(v), X34, A(4, seed=4), tag="divide"),
    C("at", lambda xp, x, v: fnp.at(x)[1:].power(v), U(4, lo=0.5, hi=2), U(3), tag="power"),
    C("at", lambda xp, x, v: fnp.at(x)[0].subtract(v), X34, U(4, seed=4), tag="subtract"),
    C("at", lambda xp, x: fnp.at(x)[1, ::2].get(), X34, tag="get"),
    # ---------------------------------------------------------------- older functions
    # (fxad.numpy functions that no other test file exercises by name)
    C("size", lambda xp, x: xp.size(x), X34, order=0, jit=False),
    C("result_type", lambda xp, x: xp.result_type(x, 1.0), X34.astype(np.float32), order=-1,
      jit=False),
    C("sign", lambda xp, x: xp.sign(x), A(5), order=1),
    C("add", lambda xp, x, y: xp.add(x, y), X34, X5[:4]),
    C("astype", lambda xp, x: [xp.astype(x, np.float32), xp.astype(x, np.int64)], X34,
      order=-1),
    C("isinf", lambda xp, x: xp.isinf(x), np.array([1.0, np.inf, -np.inf, np.nan]), order=0),
    C("invert", lambda xp, x: xp.invert(x), I5, order=0),
    C("bitwise_not", lambda xp, x: xp.bitwise_not(x > 0), X5, order=0),
    C("subtract", lambda xp, x, y: xp.subtract(x, y), X34, X5[:4]),
    C("multiply", lambda xp, x, y: xp.multiply(x, y), X34, 2.0),
    C("true_divide", lambda xp, x, y: xp.true_divide(x, y), X34, A(4)),
    C("divide", lambda xp, x, y: xp.divide(x, y), X5, A(5)),
    C("mod", lambda xp, x: xp.mod(x, 0.7), np.array([0.2, 1.3, -2.5])),
    C("absolute", lambda xp, x: xp.absolute(x), A(3, 4)),
    C("positive", lambda xp, x: xp.positive(x), X34),
    C("around", lambda xp, x: xp.around(x, 1), OFF(5) + 0.01, order=1),
    C("equal", lambda xp, x: [xp.equal(x, 0.5), xp.not_equal(x, 0.5), xp.less(x, 0.5),
                              xp.less_equal(x, 0.5), xp.greater(x, 0.5),
                              xp.greater_equal(x, 0.5)], np.array([0.0, 0.5, 1.0]), order=0),
    C("not_equal", lambda xp, x: xp.not_equal(x, 1), I5, order=0),
    C("less", lambda xp, x: xp.less(x, 1), I5, order=0),
    C("less_equal", lambda xp, x: xp.less_equal(x, 1), I5, order=0),
    C("greater", lambda xp, x: xp.greater(x, 1), I5, order=0),
    C("greater_equal", lambda xp, x: xp.greater_equal(x, 1), I5, order=0),
    C("bitwise_and", lambda xp, x: [xp.bitwise_and(x, 6), xp.bitwise_or(x, 6),
                                    xp.bitwise_xor(x, 6)], I5, order=0),
    C("bitwise_or", lambda xp, x: xp.bitwise_or(x > 0, x < -2), I5, order=0),
    C("bitwise_xor", lambda xp, x: xp.bitwise_xor(x, 3), I5, order=0),
    C("logical_and", lambda xp, x: [xp.logical_and(x, x > 1), xp.logical_or(x, x > 1),
                                    xp.logical_xor(x, x > 1), xp.logical_not(x)],
      np.array([0.0, 1.0, 2.0]), order=0),
    C("logical_or", lambda xp, x: xp.logical_or(x, 0), I5, order=0),
    C("logical_xor", lambda xp, x: xp.logical_xor(x, 1), I5, order=0),
    C("logical_not", lambda xp, x: xp.logical_not(x), I5, order=0),
    C("fmax", lambda xp, x, y: xp.fmax(x, y), S5, D(5, seed=9) + 0.1),
    C("fmin", lambda xp, x, y: xp.fmin(x, y), S5, D(5, seed=9) + 0.1),
    C("real", lambda xp, x: xp.real(x) + xp.imag(x), X34),
    C("imag", lambda xp, x: xp.imag(x), X34),
    C("conj", lambda xp, x: xp.conj(x), X34),
    C("conjugate", lambda xp, x: xp.conjugate(x), X34),
    C("broadcast_arrays", lambda xp, x, y: list(xp.broadcast_arrays(x, y)), X34, X5[:4]),
    C("vstack", lambda xp, x, y: xp.vstack([x, y]), X34, X5[:4]),
    C("hstack", lambda xp, x, y: xp.hstack([x, y]), X34, U(3, 2)),
    C("hstack", lambda xp, x, y: xp.hstack([x, y]), X5, U(2), tag="1d"),
    C("nonzero", lambda xp, x: xp.nonzero(x > 0), X34, order=0, jit=False),
    C("flatnonzero", lambda xp, x: xp.flatnonzero(x > 0), X34, order=0, jit=False),
    C("amax", lambda xp, x: xp.amax(x, axis=1), S34),
    C("amin", lambda xp, x: xp.amin(x, axis=0, keepdims=True), S34),
    C("argmin", lambda xp, x: xp.argmin(x, axis=1), S34, order=0),
    C("full_like", lambda xp, x: xp.full_like(x, 2.5) * x, X34),
    C("identity", lambda xp, x: xp.identity(3) @ x, X34),
]


def _id(case):
    return case.name + (f"-{case.tag}" if case.tag else "")


IDS = [_id(c) for c in CASES]
assert len(set(IDS)) == len(IDS), sorted(i for i in IDS if IDS.count(i) > 1)


def _module_for(case):
    """numpy itself (traced values dispatch to fxad.numpy) where NumPy has the function."""
    return np if case.dispatch and callable(getattr(np, case.name, None)) else fnp


def _leaves(x):
    return fxad.tree_util.tree_leaves(x)


def assert_same(got, expected, rtol=1e-7, dtype=True, what=""):
    g, e = _leaves(got), _leaves(expected)
    assert len(g) == len(e), f"{what}: {len(g)} outputs, expected {len(e)}"
    for a, b in zip(g, e):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, f"{what}: shape {a.shape}, expected {b.shape}"
        if dtype:
            assert a.dtype == b.dtype, f"{what}: dtype {a.dtype}, expected {b.dtype}"
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(a, b, err_msg=what)


def _float_args(args):
    return [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_match_numpy(case):
    with np.errstate(all="ignore"):
        expected = case.fn(np, *case.args)
        got = case.fn(fnp, *case.args)
    if isinstance(expected, (bool, np.bool_)):
        assert got == expected
        return
    assert_same(got, expected, case.rtol, case.dtype, _id(case))


@pytest.mark.parametrize("case", [c for c in CASES if c.order > 0], ids=lambda c: _id(c))
def test_derivatives(case):
    xp = _module_for(case)
    floats = _float_args(case.args)

    def f(*fargs):
        args = list(case.args)
        for i, a in zip(floats, fargs):
            args[i] = a
        return case.fn(xp, *args)

    check_grads(f, [case.args[i] for i in floats], order=case.order)


@pytest.mark.parametrize("case", [c for c in CASES if not c.order and _float_args(c.args)],
                         ids=lambda c: _id(c))
def test_no_derivative(case):
    """Integer/boolean results carry no tangent; float results of piecewise-constant
    functions a zero one; and traced inputs dispatch from numpy."""
    xp = _module_for(case)
    floats = _float_args(case.args)
    args = list(case.args)

    def f(*fargs):
        for i, a in zip(floats, fargs):
            args[i] = a
        return case.fn(xp, *args)

    with np.errstate(all="ignore"):
        primal = [case.args[i] for i in floats]
        tangent = [np.ones_like(p) for p in primal]
        out, t = fxad.jvp(f, primal, tangent)
        expected = case.fn(np, *case.args)
    assert_same(out, expected, case.rtol, case.dtype, _id(case))
    for leaf in _leaves(t):
        leaf = np.asarray(leaf)
        assert not np.any(leaf[np.isfinite(leaf)]), f"{_id(case)}: nonzero tangent {leaf}"


def _perturbed(a, k):
    a = np.asarray(a)
    return a + np.asarray(1e-3 * k * (1 + np.arange(a.size).reshape(a.shape) % 3), a.dtype)


@pytest.mark.parametrize("case", [c for c in CASES if c.jit and _float_args(c.args)],
                         ids=lambda c: _id(c))
def test_vmap_matches_a_loop(case):
    floats = _float_args(case.args)
    batches = [[_perturbed(case.args[i], k) for k in range(3)] for i in floats]

    def f(*fargs):
        args = list(case.args)
        for i, a in zip(floats, fargs):
            args[i] = a
        return case.fn(fnp, *args)

    got = fxad.vmap(f)(*[np.stack(b) for b in batches])
    rows = [f(*[b[k] for b in batches]) for k in range(3)]
    expected = fxad.tree_util.tree_map(lambda *r: np.stack(r), *rows)
    assert_same(got, expected, 1e-7, True, _id(case))
    if case.order > 0:   # and the batched gradient of a scalar summary
        g = fxad.vmap(fxad.grad(lambda *a: _scalar(f(*a))))(
            *[np.stack(b) for b in batches])
        g_rows = [fxad.grad(lambda *a: _scalar(f(*a)))(*[b[k] for b in batches])
                  for k in range(3)]
        assert_same(g, np.stack(g_rows), 1e-7, True, _id(case) + " grad")


def _scalar(out):
    total = 0.0
    for i, leaf in enumerate(_leaves(out)):
        if np.issubdtype(leaf.dtype, np.floating):
            total = total + fnp.sum(fnp.sin(leaf * (1.0 + 0.1 * i)))
    return total


@pytest.mark.parametrize("case", [c for c in CASES if c.jit], ids=lambda c: _id(c))
def test_jit_matches_eager(case):
    array_args = [i for i, a in enumerate(case.args) if isinstance(a, np.ndarray)]

    def f(*dyn):
        args = list(case.args)
        for i, a in zip(array_args, dyn):
            args[i] = a
        return case.fn(fnp, *args)

    with np.errstate(all="ignore"):
        got = fxad.jit(f)(*[case.args[i] for i in array_args])
        expected = case.fn(fnp, *case.args)
    if isinstance(expected, (bool, np.bool_)):
        assert bool(got) == bool(expected)
        return
    assert_same(got, expected, 1e-12, True, _id(case))


# --------------------------------------------------------------------------- targeted tests


def test_partition_properties():
    x = D(4, 7, seed=11)
    for kth in (0, 3, 6):
        p = fnp.partition(x, kth, axis=1)
        idx = fnp.argpartition(x, kth, axis=1)
        np.testing.assert_array_equal(p[:, kth], np.partition(x, kth, axis=1)[:, kth])
        pivot = p[:, kth:kth + 1]
        assert (p[:, :kth] <= pivot).all() and (p[:, kth + 1:] >= pivot).all()
        np.testing.assert_array_equal(np.take_along_axis(x, idx, 1), p)


def test_sort_gradient_follows_the_permutation_and_jits():
    x = np.array([0.3, -1.0, 2.0, 0.1])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    g = fxad.grad(lambda v: fnp.sum(fnp.sort(v) * w))(x)
    np.testing.assert_array_equal(g, w[np.argsort(np.argsort(x))])
    f = fxad.jit(lambda v: fnp.median(v) + fnp.sort(v)[0])
    for _ in range(3):      # interpreter first, then compiled
        assert float(f(x)) == np.median(x) + np.sort(x)[0]
    jaxpr = str(fxad.make_jaxpr(fnp.sort)(x))
    assert "argsort" in jaxpr and "gather" in jaxpr


def test_cumprod_is_differentiable_at_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    jac = fxad.jacfwd(fnp.cumprod)(x)
    expected = np.zeros((5, 5))
    for i in range(5):
        for j in range(i + 1):
            expected[i, j] = np.prod(np.delete(x[:i + 1], j))
    np.testing.assert_allclose(jac, expected)
    np.testing.assert_allclose(fxad.jacrev(fnp.cumprod)(x), expected)
    check_grads(fnp.cumprod, (x,), order=3)


def test_linspace_with_traced_ends_and_np_dispatch():
    def f(a, b):
        return np.linspace(a, b, 5)       # dispatches to fxad.numpy on tracers
    ga, gb = fxad.jacfwd(f, argnums=(0, 1))(1.0, 3.0)
    np.testing.assert_allclose(ga, np.linspace(1.0, 0.0, 5))
    np.testing.assert_allclose(gb, np.linspace(0.0, 1.0, 5))
    assert fxad.jit(f)(1.0, 3.0)[-1] == 3.0
    assert isinstance(fnp.linspace(0, 1, 3), np.ndarray)


def test_at_updates_on_tracers_and_arrays():
    x = np.arange(6.0)
    np.testing.assert_array_equal(fnp.at(x)[[1, 1, 4]].add(1.0), [0, 3, 2, 3, 5, 5])
    np.testing.assert_array_equal(fnp.at(x)[[1, 1]].multiply(np.array([2.0, 3.0])),
                                  [0, 6, 2, 3, 4, 5])
    np.testing.assert_array_equal(fnp.at(x)[[1, 1]].set(np.array([7.0, 8.0])),
                                  [0, 8, 2, 3, 4, 5])        # the last update wins
    np.testing.assert_array_equal(fnp.at(x)[x > 3].set(0.0), [0, 1, 2, 3, 0, 0])
    np.testing.assert_array_equal(x, np.arange(6.0))          # x itself is unchanged
    # the property on traced values, with derivatives in x and in the update
    gx, gv = fxad.grad(lambda x, v: fnp.sum(x.at[2:4].set(v) ** 2), argnums=(0, 1))(x, 3.0)
    np.testing.assert_array_equal(gx, [0, 2, 0, 0, 8, 10])
    assert float(gv) == 12.0
    # integer arrays take updates in their own dtype
    assert fnp.at(np.arange(3))[0].set(2.7).dtype == np.int64


def test_at_under_jit_with_traced_indices():
    x = np.arange(5.0)
    f = fxad.jit(lambda x, i, v: x.at[i].set(v))
    np.testing.assert_array_equal(f(x, np.array([0, 3]), np.array([9.0, 8.0])),
                                  [9, 1, 2, 8, 4])
    g = fxad.jit(lambda x, i: x.at[i].add(1.0))
    np.testing.assert_array_equal(g(x, np.array([4, 4])), [0, 1, 2, 3, 6])
    h = fxad.jit(lambda x, i: x.at[i].multiply(2.0, unique_indices=True))
    np.testing.assert_array_equal(h(x, np.array([1, 2])), [0, 2, 4, 3, 4])
    with pytest.raises(NotImplementedError, match="unique_indices"):
        fxad.jit(lambda x, i: x.at[i].max(2.0))(x, np.array([1, 2]))


def test_concrete_only_functions_say_so_under_jit():
    for fn in (fnp.unique, fnp.argwhere, lambda x: fnp.repeat(x, x.astype(int))):
        with pytest.raises(ConcretizationTypeError):
            fxad.jit(fn)(np.array([1.0, 2.0, 2.0]))
    # ... but work under grad, where values are concrete
    g = fxad.grad(lambda x: fnp.sum(x[fnp.unique(fnp.argsort(x))]))(np.array([2.0, 1.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_all_nan_slices():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_array_equal(fnp.nanmax(x, axis=1), np.nanmax(x, axis=1))
        np.testing.assert_array_equal(fnp.nanmedian(x, axis=1), np.nanmedian(x, axis=1))
        np.testing.assert_array_equal(fnp.nanmean(x, axis=1), np.nanmean(x, axis=1))


def test_sinc_second_derivative_at_zero():
    d2 = fxad.grad(fxad.grad(fnp.sinc))(0.0)
    np.testing.assert_allclose(d2, -np.pi ** 2 / 3, rtol=1e-12)


def test_new_tracer_methods():
    x = S34
    def methods(v):
        return [v.cumprod(axis=1), v.diagonal(), v.trace(), v.repeat(2), v.take([0, 2]),
                v.argsort(axis=0), v[0].searchsorted(0.1), v.copy()]
    out = fxad.jvp(methods, (x,), (np.ones_like(x),))[0]
    assert_same(out, methods(x))
    with pytest.raises(NotImplementedError, match="out="):
        fnp.nansum(x, 0, None, np.empty(4))


def test_where_safe_keeps_gradients_finite_where_plain_where_does_not():
    x = np.array([4.0, 0.0, -1.0, 2.25])
    with np.errstate(all="ignore"):
        plain = fxad.grad(lambda v: fnp.where(v > 0, fnp.sqrt(v), 0.0).sum())(x)
    safe = fxad.grad(lambda v: fnp.where_safe(v > 0, fnp.sqrt, v).sum())(x)
    assert not np.isfinite(plain).all()
    expected = np.where(x > 0, 0.5 / np.sqrt(np.where(x > 0, x, 1.0)), 0.0)
    np.testing.assert_allclose(safe, expected, rtol=1e-15)
    np.testing.assert_allclose(fnp.where_safe(x > 0, fnp.sqrt, x, otherwise=-1.0),
                               np.where(x > 0, np.sqrt(np.abs(x)), -1.0))
    for transform in (fxad.jit, lambda f: f):
        g = transform(fxad.grad(lambda v: fnp.where_safe(v > 0, fnp.log, v).sum()))
        np.testing.assert_allclose(g(x), np.where(x > 0, 1 / np.where(x > 0, x, 1.0), 0.0))


# --------------------------------------------------------------------------- bookkeeping

# Pre-existing fxad.numpy functions exercised by name in other test files (each file is
# checked to mention the function); every other public function has a row above.
TESTED_ELSEWHERE = {
    "test_composites.py": [
        "asarray", "shape", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
        "arcsinh", "arccosh", "arctanh", "exp", "exp2", "expm1", "log", "log2", "log10",
        "log1p", "sqrt", "cbrt", "floor", "ceil", "rint", "negative", "abs",
        "floor_divide", "remainder", "maximum", "minimum", "arctan2", "square",
        "reciprocal", "power", "round", "logaddexp", "hypot", "where", "clip", "reshape",
        "ravel", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims",
        "broadcast_to", "concatenate", "stack", "split", "sum", "mean", "var", "std", "max",
        "min", "all", "prod", "cumsum", "average", "einsum", "dot", "matmul", "vdot",
        "inner", "outer", "tensordot", "sin", "cos"],
    "test_jit.py": ["array", "isfinite", "ones", "full", "arange", "eye"],
    "test_vmath.py": ["isnan", "empty_like"],
    "test_primitives.py": ["ndim", "any", "zeros", "empty", "zeros_like", "ones_like"],
    "test_vmap.py": ["argmax"],
    "test_numpy_more.py": ["where_safe"],
}


def _tested_here():
    return {c.name for c in CASES}


def test_every_public_function_is_tested():
    elsewhere = {n for names in TESTED_ELSEWHERE.values() for n in names}
    missing = sorted(set(fnp.__all__) - _tested_here() - elsewhere)
    assert not missing, (f"fxad.numpy functions without a test: {missing}; add rows to "
                         "CASES in tests/test_numpy_more.py")
    stale = sorted((_tested_here() | elsewhere) - set(fnp.__all__))
    assert not stale, f"tests listed for names fxad.numpy does not export: {stale}"


@pytest.mark.parametrize("filename", sorted(TESTED_ELSEWHERE))
def test_tested_elsewhere_is_true(filename):
    text = (ROOT / "tests" / filename).read_text()
    absent = [n for n in TESTED_ELSEWHERE[filename]
              if not re.search(r"\b(?:xp|fnp|np|numpy)\." + n + r"\b|\." + n + r"\(", text)]
    assert not absent, f"{filename} does not call {absent}"


def _gen_coverage():
    spec = importlib.util.spec_from_file_location("gen_coverage", ROOT / "docs" / "gen_coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_coverage_document_is_current():
    gen = _gen_coverage()
    current = (ROOT / "docs" / "coverage.md").read_text()
    assert gen.render() == current, ("docs/coverage.md is stale: regenerate it with "
                                     "`python docs/gen_coverage.py`")


def test_coverage_lists_every_public_function():
    gen = _gen_coverage()
    table = gen.render()
    for name in fnp.__all__:
        assert f"| `{name}` |" in table, name


def test_traced_searchsorted_matches_numpy_with_ties():
    r = _rng(5)
    for side in ("left", "right"):
        a = np.sort(r.integers(0, 5, 9).astype(float))
        v = r.integers(-1, 6, (3, 4)).astype(float)
        got = fxad.jit(lambda a, v: fnp.searchsorted(a, v, side))(a, v)
        np.testing.assert_array_equal(got, np.searchsorted(a, v, side))
        got = fxad.vmap(lambda v: fnp.searchsorted(a, v, side))(v)
        np.testing.assert_array_equal(got, np.searchsorted(a, v, side))


def test_at_under_vmap_with_batched_indices():
    x = U(3, 5)
    idx = np.array([[0, 1], [4, 4], [2, 0]])
    got = fxad.vmap(lambda x, i: x.at[i].add(1.0))(x, idx)
    expected = x.copy()
    for row, i in zip(expected, idx):
        np.add.at(row, i, 1.0)
    np.testing.assert_allclose(got, expected)


def test_take_with_scattered_indices_uses_one_gather():
    x = U(20)
    idx = _rng(3).permutation(20)
    jaxpr = str(fxad.make_jaxpr(lambda x: fnp.take(x, idx))(x))
    assert jaxpr.count("gather") == 1 and "concatenate" not in jaxpr
    check_grads(lambda x: fnp.take(x, idx), (x,), order=1)
    runs = str(fxad.make_jaxpr(lambda x: fnp.roll(x, 3))(x))     # two slices, no index array
    assert runs.count("gather") == 2


FLOAT32_CALLS = {
    "sinc": lambda xp, x: xp.sinc(x), "deg2rad": lambda xp, x: xp.deg2rad(x),
    "fabs": lambda xp, x: xp.fabs(x), "trunc": lambda xp, x: xp.trunc(x),
    "copysign": lambda xp, x: xp.copysign(x, -1.0), "logaddexp2": lambda xp, x: xp.logaddexp2(x, x),
    "heaviside": lambda xp, x: xp.heaviside(x, 0.5), "fmod": lambda xp, x: xp.fmod(x, 0.7),
    "ldexp": lambda xp, x: xp.ldexp(x, 3), "nan_to_num": lambda xp, x: xp.nan_to_num(x),
    "cumprod": lambda xp, x: xp.cumprod(x, axis=0), "nansum": lambda xp, x: xp.nansum(x, 1),
    "nanmean": lambda xp, x: xp.nanmean(x, 0), "nanvar": lambda xp, x: xp.nanvar(x),
    "nanmax": lambda xp, x: xp.nanmax(x, 1), "ptp": lambda xp, x: xp.ptp(x, 0),
    "median": lambda xp, x: xp.median(x, 0), "quantile": lambda xp, x: xp.quantile(x, 0.3, 1),
    "nanmedian": lambda xp, x: xp.nanmedian(x, 0), "sort": lambda xp, x: xp.sort(x, 0),
    "diff": lambda xp, x: xp.diff(x), "gradient": lambda xp, x: xp.gradient(x, axis=0),
    "trapezoid": lambda xp, x: xp.trapezoid(x), "cov": lambda xp, x: xp.cov(x),
    "corrcoef": lambda xp, x: xp.corrcoef(x), "convolve": lambda xp, x: xp.convolve(x[0], x[1]),
    "kron": lambda xp, x: xp.kron(x, x[:1]), "cross": lambda xp, x: xp.cross(x[:, :3], x[:, 1:]),
    "pad": lambda xp, x: xp.pad(x, 1, mode="reflect"), "trace": lambda xp, x: xp.trace(x),
    "tril": lambda xp, x: xp.tril(x), "diag": lambda xp, x: xp.diag(x[0]),
    "polyval": lambda xp, x: xp.polyval(x[0], x), "vander": lambda xp, x: xp.vander(x[0]),
    "select": lambda xp, x: xp.select([x > 0], [x]), "isclose": lambda xp, x: xp.isclose(x, x),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CALLS))
def test_float32_stays_float32(name):
    x = U(3, 4, dtype=np.float32)
    fn = FLOAT32_CALLS[name]
    assert_same(fn(fnp, x), fn(np, x), rtol=2e-5, what=name)
