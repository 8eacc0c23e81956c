"""More shape functions in `fxad.numpy` (autograd's breadth): dimensions, flips, rolls,
tiling and repetition, diagonals, triangles, `kron`, `cross` (padding, indexing, stacking
and splitting are in `_more_stack`).

Everything is built from reshapes, broadcasts, slices (strided `gather`), concatenation
and `where`, so all transforms apply; slices are preferred to index arrays because they
are cheaper (no index array to build or batch, and their transpose needs no `np.add.at`).
Concrete index lists are turned into runs of slices by `take_static`."""
import numpy as np

from ..core import Tracer, get_aval
from ..primitives import structural as st
from . import _elementwise as el
from ._base import asarray, array, normalize_axis
from ._shape import (reshape, ravel, transpose, moveaxis, broadcast_to, getitem, swapaxes,
                     broadcast_arrays)


def _shape(x):
    return get_aval(x).shape


def _along(axis, index):
    """An index tuple applying `index` to `axis`."""
    return (slice(None),) * axis + (index,)


def _axis1(axis, ndim):
    return normalize_axis(axis, ndim)[0]


def take_static(x, idx, axis):
    """`x` indexed along `axis` by the concrete integer array `idx` (1-d): as a few slices
    (runs of step 1, -1 or 0) joined, else one gather."""
    x = asarray(x)
    n = _shape(x)[axis]
    idx = np.asarray(idx, np.int64)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"index {int(idx.max() if idx.max() >= n else idx.min())} is out of "
                         f"bounds for axis {axis} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    if idx.size == 0:
        return getitem(x, _along(axis, slice(0, 0)))
    runs, i = [], 0
    while i < len(idx):
        step = int(idx[i + 1] - idx[i]) if i + 1 < len(idx) else 1
        step = step if step in (-1, 0, 1) else 1
        j = i + 1
        while j < len(idx) and idx[j] - idx[j - 1] == step:
            j += 1
        runs.append((int(idx[i]), step, j - i))
        i = j
    if len(runs) > 8:
        return getitem(x, _along(axis, idx))
    pieces = []
    for start, step, length in runs:
        if step == 0:
            piece = getitem(x, _along(axis, slice(start, start + 1)))
            shape = list(_shape(piece))
            shape[axis] = length
            piece = broadcast_to(piece, tuple(shape))
        elif step == 1:
            piece = getitem(x, _along(axis, slice(start, start + length)))
        else:
            stop = start - length
            piece = getitem(x, _along(axis, slice(start, None if stop < 0 else stop, -1)))
        pieces.append(piece)
    return pieces[0] if len(pieces) == 1 else st.concatenate(pieces, axis)


# --------------------------------------------------------------------------- dimensions


def _atleast(arys, fn):
    out = tuple(fn(asarray(a)) for a in arys)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys):
    """Inputs viewed with at least one dimension."""
    return _atleast(arys, lambda a: reshape(a, (1,)) if not _shape(a) else a)


def atleast_2d(*arys):
    """Inputs viewed with at least two dimensions ((n,) -> (1, n))."""
    return _atleast(arys, lambda a: reshape(a, (1,) * (2 - len(_shape(a))) + _shape(a))
                    if len(_shape(a)) < 2 else a)


def atleast_3d(*arys):
    """Inputs with at least three dimensions ((n,) -> (1, n, 1), (m, n) -> (m, n, 1))."""
    def three(a):
        s = _shape(a)
        return reshape(a, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s))
    return _atleast(arys, three)


def rollaxis(a, axis, start=0):
    """Roll `axis` backwards until it lies before position `start`."""
    a = asarray(a)
    n = len(_shape(a))
    axis = _axis1(axis, n)
    if start < 0:
        start += n
    if not 0 <= start <= n:
        raise ValueError(f"rollaxis: start {start} is out of range for {n} dimensions")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = [i for i in range(n) if i != axis]
    axes.insert(start, axis)
    return transpose(a, axes)


def copy(a, order="K", subok=False):
    """A copy of `a`: a new object, which later updates of `a` (`a[i] = v`) do not reach."""
    return array(a)


