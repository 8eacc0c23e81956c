"""`fxad.numpy.linalg` and `fxad.scipy.special`, and the primitives under them.

`NEW_PRIMITIVE_SPECS` / `NEW_VMAP_SPECS` give each new primitive its input domain in the
forms of `tests/test_primitives.py` (`Spec(**kwargs)`: gen(draw) -> (args, params)) and
`tests/test_vmap.py` (`VSpec(**kwargs)`: gen(draw, B) -> (batched args, params)), so the
table-driven tests can pick them up; `test_spec_*` below run the same kinds of checks
on them here. Then: values against NumPy and SciPy (and mpmath for accuracy), gradients
by `check_grads` (forward and reverse, to second order) on well-conditioned inputs, the
documented edge cases (norm at 0, logsumexp at 1e4, xlogy at 0), vmap and jit.
"""
import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import given, strategies as st

if not os.environ.get("FXAD_CACHE_DIR"):            # jit may compile: keep ~/.cache clean
    _CACHE = tempfile.mkdtemp(prefix="fxad-test-cache-")
    os.environ["FXAD_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)

import fxad                                          # noqa: E402
import fxad.numpy as fnp                             # noqa: E402
import fxad.numpy.linalg as fla                      # noqa: E402
import fxad.scipy.special as fsp                     # noqa: E402
from fxad import jaxpr as jx                         # noqa: E402
from fxad.core import UndefinedPrimal, get_aval, registry   # noqa: E402
from fxad.test_util import check_grads               # noqa: E402

from _strategies import F32, examples, float_dtype, grid, in_range, shapes  # noqa: E402

# --------------------------------------------------------------------------- generators
# Each `_gen(draw, lead)` draws one case; `lead` is an extra leading batch shape (vmap's B).


def _batch(draw, lead):
    return tuple(lead) + tuple(draw(shapes(0, 2, 1, 2)))


def _orthogonal(draw, batch, n):
    """Orthogonal matrices (..., n, n): Q of the QR of drawn entries (always orthogonal)."""
    return np.linalg.qr(np.asarray(in_range(draw, batch + (n, n), -1, 1)))[0]


def _with_spectrum(draw, batch, m, n, s):
    """U diag(s) V^T with random orthogonal U (m, k), V (n, k), s (..., k)."""
    k = min(m, n)
    u = _orthogonal(draw, batch, m)[..., :k]
    v = _orthogonal(draw, batch, n)[..., :k]
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _distinct(draw, shape, lo, spacing):
    """Vectors (along the last axis) of values >= lo, at least `spacing` apart."""
    gaps = np.asarray(in_range(draw, shape, spacing, 2 * spacing))
    return lo - spacing + np.cumsum(gaps, axis=-1)


def _well_conditioned(draw, batch, m, n):
    """Full-rank matrices with singular values >= 0.5, at least 0.25 apart."""
    return _with_spectrum(draw, batch, m, n, _distinct(draw, batch + (min(m, n),), 0.5, 0.25))


def _antisymmetric(draw, batch, n):
    g = np.asarray(in_range(draw, batch + (n, n), -0.5, 0.5))
    return g - np.swapaxes(g, -1, -2)


def _cast(dtype, *xs):
    return tuple(np.asarray(x, dtype) for x in xs)


def solve_gen(draw, lead=()):
    dtype, batch = float_dtype(draw), _batch(draw, lead)
    n, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    a = _well_conditioned(draw, batch, n, n)
    return _cast(dtype, a, in_range(draw, batch + (n, k), -2, 2)), {}


def slogdet_gen(draw, lead=()):
    dtype, batch = float_dtype(draw), _batch(draw, lead)
    n = draw(st.integers(1, 3))
    return _cast(dtype, _well_conditioned(draw, batch, n, n)), {}


def _symmetric_gen(positive):
    def gen(draw, lead=()):
        dtype, batch = float_dtype(draw), _batch(draw, lead)
        n = draw(st.integers(1, 3))
        w = (np.asarray(grid(draw, batch + (n,), 0.25, 2.25, k=8)) if positive
             else _distinct(draw, batch + (n,), -2.0, 0.5))
        q = _orthogonal(draw, batch, n)
        a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
        return _cast(dtype, a + _antisymmetric(draw, batch, n)), {}   # (read: sym part)
    return gen


def svd_gen(draw, lead=()):
    dtype, batch = float_dtype(draw), _batch(draw, lead)
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    compute_uv = draw(st.booleans())
    full = m == n and compute_uv and draw(st.booleans())
    return _cast(dtype, _well_conditioned(draw, batch, m, n)), {
        "full_matrices": full, "compute_uv": compute_uv}


def qr_gen(draw, lead=()):
    dtype, batch = float_dtype(draw), _batch(draw, lead)
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    full = m <= n and draw(st.booleans())
    a = _well_conditioned(draw, batch, m, min(m, n))     # (wide: the leading m x m block
    if n > m:                                            #  must be invertible)
        a = np.concatenate([a, in_range(draw, batch + (m, n - m), -2, 2)], -1)
    return _cast(dtype, a), {"full_matrices": full}


def pinv_gen(draw, lead=()):
    dtype, batch = float_dtype(draw), _batch(draw, lead)
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return _cast(dtype, _well_conditioned(draw, batch, m, n)), {
        "rcond": 1e-15, "hermitian": False}


def _elementwise_shape(draw, lead):
    return tuple(lead) + tuple(draw(shapes(0, 2)))


def erf_gen(draw, lead=()):
    dtype = float_dtype(draw)
    return (in_range(draw, _elementwise_shape(draw, lead), -3, 3, dtype),), {}


def _gamma_domain(draw, shape, dtype):
    """Positive values, or negative ones at least 0.15 from the poles."""
    if draw(st.booleans()):
        return in_range(draw, shape, 0.2, 8, dtype)
    k = np.asarray(grid(draw, shape, 1.0, -1.5, k=1))
    frac = np.asarray(in_range(draw, shape, -0.35, 0.35))
    return np.asarray(k + frac, dtype)[()]


def gamma_family_gen(draw, lead=()):
    dtype = float_dtype(draw)
    return (_gamma_domain(draw, _elementwise_shape(draw, lead), dtype),), {}


def polygamma_gen(draw, lead=()):
    args, _ = gamma_family_gen(draw, lead)
    return args, {"n": draw(st.integers(1, 3))}


def _xlog_gen(y_lo):
    def gen(draw, lead=()):
        dtype = float_dtype(draw)
        shape = tuple(draw(shapes(0, 2)))
        sx, sy = draw(st.sampled_from([(shape, shape), (shape, ()), ((), shape)]))
        if lead:                               # (vmap: every operand has the batch axis)
            sx, sy = tuple(lead) + sx, tuple(lead) + sy
        x = np.asarray(grid(draw, sx, 0.5, k=4), dtype)[()]      # zeros included
        return (x, in_range(draw, sy, y_lo, 3.0, dtype)), {}
    return gen


NEW_PRIMITIVE_SPECS = {           # name -> keyword arguments of test_primitives.Spec
    "solve": dict(gen=solve_gen, linear=((1,),)),
    "slogdet": dict(gen=slogdet_gen),
    "cholesky": dict(gen=_symmetric_gen(positive=True)),
    "eigh": dict(gen=_symmetric_gen(positive=False)),
    "svd": dict(gen=svd_gen),
    "qr": dict(gen=qr_gen),
    "pinv": dict(gen=pinv_gen),
    "erf": dict(gen=erf_gen),
    "erfc": dict(gen=erf_gen),
    "lgamma": dict(gen=gamma_family_gen),
    "digamma": dict(gen=gamma_family_gen),
    "polygamma": dict(gen=polygamma_gen),
    "xlogy": dict(gen=_xlog_gen(0.2)),
    "xlog1py": dict(gen=_xlog_gen(-0.8)),
}
NEW_VMAP_SPECS = {                # name -> keyword arguments of test_vmap.VSpec
    name: dict(gen=lambda draw, B, _gen=spec["gen"]: _gen(draw, (B,)))
    for name, spec in NEW_PRIMITIVE_SPECS.items()}
NAMES = sorted(NEW_PRIMITIVE_SPECS)


def draw_case(data, name, lead=()):
    args, params = data.draw(st.composite(
        lambda draw: NEW_PRIMITIVE_SPECS[name]["gen"](draw, lead))(), label=name)
    return registry[name], args, params


def bound(prim, params):
    return lambda *xs: prim.bind(*xs, **params)


# --------------------------------------------------------------------------- the specs


def test_specs_cover_the_new_primitives():
    from fxad.primitives import linalg, special
    mine = {n for n, p in registry.items()
            if getattr(p.impl, "__module__", None) in (linalg.__name__, special.__name__)
            or p.name in NEW_PRIMITIVE_SPECS}
    assert mine == set(NEW_PRIMITIVE_SPECS)
    for name in NAMES:
        prim = registry[name]
        assert None not in (prim.impl, prim.abstract_eval, prim.jvp, prim.batch)
        assert (prim.transpose is not None) == bool(NEW_PRIMITIVE_SPECS[name].get("linear"))
        assert prim.numba is None                      # NumPy impls under jit


@pytest.mark.parametrize("name", NAMES)
@examples(0.3)
@given(data=st.data())
def test_spec_abstract_eval_staging_and_derivatives(name, data):
    prim, args, params = draw_case(data, name)
    out = prim.impl(*args, **params)
    outs = out if prim.multiple_results else [out]
    avals = prim.abstract_eval(*[get_aval(a) for a in args], **params)
    for o, a in zip(outs, avals if prim.multiple_results else [avals]):
        assert isinstance(o, (np.ndarray, np.generic))
        assert (np.shape(o), np.asarray(o).dtype) == (a.shape, a.dtype)
    jaxpr = fxad.make_jaxpr(bound(prim, params))(*args)
    jx.typecheck(jaxpr)
    for o, r in zip(outs, fxad.eval_jaxpr(jaxpr, *args)):
        np.testing.assert_array_equal(o, r)
    f32 = any(get_aval(a).dtype == F32 for a in args)
    check_grads(bound(prim, params), args, order=1 if f32 else 2)


def test_spec_solve_transpose():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    t, ct = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 2))
    prim = registry["solve"]
    (none, ct_b) = prim.transpose(ct, a, UndefinedPrimal(get_aval(t)))
    assert none is None
    np.testing.assert_allclose(np.vdot(ct, prim.bind(a, t)), np.vdot(ct_b, t), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@examples(0.2)
@given(data=st.data())
def test_spec_vmap_matches_loop(name, data):
    B = data.draw(st.integers(1, 3), label="B")
    prim, args, params = draw_case(data, name, lead=(B,))
    for axes in [(0,) * len(args), (0,) + (None,) * (len(args) - 1)]:
        ex_args = [a if ax == 0 else np.asarray(a)[0] for a, ax in zip(args, axes)]
        got = fxad.vmap(bound(prim, params), in_axes=axes)(*ex_args)
        per = [prim.bind(*[np.asarray(a)[b] if ax == 0 else a for a, ax in zip(ex_args, axes)],
                         **params) for b in range(B)]
        if not prim.multiple_results:
            got, per = [got], [[p] for p in per]
        for j, g in enumerate(got):
            want = np.stack([np.asarray(p[j]) for p in per])
            assert g.shape == want.shape and g.dtype == want.dtype
            tol = 1e-5 if want.dtype == F32 else 1e-12
            np.testing.assert_allclose(g, want, rtol=tol, atol=tol)
    jaxpr = fxad.make_jaxpr(fxad.vmap(bound(prim, params)))(*args)
    assert [e.prim.name for e in jaxpr.eqns].count(name) == 1     # one batched equation


# --------------------------------------------------------------------------- linalg values

RNG = np.random.default_rng(42)
A = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)         # well-conditioned stack
SPD = A @ np.swapaxes(A, -1, -2) + np.eye(3)
RECT = RNG.standard_normal((2, 4, 3))


