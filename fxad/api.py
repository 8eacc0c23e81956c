"""The user-facing transforms: pytrees in and out, `argnums`, `has_aux`, input checks.

The differentiation itself is `fxad.ad`'s; this module adapts user functions to the flat
lists it works on and turns mistakes into clear errors at the user's call site.
"""
import contextlib
import functools

import numpy as np

from . import ad, tree_util
from .core import Tracer, get_aval, is_float, current_interpreter, _current
from .jaxpr import Jaxpr, eval_jaxpr, dce
from .primitives.elementwise import stop_gradient_p

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "linearize", "stop_gradient", "no_grad"]


# --------------------------------------------------------------------------- values


def as_value(x):
    """A leaf as fxad holds it: Python scalars become NumPy scalars, arrays stay."""
    if isinstance(x, (Tracer, np.ndarray, np.generic)):
        return x
    if isinstance(x, (bool, int, float, complex)):
        return np.asarray(x)[()]
    get_aval(x)                                  # raises a clear TypeError
    return x


def to_output(x):
    """Results leave a transform as plain, writeable NumPy arrays (tracers stay inside)."""
    if isinstance(x, Tracer):
        return x
    x = np.asarray(x)
    return x if x.flags.writeable else x.copy()


def _zeros(x):
    aval = get_aval(x)
    return np.zeros(aval.shape, aval.dtype)


def _flatten_fun(fun, in_tree, has_aux=False):
    """`fun` on pytrees -> a function on flat leaves returning the output's leaves followed
    by the aux leaves. Their structures land in the returned `store` dict."""
    store = {}

    def flat_fun(*leaves):
        out = fun(*tree_util.tree_unflatten(in_tree, leaves))
        aux = None
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                got = "an array" if isinstance(out, Tracer) else f"a {type(out).__name__}"
                raise TypeError("has_aux=True requires the function to return a pair "
                                f"(output, aux), but it returned {got}")
            out, aux = out
        out_leaves, store["out_tree"] = tree_util.tree_flatten(out)
        aux_leaves, store["aux_tree"] = tree_util.tree_flatten(aux)
        store["n_out"] = len(out_leaves)
        return [as_value(o) for o in out_leaves + aux_leaves]

    return flat_fun, store


def _split_outputs(store, leaves, has_aux):
    """(output pytree, aux pytree) from the flat leaves `flat_fun` returned."""
    n = store["n_out"]
    out = tree_util.tree_unflatten(store["out_tree"], [to_output(o) for o in leaves[:n]])
    if not has_aux:
        return out, None
    return out, tree_util.tree_unflatten(store["aux_tree"], [to_output(a) for a in leaves[n:]])


def _split_differentiable(leaves):
    """Indices of the leaves that carry derivatives (floating point)."""
    return [i for i, x in enumerate(leaves) if is_float(get_aval(x).dtype)]


def _partial_flat(flat_fun, leaves, diff_idx):
    """`flat_fun` as a function of the leaves at `diff_idx` only (the rest fixed)."""
    def f(*diff_leaves):
        full = list(leaves)
        for i, x in zip(diff_idx, diff_leaves):
            full[i] = x
        return flat_fun(*full)
    return f


# --------------------------------------------------------------------------- jvp


