"""The IR: typed variables, literals, equations and programs (`Jaxpr`).

`eval_jaxpr` runs a program through the current interpreter (so programs can be
transformed again), `typecheck` validates one, `dce` drops dead equations, and `str()`
prints the JAX-like text form. Building programs is `fxad.staging`'s job.
"""
import numpy as np

from .core import ShapedArray, get_aval


class Var:
    """A typed variable; it gets a printable name only when its program is printed."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval})"


class Lit:
    """A scalar constant written inline in the program."""
    __slots__ = ("val", "aval")

    def __init__(self, val):
        self.val = val
        self.aval = get_aval(val)

    def __repr__(self):
        v = self.val.item() if hasattr(self.val, "item") else self.val
        return repr(v)


class Eqn:
    """`outvars = prim[params] invars`."""
    __slots__ = ("prim", "invars", "outvars", "params")

    def __init__(self, prim, invars, outvars, params):
        self.prim, self.invars, self.outvars, self.params = prim, invars, outvars, params


class Jaxpr:
    """A program: `{ lambda constvars ; invars . let eqns in outvars }` plus const values."""
    __slots__ = ("constvars", "consts", "invars", "eqns", "outvars")

    def __init__(self, constvars, consts, invars, eqns, outvars):
        self.constvars, self.consts = list(constvars), list(consts)
        self.invars, self.eqns, self.outvars = list(invars), list(eqns), list(outvars)

    in_avals = property(lambda self: [v.aval for v in self.invars])
    out_avals = property(lambda self: [v.aval for v in self.outvars])

    def __str__(self):
        return _pp_jaxpr(self, Names(), "")

    __repr__ = __str__


def eval_jaxpr(jaxpr, *args):
    """Evaluate `jaxpr` on `args` with the current interpreter; returns the list of outputs.

    >>> import fxad
    >>> jaxpr = fxad.make_jaxpr(lambda x: x * 2.0 + 1.0)(3.0)
    >>> [float(y) for y in eval_jaxpr(jaxpr, 5.0)]
    [11.0]
    """
    if len(args) != len(jaxpr.invars):
        raise TypeError(f"eval_jaxpr: the program takes {len(jaxpr.invars)} argument(s), "
                        f"got {len(args)}")
    env = dict(zip(jaxpr.constvars, jaxpr.consts))
    env.update(zip(jaxpr.invars, args))
    read = lambda v: v.val if type(v) is Lit else env[v]
    for eqn in jaxpr.eqns:
        out = eqn.prim.bind(*map(read, eqn.invars), **eqn.params)
        if eqn.prim.multiple_results:
            env.update(zip(eqn.outvars, out))
        else:
            env[eqn.outvars[0]] = out
    return [read(v) for v in jaxpr.outvars]


def dce(jaxpr):
    """A copy of `jaxpr` without the equations (and constants) its outputs do not need."""
    live = {v for v in jaxpr.outvars if type(v) is Var}
    eqns = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in live for v in eqn.outvars):
            eqns.append(eqn)
            live.update(v for v in eqn.invars if type(v) is Var)
    kept = [(v, c) for v, c in zip(jaxpr.constvars, jaxpr.consts) if v in live]
    return Jaxpr([v for v, _ in kept], [c for _, c in kept], jaxpr.invars, eqns[::-1],
                 jaxpr.outvars)


def cse(jaxpr):
    """A copy of `jaxpr` in which an equation that repeats an earlier one (same primitive,
    operands and params) reuses its results. Primitives are pure, so this is safe; AD
    programs repeat work often (e.g. `2 * x` from the jvp of `x ** 2` and its transpose)."""
    seen, sub, eqns = {}, {}, []
    for eqn in jaxpr.eqns:
        invars = [sub.get(v, v) if type(v) is Var else v for v in eqn.invars]
        try:
            key = (eqn.prim, tuple(v if type(v) is Var else (v.aval, repr(v))
                                   for v in invars), tuple(sorted(eqn.params.items())))
            hash(key)
        except (TypeError, AttributeError, ValueError):
            key = None                            # unhashable params: keep it as it is
        if key is not None and key in seen:
            sub.update(zip(eqn.outvars, seen[key].outvars))
            continue
        eqn = Eqn(eqn.prim, invars, eqn.outvars, eqn.params)
        eqns.append(eqn)
        if key is not None:
            seen[key] = eqn
    return Jaxpr(jaxpr.constvars, jaxpr.consts, jaxpr.invars, eqns,
                 [sub.get(v, v) if type(v) is Var else v for v in jaxpr.outvars])


class JaxprTypeError(TypeError):
    """A program is ill-formed: a variable is used before definition or types disagree."""


def typecheck(jaxpr):
    """Check that every variable is defined once before use and every equation's output
    types are what its primitive's `abstract_eval` says. Raises `JaxprTypeError`."""
    defined = set()

    def define(v):
        if v in defined:
            raise JaxprTypeError(f"variable {v} defined twice")
        defined.add(v)

    for v, c in zip(jaxpr.constvars, jaxpr.consts):
        define(v)
        if get_aval(c) != v.aval:
            raise JaxprTypeError(f"constant of type {get_aval(c)} bound to {v.aval}")
    for v in jaxpr.invars:
        define(v)
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            if type(v) is Var and v not in defined:
                raise JaxprTypeError(f"{eqn.prim} uses an undefined variable {v}")
        out = eqn.prim.abstract_eval(*[v.aval for v in eqn.invars], **eqn.params)
        out = out if eqn.prim.multiple_results else [out]
        got = [v.aval for v in eqn.outvars]
        if list(out) != got:
            raise JaxprTypeError(f"{eqn.prim} should produce {list(out)}, program says {got}")
        for v in eqn.outvars:
            define(v)
    for v in jaxpr.outvars:
        if type(v) is Var and v not in defined:
            raise JaxprTypeError(f"output {v} is undefined")


