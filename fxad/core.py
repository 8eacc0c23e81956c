"""Core: abstract values, primitives and their rules, tracers, interpreters and `bind`.

Every fxad operation is a `Primitive` bound to the *current interpreter* (a context
variable). An interpreter handles the values it owns (tracers tagged with it) and hands
everything else to its parent; the root is `EvalInterpreter`, which runs NumPy.
Transforms (`fxad.ad`, `fxad.staging`) define the other interpreters; primitives and
their rules live in `fxad.primitives`; this module knows none of them.
"""
import contextlib
import contextvars

import numpy as np

from .errors import (concretization_error, array_conversion_error, escaped_tracer_error,
                     stored_tracer_error, ConcretizationTypeError)

# --------------------------------------------------------------------------- avals

_SHORT_DTYPE = {"float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64",
                "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
                "uint32": "u32", "uint64": "u64", "bool": "bool",
                "complex128": "c128", "complex64": "c64"}


class ShapedArray:
    """The abstract value of an array: its shape and dtype (what tracing knows)."""
    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __str__(self):
        return f"{_SHORT_DTYPE.get(self.dtype.name, self.dtype.name)}[{','.join(map(str, self.shape))}]"

    __repr__ = __str__


def is_float(dtype):
    """True for the dtypes that carry tangents (real and complex floating point)."""
    return getattr(dtype, "kind", None) in ("f", "c") or (
        not isinstance(dtype, np.dtype) and np.dtype(dtype).kind in "fc")


_SCALAR_TYPES = (bool, int, float, complex)


_aval_cache = {}


def get_aval(x):
    """The `ShapedArray` of a value: a tracer, a NumPy array or scalar, or a Python scalar."""
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, (np.ndarray, np.generic)):
        key = (x.shape, x.dtype)
        aval = _aval_cache.get(key)
        if aval is None:
            if len(_aval_cache) > 10000:
                _aval_cache.clear()
            aval = _aval_cache[key] = ShapedArray(*key)
        return aval
    if isinstance(x, _SCALAR_TYPES):
        return ShapedArray((), np.asarray(x).dtype)
    raise TypeError(f"Value {x!r} of type {type(x).__name__} is not a valid fxad array; "
                    "use NumPy arrays, Python scalars, or pytrees of them.")


# --------------------------------------------------------------------------- primitives

registry = {}


class Primitive:
    """A named operation and its rules (see DESIGN.md, "The one idea").

    impl(*arrays, **params)                 -> array(s)         concrete evaluation
    abstract_eval(*avals, **params)         -> aval(s)          shapes and dtypes
    jvp(primals, tangents, **params)        -> (out, t_out)     tangents may be None (zero)
    transpose(ct, *args, **params)          -> cts for args     linear primitives only;
                                                                unknown args are `UndefinedPrimal`
    batch, numba                                                 slots for vmap and jit
    expands: output larger than inputs (jit stages it rather than fold it into a constant)
    """
    expands = False

    def __init__(self, name, multiple_results=False):
        self.name = name
        self.multiple_results = multiple_results
        self.impl = self.abstract_eval = self.jvp = self.transpose = None
        self.batch = self.numba = None
        registry[name] = self

    def bind(self, *args, **params):
        return _current.get().process(self, args, params)

    __call__ = bind

    def __repr__(self):
        return self.name


class UndefinedPrimal:
    """Marks the linear argument of an equation being transposed (its value is unknown)."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval


# --------------------------------------------------------------------------- interpreters

class Interpreter:
    """Runs primitives. Subclasses own some tracers and pass the rest to `parent`."""
    parent = None
    alive = True

    def process(self, prim, args, params):
        raise NotImplementedError


class EvalInterpreter(Interpreter):
    """The root interpreter: runs each primitive's `impl` on concrete NumPy values."""

    def process(self, prim, args, params):
        for a in args:
            if isinstance(a, Tracer):
                raise escaped_tracer_error(a)
        return prim.impl(*args, **params)

    def __repr__(self):
        return "EvalInterpreter"


EVAL = EvalInterpreter()
_current = contextvars.ContextVar("fxad_interpreter", default=EVAL)


def concrete_or_none(x):
    """The concrete value under any number of tracers, or None if it is only abstract."""
    while isinstance(x, Tracer):
        x = x.primal_value()
        if x is None:
            return None
    return x


def current_interpreter():
    return _current.get()


@contextlib.contextmanager
def using(interp):
    """Make `interp` the current interpreter inside the block; mark it dead when done."""
    token = _current.set(interp)
    try:
        yield interp
    except ValueError as e:
        # `numpy_array[i] = tracer`: NumPy calls float(tracer) (int(), bool()...), which
        # raises; as tracers have __getitem__, NumPy replaces that error by "setting an
        # array element with a sequence". Say what happened instead, at the user's line.
        if type(e.__cause__) is not ConcretizationTypeError or "sequence" not in str(e):
            raise
        raise stored_tracer_error().with_traceback(e.__traceback__) from None
    finally:
        _current.reset(token)
        interp.alive = False


def run_in(interp, fn, *args, **kwargs):
    """Call `fn` with `interp` current (without ending `interp` afterwards)."""
    token = _current.set(interp)
    try:
        return fn(*args, **kwargs)
    finally:
        _current.reset(token)


# --------------------------------------------------------------------------- tracers

class Tracer:
    """A value owned by an interpreter (its tag). Operators and NumPy protocols are
    installed by `fxad.numpy`, so `x * 2`, `np.sin(x)` and `x.sum()` work on tracers.
    Tracers keep their fields in an instance `__dict__` (no `__slots__`): then any
    tracer can turn into any other in place (`_become`), which `x[i] = v` needs.
    Subclasses provide `aval` (the value's `ShapedArray`)."""
    __array_priority__ = 1000
    __hash__ = None            # `==` is elementwise, so tracers are not hashable

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)

    def primal_value(self):
        """The value one level down (concrete or another tracer), or None if abstract."""
        return None

    def concrete_value(self, what):
        """Like `primal_value`, but for a user-level conversion (`what`): raises a
        ConcretizationTypeError where the value is abstract or carries derivatives."""
        raise concretization_error(self.aval, what)

    def _concrete(self, what):
        x = self
        while isinstance(x, Tracer):
            x = x.concrete_value(what)
        return x

    def __bool__(self):
        return bool(self._concrete("Converting a traced value to bool (`if`, `while`, "
                                   "`and`/`or`)"))

    def __float__(self):
        return float(self._concrete("float() of a traced value"))

    def __int__(self):
        return int(self._concrete("int() of a traced value"))

    def __complex__(self):
        return complex(self._concrete("complex() of a traced value"))

    def __index__(self):
        return self._concrete("Using a traced value as an index").__index__()

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    def __format__(self, spec):
        """Formatting shows the value where one is known (it computes nothing further)."""
        value = concrete_or_none(self)
        return format(value if value is not None else repr(self), spec if value is not None
                      else "")

    def __array__(self, dtype=None, copy=None):
        raise array_conversion_error(self)

    def __repr__(self):
        return f"Traced<{self.aval}>with<{type(self._interp).__name__}>"

    def _become(self, other):
        """Turn this tracer, in place, into a tracer equal to `other` (its class and
        contents): how `x[i] = v` updates the object `x` names, as NumPy does."""
        self.__class__ = type(other)
        self.__dict__ = dict(other.__dict__)

    def _contents(self):
        """(class, fields...): all that makes up this tracer's value."""
        return (type(self),) + tuple(self.__dict__.values())

    def _copy(self):
        """A new tracer object with this one's value (later `_become`s do not reach it)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new
