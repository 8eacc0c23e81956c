"""Linear-algebra primitives, each with all its rules: solve (linear in its right-hand
side), slogdet, cholesky, eigh, svd, qr and pinv.

Operands are stacks of matrices: the last two axes are the matrix, leading axes are a
batch (shape-strict: both operands of `solve` share it), so every batch rule is a call
on the batched array. JVP rules are standard matrix calculus written with fxad
primitives (einsum, solve with the tangent on the right-hand side, masks, selects), so
they are linear in the tangents (reverse mode is their transpose) and differentiate
again. `fxad.numpy.linalg` is the NumPy-compatible layer on top (broadcasting, vectors,
dtypes, inv/det/norm/... built from these).

Conventions that make each impl a smooth function its JVP describes:
  * cholesky and eigh read the symmetric part (a + a^T) / 2 of their input (as JAX's
    `symmetrize_input=True`), and their JVPs use the symmetrized tangent;
  * eigh's and svd's vectors have a fixed sign: each eigenvector / left singular vector
    has a positive dot product with the fixed weights w_i = 1 / (i + pi) (LAPACK leaves
    the sign arbitrary; this makes it a smooth function of the input almost everywhere);
  * qr's R has a non-negative diagonal (the unique QR of a full-rank matrix; LAPACK's
    signs jump where a column below the diagonal is exactly zero, e.g. at the identity);
  * eigh/svd JVPs assume distinct eigen/singular values; where two are exactly equal the
    1 / (difference) factor is taken as 0 (exact for functions invariant to rotations
    within the degenerate subspace);
  * svd's JVP needs full_matrices=False (or square input); qr's needs the reduced
    factorization (or m <= n) and full rank (for m < n: an invertible leading m x m
    block); pinv's holds where the rank is locally constant.
"""
import numpy as np

from ..core import Primitive, ShapedArray, UndefinedPrimal, get_aval
from ..batching import materialize, batch_size
from . import elementwise as ew
from . import structural as st

_BATCH_LETTERS = "ABCDEFGHIJKLMNOP"


# --------------------------------------------------------------------------- helpers


def _ein(spec, x, y):
    """Binary einsum where '...' stands for the leading (batch) axes of the operands that
    have it (they share them: rules see shape-strict operands)."""
    ins, out = spec.split("->")
    a, b = ins.split(",")
    nb = max(get_aval(v).ndim - len(s.replace("...", ""))
             for v, s in ((x, a), (y, b)) if "..." in s)
    lead = _BATCH_LETTERS[:nb]
    a, b, out = (s.replace("...", lead) for s in (a, b, out))
    return st.einsum(f"{a},{b}->{out}", x, y)


def _mm(x, y):
    return _ein("...ij,...jk->...ik", x, y)


def _mT(x):
    nd = get_aval(x).ndim
    return st.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _sym(x):
    return ew.mul(ew.add(x, _mT(x)), ew.const(x, 0.5))


def _eye(n, dtype):
    return np.eye(n, dtype=dtype)


def _diag(x):
    """The diagonal of each matrix of a stack of square matrices."""
    aval = get_aval(x)
    return _ein("...ij,ij->...i", x, _eye(aval.shape[-1], aval.dtype))


def _mask(x, mask):
    """x * mask (a constant (n, m) mask, broadcast over the batch)."""
    aval = get_aval(x)
    return ew.mul(x, np.broadcast_to(np.asarray(mask, aval.dtype), aval.shape))


def _rows(v, n):
    """v (..., k) broadcast to (..., n, k): entry (i, j) is v_j."""
    shape = get_aval(v).shape
    nb = len(shape) - 1
    return st.broadcast_in_dim(v, shape[:-1] + (n, shape[-1]), tuple(range(nb)) + (nb + 1,))


def _cols(v, n):
    """v (..., k) broadcast to (..., k, n): entry (i, j) is v_i."""
    shape = get_aval(v).shape
    nb = len(shape) - 1
    return st.broadcast_in_dim(v, shape + (n,), tuple(range(nb + 1)))


def _inverse_gaps(d):
    """1 / d elementwise, with 0 where d == 0 (the diagonal, and exact ties)."""
    zero = ew.eq(d, ew.const(d, 0))
    return ew.select(zero, ew.const(d, 0), ew.div(ew.const(d, 1), ew.select(
        zero, ew.const(d, 1), d)))


def _slice_last(x, start, stop):
    return st.gather(x, st.IndexSpec((Ellipsis, slice(start, stop))))


def _float_matrix_aval(name, x, square=False):
    if x.ndim < 2:
        raise ValueError(f"{name}: needs a stack of matrices (at least 2 axes), got {x}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: needs a real floating-point array, got {x}; "
                        "fxad.numpy.linalg converts integers to float64")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name}: needs square matrices, got {x}")


