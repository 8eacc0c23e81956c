"""`fxad.numpy.linalg`: NumPy's linear algebra, differentiable, on the primitives of
`fxad.primitives.linalg` (solve, slogdet, cholesky, eigh, svd, qr, pinv) and on
`fxad.numpy`'s own functions.

NumPy's conventions hold: stacks of matrices on leading axes (broadcast where NumPy
broadcasts), integers computed in float64, float32 kept, NumPy 2's result tuples
(`EighResult`, `SVDResult`, `QRResult`, `SlogdetResult`). Where fxad differs:
  * `cholesky`, `eigh`, `eigvalsh` use the symmetric part (a + a^T) / 2 of their input
    (JAX's `symmetrize_input=True`): the same values as NumPy for symmetric input, and
    symmetric gradients. `symmetrize_input=False` reads one triangle, as NumPy does.
  * eigenvectors and singular vectors have a fixed sign (a positive dot product with the
    weights 1 / (i + pi); see `fxad.primitives.linalg`), so they are differentiable;
    likewise qr's R has a non-negative diagonal (NumPy's may have negative entries).
  * derivatives of eigh/svd assume distinct eigen/singular values; svd's need
    full_matrices=False for non-square input, qr's mode='reduced' (or m <= n).
  * `norm`'s 2-norms (vectors, Frobenius) have gradient 0 at 0 (a subgradient) instead
    of NaN: sqrt is applied as where(s == 0, 0, sqrt(where(s == 0, 1, s))), so both the
    value and every derivative order are finite there. General p-norms (p > 0) do the
    same for their zero entries and their root. Matrix 2-norms and the nuclear norm go
    through singular values, so their gradients need distinct singular values.

>>> import numpy as np, fxad, fxad.numpy.linalg as fla
>>> fxad.grad(lambda a: fla.det(a))(np.array([[2.0, 1.0], [1.0, 3.0]]))
array([[ 3., -1.],
       [-1.,  2.]])
>>> fxad.grad(fla.norm)(np.zeros(3))
array([0., 0., 0.])
"""
import operator
from typing import NamedTuple

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import linalg as la
from . import _elementwise as _npe
from ._base import asarray, result_type, normalize_axis
from ._contract import matmul, tensordot as _tensordot, dot, outer as _outer
from ._reductions import sum as _sum, max as _max, min as _min, any as _any
from ._shape import (reshape, moveaxis, swapaxes, broadcast_to, getitem, stack, expand_dims,
                     ravel)

LinAlgError = np.linalg.LinAlgError


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


class QRResult(NamedTuple):
    Q: object
    R: object


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


# --------------------------------------------------------------------------- helpers


def _floats(*xs):
    """Operands converted to one floating dtype (integers and booleans to float64)."""
    xs = [asarray(x) for x in xs]
    dtype = result_type(*xs)
    if dtype.kind == "c":
        raise NotImplementedError("fxad.numpy.linalg supports real arrays only")
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return [ew.convert_element_type(x, dtype) for x in xs]


def _shape(x):
    return get_aval(x).shape


def _stacked(a, name, square=True):
    shape = _shape(a)
    if len(shape) < 2:
        raise LinAlgError(f"{len(shape)}-dimensional array given to {name}. Array must be "
                          "at least two-dimensional")
    if square and shape[-1] != shape[-2]:
        raise LinAlgError(f"Last 2 dimensions of the array given to {name} must be square, "
                          f"got shape {shape}")
    return a


def _eye_like(a):
    shape, dtype = _shape(a), get_aval(a).dtype
    return np.broadcast_to(np.eye(shape[-1], dtype=dtype), shape)


def _from_triangle(a, uplo):
    """The symmetric matrix that one triangle of `a` describes (NumPy's UPLO)."""
    if uplo not in ("L", "U"):
        raise ValueError(f"UPLO argument must be 'L' or 'U', got {uplo!r}")
    if uplo == "U":
        a = la._mT(a)
    n = _shape(a)[-1]
    return ew.add(la._mask(a, np.tril(np.ones((n, n)))),
                  la._mT(la._mask(a, np.tril(np.ones((n, n)), -1))))


def _symmetric_input(a, name, uplo, symmetrize_input):
    a = _stacked(_floats(a)[0], name)
    return a if symmetrize_input else _from_triangle(a, uplo)


# --------------------------------------------------------------------------- solving


