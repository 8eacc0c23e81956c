"""Functional indexed updates, JAX's `x.at[idx].set(v)` (also `.add`, `.subtract`,
`.multiply`, `.divide`, `.power`, `.min`, `.max`, `.get`): a new array, `x` unchanged.

Traced values have the `.at` property; for any array (NumPy ones too) use
`fxad.numpy.at(x)[idx]...`. Updates are scatters (`scatter_add` into zeros, then `where`
with the mask of updated positions), so they differentiate in `x` and in the values,
batch and stage. On a traced value, Python's `x[idx] = v` is `x.at[idx].set(v)` done in
place (see `fxad/numpy/_tracer.py`).

Repeated indices: `add` accumulates (like `numpy.add.at`); with concrete indices `set`
keeps the last update (as NumPy's assignment does) and `multiply`/`divide`/`power`/`min`/
`max` apply every update in turn. With abstract indices (under `jit` or batched by
`vmap`), `set` averages repeated updates, and the other operations need
`unique_indices=True`.
"""

import numpy as np

from ..core import get_aval, concrete_or_none, is_float
from ..primitives import elementwise as ew
from ..primitives import structural as st
from . import _elementwise as el
from ._base import asarray
from ._shape import getitem, broadcast_to, reshape, parse_index as _parse_index


def _occurrences(flat):
    """For each entry of `flat`, how many earlier entries hold the same value, and whether
    it is the last of its value."""
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    starts = np.r_[True, s[1:] != s[:-1]] if s.size else np.zeros(0, np.bool_)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(s.size), 0)) \
        if s.size else np.zeros(0, np.int64)
    rank = np.empty(flat.size, np.int64)
    rank[order] = np.arange(s.size) - group_start
    ends = np.r_[s[1:] != s[:-1], True] if s.size else np.zeros(0, np.bool_)
    last = np.empty(flat.size, np.bool_)
    last[order] = ends
    return rank, last


def _combine(op, x, s, mask):
    """`x` updated by scattered values `s` where `mask` (a boolean array of x's shape)."""
    if op == "set":
        return el.where(mask, s, x)
    if op == "multiply":
        return el.multiply(x, el.where(mask, s, 1))
    if op == "divide":
        return el.true_divide(x, el.where(mask, s, 1))
    if op == "power":
        return el.where(mask, el.power(x, el.where(mask, s, 1)), x)
    if op == "min":
        return el.where(mask, el.minimum(x, s), x)
    if op == "max":
        return el.where(mask, el.maximum(x, s), x)
    raise ValueError(op)


def _update(x, index, values, op, unique_indices=False):
    x = asarray(x)
    aval = get_aval(x)
    v = ew.convert_element_type(asarray(values), aval.dtype)
    mask = _whole_mask(index, aval.shape)
    if mask is not None and get_aval(v).size == 1:   # x[x > 0] = 1.0: no concrete mask needed
        v = reshape(v, ())
        return el.add(x, el.where(mask, v, 0)) if op == "add" else _combine(op, x, v, mask)
    spec, arrays = _parse_index(index)
    idx_shape = st._index_shape(aval.shape, spec, [get_aval(a) for a in arrays])
    extra = get_aval(v).ndim - len(idx_shape)
    if extra > 0 and not any(n != 1 for n in get_aval(v).shape[:extra]):
        v = reshape(v, get_aval(v).shape[extra:])     # leading 1s go, as in NumPy
    if get_aval(v).shape != idx_shape:
        v = broadcast_to(v, idx_shape)
    if op == "add":
        return el.add(x, st.scatter_add(v, arrays, spec, aval.shape))
    known = [concrete_or_none(a) for a in arrays]
    zero = np.zeros((), aval.dtype)
    if all(k is not None for k in known):
        arrays = [np.asarray(k) for k in known]
        flat = np.arange(aval.size).reshape(aval.shape)[spec.build(arrays)].ravel()
        rank, last = _occurrences(flat)
        layers = [last] if op == "set" else [rank == r for r in range(
            int(rank.max()) + 1 if rank.size else 0)]
        for sel in layers:
            mask = np.zeros(aval.size, np.bool_)
            mask[flat[sel]] = True
            vv = v if sel.all() else el.where(sel.reshape(idx_shape), v, zero)
            x = _combine(op, x, st.scatter_add(vv, arrays, spec, aval.shape),
                         mask.reshape(aval.shape))
        return x
    count_dtype = aval.dtype if is_float(aval.dtype) else np.dtype(np.int64)
    counts = st.scatter_add(np.ones(idx_shape, count_dtype), arrays, spec, aval.shape)
    mask = el.greater(counts, 0)
    s = st.scatter_add(v, arrays, spec, aval.shape)
    if op == "set":
        if not unique_indices:          # repeated abstract indices: the mean of the updates
            safe = el.where(mask, counts, 1)
            s = el.true_divide(s, safe) if is_float(aval.dtype) else \
                ew.convert_element_type(el.floor_divide(s, safe), aval.dtype)
        return el.where(mask, s, x)
    if not unique_indices:
        raise NotImplementedError(
            f"x.at[...].{op} with traced index arrays (under jit or vmap) needs "
            f"unique_indices=True (fxad cannot order repeated updates it cannot see)")
    return _combine(op, x, s, mask)


