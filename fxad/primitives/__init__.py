"""Every primitive, with all its rules, grouped by family. Importing this package
registers them all in `fxad.core.registry`."""
from . import elementwise, structural  # noqa: F401