# --------------------------------------------------------------------------- printing

class Names:
    """Names variables a, b, ..., z, ba, bb, ... in order of first use (plus `suffix`)."""

    def __init__(self, suffix=""):
        self.names, self.suffix = {}, suffix

    def __call__(self, v):
        if type(v) is Lit:
            return repr(v)
        if v not in self.names:
            n, s = len(self.names), ""
            while True:
                s = chr(ord("a") + n % 26) + s
                n = n // 26 - 1
                if n < 0:
                    break
            self.names[v] = s + self.suffix
        return self.names[v]


def _typed(names, v):
    return f"{names(v)}:{v.aval}"


def _pp_param(k, v, names, indent):
    if isinstance(v, Jaxpr):
        return f"{k}=" + _pp_jaxpr(v, Names(), indent + "      ").lstrip()
    if isinstance(v, tuple) and v and all(isinstance(j, Jaxpr) for j in v):
        inner = indent + "      "
        return f"{k}=(\n" + "\n".join(_pp_jaxpr(j, Names(), inner) for j in v) + ")"
    if isinstance(v, np.dtype):
        return f"{k}={v.name}"
    return f"{k}={v}"


def _pp_jaxpr(jaxpr, names, indent):
    consts = " ".join(_typed(names, v) for v in jaxpr.constvars)
    ins = " ".join(_typed(names, v) for v in jaxpr.invars)
    lines = [f"{indent}{{ lambda {consts}; {ins}. let"]
    for eqn in jaxpr.eqns:
        outs = " ".join(_typed(names, v) for v in eqn.outvars)
        params = " ".join(_pp_param(k, v, names, indent) for k, v in eqn.params.items()
                          if not callable(v) or isinstance(v, Jaxpr))   # skip Python fns
        params = f"[{params}]" if params else ""
        args = " ".join(names(v) for v in eqn.invars)
        lines.append(f"{indent}    {outs} = {eqn.prim}{params} {args}".rstrip())
    outs = ", ".join(names(v) for v in jaxpr.outvars)
    lines.append(f"{indent}  in ({outs}{',' if len(jaxpr.outvars) == 1 else ''}) }}")
    return "\n".join(lines)


__all__ = ["Var", "Lit", "Eqn", "Jaxpr", "eval_jaxpr", "dce", "typecheck", "ShapedArray"]
