"""Batching (`vmap`): the batch interpreter and the helpers batch rules share.

A batched value carries its batch axis first (axis 0), always; values without a batch
axis pass through untouched. Each primitive's `batch(vals, dims, **params)` rule gets
`dims[i]` = 0 (batched) or None and returns `(out, out_dims)` in the same convention.
Every primitive has a rule that handles the whole batch at once (no per-example loop).
"""
import functools

import numpy as np

from . import tree_util
from .core import (Interpreter, Tracer, ShapedArray, get_aval, using, current_interpreter,
                   _current)
from .errors import ConcretizationTypeError


class BatchTracer(Tracer):
    """A batch of values, stacked along axis 0 of `val`; its aval is one example's."""

    def __init__(self, interp, val):
        self._interp, self.val = interp, val

    @property
    def aval(self):
        a = get_aval(self.val)
        return ShapedArray(a.shape[1:], a.dtype)

    shape = property(lambda self: get_aval(self.val).shape[1:])
    dtype = property(lambda self: get_aval(self.val).dtype)

    def concrete_value(self, what):
        raise ConcretizationTypeError(
            f"{what} needs one concrete value, but under vmap the value differs across the "
            f"batch ({self.aval}). Use fxad.numpy.where or fxad.lax.cond, which batch.")


class BatchInterpreter(Interpreter):
    def __init__(self, parent, size):
        self.parent, self.size = parent, size

    def process(self, prim, args, params):
        vals, dims, mine = [], [], False
        for a in args:
            if type(a) is BatchTracer and a._interp is self:
                vals.append(a.val)
                dims.append(0)
                mine = True
            else:
                vals.append(a)
                dims.append(None)
        if not mine:
            return self.parent.process(prim, args, params)
        rule = prim.batch
        if rule is None:
            raise NotImplementedError(f"vmap: the primitive `{prim}` has no batch rule")
        token = _current.set(self.parent)
        try:
            out, out_dims = rule(vals, dims, **params)
        finally:
            _current.reset(token)
        if prim.multiple_results:
            return [BatchTracer(self, o) if d == 0 else o for o, d in zip(out, out_dims)]
        return BatchTracer(self, out) if out_dims == 0 else out


# --------------------------------------------------------------------------- rule helpers


def batch_size(vals, dims):
    return next(get_aval(v).shape[0] for v, d in zip(vals, dims) if d == 0)


def materialize(v, d, size):
    """`v` with a leading batch axis of `size` (broadcasting it if it has none)."""
    if d == 0:
        return v
    from .primitives.structural import broadcast_in_dim
    shape = get_aval(v).shape
    return broadcast_in_dim(v, (size,) + shape, tuple(range(1, len(shape) + 1)))


def batched_call(fun, args, dims, size):
    """Run `fun` (flat lists in and out) on a batch of `size`, where `args[i]` carries a
    leading batch axis if `dims[i] == 0`: (outputs, out_dims), an output batched (0) only
    where it depends on a batched input. Rules use it to batch their sub-programs."""
    interp = BatchInterpreter(current_interpreter(), size)
    with using(interp):
        outs = fun(*[BatchTracer(interp, a) if d == 0 else a for a, d in zip(args, dims)])
    mine = [type(o) is BatchTracer and o._interp is interp for o in outs]
    return [o.val if m else o for o, m in zip(outs, mine)], [0 if m else None for m in mine]


def elementwise_batch(prim):
    """Rule for shape-strict elementwise primitives: bring every operand that is not a
    rank-0 constant to the batched full shape."""
    def rule(vals, dims, **params):
        size = batch_size(vals, dims)
        shape = max((get_aval(v).shape[1:] if d == 0 else get_aval(v).shape
                     for v, d in zip(vals, dims)), key=len)
        from .primitives.structural import broadcast_in_dim
        args = []
        for v, d in zip(vals, dims):
            vshape = get_aval(v).shape
            if d is None and vshape == ():
                args.append(v)                               # a scalar stands for all
            elif d is None:
                args.append(broadcast_in_dim(v, (size,) + shape, range(1, len(shape) + 1)))
            elif vshape[1:] != shape:
                args.append(broadcast_in_dim(v, (size,) + shape, (0,)))
            else:
                args.append(v)
        return prim.bind(*args, **params), 0
    return rule


# --------------------------------------------------------------------------- vmap