def jvp(fun, primals, tangents, has_aux=False):
    """Forward mode: `(fun(*primals), J(primals) @ tangents)`.

    >>> import fxad, fxad.numpy as fnp
    >>> y, t = fxad.jvp(fnp.sin, (0.0,), (2.0,))
    >>> float(y), float(t)
    (0.0, 2.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp expects primals and tangents as tuples or lists, e.g. "
                        "jvp(f, (x,), (v,)); got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    p_leaves, p_tree = tree_util.tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_util.tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(f"jvp: primals and tangents must have the same structure, got "
                        f"{p_tree} and {t_tree}")
    p_leaves = [as_value(p) for p in p_leaves]
    t_leaves = [_check_tangent(p, t) for p, t in zip(p_leaves, t_leaves)]
    flat_fun, store = _flatten_fun(fun, p_tree, has_aux)
    out, t_out = ad.jvp_flat(flat_fun, p_leaves, t_leaves)
    t_out = [_zeros(o) if t is None else t for o, t in zip(out, t_out)]
    out, aux = _split_outputs(store, out, has_aux)
    t_out, _ = _split_outputs(store, t_out, False)
    return (out, t_out, aux) if has_aux else (out, t_out)


def _check_tangent(p, t):
    p_aval = get_aval(p)
    if not is_float(p_aval.dtype):
        return None                                   # integers carry no tangent
    t = as_value(t)
    t_aval = get_aval(t)
    if t_aval.shape != p_aval.shape:
        raise ValueError(f"jvp: tangent of shape {t_aval.shape} for a primal of shape "
                         f"{p_aval.shape}; each tangent must match its primal's shape")
    if t_aval.dtype != p_aval.dtype:
        if isinstance(t, Tracer):
            raise TypeError(f"jvp: tangent dtype {t_aval.dtype} differs from primal dtype "
                            f"{p_aval.dtype}")
        t = np.asarray(t, p_aval.dtype)[()]
    return t


# --------------------------------------------------------------------------- linearize, vjp


def _linearize(fun, primals, has_aux):
    leaves, in_tree = tree_util.tree_flatten(tuple(primals))
    leaves = [as_value(x) for x in leaves]
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux)
    diff_idx = _split_differentiable(leaves)
    out, jaxpr = ad.linearize_flat(_partial_flat(flat_fun, leaves, diff_idx),
                                   [leaves[i] for i in diff_idx])
    return leaves, in_tree, diff_idx, out, jaxpr, store


def linearize(fun, *primals, has_aux=False):
    """`(fun(*primals), f_jvp)` where `f_jvp(*tangents)` is the linear map
    `J(primals) @ tangents`, evaluated without re-running `fun`.

    >>> import fxad
    >>> y, f_jvp = fxad.linearize(lambda x: x ** 3, 2.0)
    >>> float(y), float(f_jvp(1.0))
    (8.0, 12.0)
    """
    leaves, in_tree, diff_idx, out, jaxpr, store = _linearize(fun, primals, has_aux)
    n_out = store["n_out"]
    jaxpr = dce(Jaxpr(jaxpr.constvars, jaxpr.consts, jaxpr.invars, jaxpr.eqns,
                      jaxpr.outvars[:n_out]))

    def f_jvp(*tangents):
        t_leaves, t_tree = tree_util.tree_flatten(tuple(tangents))
        if t_tree != in_tree:
            raise TypeError(f"linearize: tangents must have the structure of the primals, "
                            f"{in_tree}; got {t_tree}")
        ts = [_check_tangent(leaves[i], t_leaves[i]) for i in diff_idx]
        return _split_outputs(store, eval_jaxpr(jaxpr, *ts), False)[0]

    out, aux = _split_outputs(store, out, has_aux)
    return (out, f_jvp, aux) if has_aux else (out, f_jvp)


def vjp(fun, *primals, has_aux=False):
    """Reverse mode: `(fun(*primals), vjp_fn)` where `vjp_fn(ct)` returns a tuple with one
    cotangent per primal: `ct @ J(primals)`.

    >>> import fxad, numpy as np
    >>> y, vjp_fn = fxad.vjp(lambda x: x * 2.0, np.array([1.0, 2.0]))
    >>> vjp_fn(np.array([1.0, 10.0]))
    (array([ 2., 20.]),)
    """
    return _vjp(fun, primals, has_aux)


def _vjp(fun, primals, has_aux, consume=False):
    """`vjp`; with `consume`, `vjp_fn` may run only once and frees residuals as it goes."""
    leaves, in_tree, diff_idx, out, jaxpr, store = _linearize(fun, primals, has_aux)
    out_tree, n_out, n_aux = store["out_tree"], store["n_out"], len(out) - store["n_out"]
    out_avals = [get_aval(o) for o in out[:n_out]]

    def vjp_fn(ct):
        ct_leaves, ct_tree = tree_util.tree_flatten(ct)
        if ct_tree != out_tree:
            raise TypeError(f"vjp_fn: the cotangent must have the structure of the output, "
                            f"{out_tree}; got {ct_tree}")
        cts = []
        for c, aval in zip(ct_leaves, out_avals):
            c = as_value(c)
            if get_aval(c).shape != aval.shape:
                raise ValueError(f"vjp_fn: cotangent of shape {get_aval(c).shape} for an "
                                 f"output of shape {aval.shape}")
            if not isinstance(c, Tracer) and get_aval(c).dtype != aval.dtype:
                c = np.asarray(c, aval.dtype)[()]
            cts.append(c if is_float(aval.dtype) else None)
        cts_in = ad.backward_pass(jaxpr, cts + [None] * n_aux, consume)
        grads = [None] * len(leaves)
        for i, g in zip(diff_idx, cts_in):
            grads[i] = g
        return tree_util.tree_unflatten(in_tree, [to_output(_zeros(x) if g is None else g)
                                                  for x, g in zip(leaves, grads)])

    out, aux = _split_outputs(store, out, has_aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


# --------------------------------------------------------------------------- grad


def _argnums_tuple(argnums, nargs, name):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not isinstance(i, int) or not -nargs <= i < nargs:
            raise ValueError(f"{name}: argnums={argnums!r} is out of range for a call with "
                             f"{nargs} positional argument(s)")
    return tuple(i % nargs for i in nums)


def check_real(holomorphic, name):
    """JAX's `holomorphic=True` differentiates complex functions: fxad has no complex
    numbers yet, so it says so (the keyword exists for JAX's signatures)."""
    if holomorphic:
        raise NotImplementedError(f"{name}(holomorphic=True) needs complex numbers, which "
                                  "fxad does not support yet")


def check_float_inputs(leaves_by_arg, name, allow_int):
    """Differentiated inputs must be floats, unless `allow_int` (their gradients are then
    zeros of their own dtype; JAX's are of dtype float0)."""
    for i, leaves in leaves_by_arg:
        for leaf in leaves:
            dtype = get_aval(as_value(leaf)).dtype
            if not is_float(dtype) and not allow_int:
                raise TypeError(
                    f"{name} requires float inputs, but argument {i} holds a value of dtype "
                    f"{dtype}. Pass floats (e.g. 3.0 instead of 3, or x.astype(float)), "
                    "leave integer arguments out of `argnums`, or pass allow_int=True "
                    "(their gradients are then zeros).")


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """Like `grad`, but the new function returns `(fun(*args), gradient)`
    (or `((value, aux), gradient)` with `has_aux=True`).

    >>> import fxad
    >>> value, g = fxad.value_and_grad(lambda a, b: 3*a**3 + 2*b**4)(3.0, 2.0)
    >>> float(value), float(g)
    (113.0, 81.0)
    """
    name = getattr(fun, "__name__", "fun")
    check_real(holomorphic, "grad")

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "grad")
        check_float_inputs([(i, tree_util.tree_leaves(args[i])) for i in nums],
                           f"grad of {name}", allow_int)

        def f(*dyn):
            full = list(args)
            for i, a in zip(nums, dyn):
                full[i] = a
            return fun(*full, **kwargs)

        result = _vjp(f, [args[i] for i in nums], has_aux, consume=True)
        out, vjp_fn = result[0], result[1]
        aval = get_aval(out) if isinstance(out, (Tracer, np.ndarray, np.generic,
                                                 float, int)) else None
        if aval is None or aval.shape != () or not is_float(aval.dtype):
            what = (f"a value of shape {aval.shape} and dtype {aval.dtype}" if aval is not None
                    else f"a {type(out).__name__}")
            raise TypeError(
                f"grad requires {name} to return a float scalar, but it returned {what}. "
                "Reduce it to a scalar (e.g. .sum()), or use fxad.vjp (reverse mode) or "
                "fxad.jvp (forward mode) for non-scalar outputs.")
        g = vjp_fn(np.ones((), aval.dtype)[()])
        g = g[0] if isinstance(argnums, int) else g
        return ((out, result[2]), g) if has_aux else (out, g)

    return value_and_grad_fun


def grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The gradient of scalar-valued `fun` with respect to argument(s) `argnums`.

    The result has the structure of those arguments (a tuple of them when `argnums` is a
    tuple); arguments may be pytrees of float arrays (integer ones with `allow_int`,
    getting zero gradients). `holomorphic=True` (complex functions) is not supported.

    >>> import fxad
    >>> f = lambda a, b: 3*a**3 + 2*b**4
    >>> [float(g) for g in fxad.grad(f, argnums=(0, 1))(3.0, 2.0)]
    [81.0, 64.0]
    """
    value_and_grad_fun = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        (value, g) = value_and_grad_fun(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_fun


# --------------------------------------------------------------------------- stopping


def stop_gradient(x):
    """`x` (any pytree) with its derivatives cut: every transform sees a constant.

    >>> import fxad
    >>> float(fxad.grad(lambda a: fxad.stop_gradient(a * a) + a)(3.0))
    1.0
    """
    return tree_util.tree_map(
        lambda leaf: stop_gradient_p.bind(leaf) if isinstance(leaf, Tracer) else leaf, x)


@contextlib.contextmanager
def no_grad():
    """Inside the block, everything computed is a constant to the enclosing transforms
    (like `torch.no_grad()`; equivalent to `stop_gradient` on every result).

    >>> import fxad
    >>> def f(x):
    ...     with fxad.no_grad():
    ...         scale = x * 2.0
    ...     return scale * x
    >>> float(fxad.grad(f)(3.0))      # d/dx (c * x) with c = 6 held fixed
    6.0
    """
    token = _current.set(ad.NoGradInterpreter(current_interpreter()))
    try:
        yield
    finally:
        _current.reset(token)
