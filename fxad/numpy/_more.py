"""The rest of autograd's `numpy` breadth for `fxad.numpy`, gathered from its parts:
elementwise (`_more_elementwise`), shapes (`_more_shape`), padding/indexing/stacking
(`_more_stack`), sorting and order statistics (`_more_sort`), numerics (`_more_math`),
signals and ranges (`_more_signal`) and functional updates `x.at[...]` (`_more_at`).
Every function is composed from fxad primitives (one new one: `argsort`), so `jvp`,
`vjp`/`grad`, `vmap` and `jit` apply; docs/coverage.md lists what each supports."""
from ._more_elementwise import *  # noqa: F401,F403
from ._more_elementwise import ELEMENTWISE_MORE_NAMES
from ._more_shape import *  # noqa: F401,F403
from ._more_shape import SHAPE_MORE_NAMES
from ._more_stack import *  # noqa: F401,F403
from ._more_stack import STACK_MORE_NAMES
from ._more_sort import *  # noqa: F401,F403
from ._more_sort import SORT_MORE_NAMES
from ._more_math import *  # noqa: F401,F403
from ._more_math import MATH_MORE_NAMES
from ._more_signal import *  # noqa: F401,F403
from ._more_signal import SIGNAL_MORE_NAMES
from ._more_at import at, AT_NAMES

# NumPy 2's array-API spellings of existing functions
from ._elementwise import (arccos as acos, arcsin as asin, arctan as atan,  # noqa: E402
                           arccosh as acosh, arcsinh as asinh, arctanh as atanh,
                           arctan2 as atan2, power as pow, invert as bitwise_invert)

ALIAS_NAMES = ["acos", "asin", "atan", "acosh", "asinh", "atanh", "atan2", "pow",
               "bitwise_invert"]

MORE_NAMES = (ELEMENTWISE_MORE_NAMES + SHAPE_MORE_NAMES + STACK_MORE_NAMES + SORT_MORE_NAMES
              + MATH_MORE_NAMES + SIGNAL_MORE_NAMES + AT_NAMES + ALIAS_NAMES)
__all__ = MORE_NAMES
