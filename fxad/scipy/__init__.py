"""`fxad.scipy`: differentiable versions of SciPy functions, computed with NumPy alone
(fxad does not depend on SciPy). So far: `fxad.scipy.special`."""
from . import special  # noqa: F401

__all__ = ["special"]
