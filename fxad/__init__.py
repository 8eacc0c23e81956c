"""fxad: automatic differentiation of Python + NumPy functions by function transformation.

>>> import fxad
>>> f = lambda a, b: 3*a**3 + 2*b**4
>>> [float(g) for g in fxad.grad(f, argnums=(0, 1))(3.0, 2.0)]
[81.0, 64.0]
"""
from . import primitives as _primitives  # noqa: F401  (registers every primitive)
from . import numpy                      # noqa: F401  (makes tracers behave like arrays)
from . import tree_util, errors, lax, scipy
from .api import grad, value_and_grad, vjp, jvp, linearize, stop_gradient, no_grad
from .jaxpr import Jaxpr, eval_jaxpr
from .staging import make_jaxpr
from .jit import jit
from .batching import vmap
from .jacobians import jacfwd, jacrev, hessian
from .custom import custom_jvp, custom_vjp, checkpoint, remat

__version__ = "0.1.0"

__all__ = ["jit", "vmap", "jacfwd", "jacrev", "hessian", "custom_jvp", "custom_vjp",
           "checkpoint", "remat", "grad", "value_and_grad", "vjp", "jvp", "linearize", "stop_gradient", "no_grad",
           "make_jaxpr", "eval_jaxpr", "Jaxpr", "tree_util", "errors", "lax", "numpy", "scipy"]
