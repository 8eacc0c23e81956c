"""User-defined derivative rules (`custom_jvp`, `custom_vjp`) and `checkpoint` (remat).

`custom_jvp_call` and `custom_vjp_call` are primitives whose params are the user's
(flattened) Python functions, so every interpreter handles them: evaluation calls the
function, the JVP interpreter calls the rule, `vmap` batches function and rule together,
staging records the call. Reverse mode for `custom_vjp` goes through `custom_lin`, a
linear primitive whose transpose is the user's `bwd`.
"""
import functools

import numpy as np

from . import tree_util
from .api import as_value
from .core import Primitive, ShapedArray, UndefinedPrimal, get_aval, is_float, EVAL, run_in
from .primitives.control_flow import cond_p, trace_closed
from .staging import trace_to_jaxpr

__all__ = ["custom_jvp", "custom_vjp", "checkpoint"]


def _out_avals(fun, avals):
    return trace_to_jaxpr(fun, list(avals)).out_avals


def _zeros(x):
    a = get_aval(x)
    return np.zeros(a.shape, a.dtype)


class _FlatCall:
    """One call of a custom function on flat leaves: splits `nondiff_argnums` off,
    flattens the rest, and records output structures in `store`."""

    def __init__(self, custom, args):
        self.args, self.fun = args, custom.fun
        self.static = [args[i] for i in custom.nondiff_argnums]
        self.dyn_idx = [i for i in range(len(args)) if i not in custom.nondiff_argnums]
        self.dyn = tuple(args[i] for i in self.dyn_idx)
        leaves, self.in_tree = tree_util.tree_flatten(self.dyn)
        self.leaves = [as_value(x) for x in leaves]
        self.store = {"out_tree": None}

    def full(self, flat):
        """All arguments, with the differentiable ones taken from `flat` leaves."""
        out = list(self.args)
        for i, a in zip(self.dyn_idx, tree_util.tree_unflatten(self.in_tree, flat)):
            out[i] = a
        return out

    def record(self, out, key="out_tree"):
        leaves, self.store[key] = tree_util.tree_flatten(out)
        return [as_value(o) for o in leaves]

    def fun_flat(self, *flat):
        return self.record(self.fun(*self.full(flat)))

    def unflatten(self, outs):
        if self.store["out_tree"] is None:       # no user function ran: trace for it
            trace_to_jaxpr(self.fun_flat, [get_aval(x) for x in self.leaves])
        return tree_util.tree_unflatten(self.store["out_tree"], outs)


# --------------------------------------------------------------------------- custom_jvp

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.nargs = None
custom_jvp_call_p.impl = lambda *args, fun, jvp, name: run_in(EVAL, fun, *args)
custom_jvp_call_p.abstract_eval = lambda *avals, fun, jvp, name: _out_avals(fun, avals)


def _custom_jvp_rule(primals, tangents, fun, jvp, name):
    tangents = [_zeros(p) if t is None and is_float(get_aval(p).dtype) else t
                for p, t in zip(primals, tangents)]
    out, t_out = jvp(list(primals), tangents)
    return out, [t if is_float(get_aval(o).dtype) else None for o, t in zip(out, t_out)]


def _custom_jvp_batch(vals, dims, fun, jvp, name):
    from .batching import vmap
    fun_b = vmap(lambda *a: fun(*a), in_axes=tuple(dims))
    jvp_b = vmap(lambda p, t: tuple(jvp(list(p), list(t))), in_axes=(list(dims), list(dims)))
    out = custom_jvp_call_p.bind(*vals, fun=fun_b, jvp=lambda p, t: jvp_b(p, t), name=name)
    return out, [0] * len(out)


custom_jvp_call_p.jvp = _custom_jvp_rule
custom_jvp_call_p.batch = _custom_jvp_batch


