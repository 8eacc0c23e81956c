"""`fxad.lax`: the shape-strict primitive operations themselves (JAX's `lax` layer).

Operands must already agree in dtype and shape (a rank-0 operand may stand for a full
array); `fxad.numpy` is the friendly layer that broadcasts and promotes on top of these.

>>> import numpy as np, fxad
>>> fxad.lax.add(np.ones(2), np.float64(1.0))
array([2., 2.])
"""
from .primitives.elementwise import (  # noqa: F401
    neg, add, sub, mul, div, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, asinh, acosh,
    atanh, exp, exp2, expm1, log, log2, log10, log1p, sqrt, cbrt, abs, integer_pow, pow, max,
    min, atan2, rem, sign, floor, ceil, round, floor_divide, eq, ne, lt, le, gt, ge, select,
    convert_element_type, is_finite)
from .primitives.structural import (  # noqa: F401
    broadcast_in_dim, reshape, transpose, reduce_sum, reduce_max, reduce_min, argmax, argmin,
    cumsum, concatenate, gather, scatter_add, einsum, IndexSpec)
