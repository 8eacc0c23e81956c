"""`fxad.numpy`: NumPy's API, differentiable, built only from fxad primitives.

NumPy's broadcasting and dtype promotion apply (float32 stays float32; Python scalars
are weak). Outside a transform these functions return plain NumPy arrays.

>>> import fxad, fxad.numpy as fnp
>>> float(fxad.grad(lambda x: fnp.sum(fnp.sin(x) ** 2))(0.5))
0.8414709848078965
"""
import numpy as _np

from ._base import asarray, array, shape, ndim, size, result_type
from ._elementwise import *  # noqa: F401,F403
from ._elementwise import ELEMENTWISE_NAMES
from ._shape import *  # noqa: F401,F403
from ._shape import SHAPE_NAMES, getitem
from ._reductions import *  # noqa: F401,F403
from ._reductions import REDUCTION_NAMES
from ._contract import *  # noqa: F401,F403
from ._contract import CONTRACT_NAMES
from ._creation import *  # noqa: F401,F403
from ._creation import CREATION_NAMES
from . import _shape, _tracer
from ._more import *  # noqa: F401,F403
from ._more import MORE_NAMES

pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, None
float32, float64, int32, int64, bool_ = _np.float32, _np.float64, _np.int32, _np.int64, _np.bool_

__all__ = (["asarray", "array", "shape", "ndim", "size", "result_type"] + ELEMENTWISE_NAMES
           + SHAPE_NAMES + REDUCTION_NAMES + CONTRACT_NAMES + CREATION_NAMES)
__all__ += [n for n in MORE_NAMES if n not in __all__]

from . import linalg  # noqa: E402  (fxad.numpy.linalg)

_tracer.install(__import__(__name__, fromlist=["_"]))
