"""A table of composite functions run through every transform route; all must agree.

Each composite is written once against an array module `xp` and run three ways: with
`numpy` on NumPy arrays (the reference value), with `fxad.numpy`, and with plain `numpy`
on traced values (`__array_ufunc__` / `__array_function__`, methods, operators). Routes:
value; jvp and vjp (against finite differences and each other, to second order, via
`check_grads`); grad (= vjp with the output weights); grad∘grad; and the Hessian-vector
product computed four ways (jvp∘grad, grad∘grad, grad∘jvp, vjp∘jvp) against finite
differences of grad. float32 inputs give float32 results on every route (when NumPy keeps
float32) and agree with the float64 routes.
"""
import functools
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fxad
import fxad.numpy as fnp
from fxad.test_util import check_grads, numerical_jvp

from _strategies import F32, F64, away_from_zero, drawn, examples, grid, in_range


class Composite(NamedTuple):
    fn: Callable           # fn(xp, *args)
    args: tuple            # one (shape, domain) per argument
    stageable: bool = True  # False: needs concrete values (e.g. a mask computed from x)


ANY, POS, UNIT, AWAY, DISTINCT, OFFGRID = "any", "pos", "unit", "away", "distinct", "offgrid"


def draw_arg(draw, shape, domain, dtype):
    if domain == ANY:
        return in_range(draw, shape, -2, 2, dtype)
    if domain == POS:
        return in_range(draw, shape, 0.5, 2.5, dtype)
    if domain == UNIT:
        return in_range(draw, shape, -0.9, 0.9, dtype)
    if domain == AWAY:
        return away_from_zero(draw, shape, 0.3, 2.0, dtype)
    if domain == DISTINCT:          # pairwise distinct (no ties in max/min/sort-like ops)
        return grid(draw, shape, 0.25, k=20, dtype=dtype, unique=True)
    if domain == OFFGRID:           # n * 0.3 + 0.15: away from the kinks at 0 and +-0.5
        return grid(draw, shape, 0.3, 0.15, k=6, dtype=dtype)
    raise ValueError(domain)


IDX = np.array([0, 2, 2, 1])
MASK = np.array([True, False, True])

def C(fn, args, stageable=True):
    """A composite; `args` is one (shape, domain) pair or a tuple of them."""
    return Composite(fn, (args,) if isinstance(args[1], str) else args, stageable)


