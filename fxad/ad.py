"""Automatic differentiation on flat lists of arrays: the JVP interpreter, linearize
(JVP with staged tangents) and the transpose of linear programs. Reverse mode is
`transpose ∘ linearize`. Pytrees, argnums and user-facing checks live in `fxad.api`.
"""
import numpy as np

from .core import (Interpreter, Tracer, UndefinedPrimal, get_aval, is_float, using,
                   current_interpreter, _current)
from .jaxpr import Var, Lit
from .staging import StagingInterpreter
from .errors import ConcretizationTypeError


class JVPTracer(Tracer):
    """A primal value paired with its (never None) tangent."""

    def __init__(self, interp, primal, tangent):
        self._interp, self.primal, self.tangent = interp, primal, tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    shape = property(lambda self: self.primal.shape)
    dtype = property(lambda self: self.primal.dtype)

    def primal_value(self):
        return self.primal

    def concrete_value(self, what):
        raise ConcretizationTypeError(
            f"{what} would silently drop the derivative of a value being differentiated "
            f"({self.aval}). Keep the computation in fxad.numpy / fxad.lax, or apply "
            "fxad.stop_gradient first if dropping the derivative is intended.")


class JVPInterpreter(Interpreter):
    """Forward mode: runs each primitive's `jvp` rule with the parent as current
    interpreter, so primal and tangent work is done (or staged) one level up."""

    def __init__(self, parent):
        self.parent = parent

    def process(self, prim, args, params):
        primals, tangents, mine = [], [], False
        for a in args:
            if type(a) is JVPTracer and a._interp is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
                mine = True
            else:
                primals.append(a)
                tangents.append(None)
        if not mine:
            return self.parent.process(prim, args, params)
        token = _current.set(self.parent)
        try:
            out, t_out = prim.jvp(primals, tangents, **params)
        finally:
            _current.reset(token)
        if prim.multiple_results:
            return [self.lift(o, t) for o, t in zip(out, t_out)]
        return self.lift(out, t_out)

    def lift(self, primal, tangent):
        return primal if tangent is None else JVPTracer(self, primal, tangent)

    def unpack(self, x):
        """(primal, tangent or None) of a value returned to this interpreter's caller."""
        if type(x) is JVPTracer and x._interp is self:
            return x.primal, x.tangent
        return x, None


def jvp_flat(fun, primals, tangents):
    """Forward mode on flat lists; `tangents[i]` may be None (no perturbation)."""
    interp = JVPInterpreter(current_interpreter())
    with using(interp):
        outs = fun(*[interp.lift(p, t) for p, t in zip(primals, tangents)])
        pairs = [interp.unpack(o) for o in outs]
    return [p for p, _ in pairs], [t for _, t in pairs]


def linearize_flat(fun, primals):
    """Run `fun` forward with concrete primals and staged tangents.

    Returns `(primals_out, jaxpr)` where `jaxpr` is the linear tangent program mapping
    input tangents to output tangents.
    """
    staging = StagingInterpreter(current_interpreter())
    interp = JVPInterpreter(staging)
    with using(staging):
        t_in = [staging.new_arg(get_aval(p)) for p in primals]
        with using(interp):
            outs = fun(*[JVPTracer(interp, p, t) for p, t in zip(primals, t_in)])
            pairs = [interp.unpack(o) for o in outs]
        t_out = [t if isinstance(t, Tracer) and t._interp is staging else None
                 for _, t in pairs]
        zeros = lambda p: np.zeros(get_aval(p).shape, get_aval(p).dtype)
        jaxpr = staging.build(t_in, [zeros(p) if t is None else t
                                     for (p, _), t in zip(pairs, t_out)], prune=False)
    return [p for p, _ in pairs], jaxpr


def backward_pass(jaxpr, cts_out, consume=False):
    """Transpose the linear program `jaxpr`: cotangents of its inputs from cotangents of
    its outputs (None = zero). Runs through the current interpreter, so it can be
    differentiated again. With `consume`, each constant (residual) is released after its
    last use, so large arrays' memory is reused at once; `jaxpr` can then not run again."""
    consts = dict(zip(jaxpr.constvars, jaxpr.consts))
    release = {}
    if consume:
        jaxpr.consts.clear()
        seen = set()
        for eqn in jaxpr.eqns:                       # first use = last use going backward
            for v in eqn.invars:
                if type(v) is Var and v in consts and v not in seen:
                    seen.add(v)
                    release.setdefault(eqn, []).append(v)
    ct_env = {}

    def accumulate(v, ct):
        if ct is not None and type(v) is Var and v not in consts:
            old = ct_env.get(v)
            ct_env[v] = ct if old is None else add_any(old, ct)

    for v, ct in zip(jaxpr.outvars, cts_out):
        accumulate(v, ct)
    for eqn in reversed(jaxpr.eqns):
        cts_in = _transpose_eqn(eqn, ct_env, consts)
        for v in release.get(eqn, ()):
            del consts[v]
        for v, ct_in in zip(eqn.invars, cts_in):
            accumulate(v, ct_in)
    return [ct_env.get(v) for v in jaxpr.invars]


def _transpose_eqn(eqn, ct_env, consts):
    """Cotangents of `eqn`'s inputs (empty when no cotangent reaches its outputs)."""
    if eqn.prim.multiple_results:
        ct = [ct_env.pop(v, None) for v in eqn.outvars]
        if all(c is None for c in ct):
            return ()
    else:
        ct = ct_env.pop(eqn.outvars[0], None)
        if ct is None:
            return ()
    if eqn.prim.transpose is None:
        raise NotImplementedError(f"Reverse mode through `{eqn.prim}` is not supported "
                                  "(it has no transpose rule); use `fxad.jvp` instead.")
    args = [v.val if type(v) is Lit else consts[v] if v in consts else UndefinedPrimal(v.aval)
            for v in eqn.invars]
    return eqn.prim.transpose(ct, *args, **eqn.params)


def add_any(x, y):
    """Sum two cotangents of one variable."""
    return _add(x, y)


def _add(x, y):
    global _add
    from .primitives.elementwise import add as _add     # (primitives import this module)
    return _add(x, y)


class NoGradInterpreter(Interpreter):
    """Strips every tangent from the arguments of each operation (see `fxad.no_grad`)."""

    def __init__(self, parent):
        self.parent = parent

    def process(self, prim, args, params):
        from .primitives.elementwise import stop_gradient_p
        args = [self.parent.process(stop_gradient_p, (a,), {})
                if isinstance(a, Tracer) and is_float(a.dtype) else a for a in args]
        return self.parent.process(prim, args, params)
