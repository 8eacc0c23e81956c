"""`fxad.lax`: the shape-strict primitive operations themselves (JAX's `lax` layer).

Operands must already agree in dtype and shape (a rank-0 operand may stand for a full
array); `fxad.numpy` is the friendly layer that broadcasts and promotes on top of these.

>>> import numpy as np, fxad
>>> fxad.lax.add(np.ones(2), np.float64(1.0))
array([2., 2.])
"""
from .primitives.elementwise import (  # noqa: F401
    neg, add, sub, mul, div, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, asinh, acosh,
    atanh, exp, exp2, expm1, log, log2, log10, log1p, sqrt, cbrt, abs, integer_pow, pow, max,
    min, atan2, rem, sign, floor, ceil, round, floor_divide, eq, ne, lt, le, gt, ge, select,
    convert_element_type, is_finite, and_, or_, xor, not_, stop_gradient_p)
from .primitives.structural import (  # noqa: F401
    broadcast_in_dim, reshape, transpose, reduce_sum, reduce_max, reduce_min, argmax, argmin,
    cumsum, concatenate, gather, scatter_add, einsum, IndexSpec)
from .primitives.control_flow import (  # noqa: E402
    cond_p, while_p, scan_p, trace_closed, hoist_all)
from . import tree_util as _tu                                          # noqa: E402
from .core import get_aval as _get_aval              # noqa: E402
import numpy as _np                                                     # noqa: E402


from .core import concrete_or_none as _concrete_or_none              # noqa: E402
from .api import as_value as _as_value                                  # noqa: E402
from .staging import tracing_program                                    # noqa: E402


def _all_concrete(tree):
    return all(_concrete_or_none(x) is not None for x in _tu.tree_leaves(tree))


def _own(tree):
    """Copies of the arrays in `tree`, for a body run as plain Python: as when it is
    staged, a body that assigns into its argument (`c[i] = v`) must not change the
    caller's array."""
    from .numpy._base import fresh
    return _tu.tree_map(fresh, tree)


def _trace_flat(fun, in_tree, avals):
    """Trace pytree function `fun` on flat avals: (closed jaxpr, consts, out treedef)."""
    store = {}

    def flat(*leaves):
        out = fun(*_tu.tree_unflatten(in_tree, leaves))
        out_leaves, store["tree"] = _tu.tree_flatten(out)
        return [_as_value(o) for o in out_leaves]

    jaxpr, consts = trace_closed(flat, avals)
    return jaxpr, consts, store["tree"]


def switch(index, branches, *operands):
    """Apply `branches[index]` to `operands` (index clipped to the valid range).
    Under `jit` both branches are traced and the choice is made at run time.

    >>> import fxad
    >>> fxad.lax.switch(1, [lambda x: x + 1.0, lambda x: x * 10.0], 2.0)
    20.0
    """
    branches = list(branches)
    i = _concrete_or_none(index)
    if i is not None:
        return branches[int(_np.clip(i, 0, len(branches) - 1))](*_own(operands))
    leaves, in_tree = _tu.tree_flatten(operands)
    leaves = [_as_value(x) for x in leaves]
    avals = [_get_aval(x) for x in leaves]
    traced = [_trace_flat(lambda *ops, b=b: b(*ops), in_tree, avals)
              for b in branches]
    trees = {t for _, _, t in traced}
    types = {tuple(j.out_avals) for j, _, _ in traced}
    if len(trees) > 1 or len(types) > 1:
        raise TypeError("cond/switch branches must return the same structure and types; got "
                        + "; ".join(f"{t}: {list(j.out_avals)}" for j, _, t in traced))
    jaxprs, consts = hoist_all([j for j, _, _ in traced], [c for _, c, _ in traced])
    index = convert_element_type(index, _np.int32)
    outs = cond_p.bind(index, *consts, *leaves, branches=tuple(jaxprs))
    return _tu.tree_unflatten(traced[0][2], outs)


