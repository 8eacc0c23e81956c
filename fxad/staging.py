"""The staging interpreter: records equations into a `Jaxpr` instead of computing them.

It records an equation only when one of its inputs is a value it staged; everything else
is handed to its parent (folded). `linearize` uses exactly that to keep the linear
tangent program while primal work runs at once; `make_jaxpr` stages all its arguments.
"""
import functools

import numpy as np

from .core import Interpreter, Tracer, get_aval, using, current_interpreter
from .errors import escaped_tracer_error, concretization_error
from .jaxpr import Var, Lit, Eqn, Jaxpr, dce
from . import tree_util


class StagedTracer(Tracer):
    """A value known only by its type; it stands for variable `var` of the program."""

    def __init__(self, interp, var):
        self._interp, self.var, self.aval = interp, var, var.aval

    def concrete_value(self, what):
        raise concretization_error(self.aval, what, self._interp.inputs_feeding(self.var))


class StagingInterpreter(Interpreter):
    def __init__(self, parent, for_program=False):
        self.parent = parent
        self.for_program = for_program    # tracing a whole program (jit, make_jaxpr), not
        #                                   just a linearization: stage constant broadcasts
        self.eqns = []
        self.const_vars = {}          # id(value), or a tracer's contents' ids -> (Var, value)
        self.arg_vars = {}            # id(input tracer) -> its Var (`x[i] = v` rebinds x)
        self.arg_names = {}           # input Var -> the user's name for it

    def new_arg(self, aval, name=None):
        tracer = StagedTracer(self, Var(aval))
        self.arg_vars[id(tracer)] = tracer.var
        if name is not None:
            self.arg_names[tracer.var] = name
        return tracer

    def inputs_feeding(self, var):
        """Names of the named inputs that `var` depends on."""
        needed = {var}
        for eqn in reversed(self.eqns):
            if any(v in needed for v in eqn.outvars):
                needed.update(eqn.invars)
        return [n for v, n in self.arg_names.items() if v in needed]

    def process(self, prim, args, params):
        for a in args:
            if type(a) is StagedTracer and a._interp is self:
                break
        else:
            if not (self.for_program and prim.expands and not any(
                    isinstance(a, Tracer) for a in args)):
                return self.parent.process(prim, args, params)
        out_aval = prim.abstract_eval(*[a.aval if type(a) is StagedTracer else get_aval(a)
                                        for a in args], **params)
        invars = [a.var if type(a) is StagedTracer and a._interp is self else self.var_of(a)
                  for a in args]
        if prim.multiple_results:
            outs = [StagedTracer(self, Var(av)) for av in out_aval]
            self.eqns.append(Eqn(prim, invars, [t.var for t in outs], params))
            return outs
        out = StagedTracer(self, Var(out_aval))
        self.eqns.append(Eqn(prim, invars, [out.var], params))
        return out

    def var_of(self, x):
        """The program variable or literal that stands for `x` (capturing constants)."""
        if type(x) is StagedTracer and x._interp is self:
            return x.var
        if isinstance(x, Tracer):
            if not x._interp.alive:
                raise escaped_tracer_error(x)
            key = tuple(map(id, x._contents()))   # not id(x): `x[i] = v` can change x
        elif isinstance(x, (np.generic, bool, int, float, complex)):
            return Lit(x)
        elif x.shape == ():
            return Lit(x[()])                     # a scalar: later `x[()] = v` can't reach it
        else:
            key = id(x)
        entry = self.const_vars.get(key)
        if entry is None:
            # A tracer is kept as a copy (`x[i] = v` may change it later). So is an array
            # captured by a whole program (jit, make_jaxpr): the program holds its value at
            # trace time, as JAX does, whatever the caller later does to the array in place.
            # Eager linearization (grad) keeps arrays by reference: it is short-lived, and
            # copying every captured array per call would cost a pass over each. Entries
            # keep `x` too, so its id (the key) is not reused while the program is built.
            value = x._copy() if type(key) is tuple else np.array(x) if self.for_program \
                else x
            entry = self.const_vars[key] = (Var(get_aval(x)), value, x)
        return entry[0]

    def build(self, in_tracers, outs, prune=True):
        """The program from `in_tracers` (made by `new_arg`) to `outs` (constants become
        constvars); `prune` drops equations the outputs do not need."""
        outvars = [self.var_of(o) for o in outs]
        consts = list(self.const_vars.values())
        jaxpr = Jaxpr([v for v, _, _ in consts], [c for _, c, _ in consts],
                      [self.arg_vars[id(t)] for t in in_tracers], self.eqns, outvars)
        return dce(jaxpr) if prune else jaxpr


def tracing_program():
    """True while tracing a program for `jit`/`make_jaxpr` (loops are then staged)."""
    interp = current_interpreter()
    while interp is not None:
        if isinstance(interp, StagingInterpreter) and interp.for_program:
            return True
        interp = interp.parent
    return False


def trace_to_jaxpr(fun, avals, names=None):
    """Stage `fun` (taking and returning flat lists) on arguments of types `avals`
    (`names`, if given, label the inputs in concretization errors)."""
    interp = StagingInterpreter(current_interpreter(), for_program=True)
    with using(interp):
        ins = [interp.new_arg(a, n) for a, n in zip(avals, names or [None] * len(avals))]
        outs = fun(*ins)
        return interp.build(ins, outs)


def make_jaxpr(fun, static_argnums=()):
    """Return a function that traces `fun` on example arguments and returns its `Jaxpr`.

    >>> import fxad
    >>> print(fxad.make_jaxpr(lambda a, b: 3.0 * a + b)(1.0, 2.0))
    { lambda ; a:f64[] b:f64[]. let
        c:f64[] = mul 3.0 a
        d:f64[] = add c b
      in (d,) }
    """
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def traced(*args, **kwargs):
        dyn_idx = [i for i in range(len(args)) if i not in static_argnums]
        leaves, in_tree = tree_util.tree_flatten([args[i] for i in dyn_idx])

        def flat_fun(*flat):
            full = list(args)
            for i, a in zip(dyn_idx, tree_util.tree_unflatten(in_tree, flat)):
                full[i] = a
            return tree_util.tree_leaves(fun(*full, **kwargs))

        return trace_to_jaxpr(flat_fun, [get_aval(x) for x in leaves])

    return traced