def permute_dims(a, axes=None):
    return transpose(a, axes)


def matrix_transpose(x):
    """Swap the last two axes."""
    return swapaxes(x, -1, -2)


# --------------------------------------------------------------------------- reordering


def flip(m, axis=None):
    """Reverse the order of elements along `axis` (all axes by default)."""
    m = asarray(m)
    axes = normalize_axis(axis, len(_shape(m)))
    if not axes:
        return m
    index = tuple(slice(None, None, -1) if i in axes else slice(None)
                  for i in range(len(_shape(m))))
    return getitem(m, index)


def fliplr(m):
    if len(_shape(asarray(m))) < 2:
        raise ValueError("fliplr needs an array of at least 2 dimensions")
    return flip(m, 1)


def flipud(m):
    if len(_shape(asarray(m))) < 1:
        raise ValueError("flipud needs an array of at least 1 dimension")
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Elements shifted cyclically by `shift` along `axis` (of the flat array if None)."""
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    axes = normalize_axis(axis, len(_shape(a)))
    shifts = np.broadcast_to(np.asarray(shift, np.int64), (len(axes),)) if not isinstance(
        axis, (int, np.integer)) else np.asarray([shift], np.int64).ravel()
    if len(shifts) != len(axes):
        raise ValueError("roll: shift and axis must have the same length")
    total = {}
    for s, ax in zip(shifts, axes):
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = _shape(a)[ax]
        if n and s % n:
            a = take_static(a, (np.arange(n) - s) % n, ax)
    return a


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees `k` times in the plane of `axes`."""
    m = asarray(m)
    axes = normalize_axis(axes, len(_shape(m)))
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError("rot90: axes must be two different axes")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    perm = list(range(len(_shape(m))))
    perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
    if k == 1:
        return transpose(flip(m, axes[1]), perm)
    return flip(transpose(m, perm), axes[1])


# --------------------------------------------------------------------------- repetition