def solve(a, b):
    """The solution x of `a @ x = b`; `b` is a vector if 1-d, else a stack of matrices,
    and the batch axes of `a` and `b` broadcast (NumPy 2's rule)."""
    a, b = _floats(a, b)
    sa, sb = _shape(_stacked(a, "solve")), _shape(b)
    n = sa[-1]
    if len(sb) == 1:
        if sb[0] != n:
            raise ValueError(f"solve: b has {sb[0]} rows, a is {n} x {n}")
        b = broadcast_to(reshape(b, (n, 1)), sa[:-2] + (n, 1))
        return reshape(la.solve(a, b), sa[:-2] + (n,))
    if sb[-2] != n:
        raise ValueError(f"solve: b of shape {sb} has {sb[-2]} rows, a is {n} x {n}")
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    return la.solve(broadcast_to(a, batch + sa[-2:]), broadcast_to(b, batch + sb[-2:]))


def inv(a):
    """The inverse of each matrix (`solve(a, I)`; its derivative is -A^-1 dA A^-1)."""
    a = _stacked(_floats(a)[0], "inv")
    return la.solve(a, _eye_like(a))


def slogdet(a):
    """`SlogdetResult(sign, logabsdet)` of each matrix; d logabsdet = tr(A^-1 dA)."""
    a = _stacked(_floats(a)[0], "slogdet")
    return SlogdetResult(*la.slogdet(a))


def det(a):
    """The determinant of each matrix, as sign * exp(logabsdet): its gradient is
    det * A^-T (which needs A invertible)."""
    sign, logdet = slogdet(a)
    return ew.mul(sign, ew.exp(logdet))


def pinv(a, rcond=None, hermitian=False, *, rtol=np._NoValue):
    """The Moore-Penrose pseudo-inverse (NumPy's rcond / rtol cut-offs; a scalar cut-off).
    Its derivative holds where the rank does not change."""
    a = _stacked(_floats(a)[0], "pinv", square=False)
    if rcond is None:
        if rtol is np._NoValue:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(_shape(a)[-2:]) * np.finfo(get_aval(a).dtype).eps
        else:
            rcond = rtol
    elif rtol is not np._NoValue:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    if np.ndim(rcond):
        raise NotImplementedError("fxad.numpy.linalg.pinv supports a scalar rcond only")
    return la.pinv(a, float(rcond), hermitian)


def matrix_power(a, n):
    """`a` raised to the integer power `n` (by repeated squaring; n < 0 inverts first)."""
    a = _stacked(asarray(a), "matrix_power")
    n = operator.index(n)
    if n == 0:
        return np.array(_eye_like(a))
    if n < 0:
        a, n = inv(a), -n
    result, z = None, a
    while n:
        if n & 1:
            result = z if result is None else matmul(result, z)
        n >>= 1
        if n:
            z = matmul(z, z)
    return result


def multi_dot(arrays, *, out=None):
    """The chained product of `arrays` in the cheapest order (NumPy's rule: a 1-d first
    array is a row vector, a 1-d last array a column vector)."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.linalg.multi_dot does not support out=")
    arrays = [asarray(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return dot(*arrays)
    first_1d, last_1d = len(_shape(arrays[0])) == 1, len(_shape(arrays[-1])) == 1
    if first_1d:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last_1d:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if len(_shape(a)) != 2:
            raise ValueError(f"multi_dot: {len(_shape(a))}-dimensional array given. Array "
                             "must be two-dimensional")
    dims = [_shape(a)[0] for a in arrays] + [_shape(arrays[-1])[1]]
    split = _chain_order(dims)

    def product(i, j):
        return arrays[i] if i == j else dot(product(i, split[i][j]),
                                            product(split[i][j] + 1, j))
    result = product(0, len(arrays) - 1)
    if first_1d and last_1d:
        return getitem(result, (0, 0))
    return getitem(result, 0) if first_1d else getitem(result, (slice(None), 0)) \
        if last_1d else result


def _chain_order(dims):
    """Matrix-chain dynamic programme: split[i][j] is the best split of arrays i..j."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


# --------------------------------------------------------------------------- factorizations


def cholesky(a, /, *, upper=False, symmetrize_input=True):
    """The Cholesky factor L (a = L L^T) of each matrix, or U = L^T when `upper`."""
    chol = la.cholesky(_symmetric_input(a, "cholesky", "L", symmetrize_input))
    return la._mT(chol) if upper else chol


