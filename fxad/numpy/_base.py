"""What every `fxad.numpy` function shares: converting inputs, NumPy's dtype promotion
(Python scalars are weak, as in NumPy 2) and explicit broadcasting before primitives."""
import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives.structural import broadcast_in_dim

_PY_SCALARS = (bool, int, float, complex)


def asarray(x, dtype=None):
    """`x` as an fxad value (a NumPy array, NumPy scalar or tracer) of `dtype` if given.

    >>> import fxad.numpy as fnp
    >>> fnp.asarray([1, 2], dtype=float)
    array([1., 2.])
    """
    if isinstance(x, Tracer):
        return x if dtype is None else ew.convert_element_type(x, dtype)
    if isinstance(x, (list, tuple)) and any(isinstance(e, Tracer) for e in _iter_leaves(x)):
        from ._shape import stack
        return asarray(stack([asarray(e) for e in x]), dtype)
    if isinstance(x, _PY_SCALARS):
        return np.asarray(x, dtype)[()]
    if isinstance(x, (np.ndarray, np.generic)) and (dtype is None or x.dtype == dtype):
        return x
    return np.asarray(x, dtype)


def array(object, dtype=None, *, copy=True):  # noqa: A002
    """`object` as a new fxad value (a copy, as `numpy.array` makes, unless `copy=False`)."""
    x = asarray(object, dtype)
    return fresh(x) if copy and x is object else x


def fresh(x):
    """A copy of `x`, for the functions NumPy returns a copy from (where fxad has nothing
    to compute): traced values can be updated in place (`x[i] = v`), so a copy must be a
    new object. Copying a tracer computes nothing."""
    if isinstance(x, Tracer):
        return x._copy()
    return np.array(x) if isinstance(x, np.ndarray) else x


def _iter_leaves(x):
    for e in x:
        if isinstance(e, (list, tuple)):
            yield from _iter_leaves(e)
        else:
            yield e


def dtype_of(x):
    return x if isinstance(x, _PY_SCALARS) else get_aval(x).dtype


def result_type(*xs):
    """NumPy 2's promotion of the operands' dtypes, Python scalars counting as weak."""
    return np.result_type(*[dtype_of(x) for x in xs])


def _weak_fits(x, dtype):
    """Does Python scalar `x` keep `dtype` under NumPy 2's weak-scalar promotion?"""
    kind = dtype.kind
    t = type(x)
    return (t is bool or (t is int and kind != "b") or (t is float and kind in "fc")
            or (t is complex and kind == "c"))


def promote(*xs, to_float=False):
    """Operands converted to one dtype (float64 or wider if `to_float`) and one shape,
    except that rank-0 operands stay rank-0 (primitives broadcast those themselves)."""
    dtype, weak, uniform = None, False, True
    for x in xs:
        if isinstance(x, _PY_SCALARS):
            weak = True
        elif not hasattr(x, "dtype"):
            return promote(*[np.asarray(x) if isinstance(x, (list, tuple)) else x
                             for x in xs], to_float=to_float)
        elif dtype is None:
            dtype = x.dtype
        elif x.dtype != dtype:
            uniform = False
    if dtype is None or not uniform or (weak and not all(
            _weak_fits(x, dtype) for x in xs if isinstance(x, _PY_SCALARS))):
        dtype = result_type(*xs)
    if to_float and dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    out, shapes = [], []
    for x in xs:
        if isinstance(x, _PY_SCALARS):
            x = dtype.type(x)
        elif x.dtype != dtype:
            x = ew.convert_element_type(x, dtype)
        out.append(x)
        shapes.append(x.shape)
    shape = shapes[0]
    for s in shapes:
        if s != shape:
            break
    else:
        return out
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError("operands could not be broadcast together with shapes "
                         + " ".join(str(s) for s in shapes)) from None
    return [x if not s or s == shape else
            broadcast_in_dim(x, shape, range(len(shape) - len(s), len(shape)))
            for x, s in zip(out, shapes)]


def to_float(x):
    """`x` converted to float64 unless it already has a float dtype."""
    x = asarray(x)
    return x if x.dtype.kind in "fc" else ew.convert_element_type(x, np.float64)


def normalize_axis(axis, ndim):
    """Axis or axes as a tuple of non-negative ints (`None` means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    return tuple(out)


def shape(x):
    """The shape of `x` (works on traced values)."""
    return get_aval(asarray(x)).shape


def ndim(x):
    return len(shape(x))


def size(x):
    return int(np.prod(shape(x), dtype=np.int64))