def _prim(name, impl, abstract_eval, nargs=1, multiple_results=False):
    prim = Primitive(name, multiple_results=multiple_results)
    prim.impl, prim.abstract_eval, prim.nargs = impl, abstract_eval, nargs
    if nargs == 1:                            # the batch axis is one more leading axis
        def batch(vals, dims, **params):
            out = prim.bind(vals[0], **params)
            return out, ([0] * len(out) if multiple_results else 0)
        prim.batch = batch
    return prim


def _sign_convention(vecs):
    """Signs (..., 1, k) that make each column's dot product with the fixed, generic
    weights w_i = 1 / (i + pi) positive. (LAPACK leaves the sign arbitrary. "Largest entry
    positive" would flip under tiny perturbations of vectors like [1, 1] / sqrt(2), common
    in structured matrices; this rule is discontinuous only where v . w = 0.)"""
    weights = 1.0 / (np.arange(vecs.shape[-2]) + np.pi)
    sign = np.sign(np.einsum("...ij,i->...j", vecs, weights.astype(vecs.dtype)))[..., None, :]
    return np.where(sign == 0, 1, sign).astype(vecs.dtype)


# --------------------------------------------------------------------------- solve


def _solve_aval(a, b):
    _float_matrix_aval("solve", a, square=True)
    if b.ndim != a.ndim or b.shape[:-1] != a.shape[:-1] or b.dtype != a.dtype:
        raise ValueError(f"solve: the right-hand side {b} must be a stack of matrices with "
                         f"the batch shape, rows and dtype of {a}; fxad.numpy.linalg.solve "
                         "broadcasts")
    return b


def _solve_jvp(primals, tangents):
    a, b = primals
    ta, tb = tangents
    x = solve(a, b)
    if ta is None and tb is None:
        return x, None
    rhs = ew.neg(_mm(ta, x)) if tb is None else tb if ta is None else ew.sub(tb, _mm(ta, x))
    return x, solve(a, rhs)


def _solve_transpose(ct, a, b):
    if isinstance(a, UndefinedPrimal):
        raise ValueError("solve is linear only in its right-hand side")
    return [None, solve(_mT(a), ct)]


def _solve_batch(vals, dims):
    size = batch_size(vals, dims)
    return solve(*[materialize(v, d, size) for v, d in zip(vals, dims)]), 0


solve_p = _prim("solve", lambda a, b: np.linalg.solve(a, b), _solve_aval, nargs=2)
solve_p.jvp = _solve_jvp
solve_p.transpose = _solve_transpose
solve_p.batch = _solve_batch


def solve(a, b):
    """x with a @ x == b, for stacks a (..., n, n) and b (..., n, k)."""
    return solve_p.bind(a, b)


# --------------------------------------------------------------------------- slogdet


def _slogdet_impl(a):
    sign, logdet = np.linalg.slogdet(a)
    return [np.asarray(sign, a.dtype)[()], np.asarray(logdet, a.dtype)[()]]


def _slogdet_aval(a):
    _float_matrix_aval("slogdet", a, square=True)
    out = ShapedArray(a.shape[:-2], a.dtype)
    return [out, out]


def _slogdet_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    sign, logdet = slogdet(a)
    if t is None:
        return [sign, logdet], [None, None]
    n = get_aval(a).shape[-1]
    a_inv = solve(a, np.broadcast_to(_eye(n, get_aval(a).dtype), get_aval(a).shape))
    return [sign, logdet], [None, _ein("...ij,...ji->...", a_inv, t)]   # tr(A^-1 dA)


slogdet_p = _prim("slogdet", _slogdet_impl, _slogdet_aval, multiple_results=True)
slogdet_p.jvp = _slogdet_jvp


def slogdet(a):
    """[sign, log|det|] of each matrix."""
    return slogdet_p.bind(a)


# --------------------------------------------------------------------------- cholesky


def _cholesky_impl(a):
    return np.linalg.cholesky((a + np.swapaxes(a, -1, -2)) * np.asarray(0.5, a.dtype))


def _cholesky_aval(a):
    _float_matrix_aval("cholesky", a, square=True)
    return a


def _cholesky_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    chol = cholesky(a)
    if t is None:
        return chol, None
    n = get_aval(a).shape[-1]
    # dL = L phi(L^-1 S L^-T), phi: the lower triangle with the diagonal halved
    inner = solve(chol, _mT(solve(chol, _sym(t))))
    return chol, _mm(chol, _mask(inner, np.tril(np.ones((n, n))) - 0.5 * np.eye(n)))