COMPOSITES = {
    # elementwise chains, written with ufuncs and operators
    "sin_exp_tanh": C(lambda xp, x: xp.sin(x) * xp.exp(-x * x) + xp.tanh(x) * x,
                      ((5,), ANY)),
    "mse": C(lambda xp, y, p: xp.mean((y - p) ** 2), (((3,), ANY), ((3,), ANY))),
    "unary_zoo": C(lambda xp, x: xp.cos(x) + xp.arctan(x) + xp.sinh(x) - xp.cosh(x) / 3
                   + xp.arcsinh(x) + xp.exp2(x) + xp.expm1(x) + xp.square(x) - xp.negative(x),
                   ((2, 3), ANY)),
    "domain_zoo": C(lambda xp, x, u: xp.log(x) + xp.log2(x) * xp.log10(x) + xp.sqrt(x)
                    + xp.cbrt(x) + xp.reciprocal(x) + xp.log1p(x) + xp.arccosh(x + 1)
                    + xp.arcsin(u) * xp.arccos(u) + xp.arctanh(u) + xp.tan(u),
                    (((4,), POS), ((4,), UNIT))),
    "powers": C(lambda xp, x, y: x ** 2.5 + 2.0 ** y + x ** y + xp.power(x, 3)
                + x ** -2 + xp.abs(y) ** 0.5 + 1 / x - 3 / x,
                (((3,), POS), ((3,), AWAY))),
    "binary_zoo": C(lambda xp, x, y: xp.arctan2(x, y) + xp.hypot(x, y) + xp.logaddexp(x, y)
                    + xp.maximum(x, y + 0.125) * xp.minimum(x, y + 0.125) + xp.abs(x),
                    (((2, 2), AWAY), ((2, 2), DISTINCT))),
    "logsumexp": C(lambda xp, x: xp.log(xp.sum(xp.exp(x - xp.max(x)))) + xp.max(x),
                   ((6,), DISTINCT)),
    "norm": C(lambda xp, x: xp.sqrt(xp.sum(x * x)), ((2, 3), AWAY)),
    # reductions
    "methods": C(lambda xp, x: x.sum() * x.mean(axis=0) + x.T.sum(axis=1) * x.max()
                 - x.min(axis=-1, keepdims=True).sum(), ((2, 3), DISTINCT)),
    "var_std": C(lambda xp, x: xp.var(x, axis=0) + xp.std(x, axis=1, ddof=1, keepdims=True),
                 ((3, 4), DISTINCT)),
    "prod": C(lambda xp, x: xp.prod(x, axis=1)[:, None] + xp.prod(x[:2]) * x[0], ((3, 5), ANY)),
    "max_min_axes": C(lambda xp, x: xp.max(x, axis=(0, 2)) + xp.min(x, axis=1).sum(),
                      ((2, 3, 2), DISTINCT)),
    "cumsum_sum_axes": C(lambda xp, x: xp.cumsum(x, axis=1) * x.sum(axis=(0, 2), keepdims=True)
                         + xp.cumsum(x)[:4].reshape(1, 1, 4)[..., :2], ((2, 3, 2), ANY)),
    "average": C(lambda xp, x, w: xp.average(x, axis=0, weights=w) + xp.mean(x, axis=(0, 1)),
                 (((3, 2), ANY), ((3, 2), POS))),
    # selection
    "where_clip": C(lambda xp, x: xp.where(x > 0, x ** 2, xp.sin(x)) + xp.clip(x, -0.5, 0.5),
                    ((7,), OFFGRID)),
    "mod_floordiv": C(lambda xp, x: x % 0.3 * x + x // 0.3 * x ** 2 + xp.remainder(x, 0.6)
                      - xp.floor_divide(x, 0.6) * xp.floor(x) + xp.ceil(x) * xp.rint(x),
                      ((5,), OFFGRID)),
    "relu_mask": C(lambda xp, x: xp.sum(xp.maximum(x, 0.0) * (x > 0.3)), ((3, 3), OFFGRID)),
    # contractions
    "matmul_bias": C(lambda xp, x, w, b: xp.tanh(x @ w + b),
                     (((4, 3), ANY), ((3, 2), ANY), ((2,), ANY))),
    "matmul_batch": C(lambda xp, a, b: xp.matmul(a, b) + a @ b[0],
                      (((2, 1, 3, 4), ANY), ((3, 4, 2), ANY))),
    "matvec_vecmat": C(lambda xp, m, v: (m @ v) * (v @ m.T) + xp.dot(v, v),
                       (((3, 3), ANY), ((3,), ANY))),
    "dot_inner_outer": C(lambda xp, a, b: xp.dot(a, b).sum() + xp.inner(a, a) * 2
                         + xp.outer(a[0], b[:, 1])[:2, :2], (((2, 3), ANY), ((3, 2), ANY))),
    "tensordot": C(lambda xp, a, b: xp.tensordot(a, b, axes=([1, 2], [0, 1]))
                   + xp.tensordot(a[0], b[0], axes=1).sum(),
                   (((2, 3, 2), ANY), ((3, 2, 4), ANY))),
    "einsum_multi": C(lambda xp, a, b, c: xp.einsum("ij,jk,k->i", a, b, c)
                      + xp.einsum("ii->", a[:, :2]) + xp.einsum("ij->", a),
                      (((2, 3), ANY), ((3, 4), ANY), ((4,), ANY))),
    "einsum_ellipsis": C(lambda xp, a, b: xp.einsum("...ij,...jk->...ik", a, b)
                         + xp.einsum("bij,bij->b", a, a)[:, None, None],
                         (((2, 2, 3), ANY), ((2, 3, 2), ANY))),
    # indexing
    "basic_indexing": C(lambda xp, x: x[1] * x[:, ::-1][0] + x[None, ..., 1][0, :1]
                        + x[-1, 1:] .sum() + x[..., 0:3:2].sum(axis=1)[0], ((3, 3), ANY)),
    "int_array_indexing": C(lambda xp, x: x[IDX] ** 2 + x[IDX, ::-1][:, 0:1]
                            + x[np.array([[0, 1], [2, 2]])].sum(axis=(1, 2))[0],
                            ((3, 3), ANY)),
    "mixed_advanced_indexing": C(lambda xp, x: x[[0, 1, 1], 1:][..., None].sum()
                                 + x[:, np.array([1, 1, 0]), 0] * x[0, 0, 1]
                                 + x[np.array([0, 1]), :, np.array([1, 0])].sum(),
                                 ((2, 3, 2), ANY)),
    "bool_mask_indexing": C(lambda xp, x: xp.sum(x[MASK] ** 3) + x[:, MASK].sum()
                            + x[MASK, 1:][:, MASK[1:]], ((3, 3), ANY)),
    "data_dependent_mask": C(lambda xp, x: x[x > 0.3].sum() * x[0],
                             ((3, 3), OFFGRID), stageable=False),
    # shapes
    "reshape_transpose": C(lambda xp, x: xp.transpose(x.reshape(3, 2, 2), (1, 0, 2))
                           .reshape(-1) * xp.ravel(x.T), ((3, 4), ANY)),
    "swap_move_squeeze": C(lambda xp, x: xp.squeeze(xp.swapaxes(x, 0, 2))
                           + (xp.moveaxis(x, 0, -1) @ xp.ones((1, 2)))[..., 0],
                           ((1, 2, 2), ANY)),
    "expand_broadcast": C(lambda xp, x, y: xp.broadcast_to(xp.expand_dims(x, 1), (3, 2))
                          * y[None, :] + x[:, None] - 1.5, (((3,), ANY), ((2,), ANY))),
    "concat_stack_split": C(lambda xp, x, y: sum(p.sum(axis=0) for p in xp.split(
        xp.concatenate([x, y ** 2], axis=1), [1, 3], axis=1))
        + xp.stack([x, xp.sin(x)], axis=-1).sum(axis=(1, 2))[:2],
        (((2, 2), ANY), ((2, 3), ANY))),
    "fan_out": C(lambda xp, x: (lambda a: a * a + xp.sin(a) * a - a.sum())(xp.exp(x) * x),
                 ((4,), ANY)),
}