def cond(pred, true_fun, false_fun, *operands):
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`, differentiable, and
    staged as one `cond` primitive under `jit` (where `pred` is only known at run time).

    >>> import fxad
    >>> float(fxad.grad(lambda x: fxad.lax.cond(x > 0, lambda v: v * v, lambda v: -v, x))(3.0))
    6.0
    """
    return switch(pred, [false_fun, true_fun], *operands)


def while_loop(cond_fun, body_fun, init_val):
    """`while cond_fun(val): val = body_fun(val)`. Eagerly (values concrete) it runs as a
    Python loop, differentiable in both modes; under `jit` it is a `while` primitive
    (forward-mode differentiable; use `fori_loop`/`scan` for reverse mode there).

    >>> import fxad
    >>> fxad.lax.while_loop(lambda v: v < 10, lambda v: v * 2, 1)
    16
    """
    val = _own(init_val)
    while not tracing_program():
        c = _concrete_or_none(cond_fun(val))
        if c is None:
            break
        if not c:
            return val
        val = body_fun(val)
    leaves, in_tree = _tu.tree_flatten(val)
    leaves = [_as_value(x) for x in leaves]
    avals = [_get_aval(x) for x in leaves]
    arg_tree = _tu.tree_structure((val,))
    cond_j, cond_c, _ = _trace_flat(cond_fun, arg_tree, avals)
    body_j, body_c, body_tree = _trace_flat(body_fun, arg_tree, avals)
    if len(cond_j.outvars) != 1 or cond_j.out_avals[0].shape != ():
        raise TypeError(f"while_loop: cond_fun must return a scalar boolean, got "
                        f"{cond_j.out_avals}")
    if body_tree != in_tree or body_j.out_avals != avals:
        raise TypeError(f"while_loop: body_fun must return the carry's structure and types "
                        f"{in_tree} {avals}; got {body_tree} {body_j.out_avals}")
    outs = while_p.bind(*cond_c, *body_c, *leaves, cond_jaxpr=cond_j, body_jaxpr=body_j,
                        cond_nconsts=len(cond_c), body_nconsts=len(body_c))
    return _tu.tree_unflatten(in_tree, outs)


def fori_loop(lower, upper, body_fun, init_val):
    """`for i in range(lower, upper): val = body_fun(i, val)`. With constant bounds it is
    a `scan` under `jit` (so reverse mode works); eagerly it is a Python loop.

    >>> import fxad
    >>> fxad.lax.fori_loop(0, 4, lambda i, total: total + i, 0)
    6
    """
    lo, hi = _concrete_or_none(lower), _concrete_or_none(upper)
    if lo is not None and hi is not None:
        lo, hi = int(lo), int(hi)
        if not tracing_program() and _all_concrete(init_val):
            val = _own(init_val)
            for i in range(lo, hi):
                val = body_fun(i, val)
            return val

        def step(carry, _):
            i, val = carry
            return (i + 1, body_fun(i, val)), None

        return scan(step, (_np.int64(lo), init_val), None, length=max(hi - lo, 0))[0][1]
    _, _, val = while_loop(lambda c: c[0] < c[1],
                           lambda c: (c[0] + 1, c[1], body_fun(c[0], c[2])),
                           (lower, upper, init_val))
    return val


def scan(f, init, xs=None, length=None, reverse=False):
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`; returns
    `(final carry, stacked ys)`. Differentiable in both modes, also under `jit`.

    >>> import fxad, numpy as np
    >>> carry, ys = fxad.lax.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 4.0))
    >>> float(carry), ys.tolist()
    (6.0, [0.0, 2.0, 9.0])
    """
    x_leaves, x_tree = _tu.tree_flatten(xs)
    x_leaves = [_as_value(x) for x in x_leaves]
    lengths = {_get_aval(x).shape[0] for x in x_leaves if _get_aval(x).shape}
    if length is None:
        if len(lengths) != 1:
            raise ValueError(f"scan: xs leaves need one common leading length (got "
                             f"{sorted(lengths) or 'no xs'}); pass `length` when xs is None")
        length = lengths.pop()
    elif lengths and lengths != {length}:
        raise ValueError(f"scan: length={length} differs from the leading axes {lengths}")
    c_leaves, c_tree = _tu.tree_flatten(init)
    c_leaves = [_as_value(c) for c in c_leaves]
    order = range(length - 1, -1, -1) if reverse else range(length)
    if length and not tracing_program() and _all_concrete(c_leaves + x_leaves):
        carry, ys = _own(init), []
        for i in order:
            carry, y = f(carry, _tu.tree_unflatten(x_tree, [x[i] for x in x_leaves]))
            ys.append(y)
        if reverse:
            ys.reverse()
        from . import numpy as fnp
        return carry, _tu.tree_map(lambda *l: fnp.stack(l), *ys)
    c_avals = [_get_aval(c) for c in c_leaves]
    x_avals = [_get_aval(x) for x in x_leaves]
    from .core import ShapedArray
    slice_avals = [ShapedArray(a.shape[1:], a.dtype) for a in x_avals]
    store = {}

    def body(*leaves):
        carry = _tu.tree_unflatten(c_tree, leaves[:len(c_leaves)])
        x = _tu.tree_unflatten(x_tree, leaves[len(c_leaves):])
        new_carry, y = f(carry, x)
        nc_leaves, store["carry_tree"] = _tu.tree_flatten(new_carry)
        y_leaves, store["y_tree"] = _tu.tree_flatten(y)
        return [_as_value(v) for v in nc_leaves + y_leaves]

    jaxpr, consts = trace_closed(body, c_avals + slice_avals)
    if store["carry_tree"] != c_tree or jaxpr.out_avals[:len(c_leaves)] != c_avals:
        raise TypeError(f"scan: f must return a carry of the same structure and types as "
                        f"init, {c_tree} {c_avals}; got {store['carry_tree']} "
                        f"{jaxpr.out_avals[:len(c_leaves)]}")
    outs = scan_p.bind(*consts, *c_leaves, *x_leaves, body=jaxpr, num_consts=len(consts),
                       num_carry=len(c_leaves), length=int(length), reverse=bool(reverse))
    return (_tu.tree_unflatten(c_tree, outs[:len(c_leaves)]),
            _tu.tree_unflatten(store["y_tree"], outs[len(c_leaves):]))
