"""Jacobians and Hessians: `vmap` of `jvp` over input basis vectors (`jacfwd`) or of
`vjp` over output basis vectors (`jacrev`), with JAX's signatures and pytree layout
(the output's structure, each leaf holding the input's structure)."""
import functools

import numpy as np

from . import tree_util
from . import numpy as fnp
from .api import as_value, jvp, vjp, _argnums_tuple, check_real, check_float_inputs
from .batching import vmap
from .core import get_aval

__all__ = ["jacfwd", "jacrev", "hessian"]


def _dyn_args(fun, args, kwargs, argnums, name, allow_int=False):
    """(function of the differentiated args, those args, whether argnums was an int)."""
    nums = _argnums_tuple(argnums, len(args), name)
    dyn = tuple(args[i] for i in nums)
    check_float_inputs([(i, tree_util.tree_leaves(args[i])) for i in nums], name, allow_int)

    def f(*dyn_args):
        full = list(args)
        for i, a in zip(nums, dyn_args):
            full[i] = a
        return fun(*full, **kwargs)

    return f, dyn, isinstance(argnums, int)


def _basis(leaves):
    """The identity as one flat basis, and how to cut a basis vector into the leaves."""
    avals = [get_aval(x) for x in leaves]
    sizes = [a.size for a in avals]
    dtype = np.result_type(*[a.dtype for a in avals]) if avals else np.float64
    offsets = np.cumsum([0] + sizes)

    def split(vec):
        return [fnp.astype(fnp.reshape(vec[offsets[k]:offsets[k + 1]], a.shape), a.dtype)
                for k, a in enumerate(avals)]

    return np.eye(int(offsets[-1]), dtype=dtype), avals, offsets, split


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of `fun` by forward mode: one `jvp` per input element, vectorised.

    >>> import fxad, fxad.numpy as fnp, numpy as np
    >>> fxad.jacfwd(lambda x: fnp.sin(x) * 2.0)(np.zeros(2))
    array([[2., 0.],
           [0., 2.]])
    """
    check_real(holomorphic, "jacfwd")

    @functools.wraps(fun)
    def jacfun(*args, **kwargs):
        f, dyn, single = _dyn_args(fun, args, kwargs, argnums, "jacfwd")
        in_leaves, in_tree = tree_util.tree_flatten(dyn)
        in_leaves = [as_value(x) for x in in_leaves]
        eye, in_avals, offsets, split = _basis(in_leaves)

        def push(vec):
            tangents = tree_util.tree_unflatten(in_tree, split(vec))
            res = jvp(f, tree_util.tree_unflatten(in_tree, in_leaves), tangents,
                      has_aux=has_aux)
            return (res[1], res[2]) if has_aux else res[1]

        res = vmap(push, out_axes=(0, None) if has_aux else 0)(eye)
        jac, aux = res if has_aux else (res, None)
        out_leaves, out_tree = tree_util.tree_flatten(jac)   # each (n_in_total, *out_shape)
        blocks = [[fnp.reshape(fnp.moveaxis(o[offsets[k]:offsets[k + 1]], 0, -1),
                               fnp.shape(o)[1:] + a.shape) for k, a in enumerate(in_avals)]
                  for o in out_leaves]
        result = _structure(blocks, out_tree, in_tree, single)
        return (result, aux) if has_aux else result

    return jacfun


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The Jacobian of `fun` by reverse mode: one `vjp` per output element, vectorised.
    With `allow_int`, integer inputs get zero blocks.

    >>> import fxad, fxad.numpy as fnp, numpy as np
    >>> fxad.jacrev(lambda x: fnp.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    check_real(holomorphic, "jacrev")

    @functools.wraps(fun)
    def jacfun(*args, **kwargs):
        f, dyn, single = _dyn_args(fun, args, kwargs, argnums, "jacrev", allow_int)
        in_leaves, in_tree = tree_util.tree_flatten(dyn)
        in_avals = [get_aval(as_value(x)) for x in in_leaves]
        res = vjp(f, *dyn, has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        out_leaves, out_tree = tree_util.tree_flatten(out)
        eye, out_avals, offsets, split = _basis(out_leaves)
        pull = lambda vec: vjp_fn(tree_util.tree_unflatten(out_tree, split(vec)))
        if len(eye) == 1:                  # a scalar output: one vjp, no batch axis needed
            cols = tree_util.tree_map(lambda c: fnp.reshape(c, (1,) + fnp.shape(c)), pull(eye[0]))
        else:
            cols = vmap(pull)(eye)
        col_leaves = tree_util.tree_leaves(cols)           # each (n_out_total, *in_shape)
        blocks = [[fnp.reshape(c[offsets[j]:offsets[j + 1]], o.shape + a.shape)
                   for c, a in zip(col_leaves, in_avals)] for j, o in enumerate(out_avals)]
        result = _structure(blocks, out_tree, in_tree, single)
        return (result, res[2]) if has_aux else result

    return jacfun


def _structure(blocks, out_tree, in_tree, single):
    """Out-structure of in-structure: `blocks[j][k]` is d out_j / d in_k."""
    per_out = []
    for row in blocks:
        ins = tree_util.tree_unflatten(in_tree, row)        # a tuple over argnums
        per_out.append(ins[0] if single else ins)
    return tree_util.tree_unflatten(out_tree, per_out)


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Hessian of scalar `fun`: `jacfwd(jacrev(fun))`.

    >>> import fxad, numpy as np
    >>> fxad.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    check_real(holomorphic, "hessian")
    return jacfwd(jacrev(fun, argnums, has_aux), argnums, has_aux)
