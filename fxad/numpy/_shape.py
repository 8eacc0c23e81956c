"""Shape manipulation and indexing in `fxad.numpy`: NumPy's signatures over the
shape-strict primitives (reshape, transpose, broadcast_in_dim, concatenate, gather)."""
import operator

import numpy as np

from ..core import Tracer, get_aval, concrete_or_none
from ..primitives import structural as st
from ..primitives import elementwise as ew
from ._base import asarray, normalize_axis, result_type


def reshape(a, shape=None, order="C", *, newshape=None):
    """`a` with a new shape (one entry may be -1). Only C order is supported."""
    if order != "C":
        raise NotImplementedError("fxad.numpy.reshape supports order='C' only")
    a = asarray(a)
    shape = newshape if shape is None else shape
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    size = get_aval(a).size
    if shape.count(-1) == 1:
        known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of shape {get_aval(a).shape} into {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    return st.reshape(a, shape)


def ravel(a, order="C"):
    """`a` flattened to one dimension."""
    return reshape(a, (-1,), order)


def transpose(a, axes=None):
    """`a` with its axes permuted (reversed by default)."""
    a = asarray(a)
    n = get_aval(a).ndim
    axes = tuple(range(n))[::-1] if axes is None else normalize_axis(axes, n)
    return st.transpose(a, axes)


def swapaxes(a, axis1, axis2):
    a = asarray(a)
    n = get_aval(a).ndim
    perm = list(range(n))
    i, j = normalize_axis((axis1, axis2), n)
    perm[i], perm[j] = perm[j], perm[i]
    return st.transpose(a, perm)


def moveaxis(a, source, destination):
    a = asarray(a)
    n = get_aval(a).ndim
    src, dst = normalize_axis(source, n), normalize_axis(destination, n)
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    rest = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        rest.insert(d, s)
    return st.transpose(a, rest)


def squeeze(a, axis=None):
    """`a` without its size-1 axes (or just `axis`, which must have size 1)."""
    a = asarray(a)
    shape = get_aval(a).shape
    axes = (tuple(i for i, n in enumerate(shape) if n == 1) if axis is None
            else normalize_axis(axis, len(shape)))
    for i in axes:
        if shape[i] != 1:
            raise ValueError(f"cannot squeeze axis {i} of size {shape[i]} (shape {shape})")
    return st.reshape(a, [n for i, n in enumerate(shape) if i not in axes])


def expand_dims(a, axis):
    """`a` with new size-1 axes at positions `axis`."""
    a = asarray(a)
    shape = list(get_aval(a).shape)
    for i in sorted(normalize_axis(axis, len(shape) + (1 if isinstance(axis, int) else len(axis)))):
        shape.insert(i, 1)
    return st.reshape(a, shape)


def broadcast_to(array, shape):
    """`array` broadcast to `shape` by NumPy's rules."""
    a = asarray(array)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    a_shape = get_aval(a).shape
    if np.broadcast_shapes(a_shape, shape) != shape:
        raise ValueError(f"cannot broadcast an array of shape {a_shape} to shape {shape}")
    return st.broadcast_in_dim(a, shape, range(len(shape) - len(a_shape), len(shape)))


def broadcast_arrays(*args):
    shape = np.broadcast_shapes(*(get_aval(asarray(a)).shape for a in args))
    return tuple(broadcast_to(a, shape) for a in args)


def _same_dtype(arrays, dtype=None):
    arrays = [asarray(a) for a in arrays]
    dtype = result_type(*arrays) if dtype is None else np.dtype(dtype)
    return [ew.convert_element_type(a, dtype) for a in arrays]


def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays along an existing axis (`axis=None` flattens them first)."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.concatenate cannot write into `out=`")
    arrays = _same_dtype(arrays, dtype)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    shapes = [get_aval(a).shape for a in arrays]
    axis = normalize_axis(axis, len(shapes[0]))[0]
    if any(len(s) != len(shapes[0]) or s[:axis] + s[axis + 1:] != shapes[0][:axis] +
           shapes[0][axis + 1:] for s in shapes):
        raise ValueError(f"concatenate along axis {axis}: shapes {shapes} must agree "
                         "except along that axis")
    return st.concatenate(arrays, axis)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join same-shaped arrays along a new axis."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.stack cannot write into `out=`")
    arrays = _same_dtype(arrays, dtype)
    shapes = {get_aval(a).shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {sorted(shapes)}")
    axis = normalize_axis(axis, get_aval(arrays[0]).ndim + 1)[0]
    return st.concatenate([expand_dims(a, axis) for a in arrays], axis)


def vstack(tup, *, dtype=None, casting="same_kind"):
    return concatenate([a if get_aval(a).ndim >= 2 else reshape(a, (1, -1))
                        for a in map(asarray, tup)], 0, dtype=dtype)


def hstack(tup, *, dtype=None, casting="same_kind"):
    arrays = [asarray(a) for a in tup]
    return concatenate(arrays, 0 if get_aval(arrays[0]).ndim == 1 else 1, dtype=dtype)


def split(ary, indices_or_sections, axis=0):
    """A list of sub-arrays of `ary` along `axis` (equal sections, or cut at indices)."""
    ary = asarray(ary)
    shape = get_aval(ary).shape
    axis = normalize_axis(axis, len(shape))[0]
    n = shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if n % indices_or_sections:
            raise ValueError(f"array split does not result in an equal division: {n} "
                             f"into {indices_or_sections}")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step)) if step else [0] * (indices_or_sections + 1)
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * axis
    return [getitem(ary, lead + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


# --------------------------------------------------------------------------- indexing


def _static_int(v):
    return None if v is None else operator.index(v)


def getitem(x, index):
    """`x[index]` for ints, slices, None, Ellipsis, integer arrays and boolean masks.
    Reverse mode accumulates into the indexed positions (a scatter-add)."""
    spec, arrays = parse_index(index)
    return st.gather(asarray(x), spec, arrays)


def parse_index(index):
    """A NumPy index as (IndexSpec, index arrays): ints, slices, None and Ellipsis are
    static; integer arrays (traced or not) and boolean masks (made concrete) are operands."""
    index = index if isinstance(index, tuple) else (index,)
    entries, arrays = [], []
    for e in index:
        if e is None or e is Ellipsis:
            entries.append(e)
        elif isinstance(e, slice):
            entries.append(slice(_static_int(e.start), _static_int(e.stop),
                                 _static_int(e.step)))
        elif isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_)):
            entries.append(int(e))
        else:
            if isinstance(e, Tracer) and get_aval(e).dtype == np.bool_:
                e = _concrete_indices(e, "Boolean-mask indexing")
            if not isinstance(e, Tracer):
                e = np.asarray(e)
                if e.dtype == np.bool_:
                    nz = np.nonzero(e)
                    entries.extend([st.IndexSpec.ARRAY] * len(nz))
                    arrays.extend(nz)
                    continue
            if not np.issubdtype(get_aval(e).dtype, np.integer):
                raise IndexError(f"arrays used as indices must be of integer (or boolean) "
                                 f"type, got {get_aval(e).dtype}")
            entries.append(st.IndexSpec.ARRAY)
            arrays.append(e)
    return st.IndexSpec(entries), arrays


def nonzero(a):
    """Indices of the nonzero elements (needs a concrete value: its shape depends on it)."""
    a = asarray(a)
    if isinstance(a, Tracer):
        a = _concrete_indices(a, "nonzero")
    return np.nonzero(a)


def _concrete_indices(x, what):
    """Index computations need concrete values (their result's shape depends on them);
    they carry no derivatives, so taking the value under grad is safe."""
    value = concrete_or_none(x)
    return x._concrete(f"{what} (its result's shape depends on the values)") if value is None \
        else value


def flatnonzero(a):
    return nonzero(ravel(a))[0]


SHAPE_NAMES = ["reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze",
               "expand_dims", "broadcast_to", "broadcast_arrays", "concatenate", "stack",
               "vstack", "hstack", "split", "nonzero", "flatnonzero"]
