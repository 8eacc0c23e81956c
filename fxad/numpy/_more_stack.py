"""More `fxad.numpy` functions that pad, index, stack and split: `pad`, `take`,
`take_along_axis`, `select`, `delete`, `append`, `dstack`, `column_stack`, `row_stack`,
`concat`, `unstack`, `array_split`, `hsplit`/`vsplit`/`dsplit`, `meshgrid`.

Built from slices, concatenation and `where` (one gather where indices are scattered or
traced), so every transform applies and the derivatives are scatters of the cotangent."""
import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives import structural as st
from . import _elementwise as el
from ._base import asarray, result_type
from ._shape import (reshape, ravel, broadcast_to, concatenate, getitem, split as _split,
                     vstack, broadcast_arrays)
from ._more_shape import take_static, atleast_3d, _along, _axis1, _shape


# --------------------------------------------------------------------------- padding


def _pairs(value, ndim, name):
    arr = np.asarray(value)
    try:
        return np.broadcast_to(arr, (ndim, 2)) if arr.ndim <= 2 else None
    except ValueError:
        raise ValueError(f"pad: {name} {value!r} cannot be broadcast to ({ndim}, 2)") from None


def pad(array, pad_width, mode="constant", **kwargs):
    """`array` padded by `pad_width` (NumPy's forms). Modes: constant (`constant_values`
    may be traced), edge, reflect, symmetric (even reflection), wrap, empty (zeros).
    Padding is built from slices and concatenation, so it transposes to slices."""
    x = asarray(array)
    ndim = len(_shape(x))
    widths = _pairs(pad_width, ndim, "pad_width").astype(np.int64)
    if (widths < 0).any():
        raise ValueError("pad: index can't contain negative values")
    if callable(mode) or mode not in ("constant", "edge", "reflect", "symmetric", "wrap",
                                      "empty"):
        raise NotImplementedError(f"fxad.numpy.pad: mode {mode!r} is not supported")
    if mode in ("reflect", "symmetric") and kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("fxad.numpy.pad: reflect_type='odd' is not supported")
    dtype = get_aval(x).dtype
    cv = kwargs.get("constant_values", 0)
    traced_cv = isinstance(cv, Tracer)
    if traced_cv and cv.ndim:
        raise NotImplementedError("fxad.numpy.pad: traced constant_values must be a scalar "
                                  "(pass per-axis values as concrete numbers)")
    if not traced_cv:
        cv = _pairs(cv, ndim, "constant_values")
    for ax in range(ndim):
        before, after = (int(w) for w in widths[ax])
        if not before and not after:
            continue
        n = _shape(x)[ax]
        if mode in ("constant", "empty"):
            parts = []
            for w, side in ((before, 0), (after, 1)):
                shape = list(_shape(x))
                shape[ax] = w
                if not w:
                    parts.append(None)
                elif traced_cv:
                    parts.append(broadcast_to(ew.convert_element_type(cv, dtype), shape))
                else:
                    parts.append(np.full(shape, 0 if mode == "empty" else cv[ax][side], dtype))
            x = st.concatenate([p for p in (parts[0], x, parts[1]) if p is not None], ax)
        else:
            if n == 0:
                raise ValueError(f"pad: can't extend empty axis {ax} using mode {mode!r}")
            x = take_static(x, np.pad(np.arange(n), (before, after), mode=mode), ax)
    return x


# --------------------------------------------------------------------------- indexing


def take(a, indices, axis=None, out=None, mode=None):
    """Elements of `a` at `indices` along `axis` (of the flat array if None). `mode`:
    'raise' (default; out-of-range concrete indices raise), 'wrap' or 'clip'."""
    if out is not None:
        raise NotImplementedError("fxad.numpy.take: `out=` is not supported")
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis1(axis, len(_shape(a)))
    n = _shape(a)[axis]
    if isinstance(indices, (int, np.integer)) and mode in (None, "raise"):
        return getitem(a, _along(axis, int(indices)))
    idx = asarray(indices)
    if mode == "wrap":
        idx = el.remainder(idx, n)
    elif mode == "clip":
        idx = el.clip(idx, 0, n - 1)
    elif mode not in (None, "raise"):
        raise ValueError(f"take: unknown mode {mode!r}")
    value = None if isinstance(idx, Tracer) else np.asarray(idx)
    if value is not None and value.ndim == 1:
        return take_static(a, value, axis)
    return getitem(a, _along(axis, idx))