def tile(A, reps):
    """`A` repeated `reps` times along each axis (one broadcast and one reshape)."""
    A = asarray(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = _shape(A)
    d = max(len(reps), len(shape))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    A = reshape(A, [n for s in shape for n in (1, s)])
    A = broadcast_to(A, [n for r, s in zip(reps, shape) for n in (r, s)])
    return reshape(A, [r * s for r, s in zip(reps, shape)])


def repeat(a, repeats, axis=None):
    """Each element repeated `repeats` times along `axis` (of the flat array if None)."""
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    shape = _shape(a)
    axis = _axis1(axis, len(shape))
    reps = np.asarray(repeats._concrete("repeat counts") if isinstance(repeats, Tracer)
                      else repeats)
    if reps.ndim == 0 or reps.size == 1:
        r = int(reps.ravel()[0])
        x = reshape(a, shape[:axis + 1] + (1,) + shape[axis + 1:])
        x = broadcast_to(x, shape[:axis + 1] + (r,) + shape[axis + 1:])
        return reshape(x, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    return take_static(a, np.repeat(np.arange(shape[axis]), reps), axis)


# --------------------------------------------------------------------------- diagonals


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal (offset `offset`) of the 2-d sub-arrays on `axis1`, `axis2`, as the
    last axis (a strided slice of the flattened planes)."""
    a = asarray(a)
    n = len(_shape(a))
    if n < 2:
        raise ValueError("diagonal requires an array of at least two dimensions")
    i, j = normalize_axis((axis1, axis2), n)
    if i == j:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    a = moveaxis(a, (i, j), (-2, -1))
    *lead, r, c = _shape(a)
    offset = int(offset)
    length = max(0, min(r, c - offset) if offset >= 0 else min(r + offset, c))
    flat = reshape(a, tuple(lead) + (r * c,))
    if length == 0:
        return getitem(flat, (Ellipsis, slice(0, 0)))
    start = offset if offset >= 0 else -offset * c
    return getitem(flat, (Ellipsis, slice(start, start + (length - 1) * (c + 1) + 1, c + 1)))


def diag(v, k=0):
    """A 1-d `v` as the k-th diagonal of a square matrix, or the k-th diagonal of a 2-d
    `v`. The matrix is built from `v` by padding and reshaping (no index arrays)."""
    v = asarray(v)
    s = _shape(v)
    if len(s) == 2:
        return diagonal(v, k)
    if len(s) != 1:
        raise ValueError("diag: input must be 1-d or 2-d")
    n, k = s[0], int(k)
    m = n + abs(k)
    dtype = get_aval(v).dtype
    if n == 0:
        return np.zeros((m, m), dtype)
    rows = st.concatenate([reshape(v, (n, 1)), np.zeros((n, m), dtype)], 1)  # (n, m+1)
    offset = k if k >= 0 else -k * m
    tail = max(0, m * m - offset - n * (m + 1))
    flat = st.concatenate([p for p in (np.zeros(offset, dtype), ravel(rows),
                                       np.zeros(tail, dtype)) if _shape(p)[0]], 0)
    return reshape(getitem(flat, slice(0, m * m)), (m, m))


def diagflat(v, k=0):
    """The flattened input as the k-th diagonal of a square matrix."""
    return diag(ravel(v), k)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along a diagonal."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.trace: `out=` is not supported")
    from ._reductions import sum as _sum
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _tri_mask(shape, k):
    r, c = shape[-2:] if len(shape) >= 2 else (shape[-1], shape[-1])
    return np.tri(r, c, k, dtype=np.bool_)


def tril(m, k=0):
    """`m` with the elements above the k-th diagonal zeroed."""
    m = asarray(m)
    return el.where(_tri_mask(_shape(m), k), m, np.zeros((), get_aval(m).dtype))


def triu(m, k=0):
    """`m` with the elements below the k-th diagonal zeroed."""
    m = asarray(m)
    return el.where(_tri_mask(_shape(m), k - 1), np.zeros((), get_aval(m).dtype), m)


# --------------------------------------------------------------------------- products


def kron(a, b):
    """Kronecker product: blocks `a[i, j] * b` (an outer product and one reshape)."""
    a, b = asarray(a), asarray(b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return el.multiply(a, b)
    d = max(len(sa), len(sb))
    sa, sb = (1,) * (d - len(sa)) + sa, (1,) * (d - len(sb)) + sb
    x = reshape(a, [n for s in sa for n in (s, 1)])
    y = reshape(b, [n for s in sb for n in (1, s)])
    return reshape(el.multiply(x, y), [p * q for p, q in zip(sa, sb)])


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, whose result is the z component)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = asarray(a), asarray(b)
    a = moveaxis(a, _axis1(axisa, len(_shape(a))), -1)
    b = moveaxis(b, _axis1(axisb, len(_shape(b))), -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    ca = [getitem(a, (Ellipsis, i)) for i in range(na)]
    cb = [getitem(b, (Ellipsis, i)) for i in range(nb)]
    mul, sub = el.multiply, el.subtract
    if na == 2 and nb == 2:
        return sub(mul(ca[0], cb[1]), mul(ca[1], cb[0]))
    if na == 2:
        c0 = mul(ca[1], cb[2])
        c1 = el.negative(mul(ca[0], cb[2]))
    elif nb == 2:
        c0 = el.negative(mul(ca[2], cb[1]))
        c1 = mul(ca[2], cb[0])
    else:
        c0 = sub(mul(ca[1], cb[2]), mul(ca[2], cb[1]))
        c1 = sub(mul(ca[2], cb[0]), mul(ca[0], cb[2]))
    c2 = sub(mul(ca[0], cb[1]), mul(ca[1], cb[0]))
    from ._shape import stack
    out = stack(broadcast_arrays(c0, c1, c2), axis=-1)
    return moveaxis(out, -1, _axis1(axisc, len(_shape(out))))


SHAPE_MORE_NAMES = [
    "atleast_1d", "atleast_2d", "atleast_3d", "copy", "rollaxis", "permute_dims",
    "matrix_transpose", "flip", "fliplr", "flipud", "roll", "rot90", "tile", "repeat",
    "diagonal", "diag", "diagflat", "trace", "tril", "triu", "kron", "cross"]