def _axis_spec(axes, tree, name):
    """Broadcast an int/None prefix `axes` over pytree `tree`: one axis per leaf."""
    if axes is None or isinstance(axes, int):
        return [axes] * len(tree_util.tree_leaves(tree))
    if isinstance(axes, (list, tuple)) and isinstance(tree, (list, tuple)) and \
            len(axes) == len(tree):
        return [a for ax, t in zip(axes, tree) for a in _axis_spec(ax, t, name)]
    if isinstance(axes, dict) and isinstance(tree, dict) and set(axes) == set(tree):
        return [a for k in sorted(tree) for a in _axis_spec(axes[k], tree[k], name)]
    raise ValueError(f"vmap {name}={axes!r} does not match the structure of the values "
                     f"({tree_util.tree_structure(tree)}); give an int, None, or a "
                     "matching tuple/list/dict prefix")


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None):
    """Vectorise `fun` over a batch axis of its arguments (`in_axes`: int or None per
    argument, or a pytree prefix) without a Python loop; outputs get the batch axis at
    `out_axes`. `axis_size` gives the batch size where no argument is mapped (and is
    checked otherwise). Named axes (`axis_name`, for collectives) are not supported.

    >>> import fxad, fxad.numpy as fnp, numpy as np
    >>> fxad.vmap(lambda x, y: fnp.dot(x, y), in_axes=(0, None))(np.eye(2), np.array([1., 2.]))
    array([1., 2.])
    >>> fxad.vmap(lambda: np.float64(1.0), axis_size=3)()
    array([1., 1., 1.])
    """
    from .api import as_value, to_output
    from .primitives.structural import transpose
    if axis_name is not None:
        raise NotImplementedError("vmap: axis_name (named axes for collectives such as "
                                  "psum) is not supported by fxad; leave it None")

    @functools.wraps(fun)
    def vmapped(*args):
        axes = in_axes if isinstance(in_axes, (list, tuple)) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(axes)} entries for {len(args)} "
                             "arguments")
        leaves, in_tree = tree_util.tree_flatten(args)
        leaf_axes = _axis_spec(tuple(axes), args, "in_axes")
        leaves = [as_value(x) for x in leaves]
        for x, a in zip(leaves, leaf_axes):
            nd = get_aval(x).ndim
            if a is not None and not -nd <= a < nd:
                raise ValueError(f"vmap in_axes={a} is out of range for an argument of "
                                 f"rank {nd} (shape {get_aval(x).shape})")
        sizes = {get_aval(x).shape[a] for x, a in zip(leaves, leaf_axes) if a is not None}
        if axis_size is not None:
            sizes.add(int(axis_size))
        if len(sizes) != 1:
            raise ValueError("vmap needs one batch size: the mapped axes have sizes "
                             f"{sorted(sizes) or 'none (every in_axes is None)'}"
                             + ("" if sizes or axis_size else "; pass axis_size=n")
                             + (f" (axis_size={axis_size})" if axis_size is not None
                                and len(sizes) > 1 else ""))
        size = sizes.pop()
        interp = BatchInterpreter(current_interpreter(), size)
        with using(interp):
            ins = []
            for x, a in zip(leaves, leaf_axes):
                if a is None:
                    ins.append(x)
                    continue
                nd = get_aval(x).ndim
                a = a % nd
                perm = (a,) + tuple(i for i in range(nd) if i != a)
                ins.append(BatchTracer(interp, transpose(x, perm)))
            out = fun(*tree_util.tree_unflatten(in_tree, ins))
            out_leaves, out_tree = tree_util.tree_flatten(out)
            o_axes = _axis_spec(out_axes, out, "out_axes")
            results = [_place(interp, o, a, size) for o, a in zip(out_leaves, o_axes)]
        return tree_util.tree_unflatten(out_tree, [to_output(r) for r in results])

    return vmapped


def _place(interp, o, axis, size):
    """An output leaf with its batch axis moved to `axis` (or checked absent if None)."""
    from .primitives.structural import transpose
    batched = type(o) is BatchTracer and o._interp is interp
    if axis is None:
        if batched:
            raise ValueError("vmap out_axes=None, but the output varies across the batch")
        return o
    val = o.val if batched else materialize(as_array(o), None, size)
    nd = get_aval(val).ndim
    axis = axis % nd
    perm = tuple(range(1, axis + 1)) + (0,) + tuple(range(axis + 1, nd))
    return transpose(val, perm)


def as_array(x):
    return x if isinstance(x, (Tracer, np.ndarray, np.generic)) else np.asarray(x)


__all__ = ["vmap", "BatchTracer", "BatchInterpreter", "batched_call", "elementwise_batch",
           "materialize", "batch_size"]