def take_along_axis(arr, indices, axis=-1):
    """`arr` indexed by `indices` (same rank) along `axis`, the other axes broadcasting:
    one gather (indices may be traced, e.g. from argsort)."""
    arr, indices = asarray(arr), asarray(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
        indices = ravel(indices)
    sa, si = _shape(arr), _shape(indices)
    if len(sa) != len(si):
        raise ValueError(f"take_along_axis: `indices` ({si}) and `arr` ({sa}) must have "
                         "the same number of dimensions")
    axis = _axis1(axis, len(sa))
    index = []
    for d, n in enumerate(sa):
        if d == axis:
            index.append(indices)
        else:
            shape = [1] * len(sa)
            shape[d] = n
            index.append(np.arange(n).reshape(shape))
    return getitem(arr, tuple(index))


def select(condlist, choicelist, default=0):
    """`choicelist[i]` where `condlist[i]` first holds, else `default`."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    choices = [asarray(c) for c in choicelist]
    out = ew.convert_element_type(asarray(default), result_type(*choices, default))
    for cond, choice in reversed(list(zip(condlist, choices))):
        cond = asarray(cond)
        if get_aval(cond).dtype != np.bool_:
            raise TypeError(f"invalid entry in condlist: should be boolean ndarray, got "
                            f"{get_aval(cond).dtype}")
        out = el.where(cond, choice, out)
    return out


def delete(arr, obj, axis=None):
    """`arr` without the entries `obj` (concrete indices, a slice or a mask) on `axis`."""
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = _axis1(axis, len(_shape(arr)))
    n = _shape(arr)[axis]
    keep = np.ones(n, np.bool_)
    obj = obj._concrete("delete's indices") if isinstance(obj, Tracer) else obj
    keep[obj if isinstance(obj, slice) else np.asarray(obj)] = False
    return take_static(arr, np.flatnonzero(keep), axis)


def append(arr, values, axis=None):
    """`values` appended to `arr` along `axis` (both flattened if None)."""
    arr, values = asarray(arr), asarray(values)
    if axis is None:
        arr, values, axis = ravel(arr), ravel(values), 0
    return concatenate([arr, values], axis)


# --------------------------------------------------------------------------- stacking


def dstack(tup):
    """Stack along the third axis (inputs made at least 3-d)."""
    return concatenate([atleast_3d(a) for a in tup], 2)


def column_stack(tup):
    """Stack 1-d arrays as columns (2-d arrays as they are)."""
    arrays = []
    for a in map(asarray, tup):
        arrays.append(reshape(a, (-1, 1)) if len(_shape(a)) < 2 else a)
    return concatenate(arrays, 1)


def row_stack(tup):
    return vstack(tup)


def concat(arrays, axis=0):
    return concatenate(arrays, axis)


def unstack(x, axis=0):
    """The slices of `x` along `axis`, as a tuple."""
    x = asarray(x)
    axis = _axis1(axis, len(_shape(x)))
    return tuple(getitem(x, _along(axis, i)) for i in range(_shape(x)[axis]))


def array_split(ary, indices_or_sections, axis=0):
    """Like `split`, but `n` sections need not divide the axis evenly."""
    ary = asarray(ary)
    axis = _axis1(axis, len(_shape(ary)))
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extras = divmod(_shape(ary)[axis], sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        bounds = np.cumsum(sizes)
        return [getitem(ary, _along(axis, slice(int(lo), int(hi))))
                for lo, hi in zip(bounds[:-1], bounds[1:])]
    return _split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections):
    ary = asarray(ary)
    if not _shape(ary):
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return _split(ary, indices_or_sections, 1 if len(_shape(ary)) > 1 else 0)


def vsplit(ary, indices_or_sections):
    ary = asarray(ary)
    if len(_shape(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return _split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    ary = asarray(ary)
    if len(_shape(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return _split(ary, indices_or_sections, 2)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from coordinate vectors ('xy': Cartesian, 'ij': matrix)."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    n = len(xi)
    out = [reshape(asarray(x), (1,) * i + (-1,) + (1,) * (n - i - 1)) for i, x in enumerate(xi)]
    if indexing == "xy" and n > 1:
        out[0] = reshape(out[0], (1, -1) + (1,) * (n - 2))
        out[1] = reshape(out[1], (-1, 1) + (1,) * (n - 2))
    if not sparse:
        out = broadcast_arrays(*out)
    return tuple(out)


STACK_MORE_NAMES = [
    "pad", "take", "take_along_axis", "select", "delete", "append", "dstack", "column_stack",
    "row_stack", "concat", "unstack", "array_split", "hsplit", "vsplit", "dsplit", "meshgrid"]