cholesky_p = _prim("cholesky", _cholesky_impl, _cholesky_aval)
cholesky_p.jvp = _cholesky_jvp


def cholesky(a):
    """The lower Cholesky factor of the symmetric part of each matrix."""
    return cholesky_p.bind(a)


# --------------------------------------------------------------------------- eigh


def _eigh_impl(a):
    w, v = np.linalg.eigh((a + np.swapaxes(a, -1, -2)) * np.asarray(0.5, a.dtype))
    return [w, v * _sign_convention(v)]


def _eigh_aval(a):
    _float_matrix_aval("eigh", a, square=True)
    return [ShapedArray(a.shape[:-1], a.dtype), a]


def _eigh_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    w, v = eigh(a)
    if t is None:
        return [w, v], [None, None]
    n = get_aval(a).shape[-1]
    m = _mm(_mT(v), _mm(_sym(t), v))                   # V^T dA V
    gaps = _inverse_gaps(ew.sub(_rows(w, n), _cols(w, n)))   # 1 / (w_j - w_i)
    return [w, v], [_diag(m), _mm(v, ew.mul(gaps, m))]


eigh_p = _prim("eigh", _eigh_impl, _eigh_aval, multiple_results=True)
eigh_p.jvp = _eigh_jvp


def eigh(a):
    """[eigenvalues (ascending), eigenvectors (columns)] of the symmetric part of a."""
    return eigh_p.bind(a)


# --------------------------------------------------------------------------- svd


def _svd_impl(a, full_matrices, compute_uv):
    if not compute_uv:
        return [np.linalg.svd(a, full_matrices=False, compute_uv=False)]
    u, s, vt = np.linalg.svd(a, full_matrices=full_matrices)
    sign = _sign_convention(u)
    k = s.shape[-1]
    flip = np.ones(vt.shape[:-1] + (1,), vt.dtype)       # row i of vt pairs with u[:, i]
    flip[..., :k, :] = np.swapaxes(sign[..., :k], -1, -2)
    return [u * sign, s, vt * flip]


def _svd_aval(a, full_matrices, compute_uv):
    _float_matrix_aval("svd", a)
    *batch, m, n = a.shape
    k = min(m, n)
    s = ShapedArray(batch + [k], a.dtype)
    if not compute_uv:
        return [s]
    mu, nv = (m, n) if full_matrices else (k, k)
    return [ShapedArray(batch + [m, mu], a.dtype), s, ShapedArray(batch + [nv, n], a.dtype)]


def _svd_jvp(primals, tangents, full_matrices, compute_uv):
    (a,), (t,) = primals, tangents
    *_, m, n = get_aval(a).shape
    out = svd(a, full_matrices, compute_uv)
    if t is None:
        return out, [None] * len(out)
    if full_matrices and compute_uv and m != n:
        raise NotImplementedError("the derivative of svd with full_matrices=True is defined "
                                  "only for square matrices; use full_matrices=False")
    u, s, vt = out if compute_uv else svd(a, False, True)
    v = _mT(vt)
    ds_mat = _mm(_mT(u), _mm(t, v))                    # U^T dA V  (k, k)
    ds = _diag(ds_mat)
    if not compute_uv:
        return out, [ds]
    k = min(m, n)
    s_j, s_i = _rows(s, k), _cols(s, k)
    f = _inverse_gaps(ew.mul(ew.add(s_j, s_i), ew.sub(s_j, s_i)))    # 1 / (s_j^2 - s_i^2)
    ds_s = ew.mul(ds_mat, s_j)                          # dS diag(s)
    s_ds = ew.mul(s_i, ds_mat)                          # diag(s) dS
    du = _mm(u, ew.mul(f, ew.add(ds_s, _mT(ds_s))))
    dv = _mm(v, ew.mul(f, ew.add(s_ds, _mT(s_ds))))
    if m > n:                                           # (I - U U^T) dA V diag(1/s)
        dav = _mm(t, v)
        du = ew.add(du, ew.div(ew.sub(dav, _mm(u, _mm(_mT(u), dav))), _rows(s, m)))
    if n > m:                                           # (I - V V^T) dA^T U diag(1/s)
        dau = _mm(_mT(t), u)
        dv = ew.add(dv, ew.div(ew.sub(dau, _mm(v, _mm(vt, dau))), _rows(s, n)))
    return out, [du, ds, _mT(dv)]


svd_p = _prim("svd", _svd_impl, _svd_aval, multiple_results=True)
svd_p.jvp = _svd_jvp


def svd(a, full_matrices=False, compute_uv=True):
    """[u, s, vt] (or [s] when not compute_uv) of each matrix; s descending."""
    return svd_p.bind(a, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))


