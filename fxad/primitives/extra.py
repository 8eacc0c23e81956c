"""Primitives that `fxad.numpy`'s breadth functions need and cannot build from the others.

`argsort`: the stable sorting permutation along one axis. It carries no tangent (its output
is integer); `sort`, `median`, `quantile`, `searchsorted`... are built on it with `gather`,
so they differentiate, batch and stage like any other composite. Being a primitive (not a
NumPy call on a concrete value) is what lets `sort` work under `jit` and `vmap`.
"""
import numpy as np

from ..core import Primitive, ShapedArray


def _argsort_impl(x, axis):
    return np.asarray(np.argsort(x, axis=axis, kind="stable"), np.int64)


def _argsort_aval(x, axis):
    if not 0 <= axis < x.ndim:
        raise ValueError(f"argsort: axis {axis} is out of range for {x}")
    if x.dtype.kind == "c":
        raise TypeError(f"argsort of complex values is not supported ({x})")
    return ShapedArray(x.shape, np.int64)


argsort_p = Primitive("argsort")
argsort_p.nargs = 1
argsort_p.impl = _argsort_impl
argsort_p.abstract_eval = _argsort_aval
argsort_p.jvp = lambda primals, tangents, axis: (argsort_p.bind(*primals, axis=axis), None)
argsort_p.batch = lambda vals, dims, axis: (argsort(vals[0], axis + 1), 0)


def argsort(x, axis):
    """Indices that sort `x` along `axis` (a stable sort; NaNs last, as NumPy)."""
    return argsort_p.bind(x, axis=int(axis))
