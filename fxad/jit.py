"""`jit`: trace a function once per input signature into a `Jaxpr`, cache it, and run it
compiled (`fxad.lowering` turns programs into fused Numba kernels plus NumPy calls).

The first call of a new signature runs the program through the interpreter; the second
compiles it (or loads its kernels from the disk cache), so functions called once never
wait for Numba. Under another transform (`grad(jit(f))`), `jit` traces through inline.
"""
import functools
import inspect

import numpy as np

from . import tree_util
from .core import Tracer, get_aval, EVAL, run_in
from .errors import ConcretizationTypeError
from .jaxpr import eval_jaxpr
from .staging import trace_to_jaxpr
from .api import as_value, to_output

__all__ = ["jit"]

COMPILE_AFTER_CALLS = 1        # calls served by the interpreter before compiling
_ARRAY_TYPES = (np.ndarray, np.float64, np.float32, np.int64, np.int32, np.bool_)


def _static_tuple(nums):
    return (nums,) if isinstance(nums, (int, str)) else tuple(nums)


class _Entry:
    """One traced signature: its program, output structure and (once hot) compiled form."""
    __slots__ = ("jaxpr", "out_tree", "calls", "compiled")

    def __init__(self, jaxpr, out_tree):
        self.jaxpr, self.out_tree, self.calls, self.compiled = jaxpr, out_tree, 0, None

    def run(self, leaves):
        if self.compiled is None:
            self.calls += 1
            if self.calls <= COMPILE_AFTER_CALLS:
                return run_in(EVAL, eval_jaxpr, self.jaxpr, *leaves)
            from .lowering import compile_jaxpr
            self.compiled = compile_jaxpr(self.jaxpr)
        return self.compiled(*leaves)


def jit(fun, static_argnums=(), static_argnames=()):
    """Compile `fun`: trace it once per signature (pytree structure, shapes, dtypes, static
    argument values) and run the traced program as fused Numba kernels.

    >>> import fxad, numpy as np
    >>> f = fxad.jit(lambda x, n: (x ** n).sum(), static_argnums=1)
    >>> float(f(np.arange(3.0), 2)), float(f(np.arange(3.0), 2))
    (5.0, 5.0)
    """
    static_argnums = _static_tuple(static_argnums)
    static_argnames = _static_tuple(static_argnames)
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    static_argnames += tuple(params[i] for i in static_argnums if i < len(params))
    static_argnums += tuple(i for i, p in enumerate(params) if p in static_argnames)
    name = getattr(fun, "__name__", "fun")
    cache = {}

    def split(args, kwargs):
        static = tuple((i, args[i]) for i in sorted(set(static_argnums)) if i < len(args)) + \
            tuple(sorted((k, v) for k, v in kwargs.items() if k in static_argnames))
        for where, value in static:
            try:
                hash(value)
            except TypeError:
                raise TypeError(
                    f"jit of {name}: static argument {where!r} has unhashable type "
                    f"{type(value).__name__}; static arguments must be hashable (use a "
                    "tuple instead of a list, or pass arrays as non-static arguments)") from None
        dyn_pos = [i for i in range(len(args)) if i not in static_argnums]
        dyn_kw = sorted(k for k in kwargs if k not in static_argnames)
        dyn = ([args[i] for i in dyn_pos], {k: kwargs[k] for k in dyn_kw})
        return static, dyn_pos, dyn_kw, dyn

    def signature(args, kwargs):
        static, dyn_pos, dyn_kw, dyn = split(args, kwargs)
        leaves, in_tree = tree_util.tree_flatten(dyn)
        leaves = [as_value(x) for x in leaves]
        return static, dyn_pos, dyn_kw, leaves, in_tree

    def trace(args, kwargs, dyn_pos, dyn_kw, leaves, in_tree):
        store = {}

        def flat_fun(*flat):
            pos, kw = tree_util.tree_unflatten(in_tree, flat)
            full, full_kw = list(args), dict(kwargs)
            for i, a in zip(dyn_pos, pos):
                full[i] = a
            full_kw.update(kw)
            out_leaves, store["out_tree"] = tree_util.tree_flatten(fun(*full, **full_kw))
            return [as_value(o) for o in out_leaves]

        names = _arg_names(params, dyn_pos, dyn_kw, in_tree)
        try:
            jaxpr = trace_to_jaxpr(flat_fun, [get_aval(x) for x in leaves], names)
        except ConcretizationTypeError as e:
            raise ConcretizationTypeError(f"{e}\n(while tracing `{name}` for jit)") from None
        return _Entry(jaxpr, store["out_tree"])

    def entry_for(args, kwargs):
        """(cached program for this signature, flat inputs); (None, None) if an input is
        traced by an enclosing transform."""
        if any(isinstance(a, Tracer) for a in args):      # a traced static argument too
            return None, None
        static, dyn_pos, dyn_kw, leaves, in_tree = signature(args, kwargs)
        if any(isinstance(x, Tracer) for x in leaves):
            return None, None
        key = (static, in_tree, tuple(map(get_aval, leaves)))
        entry = cache.get(key)
        if entry is None:
            entry = cache[key] = trace(args, kwargs, dyn_pos, dyn_kw, leaves, in_tree)
        return entry, leaves

    fast_cache = {}              # plain positional arrays: (shape, dtype) pairs -> entry
    simple = not static_argnums and not static_argnames

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        if simple and not kwargs and all(type(a) in _ARRAY_TYPES for a in args):
            key = tuple((a.shape, a.dtype) for a in args)
            entry = fast_cache.get(key)
            if entry is None:
                entry = fast_cache[key] = entry_for(args, kwargs)[0]
            leaves = args
        else:
            entry, leaves = entry_for(args, kwargs)
            if entry is None:                         # under another transform: inline
                return fun(*args, **kwargs)
        outs = entry.run(leaves)
        if entry.out_tree.node_type is None:
            return to_output(outs[0])
        return tree_util.tree_unflatten(entry.out_tree, [to_output(o) for o in outs])

    def lower(*args, **kwargs):
        """The traced program, its fusion plan and the generated Numba source."""
        from .lowering import Lowered
        entry = entry_for(args, kwargs)[0]
        if entry is None:
            raise TypeError(f"jit({name}).lower() needs arrays, not values traced by an "
                            "enclosing transform")
        return Lowered(entry.jaxpr)

    jitted.lower = lower
    jitted._cache = cache
    return jitted


def _arg_names(params, dyn_pos, dyn_kw, in_tree):
    """Readable names for the flat inputs, e.g. `params['w']` (for concretization errors)."""
    pos_tree, kw_tree = in_tree.children
    names = []
    for i, sub in zip(dyn_pos, pos_tree.children):
        names += _leaf_paths(sub, params[i] if i < len(params) else f"args[{i}]")
    for k, sub in zip(dyn_kw, kw_tree.children):
        names += _leaf_paths(sub, k)
    return names


def _leaf_paths(treedef, prefix):
    if treedef.node_type is None:
        return [prefix]
    if treedef.node_type is dict:
        steps = [f"[{k!r}]" for k in treedef.aux]
    elif hasattr(treedef.node_type, "_fields"):
        steps = [f".{f}" for f in treedef.node_type._fields]
    else:
        steps = [f"[{i}]" for i in range(len(treedef.children))]
    return [path for step, child in zip(steps, treedef.children)
            for path in _leaf_paths(child, prefix + step)]
