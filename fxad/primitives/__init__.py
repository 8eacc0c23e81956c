"""Every primitive, with all its rules, grouped by family. Importing this package
registers them all in `fxad.core.registry`."""
from . import elementwise, structural, extra  # noqa: F401
from . import linalg, special  # noqa: F401