# --------------------------------------------------------------------------- qr


def _qr_impl(a, full_matrices):
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    k = min(a.shape[-2:])
    sign = np.sign(np.diagonal(r[..., :k, :k], axis1=-2, axis2=-1))
    sign = np.where(sign == 0, 1, sign).astype(a.dtype)
    flip = np.ones(q.shape[:-2] + (q.shape[-1],), a.dtype)    # R's diagonal >= 0
    flip[..., :k] = sign
    return [q * flip[..., None, :], r * flip[..., :, None]]


def _qr_aval(a, full_matrices):
    _float_matrix_aval("qr", a)
    *batch, m, n = a.shape
    k = m if full_matrices else min(m, n)
    return [ShapedArray(batch + [m, k], a.dtype), ShapedArray(batch + [k, n], a.dtype)]


def _qr_tall_jvp(q, r, t):
    """dq, dr for a (.., m, n), m >= n, reduced (q (m, n), r (n, n) invertible)."""
    n = get_aval(r).shape[-1]
    dx_rinv = _mT(solve(_mT(r), _mT(t)))                # dA R^-1
    qt_dx_rinv = _mm(_mT(q), dx_rinv)
    lower = _mask(qt_dx_rinv, np.tril(np.ones((n, n)), -1))
    do = ew.sub(lower, _mT(lower))                      # antisymmetric
    dq = ew.add(_mm(q, ew.sub(do, qt_dx_rinv)), dx_rinv)
    dr = _mm(ew.sub(qt_dx_rinv, do), r)
    return dq, dr


def _qr_jvp(primals, tangents, full_matrices):
    (a,), (t,) = primals, tangents
    q, r = qr(a, full_matrices)
    if t is None:
        return [q, r], [None, None]
    *_, m, n = get_aval(a).shape
    if m <= n:            # a = [x | y], x square: q, r1 = qr(x); r2 = q^T y
        dq, dr1 = _qr_tall_jvp(q, _slice_last(r, 0, m), _slice_last(t, 0, m))
        if m == n:
            return [q, r], [dq, dr1]
        y, dy = _slice_last(a, m, n), _slice_last(t, m, n)
        dr2 = ew.add(_mm(_mT(dq), y), _mm(_mT(q), dy))
        return [q, r], [dq, st.concatenate([dr1, dr2], get_aval(a).ndim - 1)]
    if full_matrices:
        raise NotImplementedError("the derivative of qr with mode='complete' is defined "
                                  "only for matrices with m <= n; use mode='reduced'")
    return [q, r], list(_qr_tall_jvp(q, r, t))


qr_p = _prim("qr", _qr_impl, _qr_aval, multiple_results=True)
qr_p.jvp = _qr_jvp


def qr(a, full_matrices=False):
    """[q, r] of each matrix (reduced, or complete with full_matrices)."""
    return qr_p.bind(a, full_matrices=bool(full_matrices))


# --------------------------------------------------------------------------- pinv


def _pinv_impl(a, rcond, hermitian):
    return np.asarray(np.linalg.pinv(a, rcond=rcond, hermitian=hermitian), a.dtype)


def _pinv_aval(a, rcond, hermitian):
    _float_matrix_aval("pinv", a)
    return ShapedArray(a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)


def _pinv_jvp(primals, tangents, rcond, hermitian):
    (a,), (t,) = primals, tangents
    p = pinv(a, rcond, hermitian)
    if t is None:
        return p, None
    *_, m, n = get_aval(a).shape
    dtype = get_aval(a).dtype
    eye_m = np.broadcast_to(_eye(m, dtype), get_aval(a).shape[:-2] + (m, m))
    eye_n = np.broadcast_to(_eye(n, dtype), get_aval(a).shape[:-2] + (n, n))
    # Golub & Pereyra: -P dA P + (I - P A) dA^T P^T P + P P^T dA^T (I - A P)
    t_T, p_T = _mT(t), _mT(p)
    term1 = ew.neg(_mm(p, _mm(t, p)))
    term2 = _mm(ew.sub(eye_n, _mm(p, a)), _mm(t_T, _mm(p_T, p)))
    term3 = _mm(_mm(p, p_T), _mm(t_T, ew.sub(eye_m, _mm(a, p))))
    return p, ew.add(ew.add(term1, term2), term3)


pinv_p = _prim("pinv", _pinv_impl, _pinv_aval)
pinv_p.jvp = _pinv_jvp


def pinv(a, rcond=1e-15, hermitian=False):
    """The Moore-Penrose pseudo-inverse of each matrix (singular values at most
    rcond * the largest count as zero)."""
    return pinv_p.bind(a, rcond=float(rcond), hermitian=bool(hermitian))