@pytest.mark.parametrize("fname, args", [
    ("inv", (A,)), ("det", (A,)), ("solve", (A, RNG.standard_normal(3))),
    ("solve", (A, RNG.standard_normal((4, 1, 3, 2)))), ("cholesky", (SPD,)),
    ("eigvalsh", (SPD,)), ("svdvals", (RECT,)), ("pinv", (RECT,)), ("cond", (A,)),
    ("matrix_rank", (RECT,)), ("norm", (RECT,)), ("matrix_norm", (RECT,)),
    ("vector_norm", (RECT,)), ("det", (np.array([[1, 2], [3, 4]]),)),
    ("inv", (A.astype(np.float32),)), ("trace", (RECT,)), ("matrix_transpose", (RECT,)),
])
def test_linalg_values_match_numpy(fname, args):
    got, want = getattr(fla, fname)(*args), getattr(np.linalg, fname)(*args)
    assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-5 if np.asarray(want).dtype == F32 else 1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("ord_", [None, 1, 2, np.inf, -np.inf, 0, 3, 0.5, -1.5])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_vector_norms_match_numpy(ord_, axis):
    x = RECT[0] if axis is not None else RECT[0, 0]
    np.testing.assert_allclose(fla.norm(x, ord_, axis, keepdims=True),
                               np.linalg.norm(x, ord_, axis, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("ord_", [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
def test_matrix_norms_match_numpy(ord_):
    for axis, keep in [((0, 2), False), ((2, 1), True)]:
        np.testing.assert_allclose(fla.norm(RECT, ord_, axis, keep),
                                   np.linalg.norm(RECT, ord_, axis, keep), rtol=1e-12)


def test_factorizations_reconstruct_and_match_numpy_up_to_sign():
    w, v = fla.eigh(SPD)
    np.testing.assert_allclose(w, np.linalg.eigh(SPD)[0], rtol=1e-12)
    np.testing.assert_allclose(v @ (w[..., None] * np.swapaxes(v, -1, -2)), SPD, atol=1e-12)
    np.testing.assert_allclose(np.abs(v), np.abs(np.linalg.eigh(SPD)[1]), atol=1e-12)
    for full in (True, False):
        u, s, vh = fla.svd(RECT, full_matrices=full)
        nu, ns, nvh = np.linalg.svd(RECT, full_matrices=full)
        assert (u.shape, vh.shape) == (nu.shape, nvh.shape)
        np.testing.assert_allclose(s, ns, rtol=1e-12)
        np.testing.assert_allclose((u[..., :3] * s[..., None, :]) @ vh[..., :3, :], RECT,
                                   atol=1e-12)
    for mode in ("reduced", "complete"):
        q, r = fla.qr(RECT, mode)
        nq, nr = np.linalg.qr(RECT, mode)
        assert (q.shape, r.shape) == (nq.shape, nr.shape)
        np.testing.assert_allclose(q @ r, RECT, atol=1e-12)
    assert fla.qr(RECT, "r").shape == np.linalg.qr(RECT, "r").shape
    assert type(fla.eigh(SPD)).__name__ == "EighResult" and fla.svd(RECT).S.shape == (2, 3)
    sign, logdet = fla.slogdet(A)
    np.testing.assert_allclose(logdet, np.linalg.slogdet(A).logabsdet, rtol=1e-12)


def test_symmetrize_input_and_uplo():
    a = SPD[0] + np.triu(np.ones((3, 3)), 1)          # not symmetric
    np.testing.assert_allclose(fla.eigvalsh(a, symmetrize_input=False),
                               np.linalg.eigvalsh(a), rtol=1e-12)
    np.testing.assert_allclose(fla.eigvalsh(a, "U", symmetrize_input=False),
                               np.linalg.eigvalsh(a, "U"), rtol=1e-12)
    np.testing.assert_allclose(fla.cholesky(a, symmetrize_input=False),
                               np.linalg.cholesky(a), rtol=1e-12)
    np.testing.assert_allclose(fla.eigvalsh(a), np.linalg.eigvalsh((a + a.T) / 2), rtol=1e-12)


def test_matrix_power_and_multi_dot_match_numpy():
    m = A[0] / 3
    for n in (0, 1, 2, 5, -1, -3):
        np.testing.assert_allclose(fla.matrix_power(m, n), np.linalg.matrix_power(m, n),
                                   rtol=1e-10)
    v = RNG.standard_normal(3)
    for arrays in ([v, RECT[0].T, RECT[1], v], [RECT[0], A[0], RECT[1].T],
                   [RECT[0].T, RECT[1], A[1], v]):
        np.testing.assert_allclose(fla.multi_dot(arrays), np.linalg.multi_dot(arrays),
                                   rtol=1e-12)


def test_linalg_errors():
    with pytest.raises(fla.LinAlgError, match="square"):
        fla.inv(RECT)
    with pytest.raises(fla.LinAlgError, match="two-dimensional"):
        fla.det(np.ones(3))
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        fxad.grad(lambda a: fnp.sum(fla.svd(a).U))(RECT[0])
    with pytest.raises(NotImplementedError, match="reduced"):
        fxad.grad(lambda a: fnp.sum(fla.qr(a, "complete").Q))(RECT[0])
    with pytest.raises(ValueError, match="Invalid norm order"):
        fla.norm(np.ones(3), "fro")


# --------------------------------------------------------------------------- linalg gradients


def _well(n, m=None, seed=0):
    rng = np.random.default_rng(seed)
    m = n if m is None else m
    u = np.linalg.qr(rng.standard_normal((n, n)))[0][:, :min(n, m)]
    v = np.linalg.qr(rng.standard_normal((m, m)))[0][:, :min(n, m)]
    return (u * np.linspace(2.0, 0.7, min(n, m))) @ v.T


SQ, TALL, WIDE = _well(3), _well(4, 3, 1), _well(2, 4, 2)
SYM = _well(3, seed=3) @ _well(3, seed=3).T + np.eye(3)


@pytest.mark.parametrize("name, f, args", [
    ("inv", fla.inv, (SQ,)),
    ("det", fla.det, (SQ,)),
    ("slogdet", lambda a: fla.slogdet(a).logabsdet, (np.stack([SQ, -SQ.T]),)),
    ("solve_vector", fla.solve, (SQ, np.array([1.0, -2.0, 0.5]))),
    ("solve_broadcast", fla.solve, (SQ, np.arange(12.0).reshape(2, 3, 2) / 5)),
    ("cholesky", fla.cholesky, (SYM,)),
    ("cholesky_upper", lambda a: fla.cholesky(a, upper=True), (SYM,)),
    ("eigh", lambda a: tuple(fla.eigh(a)), (SYM,)),
    ("eigh_L", lambda a: tuple(fla.eigh(a, symmetrize_input=False)), (SYM,)),
    ("eigvalsh", fla.eigvalsh, (SYM + np.triu(np.ones((3, 3))),)),
    ("svd_tall", lambda a: tuple(fla.svd(a, full_matrices=False)), (TALL,)),
    ("svd_wide", lambda a: tuple(fla.svd(a, full_matrices=False)), (WIDE,)),
    ("svd_square_full", lambda a: tuple(fla.svd(a)), (SQ,)),
    ("svdvals", fla.svdvals, (TALL,)),
    ("qr_tall", lambda a: tuple(fla.qr(a)), (TALL,)),
    ("qr_wide", lambda a: tuple(fla.qr(a)), (WIDE,)),
    ("qr_wide_complete", lambda a: tuple(fla.qr(a, "complete")), (WIDE,)),
    ("pinv_tall", fla.pinv, (TALL,)),
    ("pinv_wide", fla.pinv, (WIDE,)),
    ("matrix_power", lambda a: fla.matrix_power(a, 3), (SQ,)),
    ("matrix_power_neg", lambda a: fla.matrix_power(a, -2), (SQ,)),
    ("multi_dot", lambda a, b: fla.multi_dot([a, b, a.T]), (TALL, SQ)),
    ("cond", fla.cond, (SQ,)),
    ("norm_fro", fla.norm, (TALL,)),
    ("norm_nuc", lambda a: fla.norm(a, "nuc"), (TALL,)),
    ("norm_2", lambda a: fla.norm(a, 2), (TALL,)),
    ("norm_inf", lambda a: fla.norm(a, np.inf), (TALL,)),
    ("norm_p3_axis", lambda a: fla.norm(a, 3, axis=0), (TALL,)),
    ("vector_norm", lambda a: fla.vector_norm(a, ord=4, axis=(0, 1)), (TALL,)),
])
def test_linalg_gradients(name, f, args):
    check_grads(f, args, order=2)


def test_logdet_hessian_matches_the_closed_form():
    """d^2 log|det A| [dA, dB] = -tr(A^-1 dA A^-1 dB)."""
    ainv = np.linalg.inv(SQ)
    h = fxad.hessian(lambda a: fla.slogdet(a)[1])(SQ)
    np.testing.assert_allclose(h, -np.einsum("li,jk->ijkl", ainv, ainv), atol=1e-10)


def test_norm_gradient_at_zero_is_finite():
    for f in [fla.norm, lambda x: fla.norm(x, 3), lambda x: fla.vector_norm(x, ord=1.5),
              lambda x: fla.norm(fnp.reshape(x, (2, 2)), "fro")]:
        g = fxad.grad(f)(np.zeros(4))
        np.testing.assert_array_equal(g, np.zeros(4))
        assert np.all(np.isfinite(fxad.hessian(f)(np.zeros(4))))
    g = fxad.grad(lambda x: fnp.sum(fla.norm(x, axis=1)))(np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6, 0.8]])


# --------------------------------------------------------------------------- special values


X = np.concatenate([np.linspace(-6, 6, 97), [0.0, -0.0, 1.0, 2.0, 1e-8, 1e3, 30.0]])
X_POS = np.concatenate([np.linspace(0.01, 40, 200), 1 + 10.0 ** -np.arange(1, 15),
                        2 - 10.0 ** -np.arange(1, 15), [1.4616321449683622, 1e5]])
X_NEG = -(np.arange(10)[:, None] + np.array([0.1, 0.3, 0.5, 0.77, 0.93])).ravel()


def _scipy():
    return pytest.importorskip("scipy.special")


@pytest.mark.parametrize("name, xs, rtol", [          # (scipy's gammaln is only absolutely
    ("erf", X, 1e-14), ("erfc", X, 1e-13), ("ndtr", X, 1e-13), ("gammaln", X_POS, 1e-13),
    ("digamma", X_POS, 1e-13), ("gamma", X_POS[:100], 1e-13), ("expit", X * 100, 1e-14),
    ("log_expit", X * 100, 1e-14), ("entr", np.abs(X), 1e-14), ("logit", X_POS[:50] / 41, 1e-13),
])
def test_special_values_match_scipy(name, xs, rtol):  # accurate next to its zeros 1, 2)
    want = getattr(_scipy(), name)(xs)
    got = getattr(fsp, name)(xs)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-15 if name == "gammaln" else 0)


def test_special_values_negative_and_polygamma():
    sp = _scipy()
    for name in ("gammaln", "digamma"):   # near their negative zeros: absolute accuracy
        np.testing.assert_allclose(getattr(fsp, name)(X_NEG), getattr(sp, name)(X_NEG),
                                   rtol=1e-12, atol=1e-12)
    for n in (0, 1, 2, 3, 6):
        np.testing.assert_allclose(fsp.polygamma(n, X_POS), sp.polygamma(n, X_POS), rtol=1e-13)
        want = sp.polygamma(n, X_NEG)      # (x < 0, even n: zeros, absolute accuracy)
        np.testing.assert_allclose(fsp.polygamma(n, X_NEG), want, rtol=1e-12,
                                   atol=1e-15 * np.max(np.abs(want)))
    n = np.array([[0], [1], [3]])
    np.testing.assert_allclose(fsp.polygamma(n, X_POS), sp.polygamma(n, X_POS), rtol=1e-13)


def test_special_values_at_poles_and_infinities():
    sp = _scipy()
    edge = np.array([0.0, -0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1e-5, 27.0])
    for name in ("erf", "erfc", "digamma"):
        np.testing.assert_allclose(getattr(fsp, name)(edge), getattr(sp, name)(edge),
                                   rtol=1e-15, atol=1e-300)    # (erfc(27) is subnormal)
    np.testing.assert_array_equal(fsp.gammaln(edge[:-2]), sp.gammaln(edge[:-2]))
    for n in (1, 2, 3):
        np.testing.assert_allclose(fsp.polygamma(n, edge[:-1]), sp.polygamma(n, edge[:-1]),
                                   rtol=1e-14)
    x, y = np.array([0.0, 0, 0, 0, 1, 2, 0]), np.array([0.0, np.inf, -1, np.nan, 0, np.inf, 3])
    np.testing.assert_array_equal(fsp.xlogy(x, y), sp.xlogy(x, y))
    np.testing.assert_array_equal(fsp.xlog1py(x, y - 1), sp.xlog1py(x, y - 1))


def test_special_accuracy_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    for f, ref, xs in [(fsp.erf, mp.erf, X[1:-1]), (fsp.erfc, mp.erfc, X[:-1]),
                       (fsp.gammaln, mp.loggamma, X_POS), (fsp.digamma, mp.digamma, X_POS),
                       (lambda x: fsp.polygamma(2, x), lambda x: mp.polygamma(2, x), X_POS)]:
        want = np.array([float(ref(mp.mpf(float(x)))) for x in xs])
        err = np.abs(f(xs) - want) / np.maximum(np.abs(want), 1e-300)
        assert err.max() < 2e-15, (f, xs[np.argmax(err)], err.max())


def test_special_float32_stays_float32():
    x = np.linspace(0.5, 3, 5, dtype=np.float32)
    for f in (fsp.erf, fsp.erfc, fsp.gammaln, fsp.digamma, fsp.expit, fsp.logsumexp,
              lambda x: fsp.polygamma(2, x), lambda x: fsp.xlogy(x, x)):
        assert f(x).dtype == np.float32
        assert fxad.grad(lambda v: fnp.sum(f(v)))(x).dtype == np.float32


def test_reductions_match_scipy():
    sp = _scipy()
    a = RNG.standard_normal((2, 3, 4)) * 3
    b = RNG.standard_normal(4)
    np.testing.assert_allclose(fsp.logsumexp(a), sp.logsumexp(a), rtol=1e-14)
    np.testing.assert_allclose(fsp.logsumexp(a, axis=(0, 2), keepdims=True),
                               sp.logsumexp(a, axis=(0, 2), keepdims=True), rtol=1e-14)
    for got, want in zip(fsp.logsumexp(a, axis=-1, b=b, return_sign=True),
                         sp.logsumexp(a, axis=-1, b=b, return_sign=True)):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    for axis in (None, 1, -1):
        np.testing.assert_allclose(fsp.softmax(a, axis), sp.softmax(a, axis), rtol=1e-13)
        np.testing.assert_allclose(fsp.log_softmax(a, axis), sp.log_softmax(a, axis),
                                   rtol=1e-13)
    for edge in ([-np.inf, -np.inf], [np.inf, 1.0], [np.inf, -np.inf], []):
        with np.errstate(divide="ignore"):
            assert fsp.logsumexp(np.array(edge)) == sp.logsumexp(np.array(edge))


# --------------------------------------------------------------------------- special gradients

XG = np.array([-2.3, -0.4, 0.0, 0.7, 2.5])
XP = np.array([0.3, 1.0, 1.46, 2.0, 7.5, 12.0])
XN = np.array([-0.5, -1.7, -3.3])


@pytest.mark.parametrize("name, f, args", [
    ("erf", fsp.erf, (XG,)), ("erfc", fsp.erfc, (XG,)), ("ndtr", fsp.ndtr, (XG,)),
    ("gammaln", fsp.gammaln, (XP,)), ("gammaln_neg", fsp.gammaln, (XN,)),
    ("digamma", fsp.digamma, (XP,)), ("digamma_neg", fsp.digamma, (XN,)),
    ("polygamma", lambda x: fsp.polygamma(2, x), (np.concatenate([XP, XN]),)),
    ("gamma", fsp.gamma, (np.concatenate([XP[:4], XN]),)),
    ("expit", fsp.expit, (XG * 10,)), ("log_expit", fsp.log_expit, (XG * 10,)),
    ("logit", fsp.logit, (np.array([0.1, 0.5, 0.93]),)),
    ("xlogy", fsp.xlogy, (XG, XP[:5])), ("xlog1py", fsp.xlog1py, (XG, XP[:5] - 0.2)),
    ("entr", fsp.entr, (XP,)),
    ("logsumexp", lambda a: fsp.logsumexp(a, axis=1), (RECT[0],)),
    ("logsumexp_b", lambda a, b: fsp.logsumexp(a, axis=0, b=b, keepdims=True),
     (RECT[0], np.array([0.5, 2.0, 1.0]))),
    ("softmax", lambda a: fsp.softmax(a, axis=0), (RECT[0],)),
    ("log_softmax", lambda a: fsp.log_softmax(a, axis=-1), (RECT[0],)),
])
def test_special_gradients(name, f, args):
    check_grads(f, args, order=2)


def test_special_derivatives_closed_forms():
    sp = _scipy()
    x = np.array([0.3, 1.7, 4.0])
    np.testing.assert_allclose(fxad.grad(lambda v: fnp.sum(fsp.gammaln(v)))(x), sp.digamma(x),
                               rtol=1e-13)
    np.testing.assert_allclose(fxad.grad(lambda v: fnp.sum(fsp.digamma(v)))(x),
                               sp.polygamma(1, x), rtol=1e-13)
    np.testing.assert_allclose(fxad.grad(lambda v: fnp.sum(fsp.erf(v)))(x),
                               2 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-14)
    np.testing.assert_allclose(fxad.grad(fxad.grad(fsp.gammaln))(1.7), sp.polygamma(1, 1.7),
                               rtol=1e-13)


def test_large_inputs_stay_finite():
    big = np.array([1e4, 1e4 - 1.0, -1e4])
    shifted = big - 1e4
    assert np.isfinite(fsp.logsumexp(big))
    g = fxad.grad(fsp.logsumexp)(big)
    np.testing.assert_allclose(g, np.exp(shifted) / np.sum(np.exp(shifted)), rtol=1e-14)
    for f in (lambda x: fnp.sum(fsp.log_softmax(x)), lambda x: fsp.softmax(x)[0],
              lambda x: fnp.sum(fsp.log_expit(x)), lambda x: fnp.sum(fsp.expit(x))):
        assert np.isfinite(f(big)) and np.all(np.isfinite(fxad.grad(f)(big)))
    np.testing.assert_allclose(fsp.log_softmax(big),
                               shifted - np.log(np.sum(np.exp(shifted))), rtol=1e-14)
    assert float(fxad.grad(fsp.expit)(0.0)) == 0.25


def test_xlogy_at_zero():
    assert float(fsp.xlogy(0.0, 0.0)) == 0.0 and float(fsp.xlog1py(0.0, -1.0)) == 0.0
    with np.errstate(divide="ignore"):                   # (log 0 in the x-derivative)
        gx, gy = fxad.grad(fsp.xlogy, argnums=(0, 1))(0.0, 0.0)
    assert gy == 0.0 and gx == -np.inf                   # d/dx = log y (its true value)
    gx, gy = fxad.grad(fsp.xlogy, argnums=(0, 1))(0.0, 2.0)
    assert gy == 0.0 and gx == np.log(2.0)
    assert float(fxad.grad(fsp.xlog1py, argnums=1)(0.0, -1.0)) == 0.0
    p = np.array([0.0, 0.25, 0.75])                      # entropy with a zero probability
    np.testing.assert_allclose(fxad.grad(lambda q: fnp.sum(fsp.xlogy(p, q)))(p + 0.5),
                               p / (p + 0.5))


# --------------------------------------------------------------------------- transforms


def test_vmap_of_linalg_and_special():
    np.testing.assert_allclose(fxad.vmap(fla.inv)(A), np.linalg.inv(A), rtol=1e-12)
    np.testing.assert_allclose(fxad.vmap(fla.solve, in_axes=(0, None))(A, np.ones(3)),
                               np.linalg.solve(A, np.ones(3)), rtol=1e-12)
    np.testing.assert_allclose(fxad.vmap(lambda a: fla.eigh(a)[0])(SPD),
                               np.linalg.eigvalsh(SPD), rtol=1e-12)
    np.testing.assert_allclose(fxad.vmap(fsp.logsumexp)(RECT[0]),
                               np.log(np.exp(RECT[0]).sum(1)), rtol=1e-12)
    grads = fxad.vmap(fxad.grad(lambda a: fla.slogdet(a)[1]))(A)
    np.testing.assert_allclose(grads, np.swapaxes(np.linalg.inv(A), -1, -2), rtol=1e-10)
    jac = fxad.jacrev(fsp.erf)(XG)
    np.testing.assert_allclose(jac, np.diag(2 / np.sqrt(np.pi) * np.exp(-XG ** 2)), atol=1e-15)


def test_jit_of_linalg_and_special():
    f = fxad.jit(lambda a, b: fnp.sum(fla.solve(a, b) ** 2) + fla.slogdet(a)[1])
    g = fxad.jit(fxad.grad(lambda a: fnp.sum(fla.cholesky(a)) + fnp.sum(fsp.erf(a))))
    b = np.ones((2, 3, 1))
    np.testing.assert_allclose(f(A, b), np.sum(np.linalg.solve(A, b) ** 2)
                               + np.linalg.slogdet(A)[1], rtol=1e-12)
    np.testing.assert_allclose(g(SYM), fxad.grad(lambda a: fnp.sum(fla.cholesky(a))
                                                 + fnp.sum(fsp.erf(a)))(SYM), rtol=1e-12)
    h = fxad.jit(lambda x: fsp.log_softmax(x) + fsp.gammaln(fnp.abs(x) + 1))
    np.testing.assert_allclose(h(XG), fsp.log_softmax(XG) + fsp.gammaln(np.abs(XG) + 1),
                               rtol=1e-14)