def eigh(a, UPLO="L", *, symmetrize_input=True):  # noqa: N803  (NumPy's name)
    """`EighResult(eigenvalues, eigenvectors)` of symmetric matrices (ascending values,
    vectors as columns)."""
    return EighResult(*la.eigh(_symmetric_input(a, "eigh", UPLO, symmetrize_input)))


def eigvalsh(a, UPLO="L", *, symmetrize_input=True):  # noqa: N803
    """The eigenvalues of symmetric matrices (d w_i = v_i^T dA v_i)."""
    return eigh(a, UPLO, symmetrize_input=symmetrize_input)[0]


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """`SVDResult(U, S, Vh)` (or just S): a = U diag(S) Vh, S descending. `hermitian` is
    accepted for NumPy compatibility (the general algorithm serves both)."""
    a = _stacked(_floats(a)[0], "svd", square=False)
    out = la.svd(a, full_matrices, compute_uv)
    return SVDResult(*out) if compute_uv else out[0]


def svdvals(x, /):
    """The singular values of each matrix, descending."""
    return svd(x, compute_uv=False)


def qr(a, mode="reduced"):
    """`QRResult(Q, R)` for mode 'reduced' or 'complete'; R alone for mode 'r'."""
    a = _stacked(_floats(a)[0], "qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"fxad.numpy.linalg.qr supports modes 'reduced', "
                                  f"'complete' and 'r', not {mode!r}")
    q, r = la.qr(a, mode == "complete")
    return r if mode == "r" else QRResult(q, r)


# --------------------------------------------------------------------------- norms


def _safe_root(s, p=2):
    """s ** (1/p) for s >= 0, with derivatives 0 (not inf or NaN) where s == 0."""
    zero = ew.eq(s, ew.const(s, 0))
    s_safe = ew.select(zero, ew.const(s, 1), s)
    root = ew.sqrt(s_safe) if p == 2 else ew.pow(s_safe, ew.const(s, 1.0 / p))
    return ew.select(zero, ew.const(s, 0), root)


def _vector_norm(x, ord, axes, keepdims):  # noqa: A002
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    ax = _npe.abs(x)
    if ord is None or ord == 2:
        return _safe_root(_sum(_npe.square(x), axes, keepdims=keepdims))
    if ord == np.inf:
        return _max(ax, axes, keepdims=keepdims)
    if ord == -np.inf:
        return _min(ax, axes, keepdims=keepdims)
    if ord == 0:
        nonzero = ew.convert_element_type(_npe.not_equal(x, 0), get_aval(x).dtype)
        return _sum(nonzero, axes, keepdims=keepdims)
    if ord == 1:
        return _sum(ax, axes, keepdims=keepdims)
    p = float(ord)
    if p > 0:                         # zero entries contribute 0, with derivative 0
        zero = ew.eq(ax, ew.const(ax, 0))
        powered = ew.select(zero, ew.const(ax, 0),
                            ew.pow(ew.select(zero, ew.const(ax, 1), ax), ew.const(ax, p)))
        return _safe_root(_sum(powered, axes, keepdims=keepdims), p)
    total = _sum(ew.pow(ax, ew.const(ax, p)), axes, keepdims=keepdims)
    return ew.pow(total, ew.const(total, 1.0 / p))


def _matrix_norm(x, ord, row, col, keepdims):  # noqa: A002
    if row == col:
        raise ValueError("Duplicate axes given.")
    if ord in (2, -2, "nuc"):
        s = svdvals(moveaxis(x, (row, col), (-2, -1)))
        out = (_max(s, -1) if ord == 2 else _min(s, -1) if ord == -2 else _sum(s, -1))
    elif ord in (None, "fro", "f"):
        out = _safe_root(_sum(_npe.square(x), (row, col)))
    elif ord in (1, -1):
        sums = _sum(_npe.abs(x), row)
        out = (_max if ord == 1 else _min)(sums, col - 1 if col > row else col)
    elif ord in (np.inf, -np.inf):
        sums = _sum(_npe.abs(x), col)
        out = (_max if ord == np.inf else _min)(sums, row - 1 if row > col else row)
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        out = expand_dims(out, tuple(sorted((row, col))))
    return out


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector or matrix norm, with NumPy's `ord` and `axis` semantics (see the module
    docstring for the gradient at 0)."""
    x = _floats(x)[0]
    nd = len(_shape(x))
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            out = _safe_root(_sum(_npe.square(ravel(x))))
            return reshape(out, (1,) * nd) if keepdims else out
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    axes = normalize_axis(axis, nd)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes[0], axes[1], keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002
    """The vector norm over `axis` (all axes, flattened, by default; several axes are
    flattened together), as NumPy 2's `vector_norm`."""
    x = _floats(x)[0]
    shape = _shape(x)
    axes = normalize_axis(axis, len(shape))
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    rest = [i for i in range(len(shape)) if i not in axes]
    flat = reshape(moveaxis(x, axes, tuple(range(len(rest), len(shape)))),
                   tuple(shape[i] for i in rest) + (-1,))
    out = _vector_norm(flat, ord, (len(rest),), False)
    if keepdims:
        out = reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return out


def matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002
    """The matrix norm of each matrix (the last two axes)."""
    return norm(x, ord, (-2, -1), keepdims)


def cond(x, p=None):
    """The condition number in norm `p` (2 by default: largest / smallest singular value)."""
    x = _stacked(_floats(x)[0], "cond", square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = svdvals(x)
        first, last = getitem(s, (Ellipsis, 0)), getitem(s, (Ellipsis, -1))
        return ew.div(last, first) if p == -2 else ew.div(first, last)
    return ew.mul(norm(x, p, (-2, -1)), norm(inv(x), p, (-2, -1)))


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):  # noqa: N803
    """The number of singular values above the tolerance (an integer: no gradient)."""
    A = asarray(A)
    if len(_shape(A)) < 2:
        return ew.convert_element_type(_any(_npe.not_equal(A, 0)), np.int64)
    s = svdvals(A)
    if tol is None:
        if rtol is None:
            rtol = max(_shape(A)[-2:]) * np.finfo(get_aval(s).dtype).eps
        tol = _npe.multiply(_max(s, -1, keepdims=True), rtol)
    else:
        tol = expand_dims(asarray(tol), -1)
    return _sum(_npe.greater(s, tol), -1)


# --------------------------------------------------------------------------- NumPy 2 extras


def matrix_transpose(x, /):
    """Each matrix transposed (the last two axes swapped)."""
    return swapaxes(x, -1, -2)


def diagonal(x, /, *, offset=0):
    """The `offset` diagonal of each matrix (last two axes)."""
    x = asarray(x)
    n, m = _shape(x)[-2:]
    size = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    r0, c0 = max(0, -offset), max(0, offset)
    square = getitem(x, (Ellipsis, slice(r0, r0 + size), slice(c0, c0 + size)))
    return la._diag(square)                  # (an einsum with the identity: vmap-friendly)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the `offset` diagonal of each matrix."""
    return _sum(diagonal(x, offset=offset), -1, dtype=dtype)


def outer(x1, x2, /):
    """The outer product of two vectors."""
    if len(_shape(asarray(x1))) != 1 or len(_shape(asarray(x2))) != 1:
        raise ValueError("linalg.outer: both inputs must be 1-dimensional")
    return _outer(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    return _tensordot(x1, x2, axes)


def vecdot(x1, x2, /, *, axis=-1):
    """The dot product of vectors along `axis` (broadcasting the other axes)."""
    return _sum(_npe.multiply(x1, x2), axis)


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors along `axis`."""
    a, b = moveaxis(asarray(x1), axis, -1), moveaxis(asarray(x2), axis, -1)
    if _shape(a)[-1] != 3 or _shape(b)[-1] != 3:
        raise ValueError("linalg.cross: both inputs must be 3-vectors along `axis`")
    c = [getitem(a, (Ellipsis, i)) for i in range(3)]
    d = [getitem(b, (Ellipsis, i)) for i in range(3)]
    parts = [_npe.subtract(_npe.multiply(c[(i + 1) % 3], d[(i + 2) % 3]),
                           _npe.multiply(c[(i + 2) % 3], d[(i + 1) % 3])) for i in range(3)]
    return moveaxis(stack(parts, -1), -1, axis)


__all__ = ["LinAlgError", "EighResult", "SVDResult", "QRResult", "SlogdetResult", "solve",
           "inv", "det", "slogdet", "pinv", "matrix_power", "multi_dot", "cholesky", "eigh",
           "eigvalsh", "svd", "svdvals", "qr", "norm", "vector_norm", "matrix_norm", "cond",
           "matrix_rank", "matrix_transpose", "diagonal", "trace", "outer", "matmul",
           "tensordot", "vecdot", "cross"]