class custom_jvp:
    """A function with a user-given JVP rule (JAX semantics): every transform uses the
    rule instead of differentiating the function's body.

    >>> import fxad, fxad.numpy as fnp
    >>> @fxad.custom_jvp
    ... def f(x):
    ...     return fnp.sin(x)
    >>> @f.defjvp
    ... def f_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return f(x), 2.0 * t                 # a deliberately different derivative
    >>> float(fxad.grad(f)(0.3))
    2.0
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums, self.jvp = fun, tuple(nondiff_argnums), None

    def defjvp(self, jvp, symbolic_zeros=False):
        """Set the rule `jvp(*nondiff_args, primals, tangents) -> (out, tangent_out)`.
        Tangents of inputs without one are zeros (`symbolic_zeros` is not supported)."""
        _no_symbolic_zeros(symbolic_zeros)
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """Set the rule one argument at a time: `jvps[i](t, out, *primals)` is the output
        tangent that input i's tangent `t` contributes (None: input i contributes none).

        >>> import fxad, fxad.numpy as fnp
        >>> f = fxad.custom_jvp(lambda x, y: fnp.sin(x) * y)
        >>> f.defjvps(lambda t, out, x, y: fnp.cos(x) * y * t,
        ...           lambda t, out, x, y: fnp.sin(x) * t)
        >>> float(fxad.grad(f, argnums=1)(0.0, 2.0))
        0.0
        """
        if self.nondiff_argnums:
            raise TypeError("defjvps cannot be used with nondiff_argnums: use defjvp")

        def jvp(primals, tangents):
            out = self(*primals)
            parts = [rule(t, out, *primals) for rule, t in zip(jvps, tangents) if rule]
            if not parts:
                return out, tree_util.tree_map(lambda o: o * 0.0, out)
            return out, tree_util.tree_map(lambda *ts: functools.reduce(
                lambda a, b: a + b, ts), *parts)
        self.defjvp(jvp)

    def __call__(self, *args):
        if self.jvp is None:
            raise AttributeError(f"custom_jvp function {self.__name__} has no rule: "
                                 "define one with @f.defjvp")
        call = _FlatCall(self, args)

        def jvp_flat(primals, tangents):
            p = tree_util.tree_unflatten(call.in_tree, primals)
            t = tree_util.tree_unflatten(call.in_tree, tangents)
            out, t_out = self.jvp(*call.static, p, t)
            return call.record(out), [as_value(o) for o in tree_util.tree_leaves(t_out)]

        outs = custom_jvp_call_p.bind(*call.leaves, fun=call.fun_flat, jvp=jvp_flat,
                                      name=self.__name__)
        return call.unflatten(outs)


def _no_symbolic_zeros(symbolic_zeros):
    if symbolic_zeros:
        raise NotImplementedError("symbolic_zeros=True is not supported: rules always get "
                                  "arrays (zeros where an input has no tangent)")


# --------------------------------------------------------------------------- custom_vjp

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.nargs = None
custom_vjp_call_p.impl = lambda *args, fun, fwd, bwd, name: run_in(EVAL, fun, *args)
custom_vjp_call_p.abstract_eval = lambda *avals, fun, fwd, bwd, name: _out_avals(fun, avals)

custom_lin_p = Primitive("custom_lin", multiple_results=True)
custom_lin_p.nargs = None


def _custom_lin_impl(*args, num_res, bwd, out_avals, name):
    raise TypeError(f"forward-mode differentiation (jvp, jacfwd) of the custom_vjp function "
                    f"{name} is not supported: it only has a reverse-mode rule. Use "
                    "fxad.vjp/grad/jacrev, or define it with custom_jvp instead.")


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals, name):
    res, lin = args[:num_res], args[num_res:]
    cts = [np.zeros(a.shape, a.dtype) if c is None else c for a, c in zip(out_avals, cts)]
    cts_in = bwd(list(res), cts)
    return [None] * num_res + [c if isinstance(x, UndefinedPrimal) else None
                               for x, c in zip(lin, cts_in)]


def _custom_lin_batch(vals, dims, num_res, bwd, out_avals, name):
    """Batched residuals and tangents, with `bwd` vmapped (all that transposition runs).
    Reached e.g. by `vmap` of `linearize`'s `f_jvp`; evaluating it raises as unbatched."""
    from .batching import vmap, materialize, batch_size
    size = batch_size(vals, dims)
    lin = [materialize(v, d, size) for v, d in zip(vals[num_res:], dims[num_res:])]
    bwd_b = vmap(lambda r, c: bwd(list(r), list(c)), in_axes=(list(dims[:num_res]), 0))
    out = custom_lin_p.bind(*vals[:num_res], *lin, num_res=num_res,
                            bwd=lambda r, c: bwd_b(r, c), name=name, out_avals=tuple(
                                ShapedArray((size,) + a.shape, a.dtype) for a in out_avals))
    return out, [0] * len(out)


custom_lin_p.impl = _custom_lin_impl
custom_lin_p.abstract_eval = lambda *avals, num_res, bwd, out_avals, name: list(out_avals)
custom_lin_p.transpose = _custom_lin_transpose
custom_lin_p.batch = _custom_lin_batch


def _custom_vjp_rule(primals, tangents, fun, fwd, bwd, name):
    out, res = fwd(*primals)
    tangents = [_zeros(p) if t is None else t for p, t in zip(primals, tangents)]
    out_avals = [get_aval(o) for o in out]
    t_out = custom_lin_p.bind(*res, *tangents, num_res=len(res), bwd=bwd,
                              out_avals=tuple(out_avals), name=name)
    return out, [t if is_float(a.dtype) else None for t, a in zip(t_out, out_avals)]


