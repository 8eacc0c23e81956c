"""Makes traced values behave like NumPy arrays: Python operators, array methods and
properties, in-place assignment `x[i] = v`, and NumPy's `__array_ufunc__` /
`__array_function__` protocols, all routed to `fxad.numpy`. Anything fxad cannot
differentiate raises NotImplementedError naming it."""
import numpy as np

from ..core import Tracer, run_in
from ..primitives.elementwise import select
from ._more_at import at


def _unsupported(what):
    return NotImplementedError(
        f"fxad does not support {what} on traced values yet. Use a function from "
        "fxad.numpy (docs/api.md lists them), or compute this outside the transform.")


def install(fnp):
    """Install operators, methods and NumPy protocols on `Tracer`."""
    def binop(name, reflected=False):
        fn = getattr(fnp, name)
        return (lambda self, other: fn(other, self)) if reflected else fn

    for op, name in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                     ("truediv", "true_divide"), ("floordiv", "floor_divide"),
                     ("mod", "remainder"), ("pow", "power"), ("matmul", "matmul"),
                     ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor")]:
        setattr(Tracer, f"__{op}__", binop(name))
        setattr(Tracer, f"__r{op}__", binop(name, reflected=True))
    for op, name in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                     ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal")]:
        setattr(Tracer, f"__{op}__", binop(name))
    Tracer.__neg__ = fnp.negative
    Tracer.__pos__ = fnp.positive
    Tracer.__abs__ = fnp.abs
    Tracer.__invert__ = fnp.invert
    Tracer.__divmod__ = lambda self, other: fnp.divmod(self, other)
    Tracer.__rdivmod__ = lambda self, other: fnp.divmod(other, self)
    Tracer.__round__ = lambda self, ndigits=None: fnp.round(self, ndigits or 0)
    Tracer.__getitem__ = fnp._shape.getitem
    Tracer.__setitem__ = _setitem

    for name in ["sum", "mean", "prod", "max", "min", "var", "std", "any", "all", "argmax",
                 "argmin", "cumsum", "dot", "swapaxes", "squeeze", "ravel", "clip", "round",
                 "nonzero", "astype", "conj", "cumprod", "diagonal", "trace", "repeat",
                 "take", "argsort", "searchsorted", "copy"]:
        if hasattr(fnp, name):
            setattr(Tracer, name, getattr(fnp, name))
    Tracer.reshape = lambda self, *shape, order="C": fnp.reshape(
        self, shape[0] if len(shape) == 1 else shape, order)
    Tracer.transpose = lambda self, *axes: fnp.transpose(
        self, None if not axes else axes[0] if len(axes) == 1 else axes)
    Tracer.flatten = lambda self: fnp.copy(fnp.ravel(self))
    Tracer.T = property(lambda self: fnp.transpose(self))
    Tracer.real = property(fnp.real)
    Tracer.imag = property(fnp.imag)
    Tracer.conjugate = fnp.conj
    Tracer.at = property(fnp.at, doc="Functional indexed updates: `x.at[idx].set(v)`, "
                         "`.add(v)`, `.multiply(v)`, `.min(v)`, `.max(v)`, `.get()`...")
    Tracer.item = lambda self: self._concrete("item() of a traced value").item()
    Tracer.tolist = lambda self: self._concrete("tolist() of a traced value").tolist()

    dispatch = {getattr(np, n): getattr(fnp, n) for n in fnp.__all__
                if callable(getattr(np, n, None)) and callable(getattr(fnp, n))}
    dispatch.update({getattr(np.linalg, n): getattr(fnp.linalg, n) for n in fnp.linalg.__all__
                     if callable(getattr(np.linalg, n, None))})

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None or kwargs.get("where", True) is not True:
            raise _unsupported(f"numpy.{ufunc.__name__} with `out=` or `where=`")
        kwargs.pop("out", None)
        if method == "__call__":
            fn = dispatch.get(ufunc)
            if fn is None or kwargs:
                raise _unsupported(f"numpy.{ufunc.__name__}" + (f" with {sorted(kwargs)}"
                                                                 if fn else ""))
            return fn(*inputs)
        reducers = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}
        if method == "reduce" and ufunc.__name__ in reducers:
            return getattr(fnp, reducers[ufunc.__name__])(*inputs, **kwargs)
        if method == "accumulate" and ufunc.__name__ == "add":
            return fnp.cumsum(*inputs, axis=kwargs.get("axis", 0))
        raise _unsupported(f"numpy.{ufunc.__name__}.{method}")

    def __array_function__(self, func, types, args, kwargs):
        fn = dispatch.get(func)
        if fn is None:
            raise _unsupported(f"{func.__module__}.{func.__name__}")
        return fn(*args, **kwargs)

    Tracer.__array_ufunc__ = __array_ufunc__
    Tracer.__array_function__ = __array_function__


def _setitem(self, index, value):
    """`x[index] = value` as in NumPy: the object `x` itself takes the value
    `x.at[index].set(value)` (so other names bound to it see the change; views taken
    earlier, such as `x[1:]`, are copies and do not)."""
    new = at(self)[index].set(value)
    if not _nested_in(new, self._interp):        # e.g. `fxad.no_grad` dropped x's tangent:
        new = run_in(self._interp, select, True, new, self)    # bring it to x's level
    self._become(new)


def _nested_in(x, interp):
    """Whether `x` is a tracer of `interp` or of an interpreter running inside it."""
    i = x._interp if isinstance(x, Tracer) else None
    while i is not None and i is not interp:
        i = i.parent
    return i is interp
