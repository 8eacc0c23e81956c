"""Array creation in `fxad.numpy`. These make constants (plain NumPy arrays): they carry
no derivatives, and `*_like` accept traced values, using only their shape and dtype."""
import numpy as np

from ..core import get_aval


def _like(a, dtype, shape):
    aval = get_aval(a) if not isinstance(a, (list, tuple)) else get_aval(np.asarray(a))
    return (aval.shape if shape is None else shape), (aval.dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype of `a` (a constant)."""
    return np.zeros(*_like(a, dtype, shape))


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype of `a` (a constant)."""
    return np.ones(*_like(a, dtype, shape))


def full_like(a, fill_value, dtype=None, shape=None):
    """`fill_value` with the shape and dtype of `a` (a constant)."""
    shape, dtype = _like(a, dtype, shape)
    return np.full(shape, fill_value, dtype)


def empty_like(a, dtype=None, shape=None):
    return zeros_like(a, dtype, shape)


zeros, ones, full, empty = np.zeros, np.ones, np.full, np.zeros
arange, linspace, eye, identity = np.arange, np.linspace, np.eye, np.identity

CREATION_NAMES = ["zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
                  "empty_like", "arange", "linspace", "eye", "identity"]