NAMES = sorted(COMPOSITES)
MODULES = {"fnp": fnp, "np": np}


def draw_args(data, comp, dtype):
    return tuple(data.draw(drawn(draw_arg, shape, domain, dtype), label=f"arg{i}")
                 for i, (shape, domain) in enumerate(comp.args))


def tree_inner(xs, ys, xp=fnp):
    return sum(xp.sum(x * y) for x, y in zip(xs, ys))


def tight(dtype):
    return np.sqrt(np.finfo(dtype).eps)


def assert_agree(a, b, dtype, what):
    """Equal up to rounding (two AD routes for the same quantity)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} and {b.shape}"
    scale = max(1.0, float(np.max(np.abs(a), initial=0)), float(np.max(np.abs(b), initial=0)))
    np.testing.assert_allclose(a, b, rtol=tight(dtype), atol=tight(dtype) * scale, err_msg=what)


def assert_plain(x, dtype, what):
    assert type(x) is np.ndarray, f"{what}: got {type(x).__name__}, not a plain NumPy array"
    assert x.dtype == dtype, f"{what}: dtype {x.dtype}, expected {dtype}"


class Routes:
    """Everything computed for one composite at one point."""

    def __init__(self, comp, xp, args, rng):
        self.f = functools.partial(comp.fn, xp)
        self.args = args
        self.ref = comp.fn(np, *args)            # NumPy's own answer
        self.out_dtype = np.asarray(self.ref).dtype
        self.w = np.asarray(rng.standard_normal(np.shape(self.ref)), self.out_dtype)
        self.v = tuple(np.asarray(rng.standard_normal(np.shape(a)), np.asarray(a).dtype)
                       for a in args)
        f, w, v, n = self.f, self.w, self.v, len(args)
        self.loss = lambda *a: xp.sum(f(*a) * w)
        argnums = tuple(range(n))
        self.grad = fxad.grad(self.loss, argnums=argnums)

        self.value = f(*args)
        self.jvp_out, self.jvp_t = fxad.jvp(f, args, v)
        self.vjp_out, vjp_fn = fxad.vjp(f, *args)
        self.vjp_ct = vjp_fn(w)
        self.vg_value, self.vg_grad = fxad.value_and_grad(self.loss, argnums=argnums)(*args)
        self.g = self.grad(*args)
        self.hvp = {
            "jvp∘grad": fxad.jvp(self.grad, args, v)[1],
            "grad∘grad": fxad.grad(lambda *a: tree_inner(self.grad(*a), v, xp),
                                   argnums=argnums)(*args),
            "grad∘jvp": fxad.grad(lambda *a: fxad.jvp(self.loss, a, v)[1],
                                  argnums=argnums)(*args),
            "vjp∘jvp": fxad.vjp(lambda *a: fxad.jvp(f, a, v)[1], *args)[1](w),
        }


@pytest.mark.parametrize("xp_name", sorted(MODULES))
@pytest.mark.parametrize("name", NAMES)
@examples(0.2)
@given(data=st.data())
def test_routes_agree(name, xp_name, data):
    comp = COMPOSITES[name]
    args = draw_args(data, comp, F64)
    r = Routes(comp, MODULES[xp_name], args, np.random.default_rng(0))
    dtype = r.out_dtype
    # value: NumPy's answer, as plain arrays, on every route
    np.testing.assert_allclose(r.value, r.ref, rtol=1e3 * np.finfo(dtype).eps,
                               atol=1e3 * np.finfo(dtype).eps * max(1.0, np.max(np.abs(r.ref))))
    for what, out in [("jvp primal", r.jvp_out), ("vjp primal", r.vjp_out)]:
        assert_plain(out, dtype, what)
        assert_agree(out, r.value, dtype, what)
    assert_agree(r.vg_value, np.sum(np.asarray(r.value) * r.w), dtype, "value_and_grad value")
    # first order: vjp with the weights == grad of the weighted sum == value_and_grad's
    for i, a in enumerate(args):
        for what, g in [("grad", r.g[i]), ("vjp", r.vjp_ct[i]), ("value_and_grad", r.vg_grad[i])]:
            assert_plain(g, a.dtype, f"{what} of argument {i}")
        assert_agree(r.vjp_ct[i], r.g[i], dtype, f"vjp vs grad, argument {i}")
        assert_agree(r.vg_grad[i], r.g[i], dtype, f"value_and_grad vs grad, argument {i}")
    # jvp vs grad: <w, J v> == <grad, v>
    assert_plain(r.jvp_t, dtype, "jvp tangent")
    lhs, rhs = float(np.vdot(r.w, r.jvp_t)), float(tree_inner(r.g, r.v, np))
    scale = float(np.vdot(np.abs(r.w), np.abs(r.jvp_t))) + float(
        tree_inner([np.abs(g) for g in r.g], [np.abs(t) for t in r.v], np)) + 1.0
    assert abs(lhs - rhs) <= tight(dtype) * scale, (lhs, rhs)
    # jvp, vjp and their second-order maps against finite differences
    check_grads(r.f, args, order=2)
    # grad∘grad against finite differences of grad
    check_grads(r.grad, args, order=1)
    # Hessian-vector products: four AD routes agree with each other and with FD of grad
    fd, v_eff, noise = numerical_jvp(r.grad, args, r.v, eps=1e-6)
    hvp_at_v_eff = fxad.jvp(r.grad, args, v_eff)[1]
    for i in range(len(args)):
        tol = 1e-5 * (1 + np.abs(fd[i])) + noise[i]
        assert np.all(np.abs(hvp_at_v_eff[i] - fd[i]) <= tol), (
            f"jvp∘grad vs finite differences of grad, argument {i}:\n{hvp_at_v_eff[i]}\n{fd[i]}")
        for route, hv in r.hvp.items():
            assert_plain(hv[i], args[i].dtype, f"{route} argument {i}")
            assert_agree(hv[i], r.hvp["jvp∘grad"][i], dtype, f"{route} vs jvp∘grad, arg {i}")


@pytest.mark.parametrize("name", NAMES)
@examples(0.2)
@given(data=st.data())
def test_float32_stays_float32(name, data):
    """float32 inputs: every route returns NumPy's dtype (float32 unless the function
    itself promotes, as NumPy would) and agrees with the float64 computation at the same
    point to float32 accuracy."""
    comp = COMPOSITES[name]
    args32 = draw_args(data, comp, F32)
    args64 = tuple(np.asarray(a, F64) for a in args32)
    dtype = np.asarray(comp.fn(np, *args32)).dtype
    rng = np.random.default_rng(0)
    w = rng.standard_normal(np.shape(comp.fn(np, *args32)))
    v = tuple(rng.standard_normal(np.shape(a)) for a in args32)
    r32, r64 = _routes_with(comp, args32, w, v), _routes_with(comp, args64, w, v)
    for what in r32:
        for x32, x64 in zip(_leaves(r32[what]), _leaves(r64[what])):
            expected = dtype if what in ("value", "jvp") else F32
            assert x32.dtype == expected, f"{what}: dtype {x32.dtype}, expected {expected}"
            scale = max(1.0, float(np.max(np.abs(x64), initial=0)))
            np.testing.assert_allclose(x32, x64, rtol=2e-3, atol=2e-3 * scale, err_msg=what)


def _leaves(x):
    return [np.asarray(l) for l in fxad.tree_util.tree_leaves(x)]


def _routes_with(comp, args, w, v):
    f = functools.partial(comp.fn, fnp)
    w = w.astype(np.asarray(comp.fn(np, *args)).dtype)
    v = tuple(t.astype(np.asarray(a).dtype) for t, a in zip(v, args))
    argnums = tuple(range(len(args)))
    loss = lambda *a: fnp.sum(f(*a) * w)
    grad = fxad.grad(loss, argnums=argnums)
    return {
        "value": f(*args),
        "jvp": fxad.jvp(f, args, v)[1],
        "vjp": fxad.vjp(f, *args)[1](w),
        "grad": grad(*args),
        "jvp∘grad": fxad.jvp(grad, args, v)[1],
        "grad∘grad": fxad.grad(lambda *a: tree_inner(grad(*a), v), argnums=argnums)(*args),
    }


@pytest.mark.parametrize("name", [n for n in NAMES if COMPOSITES[n].stageable])
def test_composite_jaxprs_typecheck(name):
    """make_jaxpr of each composite (and of its gradient) typechecks and evaluates to the
    function's value; dead code is gone."""
    comp = COMPOSITES[name]
    rng = np.random.default_rng(0)
    args = tuple(np.asarray(_deterministic_point(rng, shape, domain))
                 for shape, domain in comp.args)
    f = functools.partial(comp.fn, fnp)
    for fun in (f, fxad.grad(lambda *a: fnp.sum(f(*a)), argnums=tuple(range(len(args))))):
        jaxpr = fxad.make_jaxpr(fun)(*args)
        fxad.jaxpr.typecheck(jaxpr)
        expected = fxad.tree_util.tree_leaves(fun(*args))
        got = fxad.eval_jaxpr(jaxpr, *args)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
        assert len(fxad.jaxpr.dce(jaxpr).eqns) == len(jaxpr.eqns)


def _deterministic_point(rng, shape, domain):
    if domain in (ANY, OFFGRID):
        x = rng.uniform(-2, 2, shape)
        return np.round(x / 0.3) * 0.3 + 0.15 if domain == OFFGRID else x
    if domain == POS:
        return rng.uniform(0.5, 2.5, shape)
    if domain == UNIT:
        return rng.uniform(-0.9, 0.9, shape)
    if domain == AWAY:
        return rng.choice([-1, 1], shape) * rng.uniform(0.3, 2, shape)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.25 - n / 8).reshape(shape)


@pytest.mark.parametrize("xp_name", sorted(MODULES))
def test_logaddexp_second_derivative_at_ties(xp_name):
    logaddexp = MODULES[xp_name].logaddexp
    check_grads(logaddexp, (0.3, 0.3), order=2)