def _whole_mask(index, shape):
    """`index` if it is one boolean array of shape `shape` (a mask of every element)."""
    m = index[0] if type(index) is tuple and len(index) == 1 else index
    return m if hasattr(m, "dtype") and m.dtype == np.bool_ and get_aval(m).shape == shape \
        else None


class _IndexUpdateRef:
    """`x.at[index]`: the operations that return an updated copy of `x`."""
    __slots__ = ("x", "index")

    def __init__(self, x, index):
        self.x, self.index = x, index

    def get(self, **kwargs):
        """`x[index]`."""
        return getitem(self.x, self.index)

    def set(self, values, *, unique_indices=False, **kwargs):
        """`x` with `x[index] = values`."""
        return _update(self.x, self.index, values, "set", unique_indices)

    def add(self, values, *, unique_indices=False, **kwargs):
        """`x` with `x[index] += values` (repeated indices accumulate)."""
        return _update(self.x, self.index, values, "add", unique_indices)

    def subtract(self, values, *, unique_indices=False, **kwargs):
        return self.add(el.negative(values), unique_indices=unique_indices)

    def multiply(self, values, *, unique_indices=False, **kwargs):
        """`x` with `x[index] *= values`."""
        return _update(self.x, self.index, values, "multiply", unique_indices)

    mul = multiply

    def divide(self, values, *, unique_indices=False, **kwargs):
        return _update(self.x, self.index, values, "divide", unique_indices)

    def power(self, values, *, unique_indices=False, **kwargs):
        return _update(self.x, self.index, values, "power", unique_indices)

    def min(self, values, *, unique_indices=False, **kwargs):  # noqa: A003
        """`x` with `x[index] = minimum(x[index], values)`."""
        return _update(self.x, self.index, values, "min", unique_indices)

    def max(self, values, *, unique_indices=False, **kwargs):  # noqa: A003
        return _update(self.x, self.index, values, "max", unique_indices)

    def __repr__(self):
        return f"_IndexUpdateRef({self.x!r}, {self.index!r})"


class _IndexUpdateHelper:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, index):
        return _IndexUpdateRef(self.x, index)


def at(x):
    """Functional indexed updates of any array: `at(x)[idx].set(v)` is a copy of `x` with
    `x[idx] = v` (see the module docstring for `add`, `multiply`, `min`...). Traced values
    offer the same as `x.at[idx]`.

    >>> import numpy as np, fxad, fxad.numpy as fnp
    >>> fnp.at(np.zeros(3))[1].set(5.0)
    array([0., 5., 0.])
    >>> float(fxad.grad(lambda v: fnp.sum(fnp.at(np.ones(3))[[0, 2]].multiply(v) ** 2))(2.0))
    8.0
    """
    return _IndexUpdateHelper(asarray(x))


AT_NAMES = ["at"]