def _custom_vjp_batch(vals, dims, fun, fwd, bwd, name):
    from .batching import vmap, materialize, batch_size
    size = batch_size(vals, dims)
    vals = [materialize(v, d, size) for v, d in zip(vals, dims)]
    fun_b = vmap(lambda *a: fun(*a))
    fwd_b = vmap(lambda *a: tuple(fwd(*a)))
    bwd_b = vmap(lambda r, c: bwd(list(r), list(c)))
    out = custom_vjp_call_p.bind(*vals, fun=fun_b, fwd=lambda *a: fwd_b(*a),
                                 bwd=lambda r, c: bwd_b(r, c), name=name)
    return out, [0] * len(out)


custom_vjp_call_p.jvp = _custom_vjp_rule
custom_vjp_call_p.batch = _custom_vjp_batch


class custom_vjp:
    """A function with user-given reverse-mode rules (JAX semantics): `fwd(*args) ->
    (out, residuals)` and `bwd(residuals, ct_out) -> tuple of cts, one per argument`.

    >>> import fxad
    >>> @fxad.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (min(max(g, -1.0), 1.0),))
    >>> float(fxad.grad(lambda x: 5.0 * clip_gradient(x))(2.0))
    1.0
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums = fun, tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd, symbolic_zeros=False):
        """Set the rules `fwd(*args) -> (out, residuals)` and `bwd(*nondiff_args,
        residuals, cotangent) -> one cotangent per (differentiable) argument`."""
        _no_symbolic_zeros(symbolic_zeros)
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise AttributeError(f"custom_vjp function {self.__name__} has no rules: "
                                 "define them with f.defvjp(fwd, bwd)")
        call = _FlatCall(self, args)

        def fwd_flat(*flat):
            out, res = self.fwd(*call.full(flat))
            return call.record(out), call.record(res, "res_tree")

        def bwd_flat(res, cts):
            ct = tree_util.tree_unflatten(call.store["out_tree"], cts)
            res = tree_util.tree_unflatten(call.store["res_tree"], res)
            cts_in = self.bwd(*call.static, res, ct)
            if not isinstance(cts_in, tuple) or len(cts_in) != len(call.dyn):
                raise TypeError(f"custom_vjp bwd of {self.__name__} must return a tuple with "
                                f"one cotangent per differentiable argument ({len(call.dyn)})")
            cts_in = [tree_util.tree_map(_zeros, a) if c is None else c   # None: zero
                      for a, c in zip(call.dyn, cts_in)]
            return [as_value(c) for c in tree_util.tree_leaves(cts_in)]

        outs = custom_vjp_call_p.bind(*call.leaves, fun=call.fun_flat, fwd=fwd_flat,
                                      bwd=bwd_flat, name=self.__name__)
        return call.unflatten(outs)


# --------------------------------------------------------------------------- checkpoint


def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """`fun`, rematerialised under differentiation: reverse mode stores only its inputs
    and recomputes its intermediate values in the backward pass (memory for compute).
    It is staged as a one-branch `cond`, i.e. a call of its traced program, so the
    recomputation is never merged away (`prevent_cse` is always in effect).
    `static_argnums` are passed through as Python values (hashable or not); `policy`
    (JAX's choice of what to save) is not supported: everything is recomputed.

    >>> import fxad, fxad.numpy as fnp
    >>> block = fxad.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> round(float(fxad.grad(block)(0.5)), 6)
    0.778644
    >>> power = fxad.checkpoint(lambda x, n: x ** n, static_argnums=(1,))
    >>> float(fxad.grad(power)(2.0, 3))
    12.0
    """
    if policy is not None:
        raise NotImplementedError("checkpoint: policies (what to save) are not supported; "
                                  "fxad recomputes everything inside the block (policy=None)")
    static = {int(a) for a in ((static_argnums,) if isinstance(static_argnums, int)
                               else static_argnums)}

    @functools.wraps(fun)
    def remat(*args):
        fixed = {i % len(args) for i in static if -len(args) <= i < len(args)}
        if len(fixed) != len(static):
            raise ValueError(f"checkpoint: static_argnums={sorted(static)} out of range "
                             f"for {len(args)} positional arguments")
        dyn = tuple(a for i, a in enumerate(args) if i not in fixed)
        leaves, in_tree = tree_util.tree_flatten(dyn)
        leaves = [as_value(x) for x in leaves]
        store = {}

        def call(dyn_args):
            it = iter(dyn_args)
            return fun(*[args[i] if i in fixed else next(it) for i in range(len(args))])

        def flat(*xs):
            out_leaves, store["out_tree"] = tree_util.tree_flatten(
                call(tree_util.tree_unflatten(in_tree, xs)))
            return [as_value(o) for o in out_leaves]

        jaxpr, consts = trace_closed(flat, [get_aval(x) for x in leaves])
        outs = cond_p.bind(np.int32(0), *consts, *leaves, branches=(jaxpr,))
        return tree_util.tree_unflatten(store["out_tree"], outs)

    return remat


remat = checkpoint
